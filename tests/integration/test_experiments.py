"""SDK 5.x `run_experiment` against a live server: item runs recognised at ingestion, read back through
/api/public/experiments, /experiment-items and /v3/scores with the SDK's own models, and as RunResults."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from app.evaluation import experiments as ex
from app.storage import Storage
from tests.conftest import LiveServer, ProjectFixture, make_project, sdk_client, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("worker")]

DATA = [
    {"input": "a", "expected_output": "A", "metadata": {"k": 1}},
    {"input": "b", "expected_output": "B"},
    {"input": "boom", "expected_output": "BOOM"},
    {"input": "a", "expected_output": "A", "metadata": {"k": 1}},  # a repetition of the first item
]


def task(*, item: Any, **_: Any) -> str:
    text = item["input"] if isinstance(item, dict) else item.input
    if text == "boom":
        raise RuntimeError("task failed on purpose")
    return str(text).upper() if text != "b" else "wrong"


def exact(*, output: Any, expected_output: Any, **_: Any) -> Any:
    from langfuse import Evaluation

    return Evaluation(name="exact", value=output == expected_output, data_type="BOOLEAN", comment="cmp")


def length(*, output: Any, input: Any, **_: Any) -> Any:
    from langfuse import Evaluation

    if input == "b":
        raise ValueError("evaluator failed on purpose")
    return Evaluation(name="length", value=len(output))


def accuracy(*, item_results: Any, **_: Any) -> Any:
    from langfuse import Evaluation

    values = [e.value for r in item_results for e in r.evaluations if e.name == "exact"]
    return Evaluation(name="accuracy", value=sum(values) / len(values))


def run(server: LiveServer, project: ProjectFixture, data: list[Any], run_name: str, **kw: Any) -> Any:
    with sdk_client(server, project) as lf:
        return lf.run_experiment(
            name="exp",
            run_name=run_name,
            description="first try",
            data=data,
            task=task,
            evaluators=[exact, length],
            run_evaluators=[accuracy],
            metadata={"model": "m1"},
            **kw,
        )


def api_items(server: LiveServer, project: ProjectFixture, **kw: Any) -> Any:
    with sdk_client(server, project) as lf:
        return lf.api.experiments.list_items(from_start_time=datetime.now(UTC) - timedelta(hours=1), **kw)


def api_experiments(server: LiveServer, project: ProjectFixture, **kw: Any) -> Any:
    with sdk_client(server, project) as lf:
        return lf.api.experiments.list(from_start_time=datetime.now(UTC) - timedelta(hours=1), **kw)


def api_scores(server: LiveServer, project: ProjectFixture, **kw: Any) -> Any:
    with sdk_client(server, project) as lf:
        return lf.api.scores.get_many(**kw)


async def _items_landed(server: LiveServer, project: ProjectFixture, experiment_id: str, n: int) -> Any:
    async def check() -> Any:
        page = await asyncio.to_thread(
            api_items,
            server,
            project,
            experiment_id=experiment_id,
            fields="core,dataset,io,metadata,itemMetadata,experimentMetadata,scores",
        )
        return page if len(page.data) >= n else None

    return await wait_for(check)


async def _five_item_runs(server: LiveServer, project: ProjectFixture, run_name: str) -> tuple[str, Any]:
    """Run an experiment over five items: its id, and the SDK's page of its item runs once all landed."""
    data = [{"input": str(i), "expected_output": str(i)} for i in range(5)]
    result = await asyncio.to_thread(run, server, project, data, run_name)
    return result.experiment_id, await _items_landed(server, project, result.experiment_id, 5)


async def _item_pages(
    client: httpx.AsyncClient, project: ProjectFixture, **params: Any
) -> list[dict[str, Any]]:
    """Every item run of the last hour /experiment-items lists for `params`, through pages of 2."""
    since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {"fromStartTime": since, "limit": 2, **params, **({"cursor": cursor} if cursor else {})}
        r = await client.get("/api/public/experiment-items", params=query, auth=project.auth)
        assert r.status_code == 200, r.text
        items += r.json()["data"]
        cursor = r.json()["meta"].get("cursor")
        if not cursor:
            return items


async def test_local_data_experiment_reads_back_through_the_sdk_models(
    live_server: LiveServer, storage: Storage, project: ProjectFixture
) -> None:
    result = await asyncio.to_thread(run, live_server, project, DATA, "run-local")
    assert len(result.item_results) == 3  # the failing task's item is dropped by the SDK
    eid = result.experiment_id
    # Four item runs (the failing one kept as an ERROR item run; the repetition kept apart).
    page = await _items_landed(live_server, project, eid, 4)
    assert len(page.data) == 4 and page.meta.cursor is None
    by_input: dict[str, list[Any]] = {}
    for it in page.data:
        by_input.setdefault(it.input, []).append(it)
    assert sorted(by_input) == ["a", "b", "boom"] and len(by_input["a"]) == 2
    first, second = by_input["a"]
    assert first.trace_id != second.trace_id and first.experiment_item_id == second.experiment_item_id
    assert first.experiment_item_id == hashlib.sha256(b"a").hexdigest()[:16]  # the SDK hashes the input text
    assert first.output == "A" and first.expected_output == "A" and first.experiment_name == "run-local"
    assert first.experiment_item_metadata == {"k": 1} and first.experiment_metadata == {"model": "m1"}
    assert first.experiment_description == "first try" and first.environment == "sdk-experiment"
    assert first.experiment_dataset_id is None and first.level == "DEFAULT"
    # The root observation's own metadata (the SDK's run keys, the item's and the experiment's).
    assert first.metadata is not None and first.metadata["experiment_run_name"] == "run-local"
    assert first.metadata["model"] == "m1" and "experiment" not in first.metadata
    boom = by_input["boom"][0]
    assert boom.level == "ERROR" and "task failed" in str(boom.output)
    # Item scores are the task span's: exact on every successful item, length but on "b" (evaluator failed).
    names = {it.input: sorted(s.name for s in it.scores or []) for it in page.data}
    assert names == {"a": ["exact", "length"], "b": ["exact"], "boom": []}
    assert all(
        s.subject.id == first.id for s in first.scores or [] if s.subject and s.subject.kind == "observation"
    )

    exps = await asyncio.to_thread(
        api_experiments, live_server, project, id=eid, fields="core,metadata,scores"
    )
    assert [e.id for e in exps.data] == [eid]
    e = exps.data[0]
    assert e.name == "run-local" and e.item_count == 4 and e.dataset_id is None
    assert e.metadata == {"model": "m1"} and e.description == "first try"

    async def run_scores() -> Any:
        found = await asyncio.to_thread(api_scores, live_server, project, experiment_id=eid)
        return found if found.data else None

    scores = await wait_for(run_scores)
    (acc,) = scores.data
    assert acc.name == "accuracy" and acc.value == pytest.approx(2 / 3)
    assert acc.subject is not None and acc.subject.kind == "experiment" and acc.subject.id == eid

    results = await ex.experiment_results(storage, project.project_id, eid)
    assert results is not None and results.name == "run-local" and len(results.items) == 4
    assert results.run_scores == {"accuracy": pytest.approx(2 / 3)}
    a_runs = [i for i in results.items if i.input == "a"]
    assert all(i.scores == {"exact": 1.0, "length": 1.0} for i in a_runs)
    assert all(i.boolean_scores == frozenset({"exact"}) for i in a_runs)
    assert all(i.latency_ms is not None and i.latency_ms >= 0 for i in results.items)
    summary = (await ex.experiment_summaries(storage, project.project_id, [eid, "nope"]))[eid]
    assert summary.item_count == 4 and summary.error_count == 1
    assert summary.scores["exact"] == (pytest.approx(2 / 3), 3)


def dataset_items(dataset_id: str, ids: list[str]) -> list[Any]:
    from langfuse.api import DatasetItem

    now = datetime.now(UTC)
    return [
        DatasetItem(
            id=item_id,
            status="ACTIVE",
            input=item_id[-1],
            expected_output=item_id[-1].upper(),
            metadata=None,
            dataset_id=dataset_id,
            dataset_name="ds",
            created_at=now,
            updated_at=now,
            media_references=[],
        )
        for item_id in ids
    ]


async def test_dataset_run_id_is_stable_and_a_rerun_extends_it(
    live_server: LiveServer, storage: Storage, project: ProjectFixture
) -> None:
    data = dataset_items("ds-1", ["item-a", "item-b"])
    first = await asyncio.to_thread(run, live_server, project, data, "nightly")
    assert first.experiment_id == ex.experiment_id(project.project_id, "ds-1", "nightly")
    await _items_landed(live_server, project, first.experiment_id, 2)
    again = await asyncio.to_thread(run, live_server, project, data[:1], "nightly")
    assert again.experiment_id == first.experiment_id
    page = await _items_landed(live_server, project, first.experiment_id, 3)
    assert sorted(i.experiment_item_id for i in page.data) == ["item-a", "item-a", "item-b"]
    assert {i.experiment_dataset_id for i in page.data} == {"ds-1"}
    views, total = await ex.list_dataset_experiments(storage, project.project_id, "ds-1", 1, 10)
    assert total == 1 and views[0].id == first.experiment_id and views[0].item_count == 3
    # Deleting the experiment removes its item runs from every read.
    assert await ex.delete_experiment(storage, project.project_id, first.experiment_id)
    assert await ex.fetch_experiment(storage, project.project_id, first.experiment_id) is None
    assert not await ex.delete_experiment(storage, project.project_id, first.experiment_id)


async def test_cursor_pages_filters_and_bad_input(
    live_server: LiveServer, client: httpx.AsyncClient, storage: Storage, project: ProjectFixture
) -> None:
    eid, _ = await _five_item_runs(live_server, project, "paged")
    since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    seen = [i["id"] for i in await _item_pages(client, project, experimentId=eid)]
    assert len(seen) == 5 == len(set(seen))
    filt = json.dumps([{"column": "experimentName", "operator": "=", "value": "paged"}])
    r = await client.get(
        "/api/public/experiment-items", params={"fromStartTime": since, "filter": filt}, auth=project.auth
    )
    assert len(r.json()["data"]) == 5
    r = await client.get(
        "/api/public/experiments", params={"fromStartTime": since, "name": "other"}, auth=project.auth
    )
    assert r.json() == {"data": [], "meta": {}}
    bad = [
        ("/api/public/experiments", {}, "fromStartTime"),
        ("/api/public/experiment-items", {}, "fromStartTime"),
        ("/api/public/experiments", {"fromStartTime": since, "limit": 101}, "limit"),
        ("/api/public/experiments", {"fromStartTime": since, "fields": "core,nope"}, "fields"),
        ("/api/public/experiment-items", {"fromStartTime": since, "cursor": "x!"}, "cursor"),
        ("/api/public/experiment-items", {"fromStartTime": since, "filter": "[{}]"}, "filter"),
        ("/api/public/experiments", {"fromStartTime": since, "filter": '[{"column": ["id"]}]'}, "filter"),
        (
            "/api/public/experiments",
            {"fromStartTime": since, "filter": '[{"column": "id", "operator": {}}]'},
            "filter",
        ),
        ("/api/public/experiments", {"fromStartTime": "yesterday"}, "fromStartTime"),
    ]
    for path, params, field in bad:
        r = await client.get(path, params=params, auth=project.auth)
        assert r.status_code == 400, (path, params, r.text)
        assert field in r.text, (field, r.text)
    # Another project sees none of it.
    other = await make_project(storage)
    r = await client.get("/api/public/experiment-items", params={"fromStartTime": since}, auth=other.auth)
    assert r.status_code == 200 and r.json()["data"] == []
    assert await ex.experiment_results(storage, other.project_id, eid) is None


async def test_item_scores_are_the_item_runs_own_and_their_traces_newest_first(
    live_server: LiveServer, client: httpx.AsyncClient, project: ProjectFixture
) -> None:
    eid, landed_page = await _five_item_runs(live_server, project, "scored")
    first = landed_page.data[0]
    # On one item run's trace: a trace-level score (its own, newest) and a sibling observation's (not its).
    later = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    for extra in (
        {"traceId": first.trace_id, "name": "trace-level", "value": 1, "timestamp": later},
        {"traceId": first.trace_id, "observationId": "another-span", "name": "sibling", "value": 1},
    ):
        r = await client.post("/api/public/scores", json=extra, auth=project.auth)
        assert r.status_code == 200, r.text

    async def pages(score_limit: int) -> dict[str, list[str]]:
        """Every item run's score names, through pages of 2 (several traces to a page)."""
        items = await _item_pages(
            client, project, experimentId=eid, fields="core,scores", scoreLimit=score_limit
        )
        return {i["id"]: [s["name"] for s in i["scores"]] for i in items}

    async def landed() -> Any:
        found = await pages(50)
        return found if "trace-level" in found[first.id] else None

    names = await wait_for(landed)
    assert len(names) == 5
    assert names[first.id][0] == "trace-level" and sorted(names[first.id]) == [
        "exact",
        "length",
        "trace-level",
    ]
    assert all(sorted(v) == ["exact", "length"] for k, v in names.items() if k != first.id)
    limited = await pages(1)
    assert limited[first.id] == ["trace-level"] and all(len(v) == 1 for v in limited.values())


async def test_a_page_of_item_runs_looks_up_its_scores_in_one_query(
    live_server: LiveServer,
    client: httpx.AsyncClient,
    project: ProjectFixture,
    caplog: pytest.LogCaptureFixture,
) -> None:
    eid, _ = await _five_item_runs(live_server, project, "one-query")
    params = {
        "fromStartTime": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
        "experimentId": eid,
        "fields": "core,scores",
    }
    with caplog.at_level(logging.DEBUG, logger="app.storage.clickhouse.client"):
        r = await client.get("/api/public/experiment-items", params=params, auth=project.auth)
    assert r.status_code == 200 and len(r.json()["data"]) == 5
    assert all(len(i["scores"]) == 2 for i in r.json()["data"])
    tags = [rec.args[0] for rec in caplog.records if isinstance(rec.args, tuple) and rec.args]
    assert sum(str(t).startswith("scores.") for t in tags) == 1, tags  # not one per item run

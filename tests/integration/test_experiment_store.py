"""experiment_items as the materialised view fills it from observation inserts: rewrites keep an item
run, trace deletion removes it, malformed attributes leave a plain observation; 10,000 item runs read fast."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from app.evaluation import experiments as ex
from app.storage import Storage
from app.storage.clickhouse.query import CompiledQuery
from app.storage.clickhouse.write_rows import ObservationRow, ScoreRow
from app.storage.clickhouse.writes import insert_observations, insert_scores
from app.tracing.mapping import map_span
from app.tracing.span import Span
from app.tracing.trace_service import delete_traces
from tests.conftest import ProjectFixture

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC).replace(microsecond=0)


def task_row(pid: str, eid: str, n: int, **experiment: object) -> ObservationRow:
    """An item run's task span (the item root observation) as ingestion maps it."""
    obs_id, trace_id = f"{n:016x}", f"{eid}{n:016x}"
    attrs = {
        "id": eid,
        "name": f"run-{eid}",
        "item.id": f"item-{n % 100}",
        "item.root_observation_id": obs_id,
        "item.expected_output": "E",
        **experiment,
    }
    start = NOW - timedelta(minutes=5) + timedelta(milliseconds=n)
    return ObservationRow(
        pid,
        obs_id,
        trace_id,
        None,
        "SPAN",
        "experiment-item-task",
        start,
        start + timedelta(milliseconds=100 + n % 50),
        input=json.dumps({"q": n}),
        output="E" if n % 3 else "X",
        metadata_names=["experiment"],
        metadata_values=[json.dumps(attrs)],
        total_cost=Decimal("0.001"),
        event_ts=NOW,
    )


async def _count_rows(storage: Storage, pid: str) -> int:
    q = CompiledQuery(
        "SELECT count() AS n FROM experiment_items FINAL WHERE project_id = {project_id:String}",
        {"project_id": pid},
        "test.experiment_items",
    )
    return int(str((await storage.clickhouse.query(q))[0]["n"]))


async def test_rewrites_keep_item_runs_and_trace_deletion_removes_them(
    storage: Storage, project: ProjectFixture
) -> None:
    pid = project.project_id
    rows = [task_row(pid, "e1", n) for n in range(3)]
    await insert_observations(storage.clickhouse, rows)
    assert (await ex.fetch_experiment(storage, pid, "e1")).item_count == 3  # type: ignore[union-attr]
    # A trace-attribute rewrite (cancel row and next version in one insert) keeps the item run, updated.
    old = rows[0]
    later = NOW + timedelta(seconds=1)
    new = replace(old, row_version=2, environment="prod", event_ts=later)
    await insert_observations(storage.clickhouse, [replace(old, sign=-1, event_ts=later), new])
    page, _ = await ex.list_experiment_items_page(
        storage, pid, ex.ExperimentItemFilter(NOW - timedelta(hours=1), experiment_ids=("e1",)), None, 10
    )
    assert len(page) == 3 and {i.environment for i in page if i.id == old.id} == {"prod"}
    # A span whose experiment attributes are not its own item root, or are malformed, is no item run.
    not_root = replace(task_row(pid, "e1", 7), id="other")
    no_id = task_row(pid, "", 8)
    not_json = replace(task_row(pid, "e2", 9), metadata_values=["{not json"])
    await insert_observations(storage.clickhouse, [not_root, no_id, not_json])
    assert await _count_rows(storage, pid) == 3
    # Values the view cannot read leave their column empty; the span is stored either way.
    odd = task_row(pid, "e3", 10, **{"item.version": "garbage", "metadata": "text"})
    await insert_observations(storage.clickhouse, [odd])
    (item,), _ = await ex.list_experiment_items_page(
        storage, pid, ex.ExperimentItemFilter(NOW - timedelta(hours=1), experiment_ids=("e3",)), None, 10
    )
    assert item.item_version is None and item.experiment_metadata is None and item.output == "E"
    # Experiment pages by cursor: each once, latest activity first.
    seen, cursor = [], None
    for _ in range(5):
        page_of, cursor = await ex.list_experiments_page(
            storage, pid, ex.ExperimentFilter(NOW - timedelta(hours=1)), cursor, 1
        )
        seen += [e.id for e in page_of]
        if cursor is None:
            break
    assert seen == ["e3", "e1"]
    # Deleting a trace cancels its observations: the item run goes with it.
    assert await delete_traces(storage, pid, [old.trace_id]) == [old.trace_id]
    q = CompiledQuery(
        "SELECT count() AS n FROM observations WHERE project_id = {project_id:String} AND id = {id:String}",
        {"project_id": pid, "id": not_json.id},
        "test.kept",
    )
    assert int(str((await storage.clickhouse.query(q))[0]["n"])) >= 1
    found = await ex.fetch_experiment(storage, pid, "e1")
    assert found is not None and found.item_count == 2


def test_malformed_experiment_attributes_are_logged_and_the_span_kept(
    caplog: pytest.LogCaptureFixture,
) -> None:
    span = Span(
        "a" * 32,
        "b" * 16,
        None,
        "experiment-item-task",
        1_700_000_000_000_000_000,
        1_700_000_001_000_000_000,
        {"langfuse.experiment.id": "e", "langfuse.experiment.metadata": "[1]"},
        {},
        "langfuse-sdk",
        "5.2.0",
    )
    with caplog.at_level(logging.WARNING, logger="app.tracing.mapping"):
        row, _ = map_span("p", span, "5.2.0", NOW)
    assert row.id == "b" * 16 and "experiment" in row.metadata_names
    assert "langfuse.experiment.name" in caplog.text


async def test_ten_thousand_item_runs_read_fast(storage: Storage, project: ProjectFixture) -> None:
    pid, n_items, runs = project.project_id, 10_000, ["p1", "p2", "p3", "p4", "p5"]
    for eid in runs:
        rows = [task_row(pid, eid, n) for n in range(n_items)]
        await insert_observations(storage.clickhouse, rows)
        scores = [
            ScoreRow(
                pid,
                f"{eid}-{r.id}-{name}",
                NOW,
                name,
                trace_id=r.trace_id,
                observation_id=r.id,
                value=float(i % 2),
                data_type="BOOLEAN" if name == "exact" else "NUMERIC",
                event_ts=NOW,
            )
            for i, r in enumerate(rows)
            for name in ("exact", "length")
        ]
        await insert_scores(storage.clickhouse, scores)
        await insert_scores(
            storage.clickhouse,
            [ScoreRow(pid, f"{eid}-acc", NOW, "accuracy", dataset_run_id=eid, value=0.5, event_ts=NOW)],
        )
    began = time.perf_counter()
    results = await asyncio.gather(*(ex.experiment_results(storage, pid, eid) for eid in runs))
    results_s = time.perf_counter() - began
    began = time.perf_counter()
    summaries = await ex.experiment_summaries(storage, pid, runs)
    summaries_s = time.perf_counter() - began
    print(f"experiment_results x5: {results_s * 1000:.0f} ms; summaries x5: {summaries_s * 1000:.0f} ms")
    first = results[0]
    assert first is not None and len(first.items) == n_items and first.run_scores == {"accuracy": 0.5}
    assert all(
        i.boolean_scores == frozenset({"exact"}) and set(i.scores) == {"exact", "length"} for i in first.items
    )
    assert sum(i.total_cost or 0 for i in first.items) == pytest.approx(10.0)
    s = summaries["p1"]
    assert s.item_count == n_items and s.scores["exact"] == (pytest.approx(0.5), n_items)
    assert s.total_cost == pytest.approx(10.0) and s.avg_latency_ms is not None
    # Generous bounds: a shared CI machine; the measured figures are printed above.
    assert results_s < 10 and summaries_s < 10

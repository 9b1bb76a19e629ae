"""Legacy dataset runs (POST /dataset-run-items as SDK 4.x and JS 5.x send it) and SDK 5.x dataset
experiments are one experiment: the same stable id, one list, one set of results."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from app.evaluation import experiments as ex
from app.storage import Storage
from tests.conftest import LiveServer, ProjectFixture, make_project, sdk_client, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("worker")]

DATASET = "evals/qa"
RUN = "legacy-run"


def seed(server: LiveServer, project: ProjectFixture) -> dict[str, Any]:
    """A dataset with two items (through the SDK), and a traced task run for the first item."""
    with sdk_client(server, project) as lf:
        ds = lf.create_dataset(name=DATASET)
        first = lf.create_dataset_item(dataset_name=DATASET, input="q1", expected_output="A1", id="item-1")
        lf.create_dataset_item(dataset_name=DATASET, input="q2", expected_output="A2", id="item-2")
        with lf.start_as_current_observation(name="legacy-root", input="q1") as root:
            with lf.start_as_current_observation(name="legacy-task", input="q1") as task:
                task.update(output="A1")
            root.update(output="A1")
        lf.flush()
        return {"dataset_id": ds.id, "item_id": first.id, "trace_id": root.trace_id, "task_id": task.id}


def run_on_dataset(server: LiveServer, project: ProjectFixture) -> Any:
    from langfuse import Evaluation

    with sdk_client(server, project) as lf:
        dataset = lf.get_dataset(DATASET)
        return dataset.run_experiment(
            name="qa",
            run_name=RUN,
            task=lambda *, item, **_: str(item.expected_output),
            evaluators=[
                lambda *, output, expected_output, **_: Evaluation(
                    name="exact", value=output == expected_output
                )
            ],
        )


async def test_legacy_run_items_and_sdk5_runs_share_one_experiment(
    live_server: LiveServer, client: httpx.AsyncClient, storage: Storage, project: ProjectFixture
) -> None:
    seeded = await asyncio.to_thread(seed, live_server, project)
    pid, ds_id = project.project_id, seeded["dataset_id"]
    stable = ex.experiment_id(pid, ds_id, RUN)
    # As SDK 4.x posts it: the task span, the dataset version, run description and metadata.
    body = {
        "runName": RUN,
        "runDescription": "from 4.x",
        "metadata": {"model": "m0"},
        "datasetItemId": seeded["item_id"],
        "traceId": seeded["trace_id"],
        "observationId": seeded["task_id"],
        "datasetVersion": datetime.now(UTC).isoformat(),
    }
    r = await client.post("/api/public/dataset-run-items", json=body, auth=project.auth)
    assert r.status_code == 200, r.text
    posted = r.json()
    assert posted["datasetRunId"] == stable and posted["datasetRunName"] == RUN
    assert posted["datasetItemId"] == "item-1" and posted["observationId"] == seeded["task_id"]
    assert set(posted) == {"id", "datasetRunId", "datasetRunName", "datasetItemId", "traceId"} | {
        "observationId",
        "createdAt",
        "updatedAt",
    }
    again = await client.post("/api/public/dataset-run-items", json=body, auth=project.auth)
    assert again.json()["id"] == posted["id"]  # the same link is the same run item

    # SDK 5.x on the same dataset and run name: the same experiment, extended.
    result = await asyncio.to_thread(run_on_dataset, live_server, project)
    assert result.experiment_id == stable

    async def three_items() -> Any:
        found = await ex.fetch_experiment(storage, pid, stable)
        return found if found is not None and found.item_count == 3 else None

    view = await wait_for(three_items)
    assert view.dataset_id == ds_id and view.name == RUN
    since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    r = await client.get("/api/public/experiments", params={"fromStartTime": since}, auth=project.auth)
    assert [e["id"] for e in r.json()["data"]] == [stable]

    # The legacy item run reads its output, level and times from the task span it names.
    async def legacy_output() -> Any:
        results = await ex.experiment_results(storage, pid, stable)
        found = [i for i in results.items if i.trace_id == seeded["trace_id"]] if results else []
        return found[0] if found and found[0].output == "A1" else None

    legacy = await wait_for(legacy_output)
    assert legacy.item_key == "item-1" and legacy.expected_output == "A1" and legacy.latency_ms is not None
    r = await client.get(
        "/api/public/experiment-items",
        params={"fromStartTime": since, "experimentId": stable, "fields": "core,io,experimentMetadata"},
        auth=project.auth,
    )
    rows = {i["id"]: i for i in r.json()["data"]}
    assert rows[seeded["task_id"]]["output"] == "A1" and rows[seeded["task_id"]]["input"] == "q1"

    # Legacy reads: run items by dataset id and run name; runs by dataset name (an encoded '/') and by id.
    r = await client.get(
        "/api/public/dataset-run-items",
        params={"datasetId": ds_id, "runName": RUN, "limit": 2},
        auth=project.auth,
    )
    assert r.status_code == 200 and r.json()["meta"]["totalItems"] == 3 and len(r.json()["data"]) == 2
    runs_path = f"/api/public/datasets/{quote(DATASET, safe='')}/runs"
    r = await client.get(runs_path, auth=project.auth)
    assert r.status_code == 200, r.text
    (run,) = r.json()["data"]
    assert run["id"] == stable and run["datasetName"] == DATASET and run["datasetId"] == ds_id
    assert set(run) >= {
        "id",
        "name",
        "description",
        "metadata",
        "datasetId",
        "datasetName",
        "createdAt",
        "updatedAt",
    }
    r = await client.get(f"{runs_path}/{RUN}", auth=project.auth)
    assert r.status_code == 200 and len(r.json()["datasetRunItems"]) == 3
    assert {i["datasetRunId"] for i in r.json()["datasetRunItems"]} == {stable}
    r = await client.get(f"/api/public/v2/dataset-runs/by-dataset-id/{ds_id}/{stable}", auth=project.auth)
    assert r.status_code == 200 and r.json()["name"] == RUN
    r = await client.get(f"/api/public/v2/dataset-runs/by-dataset-id/{ds_id}", auth=project.auth)
    assert [x["id"] for x in r.json()["data"]] == [stable]

    # Another project sees nothing and cannot link to these items.
    other = await make_project(storage)
    assert (await client.get(runs_path, auth=other.auth)).status_code == 404
    r = await client.post("/api/public/dataset-run-items", json=body, auth=other.auth)
    assert r.status_code == 404 and "datasetItemId" in r.text

    # Delete the run: gone from every read.
    r = await client.delete(f"{runs_path}/{RUN}", auth=project.auth)
    assert r.status_code == 200 and r.json() == {"message": "Dataset run successfully deleted"}
    assert (await client.get(f"{runs_path}/{RUN}", auth=project.auth)).status_code == 404
    r = await client.get("/api/public/experiments", params={"fromStartTime": since}, auth=project.auth)
    assert r.json()["data"] == []


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"runName": None}, 400, "runName"),
        ({"runName": ""}, 400, "runName"),
        ({"datasetItemId": 5}, 400, "datasetItemId"),
        ({"traceId": None}, 400, "traceId"),
        ({"createdAt": "not a time"}, 400, "createdAt"),
        ({"datasetItemId": "no-such-item"}, 404, "datasetItemId"),
    ],
)
async def test_bad_run_items_are_refused_naming_the_field(
    client: httpx.AsyncClient, project: ProjectFixture, change: dict[str, Any], status: int, field: str
) -> None:
    body = {"runName": "r", "datasetItemId": "item-x", "traceId": "a" * 32, **change}
    r = await client.post("/api/public/dataset-run-items", json=body, auth=project.auth)
    assert r.status_code == status and field in r.json()["message"], r.text


async def test_legacy_reads_refuse_bad_input(client: httpx.AsyncClient, project: ProjectFixture) -> None:
    r = await client.get("/api/public/dataset-run-items", params={"runName": "r"}, auth=project.auth)
    assert r.status_code == 400 and "datasetId" in r.text
    r = await client.get("/api/public/dataset-run-items", params={"datasetId": "d"}, auth=project.auth)
    assert r.status_code == 400 and "runName" in r.text
    r = await client.get("/api/public/datasets/nope/runs", auth=project.auth)
    assert r.status_code == 404
    r = await client.get("/api/public/datasets/nope/other", auth=project.auth)
    assert r.status_code == 404

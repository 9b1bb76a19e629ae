"""Datasets and versioned items: the official langfuse 5.x SDK against a running server, and every error
answer of the REST routes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from app.evaluation import datasets
from app.evaluation.datasets import ItemSpec
from app.storage import Storage
from tests.conftest import LiveServer, ProjectFixture, make_project, sdk_client

pytestmark = pytest.mark.integration

QUESTION_SCHEMA = {
    "type": "object",
    "properties": {"question": {"type": "integer"}},
    "required": ["question"],
}


def _api_error(fn: Any) -> Any:
    """Call `fn`; return the SDK's API error it raises (status code and body), failing if none."""
    from langfuse.api.core.api_error import ApiError

    try:
        fn()
    except ApiError as exc:
        return exc
    raise AssertionError("the SDK did not raise")


def manage_datasets(server: LiveServer, project: ProjectFixture) -> dict[str, Any]:
    from langfuse.api import DatasetStatus

    out: dict[str, Any] = {}
    with sdk_client(server, project) as lf:
        created = lf.create_dataset(
            name="qa/capitals",
            description="capital cities",
            metadata={"owner": "geo"},
            input_schema=QUESTION_SCHEMA,
            expected_output_schema={"type": "string"},
        )
        out["created"] = (created.name, created.description, created.metadata, created.input_schema)
        first = lf.create_dataset_item(
            dataset_name="qa/capitals",
            id="item-1",
            input={"question": 1},
            expected_output="Rome",
            metadata={"src": "a"},
        )
        out["first"] = (first.id, first.status, first.version is not None, first.media_references)
        bad = _api_error(lambda: lf.create_dataset_item(dataset_name="qa/capitals", input={"question": "x"}))
        out["violation"] = (bad.status_code, bad.body["message"])
        bad = _api_error(
            lambda: lf.create_dataset_item(
                dataset_name="qa/capitals", input={"question": 2}, expected_output=3
            )
        )
        out["expected_violation"] = (bad.status_code, bad.body["message"])
        generated = lf.create_dataset_item(dataset_name="qa/capitals", input={"question": 2})
        out["generated_id"] = generated.id
        lf.create_dataset_item(dataset_name="qa/capitals", id="item-3", input={"question": 3})
        before = lf.get_dataset("qa/capitals")
        out["before"] = sorted(i.id for i in before.items)
        out["schemas"] = (before.input_schema, before.expected_output_schema)
        as_of = datetime.now(UTC)
        # Merge: only metadata changes; the SDK sends the others as null, which keeps them.
        merged = lf.create_dataset_item(dataset_name="qa/capitals", id="item-1", metadata={"src": "b"})
        out["merged"] = (
            merged.input,
            merged.expected_output,
            merged.metadata,
            merged.created_at == first.created_at,
        )
        out["version_moved"] = merged.version > first.version
        archived = lf.create_dataset_item(
            dataset_name="qa/capitals", id="item-3", status=DatasetStatus.ARCHIVED
        )
        out["archived"] = (archived.status, archived.input)
        out["archived_get"] = lf.api.dataset_items.get("item-3").status
        out["deleted"] = lf.api.dataset_items.delete("item-1").message
        out["deleted_get"] = _api_error(lambda: lf.api.dataset_items.get("item-1")).status_code
        after = lf.get_dataset("qa/capitals")
        out["after"] = sorted(i.id for i in after.items)
        then = lf.get_dataset("qa/capitals", version=as_of)
        out["then"] = sorted((i.id, i.metadata == {"src": "a"}) for i in then.items)
        lf.create_dataset(name="other")
        clash = _api_error(
            lambda: lf.create_dataset_item(dataset_name="other", id="item-3", input={"question": 1})
        )
        out["clash"] = (clash.status_code, clash.body["message"])
        out["missing"] = _api_error(lambda: lf.get_dataset("nope")).status_code
        out["listed"] = sorted(d.name for d in lf.api.datasets.list().data)
        # Upsert by name keeps what a second create leaves out.
        again = lf.create_dataset(name="qa/capitals", description="renamed")
        out["upserted"] = (again.id == created.id, again.description, again.metadata, again.input_schema)
    return out


async def test_sdk_manages_datasets_and_versioned_items(
    live_server: LiveServer, project: ProjectFixture
) -> None:
    out = await asyncio.to_thread(manage_datasets, live_server, project)
    assert out["created"] == ("qa/capitals", "capital cities", {"owner": "geo"}, QUESTION_SCHEMA)
    assert out["first"] == ("item-1", "ACTIVE", True, [])
    assert out["violation"] == (400, "input.question: 'x' is not of type 'integer'")
    assert out["expected_violation"] == (400, "expected_output: 3 is not of type 'string'")
    assert len(out["generated_id"]) >= 32
    assert out["before"] == sorted(["item-1", "item-3", out["generated_id"]])
    assert out["schemas"] == (QUESTION_SCHEMA, {"type": "string"})
    assert out["merged"] == ({"question": 1}, "Rome", {"src": "b"}, True)
    assert out["version_moved"] is True
    assert out["archived"] == ("ARCHIVED", {"question": 3})
    assert out["archived_get"] == "ARCHIVED"
    assert out["deleted"] == "Dataset item successfully deleted"
    assert out["deleted_get"] == 404
    assert out["after"] == [out["generated_id"]]  # archived and deleted items are not listed
    # As of before the changes: item-1 with its old metadata, item-3 active, the generated one.
    assert out["then"] == sorted([("item-1", True), ("item-3", False), (out["generated_id"], False)])
    assert out["clash"][0] == 409 and "another dataset" in out["clash"][1]
    assert out["missing"] == 404
    assert out["listed"] == ["other", "qa/capitals"]
    assert out["upserted"] == (True, "renamed", {"owner": "geo"}, QUESTION_SCHEMA)


def read_big_dataset(server: LiveServer, project: ProjectFixture, name: str) -> list[Any]:
    with sdk_client(server, project) as lf:
        return list(lf.get_dataset(name).items)


async def test_sdk_reads_a_ten_thousand_item_dataset(
    live_server: LiveServer, storage: Storage, project: ProjectFixture
) -> None:
    await datasets.upsert_dataset(storage, project.project_id, datasets.DatasetSpec(name="big"))
    specs = [ItemSpec(dataset_name="big", id=f"item-{n:05d}", input={"n": n}) for n in range(10_000)]
    assert await datasets.add_items(storage, project.project_id, "big", specs) == 10_000
    items = await asyncio.to_thread(read_big_dataset, live_server, project, "big")
    assert len(items) == 10_000
    assert sorted(i.input["n"] for i in items) == list(range(10_000))  # no item twice, none missing
    assert {i.dataset_name for i in items} == {"big"}


async def test_item_history_keeps_every_version_and_the_tombstone(
    storage: Storage, project: ProjectFixture
) -> None:
    pid = project.project_id
    await datasets.upsert_dataset(storage, pid, datasets.DatasetSpec(name="h"))
    await datasets.upsert_item(storage, pid, ItemSpec(dataset_name="h", id="x", input="v1"))
    await datasets.upsert_item(storage, pid, ItemSpec(dataset_name="h", id="x", input="v2"))
    assert await datasets.delete_item(storage, pid, "x") is True
    assert await datasets.delete_item(storage, pid, "x") is False
    history = await datasets.item_history(storage, pid, "x")
    assert [(v.input, v.deleted) for v in history] == [("v2", True), ("v2", False), ("v1", False)]
    assert history[0].version > history[1].version > history[2].version
    assert await datasets.fetch_item(storage, pid, "x") is None
    # A deleted id may be used again: a new item, with its own creation time.
    again = await datasets.upsert_item(storage, pid, ItemSpec(dataset_name="h", id="x", input="v3"))
    assert again.input == "v3" and again.created_at > history[-1].created_at
    dataset = await datasets.fetch_dataset(storage, pid, name="h")
    assert dataset is not None
    assert await datasets.item_counts(storage, pid, [dataset.id, "none"]) == {dataset.id: 1, "none": 0}
    page, total = await datasets.list_items_page(
        storage, pid, datasets.ItemQuery(dataset_id=dataset.id, search="V3"), 1, 10
    )
    assert total == 1 and [i.id for i in page] == ["x"]
    assert await datasets.delete_dataset(storage, pid, dataset.id) is True
    assert await datasets.item_history(storage, pid, "x") == []


async def test_concurrent_upserts_of_one_item_leave_one_current_version(
    storage: Storage, project: ProjectFixture
) -> None:
    pid = project.project_id
    await datasets.upsert_dataset(storage, pid, datasets.DatasetSpec(name="c"))
    results = await asyncio.gather(
        *(
            datasets.upsert_item(storage, pid, ItemSpec(dataset_name="c", id="same", metadata={"n": n}))
            for n in range(8)
        ),
        return_exceptions=True,
    )
    assert not [r for r in results if isinstance(r, BaseException)]
    history = await datasets.item_history(storage, pid, "same")
    assert len(history) == 8 and len({v.version for v in history}) == 8
    dataset = await datasets.fetch_dataset(storage, pid, name="c")
    assert dataset is not None
    assert await datasets.item_counts(storage, pid, [dataset.id]) == {dataset.id: 1}


async def _post(client: httpx.AsyncClient, project: ProjectFixture, path: str, body: Any) -> httpx.Response:
    return await client.post(f"/api/public/{path}", json=body, auth=project.auth)


async def test_rest_errors_name_the_field(client: httpx.AsyncClient, project: ProjectFixture) -> None:
    client.cookies.clear()
    r = await _post(client, project, "v2/datasets", {"name": "d", "inputSchema": QUESTION_SCHEMA})
    assert r.status_code == 200
    cases: list[tuple[str, Any, str]] = [
        ("v2/datasets", [], "body must be a JSON object"),
        ("v2/datasets", {}, "name must be a string"),
        ("v2/datasets", {"name": ""}, "name is required"),
        ("v2/datasets", {"name": "x" * 256}, "name must be at most 255"),
        ("v2/datasets", {"name": "d", "inputSchema": {"type": "nope"}}, "input_schema is not a valid JSON"),
        ("v2/datasets", {"name": "d", "expectedOutputSchema": 3}, "expectedOutputSchema must be a JSON"),
        ("v2/datasets", {"name": "d", "description": 5}, "description must be a string"),
        ("v2/datasets", {"name": "d", "metadata": {"k": "a\x00"}}, "metadata must not contain a NUL"),
        ("dataset-items", {"input": 1}, "datasetName must be a string"),
        ("dataset-items", {"datasetName": "d", "id": ""}, "id must be 1 to 255"),
        ("dataset-items", {"datasetName": "d", "id": "i" * 256}, "id must be 1 to 255"),
        ("dataset-items", {"datasetName": "d", "status": "GONE"}, "status must be ACTIVE or ARCHIVED"),
        ("dataset-items", {"datasetName": "d", "input": {"question": []}}, "input.question: [] is not"),
        ("dataset-items", {"datasetName": "d", "input": {}}, "input: 'question' is a required property"),
        ("dataset-items", {"datasetName": "d", "expectedOutput": "a\x00b"}, "expected_output must not"),
        ("dataset-items", {"datasetName": "d", "sourceTraceId": 7}, "sourceTraceId must be a string"),
    ]
    for path, body, message in cases:
        r = await _post(client, project, path, body)
        assert r.status_code == 400, (body, r.text)
        assert r.json()["message"].startswith(message), (body, r.json())
        assert r.json()["error"] == "invalid_input"
    r = await client.post("/api/public/v2/datasets", content=b"{", auth=project.auth)
    assert r.status_code == 400 and r.json()["message"] == "body is not valid JSON"
    for params, key in (({"limit": 101}, "limit"), ({"limit": 0}, "limit"), ({"page": 0}, "page")):
        for path in ("dataset-items", "v2/datasets"):
            r = await client.get(f"/api/public/{path}", params=params, auth=project.auth)
            assert r.status_code == 400 and r.json()["error"][0]["key"] == key, r.text
            assert r.json()["message"].startswith(f"{key}: "), r.text
    r = await client.get(
        "/api/public/dataset-items", params={"version": "2026-01-01T00:00:00Z"}, auth=project.auth
    )
    assert r.status_code == 400 and r.json()["message"] == "version requires datasetName"
    r = await client.get(
        "/api/public/dataset-items", params={"datasetName": "d", "version": "soon"}, auth=project.auth
    )
    assert r.status_code == 400 and r.json()["error"][0]["key"] == "version"
    r = await client.get(
        "/api/public/dataset-items",
        params={"datasetName": "d", "version": "1200-01-01T00:00:00Z"},
        auth=project.auth,
    )
    assert r.status_code == 400 and r.json()["message"].startswith("version must lie between")
    for path in ("v2/datasets/bad%00name", "dataset-items/bad%00id"):
        r = await client.get(f"/api/public/{path}", auth=project.auth)
        assert r.status_code == 400 and "NUL character" in r.json()["message"], r.text


async def test_rest_not_found_conflict_and_auth(client: httpx.AsyncClient, project: ProjectFixture) -> None:
    client.cookies.clear()
    a = project.auth
    r = await _post(client, project, "dataset-items", {"datasetName": "ghost", "input": 1})
    assert r.status_code == 404 and r.json() == {"message": "dataset 'ghost' not found", "error": "not_found"}
    for path in ("v2/datasets/ghost", "dataset-items?datasetName=ghost", "dataset-items/ghost"):
        r = await client.get(f"/api/public/{path}", auth=a)
        assert r.status_code == 404 and r.json()["error"] == "not_found", (path, r.text)
    r = await client.delete("/api/public/dataset-items/ghost", auth=a)
    assert r.status_code == 404
    for name in ("one", "two"):
        assert (await _post(client, project, "v2/datasets", {"name": name})).status_code == 200
    assert (
        await _post(client, project, "dataset-items", {"datasetName": "one", "id": "i"})
    ).status_code == 200
    r = await _post(client, project, "dataset-items", {"datasetName": "two", "id": "i"})
    assert r.status_code == 409 and r.json()["error"] == "conflict"
    r = await client.get("/api/public/v2/datasets")
    assert r.status_code == 401


async def test_rest_shapes_pages_and_tenant_isolation(
    client: httpx.AsyncClient, storage: Storage, project: ProjectFixture
) -> None:
    client.cookies.clear()
    a = project.auth
    r = await _post(client, project, "v2/datasets", {"name": "folder/set", "metadata": [1, 2]})
    dataset = r.json()
    assert set(dataset) == {
        "id", "name", "description", "metadata", "inputSchema", "expectedOutputSchema",
        "projectId", "createdAt", "updatedAt",
    }  # fmt: skip
    for n in range(5):
        r = await _post(
            client, project, "dataset-items",
            {"datasetName": "folder/set", "id": f"i{n}", "input": n, "sourceTraceId": f"t{n % 2}"},
        )  # fmt: skip
        assert r.status_code == 200
    item = r.json()
    assert set(item) == {
        "id", "status", "input", "expectedOutput", "metadata", "sourceTraceId", "sourceObservationId",
        "datasetId", "datasetName", "createdAt", "updatedAt", "version", "mediaReferences",
    }  # fmt: skip
    assert item["mediaReferences"] == [] and item["datasetId"] == dataset["id"]
    r = await client.get("/api/public/v2/datasets/folder%2Fset", auth=a)
    assert r.status_code == 200 and r.json() == dataset
    r = await client.get(
        "/api/public/dataset-items", params={"datasetName": "folder/set", "page": 2, "limit": 2}, auth=a
    )
    body = r.json()
    assert body["meta"] == {"page": 2, "limit": 2, "totalItems": 5, "totalPages": 3}
    assert [i["id"] for i in body["data"]] == ["i2", "i1"]  # newest first
    # The count is cached between pages; any item change makes the next page count again.
    r = await _post(client, project, "dataset-items", {"datasetName": "folder/set", "id": "i5", "input": 5})
    r = await client.get(
        "/api/public/dataset-items", params={"datasetName": "folder/set", "page": 3, "limit": 2}, auth=a
    )
    assert r.json()["meta"]["totalItems"] == 6 and [i["id"] for i in r.json()["data"]] == ["i1", "i0"]
    assert (await client.delete("/api/public/dataset-items/i5", auth=a)).status_code == 200
    r = await client.get(
        "/api/public/dataset-items", params={"datasetName": "folder/set", "page": 3, "limit": 2}, auth=a
    )
    assert r.json()["meta"] == {"page": 3, "limit": 2, "totalItems": 5, "totalPages": 3}
    assert [i["id"] for i in r.json()["data"]] == ["i0"]
    r = await client.get("/api/public/dataset-items", params={"sourceTraceId": "t1"}, auth=a)
    assert sorted(i["id"] for i in r.json()["data"]) == ["i1", "i3"]
    # Paged in order, each page starts where the last one ended (no rows skipped again); pages read out
    # of order, and pages after a change, start by position as before.
    pages = []
    for page in (1, 2, 3, 2, 3):
        params = {"datasetName": "folder/set", "page": page, "limit": 2}
        r = await client.get("/api/public/dataset-items", params=params, auth=a)
        pages.append([i["id"] for i in r.json()["data"]])
        assert r.json()["meta"]["totalItems"] == 5
    assert pages == [["i4", "i3"], ["i2", "i1"], ["i0"], ["i2", "i1"], ["i0"]]
    await _post(client, project, "dataset-items", {"datasetName": "folder/set", "id": "i6", "input": 6})
    r = await client.get(
        "/api/public/dataset-items", params={"datasetName": "folder/set", "page": 2, "limit": 2}, auth=a
    )
    assert [i["id"] for i in r.json()["data"]] == ["i3", "i2"] and r.json()["meta"]["totalItems"] == 6
    r = await client.get("/api/public/v2/datasets", params={"limit": 1}, auth=a)
    assert r.json()["meta"] == {"page": 1, "limit": 1, "totalItems": 1, "totalPages": 1}
    other = await make_project(storage)
    for path in ("v2/datasets/folder%2Fset", "dataset-items/i0", "dataset-items?datasetName=folder%2Fset"):
        r = await client.get(f"/api/public/{path}", auth=other.auth)
        assert r.status_code == 404, (path, r.text)
    assert (await client.delete("/api/public/dataset-items/i0", auth=other.auth)).status_code == 404
    r = await client.get("/api/public/v2/datasets", auth=other.auth)
    assert r.json()["data"] == []
    # The other project may use the same names and item ids.
    assert (await _post(client, other, "v2/datasets", {"name": "folder/set"})).status_code == 200
    r = await _post(
        client, other, "dataset-items", {"datasetName": "folder/set", "id": "i0", "input": "mine"}
    )
    assert r.status_code == 200
    r = await client.get("/api/public/dataset-items/i0", auth=a)
    assert r.json()["input"] == 0

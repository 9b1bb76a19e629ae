"""The Langfuse batch API (2.x SDK shape) and the scores API: merging, 207s, and exact aggregates."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.storage import Storage
from app.storage.clickhouse.query import CompiledQuery
from app.storage.clickhouse.writes import fetch_trace_attributes
from tests.conftest import ProjectFixture, assert_aggregates_match_raw, jobs_done

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("worker")]
T0 = "2026-11-20T10:00:00.000Z"


def ev(event_id: str, kind: str, body: dict, ts: str = T0) -> dict:
    return {"id": event_id, "type": kind, "timestamp": ts, "body": body}


async def current(storage: Storage, project_id: str) -> list[dict]:
    q = CompiledQuery(
        "SELECT id, trace_id, type, name, start_time, end_time, output, provided_model_name, usage_details, "
        "user_id, session_id, trace_name, tags, metadata_names, metadata_values, row_version "
        "FROM observations "
        "WHERE project_id = {project_id:String} AND sign = 1 ORDER BY row_version DESC LIMIT 1 BY id",
        {"project_id": project_id},
        "test.current",
    )
    return await storage.clickhouse.query(q)


async def test_create_and_updates_merge_into_one_observation(
    client, storage, project: ProjectFixture
) -> None:
    batch = [
        ev(
            "e1",
            "trace-create",
            {
                "id": "t1",
                "name": "chat",
                "userId": "u1",
                "sessionId": "s1",
                "tags": ["x"],
                "metadata": {"a": 1},
            },
        ),
        ev(
            "e2",
            "generation-create",
            {
                "id": "g1",
                "traceId": "t1",
                "name": "llm",
                "startTime": T0,
                "model": "gpt-4o",
                "metadata": {"k": "v"},
            },
        ),
        ev(
            "e3",
            "generation-update",
            {
                "id": "g1",
                "endTime": "2026-11-20T10:00:02.000Z",
                "output": "hi",
                "usage": {"input": 10, "output": 3},
                "metadata": {"k2": "v2"},
            },
            ts="2026-11-20T10:00:02.000Z",
        ),
        {"id": "bad", "type": "span-create", "timestamp": "not a time", "body": {"id": "s"}},
        ev("e4", "nonsense-create", {"id": "z"}),
    ]
    r = await client.post("/api/public/ingestion", json={"batch": batch}, auth=project.auth)
    assert r.status_code == 207
    assert [s["id"] for s in r.json()["successes"]] == ["e1", "e2", "e3"]
    errors = {e["id"]: e for e in r.json()["errors"]}
    assert errors["bad"]["status"] == 400 and "timestamp" in errors["bad"]["message"]
    assert "nonsense-create" in errors["e4"]["message"]
    await jobs_done(storage, project.project_id, 1)
    [g] = await current(storage, project.project_id)
    assert (g["id"], g["trace_id"], g["type"], g["name"]) == ("g1", "t1", "GENERATION", "llm")
    assert g["output"] == "hi" and g["provided_model_name"] == "gpt-4o"
    assert g["usage_details"] == {"input": 10, "output": 3, "total": 13}  # total added
    assert dict(zip(g["metadata_names"], g["metadata_values"], strict=True)) == {"k": "v", "k2": "v2"}
    assert (g["user_id"], g["session_id"], g["trace_name"], g["tags"]) == ("u1", "s1", "chat", ["x"])
    assert g["row_version"] == 1


async def test_three_later_updates_keep_raw_and_aggregates_exact(
    client, storage, project: ProjectFixture
) -> None:
    create = ev("c", "span-create", {"id": "o1", "traceId": "t9", "name": "step", "startTime": T0})
    assert (
        await client.post("/api/public/ingestion", json={"batch": [create]}, auth=project.auth)
    ).status_code == 207
    await jobs_done(storage, project.project_id, 1)
    for n in range(3):
        update = ev(
            f"u{n}",
            "generation-update",
            {
                "id": "o1",
                "usageDetails": {"input": 10 * (n + 1)},
                "costDetails": {"total": 0.5 * (n + 1)},
                "level": "ERROR" if n == 1 else "DEFAULT",
            },
            ts=f"2026-11-20T10:00:0{n + 1}.000Z",
        )
        await client.post("/api/public/ingestion", json={"batch": [update]}, auth=project.auth)
        await jobs_done(storage, project.project_id, 2 + n)
    # Replaying the last update changes nothing.
    await client.post("/api/public/ingestion", json={"batch": [update]}, auth=project.auth)
    await jobs_done(storage, project.project_id, 5)
    [o] = await current(storage, project.project_id)
    assert o["usage_details"] == {"input": 30, "total": 30} and o["row_version"] == 4
    exact = await assert_aggregates_match_raw(storage, project.project_id)
    assert (
        exact["observations"] == 1 and exact["usage"] == {"input": 30, "total": 30} and exact["errors"] == 0
    )
    assert float(exact["total_cost"]) == 1.5


async def test_a_late_trace_create_reaches_stored_observations(
    client, storage, project: ProjectFixture
) -> None:
    span = ev("c", "span-create", {"id": "o2", "traceId": "t2", "name": "step", "startTime": T0})
    await client.post("/api/public/ingestion", json={"batch": [span]}, auth=project.auth)
    await jobs_done(storage, project.project_id, 1)
    trace = ev("t", "trace-create", {"id": "t2", "name": "late", "userId": "u7", "timestamp": T0})
    await client.post("/api/public/ingestion", json={"batch": [trace]}, auth=project.auth)
    await jobs_done(storage, project.project_id, 2)
    [o] = await current(storage, project.project_id)
    assert (o["trace_name"], o["user_id"], o["row_version"]) == ("late", "u7", 2)
    exact = await assert_aggregates_match_raw(storage, project.project_id)
    assert exact["observations"] == 1


async def test_partial_trace_updates_survive_merges(client, storage, project: ProjectFixture) -> None:
    """Two updates of one trace in the same minute each say something the other does not; after
    ClickHouse merges the parts, both are still known."""
    first = ev("a", "trace-create", {"id": "t3", "name": "named-first", "timestamp": T0})
    second = ev("b", "trace-create", {"id": "t3", "userId": "u-late", "timestamp": T0})
    for event, n in ((first, 1), (second, 2)):
        await client.post("/api/public/ingestion", json={"batch": [event]}, auth=project.auth)
        await jobs_done(storage, project.project_id, n)
    await storage.clickhouse.command("OPTIMIZE TABLE traces FINAL", "test.optimize")
    known = await fetch_trace_attributes(
        storage.clickhouse, project.project_id, ["t3"], datetime(2026, 11, 1, tzinfo=UTC)
    )
    assert (known["t3"].name, known["t3"].user_id) == ("named-first", "u-late")


async def test_bad_batches_are_400(client, project) -> None:
    for body, needle in (({"nope": 1}, "'batch' list"), ([1, 2], "'batch' list")):
        r = await client.post("/api/public/ingestion", json=body, auth=project.auth)
        assert r.status_code == 400 and needle in r.json()["message"]
    r = await client.post(
        "/api/public/ingestion", content=b"{", auth=project.auth, headers={"content-type": "application/json"}
    )
    assert r.status_code == 400 and "not valid JSON" in r.json()["message"]


async def test_scores_single_array_and_batch_event(client, storage, project: ProjectFixture) -> None:
    r = await client.post(
        "/api/public/scores", json={"traceId": "t1", "name": "quality", "value": 0.9}, auth=project.auth
    )
    assert r.status_code == 200 and r.json()["id"]
    single_id = r.json()["id"]
    r = await client.post(
        "/api/public/scores",
        json=[
            {"traceId": "t1", "name": "ok", "value": 1, "dataType": "BOOLEAN"},
            {"traceId": "t1", "name": "label", "value": "good", "dataType": "CATEGORICAL"},
        ],
        auth=project.auth,
    )
    assert (r.status_code, r.json()) == (202, {"message": "Accepted"})
    r = await client.post(
        "/api/public/scores",
        json=[
            {"traceId": "t1", "name": "ok", "value": 2, "dataType": "BOOLEAN"},
            {"traceId": "t1", "name": "n", "value": 3},
        ],
        auth=project.auth,
    )
    assert r.status_code == 207 and r.json()["accepted"] == 1 and "0 or 1" in r.json()["errors"][0]["message"]
    r = await client.post(
        "/api/public/scores",
        json={"traceId": "t1", "name": "x", "value": "a", "dataType": "NUMERIC"},
        auth=project.auth,
    )
    assert r.status_code == 400 and "finite number" in r.json()["message"]
    r = await client.post("/api/public/scores", json={"name": "x", "value": 1}, auth=project.auth)
    assert r.status_code == 400 and "traceId" in r.json()["message"]
    batch = [ev("s1", "score-create", {"id": "sc-1", "traceId": "t1", "name": "via-batch", "value": 4})]
    await client.post("/api/public/ingestion", json={"batch": batch}, auth=project.auth)
    await jobs_done(storage, project.project_id, 4)
    q = CompiledQuery(
        "SELECT id, name, value, string_value, data_type FROM scores "
        "WHERE project_id = {project_id:String} ORDER BY name",
        {"project_id": project.project_id},
        "test.scores",
    )
    rows = {r["name"]: r for r in await storage.clickhouse.query(q)}
    assert set(rows) == {"quality", "ok", "label", "n", "via-batch"}
    assert rows["quality"]["id"] == single_id and rows["quality"]["value"] == 0.9
    assert rows["label"]["string_value"] == "good" and rows["label"]["data_type"] == "CATEGORICAL"
    assert rows["via-batch"]["id"] == "sc-1"


async def test_a_score_with_a_non_text_field_is_refused_alone(
    client, storage, project: ProjectFixture
) -> None:
    """A number where text is stored (comment, ids) is refused with the field named, not acknowledged
    and then lost in the worker with the rest of its batch."""
    r = await client.post(
        "/api/public/scores", json={"traceId": "t1", "name": "q", "value": 1, "comment": 5}, auth=project.auth
    )
    assert r.status_code == 400 and "comment must be a string" in r.json()["message"]
    batch = [
        ev("a", "score-create", {"id": "sc-bad", "traceId": {"x": 1}, "name": "q", "value": 1}),
        ev(
            "b",
            "score-create",
            {"id": "sc-good", "traceId": "t1", "name": "q", "value": 1, "comment": "fine"},
        ),
    ]
    r = await client.post("/api/public/ingestion", json={"batch": batch}, auth=project.auth)
    assert r.status_code == 207, r.text
    assert [e["id"] for e in r.json()["errors"]] == ["a"] and "traceId" in r.json()["errors"][0]["message"]
    await jobs_done(storage, project.project_id, 1)
    stored = await storage.clickhouse.query(
        CompiledQuery(
            "SELECT id, comment FROM scores WHERE project_id = {project_id:String}",
            {"project_id": project.project_id},
            "test.scores",
        )
    )
    assert [(r["id"], r["comment"]) for r in stored] == [("sc-good", "fine")]

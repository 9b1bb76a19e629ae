"""Langfuse-compatible REST reads, with httpx and with the official SDK's API client."""

from __future__ import annotations

import asyncio
import json

import pytest

from tests.conftest import LiveServer, ProjectFixture, assert_aggregates_match_raw, make_project
from tests.integration.reads_data import TRACES, seed

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("worker")]


async def test_traces_pages_one_trace_and_delete(client, storage, project: ProjectFixture) -> None:
    s = await seed(client, storage, project)
    seen = []
    for page in (1, 2, 3):
        r = await client.get("/api/public/traces", params={"page": page, "limit": 5}, auth=project.auth)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["meta"] == {"page": page, "limit": 5, "totalItems": TRACES, "totalPages": 3}
        seen += [t["id"] for t in body["data"]]
    assert seen == list(reversed(s.trace_ids))
    r = await client.get(
        "/api/public/traces", params={"userId": "user-2", "orderBy": "totalCost.asc"}, auth=project.auth
    )
    assert [t["id"] for t in r.json()["data"]] == [s.trace_ids[i] for i in (2, 5, 8, 11)]
    # Each listed trace names its observations and scores by id (traces 0, 3, 6, 9 ... have a score).
    r = await client.get("/api/public/traces", params={"limit": 50}, auth=project.auth)
    listed = {t["id"]: t for t in r.json()["data"]}
    assert listed[s.trace_ids[8]]["observations"] == ["r-t08-gen", "r-t08-root"]
    assert [listed[s.trace_ids[i]]["scores"] for i in (8, 9)] == [[], [f"{s.trace_ids[9]}-score"]]
    r = await client.get("/api/public/traces", params={"orderBy": "nope"}, auth=project.auth)
    assert r.status_code == 400 and "orderBy" in r.json()["message"]

    r = await client.get(f"/api/public/traces/{s.trace_ids[6]}", auth=project.auth)
    trace = r.json()
    assert (
        trace["name"] == "search" and trace["latency"] == 0.65 and trace["metadata"] == {"tenant": "globex"}
    )
    assert [o["id"] for o in trace["observations"]] == ["r-t06-root", "r-t06-gen"]
    assert trace["observations"][1]["usage"] == {"input": 60, "output": 5, "total": 65, "unit": "TOKENS"}
    assert [(x["name"], x["value"]) for x in trace["scores"]] == [("quality", 0.6)]
    assert (await client.get("/api/public/traces/nope", auth=project.auth)).status_code == 404

    r = await client.delete(f"/api/public/traces/{s.trace_ids[6]}", auth=project.auth)
    assert r.status_code == 200
    r = await client.request(
        "DELETE", "/api/public/traces", json={"traceIds": s.trace_ids[:2]}, auth=project.auth
    )
    assert r.status_code == 200
    r = await client.get("/api/public/traces", auth=project.auth)
    assert r.json()["meta"]["totalItems"] == TRACES - 3
    assert (await client.get(f"/api/public/traces/{s.trace_ids[6]}", auth=project.auth)).status_code == 404
    await assert_aggregates_match_raw(storage, project.project_id)


async def test_observations_sessions_scores_metrics_comments(
    client, storage, project: ProjectFixture
) -> None:
    s = await seed(client, storage, project)
    r = await client.get(
        "/api/public/observations", params={"type": "GENERATION", "limit": 3, "page": 2}, auth=project.auth
    )
    body = r.json()
    assert body["meta"]["totalItems"] == TRACES and [o["id"] for o in body["data"]] == [
        "r-t08-gen",
        "r-t07-gen",
        "r-t06-gen",
    ]
    r = await client.get("/api/public/observations/r-t07-gen", auth=project.auth)
    assert r.json()["input"] == [{"role": "user", "content": "你好世界 退款申请"}]

    r = await client.get("/api/public/sessions", auth=project.auth)
    assert sorted(x["id"] for x in r.json()["data"]) == ["session-0", "session-1", "session-2", "session-3"]
    # Pages newest first (by first seen), each session with its totals, and the count of all of them.
    newest = [x["id"] for x in r.json()["data"]]
    r = await client.get("/api/public/sessions", params={"limit": 3, "page": 2}, auth=project.auth)
    assert [x["id"] for x in r.json()["data"]] == newest[3:] and r.json()["meta"]["totalItems"] == 4
    r = await client.get("/api/public/sessions/session-2", auth=project.auth)
    assert [t["id"] for t in r.json()["traces"]] == [s.trace_ids[i] for i in (2, 6, 10)]

    r = await client.get("/api/public/v2/scores", params={"name": "quality"}, auth=project.auth)
    assert r.json()["meta"]["totalItems"] == 4
    r = await client.get("/api/public/v3/scores", params={"limit": 3}, auth=project.auth)
    first = r.json()
    assert len(first["data"]) == 3 and first["meta"]["cursor"]
    r = await client.get(
        "/api/public/v3/scores", params={"limit": 3, "cursor": first["meta"]["cursor"]}, auth=project.auth
    )
    assert len(r.json()["data"]) == 1 and r.json()["meta"]["cursor"] is None

    r = await client.get("/api/public/metrics/daily", auth=project.auth)
    [day] = r.json()["data"] if r.json()["data"][0]["countTraces"] == TRACES else [None]
    assert day is not None and day["countObservations"] == 2 * TRACES
    # A page whose days would reach back past year 1 shows nothing (was a 500).
    r = await client.get("/api/public/metrics/daily", params={"page": 9999, "limit": 92}, auth=project.auth)
    assert r.status_code == 200 and r.json()["data"] == [], r.text
    query = {
        "view": "observations",
        "metrics": [{"measure": "totalTokens", "aggregation": "sum"}],
        "dimensions": [{"field": "type"}],
        "filters": [{"column": "type", "operator": "any of", "value": ["GENERATION"]}],
    }
    r = await client.get("/api/public/v2/metrics", params={"query": json.dumps(query)}, auth=project.auth)
    assert r.json()["data"] == [
        {"type": "GENERATION", "total_tokens_sum": sum(10 * i + 5 for i in range(TRACES))}
    ]
    r = await client.get("/api/public/v2/metrics", params={"query": '{"view": "nope"}'}, auth=project.auth)
    assert r.status_code == 400 and "view" in r.json()["message"]

    r = await client.post(
        "/api/public/comments",
        json={"objectType": "TRACE", "objectId": s.trace_ids[0], "content": "hi"},
        auth=project.auth,
    )
    comment_id = r.json()["id"]
    r = await client.get("/api/public/comments", params={"objectId": s.trace_ids[0]}, auth=project.auth)
    assert [c["id"] for c in r.json()["data"]] == [comment_id]
    r = await client.post(
        "/api/public/comments",
        json={"objectType": "CAT", "objectId": "x", "content": "hi"},
        auth=project.auth,
    )
    assert r.status_code == 400 and "objectType" in r.json()["message"]

    other = await make_project(storage)
    for path in (
        "/api/public/traces",
        "/api/public/observations",
        "/api/public/v2/scores",
        "/api/public/comments",
    ):
        r = await client.get(path, auth=other.auth)
        assert r.json()["data"] == [], path
    assert (await client.get(f"/api/public/comments/{comment_id}", auth=other.auth)).status_code == 404


async def test_openapi_document(client) -> None:
    r = await client.get("/api/public/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    assert {
        "/api/public/traces",
        "/api/public/v2/observations",
        "/api/public/v3/scores",
        "/api/public/otel/v1/traces",
    } <= set(paths)
    # Only the ingestion batch takes a public key alone (browser feedback); every other route Basic.
    bearer = {
        f"{m.upper()} {p}"
        for p, ops in paths.items()
        for m, op in ops.items()
        if {"publicKey": []} in op.get("security", [])
    }
    assert bearer == {"POST /api/public/ingestion"}


async def test_the_official_sdk_reads_what_it_sent(
    live_server: LiveServer, client, storage, project: ProjectFixture
) -> None:
    s = await seed(client, storage, project)

    def use_sdk() -> dict:
        from langfuse import Langfuse

        lf = Langfuse(
            public_key=project.public_key, secret_key=project.secret_key, base_url=live_server.base_url
        )
        try:
            ids, cursor = [], None
            while True:
                page = lf.api.observations.get_many(
                    fields="core,basic,usage", limit=5, cursor=cursor, type="GENERATION"
                )
                ids += [o.id for o in page.data]
                cursor = page.meta.cursor
                if not cursor:
                    break
            usage = page.data[-1].usage_details
            scores = lf.api.scores.get_many(name="quality")
            metrics = lf.api.metrics.metrics(
                query=json.dumps(
                    {"view": "traces", "metrics": [{"measure": "count", "aggregation": "count"}]}
                )
            )
            lf.api.trace.delete(s.trace_ids[0])
            return {"ids": ids, "usage": usage, "scores": len(scores.data), "metrics": metrics.data}
        finally:
            lf.shutdown()

    got = await asyncio.to_thread(use_sdk)
    assert got["ids"] == [f"r-t{i:02d}-gen" for i in reversed(range(TRACES))]
    assert got["usage"] == {"input": 0, "output": 5, "total": 5}
    assert got["scores"] == 4 and got["metrics"] == [{"count_count": TRACES}]
    r = await client.get(f"/api/public/traces/{s.trace_ids[0]}", auth=project.auth)
    assert r.status_code == 404

"""Hostile intake: one bad span never sinks the rest (OTLP partial_success, 207 per event), deep JSON never
makes a trace unreadable, and neither inflated bodies nor single values are unbounded."""

from __future__ import annotations

import gzip
import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from app.storage import Storage
from app.storage.clickhouse.query import CompiledQuery
from app.storage.postgres.tables import Role
from tests.conftest import ProjectFixture, login, make_user, wait_for

pytestmark = pytest.mark.integration
URL = "/api/public/otel/v1/traces"
PB = {"content-type": "application/x-protobuf"}
NOW_NS = time.time_ns()
DEEP = "[" * 10_000 + "]" * 10_000


def export(trace_hex: str, spans: list[dict]) -> ExportTraceServiceRequest:
    """An export of Langfuse-SDK spans; each dict may set id, trace, start, end and attributes."""
    request = ExportTraceServiceRequest()
    scope = request.resource_spans.add().scope_spans.add()
    scope.scope.name, scope.scope.version = "langfuse-sdk", "5.0.4"
    for i, spec in enumerate(spans):
        s = scope.spans.add()
        s.trace_id = spec.get("trace", bytes.fromhex(trace_hex))
        s.span_id = spec.get("id", (i + 1).to_bytes(8, "big"))
        s.name = spec.get("name", f"span-{i}")
        s.start_time_unix_nano = spec.get("start", NOW_NS - 10**9)
        s.end_time_unix_nano = spec.get("end", NOW_NS)
        for key, value in spec.get("attributes", {}).items():
            kv = s.attributes.add()
            kv.key, kv.value.string_value = key, value
    return request


async def stored(storage: Storage, project_id: str, trace_id: str, n: int) -> dict[str, dict]:
    q = CompiledQuery(
        "SELECT id, name, level, start_time, end_time, input, metadata_names, metadata_values "
        "FROM observations WHERE project_id = {project_id:String} AND trace_id = {trace_id:String}",
        {"project_id": project_id, "trace_id": trace_id},
        "test.hardening",
    )

    async def rows():  # type: ignore[no-untyped-def]
        found = await storage.clickhouse.query(q)
        return found if len(found) >= n else None

    return {r["name"]: r for r in await wait_for(rows)}


def meta(row: dict) -> dict[str, str]:
    return dict(zip(row["metadata_names"], row["metadata_values"], strict=True))


async def test_bad_spans_are_refused_alone_with_partial_success(client, storage, worker, project) -> None:
    trace = "a1" * 16
    request = export(
        trace,
        [
            {"name": "good"},
            {"name": "short-id", "id": b"\x01" * 7},
            {"name": "zero-trace", "trace": b"\0" * 16},
            {"name": "zero-span", "id": b"\0" * 8},
            {"name": "ancient", "start": 10**18 - 10**17},  # 1998
            {"name": "future", "start": NOW_NS + 2 * 86400 * 10**9, "end": 0},
            {"name": "loud", "attributes": {"langfuse.observation.level": "LOUD"}},
            {"name": "warned", "attributes": {"langfuse.observation.level": "warning"}},
            {"name": "backwards", "start": NOW_NS, "end": NOW_NS - 10**9},
            {"name": "BADNAME"},
        ],
    )
    body = request.SerializeToString().replace(b"BADNAME", b"BAD\xff\xfeME")  # not UTF-8
    r = await client.post(URL, content=body, headers=PB, auth=project.auth)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-protobuf")
    answer = ExportTraceServiceResponse.FromString(r.content)
    assert answer.partial_success.rejected_spans == 7
    message = answer.partial_success.error_message
    for needle in (
        "'short-id' has no valid spanId",
        "'zero-trace' has no valid traceId",
        "'ancient'",
        "outside the accepted range",
        "'LOUD' is not one of DEBUG, DEFAULT, WARNING, ERROR",
    ):
        assert needle in message
    rows = await stored(storage, project.project_id, trace, 3)
    assert set(rows) == {"good", "warned", "backwards"}
    assert rows["warned"]["level"] == "WARNING"
    backwards = rows["backwards"]
    assert backwards["end_time"] == backwards["start_time"]
    assert "was before startTime" in meta(backwards)["langhouse.note"]


async def test_json_exports_answer_partial_success_and_refuse_deep_bodies(
    client, storage, worker, project
) -> None:
    def span(name: str, span_id: str) -> dict:
        return {"traceId": "b2" * 16, "spanId": span_id, "name": name, "startTimeUnixNano": str(NOW_NS)}

    doc = {"resourceSpans": [{"scopeSpans": [{"spans": [span("ok", "01" * 8), span("zero", "0" * 16)]}]}]}
    headers = {"content-type": "application/json"}
    r = await client.post(URL, content=json.dumps(doc), headers=headers, auth=project.auth)
    assert r.status_code == 200, r.text
    partial = r.json()["partialSuccess"]
    assert partial["rejectedSpans"] == 1 and "'zero' has no valid spanId" in partial["errorMessage"]
    assert set(await stored(storage, project.project_id, "b2" * 16, 1)) == {"ok"}
    deep = b'{"resourceSpans": ' + DEEP.encode() + b"}"
    r = await client.post(URL, content=deep, headers=headers, auth=project.auth)
    assert r.status_code == 400 and "nests deeper than" in r.json()["message"]


async def test_legacy_batch_refuses_bad_events_alone(client, storage, worker, project) -> None:
    now = datetime.now(UTC)
    trace = "legacy-" + project.project_id[:8]

    def event(n: int, **body: object) -> dict:
        return {
            "id": f"e{n}",
            "type": "span-create",
            "timestamp": now.isoformat(),
            "body": {"id": f"s{n}", "traceId": trace, "name": f"s{n}", **body},
        }

    batch = [
        event(1),
        event(2, startTime="0999-01-01T00:00:00Z"),
        event(3, startTime=(now + timedelta(days=3)).isoformat()),
        event(4, level="LOUD"),
        event(5, startTime=now.isoformat(), endTime=(now - timedelta(seconds=5)).isoformat()),
        event(6, input="DEEP"),
        event(7, traceId={"not": "an id"}),  # text fields of another type: refused, not a failed batch
        event(8, name=12, sessionId=["a"]),
        event(9, tags=["ok", 3]),
    ]
    raw = json.dumps({"batch": batch}).replace('"DEEP"', "[" * 2000 + "]" * 2000)
    headers = {"content-type": "application/json"}
    r = await client.post("/api/public/ingestion", content=raw, headers=headers, auth=project.auth)
    assert r.status_code == 207
    errors = {e["id"]: e["message"] for e in r.json()["errors"]}
    assert set(errors) == {"e2", "e3", "e4", "e7", "e8", "e9"}
    assert "body.traceId must be a string" in errors["e7"] and "body.name must be a string" in errors["e8"]
    assert "body.tags must be a list of strings" in errors["e9"]
    assert "body.startTime" in errors["e2"] and "outside the accepted range" in errors["e3"]
    assert "body.level 'LOUD'" in errors["e4"]
    rows = await stored(storage, project.project_id, trace, 3)
    assert set(rows) == {"s1", "s5", "s6"}
    assert rows["s5"]["end_time"] == rows["s5"]["start_time"] and "langhouse.note" in meta(rows["s5"])


async def test_deep_json_is_stored_safely_and_every_reader_serves_it(
    client, storage, worker, project
) -> None:
    trace = "c3" * 16
    body = export(
        trace,
        [
            {
                "name": "deep",
                "attributes": {"langfuse.observation.input": DEEP, "langfuse.observation.metadata": DEEP},
            }
        ],
    )
    assert (
        await client.post(URL, content=body.SerializeToString(), headers=PB, auth=project.auth)
    ).json() == {}
    # The legacy API: over-deep parts arrive as their JSON text, the event is accepted.
    legacy = {
        "id": "d1",
        "type": "trace-create",
        "timestamp": datetime.now(UTC).isoformat(),
        "body": {"id": "legacy-deep-" + project.project_id[:8], "input": "DEEP"},
    }
    raw = json.dumps({"batch": [legacy]}).replace('"DEEP"', DEEP)
    r = await client.post(
        "/api/public/ingestion", content=raw, headers={"content-type": "application/json"}, auth=project.auth
    )
    assert r.status_code == 207 and r.json()["successes"] == [{"id": "d1", "status": 201}], r.text
    row = (await stored(storage, project.project_id, trace, 1))["deep"]
    observation_id = row["id"]
    assert r.status_code == 207
    api = await client.get(f"/api/public/traces/{trace}", auth=project.auth)
    assert api.status_code == 200, api.text
    assert (
        await client.get(f"/api/public/observations/{observation_id}", auth=project.auth)
    ).status_code == 200
    listed = await client.get("/api/public/observations", params={"traceId": trace}, auth=project.auth)
    assert listed.status_code == 200
    gql = await client.post(
        "/api/graphql",
        json={
            "query": "query($id: ID!) { trace(id: $id) { input "
            "observationTree { observation { input metadata } } } }",
            "variables": {"id": trace},
        },
        auth=project.auth,
    )
    assert gql.status_code == 200 and "errors" not in gql.json(), gql.text
    legacy_trace = await client.get(f"/api/public/traces/{legacy['body']['id']}", auth=project.auth)
    assert legacy_trace.status_code == 200
    email, password = await make_user(storage, project, Role.VIEWER)
    await login(client, email, password)
    try:
        page = await client.get(f"/traces/{trace}")
        assert page.status_code == 200
        export_r = await client.get("/traces/export", params={"format": "json", "range": "24h"})
        assert export_r.status_code == 200
    finally:
        client.cookies.clear()


async def test_inflated_bodies_and_stored_values_are_bounded(
    client, storage, project: ProjectFixture
) -> None:
    limit = storage.settings.ingest_max_inflated_bytes
    bomb = gzip.compress(b"\0" * (limit + 1), compresslevel=1)
    r = await client.post(URL, content=bomb, headers={**PB, "content-encoding": "gzip"}, auth=project.auth)
    assert r.status_code == 413 and "decompresses to more than" in r.json()["message"]
    trace = "d4" * 16
    big = "é" * (storage.settings.ingest_max_value_bytes)  # twice the bound in UTF-8 bytes
    body = export(trace, [{"name": "big", "attributes": {"langfuse.observation.input": big}}])
    r = await client.post(
        URL,
        content=gzip.compress(body.SerializeToString()),
        headers={**PB, "content-encoding": "gzip"},
        auth=project.auth,
    )
    assert r.status_code == 200
    row = (await stored(storage, project.project_id, trace, 1))["big"]
    assert len(row["input"].encode()) < storage.settings.ingest_max_value_bytes + 100
    assert row["input"].endswith("…[truncated by Langhouse: 2.0 MiB, first 1.0 MiB kept]")
    note = json.loads(meta(row)["langhouse.truncated"])["input"]
    assert note["originalBytes"] == len(big.encode()) and note["blobKey"].startswith(
        f"io/{project.project_id}/"
    )
    original = await client.get(f"/api/public/observations/{row['id']}/original/input", auth=project.auth)
    assert original.status_code == 200 and original.text == big
    missing = await client.get(f"/api/public/observations/{row['id']}/original/output", auth=project.auth)
    assert missing.status_code == 404
    trace_r = await client.get(f"/api/public/traces/{trace}", auth=project.auth)
    assert len(trace_r.content) < 2 * storage.settings.ingest_max_value_bytes + 100_000

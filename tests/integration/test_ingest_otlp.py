"""OTLP intake: bad input gets a clear 4xx; duplicates are written once; other instrumentations map."""

from __future__ import annotations

import asyncio
import gzip
import json

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from app.storage import Storage
from app.storage.clickhouse.query import CompiledQuery
from tests.conftest import LiveServer, ProjectFixture, assert_aggregates_match_raw, jobs_done, wait_for

pytestmark = pytest.mark.integration
URL = "/api/public/otel/v1/traces"
PB = {"content-type": "application/x-protobuf"}


def export(trace_hex: str, n: int, *, usage: bool = True) -> bytes:
    request = ExportTraceServiceRequest()
    scope = request.resource_spans.add().scope_spans.add()
    scope.scope.name, scope.scope.version = "langfuse-sdk", "5.0.4"
    for i in range(n):
        s = scope.spans.add()
        s.trace_id = bytes.fromhex(trace_hex)
        s.span_id = (i + 1).to_bytes(8, "big")
        if i:
            s.parent_span_id = (1).to_bytes(8, "big")
        s.name = f"span-{i}"
        s.start_time_unix_nano = 1_700_000_000_000_000_000 + i * 1_000_000
        s.end_time_unix_nano = s.start_time_unix_nano + 5_000_000
        for key, value in (
            ("langfuse.observation.type", "generation"),
            ("langfuse.observation.model.name", "m"),
        ):
            kv = s.attributes.add()
            kv.key, kv.value.string_value = key, value
        if usage:
            kv = s.attributes.add()
            kv.key, kv.value.string_value = "langfuse.observation.usage_details", '{"input": 3, "output": 4}'
    return request.SerializeToString()


async def totals(storage: Storage, project_id: str) -> dict:
    q = CompiledQuery(
        "SELECT count() AS n, sum(usage_details['input']) AS input, sum(usage_details['output']) AS output "
        "FROM observations WHERE project_id = {project_id:String}",
        {"project_id": project_id},
        "test.totals",
    )
    [row] = await storage.clickhouse.query(q)
    return row


@pytest.mark.parametrize(
    ("headers", "body", "status", "needle"),
    [
        ({"content-type": "text/plain"}, b"x", 400, "unsupported Content-Type"),
        (PB, b"\xff\xff\xff not protobuf", 400, "not a valid OTLP ExportTraceServiceRequest"),
        ({**PB, "content-encoding": "gzip"}, b"not gzip", 400, "not valid gzip"),
        ({"content-type": "application/json"}, b"{not json", 400, "not valid JSON"),
        ({"content-type": "application/json"}, b'{"resourceSpans": {}}', 400, "resourceSpans must be a list"),
        (
            {"content-type": "application/json"},
            json.dumps(
                {
                    "resourceSpans": [
                        {"scopeSpans": [{"spans": [{"name": "no-ids", "startTimeUnixNano": "1"}]}]}
                    ]
                }
            ).encode(),
            400,
            "span 'no-ids' has no valid traceId",
        ),
        ({**PB, "x-langfuse-ingestion-version": "5"}, b"", 400, "x-langfuse-ingestion-version"),
        ({**PB, "x-langfuse-ingestion-version": "abc"}, b"", 400, "x-langfuse-ingestion-version"),
    ],
)
async def test_bad_exports_are_refused_with_a_named_problem(
    client, project, headers, body, status, needle
) -> None:
    r = await client.post(URL, content=body, headers=headers, auth=project.auth)
    assert r.status_code == status, r.text
    assert needle in r.json()["message"]


async def test_empty_export_and_missing_auth(client, project) -> None:
    assert (await client.post(URL, content=b"", headers=PB, auth=project.auth)).json() == {}
    assert (await client.post(URL, content=export("ab" * 16, 1), headers=PB)).status_code == 401


async def test_oversized_export_is_413(client, project, settings) -> None:
    r = await client.post(
        URL, content=b"\0" * (settings.max_request_bytes + 1), headers=PB, auth=project.auth
    )
    assert r.status_code == 413


async def test_the_same_batch_twice_is_stored_once(
    live_server, client, storage, project: ProjectFixture
) -> None:
    body = gzip.compress(export("12" * 16, 20))
    headers = {**PB, "content-encoding": "gzip"}
    for _ in range(2):
        r = await client.post(URL, content=body, headers=headers, auth=project.auth)
        assert (r.status_code, r.json()) == (200, {})
    await jobs_done(storage, project.project_id, 2)
    assert await totals(storage, project.project_id) == {"n": 20, "input": 60, "output": 80}
    # A partial overlap (10 old spans, 5 new) writes only the new ones.
    request = ExportTraceServiceRequest()
    request.ParseFromString(export("12" * 16, 15))
    r = await client.post(URL, content=request.SerializeToString(), headers=PB, auth=project.auth)
    await jobs_done(storage, project.project_id, 3)
    assert (await totals(storage, project.project_id))["n"] == 20
    r = await client.post(URL, content=export("34" * 16, 5), headers=PB, auth=project.auth)
    await jobs_done(storage, project.project_id, 4)
    assert await totals(storage, project.project_id) == {"n": 25, "input": 75, "output": 100}
    exact = await assert_aggregates_match_raw(storage, project.project_id)
    assert (
        exact["observations"] == 25
        and exact["usage"] == {"input": 75, "output": 100, "total": 175}
        and exact["traces"] == 2
    )


def _otel_provider(server: LiveServer, project: ProjectFixture):  # type: ignore[no-untyped-def]
    import base64

    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    token = base64.b64encode(f"{project.public_key}:{project.secret_key}".encode()).decode()
    exporter = OTLPSpanExporter(
        endpoint=f"{server.base_url}/api/public/otel/v1/traces", headers={"Authorization": f"Basic {token}"}
    )
    provider = TracerProvider(
        resource=Resource.create({"service.name": "svc", "deployment.environment": "Staging"})
    )
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


async def test_openinference_and_gen_ai_spans_map_per_the_contract(live_server, storage, project) -> None:
    def send() -> str:
        provider = _otel_provider(live_server, project)
        tracer = provider.get_tracer("my-app")
        with tracer.start_as_current_span("chain") as chain:
            chain.set_attribute("openinference.span.kind", "CHAIN")
            chain.set_attribute("input.value", "question")
            chain.set_attribute("output.value", "答" * 250)
            chain.set_attribute("session.id", "s-9")
            with tracer.start_as_current_span("ChatCompletion") as llm:
                llm.set_attribute("openinference.span.kind", "LLM")
                llm.set_attribute("llm.model_name", "gpt-4o")
                llm.set_attribute("llm.input_messages.0.message.role", "user")
                llm.set_attribute("llm.input_messages.0.message.content", "hi")
                llm.set_attribute("llm.output_messages.0.message.role", "assistant")
                llm.set_attribute("llm.output_messages.0.message.content", "hello")
                llm.set_attribute("llm.token_count.prompt", 12)
                llm.set_attribute("llm.token_count.completion", 7)
                llm.set_attribute("llm.token_count.total", 19)
            with tracer.start_as_current_span("chat claude") as gen:
                gen.set_attribute("gen_ai.operation.name", "chat")
                gen.set_attribute("gen_ai.request.model", "claude-3-5-sonnet")
                gen.set_attribute("gen_ai.request.temperature", 0.2)
                gen.set_attribute("gen_ai.usage.input_tokens", 30)
                gen.set_attribute("gen_ai.usage.output_tokens", 9)
                gen.add_event("gen_ai.user.message", {"content": "ping"})
                gen.add_event("gen_ai.choice", {"message": '{"role": "assistant", "content": "pong"}'})
            with tracer.start_as_current_span("call tool") as tool:
                tool.set_attribute("gen_ai.tool.name", "weather")
            trace_id = format(chain.get_span_context().trace_id, "032x")
        provider.shutdown()
        return trace_id

    trace_id = await asyncio.to_thread(send)
    q = CompiledQuery(
        "SELECT name, type, provided_model_name, usage_details, input, output, environment, session_id, "
        "model_parameters, metadata_names, input_preview, output_preview FROM observations "
        "WHERE project_id = {project_id:String} AND trace_id = {trace_id:String}",
        {"project_id": project.project_id, "trace_id": trace_id},
        "test.mapped",
    )

    async def rows():  # type: ignore[no-untyped-def]
        found = await storage.clickhouse.query(q)
        return found if len(found) == 4 else None

    by_name = {r["name"]: r for r in await wait_for(rows)}
    chain, llm, gen, tool = (
        by_name["chain"],
        by_name["ChatCompletion"],
        by_name["chat claude"],
        by_name["weather"],
    )
    assert (chain["type"], chain["input"], chain["session_id"]) == ("CHAIN", "question", "s-9")
    assert (chain["input_preview"], chain["output_preview"]) == ("question", "答" * 200)  # characters
    assert llm["type"] == "GENERATION" and llm["provided_model_name"] == "gpt-4o"
    assert llm["usage_details"] == {"input": 12, "output": 7, "total": 19}
    assert json.loads(llm["input"]) == [{"role": "user", "content": "hi"}]
    assert json.loads(llm["output"]) == [{"role": "assistant", "content": "hello"}]
    assert gen["type"] == "GENERATION" and gen["provided_model_name"] == "claude-3-5-sonnet"
    assert gen["usage_details"] == {"input": 30, "output": 9, "total": 39}
    assert json.loads(gen["model_parameters"]) == {"temperature": 0.2}
    assert json.loads(gen["input"]) == [{"role": "user", "content": "ping"}]
    assert json.loads(gen["output"])[0]["message"] == {"role": "assistant", "content": "pong"}
    assert tool["type"] == "TOOL"
    assert {r["environment"] for r in by_name.values()} == {"staging"}
    assert "attributes" in chain["metadata_names"] and "resourceAttributes" in chain["metadata_names"]


async def test_backpressure_answers_503_with_retry_after(client, storage, project: ProjectFixture) -> None:
    from app.jobs.contracts import QUEUE, SYSTEM_PING, JobQueue

    queue = await JobQueue.connect(storage.redis_url)
    limit = storage.settings.ingest_max_backlog
    held = [f"held-{project.project_id}-{i}" for i in range(3)]
    try:
        for job_id in held:  # jobs that wait in the queue: a backlog
            await queue.pool.enqueue_job(SYSTEM_PING, {}, _job_id=job_id, _defer_by=600)
        storage.settings.ingest_max_backlog = 1
        r = await client.post(URL, content=export("9a" * 16, 3), headers=PB, auth=project.auth)
        assert r.status_code == 503 and r.headers["retry-after"] == "5"
        assert "backlog" in r.json()["message"]
        batch = [{"id": "e", "type": "span-create", "timestamp": "2026-11-20T10:00:00Z", "body": {"id": "s"}}]
        r = await client.post("/api/public/ingestion", json={"batch": batch}, auth=project.auth)
        assert r.status_code == 503
    finally:
        storage.settings.ingest_max_backlog = limit
        await queue.pool.zrem(QUEUE, *held)
        await queue.close()
    assert (
        await client.post(URL, content=export("9a" * 16, 3), headers=PB, auth=project.auth)
    ).status_code == 200


async def test_existence_check_is_exact_for_span_ids_and_any_other_ids(storage: Storage, project) -> None:
    from datetime import UTC, datetime, timedelta

    from app.storage.clickhouse.write_rows import ObservationRow
    from app.storage.clickhouse.writes import fetch_existing_observation_keys, insert_observations

    now = datetime.now(UTC)
    trace = "ab" * 16
    # Stored: a span id, and ids that are not 16 hex digits (legacy observations), one of which spells
    # a span id's number once unhexed leniently; the check must still answer with exact pairs only.
    stored = ["00000000000000ff", "legacy-observation", "00000000000000FF"]
    await insert_observations(
        storage.clickhouse,
        [
            ObservationRow(
                project_id=project.project_id,
                id=i,
                trace_id=trace,
                parent_observation_id=None,
                type="SPAN",
                name=i,
                start_time=now,
                event_ts=now,
            )
            for i in stored
        ],
    )
    window = (now - timedelta(seconds=1), now + timedelta(seconds=1))
    check = fetch_existing_observation_keys
    span_ids = [(trace, "00000000000000ff"), (trace, "0000000000000100")]
    assert await check(storage.clickhouse, project.project_id, span_ids, *window) == {span_ids[0]}
    others = [(trace, "legacy-observation"), (trace, "another"), ("cd" * 16, "00000000000000ff")]
    assert await check(storage.clickhouse, project.project_id, others, *window) == {others[0]}
    upper = [(trace, "00000000000000FF")]
    assert await check(storage.clickhouse, project.project_id, upper, *window) == set(upper)
    assert await check(storage.clickhouse, "another-project", span_ids, *window) == set()

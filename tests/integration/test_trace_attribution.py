"""Every aggregate attributes every observation and score to its trace's resolved attributes, whatever
order and request they arrive in: root last, root first, a later legacy update, duplicates and replays."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from app.jobs import ingest
from app.jobs.contracts import JobQueue
from app.storage import Storage
from app.storage.postgres.tables import Role
from tests.conftest import (
    LiveServer,
    ProjectFixture,
    assert_aggregates_match_raw,
    jobs_done,
    login,
    make_user,
    wait_for,
)
from tests.integration.reads_data import gql

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("worker")]
URL = "/api/public/otel/v1/traces"
PB = {"content-type": "application/x-protobuf"}
ROOT = 1
START_NS = time.time_ns() - 60_000_000_000


def export(trace_hex: str, spans: list[tuple[int, str, dict[str, Any]]]) -> bytes:
    """Plain OpenTelemetry spans (no Langfuse scope) of one trace: (span number, name, attributes);
    span 1 is the root, the others its children, 113 tokens and $0.25 each when they are LLM calls."""
    request = ExportTraceServiceRequest()
    scope = request.resource_spans.add().scope_spans.add()
    scope.scope.name = "my-app"
    for number, name, attrs in spans:
        s = scope.spans.add()
        s.trace_id, s.span_id = bytes.fromhex(trace_hex), number.to_bytes(8, "big")
        if number != ROOT:
            s.parent_span_id = ROOT.to_bytes(8, "big")
        s.name = name
        s.start_time_unix_nano = START_NS + number * 1_000_000
        s.end_time_unix_nano = s.start_time_unix_nano + (50_000_000 if number == ROOT else 5_000_000)
        for key, value in attrs.items():
            kv = s.attributes.add()
            kv.key = key
            if isinstance(value, int):
                kv.value.int_value = value
            else:
                kv.value.string_value = value
    return request.SerializeToString()


LLM = {
    "gen_ai.operation.name": "chat",
    "gen_ai.request.model": "my-model",
    "gen_ai.usage.input_tokens": 100,
    "gen_ai.usage.output_tokens": 13,
    "langfuse.observation.cost_details": '{"total": 0.25}',
}


def root(name: str = "checkout", **attrs: Any) -> tuple[int, str, dict[str, Any]]:
    return (ROOT, name, {"session.id": "sess-1", "user.id": "user-1", **attrs})


def child(number: int) -> tuple[int, str, dict[str, Any]]:
    return (number, f"llm-{number}", dict(LLM))


async def send(client, storage: Storage, project: ProjectFixture, body: bytes, jobs: int) -> None:  # type: ignore[no-untyped-def]
    r = await client.post(URL, content=body, headers=PB, auth=project.auth)
    assert r.status_code == 200, r.text
    await jobs_done(storage, project.project_id, jobs)


async def by(client, project: ProjectFixture, view: str, measure: str, dimension: str) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """One SUM (or COUNT) per value of a dimension, through GraphQL `metrics`."""
    aggregation = "COUNT" if measure == "COUNT" else "SUM"
    data = await gql(
        client,
        project,
        "query($q: MetricsQueryInput!) { metrics(query: $q) { columns rows } }",
        {
            "q": {
                "view": view,
                "metrics": [{"measure": measure, "aggregation": aggregation}],
                "dimensions": [dimension],
                "granularity": None,
            }
        },
    )
    value, key, out = f"{measure}_{aggregation}".lower(), dimension.lower(), {}
    for r in data["metrics"]["rows"]:
        out[r[key]] = out.get(r[key], 0.0) + float(r[value] or 0)
    return {k: v for k, v in out.items() if v}


async def assert_attributed(client, storage: Storage, project: ProjectFixture, name: str, user: str) -> None:  # type: ignore[no-untyped-def]
    """Two traces of two LLM calls each ($1.00, 452 tokens in all) belong to `name`, `user` and sess-1."""
    assert await by(client, project, "OBSERVATIONS", "TOTAL_COST", "TRACE_NAME") == {name: 1.0}
    assert await by(client, project, "OBSERVATIONS", "TOTAL_TOKENS", "USER") == {user: 452}
    assert await by(client, project, "OBSERVATIONS", "TOTAL_TOKENS", "SESSION") == {"sess-1": 452}
    assert await by(client, project, "TRACES", "TOTAL_COST", "NAME") == {name: 1.0}
    groups = await gql(
        client,
        project,
        "{ sessions { edges { node { id totalTokens totalCost traceCount } } } "
        "users { edges { node { id totalTokens totalCost } } } }",
    )
    [session] = [e["node"] for e in groups["sessions"]["edges"]]
    assert (session["id"], session["totalTokens"], session["totalCost"]) == ("sess-1", 452, 1.0)
    [u] = [e["node"] for e in groups["users"]["edges"]]
    assert (u["id"], u["totalTokens"], u["totalCost"]) == (user, 452, 1.0)
    daily = await client.get("/api/public/metrics/daily", params={"traceName": name}, auth=project.auth)
    assert [d["totalCost"] for d in daily.json()["data"]] == [1.0]
    traces = await gql(
        client,
        project,
        "{ traces(filter: {names: [$n]}) { edges { node { id } } } }".replace("$n", f'"{name}"'),
    )
    assert len(traces["traces"]["edges"]) == 2
    observations = await client.get(
        "/api/public/observations", params={"userId": user, "type": "GENERATION"}, auth=project.auth
    )
    assert observations.json()["meta"]["totalItems"] == 4
    await assert_aggregates_match_raw(storage, project.project_id)


async def test_root_last_in_a_later_request(client, storage: Storage, project: ProjectFixture) -> None:
    """The default flow: the calls are exported before their root, which alone names the trace and
    carries the session and user."""
    traces = ("a1" * 16, "a2" * 16)
    for i, t in enumerate(traces):
        await send(client, storage, project, export(t, [child(2), child(3)]), 2 * i + 1)
        await send(client, storage, project, export(t, [root()]), 2 * i + 2)
    await assert_attributed(client, storage, project, "checkout", "user-1")
    r = await client.post(
        "/api/public/scores", json={"traceId": traces[0], "name": "quality", "value": 1}, auth=project.auth
    )
    assert r.status_code == 200, r.text
    scored = await wait_for(lambda: by(client, project, "SCORES", "COUNT", "TRACE_NAME"))
    assert scored == {"checkout": 1}
    email, password = await make_user(storage, project, Role.MEMBER)
    await login(client, email, password)
    try:  # the dashboard's top trace names, and score analytics by trace name
        home, scores = (await client.get("/")).text, (await client.get("/scores")).text
    finally:
        client.cookies.clear()
    assert ">checkout</a></td><td>6</td><td>$1.00<" in home.replace("\n", "")
    assert "(none)</a>" not in home
    assert "(unnamed)" not in scores and ">checkout</th>" in scores


async def test_root_first_then_its_calls(client, storage: Storage, project: ProjectFixture) -> None:
    for i, t in enumerate(("b1" * 16, "b2" * 16)):
        await send(client, storage, project, export(t, [root()]), 2 * i + 1)
        await send(client, storage, project, export(t, [child(2), child(3)]), 2 * i + 2)
    await assert_attributed(client, storage, project, "checkout", "user-1")


async def test_attributes_on_a_child_and_the_name_on_the_root(
    client, storage: Storage, project: ProjectFixture
) -> None:
    """Session and user only on one call, in the same request as the root that has neither."""
    for i, t in enumerate(("c1" * 16, "c2" * 16)):
        calls = [child(2), (3, "llm-3", {**LLM, "session.id": "sess-1", "user.id": "user-1"})]
        await send(client, storage, project, export(t, [*calls, (ROOT, "checkout", {})]), i + 1)
    await assert_attributed(client, storage, project, "checkout", "user-1")


async def test_a_later_legacy_update_moves_everything(
    client, storage: Storage, project: ProjectFixture
) -> None:
    traces = ("d1" * 16, "d2" * 16)
    for i, t in enumerate(traces):
        await send(client, storage, project, export(t, [child(2), root("first-name")]), i + 1)
    update = [
        {
            "id": f"u-{t}",
            "type": "trace-create",
            "timestamp": datetime.now(UTC).isoformat(),
            "body": {"id": t, "name": "renamed", "userId": "user-2"},
        }
        for t in traces
    ]
    r = await client.post("/api/public/ingestion", json={"batch": update}, auth=project.auth)
    assert r.status_code == 207 and not r.json()["errors"], r.text
    await jobs_done(storage, project.project_id, 3)
    for i, t in enumerate(traces):  # a late call carries nothing: it joins the trace as it is now
        await send(client, storage, project, export(t, [child(3)]), 4 + i)
    await assert_attributed(client, storage, project, "renamed", "user-2")
    old = await gql(client, project, '{ traces(filter: {names: ["first-name"]}) { edges { node { id } } } }')
    assert old["traces"]["edges"] == []


async def test_duplicates_and_replays_change_nothing(
    client, storage: Storage, project: ProjectFixture
) -> None:
    jobs = 0
    for t in ("e1" * 16, "e2" * 16):
        for body in (export(t, [child(2), child(3)]), export(t, [root()])):
            for _ in range(2):  # an exporter's retry
                jobs += 1
                await send(client, storage, project, body, jobs)
    await assert_attributed(client, storage, project, "checkout", "user-1")
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    keys = [k for k in await storage.blobs.list_keys(f"ingest/{day}/{project.project_id}/", limit=100)]
    assert len(keys) == jobs
    queue = await JobQueue.connect(storage.redis_url)
    try:
        assert await ingest.replay(storage, queue, keys) == jobs
    finally:
        await queue.close()
    await jobs_done(storage, project.project_id, 2 * jobs)
    await assert_attributed(client, storage, project, "checkout", "user-1")


def sdk_traces(server: LiveServer, project: ProjectFixture) -> list[str]:
    """The Langfuse SDK's default flow, no propagated attributes: the root's name names the trace, and
    each call is exported (flushed) before its root ends."""
    from langfuse import Langfuse

    lf = Langfuse(public_key=project.public_key, secret_key=project.secret_key, base_url=server.base_url)
    trace_ids = []
    try:
        for _ in range(2):
            with lf.start_as_current_observation(as_type="span", name="checkout") as root:
                with lf.start_as_current_observation(
                    as_type="generation",
                    name="llm",
                    model="my-model",
                    usage_details={"input": 100, "output": 13},
                    cost_details={"total": 0.25},
                ):
                    pass
                lf.flush()
                trace_ids.append(root.trace_id)
        lf.flush()
        lf.create_score(trace_id=trace_ids[0], name="quality", value=0.9)
        lf.flush()
    finally:
        lf.shutdown()
    return trace_ids


def otel_traces(server: LiveServer, project: ProjectFixture) -> None:
    """Plain OpenTelemetry: session and user on the root only, the call exported before its root."""
    import base64

    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    token = base64.b64encode(f"{project.public_key}:{project.secret_key}".encode()).decode()
    exporter = OTLPSpanExporter(
        endpoint=f"{server.base_url}/api/public/otel/v1/traces", headers={"Authorization": f"Basic {token}"}
    )
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))  # each span is sent as it ends
    tracer = provider.get_tracer("my-app")
    for _ in range(2):
        with (
            tracer.start_as_current_span(
                "chat-turn", attributes={"session.id": "s-otel", "user.id": "u-otel"}
            ),
            tracer.start_as_current_span("llm", attributes={k: v for k, v in LLM.items()}),
        ):
            pass
    provider.shutdown()


async def settled(
    client, project: ProjectFixture, view: str, measure: str, dimension: str, want: dict
) -> None:  # type: ignore[no-untyped-def]
    """Wait until a metric by a dimension reads `want` (spans arrive in the background), then hold it."""

    seen: list[dict[str, float]] = []

    async def equal() -> bool:
        seen.append(await by(client, project, view, measure, dimension))
        return seen[-1] == want

    try:
        await wait_for(equal)
    except AssertionError as e:
        raise AssertionError(f"{view} {measure} by {dimension}: {seen[-1]} != {want}") from e


async def test_the_sdk_default_flow_end_to_end(
    live_server: LiveServer, client, storage: Storage, project: ProjectFixture
) -> None:
    """The real Langfuse SDK: every call's cost and the score count under the trace's name."""
    trace_ids = await asyncio.to_thread(sdk_traces, live_server, project)
    await settled(client, project, "OBSERVATIONS", "TOTAL_COST", "TRACE_NAME", {"checkout": 0.5})
    await settled(client, project, "OBSERVATIONS", "TOTAL_TOKENS", "TRACE_NAME", {"checkout": 226})
    await settled(client, project, "SCORES", "COUNT", "TRACE_NAME", {"checkout": 1})
    page = await client.get("/api/public/traces", params={"name": "checkout"}, auth=project.auth)
    assert sorted(t["id"] for t in page.json()["data"]) == sorted(trace_ids)
    await assert_aggregates_match_raw(storage, project.project_id)


async def test_plain_otel_session_and_user_on_the_root_only(
    live_server: LiveServer, client, storage: Storage, project: ProjectFixture
) -> None:
    """A real OTLP exporter: two traces of 113 tokens in one session count 226 for the session and user."""
    await asyncio.to_thread(otel_traces, live_server, project)
    await settled(client, project, "OBSERVATIONS", "TOTAL_TOKENS", "SESSION", {"s-otel": 226})
    await settled(client, project, "OBSERVATIONS", "TOTAL_COST", "USER", {"u-otel": 0.5})
    groups = await gql(
        client,
        project,
        "{ sessions { edges { node { id totalTokens totalCost traceCount } } } "
        "users { edges { node { id totalTokens totalCost } } } }",
    )
    assert [e["node"] for e in groups["sessions"]["edges"]] == [
        {"id": "s-otel", "totalTokens": 226, "totalCost": 0.5, "traceCount": 2}
    ]
    assert [e["node"] for e in groups["users"]["edges"]] == [
        {"id": "u-otel", "totalTokens": 226, "totalCost": 0.5}
    ]
    await assert_aggregates_match_raw(storage, project.project_id)

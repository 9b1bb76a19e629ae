"""More real clients: SDK scores, an OTLP/JSON exporter body, and the OpenAI instrumentation against a
local fake OpenAI server."""

from __future__ import annotations

import asyncio
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from app.storage.clickhouse.query import CompiledQuery
from app.storage.postgres.tables import Role
from tests.conftest import LiveServer, ProjectFixture, jobs_done, login, make_user, wait_for
from tests.integration.test_ingest_otlp import _otel_provider

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("worker")]


async def rows(storage, sql: str, project_id: str, **params: str) -> list[dict]:  # type: ignore[no-untyped-def]
    return await storage.clickhouse.query(
        CompiledQuery(sql, {"project_id": project_id, **params}, "test.rows")
    )


async def test_sdk_scores_arrive_linked(live_server: LiveServer, storage, project: ProjectFixture) -> None:
    def send() -> tuple[str, str]:
        from langfuse import Langfuse

        lf = Langfuse(
            public_key=project.public_key, secret_key=project.secret_key, base_url=live_server.base_url
        )
        try:
            with lf.start_as_current_observation(as_type="generation", name="answer", model="gpt-4o") as gen:
                gen.score(name="helpful", value=0.75, comment="good")
                gen.score_trace(name="resolved", value=1, data_type="BOOLEAN")
                lf.score_current_trace(name="tone", value="friendly", data_type="CATEGORICAL")
                trace_id, obs_id = gen.trace_id, gen.id
            lf.create_score(name="manual", value=3, trace_id=trace_id)
            lf.flush()
        finally:
            lf.shutdown()
        return trace_id, obs_id

    trace_id, obs_id = await asyncio.to_thread(send)
    sql = (
        "SELECT name, value, string_value, data_type, trace_id, observation_id, comment FROM scores "
        "WHERE project_id = {project_id:String} ORDER BY name"
    )

    async def four() -> list[dict] | None:
        found = await rows(storage, sql, project.project_id)
        return found if len(found) == 4 else None

    by_name = {r["name"]: r for r in await wait_for(four)}
    assert by_name["helpful"]["value"] == 0.75 and by_name["helpful"]["observation_id"] == obs_id
    assert by_name["helpful"]["comment"] == "good"
    assert by_name["resolved"]["data_type"] == "BOOLEAN" and by_name["resolved"]["observation_id"] is None
    assert by_name["tone"]["string_value"] == "friendly"
    assert all(r["trace_id"] == trace_id for r in by_name.values())


async def test_otlp_json_export_and_score_delete(client, storage, project: ProjectFixture) -> None:
    body = {
        "resourceSpans": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "js-app"}}]},
                "scopeSpans": [
                    {
                        "scope": {"name": "langfuse-sdk", "version": "5.0.0"},
                        "spans": [
                            {
                                "traceId": "ab" * 16,
                                "spanId": "cd" * 8,
                                "name": "js-span",
                                "startTimeUnixNano": "1700000000000000000",
                                "endTimeUnixNano": 1700000000500000000,
                                "attributes": [
                                    {
                                        "key": "langfuse.observation.type",
                                        "value": {"stringValue": "generation"},
                                    },
                                    {
                                        "key": "langfuse.observation.model.name",
                                        "value": {"stringValue": "gpt-4o"},
                                    },
                                    {
                                        "key": "langfuse.observation.usage_details",
                                        "value": {"stringValue": '{"input": 4}'},
                                    },
                                    {
                                        "key": "langfuse.trace.tags",
                                        "value": {"arrayValue": {"values": [{"stringValue": "js"}]}},
                                    },
                                    {"key": "custom.count", "value": {"intValue": {"low": 5, "high": 0}}},
                                    {"key": "custom.ratio", "value": {"doubleValue": "NaN"}},
                                ],
                                "status": {"code": 2, "message": "boom"},
                            }
                        ],
                    }
                ],
            }
        ]
    }
    r = await client.post("/api/public/otel/v1/traces", json=body, auth=project.auth)
    assert (r.status_code, r.json()) == (200, {})
    await jobs_done(storage, project.project_id, 1)
    [row] = await rows(
        storage,
        "SELECT name, type, level, status_message, tags, usage_details, latency_ms FROM observations "
        "WHERE project_id = {project_id:String}",
        project.project_id,
    )
    assert (row["name"], row["type"], row["level"], row["status_message"]) == (
        "js-span",
        "GENERATION",
        "ERROR",
        "boom",
    )
    assert (
        row["tags"] == ["js"]
        and row["usage_details"] == {"input": 4, "total": 4}
        and row["latency_ms"] == 500.0
    )

    created = (
        await client.post(
            "/api/public/scores", json={"traceId": "ab" * 16, "name": "x", "value": 1}, auth=project.auth
        )
    ).json()
    await jobs_done(storage, project.project_id, 2)
    assert (await client.delete(f"/api/public/scores/{created['id']}", auth=project.auth)).status_code == 204
    assert (await client.delete(f"/api/public/scores/{created['id']}", auth=project.auth)).status_code == 404
    [score] = await rows(
        storage,
        "SELECT is_deleted FROM scores WHERE project_id = {project_id:String} ORDER BY event_ts DESC LIMIT 1",
        project.project_id,
    )
    assert score["is_deleted"] == 1


class _FakeOpenAI(BaseHTTPRequestHandler):
    """Speaks just enough of the OpenAI chat completions API."""

    def do_POST(self) -> None:
        request = json.loads(self.rfile.read(int(self.headers["content-length"])))
        message: dict = {"role": "assistant", "content": "Paris."}
        if request["messages"][-1]["role"] == "tool":
            message = {"role": "assistant", "content": "It is 18 degrees and sunny in Paris."}
        elif request.get("tools"):  # asked with tools: call one
            call = {"name": "get_weather", "arguments": '{"city": "Paris"}'}
            message = {
                "role": "assistant",
                "content": None,
                "tool_calls": [{"id": "call_w1", "type": "function", "function": call}],
            }
        reply = {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 1700000000,
            "model": request["model"],
            "choices": [{"index": 0, "finish_reason": "stop", "message": message}],
            "usage": {"prompt_tokens": 11, "completion_tokens": 2, "total_tokens": 13},
        }
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


async def test_openai_instrumentation_becomes_a_generation(
    live_server, storage, project: ProjectFixture
) -> None:
    fake = ThreadingHTTPServer(("127.0.0.1", 0), _FakeOpenAI)
    threading.Thread(target=fake.serve_forever, daemon=True).start()

    def call() -> None:
        import openai
        from openinference.instrumentation.openai import OpenAIInstrumentor

        provider = _otel_provider(live_server, project)
        instrumentor = OpenAIInstrumentor()
        instrumentor.instrument(tracer_provider=provider)
        try:
            client = openai.OpenAI(base_url=f"http://127.0.0.1:{fake.server_port}/v1", api_key="test")
            client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "Capital of France?"}]
            )
        finally:
            instrumentor.uninstrument()
            provider.shutdown()

    try:
        await asyncio.to_thread(call)
    finally:
        fake.shutdown()
    sql = (
        "SELECT type, provided_model_name, usage_details, input, output, total_cost FROM observations "
        "WHERE project_id = {project_id:String}"
    )

    async def one() -> list[dict] | None:
        found = await rows(storage, sql, project.project_id)
        return found or None

    [gen] = await wait_for(one)
    assert gen["type"] == "GENERATION" and gen["provided_model_name"].startswith("gpt-4o-mini")
    assert gen["usage_details"] == {"input": 11, "output": 2, "total": 13}
    assert "Capital of France?" in gen["input"] and "Paris." in gen["output"]
    assert gen["total_cost"] > 0  # priced from the built-in table


WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


async def test_openai_tool_calls_read_as_a_conversation(
    live_server, client, storage, project: ProjectFixture
) -> None:
    """An instrumented OpenAI tool-call round trip shows on the trace page as messages (roles, contents,
    the tool's name and arguments), not as the request and response JSON."""
    fake = ThreadingHTTPServer(("127.0.0.1", 0), _FakeOpenAI)
    threading.Thread(target=fake.serve_forever, daemon=True).start()

    def call() -> str:
        import openai
        from openinference.instrumentation.openai import OpenAIInstrumentor

        provider = _otel_provider(live_server, project)
        instrumentor = OpenAIInstrumentor()
        instrumentor.instrument(tracer_provider=provider)
        try:
            llm = openai.OpenAI(base_url=f"http://127.0.0.1:{fake.server_port}/v1", api_key="test")
            with provider.get_tracer("app").start_as_current_span("weather-agent") as root:
                messages: list = [
                    {"role": "system", "content": "You answer weather questions."},
                    {"role": "user", "content": "Weather in Paris?"},
                ]
                first = llm.chat.completions.create(
                    model="gpt-4o-mini", messages=messages, tools=[WEATHER_TOOL]
                )
                asked = first.choices[0].message
                assert asked.tool_calls
                messages += [
                    asked.model_dump(exclude_none=True),
                    {"role": "tool", "tool_call_id": asked.tool_calls[0].id, "content": "18C, sunny"},
                ]
                llm.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=[WEATHER_TOOL])
                return format(root.get_span_context().trace_id, "032x")
        finally:
            instrumentor.uninstrument()
            provider.shutdown()

    try:
        trace_id = await asyncio.to_thread(call)
    finally:
        fake.shutdown()
    sql = (
        "SELECT id, input, output FROM observations "
        "WHERE project_id = {project_id:String} AND type = 'GENERATION' ORDER BY start_time"
    )

    async def two() -> list[dict] | None:
        found = await rows(storage, sql, project.project_id)
        return found if len(found) == 2 else None

    first, second = await wait_for(two)
    assert '"messages"' in first["input"] and '"choices"' in first["output"]  # stored as sent

    email, password = await make_user(storage, project, Role.VIEWER)
    await login(client, email, password)
    try:
        page = (await client.get(f"/traces/{trace_id}", params={"obs": first["id"]})).text
        assert '<div class="msg role-system"><strong>system</strong>' in page
        assert "<pre>You answer weather questions.</pre>" in page and "<pre>Weather in Paris?</pre>" in page
        assert '<code class="tool-name">get_weather</code>' in page
        assert "&#34;city&#34;: &#34;Paris&#34;" in page  # the call's arguments
        assert "&#34;choices&#34;" not in page and "&#34;messages&#34;" not in page  # no raw JSON blob

        page = (await client.get(f"/traces/{trace_id}", params={"obs": second["id"]})).text
        assert (
            '<div class="msg role-tool"><strong>tool</strong> <span class="hint">result of call_w1</span>'
            in page
        )
        assert "<pre>18C, sunny</pre>" in page
        assert (
            '<div class="msg role-assistant"><strong>assistant</strong>'
            "<pre>It is 18 degrees and sunny in Paris.</pre>" in page
        )
    finally:
        client.cookies.clear()

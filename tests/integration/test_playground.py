"""The playground against a local fake provider: connections (keys encrypted), streamed runs, provider
errors, the trace each run records, roles, CSRF and escaping."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal

import pytest
from sqlalchemy import text

from app.auth.encryption import decrypt
from app.main import create_app
from app.playground import connections
from app.playground.prompts import PlaygroundHooks, PlaygroundPrompt, PlaygroundVersion, open_prompt
from app.storage.postgres.tables import Role
from app.tracing import model_catalog
from tests.conftest import LiveServer, ProjectFixture, csrf_token, login, make_user, wait_for
from tests.integration.fake_llm import API_KEY, COMPLETION_TOKENS, PROMPT_TOKENS, REPLY, FakeLlm, fake_llm

pytestmark = [pytest.mark.integration]
ANSWER = "".join(REPLY)


@pytest.fixture
def llm():  # type: ignore[no-untyped-def]
    with fake_llm() as fake:
        yield fake


async def as_role(client, storage, project: ProjectFixture, role: Role) -> None:  # type: ignore[no-untyped-def]
    await login(client, *await make_user(storage, project, role))


async def add_connection(client, llm: FakeLlm, **fields: str):  # type: ignore[no-untyped-def]
    token = csrf_token((await client.get("/settings/llm-connections")).text)
    form = {
        "name": "fake",
        "provider": "openai",
        "base_url": llm.base_url,
        "models": "fake-model, rate-limited, broken",
        "api_key": API_KEY,
        **fields,
        "_csrf_token": token,
    }
    return await client.post("/settings/llm-connections", data=form, follow_redirects=False)


async def graphql(client, query: str, **kwargs):  # type: ignore[no-untyped-def]
    r = await client.post("/api/graphql", json={"query": query}, **kwargs)
    assert r.status_code == 200, r.text
    return r.json()


def events(body: str) -> list[tuple[str, dict]]:
    """The server-sent events of a run: (event name, data)."""
    out = []
    for block in body.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.split("\n"))
        out.append((lines["event"], json.loads(lines["data"])))
    return out


async def run_form(client, connection_id: str, model: str = "fake-model", **fields: object) -> dict:  # type: ignore[no-untyped-def]
    page = await client.get("/playground")
    return {
        "_csrf_token": csrf_token(page.text),
        "target": f"{connection_id}:{model}",
        "mode": "chat",
        "msg_kind": ["message", "placeholder", "message"],
        "msg_role": ["system", "", "user"],
        "msg_content": ["You answer for {{company}}.", "history", "{{question}}"],
        "var:company": "Acme",
        "var:question": "Where is my parcel?",
        "ph:history": json.dumps([{"role": "user", "content": "Hi from {{company}}"}]),
        "temperature": "0.3",
        "max_tokens": "64",
        **fields,
    }


async def test_connections_keep_keys_encrypted_and_only_admins_manage_them(
    client, storage, project: ProjectFixture, llm: FakeLlm
) -> None:
    try:
        await as_role(client, storage, project, Role.ADMIN)
        page = await client.get("/settings/llm-connections")
        no_csrf = {"name": "x", "provider": "openai", "models": "m", "api_key": API_KEY}
        assert (await client.post("/settings/llm-connections", data=no_csrf)).status_code == 403
        assert (await add_connection(client, llm)).status_code == 302
        bad = await add_connection(client, llm, name="other", models=" , ")
        assert bad.status_code == 400 and 'id="models-error">Models must list' in bad.text
        assert 'value="other"' in bad.text  # what was typed is kept
        bad = await add_connection(client, llm, name="other", base_url="ftp://example.com")
        assert bad.status_code == 400 and 'id="base_url-error">Base URL must be an http(s) URL' in bad.text
        bad = await add_connection(client, llm, name="other", extra_headers="X-Team evals")
        assert bad.status_code == 400 and 'id="extra_headers-error">Extra headers: line 1 is not' in bad.text
        assert ">X-Team evals</textarea>" in bad.text
        bad = await add_connection(client, llm, name="other", extra_headers="Host: evil.example")
        assert (
            bad.status_code == 400 and "&#39;Host&#39; is not a header name a connection may set" in bad.text
        )
        assert (await add_connection(client, llm)).status_code == 409  # the same name again

        page = await client.get("/settings/llm-connections")
        assert API_KEY not in page.text and "…cdef" in page.text and llm.base_url in page.text
        async with storage.postgres.session() as s:
            rows = (
                (
                    await s.execute(
                        text("SELECT * FROM llm_connections WHERE project_id = :p"), {"p": project.project_id}
                    )
                )
                .mappings()
                .all()
            )
        assert len(rows) == 1 and API_KEY not in json.dumps([dict(r) for r in rows], default=str)
        assert decrypt(storage.settings, rows[0]["api_key_encrypted"]) == API_KEY
        assert rows[0]["extra_header_keys"] == [] and rows[0]["extra_headers_encrypted"] is None

        listed = await graphql(client, "{ llmConnections { id name provider models apiKeyHint baseUrl } }")
        [conn] = listed["data"]["llmConnections"]
        assert conn["provider"] == "OPENAI" and conn["apiKeyHint"] == "…cdef" and API_KEY not in str(listed)
        token = csrf_token(page.text)
        r = await client.post(
            f"/settings/llm-connections/{conn['id']}",
            data={
                "name": "renamed",
                "provider": "openai",
                "models": "a, b",
                "api_key": "",
                "_csrf_token": token,
            },
            follow_redirects=False,
        )
        assert r.status_code == 302
        [renamed] = (await graphql(client, "{ llmConnections { name models apiKeyHint } }"))["data"][
            "llmConnections"
        ]
        assert renamed == {"name": "renamed", "models": ["a", "b"], "apiKeyHint": "…cdef"}  # key kept
        updated = await graphql(
            client,
            f'mutation {{ updateLlmConnection(input: {{id: "{conn["id"]}", models: ["c"], '
            'apiKey: "sk-new-key-98765"}) { llmConnection { name models apiKeyHint } } }',
        )
        changed = updated["data"]["updateLlmConnection"]["llmConnection"]
        assert changed == {"name": "renamed", "models": ["c"], "apiKeyHint": "…8765"}
        # Extra headers: set (values encrypted, names shown), kept by an edit that leaves them blank,
        # removed with the box.
        page = await client.get("/settings/llm-connections")
        form = {"name": "renamed", "provider": "openai", "models": "c", "_csrf_token": csrf_token(page.text)}
        url = f"/settings/llm-connections/{conn['id']}"
        r = await client.post(url, data={**form, "extra_headers": "X-Team: evals\nX-Proxy-Token: p-secret-1"})
        assert r.status_code == 302
        page = await client.get("/settings/llm-connections")
        assert "X-Proxy-Token, X-Team" in page.text and "p-secret-1" not in page.text
        assert (await client.post(url, data=form)).status_code == 302
        keys = await graphql(client, "{ llmConnections { extraHeaderKeys } }")
        assert keys["data"]["llmConnections"] == [{"extraHeaderKeys": ["X-Proxy-Token", "X-Team"]}]
        endpoint = await connections.endpoint(storage, project.project_id, conn["id"])
        assert endpoint.extra_headers == {"X-Team": "evals", "X-Proxy-Token": "p-secret-1"}
        assert (await client.post(url, data={**form, "remove_headers": "1"})).status_code == 302
        assert (await connections.endpoint(storage, project.project_id, conn["id"])).extra_headers == {}

        created = await graphql(
            client,
            'mutation { createLlmConnection(input: {name: "claude", provider: ANTHROPIC, models: ["c-1"], '
            'apiKey: "sk-ant-secret-123456"}) { llmConnection { id baseUrl apiKeyHint } } }',
        )
        made = created["data"]["createLlmConnection"]["llmConnection"]
        assert made["baseUrl"] == "https://api.anthropic.com/v1" and made["apiKeyHint"] == "…3456"
        deleted = await graphql(
            client, f'mutation {{ deleteLlmConnection(input: {{id: "{made["id"]}"}}) {{ deletedId }} }}'
        )
        assert deleted["data"]["deleteLlmConnection"]["deletedId"] == made["id"]

        # API keys act as members: they read connections but cannot manage them.
        as_key = await graphql(
            client,
            'mutation { createLlmConnection(input: {name: "k", provider: OPENAI, models: ["m"], '
            'apiKey: "k"}) { llmConnection { id } } }',
            auth=project.auth,
        )
        assert "admin role" in as_key["errors"][0]["message"]

        await as_role(client, storage, project, Role.MEMBER)
        page = await client.get("/settings/llm-connections")
        assert page.status_code == 200 and "Add a connection" not in page.text
        r = await client.post(
            f"/settings/llm-connections/{conn['id']}/delete", data={"_csrf_token": csrf_token(page.text)}
        )
        assert r.status_code == 403
    finally:
        client.cookies.clear()


async def test_a_run_streams_the_answer_and_is_traced(
    live_server: LiveServer, client, storage, project: ProjectFixture, llm: FakeLlm
) -> None:
    try:
        await as_role(client, storage, project, Role.ADMIN)
        await add_connection(client, llm, extra_headers="X-Team: evals")
        await model_catalog.create(
            storage,
            project.project_id,
            model_catalog.ModelSpec(
                model_name="fake-model",
                match_pattern="^fake-model$",
                prices={"input": Decimal("0.001"), "output": Decimal("0.002")},
            ),
        )
        conn_id = (await graphql(client, "{ llmConnections { id } }"))["data"]["llmConnections"][0]["id"]
        await as_role(client, storage, project, Role.MEMBER)  # members run prompts
        form = await run_form(client, conn_id, prompt_name="support", prompt_version="2")
        r = await client.post("/playground/run", data=form)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        assert "<b>" not in r.text  # model output travels JSON-escaped
        got = events(r.text)
        assert [name for name, _ in got] == ["delta"] * len(REPLY) + ["done"]
        assert "".join(d["text"] for _, d in got[:-1]) == ANSWER
        done = got[-1][1]
        total = PROMPT_TOKENS + COMPLETION_TOKENS
        assert done["usage"] == {"input": PROMPT_TOKENS, "output": COMPLETION_TOKENS, "total": total}
        expected_cost = Decimal("0.001") * PROMPT_TOKENS + Decimal("0.002") * COMPLETION_TOKENS
        assert Decimal(done["cost"]) == expected_cost and done["error"] is None
        assert done["latencyMs"] >= 0 and done["timeToFirstTokenMs"] is not None

        [sent] = llm.requests
        assert (
            sent["path"] == "/v1/chat/completions" and sent["headers"]["authorization"] == f"Bearer {API_KEY}"
        )
        assert sent["headers"]["x-team"] == "evals"  # the connection's extra header
        body = sent["body"]
        assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
        assert (body["model"], body["temperature"], body["max_tokens"]) == ("fake-model", 0.3, 64)
        assert body["messages"] == [
            {"role": "system", "content": "You answer for Acme."},
            {"role": "user", "content": "Hi from Acme"},
            {"role": "user", "content": "Where is my parcel?"},
        ]

        def read_generations() -> list:
            from langfuse import Langfuse

            lf = Langfuse(
                public_key=project.public_key, secret_key=project.secret_key, base_url=live_server.base_url
            )
            try:
                return lf.api.observations.get_many(
                    trace_id=done["traceId"],
                    fields="core,basic,io,model,usage,prompt,trace_context,metadata",
                    parse_io_as_json=True,
                ).data
            finally:
                lf.shutdown()

        async def traced() -> list:
            return await asyncio.to_thread(read_generations)

        [gen] = await wait_for(traced)
        assert gen.type == "GENERATION" and gen.model == "fake-model" and gen.output == ANSWER
        assert gen.input == body["messages"] and gen.usage_details == done["usage"]
        assert Decimal(str(gen.total_cost)) == expected_cost
        assert gen.model_parameters == {"temperature": 0.3, "max_tokens": 64}
        assert gen.metadata["source"] == "playground"
        assert (gen.trace_name, gen.tags) == ("playground", ["playground"])
        assert (gen.name, gen.prompt_name, gen.prompt_version) == ("support", "support", 2)
        page = await client.get(f"/traces/{done['traceId']}")
        assert page.status_code == 200 and "fake-model" in page.text
        assert "<b>world</b>" not in page.text  # escaped on the trace page too
    finally:
        client.cookies.clear()


@pytest.mark.parametrize(
    ("model", "api_key", "message"),
    [
        ("rate-limited", API_KEY, "openai answered 429: Rate limit reached for requests"),
        ("broken", API_KEY, "openai answered 500: The server had an error"),
        ("fake-model", "sk-wrong-key-000000", "openai answered 401: Incorrect API key provided"),
    ],
)
async def test_provider_errors_reach_the_user(
    client, storage, project: ProjectFixture, llm: FakeLlm, model: str, api_key: str, message: str
) -> None:
    try:
        await as_role(client, storage, project, Role.ADMIN)
        await add_connection(client, llm, api_key=api_key)
        conn_id = (await graphql(client, "{ llmConnections { id } }"))["data"]["llmConnections"][0]["id"]
        r = await client.post("/playground/run", data=await run_form(client, conn_id, model))
        assert r.status_code == 200
        [(name, done)] = events(r.text)
        assert name == "done" and done["error"] == message and done["usage"] == {}
    finally:
        client.cookies.clear()


async def test_unreachable_provider_bad_input_viewers_and_csrf(
    client, storage, project: ProjectFixture, llm: FakeLlm
) -> None:
    try:
        await as_role(client, storage, project, Role.ADMIN)
        await add_connection(client, llm, base_url="http://127.0.0.1:9/v1")  # nothing listens on port 9
        conn_id = (await graphql(client, "{ llmConnections { id } }"))["data"]["llmConnections"][0]["id"]
        r = await client.post("/playground/run", data=await run_form(client, conn_id))
        [(_, done)] = events(r.text)
        assert done["error"].startswith("cannot connect to http://127.0.0.1:9/v1")

        r = await client.post("/playground/run", data=await run_form(client, conn_id, "unknown-model"))
        assert r.status_code == 400 and "target: model 'unknown-model'" in r.json()["message"]
        r = await client.post(
            "/playground/run", data=await run_form(client, conn_id, **{"ph:history": "[1]"})
        )
        assert r.status_code == 400 and r.json()["message"].startswith("placeholder 'history'[0]")
        r = await client.post("/playground/run", data=await run_form(client, conn_id, temperature="9"))
        assert r.status_code == 400 and r.json()["message"] == "temperature must be between 0 and 2"
        r = await client.post("/playground/run", data=await run_form(client, "nope"))
        assert r.status_code == 404
        form = await run_form(client, conn_id)
        del form["_csrf_token"]
        assert (await client.post("/playground/run", data=form)).status_code == 403

        await as_role(client, storage, project, Role.VIEWER)
        page = await client.get("/playground")
        assert page.status_code == 200 and "Viewers cannot run prompts" in page.text
        r = await client.post("/playground/run", data=await run_form(client, conn_id))
        assert r.status_code == 403 and "member role" in r.json()["message"]
        assert llm.requests == []
    finally:
        client.cookies.clear()


async def test_inputs_follow_the_prompt_and_escape_names(client, storage, project: ProjectFixture) -> None:
    try:
        await as_role(client, storage, project, Role.MEMBER)
        token = csrf_token((await client.get("/playground")).text)
        r = await client.post(
            "/playground/inputs",
            data={
                "_csrf_token": token,
                "mode": "chat",
                "msg_kind": ["message", "placeholder"],
                "msg_role": ["user", ""],
                "msg_content": ['{{city}} {{"><script>x</script>}}', "turns"],
                "var:city": "Oslo",
            },
        )
        assert r.status_code == 200
        assert 'name="var:city" value="Oslo"' in r.text and 'name="ph:turns"' in r.text
        assert "<script>x</script>" not in r.text and "&lt;script&gt;" in r.text
    finally:
        client.cookies.clear()


async def test_prompt_pages_open_prompts_and_save_versions_through_the_hooks(
    settings, storage, jobs, project: ProjectFixture
) -> None:
    import httpx

    saved: list[tuple[str, PlaygroundVersion]] = []

    async def load(
        _storage, project_id: str, name: str, version: int | None, label: str | None
    ) -> PlaygroundPrompt | None:  # type: ignore[no-untyped-def]
        if name != "support":
            return None
        return open_prompt(
            "chat",
            [{"role": "system", "content": "Be {{tone}}"}, {"type": "placeholder", "name": "history"}],
            {"model": "gpt-4o", "temperature": 0.1},
            name,
            version or 2,
        )

    async def save(_storage, caller, new: PlaygroundVersion) -> int:  # type: ignore[no-untyped-def]
        saved.append((caller.project_id, new))
        return 3

    app = create_app(settings, storage, PlaygroundHooks(load_prompt=load, save_version=save), jobs)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t.local") as c:
        await login(c, *await make_user(storage, project, Role.MEMBER))
        page = await c.get("/playground", params={"prompt": "support", "version": 2})
        assert (
            "Be {{tone}}" in page.text and 'name="var:tone"' in page.text and 'name="ph:history"' in page.text
        )
        assert 'value="0.1"' in page.text and "opened from version 2" in page.text
        missing = await c.get("/playground", params={"prompt": "nope"})
        assert "Prompt &#39;nope&#39; could not be opened here." in missing.text
        r = await c.post(
            "/playground/save",
            data={
                "_csrf_token": csrf_token(page.text),
                "mode": "text",
                "text": "Summarise {{doc}}",
                "temperature": "0.7",
                "prompt_name": "support",
                "prompt_version": "2",
            },
        )
        assert r.status_code == 200 and "Saved as version 3 of &#39;support&#39;." in r.text
    [(project_id, new)] = saved
    assert project_id == project.project_id
    assert (new.name, new.type, new.prompt, new.config, new.based_on_version) == (
        "support",
        "text",
        "Summarise {{doc}}",
        {"temperature": 0.7},
        2,
    )


async def test_without_hooks_the_save_button_is_disabled(
    settings, storage, jobs, project: ProjectFixture
) -> None:
    import httpx

    app = create_app(settings, storage, PlaygroundHooks(), jobs)  # prompt storage switched off
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t.local") as client:
        await as_role(client, storage, project, Role.MEMBER)
        page = await client.get("/playground", params={"prompt": "support"})
        assert "Saving prompt versions is not available" in page.text
        assert 'id="save-version" disabled' in page.text and "could not be opened here" in page.text
        r = await client.post(
            "/playground/save", data={"_csrf_token": csrf_token(page.text), "mode": "text", "text": "x"}
        )
        assert r.status_code == 400
        opened = await client.post(
            "/playground",
            data={
                "_csrf_token": csrf_token(page.text),
                "prompt_type": "chat",
                "prompt": json.dumps([{"role": "user", "content": "</textarea><b>{{x}}</b>"}]),
                "config": '{"max_tokens": 10}',
                "prompt_name": "p",
                "prompt_version": "1",
            },
        )
        assert opened.status_code == 200 and "&lt;/textarea&gt;&lt;b&gt;{{x}}&lt;/b&gt;" in opened.text
        assert 'name="max_tokens" inputmode="numeric" size="7" value="10"' in opened.text
        bad = await client.post(
            "/playground",
            data={"_csrf_token": csrf_token(page.text), "prompt_type": "chat", "prompt": "{oops"},
        )
        assert (
            bad.status_code == 400
            and 'id="form-error" tabindex="-1" autofocus>Prompt must be JSON' in bad.text
        )


async def test_anthropic_connection_streams_through_the_messages_api(
    client, storage, project: ProjectFixture, llm: FakeLlm
) -> None:
    try:
        await as_role(client, storage, project, Role.ADMIN)
        assert (await add_connection(client, llm, provider="anthropic")).status_code == 302
        conn_id = (await graphql(client, "{ llmConnections { id } }"))["data"]["llmConnections"][0]["id"]
        form = await run_form(client, conn_id, max_tokens="")
        got = events((await client.post("/playground/run", data=form)).text)
        assert "".join(d["text"] for name, d in got if name == "delta") == ANSWER
        assert got[-1][1]["usage"] == {"input": 12, "output": 5, "total": 17}
        [sent] = llm.requests
        assert sent["path"] == "/v1/messages" and sent["headers"]["x-api-key"] == API_KEY
        assert sent["headers"]["anthropic-version"] == "2023-06-01"
        body = sent["body"]
        assert body["system"] == "You answer for Acme." and body["max_tokens"] == 1024
        assert [m["role"] for m in body["messages"]] == ["user", "user"]
    finally:
        client.cookies.clear()

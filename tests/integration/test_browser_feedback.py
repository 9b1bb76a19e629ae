"""Browser feedback over HTTP: CORS on /api/public only, a public key alone (Bearer) may send new API scores
to the batch API and nothing else (per-event 403), is rate-limited per key and address, and can read
nothing; Basic auth is unchanged."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import httpx
import pytest

from app.api.cors import ALLOWED_HEADERS
from app.auth.keys import revoke_api_key
from app.jobs.contracts import JobQueue
from app.main import create_app
from app.settings import Settings
from app.storage import Storage
from tests.conftest import ProjectFixture, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("worker")]

ORIGIN = "https://shop.example"
# What LangfuseWeb 3.x sends with every request (app.api.cors.ALLOWED_HEADERS must cover them).
SDK_HEADERS = {
    "Content-Type": "application/json",
    "X-Langfuse-Sdk-Name": "langfuse-js",
    "X-Langfuse-Sdk-Version": "3.39.2",
    "X-Langfuse-Sdk-Variant": "langfuse-frontend",
    "X-Langfuse-Sdk-Integration": "DEFAULT",
}


def bearer(p: ProjectFixture) -> dict[str, str]:
    return {**SDK_HEADERS, "X-Langfuse-Public-Key": p.public_key, "Authorization": f"Bearer {p.public_key}"}


def event(kind: str, body: dict, event_id: str | None = None) -> dict:
    return {
        "id": event_id or str(uuid.uuid4()),
        "type": kind,
        "timestamp": datetime.now(UTC).isoformat(),
        "body": body,
    }


def score(trace_id: str = "t-1", **extra: object) -> dict:
    return event(
        "score-create",
        {"id": str(uuid.uuid4()), "traceId": trace_id, "name": "user-feedback", "value": 1, **extra},
    )


def preflight(origin: str = ORIGIN) -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": ",".join(h.lower() for h in [*SDK_HEADERS, "authorization"]),
    }


async def stored_scores(client: httpx.AsyncClient, p: ProjectFixture, trace_id: str) -> list[dict]:
    r = await client.get("/api/public/v2/scores", params={"traceId": trace_id}, auth=p.auth)
    assert r.status_code == 200, r.text
    data: list[dict] = r.json()["data"]
    return data


TUNED = {
    "public_key_events_per_minute": 3,
    "public_key_events_per_minute_per_key": 5,
    "cors_allowed_origins": f"{ORIGIN}/, https://Other.example",
}


@asynccontextmanager
async def tuned_client(
    settings: Settings, storage: Storage, jobs: JobQueue, address: str
) -> AsyncIterator[httpx.AsyncClient]:
    """A client at `address` of an app with small public-key limits (3 events a minute per address, 5
    per key) and an origin allowlist, on the test stores."""
    tuned = settings.model_copy(update=TUNED)
    app = create_app(tuned, dataclasses.replace(storage, settings=tuned), jobs=jobs)
    transport = httpx.ASGITransport(app=app, client=(address, 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as c:
        yield c


async def test_a_preflight_of_the_public_api_is_answered_before_routing_and_auth(client) -> None:
    for path in ("/api/public/ingestion", "/api/public/traces/abc", "/api/public/no-such-route"):
        r = await client.options(path, headers=preflight())
        assert r.status_code == 204, (path, r.text)
        assert r.headers["access-control-allow-origin"] == "*"
        assert r.headers["access-control-allow-methods"] == "GET, POST, PUT, PATCH, DELETE, OPTIONS"
        allowed = {h.strip() for h in r.headers["access-control-allow-headers"].split(",")}
        assert {h.lower() for h in [*SDK_HEADERS, "Authorization", "X-Langfuse-Public-Key"]} <= allowed
        assert allowed == set(ALLOWED_HEADERS)
        assert r.headers["access-control-max-age"] == "600"
        assert "Origin" in r.headers["vary"]
        assert "access-control-allow-credentials" not in r.headers


async def test_graphql_and_the_ui_get_no_cors(client) -> None:
    for path in ("/api/graphql", "/login", "/"):
        r = await client.options(path, headers=preflight())
        assert "access-control-allow-origin" not in r.headers, path
        r = await client.get(path, headers={"Origin": ORIGIN})
        assert "access-control-allow-origin" not in r.headers, path


async def test_answers_of_the_public_api_carry_cors_headers(client, project: ProjectFixture) -> None:
    headers = {**bearer(project), "Origin": ORIGIN}
    answers = {
        207: await client.post("/api/public/ingestion", json={"batch": [score()]}, headers=headers),
        401: await client.get("/api/public/traces", headers=headers),
        404: await client.get("/api/public/no-such-route", headers={"Origin": ORIGIN}, auth=project.auth),
        400: await client.post("/api/public/ingestion", content=b"{", headers=headers),
    }
    for status, r in answers.items():
        assert r.status_code == status, r.text
        assert r.headers["access-control-allow-origin"] == "*", status
        assert r.headers["access-control-expose-headers"] == "retry-after", status
        assert "access-control-allow-credentials" not in r.headers


async def test_a_public_key_alone_stores_a_score_with_source_api(client, project: ProjectFixture) -> None:
    trace_id = f"t-{uuid.uuid4().hex[:8]}"
    sent = score(trace_id, value=0, dataType="BOOLEAN", comment="not helpful")
    r = await client.post(
        "/api/public/ingestion",
        json={"batch": [sent], "metadata": {"sdk_name": "langfuse-js"}},
        headers=bearer(project),
    )
    assert r.status_code == 207
    assert r.json() == {"successes": [{"id": sent["id"], "status": 201}], "errors": []}
    [stored] = await wait_for(lambda: stored_scores(client, project, trace_id))
    assert stored["id"] == sent["body"]["id"]
    assert stored["source"] == "API" and stored["dataType"] == "BOOLEAN" and stored["value"] == 0
    assert stored["comment"] == "not helpful"


async def test_a_public_key_alone_may_send_nothing_but_new_api_scores(
    client, project: ProjectFixture
) -> None:
    trace_id = f"t-{uuid.uuid4().hex[:8]}"
    existing = score(trace_id, source="EVAL", name="judge", value=0.9)
    r = await client.post("/api/public/ingestion", json={"batch": [existing]}, auth=project.auth)
    assert r.json()["successes"] == [{"id": existing["id"], "status": 201}]
    await wait_for(lambda: stored_scores(client, project, trace_id))

    good = score(trace_id)
    refused = {
        "trace": event("trace-create", {"id": trace_id, "name": "forged"}),
        "span": event("span-create", {"id": "s-1", "traceId": trace_id}),
        "log": event("sdk-log", {"log": "x"}),
        "eval": score(trace_id, source="EVAL"),
        "annotation": score(trace_id, source="ANNOTATION"),
        "queue": score(trace_id, queueId="q-1"),
        # Rewriting a stored score (here a judge's) by its id.
        "rewrite": event("score-create", {**existing["body"], "source": "API", "value": 0}),
    }
    batch = [good, *refused.values()]
    r = await client.post("/api/public/ingestion", json={"batch": batch}, headers=bearer(project))
    assert r.status_code == 207
    assert r.json()["successes"] == [{"id": good["id"], "status": 201}]
    errors = {e["id"]: e for e in r.json()["errors"]}
    assert set(errors) == {e["id"] for e in refused.values()}
    assert {e["status"] for e in errors.values()} == {403}
    assert {e["error"] for e in errors.values()} == {"forbidden"}
    assert "may only send score-create events, not trace-create" in errors[refused["trace"]["id"]]["message"]
    assert "body.source" in errors[refused["eval"]["id"]]["message"]
    assert "body.queueId" in errors[refused["queue"]["id"]]["message"]
    assert "body.id" in errors[refused["rewrite"]["id"]]["message"]

    async def both() -> list[dict] | None:
        found = await stored_scores(client, project, trace_id)
        return found if len(found) == 2 else None

    stored = {s["id"]: s for s in await wait_for(both)}
    assert (
        stored[existing["body"]["id"]]["source"] == "EVAL" and stored[existing["body"]["id"]]["value"] == 0.9
    )
    assert stored[good["body"]["id"]]["source"] == "API"
    r = await client.get("/api/public/traces", params={"name": "forged"}, auth=project.auth)
    assert r.json()["data"] == []


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/public/traces"),
        ("GET", "/api/public/traces/t-1"),
        ("GET", "/api/public/v2/scores"),
        ("GET", "/api/public/observations"),
        ("GET", "/api/public/sessions"),
        ("GET", "/api/public/projects"),
        ("GET", "/api/public/v2/prompts"),
        ("GET", "/api/public/score-configs"),
        ("GET", "/api/public/metrics/daily"),
        ("POST", "/api/public/scores"),
        ("POST", "/api/public/otel/v1/traces"),
        ("POST", "/api/public/media"),
        ("GET", "/api/public/annotation-queues"),
        ("POST", "/api/public/annotation-queues"),
    ],
)
async def test_a_public_key_alone_reads_nothing_and_writes_nowhere_else(
    client, project: ProjectFixture, method: str, path: str
) -> None:
    r = await client.request(method, path, headers=bearer(project), json={})
    assert r.status_code == 401, r.text
    assert "a public key alone (Bearer) may only send scores" in r.json()["message"]
    assert r.json()["error"] == "unauthorized"


async def test_graphql_refuses_a_public_key_alone(client, project: ProjectFixture) -> None:
    query = {"query": "{ viewer { project { id } } }"}
    r = await client.post("/api/graphql", json=query, headers=bearer(project))
    assert r.status_code == 401
    assert "Unsupported authorization scheme" in r.json()["message"]


async def test_an_unknown_or_revoked_public_key_is_refused(client, storage: Storage, project) -> None:
    batch = {"batch": [score()]}
    unknown = {**bearer(project), "Authorization": "Bearer pk-lh-no-such-key"}
    r = await client.post("/api/public/ingestion", json=batch, headers=unknown)
    assert r.status_code == 401 and "Invalid credentials" in r.json()["message"]
    for header in ("Bearer", "Bearer ", f"Bearer {'x' * 300}"):
        r = await client.post("/api/public/ingestion", json=batch, headers={"Authorization": header})
        assert r.status_code == 401 and "Bearer" in r.json()["message"]
    assert (
        await client.post("/api/public/ingestion", json=batch, headers=bearer(project))
    ).status_code == 207
    await revoke_api_key(storage, project.project_id, project.public_key)
    r = await client.post("/api/public/ingestion", json=batch, headers=bearer(project))
    assert r.status_code == 401


async def test_public_key_events_are_rate_limited_per_address_and_per_key(
    settings: Settings, storage: Storage, jobs: JobQueue, project: ProjectFixture
) -> None:
    headers = {**bearer(project), "Origin": ORIGIN}
    async with tuned_client(settings, storage, jobs, "10.1.1.1") as c:
        r = await c.post("/api/public/ingestion", json={"batch": [score(), score()]}, headers=headers)
        assert r.status_code == 207 and len(r.json()["successes"]) == 2
        r = await c.post("/api/public/ingestion", json={"batch": [score()]}, headers=headers)
        assert r.status_code == 207
        r = await c.post("/api/public/ingestion", json={"batch": [score()]}, headers=headers)  # a 4th event
        assert r.status_code == 429, r.text
        assert r.json()["error"] == "too_many_requests" and "from your address" in r.json()["message"]
        assert 0 < int(r.headers["retry-after"]) <= 60
        assert r.headers["access-control-allow-origin"] == ORIGIN
        assert r.headers["access-control-expose-headers"] == "retry-after"
        # Basic auth from the same address is not limited by it.
        batch = {"batch": [score()]}
        r = await c.post("/api/public/ingestion", json=batch, headers={"Origin": ORIGIN}, auth=project.auth)
        assert r.status_code == 207 and r.json()["errors"] == []
    # Another address has its own 3 a minute, until the key's 5 are used up.
    async with tuned_client(settings, storage, jobs, "10.2.2.2") as c:
        r = await c.post("/api/public/ingestion", json={"batch": [score()]}, headers=headers)
        assert r.status_code == 207 and len(r.json()["successes"]) == 1
        r = await c.post("/api/public/ingestion", json={"batch": [score(), score()]}, headers=headers)
        assert r.status_code == 429 and "for this public key" in r.json()["message"]


async def test_an_origin_allowlist(settings: Settings, storage: Storage, jobs: JobQueue) -> None:
    async with tuned_client(settings, storage, jobs, "10.3.3.3") as c:
        for origin in (ORIGIN, "https://other.example"):
            r = await c.options("/api/public/ingestion", headers=preflight(origin))
            assert r.status_code == 204
            assert r.headers["access-control-allow-origin"] == origin
            assert "Origin" in r.headers["vary"]
            r = await c.get("/api/public/health", headers={"Origin": origin})
            assert r.headers["access-control-allow-origin"] == origin
        r = await c.options("/api/public/ingestion", headers=preflight("https://evil.example"))
        assert r.status_code == 403 and "https://evil.example" in r.json()["message"]
        assert "access-control-allow-origin" not in r.headers
        r = await c.get("/api/public/health", headers={"Origin": "https://evil.example"})
        assert r.status_code == 200
        assert "access-control-allow-origin" not in r.headers and "Origin" in r.headers["vary"]


async def test_basic_auth_is_unchanged(client, project: ProjectFixture) -> None:
    trace_id = f"t-{uuid.uuid4().hex[:8]}"
    batch = [event("trace-create", {"id": trace_id, "name": "chat"}), score(trace_id, source="EVAL")]
    r = await client.post("/api/public/ingestion", json={"batch": batch}, auth=project.auth)
    assert r.status_code == 207 and r.json()["errors"] == []
    [stored] = await wait_for(lambda: stored_scores(client, project, trace_id))
    assert stored["source"] == "EVAL"
    assert (await client.get("/api/public/traces", auth=project.auth)).status_code == 200


@pytest.mark.parametrize(("trusted", "limited"), [("127.0.0.1", False), ("10.9.9.9", True)])
async def test_the_address_behind_a_trusted_proxy_has_its_own_limit(
    settings: Settings, storage: Storage, jobs: JobQueue, project: ProjectFixture, trusted: str, limited: bool
) -> None:
    """Through the real HTTP server: two browsers behind a proxy on 127.0.0.1 each get 3 events a
    minute when that proxy is trusted; when it is not, their X-Forwarded-For is ignored and they share."""
    import asyncio
    import contextlib

    import uvicorn

    from app.serve import http_config
    from tests.conftest import free_port

    tuned = settings.model_copy(update={**TUNED, "port": free_port(), "forwarded_allow_ips": trusted})
    config = http_config(create_app(tuned, dataclasses.replace(storage, settings=tuned), jobs=jobs), tuned)
    config.lifespan = "off"  # the test's stores are open already
    server = uvicorn.Server(config)
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{tuned.port}") as c:
            codes = []
            for browser in ("203.0.113.1", "203.0.113.1", "203.0.113.1", "203.0.113.2"):
                headers = {**bearer(project), "X-Forwarded-For": browser}
                r = await c.post("/api/public/ingestion", json={"batch": [score()]}, headers=headers)
                codes.append(r.status_code)
    finally:
        server.should_exit = True
        await serving
    assert codes == [207, 207, 207, 429 if limited else 207]

"""The embedded Redis and Postgres killed under a running `langhouse serve`: the server answers 503 with
Retry-After (never 500) and names the store while it is down, restarts it, and works again after. A
Postgres orphaned by a killed server is stopped, not kept running forever."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psutil
import pytest
from langfuse import Langfuse

from tests.conftest import free_port
from tests.integration.test_ingest_otlp import PB, export
from tests.integration.test_serve import (
    Server,
    alive,
    gone,
    processes_using,
    start,
    stop,
    wait_healthy,
    workdir,  # noqa: F401
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

KEYS = ("pk-lh-outage", "sk-lh-outage")
ENV = {
    "LANGHOUSE_INIT_ORG_NAME": "o",
    "LANGHOUSE_INIT_PROJECT_NAME": "p",
    "LANGHOUSE_INIT_PROJECT_PUBLIC_KEY": KEYS[0],
    "LANGHOUSE_INIT_PROJECT_SECRET_KEY": KEYS[1],
}
VIEWER = {"query": "{ viewer { project { id } } }"}


@pytest.fixture
def serve(workdir: Path) -> Iterator[Callable[[], Server]]:  # noqa: F811
    """Start `langhouse serve` on `workdir/data`; a server a failed test left running is killed after it."""
    started: list[Server] = []

    def run() -> Server:
        server = start(workdir / "data", free_port(), workdir / "serve.log", **ENV)
        started.append(server)
        wait_healthy(server)
        return server

    yield run
    for server in started:
        if server.process.poll() is None:  # else its supervisor would restart what `workdir` kills
            server.process.kill()
            server.process.wait(30)


def redis_pid(server: Server) -> int:
    [child] = [p for p in psutil.Process(server.process.pid).children() if p.name() == "redis-server"]
    return child.pid


def postmaster_pid(data: Path) -> int:
    return int((data / "postgres" / "postmaster.pid").read_text().splitlines()[0])


def kill(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)
    assert not gone({pid}, timeout_s=10)


def assert_unavailable(r: httpx.Response, store: str) -> None:
    assert r.status_code == 503, (r.status_code, r.text)
    assert int(r.headers["retry-after"]) > 0
    assert r.json() == {
        "message": f"{store} is unavailable right now; retry in a few seconds",
        "error": "store_unavailable",
    }


def until(check: Callable[[], bool], timeout_s: float, what: str, server: Server) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"{what} not within {timeout_s} s:\n{server.output()}"
        time.sleep(0.2)


def recovered(c: httpx.Client, store: str, statuses: list[int]) -> bool:
    """Health says OK again; every answer on the way was 200 or 503, never a 500."""
    health = c.get("/api/public/health")
    statuses.append(health.status_code)
    body = health.json()
    if body["status"] != "OK":
        assert body["status"] == "DEGRADED" and body["stores"][store] == "down", body
        return False
    projects = c.get("/api/public/projects")
    statuses.append(projects.status_code)
    return projects.status_code == 200


def stored_after_recovery(c: httpx.Client, trace_hex: str, server: Server) -> None:
    """An OTLP export sent now is acknowledged and then readable: the job worker survived the outage."""
    r = c.post("/api/public/otel/v1/traces", content=export(trace_hex, 3), headers=PB)
    assert r.status_code == 200, r.text
    until(lambda: c.get(f"/api/public/traces/{trace_hex}").status_code == 200, 60, "trace stored", server)
    assert len(c.get(f"/api/public/traces/{trace_hex}").json()["observations"]) == 3


def test_killed_redis_answers_503_then_is_restarted(workdir: Path, serve: Callable[[], Server]) -> None:  # noqa: F811
    data = workdir / "data"
    server = serve()
    with httpx.Client(base_url=server.base_url, auth=KEYS, timeout=10) as c:
        assert (
            c.post("/api/public/otel/v1/traces", content=export("aa" * 16, 2), headers=PB).status_code == 200
        )
        sdk = Langfuse(
            public_key=KEYS[0], secret_key=KEYS[1], base_url=server.base_url, tracing_enabled=False
        )
        old = redis_pid(server)
        kill(old)

        # Down: the supervisor waits a second before restarting it, so these all see it down.
        assert_unavailable(c.get("/api/public/projects"), "redis")
        assert_unavailable(
            c.post("/api/public/otel/v1/traces", content=export("bb" * 16, 2), headers=PB), "redis"
        )
        assert_unavailable(c.post("/api/graphql", json=VIEWER), "redis")
        health = c.get("/api/public/health")
        assert health.status_code == 200
        assert health.json()["status"] == "DEGRADED" and health.json()["stores"] == {
            "postgres": "up",
            "redis": "down",
        }
        sdk_health = sdk.api.health.health()  # the SDK's model accepts the answer
        strict = c.get("/api/public/health", params={"failIfDatabaseUnavailable": "true"})
        assert strict.status_code == 503 and strict.json()["stores"]["redis"] == "down"
        assert strict.headers["retry-after"]
        page = httpx.get(f"{server.base_url}/login", follow_redirects=False)  # no store: still served
        assert page.status_code == 200
        ui = httpx.get(f"{server.base_url}/", cookies={"lh_session": "x"}, follow_redirects=False)
        assert ui.status_code == 503 and ui.headers["retry-after"]

        sdk.shutdown()
        assert sdk_health.status == "DEGRADED"

        statuses: list[int] = []
        until(lambda: recovered(c, "redis", statuses), 30, "Redis back", server)
        assert set(statuses) <= {200, 503}, statuses
        assert redis_pid(server) != old
        assert c.post("/api/graphql", json=VIEWER).json()["data"]["viewer"]["project"]["id"]
        stored_after_recovery(c, "cc" * 16, server)
    out = server.output()
    assert "embedded redis died" in out and "embedded redis restarted" in out
    stop(server)
    assert processes_using(data) == []


def test_killed_postgres_answers_503_then_is_restarted(workdir: Path, serve: Callable[[], Server]) -> None:  # noqa: F811
    data = workdir / "data"
    server = serve()
    with httpx.Client(base_url=server.base_url, auth=KEYS, timeout=10) as c:
        assert c.get("/api/public/projects").status_code == 200  # the key is cached in Redis now
        old = postmaster_pid(data)
        kill(old)

        assert_unavailable(c.get("/api/public/projects"), "postgres")
        assert_unavailable(c.post("/api/graphql", json=VIEWER), "postgres")  # raised in a resolver
        health = c.get("/api/public/health").json()
        assert health["status"] == "DEGRADED" and health["stores"] == {"postgres": "down", "redis": "up"}
        strict = c.get("/api/public/health", params={"failIfDatabaseUnavailable": "true"})
        assert strict.status_code == 503 and "postgres" in strict.json()["message"]

        statuses: list[int] = []
        until(lambda: recovered(c, "postgres", statuses), 45, "Postgres back", server)
        assert set(statuses) <= {200, 503}, statuses
        assert postmaster_pid(data) != old
        stored_after_recovery(c, "dd" * 16, server)
    out = server.output()
    assert "embedded postgres died" in out and "embedded postgres restarted" in out
    pid = postmaster_pid(data)
    stop(server)
    assert not alive(pid)
    assert processes_using(data) == []


def test_postgres_orphaned_by_a_killed_server_is_stopped_on_the_next_run(
    workdir: Path,  # noqa: F811
    serve: Callable[[], Server],
) -> None:
    data = workdir / "data"
    server = serve()
    orphan = postmaster_pid(data)
    server.process.send_signal(signal.SIGKILL)  # no shutdown at all: Postgres (detached) keeps running
    server.process.wait(30)
    assert alive(orphan)

    server = serve()
    with httpx.Client(base_url=server.base_url, auth=KEYS, timeout=10) as c:
        assert c.get("/api/public/projects").status_code == 200
    assert not alive(orphan)  # stopped, and a fresh one started by this run
    current = postmaster_pid(data)
    stop(server)
    assert not gone({current}), processes_using(data)
    assert processes_using(data) == []

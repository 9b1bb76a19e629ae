"""Shared fixtures: real stores (embedded by default, servers when LANGHOUSE_*_URL are set)."""

from __future__ import annotations

import os
import re
import secrets
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.auth import accounts as domain
from app.auth.keys import issue_api_key
from app.jobs.contracts import JobQueue, open_job_queue
from app.main import create_app
from app.settings import Settings
from app.storage import Storage, open_storage
from app.storage.postgres import accounts
from app.storage.postgres.tables import Role

# The newest Alembic revision (version files are numbered like their revision ids).
POSTGRES_HEAD = sorted((Path(__file__).parents[1] / "sql" / "postgres" / "versions").glob("[0-9]*.py"))[
    -1
].name[:4]
CSRF_INPUT = re.compile(r'name="_csrf_token" value="([^"]+)"')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("langhouse-data")


@pytest.fixture(scope="session")
def settings(data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir, secret_key="test-secret-key", ingest_retry_base_seconds=0.01)


@pytest.fixture(scope="session")
async def storage(settings: Settings) -> AsyncIterator[Storage]:
    async with open_storage(settings) as store:
        await store.migrate()
        yield store


@pytest.fixture(scope="session")
async def jobs(storage: Storage) -> AsyncIterator[JobQueue]:
    """The job queue on the test stores' Redis (the app gets it injected, as in production)."""
    async with open_job_queue(storage) as queue:
        yield queue


@pytest.fixture(scope="session")
async def client(settings: Settings, storage: Storage, jobs: JobQueue) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the app on the test loop; the test session owns the stores."""
    transport = httpx.ASGITransport(app=create_app(settings, storage, jobs=jobs))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as c:
        yield c


@dataclass
class ProjectFixture:
    """A fresh organization + project + API key: one per test, so tenancy doubles as isolation."""

    org_id: str
    org_name: str
    project_id: str
    public_key: str
    secret_key: str

    @property
    def auth(self) -> tuple[str, str]:
        return (self.public_key, self.secret_key)


async def make_project(storage: Storage) -> ProjectFixture:
    suffix = secrets.token_hex(4)
    org = await domain.ensure_organization(storage, f"org-{suffix}")
    project = await domain.ensure_project(storage, org, f"project-{suffix}")
    issued = await issue_api_key(storage, project.id, "test")
    return ProjectFixture(org.id, org.name, project.id, issued.key.public_key, issued.secret_key)


@pytest.fixture
async def project(storage: Storage) -> ProjectFixture:
    return await make_project(storage)


async def make_user(storage: Storage, p: ProjectFixture, role: Role) -> tuple[str, str]:
    """A user with `role` in the project's organization; returns (email, password)."""
    email, password = f"{role.value}-{secrets.token_hex(4)}@example.com", "correct horse battery"
    org = await accounts.find_organization(storage.postgres, p.org_name)
    assert org is not None
    await domain.create_user(storage, email, password, org, role)
    return email, password


async def login(c: httpx.AsyncClient, email: str, password: str) -> None:
    """Log a test client in through the real form (CSRF token included)."""
    c.cookies.clear()
    page = await c.get("/login")
    token = CSRF_INPUT.search(page.text)
    assert token, "login form has no CSRF token"
    r = await c.post(
        "/login",
        data={"email": email, "password": password, "_csrf_token": token[1], "next": "/"},
        follow_redirects=False,
    )
    assert r.status_code == 302, r.text


def csrf_token(html: str) -> str:
    found = CSRF_INPUT.search(html)
    assert found, "page has no CSRF token"
    return found[1]


@pytest.fixture
def services_env() -> Iterator[dict[str, str]]:
    """The LANGHOUSE_* service URLs of this run (empty in embedded mode)."""
    yield {k: v for k, v in os.environ.items() if k.startswith("LANGHOUSE_") and k.endswith("_URL")}


@dataclass
class LiveServer:
    base_url: str


@contextmanager
def sdk_client(server: LiveServer, project: ProjectFixture) -> Iterator[Any]:
    """A Python SDK client of the project on the live server, shut down (flushing) after the block."""
    from langfuse import Langfuse

    lf = Langfuse(public_key=project.public_key, secret_key=project.secret_key, base_url=server.base_url)
    try:
        yield lf
    finally:
        lf.shutdown()


@pytest.fixture(scope="session")
async def worker(storage: Storage) -> AsyncIterator[None]:
    """The arq worker, in-process on the test loop, consuming the queue for the whole session."""
    import asyncio
    import contextlib

    from app.jobs.worker import build_worker

    w = build_worker(storage, handle_signals=False)
    task = asyncio.create_task(w.async_run())
    yield
    await w.close()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


@pytest.fixture(scope="session")
async def live_server(
    settings: Settings, storage: Storage, jobs: JobQueue, worker: None
) -> AsyncIterator[LiveServer]:
    """The app on a real port (plus the worker), on the test loop; sync clients call it from threads."""
    import asyncio
    import contextlib

    import uvicorn

    port = free_port()
    config = uvicorn.Config(
        create_app(settings, storage, jobs=jobs), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    yield LiveServer(f"http://127.0.0.1:{port}")
    server.should_exit = True
    await serving


async def wait_for(fn, timeout_s: float = 30, interval_s: float = 0.1):  # type: ignore[no-untyped-def]
    """Poll `await fn()` until it returns a truthy value; fail after `timeout_s`."""
    import asyncio
    import time

    deadline = time.monotonic() + timeout_s
    while True:
        value = await fn()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met in {timeout_s} s (last value {value!r})")
        await asyncio.sleep(interval_s)


async def assert_aggregates_match_raw(storage: Storage, project_id: str) -> dict[str, object]:
    """The materialised views' totals equal the same totals computed from the raw observation rows."""
    import asyncio
    import time

    from app.storage.clickhouse.query import CompiledQuery

    raw_sql = (
        "SELECT sum(sign) AS observations, sum(sign * (level = 'ERROR')) AS errors, "
        "sumMap(mapApply((k, v) -> (toString(k), toInt64(v) * sign), usage_details)) AS usage, "
        "sum(toDecimal128(ifNull(total_cost, 0), 12) * sign) AS total_cost "
        "FROM observations WHERE project_id = {project_id:String}"
    )
    # The views' distinct trace counts cannot drop a deleted trace, so the metrics layer never reads
    # them (distinct counts come from the raw rows); the sums below are what it reads.
    mv_sql = (
        "SELECT sum(observations) AS observations, sum(errors) AS errors, sumMap(usage) AS usage, "
        "sum(total_cost) AS total_cost "
        "FROM observations_hourly WHERE project_id = {project_id:String}"
    )
    # Each observation is counted once under its user and once under its trace name.
    by_dimension_sql = (
        "SELECT dimension, sum(observations) AS observations, sum(errors) AS errors, "
        "sumMap(usage) AS usage, sum(total_cost) AS total_cost "
        "FROM observations_by_dimension_hourly WHERE project_id = {project_id:String} GROUP BY dimension"
    )
    params = {"project_id": project_id}

    def clean(row: dict) -> dict:  # zero entries stay in summed maps until merged away
        return {k: ({m: n for m, n in v.items() if n} if isinstance(v, dict) else v) for k, v in row.items()}

    # An insert's rows can be readable in the table a moment before its views' rows (no atomicity across
    # tables within one insert): read again briefly before comparing.
    deadline = time.monotonic() + 10
    while True:
        [raw] = await storage.clickhouse.query(CompiledQuery(raw_sql, params, "test.raw"))
        [mv] = await storage.clickhouse.query(CompiledQuery(mv_sql, params, "test.mv"))
        by_dimension = await storage.clickhouse.query(CompiledQuery(by_dimension_sql, params, "test.dims"))
        dims = {r.pop("dimension"): clean(r) for r in by_dimension}
        if (clean(mv), dims) == (clean(raw), {"user": clean(raw), "trace_name": clean(raw)}):
            break
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    assert clean(mv) == clean(raw)
    assert dims == {"user": clean(raw), "trace_name": clean(raw)}
    traces_sql = (
        "SELECT uniqExactIf(trace_id, sign > 0) AS traces "
        "FROM observations WHERE project_id = {project_id:String}"
    )
    [traces] = await storage.clickhouse.query(CompiledQuery(traces_sql, params, "test.traces"))
    return {**clean(raw), **traces}


async def jobs_done(storage: Storage, project_id: str, n: int, timeout_s: float = 30) -> None:
    """Wait until `n` ingestion jobs of the project have finished (their arq results exist)."""
    import redis.asyncio as aioredis

    async def count() -> bool:
        r = aioredis.Redis.from_url(storage.redis_url)
        try:
            return len([k async for k in r.scan_iter(match=f"arq:result:ingest/*/{project_id}/*")]) >= n
        finally:
            await r.aclose()

    await wait_for(count, timeout_s)

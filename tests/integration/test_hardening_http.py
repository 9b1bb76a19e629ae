"""Security headers on every response, and throttling of failed API-key (Basic auth) attempts."""

from __future__ import annotations

import base64
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from app.auth.keys import authenticate_basic
from app.jobs.contracts import JobQueue
from app.main import create_app
from app.settings import Settings
from app.storage import Storage
from tests.conftest import ProjectFixture

pytestmark = pytest.mark.integration

HEADERS = {
    "x-frame-options": "DENY",
    "content-security-policy": "frame-ancestors 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "strict-origin-when-cross-origin",
}


async def test_every_kind_of_response_carries_the_security_headers(client, project: ProjectFixture) -> None:
    client.cookies.clear()
    responses = [
        await client.get("/login"),  # a UI page
        await client.get("/", follow_redirects=False),  # a redirect to the login
        await client.get("/api/public/health"),
        await client.get("/api/public/traces", auth=project.auth),
        await client.get("/api/public/traces"),  # 401
        await client.get("/api/public/nope", auth=project.auth),  # no route
        await client.get("/static/app.css"),
        await client.post("/api/graphql", json={"query": "{ viewer { role } }"}, auth=project.auth),
    ]
    for r in responses:
        for name, value in HEADERS.items():
            assert r.headers.get(name) == value, (r.request.url, r.status_code, name, r.headers)


@pytest.fixture
def low_limits(storage: Storage) -> Iterator[Settings]:
    """Small throttle limits for one test (the limits are read from the stores' settings)."""
    s = storage.settings
    saved = (s.api_auth_max_failures, s.api_auth_max_failures_per_ip)
    s.api_auth_max_failures, s.api_auth_max_failures_per_ip = 3, 6
    yield s
    s.api_auth_max_failures, s.api_auth_max_failures_per_ip = saved


@pytest.fixture
async def remote(settings: Settings, storage: Storage, jobs: JobQueue) -> AsyncIterator[httpx.AsyncClient]:
    """A client from an address of its own, so its failures are counted apart from other tests'."""
    address = f"203.0.113.{int(time.time() * 1000) % 250 + 1}"
    transport = httpx.ASGITransport(app=create_app(settings, storage, jobs=jobs), client=(address, 4321))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as c:
        yield c


async def test_failed_basic_auth_is_throttled_per_key_then_per_address(
    remote: httpx.AsyncClient, storage: Storage, project: ProjectFixture, low_limits: Settings
) -> None:
    wrong = (project.public_key, "sk-lh-wrong")
    for _ in range(3):
        assert (await remote.get("/api/public/projects", auth=wrong)).status_code == 401
    blocked = await remote.get("/api/public/projects", auth=wrong)
    assert blocked.status_code == 429, blocked.text
    assert "Too many failed authentications for this public key" in blocked.json()["message"]
    assert blocked.json()["error"] == "too_many_requests"
    assert 0 < int(blocked.headers["retry-after"]) <= storage.settings.api_auth_block_seconds
    # The right secret still works at once: successes are never throttled or slowed.
    assert (await remote.get("/api/public/projects", auth=project.auth)).status_code == 200
    # GraphQL with Basic auth counts the same way.
    r = await remote.post("/api/graphql", json={"query": "{ viewer { role } }"}, auth=wrong)
    assert "Too many failed authentications" in r.text

    # Unknown public keys from one address: refused before Postgres is asked, once the address is spent.
    statuses = [
        (await remote.get("/api/public/projects", auth=(f"pk-lh-unknown-{i}", "sk"))).status_code
        for i in range(4)
    ]
    assert statuses[-1] == 429 and 401 in statuses, statuses
    r = await remote.get("/api/public/projects", auth=("pk-lh-never-seen", "sk"))
    assert r.status_code == 429 and "from your address" in r.json()["message"]
    # Another address is not affected.
    header = "Basic " + base64.b64encode(b"pk-lh-never-seen:sk").decode()
    with pytest.raises(Exception, match="Invalid credentials"):
        await authenticate_basic(storage, header, "198.51.100.7")


async def test_a_cached_key_check_stays_one_cache_read(
    storage: Storage, project: ProjectFixture, monkeypatch
) -> None:
    header = "Basic " + base64.b64encode(f"{project.public_key}:{project.secret_key}".encode()).decode()
    await authenticate_basic(storage, header, "192.0.2.1")  # fills the cache
    calls: list[str] = []
    for name in ("get", "counter", "incr", "set", "delete"):
        real = getattr(storage.cache, name)

        async def spy(*args, _name=name, _real=real, **kwargs):  # type: ignore[no-untyped-def]
            calls.append(_name)
            return await _real(*args, **kwargs)

        monkeypatch.setattr(storage.cache, name, spy)
    await authenticate_basic(storage, header, "192.0.2.1")
    assert calls == ["get"]

"""API-key authentication and tenancy over HTTP, REST and GraphQL."""

from __future__ import annotations

import base64

import pytest

from app.auth.keys import revoke_api_key
from app.storage import Storage
from tests.conftest import ProjectFixture, make_project

pytestmark = pytest.mark.integration

VIEWER = {"query": "{ viewer { project { id name organization { id name } } role authMethod } }"}


def basic(raw: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(raw.encode()).decode()}


async def test_health_needs_no_key_and_reports_version(client) -> None:
    r = await client.get("/api/public/health")
    assert r.status_code == 200
    assert r.json()["status"] == "OK" and r.json()["version"]
    r = await client.get("/api/public/health", params={"failIfDatabaseUnavailable": "true"})
    assert r.status_code == 200


async def test_projects_returns_exactly_the_keys_project(client, project: ProjectFixture) -> None:
    r = await client.get("/api/public/projects", auth=project.auth)
    assert r.status_code == 200
    [item] = r.json()["data"]
    assert item["id"] == project.project_id
    assert item["organization"] == {"id": project.org_id, "name": project.org_name}
    assert item["metadata"] == {}


@pytest.mark.parametrize(
    ("headers", "needle"),
    [
        ({}, "No authorization header"),
        ({"Authorization": "Basic !!!not-base64"}, "not valid base64"),
        ({"Authorization": "Bearer abc"}, "Unsupported authorization scheme"),
        (basic("no-colon-here"), "expected 'publicKey:secretKey'"),
        (basic("pk-lh-unknown:sk-lh-whatever"), "Invalid credentials"),
    ],
)
@pytest.mark.parametrize("path", ["/api/public/projects", "/api/graphql"])
async def test_bad_credentials_get_401_json(client, headers, needle, path) -> None:
    r = (
        await client.post(path, json=VIEWER, headers=headers)
        if path.endswith("graphql")
        else await client.get(path, headers=headers)
    )
    assert r.status_code == 401
    assert needle in r.json()["message"]
    assert r.json()["error"] == "unauthorized"


async def test_wrong_secret_is_401_even_when_key_is_cached(client, project: ProjectFixture) -> None:
    assert (await client.get("/api/public/projects", auth=project.auth)).status_code == 200  # now cached
    r = await client.get("/api/public/projects", auth=(project.public_key, project.secret_key + "x"))
    assert r.status_code == 401


async def test_revoked_key_is_refused_at_once(client, storage: Storage, project: ProjectFixture) -> None:
    assert (await client.get("/api/public/projects", auth=project.auth)).status_code == 200  # now cached
    await revoke_api_key(storage, project.project_id, project.public_key)
    for path in ("/api/public/projects",):
        assert (await client.get(path, auth=project.auth)).status_code == 401
    assert (await client.post("/api/graphql", json=VIEWER, auth=project.auth)).status_code == 401


async def test_a_key_never_sees_another_project(client, storage: Storage, project: ProjectFixture) -> None:
    other = await make_project(storage)
    for p, q in ((project, other), (other, project)):
        rest = (await client.get("/api/public/projects", auth=p.auth)).json()["data"]
        assert [d["id"] for d in rest] == [p.project_id]
        gql = (await client.post("/api/graphql", json=VIEWER, auth=p.auth)).json()["data"]["viewer"]
        assert gql["project"]["id"] == p.project_id != q.project_id
        assert gql["authMethod"] == "API_KEY"


async def test_revoking_needs_the_keys_own_project(storage: Storage, project: ProjectFixture) -> None:
    other = await make_project(storage)
    from app.errors import NotFound

    with pytest.raises(NotFound):
        await revoke_api_key(storage, other.project_id, project.public_key)


async def test_unknown_routes_and_methods_answer_json(client) -> None:
    r = await client.get("/api/public/does-not-exist")
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    r = await client.delete("/api/public/health")
    assert r.status_code == 405 and r.json()["error"] == "method_not_allowed"


async def test_oversized_body_is_413(client, settings, project: ProjectFixture) -> None:
    big = "x" * (settings.max_request_bytes + 10)
    r = await client.post(
        "/api/graphql", content=big, auth=project.auth, headers={"content-type": "application/json"}
    )
    assert r.status_code == 413


async def test_a_new_key_replaces_a_stale_cache_entry(storage: Storage, project: ProjectFixture) -> None:
    """A cache that outlived its database must not send a re-created key to the old project."""
    from app.auth.keys import _cache_key, authenticate_basic, issue_api_key

    public, secret = f"pk-lf-stale-{project.project_id}", "sk-lf-stale-secret"
    stale = {"key_id": "gone", "project_id": "gone", "organization_id": "gone", "secret_hash": "x"}
    await storage.cache.set(_cache_key(public), stale, 300)
    await issue_api_key(storage, project.project_id, None, public, secret)
    caller = await authenticate_basic(
        storage, "Basic " + base64.b64encode(f"{public}:{secret}".encode()).decode(), "127.0.0.1"
    )
    assert caller.project_id == project.project_id


async def test_a_revoke_racing_a_cache_fill_still_wins(
    storage: Storage, project: ProjectFixture, monkeypatch
) -> None:
    """Request A reads the key from Postgres, the key is revoked, then A writes its (stale) cache entry:
    the tombstone left by the revoke makes A drop the entry, so the key is refused from then on."""
    from app.auth import keys

    header = "Basic " + base64.b64encode(f"{project.public_key}:{project.secret_key}".encode()).decode()
    real_set = storage.cache.set
    revoked = False

    async def set_after_revoke(key: str, value: dict, ttl: int) -> None:
        nonlocal revoked
        if key == keys._cache_key(project.public_key) and not revoked:
            revoked = True
            await revoke_api_key(storage, project.project_id, project.public_key)
        await real_set(key, value, ttl)

    monkeypatch.setattr(storage.cache, "set", set_after_revoke)
    with pytest.raises(keys.Unauthorized):
        await keys.authenticate_basic(storage, header, "127.0.0.1")
    monkeypatch.undo()
    assert revoked
    assert await storage.cache.get(keys._cache_key(project.public_key)) is None
    with pytest.raises(keys.Unauthorized):
        await keys.authenticate_basic(storage, header, "127.0.0.1")

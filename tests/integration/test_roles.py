"""Sessions and roles: login, CSRF, and role checks on every UI and GraphQL mutation."""

from __future__ import annotations

import pytest

from app.storage import Storage
from app.storage.postgres.tables import Role
from tests.conftest import ProjectFixture, csrf_token, login, make_user

pytestmark = pytest.mark.integration

CREATE_KEY = {"query": 'mutation { createApiKey(input: {note: "ci"}) { secretKey apiKey { publicKey } } }'}
VIEWER = {"query": "{ viewer { project { id } role authMethod userEmail } }"}


async def test_login_rejects_a_wrong_password(client, storage: Storage, project: ProjectFixture) -> None:
    email, _ = await make_user(storage, project, Role.ADMIN)
    page = await client.get("/login")
    r = await client.post(
        "/login", data={"email": email, "password": "nope-nope", "_csrf_token": csrf_token(page.text)}
    )
    assert r.status_code == 401
    assert "Wrong email or password" in r.text
    assert "lh_session" not in client.cookies


async def test_login_without_csrf_token_is_refused(client, storage: Storage, project: ProjectFixture) -> None:
    email, password = await make_user(storage, project, Role.ADMIN)
    client.cookies.clear()
    r = await client.post("/login", data={"email": email, "password": password})
    assert r.status_code == 403
    assert "lh_session" not in client.cookies


async def test_session_cookie_is_httponly_and_samesite(
    client, storage: Storage, project: ProjectFixture
) -> None:
    email, password = await make_user(storage, project, Role.MEMBER)
    page = await client.get("/login")
    r = await client.post(
        "/login",
        data={"email": email, "password": password, "_csrf_token": csrf_token(page.text)},
        follow_redirects=False,
    )
    cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith("lh_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie


async def test_home_page_needs_a_session_and_shows_the_project(client, storage: Storage, project) -> None:
    client.cookies.clear()
    r = await client.get("/", follow_redirects=False)
    assert r.status_code == 302 and r.headers["location"].startswith("/login")
    email, password = await make_user(storage, project, Role.VIEWER)
    await login(client, email, password)
    r = await client.get("/")
    assert r.status_code == 200
    assert project.project_id in r.text and email in r.text


async def test_logout_ends_the_session(client, storage: Storage, project: ProjectFixture) -> None:
    email, password = await make_user(storage, project, Role.MEMBER)
    await login(client, email, password)
    home = await client.get("/")
    token = client.cookies["lh_session"]
    r = await client.post("/logout", data={"_csrf_token": csrf_token(home.text)}, follow_redirects=False)
    assert r.status_code == 302
    client.cookies.set("lh_session", token)  # replaying the old cookie must not work
    assert (await client.get("/", follow_redirects=False)).status_code == 302


@pytest.mark.parametrize("role", [Role.VIEWER, Role.MEMBER])
async def test_non_admins_cannot_mutate_in_graphql_or_ui(
    client, storage: Storage, project, role: Role
) -> None:
    email, password = await make_user(storage, project, role)
    await login(client, email, password)
    viewer = (await client.post("/api/graphql", json=VIEWER)).json()["data"]["viewer"]
    assert viewer == {
        "project": {"id": project.project_id},
        "role": role.name,
        "authMethod": "SESSION",
        "userEmail": email,
    }
    r = (await client.post("/api/graphql", json=CREATE_KEY)).json()
    assert r["data"] is None
    assert f"needs the admin role in the project; you have {role.value}" in r["errors"][0]["message"]
    home = await client.get("/")
    r = await client.post("/settings/api-keys", data={"note": "x", "_csrf_token": csrf_token(home.text)})
    assert r.status_code == 403
    assert (await client.get("/settings/api-keys")).status_code == 403
    r = await client.post(
        "/settings/api-keys/revoke",
        data={"public_key": project.public_key, "_csrf_token": csrf_token(home.text)},
    )
    assert r.status_code == 403
    assert (await client.get("/api/public/projects", auth=project.auth)).status_code == 200  # key still works


async def test_admin_creates_and_revokes_keys_in_ui_and_graphql(client, storage: Storage, project) -> None:
    email, password = await make_user(storage, project, Role.ADMIN)
    await login(client, email, password)
    page = await client.get("/settings/api-keys")
    assert page.status_code == 200 and project.public_key in page.text
    r = await client.post(
        "/settings/api-keys", data={"note": "<b>ui</b>", "_csrf_token": csrf_token(page.text)}
    )
    assert r.status_code == 200
    assert "&lt;b&gt;ui&lt;/b&gt;" in r.text and "<b>ui</b>" not in r.text  # escaped
    import re

    secret = re.search(r'id="new-secret-key">(sk-lh-[0-9a-f]+)<', r.text)
    public = re.search(r'id="new-public-key">(pk-lh-[0-9a-f]+)<', r.text)
    assert secret and public
    assert (await client.get("/api/public/projects", auth=(public[1], secret[1]))).status_code == 200
    again = await client.get("/settings/api-keys")
    assert secret[1] not in again.text  # shown once only

    gql = (await client.post("/api/graphql", json=CREATE_KEY)).json()["data"]["createApiKey"]
    assert gql["secretKey"].startswith("sk-lh-")
    revoke = {
        "query": "mutation($k: String!) { revokeApiKey(input: {publicKey: $k}) { apiKey { revokedAt } } }",
        "variables": {"k": gql["apiKey"]["publicKey"]},
    }
    assert (await client.post("/api/graphql", json=revoke)).json()["data"]["revokeApiKey"]["apiKey"][
        "revokedAt"
    ]
    assert (
        await client.get("/api/public/projects", auth=(gql["apiKey"]["publicKey"], gql["secretKey"]))
    ).status_code == 401

    r = await client.post(
        "/settings/api-keys/revoke",
        data={"public_key": public[1], "_csrf_token": csrf_token(again.text)},
        follow_redirects=False,
    )
    assert r.status_code == 302
    assert (await client.get("/api/public/projects", auth=(public[1], secret[1]))).status_code == 401


async def test_session_graphql_must_be_json(client, storage: Storage, project: ProjectFixture) -> None:
    email, password = await make_user(storage, project, Role.ADMIN)
    await login(client, email, password)
    r = await client.post("/api/graphql", data={"query": "{ viewer { role } }"})
    assert r.status_code == 401


async def test_api_keys_are_members_not_admins(client, project: ProjectFixture) -> None:
    client.cookies.clear()
    r = (await client.post("/api/graphql", json=CREATE_KEY, auth=project.auth)).json()
    assert "needs the admin role" in r["errors"][0]["message"]


async def test_project_switch_needs_access(client, storage: Storage, project: ProjectFixture) -> None:
    from tests.conftest import make_project

    other = await make_project(storage)
    email, password = await make_user(storage, project, Role.OWNER)
    await login(client, email, password)
    home = await client.get("/")
    r = await client.post(
        "/projects/switch", data={"project_id": other.project_id, "_csrf_token": csrf_token(home.text)}
    )
    assert r.status_code == 403
    viewer = (await client.post("/api/graphql", json=VIEWER)).json()["data"]["viewer"]
    assert viewer["project"]["id"] == project.project_id


async def test_graphql_limits_and_error_shapes(client, project: ProjectFixture) -> None:
    client.cookies.clear()
    aliases = " ".join(f"a{i}: viewer {{ role }}" for i in range(40))
    r = (await client.post("/api/graphql", json={"query": "{ " + aliases + " }"}, auth=project.auth)).json()
    assert "aliases" in r["errors"][0]["message"].lower()
    r = (await client.post("/api/graphql", json={"query": "{ nope }"}, auth=project.auth)).json()
    assert "Cannot query field 'nope'" in r["errors"][0]["message"]


async def test_graphiql_page_is_served_to_browsers(client, storage: Storage, project: ProjectFixture) -> None:
    html = {"accept": "text/html,application/xhtml+xml"}
    client.cookies.clear()
    # Logged out, a browser goes to the login page, which brings it back; API calls still answer 401 JSON.
    r = await client.get("/api/graphql", headers=html, follow_redirects=False)
    assert r.status_code == 302 and r.headers["location"] == "/login?next=%2Fapi%2Fgraphql"
    r = await client.post("/api/graphql", json=VIEWER)
    assert r.status_code == 401 and r.json()["error"] == "unauthorized"
    r = await client.get("/api/graphql", params={"query": "{ viewer { role } }"})
    assert r.status_code == 401 and r.json()["error"] == "unauthorized"
    # With Basic auth (an API client that accepts HTML) the page is served as before.
    assert (await client.get("/api/graphql", headers=html, auth=project.auth)).status_code == 200

    email, password = await make_user(storage, project, Role.VIEWER)
    await login(client, email, password)
    r = await client.get("/api/graphql", headers=html, follow_redirects=False)
    assert r.status_code == 200 and "/static/vendor/graphiql.min.js" in r.text
    assert '<a href="/" id="back-to-app">' in r.text  # the way back to the app
    assert "https://" not in r.text  # no CDN
    for asset in (
        "graphiql.min.js",
        "graphiql.min.css",
        "react.production.min.js",
        "react-dom.production.min.js",
    ):
        assert (await client.get(f"/static/vendor/{asset}")).status_code == 200


async def test_a_user_without_projects_gets_a_clear_403_not_a_login_loop(client, storage: Storage) -> None:
    from app.auth import accounts as domain
    from app.storage.postgres.tables import Role as R

    email = f"lonely-{id(client)}-{__import__('secrets').token_hex(3)}@example.com"
    await domain.create_user(storage, email, "lonely-password", None, R.MEMBER)
    await login(client, email, "lonely-password")
    r = await client.get("/", follow_redirects=False)
    assert r.status_code == 403
    assert "not a member of any project" in r.text


async def test_login_redirects_back_to_the_page_asked_for(client) -> None:
    client.cookies.clear()
    r = await client.get("/settings/api-keys", params={"tab": "a b"}, follow_redirects=False)
    assert r.status_code == 302
    assert r.headers["location"] == "/login?next=%2Fsettings%2Fapi-keys%3Ftab%3Da%2Bb"


async def _try_login(c, email: str, password: str):  # type: ignore[no-untyped-def]
    page = await c.get("/login")
    data = {"email": email, "password": password, "_csrf_token": csrf_token(page.text)}
    return await c.post("/login", data=data, follow_redirects=False)


async def test_repeated_failed_logins_for_one_email_are_blocked(
    client, storage: Storage, project: ProjectFixture
) -> None:
    email, password = await make_user(storage, project, Role.MEMBER)
    client.cookies.clear()
    for _ in range(storage.settings.login_max_failures):
        assert (await _try_login(client, email, "wrong password")).status_code == 401
    blocked = await _try_login(client, email, password)  # even the right password waits now
    assert blocked.status_code == 429 and "Too many failed logins for this email" in blocked.text
    assert 0 < int(blocked.headers["retry-after"]) <= storage.settings.login_block_seconds
    assert "lh_session" not in client.cookies
    other, other_password = await make_user(storage, project, Role.MEMBER)
    assert (await _try_login(client, other, other_password)).status_code == 302  # others are not blocked
    client.cookies.clear()


async def test_repeated_failed_logins_from_one_address_are_blocked(
    settings, storage: Storage, jobs, project: ProjectFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    import secrets

    import httpx

    from app.main import create_app

    monkeypatch.setattr(
        storage, "settings", storage.settings.model_copy(update={"login_max_failures_per_ip": 3})
    )
    app = create_app(settings, storage, jobs=jobs)

    def from_address(ip: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(ip, 40000))
        return httpx.AsyncClient(transport=transport, base_url="http://testserver.local")

    email, password = await make_user(storage, project, Role.MEMBER)

    def address() -> str:  # unique per run: counters outlive a run when Redis is a server
        return f"2001:db8::{secrets.token_hex(2)}:{secrets.token_hex(2)}"

    async with from_address(address()) as spray, from_address(address()) as other:
        for i in range(3):  # a different email each time: only the address adds up
            assert (await _try_login(spray, f"guess-{i}@example.com", "password1")).status_code == 401
        blocked = await _try_login(spray, email, password)
        assert blocked.status_code == 429 and "Too many failed logins from your address" in blocked.text
        assert (await _try_login(other, email, password)).status_code == 302


async def _org_role(storage: Storage, p: ProjectFixture, email: str) -> Role | None:
    from app.storage.postgres import accounts

    user = await accounts.find_user(storage.postgres, email)
    assert user is not None
    return await accounts.fetch_organization_role(storage.postgres, user.id, p.org_id)


async def test_an_admin_cannot_demote_or_reset_an_owner(client, storage: Storage, project) -> None:
    from app.storage.postgres import accounts

    owner_email, _ = await make_user(storage, project, Role.OWNER)
    admin_email, admin_password = await make_user(storage, project, Role.ADMIN)
    await login(client, admin_email, admin_password)
    token = csrf_token((await client.get("/settings/members")).text)
    for scope in ("organization", "project"):
        form = {"email": owner_email, "role": "viewer", "scope": scope, "_csrf_token": token}
        r = await client.post("/settings/members", data=form)
        assert r.status_code == 403 and "Only an owner can change an owner" in r.text, r.text
        assert 'role="alert"' in r.text and owner_email in r.text  # the members page, with the reason
    assert await _org_role(storage, project, owner_email) == Role.OWNER
    owner = await accounts.find_user(storage.postgres, owner_email)
    assert owner is not None
    await accounts.set_membership(storage.postgres, owner.id, project.org_id, Role.OWNER, project.project_id)
    r = await client.post(f"/settings/members/{owner.id}/remove-project-role", data={"_csrf_token": token})
    assert r.status_code == 403 and "Only an owner" in r.text
    assert "Use organization role" in (await client.get("/settings/members")).text  # override kept


async def test_owners_make_owners_and_the_last_owner_keeps_the_role(
    client, storage: Storage, project
) -> None:
    first_email, first_password = await make_user(storage, project, Role.OWNER)
    second_email, second_password = await make_user(storage, project, Role.ADMIN)
    await login(client, first_email, first_password)
    token = csrf_token((await client.get("/settings/members")).text)
    form = {"role": "owner", "scope": "organization", "_csrf_token": token}
    r = await client.post("/settings/members", data={**form, "email": second_email}, follow_redirects=False)
    assert r.status_code == 302
    assert await _org_role(storage, project, second_email) == Role.OWNER
    form["role"] = "admin"  # two owners: one may step down
    r = await client.post("/settings/members", data={**form, "email": first_email}, follow_redirects=False)
    assert r.status_code == 302
    assert await _org_role(storage, project, first_email) == Role.ADMIN

    await login(client, second_email, second_password)
    token = csrf_token((await client.get("/settings/members")).text)
    for scope in ("organization", "project"):
        form = {"email": second_email, "role": "viewer", "scope": scope, "_csrf_token": token}
        r = await client.post("/settings/members", data=form)
        assert r.status_code == 400 and "last owner" in r.text, r.text
    assert await _org_role(storage, project, second_email) == Role.OWNER
    assert "Use organization role" not in (await client.get("/settings/members")).text

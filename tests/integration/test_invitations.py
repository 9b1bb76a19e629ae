"""Invitations: invite → accept → log in with the role; used, expired, revoked and unknown links fail
clearly; only admins invite, never above their own role."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from app.storage import Storage
from app.storage.postgres import accounts
from app.storage.postgres.tables import Invitation, Role, utcnow
from tests.conftest import ProjectFixture, csrf_token, login, make_user

pytestmark = pytest.mark.integration
LINK = re.compile(r'id="invite-link">https?://[^/]+/invite/([^<]+)</code>')


async def _invite(client, email: str, role: str = "member", scope: str = "project") -> str:  # type: ignore[no-untyped-def]
    """Invite through the admin page; return the link's token."""
    page = await client.get("/settings/invitations")
    r = await client.post(
        "/settings/invitations",
        data={"email": email, "role": role, "scope": scope, "_csrf_token": csrf_token(page.text)},
    )
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    found = LINK.search(r.text)
    assert found, r.text
    return found[1]


async def _accept(client, token: str, **form: str):  # type: ignore[no-untyped-def]
    client.cookies.clear()
    page = await client.get(f"/invite/{token}")
    csrf = csrf_token(page.text) if page.status_code == 200 else csrf_token((await client.get("/login")).text)
    return await client.post(f"/invite/{token}", data={**form, "_csrf_token": csrf}, follow_redirects=False)


@pytest.fixture
async def admin(client, storage: Storage, project: ProjectFixture):  # type: ignore[no-untyped-def]
    email, password = await make_user(storage, project, Role.ADMIN)
    await login(client, email, password)
    yield email, password
    client.cookies.clear()


async def test_invite_accept_then_log_in_with_the_role(client, admin, project: ProjectFixture) -> None:
    email = "new-person@example.com".replace("new", f"new-{project.project_id[:8]}")
    token = await _invite(client, email.upper())
    pending = await client.get("/settings/invitations")
    assert email in pending.text and LINK.search(pending.text) is None  # the link is shown once
    client.cookies.clear()
    page = await client.get(f"/invite/{token}")
    assert page.status_code == 200 and "Create account and accept" in page.text and email in page.text
    r = await _accept(client, token, name="New Person", password="a long password")
    assert r.status_code == 302 and r.headers["location"] == "/"
    home = await client.get("/")
    assert home.status_code == 200 and project.project_id in home.text and f"{email} · member" in home.text

    await login(client, email, "a long password")
    assert (await client.get("/traces")).status_code == 200
    assert (await client.get("/settings/members")).status_code == 403  # a member, not an admin

    again = await _accept(client, token, name="Someone Else", password="another password")
    assert again.status_code == 410 and "already been used" in again.text
    assert "already been used" in (await client.get(f"/invite/{token}")).text


async def test_an_existing_account_logs_in_to_accept(
    client, storage: Storage, admin, project: ProjectFixture
) -> None:
    from tests.conftest import make_project

    other = await make_project(storage)
    email, password = await make_user(storage, other, Role.OWNER)  # an account elsewhere
    await login(client, *admin)
    token = await _invite(client, email, role="viewer", scope="organization")
    page = await client.get(f"/invite/{token}")
    assert "Log in and accept" in page.text
    wrong = await _accept(client, token, password="not the password")
    assert wrong.status_code == 401 and "Wrong email or password" in wrong.text
    r = await _accept(client, token, password=password)
    assert r.status_code == 302
    home = await client.get("/")
    assert project.project_id in home.text and f"{email} · viewer" in home.text


async def test_expired_revoked_and_unknown_links_fail_clearly(
    client, storage: Storage, admin, project: ProjectFixture
) -> None:
    expired = await _invite(client, "late@example.com")
    revoked = await _invite(client, "revoked@example.com")
    async with storage.postgres.session() as s:  # let the first invitation run out
        from sqlmodel import select

        invitation = (await s.exec(select(Invitation).where(Invitation.email == "late@example.com"))).first()
        assert invitation is not None
        invitation.expires_at = utcnow() - timedelta(seconds=1)
        s.add(invitation)
        await s.commit()
    page = await client.get("/settings/invitations")
    assert "late@example.com" not in page.text and "revoked@example.com" in page.text
    revoke = re.search(r'action="(/settings/invitations/[0-9a-f]+/revoke)"', page.text)
    assert revoke
    r = await client.post(revoke[1], data={"_csrf_token": csrf_token(page.text)}, follow_redirects=False)
    assert r.status_code == 302
    assert "revoked@example.com" not in (await client.get("/settings/invitations")).text

    for token, message in ((expired, "has expired"), (revoked, "was revoked")):
        page = await client.get(f"/invite/{token}")
        assert page.status_code == 410 and message in page.text
        r = await _accept(client, token, name="X", password="a long password")
        assert r.status_code == 410 and message in r.text
    unknown = await client.get("/invite/not-a-real-token")
    assert unknown.status_code == 404 and "not valid" in unknown.text


async def test_only_admins_invite_and_never_above_their_role(
    client, storage: Storage, admin, project: ProjectFixture
) -> None:
    page = await client.get("/settings/invitations")
    token = csrf_token(page.text)
    for form, status, message in (
        ({"email": "x@example.com", "role": "owner"}, 403, 'id="role-error">You cannot grant the owner role'),
        ({"email": "x@example.com", "role": "boss"}, 400, 'id="role-error">Role must be one of'),
        ({"email": "not-an-email", "role": "member"}, 400, 'id="email-error">Email must be'),
        (
            {"email": "x@example.com", "role": "member", "scope": "galaxy"},
            400,
            'id="scope-error">Scope must be',
        ),
    ):
        r = await client.post("/settings/invitations", data={**form, "_csrf_token": token})
        assert r.status_code == status and message in r.text, (form, r.text)
    r = await client.post("/settings/invitations", data={"email": "x@example.com", "role": "member"})
    assert r.status_code == 403  # no CSRF token

    # An admin of this project only (a viewer in the organization) cannot reach other projects.
    email, password = await make_user(storage, project, Role.VIEWER)
    user = await accounts.find_user(storage.postgres, email)
    assert user is not None
    await accounts.set_membership(storage.postgres, user.id, project.org_id, Role.ADMIN, project.project_id)
    await login(client, email, password)
    token = csrf_token((await client.get("/settings/invitations")).text)
    form = {"email": "z@example.com", "role": "member", "_csrf_token": token}
    r = await client.post("/settings/invitations", data={**form, "scope": "organization"})
    assert r.status_code == 403 and "organization-wide member role" in r.text
    r = await client.post("/settings/members", data={**form, "email": email, "scope": "organization"})
    assert r.status_code == 403
    assert (await client.post("/settings/invitations", data=form)).status_code == 200

    email, password = await make_user(storage, project, Role.VIEWER)
    await login(client, email, password)
    assert (await client.get("/settings/invitations")).status_code == 403
    home = await client.get("/")
    r = await client.post(
        "/settings/invitations",
        data={"email": "y@example.com", "role": "viewer", "_csrf_token": csrf_token(home.text)},
    )
    assert r.status_code == 403

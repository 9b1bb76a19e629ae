"""Langfuse links (`/project/{projectId}/…`) land on Langhouse pages; shared traces read without login."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import pytest

from app.jobs.contracts import JobQueue
from app.main import create_app
from app.settings import Settings
from app.storage import Storage
from app.storage.postgres import accounts
from app.storage.postgres.tables import Role
from tests.conftest import (
    LiveServer,
    ProjectFixture,
    csrf_token,
    jobs_done,
    login,
    make_project,
    make_user,
    wait_for,
)

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("worker")]


def _events(trace_id: str, name: str, *, public: bool = False) -> list[dict[str, Any]]:
    """A trace with a root span and a generation that has usage and a cost."""
    ts = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    return [
        {
            "id": f"{trace_id}-e1",
            "type": "trace-create",
            "timestamp": ts,
            "body": {"id": trace_id, "name": name, "userId": "u-1", "sessionId": "s-1", "public": public},
        },
        {
            "id": f"{trace_id}-e2",
            "type": "span-create",
            "timestamp": ts,
            "body": {"id": f"{trace_id}-root", "traceId": trace_id, "name": "handle", "startTime": ts},
        },
        {
            "id": f"{trace_id}-e3",
            "type": "generation-create",
            "timestamp": ts,
            "body": {
                "id": f"{trace_id}-gen",
                "traceId": trace_id,
                "parentObservationId": f"{trace_id}-root",
                "name": "llm",
                "model": "gpt-4o-mini",
                "startTime": ts,
                "input": [{"role": "user", "content": f"question of {name}"}],
                "output": {"role": "assistant", "content": f"answer of {name}"},
                "usage": {"input": 11, "output": 7, "total": 18},
                "costDetails": {"input": 0.25},
                "promptName": "support/triage",
                "promptVersion": 1,
            },
        },
        {
            "id": f"{trace_id}-e4",
            "type": "score-create",
            "timestamp": ts,
            "body": {"id": f"{trace_id}-score", "traceId": trace_id, "name": "quality", "value": 0.5},
        },
    ]


async def send(
    client: httpx.AsyncClient, storage: Storage, project: ProjectFixture, *traces: list[dict[str, Any]]
) -> None:
    batch = [e for events in traces for e in events]
    r = await client.post("/api/public/ingestion", json={"batch": batch}, auth=project.auth)
    assert r.status_code == 207 and not r.json()["errors"], r.text
    await jobs_done(storage, project.project_id, 1)


async def login_next(c: httpx.AsyncClient, email: str, password: str, next_path: str) -> httpx.Response:
    """Post the login form with a `next` target; return the (unfollowed) answer."""
    c.cookies.clear()
    page = await c.get("/login", params={"next": next_path})
    return await c.post(
        "/login",
        data={"email": email, "password": password, "_csrf_token": csrf_token(page.text), "next": next_path},
        follow_redirects=False,
    )


@pytest.fixture
async def anonymous(settings: Settings, storage: Storage, jobs: JobQueue) -> AsyncIterator[httpx.AsyncClient]:
    """A client of its own with no cookies at all (no session, no CSRF cookie)."""
    transport = httpx.ASGITransport(app=create_app(settings, storage, jobs=jobs))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as c:
        yield c


@pytest.fixture
async def member(client, storage, project: ProjectFixture):  # type: ignore[no-untyped-def]
    email, password = await make_user(storage, project, Role.MEMBER)
    await login(client, email, password)
    yield
    client.cookies.clear()  # the client is shared by the session's tests


def run_sdk(server: LiveServer, project: ProjectFixture) -> tuple[str, str | None]:
    """A trace made public from the SDK; return its id and the SDK's URL for it."""
    from langfuse import Langfuse

    lf = Langfuse(public_key=project.public_key, secret_key=project.secret_key, base_url=server.base_url)
    try:
        with lf.start_as_current_observation(as_type="span", name="linked-request") as root:
            with lf.start_as_current_observation(as_type="generation", name="llm", model="gpt-4o") as gen:
                gen.update(output="hello")
            root.set_trace_as_public()
            trace_id = root.trace_id
        lf.flush()
        return trace_id, lf.get_trace_url(trace_id=trace_id)
    finally:
        lf.shutdown()


async def test_the_sdk_trace_url_opens_the_trace_in_its_project(
    live_server: LiveServer, storage: Storage, project: ProjectFixture
) -> None:
    trace_id, url = await asyncio.to_thread(run_sdk, live_server, project)
    assert url == f"{live_server.base_url}/project/{project.project_id}/traces/{trace_id}"
    other = await make_project(storage)  # the user is in two projects, currently in the other one
    email, password = await make_user(storage, other, Role.VIEWER)
    user = await accounts.find_user(storage.postgres, email)
    assert user is not None
    await accounts.set_membership(storage.postgres, user.id, project.org_id, Role.VIEWER)
    async with httpx.AsyncClient(base_url=live_server.base_url) as c:
        await login(c, email, password)
        home = await c.get("/")
        await c.post(
            "/projects/switch", data={"project_id": other.project_id, "_csrf_token": csrf_token(home.text)}
        )
        assert other.org_name in (await c.get("/")).text

        async def opened() -> httpx.Response | None:
            r = await c.get(url, follow_redirects=True)
            return r if r.status_code == 200 and "GENERATION" in r.text else None  # all its spans stored

        page = await wait_for(opened)
        assert page.url.path == f"/traces/{trace_id}"
        assert "linked-request" in page.text
        assert project.org_name in page.text  # the session moved to the link's project
        assert re.search(r"Shared: anyone with this link", page.text)  # the SDK made it public

    async with httpx.AsyncClient(base_url=live_server.base_url) as anonymous:  # public: readable by anyone
        r = await anonymous.get(url, follow_redirects=True)
        assert r.status_code == 200 and r.url.path == f"/public/traces/{project.project_id}/{trace_id}"
        assert "linked-request" in r.text


@pytest.mark.usefixtures("member")
async def test_langfuse_url_shapes_redirect_to_their_pages(
    client: httpx.AsyncClient, storage: Storage, project: ProjectFixture
) -> None:
    await send(client, storage, project, _events("lk-1", "lookup"))
    p = f"/project/{project.project_id}"
    expected = {
        p: "/",
        f"{p}/": "/",
        f"{p}/traces": "/traces",
        f"{p}/traces/lk-1": "/traces/lk-1",
        f"{p}/traces/lk-1?observation=lk-1-gen&display=details": "/traces/lk-1?obs=lk-1-gen",
        f"{p}/traces?peek=lk-1": "/traces/lk-1",
        f"{p}/sessions": "/sessions",
        f"{p}/sessions/s-1": "/sessions/s-1",
        f"{p}/users": "/users",
        f"{p}/users/u%201": "/users/u%201",
        f"{p}/prompts": "/prompts",
        f"{p}/prompts/{quote('support/triage', safe='')}?version=2": "/prompts/support/triage?version=2",
        f"{p}/scores": "/scores",
        f"{p}/dashboards": "/dashboards",
    }
    for link, target in expected.items():
        r = await client.get(link, follow_redirects=False)
        assert (r.status_code, r.headers.get("location")) == (302, target), link
    html_path = (await client.get("/api/public/traces/lk-1", auth=project.auth)).json()["htmlPath"]
    assert (await client.get(html_path, follow_redirects=True)).url.path == "/traces/lk-1"
    selected = await client.get(f"{p}/traces/lk-1?observation=lk-1-gen", follow_redirects=True)
    assert selected.status_code == 200 and "answer of lookup" in selected.text
    for unknown in ("datasets/ds-1/other/x", "experiments/results", "traces/a/b"):
        r = await client.get(f"{p}/{unknown}")
        assert r.status_code == 404 and "no page in Langhouse" in r.text, unknown
    for link, target in (("datasets", "/datasets"), ("datasets/ds-1/items/it-1", "/dataset-items/it-1")):
        r = await client.get(f"{p}/{link}", follow_redirects=False)
        assert (r.status_code, r.headers.get("location")) == (302, target), link


async def test_a_link_asks_for_login_and_comes_back(
    client: httpx.AsyncClient, storage: Storage, project: ProjectFixture, anonymous: httpx.AsyncClient
) -> None:
    await send(client, storage, project, _events("lk-2", "private-one"))
    link = f"/project/{project.project_id}/traces/lk-2?observation=lk-2-gen"
    r = await anonymous.get(link)
    assert r.status_code == 302 and r.headers["location"] == "/login?" + urlencode({"next": link})
    email, password = await make_user(storage, project, Role.VIEWER)
    r = await login_next(anonymous, email, password, link)
    assert r.status_code == 302 and r.headers["location"] == link
    page = await anonymous.get(link, follow_redirects=True)
    assert (
        page.status_code == 200 and page.url.path == "/traces/lk-2" and "answer of private-one" in page.text
    )


async def test_login_refuses_to_redirect_off_the_site(
    client: httpx.AsyncClient, storage: Storage, project: ProjectFixture, anonymous: httpx.AsyncClient
) -> None:
    email, password = await make_user(storage, project, Role.VIEWER)
    for target in (
        "https://evil.example",
        "//evil.example/x",
        "/\\evil.example",
        "\\\\evil.example",
        "/\t/evil",
    ):
        form = await anonymous.get("/login", params={"next": target})
        assert 'name="next" value="/"' in form.text, target
        r = await login_next(anonymous, email, password, target)
        assert r.status_code == 302 and r.headers["location"] == "/", target


async def test_non_members_get_a_404_and_no_data(
    client: httpx.AsyncClient, storage: Storage, project: ProjectFixture
) -> None:
    await send(client, storage, project, _events("lk-3", "secret-name"))
    stranger = await make_project(storage)
    email, password = await make_user(storage, stranger, Role.ADMIN)
    await login(client, email, password)
    try:
        for link in (
            f"/project/{project.project_id}/traces/lk-3",
            f"/project/{project.project_id}",
            f"/project/{project.project_id}/sessions/s-1",
            "/project/no-such-project/traces/lk-3",
        ):
            r = await client.get(link, follow_redirects=True)
            assert r.status_code == 404 and "secret-name" not in r.text, link
        home = await client.get("/")
        assert stranger.org_name in home.text and project.org_name not in home.text  # no switch happened
    finally:
        client.cookies.clear()


async def test_sharing_opens_a_read_only_view_and_unsharing_closes_it(
    client: httpx.AsyncClient, storage: Storage, project: ProjectFixture, anonymous: httpx.AsyncClient
) -> None:
    other = await make_project(storage)
    await send(client, storage, project, _events("sh-1", "shared-trace"), _events("sh-2", "kept-private"))
    await send(client, storage, other, _events("sh-other", "elsewhere"))
    email, password = await make_user(storage, project, Role.MEMBER)
    await login(client, email, password)
    try:
        page = await client.get("/traces/sh-1")
        assert "Share publicly" in page.text and "Shared: anyone" not in page.text
        public_path = f"/public/traces/{project.project_id}/sh-1"
        assert (await anonymous.get(public_path)).status_code == 404  # not shared yet
        r = await client.post("/traces/sh-1/public", data={"value": "1"})  # no CSRF token
        assert r.status_code == 403
        await client.post("/traces/sh-1/public", data={"value": "1", "_csrf_token": csrf_token(page.text)})
        page = await client.get("/traces/sh-1")
        link = re.search(r'<a id="share-url" href="([^"]+)"', page.text)
        assert link and link[1] == f"http://testserver.local{public_path}"
        assert f'data-copy="{link[1]}"' in page.text  # the copy button

        shared = await anonymous.get(public_path)
        assert shared.status_code == 200 and shared.headers["cache-control"] == "no-store"
        # Its own stricter Referrer-Policy wins over the default one; it cannot be framed either.
        assert shared.headers["referrer-policy"] == "no-referrer"
        assert shared.headers["x-frame-options"] == "DENY"
        assert "lh_session" not in shared.headers.get("set-cookie", "")
        selected = await anonymous.get(public_path, params={"obs": "sh-1-gen"})
        for shown in ("shared-trace", "handle", "GENERATION", "quality", "$0.25"):
            assert shown in shared.text, shown
        for shown in ("question of shared-trace", "answer of shared-trace", "input 11", "support/triage v1"):
            assert shown in selected.text, shown
        for view in (shared, selected):
            links = re.findall(r'(?:href|action|src)="([^"]*)"', view.text)
            assert all(h.startswith(("/static/", "?obs=", "?view=timeline&amp;obs=", "#")) for h in links), (
                links
            )
            assert "<form" not in view.text and "_csrf_token" not in view.text
            for hidden in ("kept-private", project.org_name, "Bookmark", "Comments</h2>", "Add score"):
                assert hidden not in view.text, hidden

        not_shared = await anonymous.get(f"/public/traces/{project.project_id}/sh-2")
        other_project = await anonymous.get(f"/public/traces/{project.project_id}/sh-other")
        missing = await anonymous.get(f"/public/traces/{project.project_id}/no-such-trace")
        assert not_shared.status_code == other_project.status_code == missing.status_code == 404
        assert "kept-private" not in not_shared.text and "elsewhere" not in other_project.text
        assert not_shared.text.replace("sh-2", "X") == missing.text.replace("no-such-trace", "X")

        await client.post("/traces/sh-1/public", data={"value": "0", "_csrf_token": csrf_token(page.text)})
        assert (await anonymous.get(public_path)).status_code == 404
        assert "Shared: anyone" not in (await client.get("/traces/sh-1")).text
    finally:
        client.cookies.clear()


async def test_viewers_cannot_share(
    client: httpx.AsyncClient, storage: Storage, project: ProjectFixture, anonymous: httpx.AsyncClient
) -> None:
    await send(client, storage, project, _events("sh-3", "viewer-trace"))
    email, password = await make_user(storage, project, Role.VIEWER)
    await login(client, email, password)
    try:
        page = await client.get("/traces/sh-3")
        assert "Share publicly" not in page.text
        r = await client.post(
            "/traces/sh-3/public", data={"value": "1", "_csrf_token": csrf_token(page.text)}
        )
        assert r.status_code == 403
        assert (await anonymous.get(f"/public/traces/{project.project_id}/sh-3")).status_code == 404
    finally:
        client.cookies.clear()


async def test_a_trace_ingested_as_public_is_shared(
    client: httpx.AsyncClient, storage: Storage, project: ProjectFixture, anonymous: httpx.AsyncClient
) -> None:
    await send(client, storage, project, _events("sh-4", "public-from-sdk", public=True))
    r = await anonymous.get(f"/public/traces/{project.project_id}/sh-4")
    assert r.status_code == 200 and "public-from-sdk" in r.text
    langfuse_link = await anonymous.get(f"/project/{project.project_id}/traces/sh-4")
    assert langfuse_link.headers["location"] == f"/public/traces/{project.project_id}/sh-4"
    email, password = await make_user(storage, project, Role.MEMBER)
    await login(client, email, password)
    try:  # unsharing in Langhouse overrides the ingested flag
        page = await client.get("/traces/sh-4")
        assert "Stop sharing" in page.text
        await client.post("/traces/sh-4/public", data={"value": "0", "_csrf_token": csrf_token(page.text)})
        assert (await anonymous.get(f"/public/traces/{project.project_id}/sh-4")).status_code == 404
    finally:
        client.cookies.clear()

"""Prompt management pages over prompts created through the real REST API: the list (folders, filters,
pages), one prompt (versions, content, labels, delete, diff, metrics, generations), the version form,
the playground round trip, roles, CSRF and escaping."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote_plus

import httpx
import pytest
from markupsafe import escape

from app.auth.caller import Caller
from app.prompts import service
from app.storage import Storage
from app.storage.postgres import prompts as repo
from app.storage.postgres.tables import Role
from tests.conftest import ProjectFixture, csrf_token, jobs_done, login, make_user

pytestmark = [pytest.mark.integration]
XSS = "<script>alert('x')</script>"


async def create(client: httpx.AsyncClient, p: ProjectFixture, **body: Any) -> dict[str, Any]:
    r = await client.post("/api/public/v2/prompts", json=body, auth=p.auth)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def as_role(client: httpx.AsyncClient, storage: Storage, p: ProjectFixture, role: Role) -> str:
    email, password = await make_user(storage, p, role)
    await login(client, email, password)
    return email


@pytest.fixture
async def member(client, storage, project: ProjectFixture):  # type: ignore[no-untyped-def]
    yield await as_role(client, storage, project, Role.MEMBER)
    client.cookies.clear()  # the client is shared by the session's tests


def names_listed(html: str) -> list[tuple[str, str]]:
    """The (prompt, folder) links of a list page's table, in order."""
    table = html.split('<table class="prompts">', 1)[1].split("</table>", 1)[0]
    found = re.findall(r'<a href="/prompts(?:/([^"?]+)|\?[^"]*?folder=([^"&]+))', table)
    return [(prompt, unquote_plus(folder)) for prompt, folder in found]


def version_form(token: str, **fields: Any) -> dict[str, Any]:
    return {"_csrf_token": token, "config": "{}", "labels": "", "tags": "", "commit_message": "", **fields}


@pytest.mark.usefixtures("member")
async def test_the_list_shows_folders_filters_and_an_empty_state(client, project: ProjectFixture) -> None:
    empty = await client.get("/prompts")
    assert empty.status_code == 200
    assert "Create your first prompt" in empty.text and "langfuse.create_prompt(" in empty.text
    assert 'href="/prompts/new"' in empty.text
    chat = [{"role": "system", "content": "Triage"}]
    await create(client, project, name="support/triage", type="chat", prompt=chat, labels=["production"])
    await create(client, project, name="support/billing/refunds", prompt="Refund?", tags=["billing"])
    await create(client, project, name="greeting", prompt="Hi", labels=["production"], tags=["web"])
    await create(client, project, name="greeting", prompt="Hello")
    await create(client, project, name="support", prompt="A prompt beside its folder")

    root = await client.get("/prompts")
    assert "Create your first prompt" not in root.text
    # folders first (with how many prompts they hold), then prompts, each by name
    assert names_listed(root.text) == [("", "support"), ("greeting", ""), ("support", "")]
    assert "2 prompts" in root.text
    row = re.search(r'<a href="/prompts/greeting">greeting</a>.*?</tr>', root.text, re.S)
    assert row and ">text<" in row[0] and ">production<" in row[0] and ">latest<" in row[0]
    assert "<td>web</td>" in row[0] and "<td>2</td>" in row[0]  # tags, versions

    inside = await client.get("/prompts", params={"folder": "support"})
    assert names_listed(inside.text) == [("", "support/billing"), ("support/triage", "")]
    assert '<a href="/prompts/support/triage">triage</a>' in inside.text  # shown relative to the folder
    crumbs = (await client.get("/prompts", params={"folder": "support/billing"})).text
    assert '<a href="/prompts?folder=support">support</a> / <span>billing</span>' in crumbs
    assert '<a href="/prompts/support/billing/refunds">refunds</a>' in crumbs

    labelled = await client.get("/prompts", params={"label": "production"})
    assert names_listed(labelled.text) == [("", "support"), ("greeting", "")]
    tagged = await client.get("/prompts", params={"tag": "billing", "folder": "support"})
    assert names_listed(tagged.text) == [("", "support/billing")]
    found = await client.get("/prompts", params={"search": "refu"})  # a search lists at any depth
    assert names_listed(found.text) == [("support/billing/refunds", "")]
    assert ">support/billing/refunds</a>" in found.text
    none = await client.get("/prompts", params={"search": "nothing-like-this"})
    assert "No prompts match" in none.text
    bad = await client.get("/prompts", params={"page": "x"})
    assert bad.status_code == 400 and "page must be a whole number" in bad.text


@pytest.mark.usefixtures("member")
async def test_the_list_pages_by_fifty(client, project: ProjectFixture) -> None:
    for i in range(52):
        await create(client, project, name=f"p{i:02d}", prompt="x")
    first = await client.get("/prompts")
    assert len(names_listed(first.text)) == 50 and "page 1 of 2" in first.text
    assert 'href="/prompts?page=2" rel="next"' in first.text
    second = await client.get("/prompts", params={"page": 2})
    assert [n for n, _ in names_listed(second.text)] == ["p50", "p51"]
    assert 'rel="prev"' in second.text and 'rel="next"' not in second.text


async def test_the_detail_page_shows_versions_content_config_and_labels(
    client, storage, project: ProjectFixture
) -> None:
    messages = [
        {"role": "system", "content": "You triage {{product}} tickets."},
        {"type": "placeholder", "name": "history"},
        {"role": "user", "content": "{{ticket}}"},
    ]
    await create(
        client,
        project,
        name="support/triage",
        type="chat",
        prompt=messages,
        config={"model": "gpt-4o", "temperature": 0.2},
        labels=["production"],
        tags=["support"],
        commitMessage="first cut",
    )
    await create(client, project, name="support/triage", type="chat", prompt=messages[:1], labels=["staging"])
    await as_role(client, storage, project, Role.VIEWER)
    try:
        page = await client.get("/prompts/support/triage")
        assert page.status_code == 200
        assert re.findall(r'<a href="/prompts/support/triage\?version=(\d+)"><strong>', page.text) == [
            "2",
            "1",
        ]
        assert "<h2>Version 2</h2>" in page.text and project.public_key in page.text  # the author: the key
        assert '<a href="/prompts?folder=support">support</a> / <span>triage</span>' in page.text
        assert "first cut" in page.text and ">staging<" in page.text
        assert 'href="/playground?prompt=support/triage&amp;version=2"' in page.text
        assert "Save labels" not in page.text and "New version" not in page.text  # a viewer
        assert "Delete version" not in page.text

        v1 = await client.get("/prompts/support/triage", params={"version": 1})
        assert "<h2>Version 1</h2>" in v1.text
        assert (
            '<div class="msg role-system"><strong>system</strong><pre>You triage {{product}} tickets.'
            in v1.text
        )
        assert '<div class="msg placeholder"><strong>placeholder</strong> <code>history</code>' in v1.text
        assert '<code class="variable">{{product}}</code>' in v1.text
        assert "&#34;temperature&#34;: 0.2" in v1.text and "&#34;model&#34;: &#34;gpt-4o&#34;" in v1.text
        by_label = await client.get("/prompts/support/triage", params={"label": "production"})
        assert "<h2>Version 1</h2>" in by_label.text
        assert (await client.get("/prompts/support/triage", params={"version": 9})).status_code == 404
        missing = await client.get("/prompts/support/nothing")
        assert missing.status_code == 404 and "prompt &#39;support/nothing&#39; not found" in missing.text
        bad = await client.get("/prompts/support/triage", params={"version": "two"})
        assert bad.status_code == 400 and "version must be a whole number" in bad.text
    finally:
        client.cookies.clear()


@pytest.mark.usefixtures("member")
async def test_a_composed_prompt_lists_its_references_and_the_resolved_text(
    client, project: ProjectFixture
) -> None:
    await create(client, project, name="shared/tone", prompt="Be kind.", labels=["production"])
    await create(
        client, project, name="reply", prompt="Answer. @@@langfusePrompt:name=shared/tone|label=production@@@"
    )
    page = await client.get("/prompts/reply")
    assert '<a href="/prompts/shared/tone?label=production">shared/tone</a> label production' in page.text
    assert "Resolved (references inlined)" in page.text and "Answer. Be kind." in page.text


async def test_the_form_creates_prompts_and_versions_and_keeps_input_on_errors(
    client, storage, project: ProjectFixture
) -> None:
    email = await as_role(client, storage, project, Role.MEMBER)
    try:
        form = await client.get("/prompts/new")
        assert form.status_code == 200 and 'name="mode" value="text"' in form.text
        token = csrf_token(form.text)
        r = await client.post(
            "/prompts/new",
            data=version_form(
                token,
                name="mail/welcome",
                mode="text",
                text="Welcome {{name}}!",
                config='{"model": "gpt-4o-mini"}',
                labels="staging, beta",
                tags="onboarding, e-mail flows",
                commit_message="first draft",
            ),
        )
        assert r.status_code == 302 and r.headers["location"] == "/prompts/mail/welcome?version=1"
        v1 = await service.fetch_version(storage, project.project_id, "mail/welcome", version=1)
        assert (v1.prompt, v1.config, v1.labels) == (
            "Welcome {{name}}!",
            {"model": "gpt-4o-mini"},
            ["beta", "latest", "staging"],
        )
        assert (v1.tags, v1.commit_message, v1.created_by) == (
            ["e-mail flows", "onboarding"],
            "first draft",
            email,
        )

        prefilled = await client.get("/prompts/new", params={"name": "mail/welcome", "version": 1})
        assert (
            "New version of mail/welcome" in prefilled.text
            and "Welcome {{name}}!</textarea>" in prefilled.text
        )
        assert 'name="tags" value="e-mail flows, onboarding"' in prefilled.text
        assert 'type="hidden" name="mode" value="text"' in prefilled.text  # the type is fixed
        r = await client.post(
            "/prompts/new",
            data=version_form(
                token, name="mail/welcome", existing="1", mode="text", text="Hello {{name}}", based_on="1"
            ),
        )
        assert r.headers["location"] == "/prompts/mail/welcome?version=2"

        r = await client.post(
            "/prompts/new",
            data=version_form(
                token,
                name="chatty",
                mode="chat",
                msg_kind=["message", "placeholder", "message"],
                msg_role=["system", "", "user"],
                msg_content=["You are {{persona}}.", "history", "{{question}}"],
            ),
        )
        assert r.status_code == 302
        chat = await service.fetch_version(storage, project.project_id, "chatty", version=1)
        assert chat.type == "chat" and chat.prompt == [
            {"role": "system", "content": "You are {{persona}}."},
            {"type": "placeholder", "name": "history"},
            {"role": "user", "content": "{{question}}"},
        ]
        edit = await client.get("/prompts/new", params={"name": "chatty"})
        assert (
            'name="msg_content" value="history"' in edit.text
            and "You are {{persona}}.</textarea>" in edit.text
        )

        for fields, message in [
            ({"name": "x", "config": "{nope"}, 'id="config-error">Config must be JSON'),
            ({"name": "x", "config": "[1]"}, 'id="config-error">Config must be a JSON object'),
            ({"name": ""}, 'id="name-error">Name is required'),
            ({"name": "new"}, 'id="name-error">Name: &#39;new&#39; is reserved'),
            ({"name": "x", "labels": "Not A Label"}, 'id="labels-error">Labels: label &#39;Not&#39;'),
            ({"name": "x", "labels": "latest"}, ""),  # allowed: every new version gets it anyway
            (
                {"name": "mail/welcome", "mode": "chat", "msg_kind": "message", "msg_role": "user"},
                'id="prompt-error">Msg_kind',
            ),
            (
                {
                    "name": "mail/welcome",
                    "mode": "chat",
                    "msg_kind": "message",
                    "msg_role": "user",
                    "msg_content": "hi",
                },
                'id="form-error" tabindex="-1" autofocus>Type: prompt',
            ),
        ]:
            data = version_form(
                token, **{"mode": "text", "text": "kept {{input}}", "commit_message": "kept note", **fields}
            )
            r = await client.post("/prompts/new", data=data)
            if not message:
                assert r.status_code == 302
                continue
            assert r.status_code == 400, fields
            assert message in r.text, (fields, r.text[-2000:])
            assert 'value="kept note"' in r.text  # what was typed is kept
        no_csrf = {
            k: v
            for k, v in version_form(token, name="y", mode="text", text="t").items()
            if k != "_csrf_token"
        }
        assert (await client.post("/prompts/new", data=no_csrf)).status_code == 403

        await as_role(client, storage, project, Role.VIEWER)
        listed = await client.get("/prompts")
        assert 'id="new-prompt"' not in listed.text
        assert (await client.get("/prompts/new")).status_code == 403
        token = csrf_token(listed.text)
        r = await client.post("/prompts/new", data=version_form(token, name="z", mode="text", text="t"))
        assert r.status_code == 403 and "needs the member role" in r.text
    finally:
        client.cookies.clear()


async def test_labels_and_deletes_follow_roles_and_protected_labels(
    client, storage, project: ProjectFixture
) -> None:
    for text in ("one", "two", "three"):
        await create(client, project, name="flow/step", prompt=text)
    admin = Caller(project.project_id, project.org_id, Role.ADMIN, user_id=None, api_key_id=None)
    await service.set_protected_labels(storage, admin, ["production"])
    try:
        await as_role(client, storage, project, Role.MEMBER)
        page = await client.get("/prompts/flow/step", params={"version": 1})
        assert "Protected labels (production) only admins" in page.text
        token = csrf_token(page.text)
        r = await client.post(
            "/prompt-versions/labels",
            data={"_csrf_token": token, "name": "flow/step", "version": "1", "labels": "staging qa"},
        )
        assert r.status_code == 302 and r.headers["location"] == "/prompts/flow/step?version=1"
        v1 = await service.fetch_version(storage, project.project_id, "flow/step", version=1)
        assert v1.labels == ["qa", "staging"]
        r = await client.post(
            "/prompt-versions/labels",
            data={"_csrf_token": token, "name": "flow/step", "version": "1", "labels": "qa"},
        )  # removes staging
        assert (await service.fetch_version(storage, project.project_id, "flow/step", version=1)).labels == [
            "qa"
        ]
        refused = await client.post(
            "/prompt-versions/labels",
            data={"_csrf_token": token, "name": "flow/step", "version": "2", "labels": "production"},
        )
        assert refused.status_code == 403
        assert "Label &#39;production&#39; is protected: only admins and owners" in refused.text
        assert "<h2>Version 2</h2>" in refused.text  # the page of the version the change was about
        assert 'id="form-error"' in refused.text and "<h2>Versions</h2>" in refused.text
        bad = await client.post(
            "/prompt-versions/labels",
            data={"_csrf_token": token, "name": "flow/step", "version": "2", "labels": "BAD!"},
        )
        assert bad.status_code == 400 and 'id="labels-error">Labels: label &#39;BAD!&#39;' in bad.text
        assert 'value="BAD!"' in bad.text  # kept as typed
        no_version = await client.post(
            "/prompt-versions/labels",
            data={"_csrf_token": token, "name": "flow/step", "version": "", "labels": "a"},
        )
        assert no_version.status_code == 400 and "Version is required" in no_version.text
        assert (
            await client.post(
                "/prompt-versions/labels", data={"name": "flow/step", "version": "1", "labels": ""}
            )
        ).status_code == 403

        r = await client.post(
            "/prompt-versions/delete", data={"_csrf_token": token, "name": "flow/step", "version": "3"}
        )
        assert r.status_code == 302 and r.headers["location"] == "/prompts/flow/step"
        v2 = await service.fetch_version(storage, project.project_id, "flow/step", version=2)
        assert v2.labels == ["latest"]  # latest moved to the newest left
        assert (
            await client.post("/prompt-versions/delete", data={"name": "flow/step", "version": "2"})
        ).status_code == 403

        await as_role(client, storage, project, Role.ADMIN)
        token = csrf_token((await client.get("/prompts/flow/step")).text)
        r = await client.post(
            "/prompt-versions/labels",
            data={"_csrf_token": token, "name": "flow/step", "version": "2", "labels": "production"},
        )
        assert r.status_code == 302
        assert (
            "production"
            in (await service.fetch_version(storage, project.project_id, "flow/step", version=2)).labels
        )
        page = await client.get("/prompts/flow/step")
        assert '<span class="badge protected">production</span>' in page.text

        await as_role(client, storage, project, Role.MEMBER)
        token = csrf_token((await client.get("/prompts")).text)
        refused = await client.post(
            "/prompt-versions/delete", data={"_csrf_token": token, "name": "flow/step", "version": "2"}
        )
        assert refused.status_code == 403 and "is protected" in refused.text  # it carries production

        await as_role(client, storage, project, Role.VIEWER)
        token = csrf_token((await client.get("/prompts")).text)
        for path, data in [
            ("/prompt-versions/labels", {"name": "flow/step", "version": "1", "labels": "x"}),
            ("/prompt-versions/delete", {"name": "flow/step", "version": "1"}),
        ]:
            r = await client.post(path, data={"_csrf_token": token, **data})
            assert r.status_code == 403 and "needs the member role" in r.text, path
        await as_role(client, storage, project, Role.ADMIN)
        token = csrf_token((await client.get("/prompts")).text)
        for version in ("1", "2"):
            r = await client.post(
                "/prompt-versions/delete",
                data={"_csrf_token": token, "name": "flow/step", "version": version},
            )
        assert r.headers["location"] == "/prompts"  # the last version took the prompt with it
        assert (await client.get("/prompts/flow/step")).status_code == 404
    finally:
        client.cookies.clear()


async def test_admins_set_the_protected_labels_from_the_list(
    client, storage, project: ProjectFixture
) -> None:
    try:
        await as_role(client, storage, project, Role.ADMIN)
        page = await client.get("/prompts")
        assert "<h2>Protected labels</h2>" in page.text
        token = csrf_token(page.text)
        data = {"_csrf_token": token, "labels": "production, qa"}
        r = await client.post("/prompt-labels/protected", data=data)
        assert r.status_code == 302
        assert await repo.list_protected_labels(storage.postgres, project.project_id) == ["production", "qa"]
        assert 'value="production qa"' in (await client.get("/prompts")).text
        bad = await client.post("/prompt-labels/protected", data={"_csrf_token": token, "labels": "latest"})
        assert bad.status_code == 400 and "latest" in bad.text
        assert (await client.post("/prompt-labels/protected", data={"labels": "x"})).status_code == 403

        await as_role(client, storage, project, Role.MEMBER)
        page = await client.get("/prompts")
        assert "<h2>Protected labels</h2>" not in page.text
        r = await client.post(
            "/prompt-labels/protected", data={"_csrf_token": csrf_token(page.text), "labels": ""}
        )
        assert r.status_code == 403
        assert await repo.list_protected_labels(storage.postgres, project.project_id) == ["production", "qa"]
    finally:
        client.cookies.clear()


@pytest.mark.usefixtures("member")
async def test_the_diff_colours_added_and_removed_lines(client, project: ProjectFixture) -> None:
    await create(
        client, project, name="d/diffed", prompt="line one\nline two\n-- note", config={"temperature": 0.1}
    )
    await create(
        client, project, name="d/diffed", prompt="line one\nline 2\nline three", config={"temperature": 0.5}
    )
    page = await client.get("/prompts/d/diffed")
    assert '<option value="1" selected>v1</option>' in page.text  # from: the previous version
    diff = await client.get("/prompts/d/diffed", params={"version": 2, "from": 1, "to": 2})
    assert '<span class="del">-line two</span>' in diff.text
    assert '<span class="del">--- note</span>' in diff.text  # not taken for a file header
    assert '<span class="file">--- version 1</span><span class="file">+++ version 2</span>' in diff.text
    assert (
        '<span class="add">+line 2</span>' in diff.text
        and '<span class="add">+line three</span>' in diff.text
    )
    assert '<span class="same"> line one</span>' in diff.text and '<span class="hunk">@@' in diff.text
    assert '<span class="del">-  &#34;temperature&#34;: 0.1</span>' in diff.text
    assert '<span class="add">+  &#34;temperature&#34;: 0.5</span>' in diff.text
    same = await client.get("/prompts/d/diffed", params={"from": 2, "to": 2})
    assert "are the same" in same.text
    assert (await client.get("/prompts/d/diffed", params={"from": 1, "to": 7})).status_code == 404


@pytest.mark.usefixtures("member", "worker")
async def test_metrics_and_generations_of_each_version(client, storage, project: ProjectFixture) -> None:
    await create(client, project, name="linked/gen", prompt="v1")
    await create(client, project, name="linked/gen", prompt="v2")
    at = datetime.now(UTC) - timedelta(seconds=30)

    def iso(t: datetime) -> str:
        return t.isoformat().replace("+00:00", "Z")

    batch = [
        {
            "id": "e1",
            "type": "trace-create",
            "timestamp": iso(at),
            "body": {"id": "pm-trace", "name": "uses-prompt", "timestamp": iso(at)},
        },
        {
            "id": "e2",
            "type": "generation-create",
            "timestamp": iso(at),
            "body": {
                "id": "pm-gen",
                "traceId": "pm-trace",
                "name": "llm",
                "model": "gpt-4o-mini",
                "startTime": iso(at),
                "endTime": iso(at + timedelta(milliseconds=1500)),
                "usage": {"input": 7, "output": 3, "total": 10},
                "costDetails": {"total": 0.001},
                "promptName": "linked/gen",
                "promptVersion": 2,
            },
        },
        {
            "id": "e3",
            "type": "score-create",
            "timestamp": iso(at),
            "body": {
                "id": "pm-score",
                "traceId": "pm-trace",
                "observationId": "pm-gen",
                "name": "quality",
                "value": 0.8,
            },
        },
    ]
    r = await client.post("/api/public/ingestion", json={"batch": batch}, auth=project.auth)
    assert r.status_code == 207 and not r.json()["errors"]
    await jobs_done(storage, project.project_id, 1)
    page = await client.get("/prompts/linked/gen")
    row = re.search(r'<tr data-version="2">(.*?)</tr>', page.text, re.S)
    assert row
    cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td>(.*?)</td>", row[1], re.S)]
    assert cells == ["v2", "1", "1500 ms", "1500 ms", "7", "3", "10", "$0.001", "0.800"]
    assert "<th>quality (avg)</th>" in page.text
    empty = re.search(r'<tr data-version="1">(.*?)</tr>', page.text, re.S)
    assert empty and "<td>0</td>" in empty[1]
    assert 'id="chart-latency"' in page.text and 'id="chart-cost"' in page.text
    assert "/static/plotly/plotly.min.js" in page.text
    assert (
        '<a href="/traces/pm-trace?obs=pm-gen">uses-prompt</a>' in page.text
    )  # the selected v2's generation
    v1 = await client.get("/prompts/linked/gen", params={"version": 1})
    assert "No generations of this version yet." in v1.text
    trace = await client.get("/traces/pm-trace", params={"obs": "pm-gen"})
    assert trace.status_code == 200
    assert '<a href="/prompts/linked/gen?version=2">linked/gen v2</a>' in trace.text  # back to the prompt


@pytest.mark.usefixtures("member")
async def test_hostile_prompt_values_are_escaped_on_every_page(client, project: ProjectFixture) -> None:
    name = f"x/{XSS}"  # the '/' in the payload makes another folder level
    await create(
        client,
        project,
        name=name,
        type="chat",
        prompt=[{"role": "user", "content": XSS}, {"type": "placeholder", "name": XSS}],
        config={XSS: XSS},
        tags=[XSS],
        commitMessage=XSS,
    )
    await create(
        client, project, name=name, type="chat", prompt=[{"role": XSS, "content": "v2"}], commitMessage=XSS
    )
    detail = f"/prompts/x/{XSS}"
    pages = [
        ("/prompts", {"folder": "x"}),
        ("/prompts", {"folder": "x/<script>alert('x')<"}),
        ("/prompts", {"search": "script"}),
        ("/prompts", {"tag": XSS}),
        (detail, {"version": 1}),
        (detail, {"version": 2, "from": 1, "to": 2}),
        ("/prompts/new", {"name": name, "version": 1}),
        ("/playground", {"prompt": name, "version": 1}),
    ]
    for path, params in pages:
        page = await client.get(path, params=params)
        assert page.status_code == 200, (path, params, page.text[-500:])
        assert XSS not in page.text and "<script>alert" not in page.text, (path, params)
    shown = await client.get(detail, params={"version": 1})
    assert str(escape(XSS)) in shown.text


async def test_the_playground_opens_a_version_and_saves_the_next_one(
    client, storage, project: ProjectFixture
) -> None:
    await create(
        client,
        project,
        name="support/reply",
        type="chat",
        prompt=[{"role": "system", "content": "Be {{tone}}."}, {"type": "placeholder", "name": "history"}],
        config={"model": "gpt-4o", "temperature": 0.1, "response_format": {"type": "json_object"}},
        labels=["production"],
    )
    await create(
        client, project, name="support/reply", type="chat", prompt=[{"role": "user", "content": "v2"}]
    )
    email = await as_role(client, storage, project, Role.MEMBER)
    try:
        detail = await client.get("/prompts/support/reply", params={"version": 1})
        link = re.search(r'id="open-playground" href="([^"]+)"', detail.text)
        assert link and link[1] == "/playground?prompt=support/reply&amp;version=1"
        page = await client.get("/playground", params={"prompt": "support/reply", "version": 1})
        assert (
            "Be {{tone}}." in page.text
            and 'name="ph:history"' in page.text
            and 'name="var:tone"' in page.text
        )
        assert 'value="0.1"' in page.text and "opened from version 1" in page.text
        assert 'id="save-version" disabled' not in page.text
        by_label = await client.get("/playground", params={"prompt": "support/reply", "label": "production"})
        assert "Be {{tone}}." in by_label.text
        newest = await client.get("/playground", params={"prompt": "support/reply"})
        assert "opened from version 2" in newest.text
        missing = await client.get("/playground", params={"prompt": "support/reply", "label": "nope"})
        assert "Prompt &#39;support/reply&#39; label &#39;nope&#39; could not be opened here." in missing.text

        r = await client.post(
            "/playground/save",
            data={
                "_csrf_token": csrf_token(page.text),
                "target": "",
                "mode": "chat",
                "msg_kind": ["message", "placeholder", "message"],
                "msg_role": ["system", "", "user"],
                "msg_content": ["Be {{tone}} and brief.", "history", "{{question}}"],
                "temperature": "0.7",
                "prompt_name": "support/reply",
                "prompt_version": "1",
                "commit_message": "shorter answers",
            },
        )
        assert r.status_code == 200 and "Saved as version 3 of &#39;support/reply&#39;." in r.text
        assert '<a href="/prompts/support/reply?version=3" id="saved-version">' in r.text
        v3 = await service.fetch_version(storage, project.project_id, "support/reply", version=3)
        assert v3.prompt == [
            {"role": "system", "content": "Be {{tone}} and brief."},
            {"type": "placeholder", "name": "history"},
            {"role": "user", "content": "{{question}}"},
        ]
        # the playground's parameters replace the opened version's; its other config keys are kept
        assert v3.config == {"temperature": 0.7, "response_format": {"type": "json_object"}}
        assert (v3.created_by, v3.commit_message, v3.labels) == (email, "shorter answers", ["latest"])
        shown = await client.get("/prompts/support/reply")
        assert "<h2>Version 3</h2>" in shown.text and "shorter answers" in shown.text

        wrong_type = await client.post(
            "/playground/save",
            data={
                "_csrf_token": csrf_token(page.text),
                "mode": "text",
                "text": "t",
                "prompt_name": "support/reply",
            },
        )
        assert wrong_type.status_code == 400 and "is a chat prompt" in wrong_type.text
        await as_role(client, storage, project, Role.VIEWER)
        r = await client.post(
            "/playground/save",
            data={"_csrf_token": csrf_token(page.text), "mode": "text", "text": "t", "prompt_name": "other"},
        )
        assert r.status_code == 403
    finally:
        client.cookies.clear()

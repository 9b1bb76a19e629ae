"""The trace list over the real pipeline: level markers, scores (one query a page), one-line previews and
costs; deleting traces from the list or a trace's page is for admins, behind a confirmation."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime

import httpx
import pytest

from app.storage import Storage
from app.storage.postgres.tables import Role
from tests.conftest import ProjectFixture, csrf_token, jobs_done, login, make_user
from tests.integration.reads_data import seed

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("worker")]

CHAT_TRACE = {
    "id": "chat-1",
    "type": "trace-create",
    "timestamp": datetime.now(UTC).isoformat(),
    "body": {
        "id": "r-chat",
        "name": "chat",
        "input": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Where is my parcel?"},
        ],
        "output": {"role": "assistant", "content": "It ships today."},
    },
}


def _row(html: str, trace_id: str) -> str:
    """The table row of a trace."""
    found = re.search(rf'<tr[^>]*>(?:(?!</tr>).)*href="/traces/{trace_id}"(?:(?!</tr>).)*</tr>', html, re.S)
    assert found, f"no row for {trace_id}"
    return found[0]


def _listed(html: str) -> list[str]:
    return re.findall(r'href="/traces/(r-[\w-]+)"', html)


async def _as(client: httpx.AsyncClient, storage: Storage, project: ProjectFixture, role: Role) -> None:
    email, password = await make_user(storage, project, role)
    await login(client, email, password)


async def test_rows_show_levels_scores_previews_and_costs(
    client: httpx.AsyncClient, storage: Storage, project: ProjectFixture, caplog: pytest.LogCaptureFixture
) -> None:
    await seed(client, storage, project)  # quality on traces 0, 3, 6, 9; trace 3 fails; costs 0.001 * i
    r = await client.post("/api/public/ingestion", json={"batch": [CHAT_TRACE]}, auth=project.auth)
    assert r.status_code == 207
    await jobs_done(storage, project.project_id, 2)
    await _as(client, storage, project, Role.MEMBER)
    try:
        with caplog.at_level(logging.DEBUG, logger="app.storage.clickhouse.client"):
            page = await client.get("/traces")
        assert page.status_code == 200 and len(_listed(page.text)) == 13
        tags = [str(rec.args[0]) for rec in caplog.records if isinstance(rec.args, tuple) and rec.args]
        assert sum(t.startswith("scores.") for t in tags) == 1, tags  # the page's scores at once, not per row
        html = page.text

        failed = _row(html, "r-t03")
        assert 'class="level-error"' in failed and '<span class="level-mark"' in failed and "ERROR" in failed
        assert "level-" not in _row(html, "r-t02") and "level-mark" not in _row(html, "r-t02")
        assert '<span class="badge">quality 0.3</span>' in failed
        assert '<span class="badge">quality 0</span>' in _row(html, "r-t00")
        assert "quality" not in _row(html, "r-t01")

        assert '<td class="num cost">$0.001</td>' in _row(html, "r-t01")
        assert '<td class="num cost">$0.00</td>' in _row(html, "r-t00")
        assert '<td class="num cost">$0.011</td>' in _row(html, "r-t11")

        text = "Question number 4 about refunds"
        assert f'<td class="io" title="{text}">{text}</td>' in _row(html, "r-t04")  # not the JSON string
        chat = _row(html, "r-chat")
        assert ">Where is my parcel?</td>" in chat and ">It ships today.</td>" in chat
        assert "role" not in chat and "[{" not in chat

        caplog.clear()
        with caplog.at_level(logging.DEBUG, logger="app.storage.clickhouse.client"):
            narrow = await client.get("/traces", params={"cols": ["cost", "tags"]})
        tags = [str(rec.args[0]) for rec in caplog.records if isinstance(rec.args, tuple) and rec.args]
        assert not any(t.startswith("scores.") for t in tags)  # no scores column, no scores read
        assert "<th>Cost</th><th>Tags</th>" in narrow.text and "badge" not in _row(narrow.text, "r-t00")
    finally:
        client.cookies.clear()


@pytest.mark.parametrize("role", [Role.VIEWER, Role.MEMBER])
async def test_only_admins_see_and_use_delete(
    client: httpx.AsyncClient, storage: Storage, project: ProjectFixture, role: Role
) -> None:
    s = await seed(client, storage, project)
    await _as(client, storage, project, role)
    try:
        listed = await client.get("/traces")
        trace = await client.get(f"/traces/{s.trace_ids[0]}")
        assert "Delete selected traces" not in listed.text and "Delete trace" not in trace.text
        token = csrf_token(trace.text)
        one = await client.post(f"/traces/{s.trace_ids[0]}/delete", data={"_csrf_token": token})
        many = await client.post("/traces/delete", data={"_csrf_token": token, "object_id": s.trace_ids[:2]})
        assert one.status_code == 403 and many.status_code == 403
        assert (await client.get(f"/traces/{s.trace_ids[0]}")).status_code == 200  # still there
    finally:
        client.cookies.clear()


async def test_admins_delete_ticked_traces_and_one_from_its_page(
    client: httpx.AsyncClient, storage: Storage, project: ProjectFixture
) -> None:
    s = await seed(client, storage, project)
    await _as(client, storage, project, Role.ADMIN)
    try:
        listed = await client.get("/traces")
        assert "Delete selected traces" in listed.text
        assert f'value="{s.trace_ids[1]}" form="trace-rows"' in listed.text  # rows tick without any queue
        token = csrf_token(listed.text)
        r = await client.post("/traces/delete", data={"_csrf_token": token, "object_id": s.trace_ids[1:3]})
        assert r.status_code == 303 and r.headers["location"] == "/traces?deleted=2"
        after = await client.get(r.headers["location"])
        assert 'id="deleted"' in after.text and "Deleted 2 traces." in after.text
        assert sorted(_listed(after.text)) == [t for i, t in enumerate(s.trace_ids) if i not in (1, 2)]
        assert "deleted=2" not in after.text.split('id="deleted"')[1]  # the notice is not carried on

        trace = await client.get(f"/traces/{s.trace_ids[3]}")
        assert "Delete trace" in trace.text and "cannot be undone" in trace.text
        r = await client.post(f"/traces/{s.trace_ids[3]}/delete", data={"_csrf_token": token})
        assert r.status_code == 303 and r.headers["location"] == "/traces?deleted=1"
        assert "Deleted 1 trace." in (await client.get(r.headers["location"])).text
        assert (await client.get(f"/traces/{s.trace_ids[3]}")).status_code == 404
        assert (
            await client.get(f"/api/public/traces/{s.trace_ids[3]}", auth=project.auth)
        ).status_code == 404

        again = await client.post(f"/traces/{s.trace_ids[3]}/delete", data={"_csrf_token": token})
        assert again.status_code == 404
        none = await client.post("/traces/delete", data={"_csrf_token": token})
        assert none.status_code == 400 and "object_id" in none.text
    finally:
        client.cookies.clear()

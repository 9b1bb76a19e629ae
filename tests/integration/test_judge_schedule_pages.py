"""The rule's scheduled and backfill runs in the UI: the section, the create form (errors inline, values
kept), progress polled while a backfill runs, cancel, roles, and the section include for the rule page."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from app.evaluation import schedules
from app.storage import Storage
from app.storage.postgres import evaluation_schedules as repo
from app.storage.postgres.tables import Role
from tests.conftest import ProjectFixture, csrf_token, login, make_user, wait_for
from tests.integration.test_judge_schedules import NOW, add_evaluator, add_rule, seed

pytestmark = [pytest.mark.integration]


async def as_role(client: httpx.AsyncClient, storage: Storage, p: ProjectFixture, role: Role) -> None:
    email, password = await make_user(storage, p, role)
    await login(client, email, password)


@pytest.fixture
async def member(client, storage, project: ProjectFixture):  # type: ignore[no-untyped-def]
    await as_role(client, storage, project, Role.MEMBER)
    yield
    client.cookies.clear()  # the client is shared by the session's tests


@pytest.mark.usefixtures("member", "worker")
async def test_a_member_starts_a_backfill_and_watches_its_progress(
    client: httpx.AsyncClient, storage: Storage, project: ProjectFixture
) -> None:
    pid = project.project_id
    await seed(storage, pid)
    rule = await add_rule(storage, pid, [await add_evaluator(storage, pid, "ui")])
    path = f"/evaluation/rules/{rule.id}/schedules"
    shown = await client.get(path)
    assert shown.status_code == 200 and 'id="schedule-form"' in shown.text and "No runs yet" in shown.text
    form = {
        "_csrf_token": csrf_token(shown.text),
        "kind": "range",
        "range_from": (NOW - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
        "range_to": (NOW + timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M"),
        "next": "https://elsewhere.example/",
    }
    started = await client.post(path, data=form, follow_redirects=False)
    assert (started.status_code, started.headers["location"]) == (302, path)  # never an outside address
    [run] = await schedules.list_schedules(storage, pid, rule.id)
    progress = f"{path}/{run.id}/progress"

    async def finished() -> bool:  # the worker runs the job the form enqueued
        return (await schedules.get_schedule(storage, pid, run.id)).status == "done"

    await wait_for(finished)
    done = await client.get(progress)
    assert 'data-status="done"' in done.text and "hx-get" not in done.text  # polling stops
    assert '<strong class="processed">42</strong>' in done.text
    assert '<strong class="enqueued">40</strong>' in done.text
    # while a run goes on, its row polls for progress
    await repo.update_schedule(storage.postgres, pid, run.id, {"status": "running", "processed": 7})
    running = await client.get(progress)
    assert 'data-status="running"' in running.text and f'hx-get="{progress}"' in running.text
    assert '<strong class="processed">7</strong>' in running.text
    section = await client.get(f"{path}/section", params={"next": f"/evaluation/rules/{rule.id}"})
    assert (
        f'id="schedule-{run.id}"' in section.text and f'value="/evaluation/rules/{rule.id}"' in section.text
    )


@pytest.mark.usefixtures("member")
async def test_a_bad_field_shows_inline_with_the_values_kept_and_daily_runs_cancel(
    client: httpx.AsyncClient, storage: Storage, project: ProjectFixture
) -> None:
    pid = project.project_id
    rule = await add_rule(storage, pid, [await add_evaluator(storage, pid, "form")])
    path = f"/evaluation/rules/{rule.id}/schedules"
    token = csrf_token((await client.get(path)).text)
    bad = {"_csrf_token": token, "kind": "daily", "time_of_day": "25:00", "sample_size": "7"}
    refused = await client.post(path, data=bad)
    assert refused.status_code == 400 and 'id="time_of_day-error">Daily at: expected HH:MM' in refused.text
    assert 'value="25:00"' in refused.text and 'value="7"' in refused.text
    assert await schedules.list_schedules(storage, pid, rule.id) == []

    ok = await client.post(path, data={**bad, "time_of_day": "06:45"}, follow_redirects=False)
    assert ok.status_code == 302
    [daily] = await schedules.list_schedules(storage, pid, rule.id)
    assert (daily.kind, daily.status, daily.time_of_day, daily.sample_size) == ("daily", "active", "06:45", 7)
    page = await client.get(path)
    assert "at 06:45 UTC, 7 targets" in page.text
    cancel = await client.post(
        f"{path}/{daily.id}/cancel", data={"_csrf_token": token}, follow_redirects=False
    )
    assert cancel.status_code == 302
    assert (await schedules.get_schedule(storage, pid, daily.id)).status == "cancelled"
    assert (await client.get("/evaluation/rules/no-such-rule/schedules")).status_code == 404


async def test_viewers_see_runs_but_no_forms_and_cannot_post(
    client: httpx.AsyncClient, storage: Storage, project: ProjectFixture
) -> None:
    pid = project.project_id
    rule = await add_rule(storage, pid, [await add_evaluator(storage, pid, "viewer")])
    path = f"/evaluation/rules/{rule.id}/schedules"
    await as_role(client, storage, project, Role.VIEWER)
    try:
        page = await client.get(path)
        assert page.status_code == 200 and 'id="schedule-form"' not in page.text
        posted = await client.post(path, data={"_csrf_token": csrf_token(page.text), "kind": "daily"})
        assert posted.status_code == 403
    finally:
        client.cookies.clear()


@pytest.mark.usefixtures("member")
async def test_the_rule_page_loads_the_section(
    client: httpx.AsyncClient, storage: Storage, project: ProjectFixture
) -> None:
    rule = await add_rule(
        storage, project.project_id, [await add_evaluator(storage, project.project_id, "i")]
    )
    page = await client.get(f"/evaluation/rules/{rule.id}")
    assert page.status_code == 200, page.text
    section = f"/evaluation/rules/{rule.id}/schedules/section?next=/evaluation/rules/{rule.id}"
    assert f'hx-get="{section}"' in page.text and 'hx-trigger="load"' in page.text
    loaded = await client.get(section)
    assert loaded.status_code == 200 and 'id="schedule-form"' in loaded.text
    assert f'name="next" value="/evaluation/rules/{rule.id}"' in loaded.text  # back to the rule page

"""Evaluator pages: list with templates, new from a template, inline errors that keep the values, a new
version on edit, pause reasons shown, settings for admins; viewers are refused on every form."""

from __future__ import annotations

import re
from typing import Any

import pytest

from app.evaluation import evaluators as ev
from app.storage import Storage
from app.storage.postgres.tables import Role
from tests.conftest import ProjectFixture, csrf_token, login, make_user

pytestmark = pytest.mark.integration


def form(token: str, **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "_csrf_token": token,
        "name": "tone",
        "description": "polite?",
        "type": "llm_as_judge",
        "msg_role": ["system", "user"],
        "msg_content": ["You grade tone.", "Is {{output}} polite? Context: {{input}}"],
        "map_variable": ["output", "input"],
        "map_source": ["output", "metadata"],
        "map_path": ["", "$.question"],
        "connection": "",
        "model": "",
        "data_type": "NUMERIC",
        "min_value": "0",
        "max_value": "1",
        "categories": "",
        "reasoning": "",
        "value_hint": "",
    }
    return base | fields


async def test_member_creates_edits_and_pauses(client, storage: Storage, project: ProjectFixture) -> None:
    email, password = await make_user(storage, project, Role.MEMBER)
    await login(client, email, password)
    listing = await client.get("/evaluation/evaluators")
    assert (
        listing.status_code == 200 and "Hallucination" in listing.text and "/evaluation/rules" in listing.text
    )
    assert 'href="/evaluation/evaluators"' in listing.text  # the sidebar entry
    new = await client.get("/evaluation/evaluators/new?template=correctness")
    assert (
        new.status_code == 200
        and "{{expected_output}}" in new.text
        and 'value="expected_output" selected' in new.text
    )
    token = csrf_token(new.text)
    bad = await client.post("/evaluation/evaluators/new", data=form(token, min_value="5", name="kept-name"))
    assert bad.status_code == 400 and 'id="min_value-error">Min: must not exceed maxValue' in bad.text
    assert 'value="kept-name"' in bad.text and "Is {{output}} polite?" in bad.text  # the form keeps values
    nan = await client.post("/evaluation/evaluators/new", data=form(token, max_value="lots"))
    assert nan.status_code == 400 and 'id="max_value-error">Max: must be a number' in nan.text
    created = await client.post("/evaluation/evaluators/new", data=form(token), follow_redirects=False)
    assert created.status_code in (302, 303), created.text
    url = created.headers["location"]
    evaluator_id = url.rsplit("/", 1)[1]
    latest = await ev.latest_version(storage, project.project_id, evaluator_id)
    assert latest.version == 1 and latest.variables == ["output", "input"]
    assert latest.variable_mapping == [
        {"variable": "output", "source": "output", "jsonPath": None},
        {"variable": "input", "source": "metadata", "jsonPath": "$.question"},
    ]
    detail = await client.get(url)
    assert detail.status_code == 200 and "Version 1" in detail.text and "/preview" in detail.text
    changed = form(csrf_token(detail.text), data_type="CATEGORICAL", categories="polite, rude", multiple="on")
    r = await client.post(url, data=changed, follow_redirects=False)
    assert r.status_code in (302, 303), r.text
    latest = await ev.latest_version(storage, project.project_id, evaluator_id)
    assert latest.version == 2 and latest.output_definition["categories"] == ["polite", "rude"]  # type: ignore[index]
    same = await client.post(url, data=changed, follow_redirects=False)
    assert same.status_code in (302, 303)
    assert (await ev.latest_version(storage, project.project_id, evaluator_id)).version == 2  # unchanged
    wrong = await client.post(url, data=form(csrf_token(detail.text), connection="missing", model="m"))
    assert wrong.status_code == 400 and 'id="connection-error">Connection: no LLM connection' in wrong.text
    await ev.pause(
        storage,
        project.project_id,
        evaluator_id,
        "the provider refused the API key (401)",
        "authentication_failed",
    )
    listing = await client.get("/evaluation/evaluators")
    assert "paused" in listing.text and "the provider refused the API key (401)" in listing.text
    detail = await client.get(url)
    assert "authentication_failed" in detail.text and re.search(r"<td>2</td>", detail.text)
    r = await client.post(
        f"{url}/resume", data={"_csrf_token": csrf_token(detail.text)}, follow_redirects=False
    )
    assert r.status_code in (302, 303)
    assert (await ev.fetch_evaluator(storage, project.project_id, evaluator_id)).status == "active"
    r = await client.post(
        f"{url}/delete", data={"_csrf_token": csrf_token(detail.text)}, follow_redirects=False
    )
    assert r.status_code in (302, 303)
    assert (await client.get(url)).status_code == 404

    # viewers read, but every form is refused
    made = await client.post(
        "/evaluation/evaluators/new", data=form(csrf_token(detail.text), name="kept"), follow_redirects=False
    )
    kept_url = made.headers["location"]
    email, password = await make_user(storage, project, Role.VIEWER)
    await login(client, email, password)
    page = await client.get(kept_url)
    assert page.status_code == 200 and "Members change evaluators" in page.text
    token = csrf_token(page.text)
    for path in (
        "/evaluation/evaluators/new",
        kept_url,
        f"{kept_url}/pause",
        f"{kept_url}/resume",
        f"{kept_url}/delete",
    ):
        r = await client.post(path, data=form(token), follow_redirects=False)
        assert r.status_code == 403, (path, r.status_code)
    assert (await client.get("/evaluation/evaluators/new")).status_code == 403


async def test_settings_page_admins_change_it(client, storage: Storage, project: ProjectFixture) -> None:
    email, password = await make_user(storage, project, Role.MEMBER)
    await login(client, email, password)
    page = await client.get("/settings/evaluation")
    assert page.status_code == 200 and "Admins change these settings" in page.text
    r = await client.post("/settings/evaluation", data={"_csrf_token": csrf_token(page.text), "cap": "3"})
    assert r.status_code == 403
    email, password = await make_user(storage, project, Role.ADMIN)
    await login(client, email, password)
    token = csrf_token((await client.get("/settings/evaluation")).text)
    bad = await client.post("/settings/evaluation", data={"_csrf_token": token, "cap": "-2", "code": "on"})
    assert bad.status_code == 400 and 'id="cap-error">Daily judge-cost cap: a number' in bad.text
    assert 'value="-2"' in bad.text
    orphan = await client.post("/settings/evaluation", data={"_csrf_token": token, "model": "m"})
    assert orphan.status_code == 400 and 'id="connection-error">Connection: required' in orphan.text
    ok = await client.post(
        "/settings/evaluation",
        data={"_csrf_token": token, "cap": "2.5", "code": "on"},
        follow_redirects=False,
    )
    assert ok.status_code in (302, 303)
    page = await client.get("/settings/evaluation")
    assert 'value="2.5"' in page.text and re.search(r'name="code" checked', page.text)
    new = await client.get("/evaluation/evaluators/new")
    assert "Code (Python)" in new.text  # code evaluators offered once enabled

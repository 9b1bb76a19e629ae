"""The rules UI: list with counts and toggle, the form (filter builder, mapping) with inline errors that
keep what was typed, edit and delete; viewers read only."""

from __future__ import annotations

import asyncio
import html
import re

import httpx
import pytest

from app.evaluation import rules
from app.evaluation.rules import RuleSpec
from app.storage import Storage
from app.storage.postgres import executions
from app.storage.postgres.eval_tables import JobExecution
from app.storage.postgres.tables import Role
from tests.conftest import ProjectFixture, csrf_token, login, make_user
from tests.integration.test_judge_rules import Ingest, make_evaluator, recording_server, sdk_default_flow
from tests.integration.test_judge_rules import ingest as ingest

pytestmark = pytest.mark.integration


async def test_member_builds_edits_toggles_and_deletes_a_rule(
    client: httpx.AsyncClient, storage: Storage, project: ProjectFixture
) -> None:
    ev = await make_evaluator(storage, project.project_id)
    email, password = await make_user(storage, project, Role.MEMBER)
    await login(client, email, password)
    try:
        empty = await client.get("/evaluation/rules")
        assert empty.status_code == 200 and "No rules yet" in empty.text
        form = await client.get("/evaluation/rules/new")
        assert (
            form.status_code == 200 and "helpfulness" in form.text and f"map:{ev}:input:source" in form.text
        )
        token = csrf_token(form.text)
        base = {
            "_csrf_token": token,
            "name": "gens of checkout",
            "enabled": "on",
            "target": "observation",
            "sampling": "0.5",
            "delay_seconds": "5",
            "f_column": ["traceName", "metadata", ""],
            "f_operator": ["any of", "=", "any of"],
            "f_key": ["", "tenant", ""],
            "f_value": ["checkout, cart", "acme", ""],
            "evaluator": ev,
            f"map:{ev}:input:source": "input",
            f"map:{ev}:output:source": "metadata",
            f"map:{ev}:output:path": "$.answer",
        }
        bad = await client.post("/evaluation/rules", data={**base, "f_operator": ["=", "=", ""]})
        assert bad.status_code == 400
        page = html.unescape(bad.text)
        assert 'id="filter-error">Filter[0].operator: stringOptions filters take any of, none of' in page
        assert 'value="gens of checkout"' in page and 'value="checkout, cart"' in page  # kept as typed
        bad = await client.post("/evaluation/rules", data={**base, f"map:{ev}:output:source": ""})
        assert bad.status_code == 400
        assert "no mapping for output" in html.unescape(bad.text)
        created = await client.post("/evaluation/rules", data=base, follow_redirects=False)
        assert created.status_code == 302, created.text
        url = created.headers["location"]
        rule_id = url.rsplit("/", 1)[1]
        shown = html.unescape((await client.get(url)).text)
        assert 'value="checkout, cart"' in shown and 'value="$.answer"' in shown and 'value="0.5"' in shown
        r = await client.post(
            url, data={**base, "name": "renamed", "target": "session"}, follow_redirects=False
        )
        assert r.status_code == 302
        await executions.create_pending(
            storage.postgres,
            [
                JobExecution(
                    project_id=project.project_id,
                    rule_id=rule_id,
                    evaluator_id=ev,
                    evaluator_version_id="v",
                    target_kind="session",
                    target_key="s1",
                    status=status,
                )
                for status in ("PENDING",)
            ],
        )
        listed = html.unescape((await client.get("/evaluation/rules")).text)
        assert "renamed" in listed and "session (idle 30 min)" in listed and "pending 1" in listed
        assert "50 %" in listed and 'aria-pressed="true"' in listed
        r = await client.post(
            f"/evaluation/rules/{rule_id}/toggle", data={"_csrf_token": token}, follow_redirects=False
        )
        assert r.status_code == 302
        assert 'aria-pressed="false"' in (await client.get("/evaluation/rules")).text
        r = await client.post(
            f"/evaluation/rules/{rule_id}/delete", data={"_csrf_token": token}, follow_redirects=False
        )
        assert r.status_code == 302
        assert (await client.get(url)).status_code == 404
    finally:
        client.cookies.clear()


async def test_viewer_reads_but_cannot_change_rules(
    client: httpx.AsyncClient, storage: Storage, project: ProjectFixture
) -> None:
    email, password = await make_user(storage, project, Role.VIEWER)
    await login(client, email, password)
    try:
        listed = await client.get("/evaluation/rules")
        assert listed.status_code == 200 and "New rule" not in listed.text
        assert (await client.get("/evaluation/rules/new")).status_code == 403
        r = await client.post("/evaluation/rules", data={"_csrf_token": csrf_token(listed.text), "name": "x"})
        assert r.status_code == 403
    finally:
        client.cookies.clear()


async def test_the_rules_list_pages_through_every_rule(
    client: httpx.AsyncClient, storage: Storage, project: ProjectFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.dashboards import rule_pages

    monkeypatch.setattr(rule_pages, "RULES_PAGE", 2)
    evaluator_id = await make_evaluator(storage, project.project_id)
    for n in range(5):
        spec = RuleSpec(
            name=f"paged-{n}", enabled=True, evaluator_assignments=[{"evaluatorId": evaluator_id}]
        )
        await rules.create_rule(storage, project.project_id, spec)
    email, password = await make_user(storage, project, Role.VIEWER)
    await login(client, email, password)
    try:
        seen, page_url = [], "/evaluation/rules"
        while page_url:
            r = await client.get(page_url)
            assert r.status_code == 200, r.text
            seen.append(re.findall(r">(paged-\d)<", r.text))
            found = re.search(r'<a href="([^"]+)" rel="next">', r.text)
            page_url = html.unescape(found[1]) if found else ""
        assert seen == [["paged-4", "paged-3"], ["paged-2", "paged-1"], ["paged-0"]]
        bad = await client.get("/evaluation/rules", params={"after": "nope"})
        assert bad.status_code == 400 and "cursor" in bad.text
    finally:
        client.cookies.clear()


async def test_preview_shows_the_mapped_values_of_a_chosen_observation(
    client: httpx.AsyncClient, storage: Storage, project: ProjectFixture, ingest: Ingest
) -> None:
    ev = await make_evaluator(storage, project.project_id)
    gens = {"type": "stringOptions", "column": "type", "operator": "any of", "value": ["GENERATION"]}
    await rules.create_rule(
        storage, project.project_id, RuleSpec("g", True, [{"evaluatorId": ev}], [gens], target="observation")
    )
    with recording_server() as rec:
        trace_id = await asyncio.to_thread(sdk_default_flow, rec, project)
    await ingest.run(project.project_id, rec.exports)
    [gen] = ingest.created
    email, password = await make_user(storage, project, Role.VIEWER)
    await login(client, email, password)
    try:
        params = {
            "target": "observation",
            "evaluator": ev,
            f"map:{ev}:input:source": "output",
            f"map:{ev}:output:source": "output",
            f"map:{ev}:output:path": "$.content",
            "preview_observation": gen.target_observation_id,
            "preview_trace": trace_id,
        }
        shown = html.unescape((await client.get("/evaluation/rules/preview", params=params)).text)
        assert "helpfulness" in shown and "<pre>hello</pre>" in shown and '"role": "assistant"' in shown
        none = await client.get("/evaluation/rules/preview", params={**params, "preview_observation": ""})
        assert "Give an observation id" in none.text
        gone = await client.get("/evaluation/rules/preview", params={**params, "preview_observation": "nope"})
        assert "not found" in html.unescape(gone.text)
        trace_params = {
            **params,
            "target": "trace",
            f"map:{ev}:input:source": "input",
            f"map:{ev}:output:path": "",
        }
        whole = html.unescape((await client.get("/evaluation/rules/preview", params=trace_params)).text)
        assert '"q": "hi"' in whole and "<pre>done</pre>" in whole  # the trace's own input and output
    finally:
        client.cookies.clear()

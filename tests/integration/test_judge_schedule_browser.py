"""In Chromium, against a first-started `langhouse serve`: a rule made over the v2 API, its page loads the
runs section (htmx), a backfill started from the form runs on the worker and its row shows the progress
until done; at laptop and phone width, without console errors or horizontal overflow. Screenshots are
saved as test artifacts."""

from __future__ import annotations

import base64
import re
import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import free_port
from tests.integration.reads_data import trace_events
from tests.integration.test_browser import ARTIFACTS, CHROMIUM_ARGS, LAPTOP, PHONE
from tests.integration.test_serve import Server, start, stop, wait_healthy

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian chromium is not installed"),
]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, dict[str, str], str]]:
    """A server with three stored traces and a rule (disabled: only the backfill judges); yields the
    server, the login and the rule id."""
    tmp = tmp_path_factory.mktemp("schedule-browser")
    ARTIFACTS.mkdir(exist_ok=True)
    server = start(tmp / "data", free_port(), tmp / "serve.log")
    try:
        wait_healthy(server)
        out = server.output()
        found = {
            k: re.search(rf"{k}\s+(\S+)", out) for k in ("Email", "Password", "Public key", "Secret key")
        }
        creds = {k: m[1] for k, m in found.items() if m}
        assert len(creds) == 4, out
        token = base64.b64encode(f"{creds['Public key']}:{creds['Secret key']}".encode()).decode()
        api = httpx.Client(base_url=server.base_url, headers={"Authorization": f"Basic {token}"})
        at = datetime.now(UTC) - timedelta(minutes=30)
        batch = [e for i in range(3) for e in trace_events(i, at + timedelta(minutes=i), "s")]
        assert api.post("/api/public/ingestion", json={"batch": batch}).status_code == 207
        for _ in range(120):
            if api.get("/api/public/traces").json()["meta"]["totalItems"] == 3:
                break
            time.sleep(0.25)
        conn = {
            "provider": "judge",
            "adapter": "openai",
            "secretKey": "sk-unused-0000",
            "baseURL": "http://127.0.0.1:9/v1",
        }
        assert api.put("/api/public/llm-connections", json=conn).status_code == 200
        evaluator = {
            "type": "llm_as_judge",
            "name": "tone",
            "prompt": "Judge {{output}}",
            "outputDefinition": {"dataType": "BOOLEAN"},
            "modelConfig": {"provider": "judge", "model": "gpt-4o-mini"},
        }
        made = api.post("/api/public/v2/evaluators", json=evaluator)
        assert made.status_code == 201, made.text
        rule = {
            "name": "tone of every span",
            "enabled": False,
            "evaluatorAssignments": [{"evaluatorId": made.json()["id"]}],
        }
        created = api.post("/api/public/v2/evaluation-rules", json=rule)
        assert created.status_code == 201, created.text
        yield server, creds, str(created.json()["id"])
    finally:
        stop(server)


def test_a_backfill_from_the_rule_page_in_chromium(site: tuple[Server, dict[str, str], str]) -> None:
    from playwright.sync_api import sync_playwright

    server, creds, rule_id = site
    rule_url = f"{server.base_url}/evaluation/rules/{rule_id}"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport=LAPTOP)
            page = context.new_page()
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{server.base_url}/login")
            page.fill("input[name=email]", creds["Email"])
            page.fill("input[name=password]", creds["Password"])
            page.click("button[type=submit]")
            page.wait_for_load_state("networkidle")

            page.goto(rule_url)
            page.wait_for_selector("#schedule-form")  # the section, loaded by htmx
            assert "No runs yet" in page.inner_text("#rule-schedules")
            now = datetime.now(UTC)
            page.select_option("#schedule-form select[name=kind]", "range")
            page.fill(
                "#schedule-form input[name=range_from]", (now - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
            )
            page.fill(
                "#schedule-form input[name=range_to]", (now + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M")
            )
            page.click("#schedule-form button[type=submit]")
            page.wait_for_url(rule_url)
            page.wait_for_selector("#rule-schedules tr[data-status=done]", timeout=30000)
            row = page.inner_text("#rule-schedules tr[data-status=done]")
            assert "Backfill" in row and "judgments queued" in row
            assert int(page.inner_text("#rule-schedules tr[data-status=done] .enqueued")) > 0
            page.screenshot(path=str(ARTIFACTS / "rule-schedules.png"), full_page=True)

            page.fill("#schedule-form input[name=time_of_day]", "25:99")
            page.fill("#schedule-form input[name=sample_size]", "12")
            page.select_option("#schedule-form select[name=kind]", "daily")
            page.evaluate(
                "document.querySelector('#schedule-form input[name=time_of_day]').removeAttribute('pattern')"
            )
            page.click("#schedule-form button[type=submit]")
            page.wait_for_selector("#time_of_day-error")
            assert page.inner_text("#time_of_day-error").startswith("Daily at: expected HH:MM")
            assert (
                page.evaluate("document.activeElement.name") == "time_of_day"
            )  # the bad field has the focus
            assert page.input_value("#schedule-form input[name=time_of_day]") == "25:99"  # kept as typed
            assert page.input_value("#schedule-form input[name=sample_size]") == "12"
            assert errors == [
                "Failed to load resource: the server responded with a status of 400 (Bad Request)"
            ]
            errors.clear()  # the refused form's answer, as expected

            for viewport, name in ((LAPTOP, "laptop"), (PHONE, "phone")):
                page.set_viewport_size(viewport)
                response: Any = page.goto(f"{rule_url}/schedules")
                assert response is not None and response.status == 200
                page.screenshot(path=str(ARTIFACTS / f"rule-schedules-{name}.png"), full_page=True)
                width = page.evaluate("document.documentElement.scrollWidth")
                assert width <= viewport["width"] + 1, (
                    f"the runs page is {width} px wide at {viewport['width']}"
                )
            assert errors == []
            context.close()
        finally:
            browser.close()

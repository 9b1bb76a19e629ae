"""In Chromium, against a first-started `langhouse serve` and the fake judge: a span judged by a rule made
over the public API shows on the executions page (counts, target and judge-trace links); the evaluator
preview renders the prompt and shows the judge's answer; at laptop and phone width, without console
errors or horizontal overflow. Screenshots are saved as test artifacts."""

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
from tests.integration.fake_llm import API_KEY, FakeLlm, fake_llm
from tests.integration.reads_data import trace_events
from tests.integration.test_browser import ARTIFACTS, CHROMIUM_ARGS, LAPTOP, PHONE
from tests.integration.test_serve import Server, start, stop, wait_healthy

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian chromium is not installed"),
]


def _until(check: Any, timeout_s: float = 60) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if found := check():
            return found
        time.sleep(0.25)
    raise AssertionError("condition not met")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, dict[str, str], str, FakeLlm]]:
    """A server judging every span with the fake judge; yields the server, the login, the evaluator id."""
    tmp = tmp_path_factory.mktemp("executions-browser")
    ARTIFACTS.mkdir(exist_ok=True)
    with fake_llm() as fake:
        server = start(tmp / "data", free_port(), tmp / "serve.log")
        try:
            wait_healthy(server)
            out = server.output()
            found = {
                k: re.search(rf"{k}\s+(\S+)", out) for k in ("Email", "Password", "Public key", "Secret key")
            }
            creds = {k: m[1] for k, m in found.items() if m}
            token = base64.b64encode(f"{creds['Public key']}:{creds['Secret key']}".encode()).decode()
            api = httpx.Client(base_url=server.base_url, headers={"Authorization": f"Basic {token}"})
            conn = {"provider": "judge", "adapter": "openai", "secretKey": API_KEY, "baseURL": fake.base_url}
            assert api.put("/api/public/llm-connections", json=conn).status_code == 200
            evaluator = {
                "type": "llm_as_judge",
                "name": "helpfulness",
                "prompt": "Question: {{input}}\nAnswer: {{output}}",
                "outputDefinition": {"dataType": "NUMERIC", "minValue": 0, "maxValue": 1},
                "modelConfig": {"provider": "judge", "model": "gpt-4o-mini"},
            }
            made = api.post("/api/public/v2/evaluators", json=evaluator)
            assert made.status_code == 201, made.text
            rule = {
                "name": "every span",
                "enabled": True,
                "delaySeconds": 0,
                "evaluatorAssignments": [{"evaluatorId": made.json()["id"]}],
            }
            assert api.post("/api/public/v2/evaluation-rules", json=rule).status_code == 201
            batch = trace_events(0, datetime.now(UTC) - timedelta(minutes=1), "s")
            assert api.post("/api/public/ingestion", json={"batch": batch}).status_code == 207

            def completed() -> bool:
                data = api.get("/api/public/v2/evaluation-executions").json()["data"]
                return bool(data) and all(e["status"] == "COMPLETED" for e in data)

            _until(completed)
            yield server, creds, str(made.json()["id"]), fake
        finally:
            stop(server)


def test_executions_and_preview_in_chromium(site: tuple[Server, dict[str, str], str, FakeLlm]) -> None:
    from playwright.sync_api import sync_playwright

    server, creds, evaluator_id, _ = site
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

            page.goto(f"{server.base_url}/evaluation/executions")
            rows = page.locator("tr[data-status=COMPLETED]")
            assert rows.count() >= 1
            assert int(page.inner_text("[data-status=COMPLETED] .big")) == rows.count()
            first = rows.first
            assert "helpfulness" in first.inner_text() and "every span" in first.inner_text()
            first.locator("a", has_text="judge trace").click()
            page.wait_for_load_state("networkidle")
            assert "Execute evaluator: helpfulness" in page.content()

            page.goto(f"{server.base_url}/evaluation/executions")
            observation = page.locator("tr[data-status=COMPLETED] td:nth-child(3) a").first.inner_text()
            obs_id = observation.removeprefix("observation ").strip()
            preview = f"{server.base_url}/evaluation/evaluators/{evaluator_id}/preview?observation={obs_id}"
            for viewport, name in ((LAPTOP, "laptop"), (PHONE, "phone")):
                page.set_viewport_size(viewport)
                for url, shot in (
                    (f"{server.base_url}/evaluation/executions", "executions"),
                    (preview, "preview"),
                ):
                    response: Any = page.goto(url)
                    assert response is not None and response.status == 200
                    page.screenshot(path=str(ARTIFACTS / f"judge-{shot}-{name}.png"), full_page=True)
                    width = page.evaluate("document.documentElement.scrollWidth")
                    assert width <= viewport["width"] + 1, f"{shot} is {width} px wide at {viewport['width']}"
            page.set_viewport_size(LAPTOP)
            page.goto(preview)
            assert "Question:" in page.inner_text("#rendered")
            assert "project_id=" not in page.inner_text("footer")  # the page's own names stay its own
            page.click("#rendered button[type=submit]")
            page.wait_for_selector("#answer")
            assert "The answer is correct and complete." in page.inner_text("#answer")
            page.screenshot(path=str(ARTIFACTS / "judge-preview-answer.png"), full_page=True)
            assert errors == []
            context.close()
        finally:
            browser.close()

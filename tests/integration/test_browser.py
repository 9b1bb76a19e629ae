"""In Chromium: log in, see the project, run the GraphiQL default query, browse traces and prompts, run the
playground; no console errors, nothing wider than a phone screen."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.integration.test_serve import start, stop, wait_healthy

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian chromium is not installed"),
]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def test_login_home_and_graphiql_in_chromium(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    server = start(tmp_path / "data", free_port(), tmp_path / "serve.log")
    try:
        wait_healthy(server)
        email = re.search(r"Email\s+(\S+)", server.output())
        password = re.search(r"Password\s+(\S+)", server.output())
        assert email and password
        errors: list[str] = []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1200, "height": 800})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))

            page.goto(f"{server.base_url}/")
            assert "/login" in page.url
            page.fill("input[name=email]", email[1])
            page.fill("input[name=password]", "wrong password")
            page.click("button[type=submit]")
            assert "Wrong email or password" in page.inner_text("[role=alert]")
            errors.clear()  # the 401 of the failed login is logged by the browser on purpose
            page.fill("input[name=password]", password[1])
            page.click("button[type=submit]")
            page.wait_for_load_state("networkidle")
            assert page.inner_text("h1") == "Default Project"
            page.screenshot(path=str(ARTIFACTS / "home.png"))

            page.set_viewport_size({"width": 390, "height": 844})  # phone width
            page.goto(f"{server.base_url}/settings/api-keys")
            page.click("text=Create API key")
            assert page.inner_text("#new-secret-key").startswith("sk-lh-")
            page.screenshot(path=str(ARTIFACTS / "api-keys-phone.png"), full_page=True)
            page.set_viewport_size({"width": 1200, "height": 800})

            page.goto(f"{server.base_url}/api/graphql")
            page.wait_for_selector(".graphiql-execute-button", timeout=20000)
            page.click(".graphiql-execute-button")
            page.wait_for_function(
                "document.querySelector('.result-window')?.innerText.includes('Default Project')"
            )
            assert '"role": "OWNER"' in page.inner_text(".result-window")
            page.screenshot(path=str(ARTIFACTS / "graphiql.png"))
            browser.close()
        assert errors == []
    finally:
        stop(server)


def test_traces_trace_detail_score_dashboard_session_and_prompts_in_chromium(tmp_path: Path) -> None:
    import base64

    import httpx
    from playwright.sync_api import sync_playwright

    from tests.integration.reads_data import trace_events

    ARTIFACTS.mkdir(exist_ok=True)
    server = start(tmp_path / "data", free_port(), tmp_path / "serve.log")
    try:
        wait_healthy(server)
        out = server.output()
        found = {
            k: re.search(rf"{k}\s+(\S+)", out) for k in ("Email", "Password", "Public key", "Secret key")
        }
        assert all(found.values())
        creds = {k: m[1] for k, m in found.items() if m}
        from datetime import UTC, datetime, timedelta

        start_at = datetime.now(UTC) - timedelta(minutes=20)
        batch = [e for i in range(6) for e in trace_events(i, start_at + timedelta(minutes=i), "b")]
        auth = base64.b64encode(f"{creds['Public key']}:{creds['Secret key']}".encode()).decode()
        r = httpx.post(
            f"{server.base_url}/api/public/ingestion",
            json={"batch": batch},
            headers={"Authorization": f"Basic {auth}"},
        )
        assert r.status_code == 207
        errors: list[str] = []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{server.base_url}/login")
            page.fill("input[name=email]", creds["Email"])
            page.fill("input[name=password]", creds["Password"])
            page.click("button[type=submit]")
            page.wait_for_load_state("networkidle")
            for _ in range(60):  # the worker writes the batch within moments
                page.goto(f"{server.base_url}/traces")
                if page.locator("table.traces a[href^='/traces/b-t']").count() == 6:
                    break
                page.wait_for_timeout(500)
            page.fill("input[name=user]", "user-1")
            page.click("form.filters button[type=submit]")
            page.wait_for_load_state("networkidle")
            assert "user=user-1" in page.url
            rows = page.locator("table.traces a[href^='/traces/b-t']")
            assert rows.count() == 2  # traces 1 and 4
            page.screenshot(path=str(ARTIFACTS / "traces.png"))
            page.click("a[href='/traces/b-t04']")
            page.wait_for_load_state("networkidle")
            assert page.locator(".node").count() == 2
            page.click(".node a:has-text('llm')")
            page.wait_for_load_state("networkidle")
            assert "Question number 4 about refunds" in page.inner_text(".detail")
            assert page.locator(".bar span").count() == 2  # the timeline
            page.fill(".add-score input[name=name]", "correct")
            page.fill(".add-score input[name=value]", "1")
            page.select_option(".add-score select[name=data_type]", "BOOLEAN")
            page.click(".add-score button[type=submit]")
            page.wait_for_load_state("networkidle")
            assert "correct" in page.inner_text("section.card:has(h2:text('Scores'))")
            page.screenshot(path=str(ARTIFACTS / "trace.png"), full_page=True)

            page.goto(f"{server.base_url}/")
            page.wait_for_selector("#chart-volume .main-svg", timeout=20000)  # Plotly drew the figure
            assert page.locator(".plot .main-svg").count() >= 6
            page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
            page.goto(f"{server.base_url}/sessions/session-1")
            assert page.locator("section.turn").count() == 2  # traces 1 and 5
            page.screenshot(path=str(ARTIFACTS / "session.png"), full_page=True)

            # prompts: two versions through the REST API, then the list, a folder, the prompt and the diff
            for text in (
                "You triage {{product}} tickets.\nBe brief.",
                "You triage {{product}} tickets.\nBe kind.",
            ):
                r = httpx.post(
                    f"{server.base_url}/api/public/v2/prompts",
                    json={"name": "support/triage", "prompt": text, "commitMessage": "tone"},
                    headers={"Authorization": f"Basic {auth}"},
                )
                assert r.status_code == 201
            page.goto(f"{server.base_url}/prompts")
            page.click("table.prompts a:has-text('support/')")
            page.wait_for_load_state("networkidle")
            page.click("table.prompts a:has-text('triage')")
            page.wait_for_load_state("networkidle")
            assert page.inner_text("h1") == "support/triage"
            assert page.locator(".versions li").count() == 2
            page.click("#diff button[type=submit]")  # v1 → v2 chosen by default
            page.wait_for_load_state("networkidle")
            assert page.inner_text("pre.diff .add") == "+Be kind."
            assert page.inner_text("pre.diff .del") == "-Be brief."
            page.screenshot(path=str(ARTIFACTS / "prompt.png"), full_page=True)
            page.click("#new-version")
            page.wait_for_load_state("networkidle")
            page.fill("textarea[name=text]", "You triage {{product}} tickets.\nBe exact.")
            page.fill("input[name=commit_message]", "exact")
            page.click("#save-prompt")
            page.wait_for_load_state("networkidle")
            assert page.url.endswith("/prompts/support/triage?version=3")
            assert page.locator(".versions li").count() == 3
            page.goto(f"{server.base_url}/prompts/new")
            page.check("input[name=mode][value=chat]")
            assert page.is_visible("#chat-editor") and not page.is_visible("#text-editor")
            page.click("#add-placeholder")
            assert page.locator("#messages .msg-row").count() == 3

            page.set_viewport_size(
                {"width": 390, "height": 844}
            )  # phone width: nothing wider than the screen
            for name, path in (
                ("traces-phone", "/traces"),
                ("trace-phone", "/traces/b-t04"),
                ("prompts-phone", "/prompts?folder=support"),
                ("prompt-phone", "/prompts/support/triage?from=1&to=2"),
                ("prompt-form-phone", "/prompts/new?name=support/triage"),
            ):
                page.goto(f"{server.base_url}{path}")
                page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
                assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1, path
            browser.close()
        assert errors == []
    finally:
        stop(server)


def test_playground_streams_an_answer_in_chromium(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    from tests.integration.fake_llm import API_KEY, REPLY, fake_llm

    ARTIFACTS.mkdir(exist_ok=True)
    server = start(tmp_path / "data", free_port(), tmp_path / "serve.log")
    try:
        wait_healthy(server)
        email = re.search(r"Email\s+(\S+)", server.output())
        password = re.search(r"Password\s+(\S+)", server.output())
        assert email and password
        errors: list[str] = []
        with fake_llm() as llm, sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{server.base_url}/login")
            page.fill("input[name=email]", email[1])
            page.fill("input[name=password]", password[1])
            page.click("button[type=submit]")
            page.wait_for_load_state("networkidle")

            page.goto(f"{server.base_url}/settings/llm-connections")
            add = "form[action='/settings/llm-connections']"
            page.fill(f"{add} input[name=name]", "local")
            page.fill(f"{add} input[name=base_url]", llm.base_url)
            page.fill(f"{add} input[name=models]", "fake-model")
            page.fill(f"{add} input[name=api_key]", API_KEY)
            page.click(f"{add} button[type=submit]")
            page.wait_for_load_state("networkidle")
            assert "…cdef" in page.inner_text("table") and API_KEY not in page.content()

            page.goto(f"{server.base_url}/playground")
            page.fill("#messages .msg-row:nth-child(1) textarea", "You speak like {{persona}}.")
            page.fill("#messages .msg-row:nth-child(2) textarea", "Say hello.")
            page.wait_for_selector("input[name='var:persona']")  # the inputs follow the prompt (htmx)
            page.fill("input[name='var:persona']", "a pirate")
            page.click("#add-message")
            assert page.locator("#messages .msg-row").count() == 3
            page.click("#messages .msg-row:nth-child(3) button.remove")
            page.click("#run")
            page.wait_for_selector("#stats:not([hidden])")
            assert page.inner_text("#output") == "".join(REPLY)
            assert page.locator("#output b").count() == 0  # the model's markup stays text
            assert page.inner_text("#stat-input") == "12" and page.inner_text("#stat-output") == "5"
            assert page.get_attribute("#stat-trace", "href", timeout=1000).startswith("/traces/")
            sent = llm.requests[-1]["body"]["messages"]
            assert sent == [
                {"role": "system", "content": "You speak like a pirate."},
                {"role": "user", "content": "Say hello."},
            ]
            page.screenshot(path=str(ARTIFACTS / "playground.png"), full_page=True)
            browser.close()
        assert errors == []
    finally:
        stop(server)

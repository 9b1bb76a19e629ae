"""In Chromium: log in, see the project, run the GraphiQL default query; no console errors."""

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

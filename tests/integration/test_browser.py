"""In Chromium, against one `langhouse serve` seeded once: login, GraphiQL, traces → trace → score,
prompts (folder, versions, diff, new version), the playground, every page at laptop and phone width
without console errors or horizontal overflow, and the main flow driven by the keyboard alone.
Screenshots are saved as test artifacts."""

from __future__ import annotations

import base64
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import free_port
from tests.integration.reads_data import trace_events
from tests.integration.test_serve import Server, start, stop, wait_healthy

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian chromium is not installed"),
]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
LAPTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@dataclass
class Site:
    server: Server
    email: str
    password: str
    api_headers: dict[str, str]

    @property
    def url(self) -> str:
        return self.server.base_url


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A first-started server with six traces (b-t00 … b-t05) written by the worker."""
    tmp = tmp_path_factory.mktemp("browser")
    ARTIFACTS.mkdir(exist_ok=True)
    server = start(tmp / "data", free_port(), tmp / "serve.log")
    try:
        wait_healthy(server)
        out = server.output()
        keys = ("Email", "Password", "Public key", "Secret key")
        found = {k: re.search(rf"{k}\s+(\S+)", out) for k in keys}
        creds = {k: m[1] for k, m in found.items() if m}
        assert len(creds) == 4, out
        start_at = datetime.now(UTC) - timedelta(minutes=20)
        batch = [e for i in range(6) for e in trace_events(i, start_at + timedelta(minutes=i), "b")]
        auth = base64.b64encode(f"{creds['Public key']}:{creds['Secret key']}".encode()).decode()
        headers = {"Authorization": f"Basic {auth}"}
        r = httpx.post(f"{server.base_url}/api/public/ingestion", json={"batch": batch}, headers=headers)
        assert r.status_code == 207
        for _ in range(120):  # the worker writes the batch within moments
            listed = httpx.get(f"{server.base_url}/api/public/traces", headers=headers).json()
            if listed["meta"]["totalItems"] == 6:
                break
            import time

            time.sleep(0.25)
        else:
            raise AssertionError("the seeded traces never appeared")
        yield Site(server, creds["Email"], creds["Password"], headers)
    finally:
        stop(server)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def login_state(site: Site, browser: Any) -> dict[str, Any]:
    """Cookies of a logged-in session, for pages that do not test the login itself."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{site.url}/login")
    page.fill("input[name=email]", site.email)
    page.fill("input[name=password]", site.password)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    state: dict[str, Any] = context.storage_state()
    context.close()
    return state


Opener = Callable[..., tuple[Any, list[str]]]


@pytest.fixture
def open_page(browser: Any) -> Iterator[Opener]:
    """New pages (logged in or not) that record console errors and page errors."""
    contexts: list[Any] = []

    def open_(
        state: dict[str, Any] | None = None, viewport: dict[str, int] = LAPTOP
    ) -> tuple[Any, list[str]]:
        context = browser.new_context(storage_state=state, viewport=viewport)
        contexts.append(context)
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        return page, errors

    yield open_
    for context in contexts:
        context.close()


def test_login_home_and_graphiql_in_chromium(site: Site, open_page: Opener) -> None:
    page, errors = open_page()
    page.goto(f"{site.url}/")
    assert "/login" in page.url
    page.fill("input[name=email]", site.email)
    page.fill("input[name=password]", "wrong password")
    page.click("button[type=submit]")
    assert "Wrong email or password" in page.inner_text("[role=alert]")
    errors.clear()  # the 401 of the failed login is logged by the browser on purpose
    page.fill("input[name=password]", site.password)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.inner_text("h1") == "Default Project"
    page.screenshot(path=str(ARTIFACTS / "home.png"))

    page.set_viewport_size(PHONE)
    page.goto(f"{site.url}/settings/api-keys")
    page.click("text=Create API key")
    assert page.inner_text("#new-secret-key").startswith("sk-lh-")
    page.screenshot(path=str(ARTIFACTS / "api-keys-phone.png"), full_page=True)
    page.set_viewport_size(LAPTOP)

    page.goto(f"{site.url}/api/graphql")
    page.wait_for_selector(".graphiql-execute-button", timeout=20000)
    page.click(".graphiql-execute-button")
    page.wait_for_function("document.querySelector('.result-window')?.innerText.includes('Default Project')")
    assert '"role": "OWNER"' in page.inner_text(".result-window")
    page.screenshot(path=str(ARTIFACTS / "graphiql.png"))
    assert errors == []


@pytest.mark.parametrize("width", ["laptop", "phone"])
def test_graphiql_logged_out_goes_through_login_and_links_back(
    site: Site, open_page: Opener, width: str
) -> None:
    page, errors = open_page(viewport=LAPTOP if width == "laptop" else PHONE)
    page.goto(f"{site.url}/api/graphql")
    assert page.url == f"{site.url}/login?next=%2Fapi%2Fgraphql"
    page.fill("input[name=email]", site.email)
    page.fill("input[name=password]", site.password)
    page.click("button[type=submit]")
    page.wait_for_selector(".graphiql-execute-button", timeout=20000)
    assert page.url == f"{site.url}/api/graphql"
    assert page.is_visible("#back-to-app")
    page.screenshot(path=str(ARTIFACTS / f"graphiql-back-link-{width}.png"))
    page.click("#back-to-app")
    page.wait_for_load_state("networkidle")
    assert page.url == f"{site.url}/" and page.inner_text("h1") == "Default Project"
    assert errors == []


def test_traces_trace_detail_score_dashboard_and_session_in_chromium(
    site: Site, open_page: Opener, login_state: dict[str, Any]
) -> None:
    page, errors = open_page(login_state)
    page.goto(f"{site.url}/traces")
    assert page.locator("table.traces a[href^='/traces/b-t']").count() == 6
    page.fill("input[name=user]", "user-1")
    page.click("form.filters button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "user=user-1" in page.url
    assert page.locator("table.traces a[href^='/traces/b-t']").count() == 2  # traces 1 and 4
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

    page.goto(f"{site.url}/")
    page.wait_for_selector("#chart-volume .main-svg", timeout=20000)  # Plotly drew the figure
    assert page.locator(".plot .main-svg").count() >= 6
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
    page.goto(f"{site.url}/sessions/session-1")
    assert page.locator("section.turn").count() == 2  # traces 1 and 5
    page.screenshot(path=str(ARTIFACTS / "session.png"), full_page=True)
    assert errors == []


def _every_page(site: Site, open_page: Opener, state: dict[str, Any]) -> list[tuple[str, str]]:
    """(artifact name, path) of every page, making what some need: a custom dashboard, an invitation."""
    page, errors = open_page(state)
    page.goto(f"{site.url}/dashboards")
    page.fill("input[name=name]", "Overview")
    page.click("text=Create dashboard")
    page.wait_for_url(re.compile(r"/dashboards/[0-9a-f]+$"))
    board = page.url.removeprefix(site.url)
    page.fill("input[name=title]", "Observations per name")
    page.select_option("select[name=dimension]", "NAME")
    page.select_option("select[name=chart]", "bar")
    page.click("text=Add widget")
    page.wait_for_load_state("networkidle")
    assert page.locator("#chart-w0").count() == 1, page.content()
    page.goto(f"{site.url}/settings/invitations")
    page.fill("input[name=email]", "invitee@example.com")
    page.click("button:text('Invite')")
    invite = page.inner_text("#invite-link").removeprefix(site.url)
    page.goto(f"{site.url}/traces/b-t04")
    page.click("button:text('Share publicly')")
    shared = page.inner_text("#share-url").removeprefix(site.url)
    assert errors == []
    return [
        ("dashboard", "/"),
        ("dashboards", "/dashboards"),
        ("custom-dashboard", board),
        ("traces", "/traces"),
        ("trace", "/traces/b-t04?obs=b-t04-gen"),
        ("observations", "/observations"),
        ("trace-b-t04-timeline", "/traces/b-t04?view=timeline&obs=b-t04-gen"),
        ("sessions", "/sessions"),
        ("session", "/sessions/session-1"),
        ("users", "/users"),
        ("user", "/users/user-1"),
        ("scores", "/scores"),
        ("prompts", "/prompts"),
        ("prompt-form", "/prompts/new"),
        ("playground", "/playground"),
        ("llm-connections", "/settings/llm-connections"),
        ("models", "/settings/models"),
        ("members", "/settings/members"),
        ("invitations", "/settings/invitations"),
        ("api-keys", "/settings/api-keys"),
        ("login", "/login"),
        ("invite", invite),
        ("shared-trace", f"{shared}?obs=b-t04-gen"),
    ]


def test_every_page_fits_a_phone_and_logs_no_errors(
    site: Site, open_page: Opener, login_state: dict[str, Any]
) -> None:
    pages = _every_page(site, open_page, login_state)
    for viewport, suffix in ((LAPTOP, ""), (PHONE, "-phone")):
        logged_in, logged_out = open_page(login_state, viewport), open_page(None, viewport)
        for name, path in pages:
            page, errors = logged_out if name in ("login", "invite", "shared-trace") else logged_in
            response = page.goto(f"{site.url}{path}")
            assert response is not None and response.status == 200, path
            if page.locator("script[data-for]").count():  # Plotly drew every figure
                page.wait_for_function(
                    "[...document.querySelectorAll('script[data-for]')]"
                    ".every(s => document.getElementById(s.dataset.for).querySelector('.main-svg'))",
                    timeout=20000,
                )
            page.screenshot(path=str(ARTIFACTS / f"{name}{suffix}.png"), full_page=True)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= viewport["width"] + 1, f"{path} is {width} px wide at {viewport['width']}"
            assert errors == [], (path, errors)


FOCUSED = """() => { const e = document.activeElement, s = getComputedStyle(e);
  return {html: e.outerHTML.slice(0, 120), tag: e.tagName, href: e.getAttribute('href') || '',
          text: (e.innerText || '').trim(),
          cls: e.className || '', parent: e.parentElement ? e.parentElement.className : '',
          outline: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0}; }"""


def _tab_to(page: Any, wanted: Callable[[dict[str, Any]], bool], limit: int = 120) -> dict[str, Any]:
    """Press Tab until `wanted(focused element)`; every element passed on the way shows its focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused: dict[str, Any] = page.evaluate(FOCUSED)
        assert focused["outline"], f"no visible focus on {focused}"
        if wanted(focused):
            return focused
    raise AssertionError("never reached the element with Tab")


def test_the_main_flow_with_the_keyboard_only(site: Site, open_page: Opener) -> None:
    page, errors = open_page()
    page.goto(f"{site.url}/login")
    assert page.evaluate("document.activeElement.name") == "email"  # autofocus
    page.keyboard.type(site.email)
    page.keyboard.press("Tab")
    page.keyboard.type(site.password)
    page.keyboard.press("Enter")
    page.wait_for_load_state("networkidle")
    assert page.inner_text("h1") == "Default Project"

    _tab_to(page, lambda f: f["href"] == "/traces")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{site.url}/traces")
    skip = _tab_to(page, lambda f: True)  # the first stop of every page
    assert skip["text"] == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "content"
    first = _tab_to(page, lambda f: True)
    assert first["tag"] in ("SELECT", "INPUT")  # the filters: past the header in one step
    _tab_to(page, lambda f: f["href"] == "/traces/b-t03")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{site.url}/traces/b-t03")
    root = _tab_to(page, lambda f: "node" in f["parent"])
    assert "handle" in root["text"]
    page.keyboard.press("ArrowDown")
    assert "llm" in page.evaluate(FOCUSED)["text"]
    page.keyboard.press(" ")  # Space opens it, like Enter
    page.wait_for_url(re.compile(r"obs=b-t03-gen"))
    assert "Question number 3 about refunds" in page.inner_text(".detail")
    focused = page.evaluate(FOCUSED)
    assert "llm" in focused["text"] and focused["outline"]  # focus stays on the opened node
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"obs=b-t03-root"))
    assert page.locator(".node.selected a:has-text('handle')").count() == 1
    page.screenshot(path=str(ARTIFACTS / "trace-keyboard.png"))
    assert errors == []


def test_playground_streams_an_answer_in_chromium(
    site: Site, login_state: dict[str, Any], open_page: Opener
) -> None:
    from tests.integration.fake_llm import API_KEY, REPLY, fake_llm

    page, errors = open_page(login_state)
    with fake_llm() as llm:
        page.goto(f"{site.url}/settings/llm-connections")
        add = "form[action='/settings/llm-connections']"
        page.fill(f"{add} input[name=name]", "local")
        page.fill(f"{add} input[name=base_url]", llm.base_url)
        page.fill(f"{add} input[name=models]", "fake-model")
        page.fill(f"{add} input[name=api_key]", API_KEY)
        page.click(f"{add} button[type=submit]")
        page.wait_for_load_state("networkidle")
        assert "…cdef" in page.inner_text("table") and API_KEY not in page.content()

        page.goto(f"{site.url}/playground")
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
    assert errors == []


def test_prompts_folder_versions_diff_and_new_version_in_chromium(
    site: Site, login_state: dict[str, Any], open_page: Opener
) -> None:
    for text in ("You triage {{product}} tickets.\nBe brief.", "You triage {{product}} tickets.\nBe kind."):
        r = httpx.post(
            f"{site.url}/api/public/v2/prompts",
            json={"name": "support/triage", "prompt": text, "commitMessage": "tone"},
            headers=site.api_headers,
        )
        assert r.status_code == 201
    page, errors = open_page(login_state)
    page.goto(f"{site.url}/prompts")
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
    page.goto(f"{site.url}/prompts/new")
    page.check("input[name=mode][value=chat]")
    assert page.is_visible("#chat-editor") and not page.is_visible("#text-editor")
    page.click("#add-placeholder")
    assert page.locator("#messages .msg-row").count() == 3
    page.set_viewport_size(PHONE)
    for name, path in (
        ("prompts-phone", "/prompts?folder=support"),
        ("prompt-phone", "/prompts/support/triage?from=1&to=2"),
        ("prompt-form-phone", "/prompts/new?name=support/triage"),
    ):
        page.goto(f"{site.url}{path}")
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1, path
    assert errors == []

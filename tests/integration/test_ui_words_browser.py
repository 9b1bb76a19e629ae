"""In Chromium at laptop and phone widths: the grouped sidebar (groups, the current page marked, the
phone's menu by keyboard), model prices in $ per 1M tokens, figures whose axes name their units, and no
internal names (tables, metric ids, enum names) in the text of any page."""

from __future__ import annotations

import re
import shutil
from typing import Any

import httpx
import pytest

from tests.integration.test_browser import (
    ARTIFACTS,
    LAPTOP,
    PHONE,
    Opener,
    Site,
    _every_page,
    _tab_to,
    browser,
    login_state,
    open_page,
    site,
)

__all__ = ["browser", "login_state", "open_page", "site"]  # the fixtures this module uses

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian chromium is not installed"),
]

WIDE = {"width": 1440, "height": 900}
WIDTHS = {"laptop": LAPTOP, "wide": WIDE, "phone": PHONE}
GROUPS = {
    "Tracing": ["Dashboard", "Traces", "Observations", "Sessions", "Users", "Dashboards"],
    "Prompts": ["Prompts", "Playground"],
    "Evaluation": ["Scores", "Annotation", "Datasets", "Evaluators", "Judge rules", "Judge runs"],
    "Settings": [
        "API keys",
        "Members",
        "Invitations",
        "Models",
        "LLM connections",
        "Evaluation settings",
        "GraphQL",
    ],
}
SIDEBAR = """() => [...document.querySelectorAll('#sidebar .nav-section')].map(s => [
  s.querySelector('.nav-group').textContent.trim(),
  [...s.querySelectorAll('a')].map(a => a.textContent.trim())])"""
CURRENT = "[...document.querySelectorAll('#sidebar a[aria-current=page]')].map(a => a.getAttribute('href'))"
# Everything a page shows in words: its text, the text Plotly drew, every option of every select.
PAGE_WORDS = """() => [document.body.innerText,
  ...[...document.querySelectorAll('svg text, option')].map(e => e.textContent)].join('\\n')"""
# Internal names that once reached pages: a rollup table, histogram buckets, metrics row keys and
# enum values of the metrics layer, chart ids.
FORBIDDEN = re.compile(
    r"observations_hourly|_hourly|bucket|served from|total_cost_sum|total_tokens_sum|errors_sum|value_avg"
    r"|count_count|latency_p\d\d|\b[a-z]+_(sum|avg|count|uniq|p\d\d)\b|stacked_bar"
    r"|\b(TOTAL_COST|INPUT_COST|OUTPUT_COST|TOTAL_TOKENS|INPUT_TOKENS|OUTPUT_TOKENS|TRACE_NAME|PROMPT_NAME"
    r"|PROMPT_VERSION|SCORE_NAME|DATA_TYPE|STRING_VALUE|UNIQ|HISTOGRAM|GENERATION_LIKE)\b"
)


def _fits(page: Any, viewport: dict[str, int], what: str) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= viewport["width"] + 1, f"{what} is {width} px wide at {viewport['width']}"


def _plots_drawn(page: Any) -> None:
    page.wait_for_function(
        "[...document.querySelectorAll('script[data-for]')]"
        ".every(s => document.getElementById(s.dataset.for).querySelector('.main-svg'))",
        timeout=20000,
    )


@pytest.mark.parametrize("width", ["laptop", "wide"])
def test_the_sidebar_groups_pages_and_marks_the_current_one(
    site: Site, open_page: Opener, login_state: dict[str, Any], width: str
) -> None:
    viewport = WIDTHS[width]
    page, errors = open_page(login_state, viewport)
    page.goto(f"{site.url}/traces/b-t04")
    assert dict(page.evaluate(SIDEBAR)) == GROUPS
    assert page.is_visible("#sidebar") and not page.is_visible(".menu-button")
    assert page.evaluate(CURRENT) == ["/traces"]  # a trace is under Traces
    sidebar, main = page.locator("#sidebar").bounding_box(), page.locator("main").bounding_box()
    assert sidebar["x"] + sidebar["width"] <= main["x"]  # beside the content, on the left
    if width == "wide":
        assert main["width"] >= 1100  # the content keeps the width it had before the sidebar
    page.screenshot(path=str(ARTIFACTS / f"words-sidebar-trace-{width}.png"), full_page=True)
    _fits(page, viewport, "/traces/b-t04")
    for path, current in (
        ("/", "/"),
        ("/settings/models", "/settings/models"),
        ("/scores/agreement", "/scores"),
        ("/evaluation/rules/new", "/evaluation/rules"),
        ("/settings/evaluation", "/settings/evaluation"),
    ):
        page.goto(f"{site.url}{path}")
        assert page.evaluate(CURRENT) == [current], path
        _fits(page, viewport, path)
    page.click("#sidebar a:text-is('Judge runs')")
    page.wait_for_url(f"{site.url}/evaluation/executions")
    assert page.evaluate(CURRENT) == ["/evaluation/executions"]
    assert errors == []


def test_on_a_phone_the_sidebar_opens_from_the_menu_button_by_keyboard(
    site: Site, open_page: Opener, login_state: dict[str, Any]
) -> None:
    page, errors = open_page(login_state, PHONE)
    page.goto(f"{site.url}/sessions/session-1")
    assert page.is_visible(".menu-button") and not page.is_visible("#sidebar")
    page.screenshot(path=str(ARTIFACTS / "words-menu-closed-phone.png"), full_page=True)
    _tab_to(page, lambda f: 'id="menu-toggle"' in f["html"])
    page.keyboard.press(" ")
    assert page.is_visible("#sidebar") and page.is_visible("#sidebar a[href='/datasets']")
    assert page.evaluate(CURRENT) == ["/sessions"]
    assert dict(page.evaluate(SIDEBAR)) == GROUPS
    page.screenshot(path=str(ARTIFACTS / "words-menu-open-phone.png"), full_page=True)
    _fits(page, PHONE, "the open menu")
    _tab_to(page, lambda f: f["href"] == "/datasets")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{site.url}/datasets")
    assert not page.is_visible("#sidebar")  # closed again on the next page
    assert page.evaluate(CURRENT) == ["/datasets"]
    page.click(".menu-button")  # and by pointer
    page.click("#sidebar a:text-is('Models')")
    page.wait_for_url(f"{site.url}/settings/models")
    _fits(page, PHONE, "/settings/models")
    assert errors == []


@pytest.mark.parametrize("width", ["laptop", "phone"])
def test_model_prices_are_dollars_per_1m_tokens(
    site: Site, open_page: Opener, login_state: dict[str, Any], width: str
) -> None:
    viewport = WIDTHS[width]
    page, errors = open_page(login_state, viewport)
    page.goto(f"{site.url}/settings/models")
    builtin = page.locator("tr:has(td:text-is('gpt-4o-mini')) td.price")
    assert builtin.all_inner_texts() == ["$0.15", "$0.60"]  # 0.00000015 and 0.0000006 a token
    name = f"words-{width}"
    page.fill("input[name=model_name]", name)
    page.fill("input[name=match_pattern]", f"^{name}$")
    page.get_by_label("Input price ($ per 1M tokens)").fill("$2.50")
    page.get_by_label("Output price ($ per 1M tokens)").fill("10")
    page.click("button:text('Add model')")
    page.wait_for_url(f"{site.url}/settings/models")
    assert page.locator(f"tr:has(td:text-is('{name}')) td.price").all_inner_texts() == ["$2.50", "$10.00"]
    page.screenshot(path=str(ARTIFACTS / f"words-models-{width}.png"), full_page=True)
    _fits(page, viewport, "/settings/models")
    listed = httpx.get(f"{site.url}/api/public/models", headers=site.api_headers).json()["data"]
    [saved] = [m for m in listed if m["modelName"] == name]
    assert (saved["inputPrice"], saved["outputPrice"], saved["unit"]) == (2.5e-06, 1e-05, "TOKENS")
    page.get_by_label("Input price ($ per 1M tokens)").fill("two dollars")
    page.fill("input[name=model_name]", "bad")
    page.fill("input[name=match_pattern]", "^bad$")
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.click("button:text('Add model')")
    assert posted.value.status == 400
    error = page.locator("#input_price-error")
    assert error.inner_text() == "Input price must be a non-negative number ($ per 1M tokens)"
    assert page.get_by_label("Input price ($ per 1M tokens)").input_value() == "two dollars"  # kept
    errors[:] = [e for e in errors if "400" not in e]  # the refused form, logged by the browser on purpose
    assert errors == []


def _layout(page: Any, chart: str) -> dict[str, Any]:
    figure: dict[str, Any] = page.evaluate(
        f"(() => {{ const g = document.getElementById('{chart}'); return {{layout: g.layout, "
        "data: g.data.map(d => ({hovertemplate: d.hovertemplate || ''}))}; })()"
    )
    return figure


@pytest.mark.parametrize("width", ["laptop", "phone"])
def test_figures_name_their_units(
    site: Site, open_page: Opener, login_state: dict[str, Any], width: str
) -> None:
    viewport = WIDTHS[width]
    page, errors = open_page(login_state, viewport)
    page.goto(f"{site.url}/")
    _plots_drawn(page)
    cost, latency = _layout(page, "chart-cost"), _layout(page, "chart-latency")
    assert cost["layout"]["yaxis"]["tickprefix"] == "$"
    assert cost["layout"]["yaxis"]["title"]["text"] == "Cost ($)"
    assert all(d["hovertemplate"].startswith("$") for d in cost["data"])
    assert "$0.01" in page.inner_text("#chart-cost")  # the ticks Plotly drew
    assert latency["layout"]["yaxis"]["title"]["text"] == "Latency (ms)"
    assert all(d["hovertemplate"].endswith(" ms") for d in latency["data"])
    assert _layout(page, "chart-tokens")["layout"]["yaxis"]["title"]["text"] == "Tokens"
    page.screenshot(path=str(ARTIFACTS / f"words-dashboard-{width}.png"), full_page=True)
    _fits(page, viewport, "/")

    page.goto(f"{site.url}/users/user-1")
    _plots_drawn(page)
    assert _layout(page, "chart-cost")["layout"]["yaxis"]["tickprefix"] == "$"

    page.goto(f"{site.url}/dashboards")
    page.fill("input[name=name]", f"Units {width}")
    page.click("text=Create dashboard")
    page.wait_for_url(re.compile(r"/dashboards/[0-9a-f]+$"))
    for title, measure, aggregation, dimension, chart in (
        ("Cost per model", "TOTAL_COST", "SUM", "MODEL", "line"),
        ("Slow traces", "LATENCY", "P95", "", "bar"),
        ("Tokens per name", "TOTAL_TOKENS", "SUM", "NAME", "table"),
    ):
        page.fill("input[name=title] >> nth=-1", title)
        page.select_option("select[name=measure] >> nth=-1", measure)
        page.select_option("select[name=aggregation] >> nth=-1", aggregation)
        page.select_option("select[name=dimension] >> nth=-1", dimension)
        page.select_option("select[name=chart] >> nth=-1", chart)
        page.click("text=Add widget")
        page.wait_for_load_state("networkidle")
    _plots_drawn(page)
    line, bar = _layout(page, "chart-w0"), _layout(page, "chart-w1")
    assert line["layout"]["yaxis"]["tickprefix"] == "$" and line["data"][0]["hovertemplate"].startswith("$")
    assert bar["layout"]["xaxis"]["title"]["text"] == "Latency (ms)"
    table = page.locator(".widget:has(h2:text-is('Tokens per name')) table")
    assert table.locator("th").all_inner_texts() == ["Name", "Sum of total tokens"]
    assert "180 tokens" in table.inner_text()
    assert "Sum of total cost over observations by model" in page.inner_text(".widget >> nth=0")
    page.screenshot(path=str(ARTIFACTS / f"words-custom-dashboard-{width}.png"), full_page=True)
    _fits(page, viewport, "a custom dashboard")
    assert errors == []


def test_no_page_shows_internal_names(site: Site, open_page: Opener, login_state: dict[str, Any]) -> None:
    pages = [
        *_every_page(site, open_page, login_state),
        ("score-list", "/scores/list"),
        ("agreement", "/scores/agreement"),
        ("annotation-queues", "/annotation-queues"),
        ("datasets", "/datasets"),
        ("evaluators", "/evaluation/evaluators"),
        ("rules", "/evaluation/rules"),
        ("executions", "/evaluation/executions"),
        ("evaluation-settings", "/settings/evaluation"),
    ]
    for viewport, suffix in ((LAPTOP, ""), (PHONE, "-phone")):
        logged_in, logged_out = open_page(login_state, viewport), open_page(None, viewport)
        for name, path in pages:
            page, errors = logged_out if name in ("login", "invite", "shared-trace") else logged_in
            response = page.goto(f"{site.url}{path}")
            assert response is not None and response.status == 200, path
            if page.locator("script[data-for]").count():
                _plots_drawn(page)
            found = sorted({m.group(0) for m in FORBIDDEN.finditer(page.evaluate(PAGE_WORDS))})
            assert found == [], (path, found)
            page.screenshot(path=str(ARTIFACTS / f"words-{name}{suffix}.png"), full_page=True)
            _fits(page, viewport, path)
            assert errors == [], (path, errors)

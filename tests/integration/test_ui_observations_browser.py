"""In Chromium, at laptop and phone widths: the observations page filters by type, model, level and
latency, sorts by clicking (or pressing Enter on) a column header, hides a column, shows a wrong value
beside its field, links each row to its trace, and exports CSV (formula-safe) and JSON. Screenshots are
saved as test artifacts."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.test_browser import (
    ARTIFACTS,
    LAPTOP,
    PHONE,
    Opener,
    Site,
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
WIDTHS = {"laptop": LAPTOP, "phone": PHONE}
ROWS = "table.observations tbody tr:has(a[href*='?obs='])"


def _submit(page: Any) -> None:
    page.click("form.filters button[type=submit]")
    page.wait_for_load_state("networkidle")


def _ids(page: Any) -> list[str]:
    hrefs = page.eval_on_selector_all(f"{ROWS} td:first-child a", "as => as.map(a => a.getAttribute('href'))")
    return [h.split("?obs=")[1] for h in hrefs]


def _fits(page: Any, width: int, shot: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{shot}.png"), full_page=True)
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width + 1, f"{page.url} is {scroll} px wide at {width}"


@pytest.mark.parametrize("width", list(WIDTHS))
def test_filters_sort_and_columns(
    site: Site, login_state: dict[str, Any], open_page: Opener, width: str
) -> None:
    viewport = WIDTHS[width]
    page, errors = open_page(login_state, viewport)
    page.goto(f"{site.url}/observations")
    assert len(_ids(page)) == 12  # six traces: a span and a generation each
    _fits(page, viewport["width"], f"observations-list-{width}")

    page.select_option("select[name=type]", "GENERATION")
    _submit(page)
    assert "type=GENERATION" in page.url
    assert (
        page.eval_on_selector_all(f"{ROWS} .badge", "bs => bs.map(b => b.textContent)") == ["GENERATION"] * 6
    )
    page.fill("input[name=model]", "gpt-4o-mini")
    _submit(page)
    assert len(_ids(page)) == 6 and page.input_value("input[name=model]") == "gpt-4o-mini"
    page.fill("input[name=model]", "")
    page.select_option("select[name=type]", "")

    page.select_option("select[name=level]", "ERROR")
    _submit(page)
    assert _ids(page) == ["b-t03-gen"]
    assert page.locator(f"{ROWS} td.level").inner_text() == "ERROR"
    _fits(page, viewport["width"], f"observations-error-{width}")
    page.click(f"{ROWS} td:first-child a")
    page.wait_for_url(re.compile(r"/traces/b-t03\?obs=b-t03-gen$"))
    assert "Question number 3 about refunds" in page.inner_text(".detail")
    page.go_back()
    page.wait_for_load_state("networkidle")

    page.select_option("select[name=level]", "")
    page.fill("input[name=latency_min]", "0.3")
    _submit(page)  # generations of 300-500 ms, spans of 350-550 ms
    assert sorted(_ids(page)) == sorted(f"b-t0{i}-{k}" for i in (3, 4, 5) for k in ("gen", "root"))

    header = page.locator("table.observations th a.sort:has-text('Latency')")
    header.focus()  # sorting is a link: reachable and followed with the keyboard
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"sort=LATENCY"))
    assert _ids(page) == ["b-t05-root", "b-t05-gen", "b-t04-root", "b-t04-gen", "b-t03-root", "b-t03-gen"]
    assert page.get_attribute("th:has(a:has-text('Latency'))", "aria-sort") == "descending"
    assert page.input_value("input[name=latency_min]") == "0.3"  # the filter stays
    page.click("table.observations th a.sort:has-text('Latency')")
    page.wait_for_url(re.compile(r"order=asc"))
    assert _ids(page)[0] == "b-t03-gen"
    _fits(page, viewport["width"], f"observations-sorted-{width}")

    assert page.locator("table.observations th:has-text('Model')").count() == 1
    page.click("details.column-chooser summary")
    page.uncheck("input[name=cols][value=model]")
    _submit(page)
    assert "cols=" in page.url and "sort=LATENCY" in page.url  # the choice and the sort are in the link
    assert page.locator("table.observations th:has-text('Model')").count() == 0
    assert "gpt-4o-mini" not in page.inner_text("table.observations tbody")
    assert _ids(page)[0] == "b-t03-gen"
    _fits(page, viewport["width"], f"observations-columns-{width}")
    assert errors == []


@pytest.mark.parametrize("width", list(WIDTHS))
def test_a_wrong_value_is_shown_beside_its_field(
    site: Site, login_state: dict[str, Any], open_page: Opener, width: str
) -> None:
    viewport = WIDTHS[width]
    page, errors = open_page(login_state, viewport)
    page.goto(f"{site.url}/observations?name=llm")
    page.fill("input[name=latency_min]", "abc")
    _submit(page)
    field = page.locator("input[name=latency_min]")
    assert field.get_attribute("aria-invalid") == "true" and field.input_value() == "abc"
    message = page.locator("#latency_min-error")
    assert message.inner_text() == "Enter a number, 0 or more."
    assert field.get_attribute("aria-describedby") == "latency_min-error"
    assert page.input_value("input[name=name]") == "llm"  # the other values are kept
    assert "Correct the marked filters" in page.inner_text("table.observations")
    _fits(page, viewport["width"], f"observations-invalid-{width}")
    assert errors == []


def test_page_answers_within_half_a_second(site: Site, login_state: dict[str, Any]) -> None:
    cookies = {c["name"]: c["value"] for c in login_state["cookies"]}
    with httpx.Client(base_url=site.url, cookies=cookies) as client:
        times = []
        for params in ({}, {}, {"type": "GENERATION", "sort": "LATENCY"}, {}, {"latency_min": "0.1"}, {}):
            began = time.perf_counter()
            r = client.get("/observations", params=params)
            times.append(time.perf_counter() - began)
            assert r.status_code == 200 and 'table class="observations"' in r.text
    assert statistics.median(times) < 0.5, times


@pytest.mark.parametrize("width", list(WIDTHS))
def test_export_downloads_the_filtered_rows(
    site: Site, login_state: dict[str, Any], open_page: Opener, width: str, tmp_path: Path
) -> None:
    name = '=HYPERLINK("http://evil.example","click")'
    now = datetime.now(UTC).isoformat()
    event = {
        "id": f"evil-{width}",
        "type": "event-create",
        "timestamp": now,
        "body": {
            "id": f"evil-{width}",
            "traceId": "b-t00",
            "name": name,
            "input": "@SUM(A1:A9)",
            "startTime": now,
        },
    }
    r = httpx.post(f"{site.url}/api/public/ingestion", json={"batch": [event]}, headers=site.api_headers)
    assert r.status_code == 207
    viewport = WIDTHS[width]
    page, errors = open_page(login_state, viewport)
    for _ in range(60):  # the worker writes it within moments
        page.goto(f"{site.url}/observations?type=EVENT")
        if f"evil-{width}" in _ids(page):
            break
        time.sleep(0.25)
    else:
        raise AssertionError("the event never appeared")
    assert "up to 10,000 rows" in page.inner_text("section.card")

    page.goto(f"{site.url}/observations?type=GENERATION&sort=LATENCY")
    with page.expect_download() as csv_download:
        page.click("a:text-is('CSV')")
    saved = tmp_path / "observations.csv"
    csv_download.value.save_as(saved)
    table = list(csv.reader(io.StringIO(saved.read_text())))
    assert table[0][:5] == ["id", "trace_id", "parent_observation_id", "type", "name"]
    assert [row[0] for row in table[1:]] == [f"b-t0{i}-gen" for i in range(5, -1, -1)]  # filter and sort
    with page.expect_download() as json_download:
        page.click("a:text-is('JSON')")
    json_download.value.save_as(tmp_path / "observations.json")
    rows = json.loads((tmp_path / "observations.json").read_text())
    assert [o["id"] for o in rows] == [f"b-t0{i}-gen" for i in range(5, -1, -1)]
    assert rows[0]["model"] == "gpt-4o-mini" and rows[0]["total_tokens"] == 55

    page.goto(f"{site.url}/observations?type=EVENT")
    _fits(page, viewport["width"], f"observations-events-{width}")
    with page.expect_download() as evil_download:
        page.click("a:text-is('CSV')")
    evil_download.value.save_as(tmp_path / "evil.csv")
    evil = next(
        r
        for r in csv.DictReader(io.StringIO((tmp_path / "evil.csv").read_text()))
        if r["id"] == f"evil-{width}"
    )
    assert evil["name"] == "'" + name and evil["input"] == "'@SUM(A1:A9)"  # shown as text, never run
    assert errors == []

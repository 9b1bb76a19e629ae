"""In Chromium: the traces table at 1440 px, laptop and phone width (every column in view where there is
room, level markers, scores, one-line previews, costs with their digits, quick to load), and deleting
traces behind a confirmation from the list (ticked rows) and from a trace's page."""

from __future__ import annotations

import re
import shutil
import time
from datetime import UTC, datetime
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

WIDE = {"width": 1440, "height": 900}
VIEWPORTS = {"wide": WIDE, "laptop": LAPTOP, "phone": PHONE}
NAVIGATION_MS = """() => { const n = performance.getEntriesByType('navigation')[0];
  return n.responseEnd - n.requestStart; }"""


def _seed_trace(site: Site, trace_id: str, **fields: Any) -> None:
    """A trace of our own (chat messages in and out, unless `fields` say otherwise), so deleting leaves
    the six seeded traces alone."""
    now = datetime.now(UTC).isoformat()
    body = {
        "id": trace_id,
        "name": "to delete",
        "timestamp": now,
        "input": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Where is my parcel?"},
        ],
        "output": {"role": "assistant", "content": "It ships today."},
        **fields,
    }
    event = {"id": f"{trace_id}-e", "type": "trace-create", "timestamp": now, "body": body}
    r = httpx.post(f"{site.url}/api/public/ingestion", json={"batch": [event]}, headers=site.api_headers)
    assert r.status_code == 207
    for _ in range(120):  # the worker writes it within moments
        if httpx.get(f"{site.url}/api/public/traces/{trace_id}", headers=site.api_headers).status_code == 200:
            return
        time.sleep(0.25)
    raise AssertionError(f"{trace_id} never appeared")


def _row(page: Any, trace_id: str) -> Any:
    return page.locator(f"table.traces tbody tr:has(a[href='/traces/{trace_id}'])")


def _fits(page: Any, viewport: dict[str, int]) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= viewport["width"] + 1, f"{page.url} is {width} px wide at {viewport['width']}"


@pytest.mark.parametrize("width", ["wide", "laptop", "phone"])
def test_traces_table_shows_levels_scores_previews_and_costs(
    site: Site, open_page: Opener, login_state: dict[str, Any], width: str
) -> None:
    _seed_trace(  # long values: the table still fits, cutting previews and ids instead of widening
        site,
        "ui-long",
        name="a long-winded trace name",
        userId="customer-with-a-rather-long-identifier@example.com",
        sessionId="6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4a5b",
        tags=["production", "checkout", "experiment-42"],
        input=[{"role": "user", "content": "Where is my parcel? " * 40}],
        output={"role": "assistant", "content": "It ships today, " * 40},
    )
    viewport = VIEWPORTS[width]
    page, errors = open_page(login_state, viewport)
    page.goto(f"{site.url}/traces")
    assert page.locator("table.traces a[href^='/traces/b-t']").count() == 6
    long_input = _row(page, "ui-long").locator("td.io").first
    assert long_input.inner_text().endswith("…") and len(long_input.inner_text()) == 120
    assert long_input.get_attribute("title") == ("Where is my parcel? " * 40).strip()

    failed, fine = _row(page, "b-t03"), _row(page, "b-t02")
    assert "level-error" in (failed.get_attribute("class") or "")
    assert failed.locator(".level-mark").inner_text() == "ERROR"
    assert fine.locator(".level-mark").count() == 0
    background = "e => getComputedStyle(e).backgroundColor"
    assert failed.locator("td").nth(2).evaluate(background) != fine.locator("td").nth(2).evaluate(background)

    assert _row(page, "b-t00").locator("td.scores").inner_text() == "quality 0"
    assert _row(page, "b-t03").locator("td.scores").inner_text() == "quality 0.3"
    assert _row(page, "b-t01").locator("td.scores").inner_text() == ""

    question = _row(page, "b-t04").locator("td.io").first
    assert question.inner_text() == "Question number 4 about refunds"
    assert question.get_attribute("title") == "Question number 4 about refunds"
    assert _row(page, "b-t01").locator("td.cost").inner_text() == "$0.001"
    assert _row(page, "b-t05").locator("td.cost").inner_text() == "$0.005"

    scroller = page.locator("table.traces").locator("xpath=..")
    if width != "phone":  # every column in view: Cost and Tags (the last) end inside the window
        for header in ("Cost", "Tags"):
            box = page.locator(f"table.traces th:text-is('{header}')").bounding_box()
            assert box is not None and box["x"] + box["width"] <= viewport["width"], (header, box)
        assert scroller.evaluate("e => e.scrollWidth <= e.clientWidth + 1")
    else:  # the table scrolls inside its own box, the page does not
        assert scroller.evaluate("e => e.scrollWidth > e.clientWidth")
    _fits(page, viewport)
    page.screenshot(path=str(ARTIFACTS / f"traces-table-{width}.png"), full_page=True)

    if width == "wide":  # the page answers within half a second (best of three loads)
        took = []
        for _ in range(3):
            page.reload()
            took.append(page.evaluate(NAVIGATION_MS))
        assert min(took) < 500, took
    assert errors == []


@pytest.mark.parametrize("width", ["laptop", "phone"])
def test_delete_ticked_traces_after_confirming(
    site: Site, open_page: Opener, login_state: dict[str, Any], width: str
) -> None:
    trace_id = f"ui-del-{width}"
    _seed_trace(site, trace_id)
    viewport = VIEWPORTS[width]
    page, errors = open_page(login_state, viewport)
    page.goto(f"{site.url}/traces")
    row = _row(page, trace_id)
    assert row.locator("td.io").all_inner_texts() == ["Where is my parcel?", "It ships today."]
    row.locator("td.select input[type=checkbox]").check()
    page.click("summary:text('Delete selected traces')")
    assert page.is_visible("text=Delete the ticked traces with their observations and scores?")
    _fits(page, viewport)
    page.screenshot(path=str(ARTIFACTS / f"traces-delete-confirm-{width}.png"), full_page=True)
    page.click("button:text('Yes, delete selected traces')")
    page.wait_for_url(re.compile(r"/traces\?deleted=1$"))
    assert page.inner_text("#deleted") == "Deleted 1 trace."
    assert _row(page, trace_id).count() == 0
    assert page.locator("table.traces a[href^='/traces/b-t']").count() == 6
    _fits(page, viewport)
    page.screenshot(path=str(ARTIFACTS / f"traces-deleted-{width}.png"), full_page=True)
    assert httpx.get(f"{site.url}/api/public/traces/{trace_id}", headers=site.api_headers).status_code == 404
    assert errors == []


@pytest.mark.parametrize("width", ["laptop", "phone"])
def test_delete_a_trace_from_its_page_after_confirming(
    site: Site, open_page: Opener, login_state: dict[str, Any], width: str
) -> None:
    trace_id = f"ui-del-page-{width}"
    _seed_trace(site, trace_id)
    viewport = VIEWPORTS[width]
    page, errors = open_page(login_state, viewport)
    page.goto(f"{site.url}/traces/{trace_id}")
    assert not page.is_visible("button:text('Yes, delete trace')")  # behind the question
    page.click("summary:text('Delete trace')")
    assert page.is_visible("text=This cannot be undone.")
    _fits(page, viewport)
    page.screenshot(path=str(ARTIFACTS / f"trace-delete-confirm-{width}.png"), full_page=True)
    page.click("button:text('Yes, delete trace')")
    page.wait_for_url(re.compile(r"/traces\?deleted=1$"))
    assert page.inner_text("#deleted") == "Deleted 1 trace."
    assert _row(page, trace_id).count() == 0
    assert httpx.get(f"{site.url}/api/public/traces/{trace_id}", headers=site.api_headers).status_code == 404
    assert errors == []


def test_delete_ticked_traces_beside_the_annotation_queue_form(
    site: Site, open_page: Opener, login_state: dict[str, Any]
) -> None:
    """With a queue, the ticked rows belong to the queue form; confirming deletes them all the same."""
    r = httpx.post(
        f"{site.url}/api/public/annotation-queues",
        json={"name": "review deletions", "scoreConfigIds": []},
        headers=site.api_headers,
    )
    assert r.status_code in (200, 201), r.text
    trace_id = "ui-del-queued"
    _seed_trace(site, trace_id)
    page, errors = open_page(login_state)
    page.goto(f"{site.url}/traces")
    box = _row(page, trace_id).locator("td.select input[type=checkbox]")
    assert box.get_attribute("form") == "add-to-queue"
    box.check()
    page.click("summary:text('Delete selected traces')")
    page.click("button:text('Yes, delete selected traces')")
    page.wait_for_url(re.compile(r"/traces\?deleted=1$"))
    assert _row(page, trace_id).count() == 0 and page.locator("#queued").count() == 0
    page.screenshot(path=str(ARTIFACTS / "traces-deleted-with-queue.png"), full_page=True)
    assert errors == []

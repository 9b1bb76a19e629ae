"""In Chromium, against a first-started `langhouse serve`: a queue made on the queues page, traces ticked in
the traces list and added to it, then a review pass with the keyboard alone (digits pick values, Enter saves
and opens the next item, S skips); the scores it stored are read back through the public API. The pages fit
a laptop and a phone without console errors or horizontal overflow; screenshots are saved as artifacts."""

from __future__ import annotations

import re
import shutil
from typing import Any

import httpx
import pytest

from tests.integration.test_browser import (
    ARTIFACTS,
    FOCUSED,
    PHONE,
    Opener,
    Site,
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


def _config(site: Site, body: dict[str, Any]) -> str:
    r = httpx.post(f"{site.url}/api/public/score-configs", json=body, headers=site.api_headers)
    assert r.status_code == 200, r.text
    return str(r.json()["id"])


def _shown(page: Any) -> str:
    return str(page.inner_text("#object-id"))


def _wait_past(page: Any, object_id: str) -> None:
    """Wait until the next item's page has loaded (its scripts ran)."""
    page.wait_for_function(
        "id => { const e = document.querySelector('#object-id'); return e && e.innerText !== id; }",
        arg=object_id,
    )
    page.wait_for_load_state("load")


def test_a_review_pass_with_the_keyboard_only(
    site: Site, login_state: dict[str, Any], open_page: Opener
) -> None:
    # Newest first on the queues page, so the queue's controls are answer-quality, then answer-helpful.
    helpful = _config(site, {"name": "answer-helpful", "dataType": "BOOLEAN"})
    quality = _config(
        site,
        {
            "name": "answer-quality",
            "dataType": "CATEGORICAL",
            "categories": [
                {"label": "bad", "value": 0},
                {"label": "ok", "value": 1},
                {"label": "good", "value": 2},
            ],
        },
    )
    page, errors = open_page(login_state)

    # The queues page: a queue with both configs, the owner as its reviewer.
    page.goto(f"{site.url}/annotation-queues")
    page.fill("#new-queue input[name=name]", "Answer review")
    page.check(f"#new-queue input[name=score_config_id][value='{quality}']")
    page.check(f"#new-queue input[name=score_config_id][value='{helpful}']")
    page.check("#new-queue input[name=reviewer]")
    page.click("#new-queue button[type=submit]")
    page.wait_for_url(re.compile(r"/annotation-queues/[0-9a-f]+$"))
    queue_path = page.url.removeprefix(site.url)
    queue_id = queue_path.rsplit("/", 1)[1]

    # The traces list: tick three traces, add them.
    page.goto(f"{site.url}/traces")
    for trace_id in ("b-t01", "b-t02", "b-t03"):
        page.check(f"input[name=object_id][value='{trace_id}']")
    page.select_option("#add-to-queue select[name=queue_id]", queue_id)
    page.click("#add-to-queue button[type=submit]")
    page.wait_for_selector("#queued")
    assert "Queued 3 items" in page.inner_text("#queued")
    page.screenshot(path=str(ARTIFACTS / "traces-queued.png"), full_page=True)
    page.goto(f"{site.url}{queue_path}")
    assert page.inner_text("#progress") == "0 / 3 done"
    page.screenshot(path=str(ARTIFACTS / "annotation-queue.png"), full_page=True)

    # From here on, the keyboard only: Tab to "Review", Enter.
    _tab_to(page, lambda f: f["href"].endswith("/annotate") and f["text"] == "Review")
    page.keyboard.press("Enter")
    page.wait_for_selector("#annotate-form")
    page.wait_for_load_state("load")
    first = _shown(page)
    # The page starts at the first score, with visible focus; the address names the item shown.
    focused = page.evaluate(FOCUSED)
    assert focused["outline"] and f'name="score.{quality}"' in focused["html"], focused
    assert "item=" in page.url
    assert "answer-quality" in page.inner_text(".annotation-control.active legend")
    page.screenshot(path=str(ARTIFACTS / "annotate.png"), full_page=True)
    page.keyboard.press("3")  # answer-quality: good; on to answer-helpful
    assert page.is_checked(f"input[name='score.{quality}'][value=good]")
    assert "answer-helpful" in page.inner_text(".annotation-control.active legend")
    page.keyboard.press("1")  # answer-helpful: True; on to "Save and next"
    assert page.evaluate("document.activeElement.id") == "save"
    page.keyboard.press("Enter")
    _wait_past(page, first)
    second = _shown(page)
    assert page.inner_text("#progress") == "1 / 3 done"
    page.keyboard.press("s")  # skip it
    _wait_past(page, second)
    third = _shown(page)
    assert third not in (first, second)
    page.keyboard.press("1")  # bad
    page.keyboard.press("2")  # False
    page.keyboard.press("Shift+Tab")  # back from "Save and next" to the comment
    assert page.evaluate("document.activeElement.name") == "comment"
    page.keyboard.type("too short")
    page.keyboard.press("Enter")  # a new line in the comment, not a save
    page.keyboard.type("and vague")
    assert _shown(page) == third
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "save"
    page.keyboard.press("Enter")
    _wait_past(page, third)
    assert _shown(page) == second  # the skipped one comes round again
    page.keyboard.press("2")  # ok
    page.keyboard.press("1")  # True
    page.keyboard.press("Enter")
    page.wait_for_selector("#queue-done")
    assert "3 / 3 done" in page.inner_text("#queue-done")
    page.screenshot(path=str(ARTIFACTS / "annotate-done.png"))
    assert errors == []

    # What the pass stored, through the public API.
    r = httpx.get(
        f"{site.url}/api/public/v2/scores",
        params={"queueId": queue_id, "limit": 50},
        headers=site.api_headers,
    )
    assert r.status_code == 200, r.text
    stored = r.json()["data"]
    assert stored and all(s["queueId"] == queue_id for s in stored)
    by_trace: dict[str, dict[str, Any]] = {}
    for s in stored:
        assert s["source"] == "ANNOTATION" and s["configId"] in (quality, helpful)
        by_trace.setdefault(s["traceId"], {})[s["name"]] = s
    assert {t: {n: s["stringValue"] for n, s in v.items()} for t, v in by_trace.items()} == {
        first: {"answer-quality": "good", "answer-helpful": "True"},
        second: {"answer-quality": "ok", "answer-helpful": "True"},
        third: {"answer-quality": "bad", "answer-helpful": "False"},
    }
    assert {s["comment"] for s in by_trace[third].values()} == {"too short\nand vague"}
    assert all(s["comment"] is None for s in by_trace[first].values())

    # The annotation pages at phone width: no horizontal overflow, no console errors.
    phone, phone_errors = open_page(login_state, PHONE)
    phone.goto(f"{site.url}{queue_path}")
    item_id = phone.get_attribute("tr[data-item]", "data-item")
    for name, path in (
        ("annotation-queues-phone", "/annotation-queues"),
        ("annotation-queue-phone", queue_path),
        ("annotate-phone", f"{queue_path}/annotate?item={item_id}"),
    ):
        response = phone.goto(f"{site.url}{path}")
        assert response is not None and response.status == 200, path
        phone.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"] + 1, f"{path} is {width} px wide"
    assert phone_errors == []

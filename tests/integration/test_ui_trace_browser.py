"""In Chromium, at laptop and phone widths: the trace page's timeline (axis, one bar per observation by
offset, selection by click and keyboard, the tree/timeline switch with and without JavaScript), the
detail's times, level, time to first token, metadata and "No output", the agent graph in call order, comment
authors, the shared view, and page load times for the seeded traces and a 500-observation trace."""

from __future__ import annotations

import re
import shutil
import statistics
import time
from datetime import UTC, datetime, timedelta
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
TRACE = "ui-agent"
LONG = "ui-long"
LONG_SIZE = 500
STEPS = ["planner", "search_flights", "book_hotel", "summarize"]  # in start order


def _iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def _observation(at: datetime, oid: str, kind: str, name: str, start: int, end: int, **extra: Any) -> dict:
    body = {
        "id": oid,
        "traceId": extra.pop("trace", TRACE),
        "type": kind,
        "name": name,
        "startTime": _iso(at + timedelta(milliseconds=start)),
        "endTime": _iso(at + timedelta(milliseconds=end)),
        **extra,
    }
    return {"id": f"e-{oid}", "type": "observation-create", "timestamp": _iso(at), "body": body}


def _agent_batch(at: datetime) -> list[dict]:
    """An agent calling two tools (the second fails, with no output) and an LLM that streams."""
    trace = {
        "id": TRACE,
        "name": "trip planner",
        "timestamp": _iso(at),
        "metadata": {"customer": "acme", "plan": "pro"},
    }
    return [
        {"id": "e-trace", "type": "trace-create", "timestamp": _iso(at), "body": trace},
        _observation(at, "ui-planner", "AGENT", "planner", 0, 2000, input="Plan a trip", output="Booked"),
        _observation(
            at, "ui-search", "TOOL", "search_flights", 100, 600, parentObservationId="ui-planner",
            input={"to": "Lisbon"}, output={"flights": 3},
        ),
        _observation(
            at, "ui-hotel", "TOOL", "book_hotel", 700, 1100, parentObservationId="ui-planner",
            input={"city": "Lisbon"}, level="ERROR", statusMessage="hotel service timed out",
        ),
        _observation(
            at, "ui-llm", "GENERATION", "summarize", 1200, 1900, parentObservationId="ui-planner",
            model="gpt-4o-mini", input=[{"role": "user", "content": "Summarize the trip"}],
            output={"role": "assistant", "content": "Three flights, no hotel."},
            completionStartTime=_iso(at + timedelta(milliseconds=1450)),
            metadata={"retries": 2, "region": "eu-west"},
        ),
    ]  # fmt: skip


def _long_batch(at: datetime) -> list[dict]:
    """A root and 499 children 20 ms apart: a long trace."""
    root = _observation(at, "long-root", "AGENT", "crawler", 0, 20 * LONG_SIZE, trace=LONG, output="done")
    children = [
        _observation(
            at, f"long-{i:03d}", ("TOOL", "GENERATION", "SPAN")[i % 3], f"fetch page {i} of a long crawl",
            20 * i + 5, 20 * i + 15 + (i % 7) * 40, trace=LONG, parentObservationId="long-root",
        )
        for i in range(LONG_SIZE - 1)
    ]  # fmt: skip
    return [root, *children]


@pytest.fixture(scope="module")
def seeded(site: Site) -> Site:
    """The agent trace and the long trace, sent through the ingestion API and written by the worker."""
    at = datetime.now(UTC) - timedelta(minutes=5)
    batch = _agent_batch(at) + _long_batch(at)
    r = httpx.post(f"{site.url}/api/public/ingestion", json={"batch": batch}, headers=site.api_headers)
    assert r.status_code == 207 and not r.json()["errors"], r.text
    for _ in range(240):  # the worker writes the batch within moments
        found = [
            httpx.get(f"{site.url}/api/public/traces/{t}", headers=site.api_headers) for t in (TRACE, LONG)
        ]
        counts = [len(r.json().get("observations", [])) for r in found]
        if counts == [4, LONG_SIZE]:
            for content, author in (("Sent from a script", None), ("Signed by an outsider", "not-a-member")):
                body = {"objectType": "TRACE", "objectId": TRACE, "content": content, "authorUserId": author}
                made = httpx.post(f"{site.url}/api/public/comments", json=body, headers=site.api_headers)
                assert made.status_code == 200, made.text
            return site
        time.sleep(0.25)
    raise AssertionError(f"the seeded observations never all appeared: {counts}")


def _fits(page: Any, width: str) -> None:
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= WIDTHS[width]["width"] + 1, f"{page.url} is {scroll} px wide at {width}"


def _facts(page: Any, selector: str) -> dict[str, str]:
    pairs = "els => els.map(e => [e.querySelector('dt').innerText, e.querySelector('dd').innerText])"
    return dict(page.eval_on_selector_all(f"{selector} > div", pairs))


def _table(page: Any, selector: str) -> dict[str, str]:
    rows = "rows => rows.map(r => [r.querySelector('th').innerText, r.querySelector('td').innerText])"
    return dict(page.eval_on_selector_all(f"{selector} tr", rows))


BOXES = """() => [...document.querySelectorAll('.gantt-rows > li')].map(li => {
  const bar = li.querySelector('.gantt-bar').getBoundingClientRect();
  const track = li.querySelector('.gantt-track').getBoundingClientRect();
  const time = li.querySelector('.gantt-time');
  const t = time ? time.getBoundingClientRect() : null;
  const label = li.querySelector('.gantt-label');
  return {offset: parseFloat(li.querySelector('.gantt-bar').dataset.offsetMs), x: bar.x, w: bar.width,
          trackLeft: track.x, trackRight: track.right, cls: li.className,
          timeLeft: t ? t.x : null, timeRight: t ? t.right : null, text: time ? time.innerText : '',
          labelClipped: label.scrollWidth > label.clientWidth,
          title: li.querySelector('.gantt-row').title,
          background: getComputedStyle(li.querySelector('.gantt-bar')).backgroundColor};
})"""


@pytest.mark.parametrize("width", ["laptop", "phone"])
def test_the_timeline_places_a_bar_per_observation_and_selects_by_click_and_keyboard(
    seeded: Site, open_page: Opener, login_state: dict[str, Any], width: str
) -> None:
    page, errors = open_page(login_state, WIDTHS[width])
    suffix = "" if width == "laptop" else "-phone"
    page.goto(f"{seeded.url}/traces/{TRACE}")
    page.click(".view-switch a:text('Timeline')")
    page.wait_for_url(re.compile(r"view=timeline"))
    assert page.get_attribute(".view-switch a[aria-current]", "href").startswith("?view=timeline")
    boxes = page.evaluate(BOXES)
    assert len(boxes) == 4  # one bar per observation
    assert [b["offset"] for b in boxes] == [0, 100, 700, 1200]
    xs = [b["x"] for b in boxes]
    assert xs == sorted(xs) and len(set(xs)) == 4  # positioned by start offset
    assert boxes[0]["w"] > boxes[3]["w"] > boxes[2]["w"] > 3  # sized by duration (2 s, 700 ms, 400 ms)
    for b in boxes:  # every duration label is inside the track, nothing clipped
        assert b["trackLeft"] - 1 <= b["timeLeft"] and b["timeRight"] <= b["trackRight"] + 1, b
        assert b["title"].startswith(("AGENT", "TOOL", "GENERATION")), b  # the full name, when truncated
    assert [b["text"] for b in boxes] == ["2 s", "500 ms", "400 ms", "700 ms"]
    error = next(b for b in boxes if "level-error" in b["cls"])
    assert error["background"] == "rgb(192, 57, 43)"  # errors stand out in red
    assert len({b["background"] for b in boxes}) == 4  # coloured by type (the error in red)
    ticks = page.locator(".gantt-axis .tick span").all_inner_texts()
    assert ticks == ["0 ms", "500 ms", "1 s", "1.5 s", "2 s"], ticks  # the time axis
    axis = page.eval_on_selector(".gantt-axis .gantt-track", "e => e.getBoundingClientRect().toJSON()")
    labels = page.eval_on_selector_all(
        ".gantt-axis .tick span", "els => els.map(e => e.getBoundingClientRect().toJSON())"
    )
    for box, after in zip(labels, [*labels[1:], None], strict=True):  # on the axis, none over the next
        assert axis["left"] - 1 <= box["left"] and box["right"] <= axis["right"] + 1, (axis, box)
        assert after is None or box["right"] < after["left"], (box, after)
    page.screenshot(path=str(ARTIFACTS / f"trace-timeline{suffix}.png"))

    page.click(".gantt-rows li:nth-child(3) .gantt-bar")  # the failing tool
    page.wait_for_url(re.compile(r"view=timeline&obs=ui-hotel"))
    assert page.locator(".gantt-rows li.selected .gantt-label").inner_text().endswith("book_hotel")
    detail = page.locator(".detail")
    assert detail.locator("h2").inner_text() == "TOOL · book_hotel"
    facts = _facts(page, "#observation-facts")
    assert facts["Duration"] == "400 ms" and facts["Level"] == "ERROR" and facts["Starts after"] == "700 ms"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} UTC", facts["Start"])
    assert "Time to first token" not in facts
    assert detail.locator("p.empty").inner_text() == "No output"
    assert page.eval_on_selector(".detail p.empty", "e => getComputedStyle(e).color") == "rgb(102, 112, 133)"
    assert "hotel service timed out" in detail.inner_text()

    focused = page.evaluate("document.activeElement.className")
    assert focused == "gantt-row"  # focus returns to the opened bar: the keyboard picks up from there
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"view=timeline&obs=ui-llm"))
    facts = _facts(page, "#observation-facts")
    assert facts["Time to first token"] == "250 ms" and facts["Duration"] == "700 ms"
    assert facts["Level"] == "DEFAULT"
    assert _table(page, ".detail table.kv") == {"retries": "2", "region": "eu-west"}
    page.screenshot(path=str(ARTIFACTS / f"trace-timeline-selected{suffix}.png"), full_page=True)
    _fits(page, width)

    page.click(".view-switch a:text('Tree')")
    page.wait_for_url(re.compile(r"/traces/ui-agent\?obs=ui-llm$"))
    assert page.locator(".nodes .node").count() == 4 and page.locator(".bar span").count() == 4
    assert page.locator(".nodes .node.selected").inner_text().startswith("GENERATION summarize")
    _fits(page, width)
    assert errors == []


def test_the_switch_works_without_javascript(seeded: Site, browser: Any, login_state: dict[str, Any]) -> None:
    context = browser.new_context(storage_state=login_state, viewport=PHONE, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"{seeded.url}/traces/{TRACE}?obs=ui-search")
        page.click(".view-switch a:text('Timeline')")
        page.wait_for_url(re.compile(r"view=timeline&obs=ui-search"))
        assert page.locator(".gantt-bar").count() == 4
        page.click(".gantt-rows li:nth-child(4) .gantt-bar")
        page.wait_for_url(re.compile(r"view=timeline&obs=ui-llm"))
        assert page.locator(".detail h2").inner_text() == "GENERATION · summarize"
        assert page.goto(f"{seeded.url}/traces/{TRACE}?view=gantt").status == 400
        assert "view must be one of tree, timeline" in page.content()
    finally:
        context.close()


@pytest.mark.parametrize("width", ["laptop", "phone"])
def test_the_trace_summary_agent_graph_and_comment_authors(
    seeded: Site, open_page: Opener, login_state: dict[str, Any], width: str
) -> None:
    page, errors = open_page(login_state, WIDTHS[width])
    page.goto(f"{seeded.url}/traces/{TRACE}")
    facts = _facts(page, "#trace-facts")
    assert facts["Duration"] == "2 s" and facts["Level"] == "ERROR" and facts["Observations"] == "4"
    assert facts["Time to first token"] == "1.45 s"  # from the trace's start to the LLM's first token
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} UTC", facts["Start"])
    assert _table(page, "details.metadata table.kv") == {"customer": "acme", "plan": "pro"}
    detail = page.locator(".detail")  # the root is selected: input and output shown
    assert "Plan a trip" in detail.inner_text() and detail.locator("p.empty").count() == 0

    steps = page.eval_on_selector_all(
        "#agent-graph .step",
        """els => els.map(e => ({n: e.querySelector('.step-number').innerText,
            name: e.querySelector('.step-name').innerText, hint: e.querySelector('.hint').innerText,
            x: e.getBoundingClientRect().x, y: e.getBoundingClientRect().y,
            clipped: e.querySelector('.step-body').scrollWidth > e.querySelector('.step-body').clientWidth
        }))""",
    )
    assert [(s["n"], s["name"]) for s in steps] == [(str(i), n) for i, n in enumerate(STEPS, 1)]
    assert steps[0]["hint"].startswith("at 0 ms")
    assert all(s["hint"].startswith("called by 1") for s in steps[1:])
    assert "ERROR" in steps[2]["hint"]
    assert [s["y"] for s in steps] == sorted(s["y"] for s in steps)  # top to bottom in call order
    assert all(s["x"] > steps[0]["x"] for s in steps[1:])  # callees indented under their caller
    assert not any(s["clipped"] for s in steps)
    page.locator("#agent-graph").scroll_into_view_if_needed()
    suffix = "" if width == "laptop" else "-phone"
    page.screenshot(path=str(ARTIFACTS / f"trace-agent-graph{suffix}.png"))
    page.click("#agent-graph .step:nth-child(3) a")
    page.wait_for_url(re.compile(r"obs=ui-hotel"))
    assert page.locator("#agent-graph .step.selected .step-name").inner_text() == "book_hotel"

    note = f"The hotel step needs a retry ({width})"
    page.fill("form[action$='/comments'] input[name=content]", note)
    page.click("form[action$='/comments'] button[type=submit]")
    page.wait_for_load_state("networkidle")
    comment = page.locator("article.comment", has_text=note)
    assert comment.locator(".author").inner_text() == seeded.email
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", comment.locator("time").inner_text())
    for text, author in (("Sent from a script", "API"), ("Signed by an outsider", "unknown user")):
        assert page.locator("article.comment", has_text=text).locator(".author").inner_text() == author
    comment.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / f"trace-detail{suffix}.png"), full_page=True)
    _fits(page, width)
    assert errors == []


@pytest.mark.parametrize("width", ["laptop", "phone"])
def test_the_shared_trace_shows_the_same_timeline(
    seeded: Site, open_page: Opener, login_state: dict[str, Any], width: str
) -> None:
    owner, errors = open_page(login_state, LAPTOP)
    owner.goto(f"{seeded.url}/traces/{TRACE}")
    if owner.locator("#share-url").count() == 0:
        owner.click("button:text('Share publicly')")
    shared = owner.inner_text("#share-url")
    page, anonymous_errors = open_page(None, WIDTHS[width])
    page.goto(f"{shared}?view=timeline&obs=ui-llm")
    assert page.locator(".gantt-bar").count() == 4
    assert _facts(page, "#trace-facts")["Level"] == "ERROR"
    assert _facts(page, "#observation-facts")["Time to first token"] == "250 ms"
    assert [s.strip() for s in page.locator("#agent-graph .step-name").all_inner_texts()] == STEPS
    page.screenshot(path=str(ARTIFACTS / f"shared-trace-timeline{'' if width == 'laptop' else '-phone'}.png"))
    _fits(page, width)
    assert errors == [] and anonymous_errors == []


@pytest.mark.parametrize("width", ["laptop", "phone"])
def test_a_500_observation_timeline_stays_readable(
    seeded: Site, open_page: Opener, login_state: dict[str, Any], width: str
) -> None:
    page, errors = open_page(login_state, WIDTHS[width])
    page.goto(f"{seeded.url}/traces/{LONG}?view=timeline&obs=long-250")
    boxes = page.evaluate(BOXES)
    assert len(boxes) == LONG_SIZE
    offsets = [b["offset"] for b in boxes]
    assert offsets == sorted(offsets) and len(set(offsets)) == LONG_SIZE
    assert min(b["w"] for b in boxes) >= 3  # the shortest bar is still visible and clickable
    for b in boxes:  # duration labels beside short bars stay on the track; long names are cut with a title
        assert b["trackLeft"] - 1 <= b["timeLeft"] and b["timeRight"] <= b["trackRight"] + 1, b
        assert not b["labelClipped"] or "fetch page" in b["title"]
    assert page.evaluate("document.activeElement.closest('li').className").endswith("selected")  # in view
    page.screenshot(path=str(ARTIFACTS / f"trace-timeline-500{'' if width == 'laptop' else '-phone'}.png"))
    _fits(page, width)
    assert errors == []


def test_trace_pages_answer_in_under_half_a_second(seeded: Site, login_state: dict[str, Any]) -> None:
    cookies = {c["name"]: c["value"] for c in login_state["cookies"]}
    paths = [f"/traces/b-t{i:02d}" for i in range(6)] + [
        f"/traces/{TRACE}",
        f"/traces/{TRACE}?view=timeline&obs=ui-llm",
        f"/traces/{LONG}",
        f"/traces/{LONG}?view=timeline",
    ]
    with httpx.Client(base_url=seeded.url, cookies=cookies) as client:
        for path in paths:
            times = []
            for _ in range(3):
                began = time.perf_counter()
                r = client.get(path)
                times.append(time.perf_counter() - began)
                assert r.status_code == 200, path
            assert statistics.median(times) < 0.5, (path, times)

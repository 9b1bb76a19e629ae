"""The trace page's layout: durations and times for people, the timeline's axis and bars, the agent flow
in call order, the trace summary, and a 500-observation trace rendered in both views in a blink."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
from jinja2 import Environment, FileSystemLoader

from app.dashboards import trace_layout as layout
from app.dashboards.display import duration, is_empty, moment, plain
from app.dashboards.trace_pages import trace_view
from app.errors import InvalidInput
from app.settings import Settings
from app.storage import Storage
from app.storage.clickhouse.queries.views import ObservationView, TraceTotals, TraceView
from app.tracing.trace_service import TraceDetail, observation_tree

T0 = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
TEMPLATES = Path(__file__).resolve().parents[3] / "app" / "dashboards" / "templates"
ENV = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True)  # as the server's: compiled once


def obs(
    oid: str,
    start_ms: float,
    end_ms: float | None,
    *,
    parent: str | None = None,
    kind: str = "SPAN",
    level: str = "DEFAULT",
    first_token_ms: float | None = None,
    output: str | None = '"ok"',
) -> ObservationView:
    def at(ms: float | None) -> datetime | None:
        return None if ms is None else T0 + timedelta(milliseconds=ms)

    return ObservationView(
        oid, "t1", parent, kind, f"name {oid}", T0 + timedelta(milliseconds=start_ms), at(end_ms),
        at(first_token_ms), level, None, None, "default", None, None, None, None, [], None, None, None,
        {}, {}, None, None, None, None, input='"question"', output=output, metadata={"step": oid},
    )  # fmt: skip


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (None, ""),
        (0, "0 ms"),
        (2.5, "2.5 ms"),
        (850.4, "850 ms"),
        (1000, "1 s"),
        (1250, "1.25 s"),
        (59_994, "59.99 s"),
        (125_000, "2 min 5 s"),
        (120_000, "2 min"),
        (3_780_000, "1 h 3 min"),
    ],
)
def test_durations_read_as_people_say_them(ms: float | None, text: str) -> None:
    assert duration(ms) == text


def test_moments_empty_values_and_metadata_values() -> None:
    assert moment(T0) == "2026-01-02 03:04:05.678 UTC"
    assert all(is_empty(v) for v in (None, "", "  ", "null", '""'))
    assert not any(is_empty(v) for v in ("0", "[]", '"no"', "text"))
    assert plain("text") == "text" and plain({"a": [1, "é"]}) == '{"a": [1, "é"]}'


def test_axis_ticks_take_round_steps_and_stay_on_the_axis() -> None:
    ticks = layout.axis_ticks(2345)
    assert [t.label for t in ticks] == ["0 ms", "500 ms", "1 s", "1.5 s", "2 s"]
    assert [round(t.percent, 1) for t in ticks] == [0, 21.3, 42.6, 64.0, 85.3]
    assert [t.align for t in ticks] == ["start", "start", "start", "start", "end"]
    whole = layout.axis_ticks(1000)
    assert [t.label for t in whole] == ["0 ms", "200 ms", "400 ms", "600 ms", "800 ms", "1 s"]
    assert whole[-1].align == "end" and whole[-1].percent == 100
    assert [t.label for t in layout.axis_ticks(1.0)] == [
        "0 ms",
        "0.2 ms",
        "0.4 ms",
        "0.6 ms",
        "0.8 ms",
        "1 ms",
    ]


def test_bars_are_placed_by_offset_sized_by_duration_and_labelled_beside_short_ones() -> None:
    roots = observation_tree(
        [
            obs("root", 0, 1000),
            obs("early", 10, 60, parent="root"),
            obs("late", 900, 990, parent="root"),
            obs("event", 1000, None, parent="root", kind="EVENT"),
        ]
    )
    nodes = [roots[0], *roots[0].children]
    bars = layout.timeline_bars(nodes, 1000)
    assert [(round(b.left, 1), round(b.width, 1), b.label_side) for b in bars] == [
        (0, 100, "inside"),
        (1, 5, "after"),
        (90, 9, "before"),
        (99.6, layout.MIN_BAR, "before"),  # an event at the very end stays on the axis, still visible
    ]


def test_the_agent_flow_numbers_steps_in_start_order_with_their_callers() -> None:
    roots = observation_tree(
        [
            obs("agent", 0, 500, kind="AGENT"),
            obs("glue", 5, 400, parent="agent"),
            obs("search", 10, 100, parent="glue", kind="TOOL"),
            obs("llm", 200, 300, parent="agent", kind="GENERATION"),
            obs("lookup", 150, 190, parent="glue", kind="TOOL"),
            obs("inner", 160, 170, parent="lookup", kind="GENERATION"),
        ]
    )
    steps = layout.agent_flow(roots)
    assert [(s.number, s.node.observation.id, s.depth, s.caller) for s in steps] == [
        (1, "agent", 0, None),
        (2, "search", 1, 1),  # the span between them is not a step: the agent called the tool
        (3, "lookup", 1, 1),
        (4, "inner", 2, 3),
        (5, "llm", 1, 1),
    ]
    assert (
        layout.agent_flow(observation_tree([obs("a", 0, 1), obs("g", 0, 1, parent="a", kind="GENERATION")]))
        == []
    )


def test_the_summary_has_the_worst_level_the_duration_and_the_first_token() -> None:
    observations = [
        obs("root", 0, 1200),
        obs("gen", 100, 900, parent="root", kind="GENERATION", level="WARNING", first_token_ms=350),
        obs("tool", 50, 80, parent="root", kind="TOOL", level="ERROR"),
    ]
    summary = layout.trace_summary(observations)
    assert summary == layout.TraceSummary(T0, 1200, "ERROR", 350)
    assert layout.first_token_ms(observations[1]) == 250  # from the generation's own start
    assert layout.first_token_ms(observations[0]) is None
    assert layout.trace_summary([]) == layout.TraceSummary(None, None, "DEFAULT", None)


def _detail(observations: list[ObservationView]) -> TraceDetail:
    trace = TraceView(
        "t1", T0, "run", None, None, None, None, "default", [], False, TraceTotals(len(observations))
    )
    return TraceDetail(trace, observations, observation_tree(observations), [])


def _render(detail: TraceDetail, view: str, obs_id: str | None = None) -> str:
    storage = cast(Storage, SimpleNamespace(settings=Settings(secret_key="unit-test-secret")))
    context: dict[str, Any] = trace_view(storage, detail, "p1", obs_id, shared=True, view=view)
    return ENV.get_template("_trace_view.html").render(**context)


def test_the_detail_shows_times_level_first_token_metadata_and_no_output() -> None:
    detail = _detail(
        [
            obs("root", 0, 1000, kind="AGENT"),
            obs("gen", 100, 900, parent="root", kind="GENERATION", first_token_ms=350, output=None),
        ]
    )
    html = _render(detail, "tree", "gen")
    facts = re.sub(
        r"\s+", " ", re.sub(r"<[^>]+>", " ", html.split('id="observation-facts"')[1].split("</dl>")[0])
    )
    assert "Start 2026-01-02 03:04:05.778 UTC" in facts and "Duration 800 ms" in facts
    assert "Level DEFAULT" in facts and "Time to first token 250 ms" in facts
    assert '<p class="empty">No output</p>' in html and "No input" not in html
    assert '<th scope="row">step</th><td>gen</td>' in html  # metadata
    with pytest.raises(InvalidInput, match="view must be one of tree, timeline"):
        _render(detail, "gantt")


def test_a_500_observation_trace_renders_fast_in_both_views() -> None:
    observations = [obs("root", 0, 50_000, kind="AGENT")] + [
        obs(
            f"o{i:03d}", 100 * i + 10, 100 * i + 90, parent="root", kind=("TOOL", "GENERATION", "SPAN")[i % 3]
        )
        for i in range(499)
    ]
    detail = _detail(observations)
    _render(detail, "timeline")  # the first render compiles the templates
    started = time.perf_counter()
    timeline = _render(detail, "timeline", "o250")
    tree = _render(detail, "tree", "o250")
    elapsed = time.perf_counter() - started
    assert timeline.count('class="gantt-bar"') == 500 and tree.count('class="bar"') == 500
    offsets = [float(v) for v in re.findall(r'data-offset-ms="([\d.]+)"', timeline)]
    assert offsets == sorted(offsets) and len(set(offsets)) == 500
    assert timeline.count('aria-current="true"') == 1
    assert elapsed < 0.5, f"rendering 500 observations twice took {elapsed:.3f} s"

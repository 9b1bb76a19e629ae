"""How one trace is laid out on its page: the timeline's axis and bars, the agent flow and the trace's
summary. Pure functions of the observation tree; no I/O here."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from app.dashboards.display import duration
from app.storage.clickhouse.queries.views import ObservationView
from app.tracing.trace_service import ObservationNode

MIN_BAR = 0.4  # % of the axis: events and very short observations stay visible and clickable
LABEL_INSIDE = 35  # % of the axis: a bar at least this wide carries its duration inside
LEVELS = ("DEBUG", "DEFAULT", "WARNING", "ERROR")  # least to most severe
FLOW_TYPES = {"AGENT", "TOOL", "CHAIN", "RETRIEVER", "GENERATION"}


@dataclass(frozen=True, slots=True)
class Tick:
    """A mark on the time axis, `percent` along it; its label starts at the mark, or ends there near the
    right edge, so none reaches past the axis."""

    percent: float
    label: str
    align: Literal["start", "end"]


@dataclass(frozen=True, slots=True)
class Bar:
    """One observation on the timeline: `left` and `width` in % of the axis; its duration label sits
    inside a wide bar, else after it, or before it when the bar ends near the right edge."""

    node: ObservationNode
    left: float
    width: float
    label_side: Literal["inside", "after", "before"]


@dataclass(frozen=True, slots=True)
class FlowStep:
    """An agent, tool, chain, retriever or generation, numbered in start order; `caller` is the number
    of the step it was called from (its nearest such ancestor), `depth` how many callers it has."""

    number: int
    node: ObservationNode
    depth: int
    caller: int | None


@dataclass(frozen=True, slots=True)
class TraceSummary:
    """A trace as its observations tell it: when it started, how long it ran, its most severe level,
    and the time from its start to the first token of any generation."""

    start: datetime | None
    duration_ms: float | None
    level: str
    first_token_ms: float | None


def axis_ticks(span_ms: float, most: int = 5) -> list[Tick]:
    """Round steps (1, 2 or 5 times a power of ten ms) from 0 to `span_ms`: at most `most` + 1 ticks."""
    rough = span_ms / most
    power = 10 ** math.floor(math.log10(rough))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= rough)
    ticks = []
    for i in range(int(span_ms / step + 1e-9) + 1):
        percent = 100 * i * step / span_ms
        align: Literal["start", "end"] = "end" if i and percent > 80 else "start"
        ticks.append(Tick(percent, duration(i * step), align))
    return ticks


def timeline_bars(nodes: list[ObservationNode], span_ms: float) -> list[Bar]:
    """A bar per observation, in tree order, placed by its start offset and sized by its duration."""
    bars = []
    for n in nodes:
        width = max(100 * (n.duration_ms or 0) / span_ms, MIN_BAR)
        left = min(100 * n.offset_ms / span_ms, 100 - width)
        side: Literal["inside", "after", "before"] = (
            "inside" if width >= LABEL_INSIDE else "after" if left + width <= 100 - LABEL_INSIDE else "before"
        )
        bars.append(Bar(n, left, width, side))
    return bars


def agent_flow(roots: list[ObservationNode]) -> list[FlowStep]:
    """The agent graph of a trace with agents or tools, as steps in start order; empty for traces
    without agents or tools."""
    found: list[tuple[ObservationNode, int, ObservationNode | None]] = []
    stack: list[tuple[ObservationNode, int, ObservationNode | None]] = [(r, 0, None) for r in reversed(roots)]
    while stack:  # without recursion: a trace may be thousands of levels deep
        node, depth, caller = stack.pop()
        if node.observation.type in FLOW_TYPES:
            found.append((node, depth, caller))
            depth, caller = depth + 1, node
        stack.extend((c, depth, caller) for c in reversed(node.children))
    if not any(n.observation.type in ("AGENT", "TOOL") for n, _, _ in found):
        return []
    found.sort(key=lambda f: f[0].offset_ms)  # stable: a caller starting with its callee stays first
    numbers = {n.observation.id: i for i, (n, _, _) in enumerate(found, 1)}
    return [
        FlowStep(i, n, depth, None if caller is None else numbers[caller.observation.id])
        for i, (n, depth, caller) in enumerate(found, 1)
    ]


def first_token_ms(o: ObservationView) -> float | None:
    """Milliseconds from a generation's start to its first token, when the client reported it."""
    if o.completion_start_time is None:
        return None
    return (o.completion_start_time - o.start_time).total_seconds() * 1000


def trace_summary(observations: list[ObservationView]) -> TraceSummary:
    if not observations:
        return TraceSummary(None, None, "DEFAULT", None)
    start = min(o.start_time for o in observations)
    ends = [o.end_time for o in observations if o.end_time is not None]
    firsts = [o.completion_start_time for o in observations if o.completion_start_time is not None]
    level = max((o.level for o in observations), key=lambda v: LEVELS.index(v) if v in LEVELS else 1)
    return TraceSummary(
        start,
        (max(ends) - start).total_seconds() * 1000 if ends else None,
        level,
        (min(firsts) - start).total_seconds() * 1000 if firsts else None,
    )

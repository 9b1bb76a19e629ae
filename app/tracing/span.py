"""A decoded OTLP span and the one check every span passes, at intake and again when mapped; pure."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

Attributes = dict[str, Any]


@dataclass(frozen=True, slots=True)
class SpanEvent:
    name: str
    time_ns: int
    attributes: Attributes


@dataclass(frozen=True, slots=True)
class Span:
    """One span with lowercase-hex ids, Unix-nanosecond times and decoded attribute values."""

    trace_id: str
    span_id: str
    parent_span_id: str | None
    name: str
    start_ns: int
    end_ns: int
    attributes: Attributes
    resource: Attributes
    scope_name: str
    scope_version: str
    status_code: int = 0
    status_message: str = ""
    events: tuple[SpanEvent, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class Decoded:
    """The spans of an export that pass `span_problem`, and why each other span was refused."""

    spans: list[Span]
    rejected: list[str]


@dataclass(frozen=True, slots=True)
class Checked:
    """How many spans of an export are accepted, and why each other span was refused."""

    accepted: int
    rejected: list[str]


def make_span(
    *,
    trace_id: str,
    span_id: str,
    parent: str | None,
    name: str,
    start_ns: int,
    end_ns: int,
    attributes: Attributes,
    resource: Attributes,
    scope: tuple[str, str],
    status: tuple[int, str],
    events: tuple[SpanEvent, ...],
) -> Span:
    """A Span, a missing start or end time taking the other's value."""
    start_ns = start_ns or end_ns
    end_ns = end_ns or start_ns
    return Span(
        trace_id,
        span_id,
        parent,
        name,
        start_ns,
        end_ns,
        attributes,
        resource,
        scope[0],
        scope[1],
        status[0],
        status[1],
        events,
    )


# --- the one check every span passes, at intake and again when mapped -----------------------

LEVELS = ("DEBUG", "DEFAULT", "WARNING", "ERROR")
LEVEL_KEY = "langfuse.observation.level"
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_AHEAD = timedelta(days=1)
"""Span times are accepted from EARLIEST to LATEST_AHEAD after the request was received."""


def unix_ns(moment: datetime) -> int:
    """`moment` in Unix nanoseconds (microsecond precision)."""
    return int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1000


_EARLIEST_NS = unix_ns(EARLIEST)
_AHEAD_NS = int(LATEST_AHEAD.total_seconds()) * 1_000_000_000


def span_problem(
    name: str, trace_id: str, span_id: str, start_ns: int, end_ns: int, level: Any, now_ns: int
) -> str | None:
    """Why a span is refused (a message naming the span and the field), or None when it is stored.

    Ids are lowercase hex; times Unix nanoseconds (0 = absent); `now_ns` the time the request arrived.
    """
    if len(trace_id) != 32 or not trace_id.strip("0"):
        return f"span {name!r} has no valid traceId (32 hex characters, not all zero)"
    if len(span_id) != 16 or not span_id.strip("0"):
        return f"span {name!r} has no valid spanId (16 hex characters, not all zero)"
    if not start_ns and not end_ns:
        return f"span {name!r} has neither startTimeUnixNano nor endTimeUnixNano"
    latest = now_ns + _AHEAD_NS
    for field_name, value in (("startTimeUnixNano", start_ns), ("endTimeUnixNano", end_ns)):
        if value and not _EARLIEST_NS <= value <= latest:
            return (
                f"span {name!r}: {field_name} {value} is outside the accepted range "
                f"({EARLIEST:%Y-%m-%d} to one day after the request)"
            )
    if level is not None and level != "" and (not isinstance(level, str) or level.upper() not in LEVELS):
        return f"span {name!r}: {LEVEL_KEY} {level!r} is not one of {', '.join(LEVELS)}"
    return None

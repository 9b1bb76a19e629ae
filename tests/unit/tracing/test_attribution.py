"""Trace attributes folded over a trace's updates and copied onto its observations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.storage.clickhouse.write_rows import ObservationRow, TraceRow, as_json_line
from app.tracing.attribution import (
    TraceAttributes,
    after,
    attribute,
    attribute_line,
    fold,
    is_stale,
    of_row,
    resolve,
)

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def trace(seconds: int, **kw: object) -> TraceRow:
    at = NOW + timedelta(seconds=seconds)
    return TraceRow(project_id="p", id="t", timestamp=at, event_ts=at, **kw)  # type: ignore[arg-type]


def obs(**kw: object) -> ObservationRow:
    return ObservationRow(
        project_id="p",
        id="o",
        trace_id="t",
        parent_observation_id=None,
        type="SPAN",
        name="s",
        start_time=NOW,
        **kw,
    )  # type: ignore[arg-type]


def test_newer_values_win_tags_unite_and_the_first_time_stays() -> None:
    folded = fold(
        [
            trace(5, name="renamed", tags=["b"]),
            trace(0, name="first", user_id="u1", environment="prod", tags=["a"], public=True),
            trace(9, user_id="u2"),
        ]
    )
    assert of_row(folded) == TraceAttributes("renamed", "u2", None, None, "prod", ("a", "b"), True)
    assert folded.timestamp == NOW


def test_the_trace_wins_the_observation_keeps_what_the_trace_lacks() -> None:
    attrs = TraceAttributes(name="checkout", user_id="u1", environment="prod", tags=("x",))
    row = attribute(obs(session_id="s1", tags=["y"], environment="staging"), attrs)
    assert (row.trace_name, row.user_id, row.session_id, row.tags, row.environment) == (
        "checkout",
        "u1",
        "s1",
        ["x", "y"],
        "staging",
    )
    assert attribute(obs(), attrs).environment == "prod"


def test_stale_rows_are_found_and_attribution_is_idempotent() -> None:
    attrs = TraceAttributes(name="checkout", session_id="s1")
    own = {
        c: getattr(obs(), c)
        for c in ("trace_name", "user_id", "session_id", "tags", "public", "release", "environment")
    }
    assert is_stale(own, attrs)
    done = attrs.carried(own)
    assert not is_stale(done, attrs) and attrs.carried(done) == done
    line = attribute_line(as_json_line(obs()), attrs)
    assert b'"trace_name":"checkout"' in line and b'"session_id":"s1"' in line


def test_new_rows_sort_after_every_stored_row() -> None:
    stored = trace(0, name="old")
    stored.event_ts = NOW + timedelta(hours=1)  # a clock ahead of ours
    rows, resolved = resolve({"t": stored}, [trace(1, name="new")], NOW)
    assert rows[0].event_ts == after(stored.event_ts, NOW) > stored.event_ts
    assert resolved["t"].name == "new"
    assert after(None, NOW) == NOW

"""Trace attributes resolved over every update of a trace, and copied onto its observations.

A trace's name, user, session, tags, environment, release and public flag may arrive on any span (often
only the root, which OTel exports last), through a legacy trace-create, in any order and in separate
requests. Every aggregate reads them from the observation rows (and the rollups fed by them), so each
observation must carry its trace's *resolved* attributes: new rows get them when written, and stored
rows whose trace's attributes changed are rewritten as a cancel row plus the corrected state
(docs/trace-attributes.md). Pure functions; the fold matches `FOLD_TRACE_ATTRIBUTES` in SQL.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import orjson

from app.storage.clickhouse.write_rows import ObservationRow, TraceRow
from app.storage.clickhouse.writes import CARRIED_COLUMNS as CARRIED


@dataclass(frozen=True, slots=True)
class TraceAttributes:
    """A trace's resolved attributes: the newest non-null value of each, tags united, public if ever."""

    name: str | None = None
    user_id: str | None = None
    session_id: str | None = None
    release: str | None = None
    environment: str = "default"
    tags: tuple[str, ...] = ()
    public: bool = False

    def carried(self, own: dict[str, Any]) -> dict[str, Any]:
        """What an observation carrying `own` (the CARRIED columns) carries once attributed to this trace.

        The trace's values win; the observation keeps its own where the trace has none, and its own
        environment unless that is the default. Idempotent, and stable as the trace's attributes grow.
        """
        return {
            "trace_name": self.name or own["trace_name"],
            "user_id": self.user_id or own["user_id"],
            "session_id": self.session_id or own["session_id"],
            "tags": sorted(set(own["tags"]) | set(self.tags)),
            "public": bool(self.public or own["public"]),
            "release": self.release or own["release"],
            "environment": self.environment if own["environment"] == "default" else own["environment"],
        }


def of_row(row: TraceRow) -> TraceAttributes:
    return TraceAttributes(
        row.name,
        row.user_id,
        row.session_id,
        row.release,
        row.environment,
        tuple(sorted(set(row.tags))),
        row.public,
    )


def fold(rows: Iterable[TraceRow]) -> TraceRow:
    """Merge partial updates of one trace, oldest first (event_ts, then timestamp): a newer non-null value
    wins, tags unite, public if any says so, metadata keys of newer rows win. The first row's timestamp
    is kept (the trace's start); input and output, the newest non-null."""
    ordered = sorted(rows, key=lambda r: (r.event_ts or r.timestamp, r.timestamp))
    if not ordered:
        raise ValueError("nothing to fold")
    into = replace(ordered[0], tags=list(ordered[0].tags))
    for row in ordered[1:]:
        for name in ("name", "user_id", "session_id", "release", "version", "input", "output"):
            if getattr(row, name) is not None:
                setattr(into, name, getattr(row, name))
        if row.environment != "default":
            into.environment = row.environment
        into.timestamp = min(into.timestamp, row.timestamp)
        into.public = into.public or row.public
        into.tags = sorted(set(into.tags) | set(row.tags))
        metadata = dict(zip(into.metadata_names, into.metadata_values, strict=True))
        metadata.update(zip(row.metadata_names, row.metadata_values, strict=True))
        into.metadata_names, into.metadata_values = list(metadata), list(metadata.values())
        into.event_ts = row.event_ts
    return into


def merge_per_trace(rows: Iterable[TraceRow]) -> list[TraceRow]:
    """One folded row per trace (SDKs repeat trace attributes on many spans of a trace)."""
    by_trace: dict[str, list[TraceRow]] = {}
    for row in rows:
        by_trace.setdefault(row.id, []).append(row)
    return [group[0] if len(group) == 1 else fold(group) for group in by_trace.values()]


def after(stored: datetime | None, now: datetime) -> datetime:
    """An event time for new trace rows that sorts after every stored one (ClickHouse keeps ms), so the
    fold in SQL and here agree on which value is newest."""
    if stored is None or stored < now:
        return now
    return stored + timedelta(milliseconds=1)


def resolve(
    known: dict[str, TraceRow], incoming: list[TraceRow], now: datetime
) -> tuple[list[TraceRow], dict[str, TraceAttributes]]:
    """The trace rows to insert (one per trace, newer than any stored row of it) and every trace's
    resolved attributes over its stored and new rows."""
    rows = []
    resolved = {trace_id: of_row(row) for trace_id, row in known.items()}
    for row in merge_per_trace(incoming):
        stored = known.get(row.id)
        row.event_ts = after(stored.event_ts if stored else None, now)
        rows.append(row)
        resolved[row.id] = of_row(fold([stored, row]) if stored else row)
    return rows, resolved


def attribute(row: ObservationRow, attrs: TraceAttributes | None) -> ObservationRow:
    """Copy the trace's resolved attributes onto an observation row (in place), by the rules of
    `TraceAttributes.carried` (spelled out here: the mapper runs this for every span)."""
    if attrs is None:
        return row
    if attrs.name:
        row.trace_name = attrs.name
    if attrs.user_id:
        row.user_id = attrs.user_id
    if attrs.session_id:
        row.session_id = attrs.session_id
    if attrs.tags:
        row.tags = sorted(set(row.tags) | set(attrs.tags)) if row.tags else list(attrs.tags)
    if attrs.public:
        row.public = True
    if attrs.release:
        row.release = attrs.release
    if row.environment == "default":
        row.environment = attrs.environment
    return row


def attribute_line(line: bytes, attrs: TraceAttributes) -> bytes:
    """The same for a row encoded by `as_json_line`."""
    row = orjson.loads(line)
    row.update(attrs.carried(row))
    return orjson.dumps(row)


def is_stale(own: dict[str, Any], attrs: TraceAttributes) -> bool:
    """Whether an observation carrying `own` must be rewritten to carry `attrs`."""
    wanted = attrs.carried(own)
    return any(_norm(own[k]) != _norm(wanted[k]) for k in CARRIED)


def _norm(value: Any) -> Any:
    return sorted(value) if isinstance(value, list | tuple) else value

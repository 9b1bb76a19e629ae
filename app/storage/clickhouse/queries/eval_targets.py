"""Stored observations for scheduled and backfill evaluations: one project, one time range, in keyset pages.

Pages follow the table's sort key (minute, trace id, id), so each page reads in order and stops at its
limit. A row is returned as the JSON line ingestion hands to rule matching (`as_json_line`), so the same
compiled rule filters apply to stored and to freshly written rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from app.storage.clickhouse.client import ClickHouse
from app.storage.clickhouse.queries.common import PROJECT, Params, where
from app.storage.clickhouse.query import CompiledQuery
from app.storage.clickhouse.write_rows import OBSERVATION_COLUMNS, ObservationRow, as_json_line

MAX_SCAN_PAGE = 1000


@dataclass(frozen=True, slots=True)
class ScanCursor:
    """Where the next page starts: after this (minute, trace id, observation id)."""

    minute: datetime
    trace_id: str
    observation_id: str


@dataclass(frozen=True, slots=True)
class ScanPage:
    lines: list[bytes]  # the live observations of the page, as `as_json_line` encodes them
    next: ScanCursor | None  # None: the range is exhausted


def compile_observation_scan(
    project_id: str, start: datetime, end: datetime, after: ScanCursor | None, limit: int
) -> CompiledQuery:
    """Live rows in [start, end) after the cursor, in sort-key order (newest version of an observation
    first, so the first row of each id is its current state)."""
    params = Params(project_id)
    preds = [
        PROJECT,
        f"start_time >= {params.bind(start, 'DateTime64(6)')}",
        f"start_time < {params.bind(end, 'DateTime64(6)')}",
        "sign = 1",
    ]
    if after is not None:
        preds.append(
            f"(toStartOfMinute(start_time), trace_id, id) > ({params.bind(after.minute, 'DateTime')}, "
            f"{params.bind(after.trace_id, 'String')}, {params.bind(after.observation_id, 'String')})"
        )
    sql = (
        f"SELECT {', '.join(OBSERVATION_COLUMNS)}, toStartOfMinute(start_time) AS scan_minute "
        f"FROM observations WHERE {where(preds)} "
        "ORDER BY toStartOfMinute(start_time), trace_id, id, row_version DESC "
        f"LIMIT {params.bind(min(limit, MAX_SCAN_PAGE), 'UInt32')}"
    )
    return CompiledQuery(sql, params.values, "eval.observation_scan")


def _utc(value: object) -> object:
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


async def scan_observations(
    ch: ClickHouse, project_id: str, start: datetime, end: datetime, after: ScanCursor | None, limit: int
) -> ScanPage:
    """One page of the project's observations started in [start, end) (at most `limit` rows read)."""
    rows = await ch.query(compile_observation_scan(project_id, start, end, after, limit))
    lines: list[bytes] = []
    seen: set[tuple[str, str]] = set()
    for r in rows:
        key = (str(r["trace_id"]), str(r["id"]))
        if key in seen:  # an older live version of an observation already taken
            continue
        seen.add(key)
        values = {k: _utc(v) for k, v in r.items() if k != "scan_minute"}
        lines.append(as_json_line(ObservationRow(**values)))  # type: ignore[arg-type]
    if len(rows) < min(limit, MAX_SCAN_PAGE):
        return ScanPage(lines, None)
    last = rows[-1]
    minute = _utc(last["scan_minute"])
    assert isinstance(minute, datetime)
    return ScanPage(lines, ScanCursor(minute, str(last["trace_id"]), str(last["id"])))

"""One page of the trace list: newest first from the newest trace rows, folding only their traces.

The list query itself (filters, sorts, keyset cursor) is compiled in `traces`; this module runs it,
on the traces of the newest matching rows when that proves the page exact, else on the whole window.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, cast

from app.storage.clickhouse.client import ClickHouse
from app.storage.clickhouse.queries.common import PROJECT, Cursor, Page, Params, in_list, keyset, where
from app.storage.clickhouse.queries.traces import (
    TraceFilter,
    TraceListRequest,
    TraceSort,
    compile_trace_list,
    cursor_value,
    trace_totals,
    trace_view,
)
from app.storage.clickhouse.queries.views import TraceView, utc
from app.storage.clickhouse.query import CompiledQuery

CANDIDATE_FACTOR = 4  # candidate rows read per page row
CANDIDATE_TRACES = 1.5  # traces folded per page row, at most

_ROW_FILTERS = ("names", "user_ids", "session_ids", "environments", "releases", "versions")
_ROW_COLUMNS = {
    "names": "name",
    "user_ids": "user_id",
    "session_ids": "session_id",
    "environments": "environment",
    "releases": "release",
    "versions": "version",
}


def _row_filters(f: TraceFilter) -> list[tuple[str, tuple[str, ...]]]:
    return [(_ROW_COLUMNS[name], getattr(f, name)) for name in _ROW_FILTERS if getattr(f, name)]


def _fast_path(req: TraceListRequest) -> bool:
    """Newest first, filtered (if at all) only by trace attributes that every row can be tested on."""
    cleared: dict[str, Any] = {name: () for name in _ROW_FILTERS}
    unfiltered = replace(req.filter, **cleared)
    return req.sort is TraceSort.TIMESTAMP and req.descending and unfiltered == TraceFilter()


def compile_trace_candidates(req: TraceListRequest, limit: int) -> CompiledQuery:
    """The newest trace rows of the window (after the cursor): read in sort-key order, stopping early."""
    params = Params(req.project_id)
    preds = [
        PROJECT,
        f"timestamp >= {params.bind(req.time.start, 'DateTime64(6)')}",
        f"timestamp < {params.bind(req.time.end, 'DateTime64(6)')}",
    ]
    if req.after:
        cursor = Cursor.decode(req.after, req.sort.value)
        keyset(params, "ts", "Int64", "id", cursor, True)  # validates the cursor's value
        preds.append(f"toUnixTimestamp64Micro(timestamp) <= {params.bind(cursor.value, 'Int64')}")
    for column, values in _row_filters(req.filter):
        # A trace's folded value is one of its rows' values: its newest such row is a candidate.
        preds.append(in_list(params, column, values))
    # Newest first in the table's own order (read in reverse, stopping early); for one user's or
    # session's traces, plain time order, which the projection sorted by them serves (migration 0008).
    by_owner = req.filter.user_ids or req.filter.session_ids
    order = "timestamp DESC" if by_owner else "toStartOfMinute(timestamp) DESC, timestamp DESC"
    sql = (
        f"SELECT id, toUnixTimestamp64Micro(timestamp) AS ts_us FROM traces WHERE {where(preds)} "
        f"ORDER BY {order} LIMIT {params.bind(limit, 'UInt32')}"
    )
    return CompiledQuery(sql, params.values, "traces.candidates")


def compile_trace_starts(project_id: str, trace_ids: tuple[str, ...]) -> CompiledQuery:
    """Each trace's first row time (the `trace_starts` rollup, keyed by id)."""
    return CompiledQuery(
        f"SELECT id, min(start) AS start FROM trace_starts WHERE {PROJECT} AND id IN {{ids:Array(String)}} "
        "GROUP BY id LIMIT {limit:UInt32}",
        {"project_id": project_id, "ids": list(trace_ids), "limit": len(trace_ids)},
        "traces.starts",
    )


async def _newest_page(ch: ClickHouse, req: TraceListRequest) -> list[dict[str, Any]] | None:
    """The newest-first list without folding every trace of the window: fold only the traces of the
    newest (matching) rows. None when those cannot prove the page exact (then fold them all)."""
    limit = CANDIDATE_FACTOR * (req.first + 1)
    candidates = await ch.query(compile_trace_candidates(req, limit))
    if not candidates:
        return []
    # The traces of the newest rows, up to 1.5 pages of them: the rows after the cut belong to other
    # traces and are no newer than the last row kept, as is every row that was not a candidate.
    ids: dict[str, None] = {}
    kept = candidates
    for n, r in enumerate(candidates):
        if str(r["id"]) not in ids and len(ids) == int(CANDIDATE_TRACES * (req.first + 1)):
            kept = candidates[:n]
            break
        ids[str(r["id"])] = None
    # No row of these traces is older than the first row of the oldest: fold from there, not from the
    # window's start (on a large project that is a few minutes of rows instead of a day's).
    time = req.time
    starts = await ch.query(compile_trace_starts(req.project_id, tuple(ids)))
    if len(starts) == len(ids):
        time = replace(time, start=max(time.start, min(utc(r["start"]) for r in starts)))
    narrowed = replace(req, time=time, filter=replace(req.filter, ids=tuple(ids)))
    rows = await ch.query(compile_trace_list(narrowed))
    if len(kept) == len(candidates) < limit:  # every row after the cursor was a candidate
        return rows
    # A trace left out has no row newer than the last row kept, so it starts no later than that.
    threshold = int(str(kept[-1]["ts_us"]))
    page = rows[: req.first + 1]
    if len(page) == req.first + 1 and all(
        int(utc(r["ts"]).timestamp() * 1_000_000) > threshold for r in page
    ):
        return rows
    return None


async def list_traces(ch: ClickHouse, req: TraceListRequest) -> Page[TraceView]:
    """One page of the trace list and the cursor after it."""
    rows = None
    if _fast_path(req):
        rows = await _newest_page(ch, req)
    if rows is None:
        rows = await ch.query(compile_trace_list(req))
    traces = [trace_view(r, trace_totals(r)) for r in rows[: req.first]]
    if req.with_observation_ids:
        for trace, r in zip(traces, rows, strict=False):
            trace.observation_ids = sorted(str(i) for i in cast(list[str], r["observation_ids"]))
    has_next = len(rows) > req.first
    end = (
        Cursor(req.sort.value, cursor_value(req.sort, traces[-1]), traces[-1].id).encode() if traces else None
    )
    return Page(traces, has_next, end)

"""Coalesce the rows of concurrent ingestion jobs into large inserts, without giving up durability.

ClickHouse (and chDB above all) inserts a few large blocks far faster than many small ones. Each job
hands its mapped rows to the writer and waits: the writer flushes when enough rows are pending or a
short delay has passed, and a job finishes only after the insert holding its rows succeeded. A flush
that fails on the store (down, busy) fails every job in it, and each retries on its own (the exactly-once
check makes that safe). A flush that fails on its data (a row ClickHouse refuses) is split until the
refused rows are alone: the rest is written, and each job learns which of its rows were refused and why.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, NamedTuple, TypeVar

from app.errors import RowsRefused
from app.storage import Storage
from app.storage.clickhouse.client import ClickHouse
from app.storage.clickhouse.write_rows import ObservationRow, ScoreRow, TraceRow, as_json_line
from app.storage.clickhouse.writes import (
    StoredObservation,
    fetch_current_observations,
    fetch_stored_in_traces,
    fetch_trace_attributes,
    insert_observation_lines,
    insert_scores,
    insert_trace_lines,
)
from app.tracing.attribution import (
    TraceAttributes,
    attribute,
    attribute_line,
    is_stale,
    of_row,
    resolve,
)
from app.tracing.gathering import Gathering, Handler

PROJECT_LOCK_SECONDS = 120
# How far before a flush's first span its trace's stored rows are looked for: a trace whose attributes
# were stored longer before its later spans start is not attributed across that gap.
TRACE_LOOKBACK = timedelta(hours=1)
CLOCK_SKEW = timedelta(seconds=10)
SCORE_WAIT_S = 0.05
log = logging.getLogger(__name__)


class MappedSpan(NamedTuple):
    """One mapped span: its (trace_id, id), start and end (Unix seconds) and encoded observation row,
    which carries the attributes of its trace's row in the same request."""

    key: tuple[str, str]
    start: float
    end: float
    line: bytes


class Mapped(NamedTuple):
    """A mapped request: its spans, and its trace rows (one per trace, as `as_values` tuples). Plain
    values only: they cross from the mapper process cheaply (a dataclass pickles ~10x slower)."""

    spans: list[MappedSpan]
    trace_values: list[tuple[object, ...]]
    originals: list[tuple[str, bytes]] = []  # (blob key, value) of truncated inputs/outputs; never mutated

    @property
    def traces(self) -> list[TraceRow]:
        return [TraceRow(*v) for v in self.trace_values]  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class RefusedRow:
    """A row ClickHouse refused (`observation <trace_id>/<id>` or `trace <id>`) and its reason."""

    row: str
    reason: str


# Called after a flush with a project id and the written observations' JSON lines (see notify_written).
WrittenHook = Callable[[str, list[bytes]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class WriteResult:
    written: int
    duplicates: int
    refused: tuple[RefusedRow, ...] = ()


Line = TypeVar("Line")
T = TypeVar("T")
R = TypeVar("R")


async def insert_isolating(
    insert: Callable[[list[Line]], Awaitable[None]], units: Sequence[Sequence[Line]]
) -> dict[int, str]:
    """Insert the lines of these units (rows written together, e.g. a cancel row and its new state) in
    as few inserts as possible: an insert ClickHouse refuses on its data is split in halves until each
    refused unit is alone. Returns the refused units' indexes with the reason. Any other failure (the
    store down) raises, leaving what it had not written for a retry."""
    refused: dict[int, str] = {}

    async def attempt(indexes: list[int]) -> None:
        lines = [line for i in indexes for line in units[i]]
        if not lines:
            return
        try:
            await insert(lines)
        except RowsRefused as exc:
            if len(indexes) == 1:
                refused[indexes[0]] = exc.reason
                return
            middle = len(indexes) // 2
            await attempt(indexes[:middle])
            await attempt(indexes[middle:])

    await attempt(list(range(len(units))))
    return refused


@dataclass
class _Pending:
    project_id: str
    mapped: Mapped
    done: asyncio.Future[WriteResult] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    since: float = field(default_factory=time.monotonic)


class CoalescingWriter:
    """Collects (project, rows) submissions and writes them exactly once in large inserts."""

    def __init__(
        self,
        storage: Storage,
        *,
        max_rows: int = 16384,
        max_wait_s: float = 0.75,
        on_written: WrittenHook | None = None,
    ) -> None:
        self._storage = storage
        self._on_written = on_written
        self._gatherings: dict[str, Gathering[Any, Any]] = {}
        self._max_rows = max_rows
        self._max_wait_s = max_wait_s
        self._pending: list[_Pending] = []
        self._rows = 0
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def write(self, project_id: str, mapped: Mapped) -> WriteResult:
        """Write these rows (skipping any already stored); returns once they are in ClickHouse."""
        pending = _Pending(project_id, mapped)
        self._pending.append(pending)
        self._rows += len(mapped.spans)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="ingest-writer")
        if self._rows >= self._max_rows:
            self._wake.set()
        return await pending.done

    async def write_scores(self, rows: list[ScoreRow]) -> tuple[RefusedRow, ...]:
        """Insert these scores together with those of concurrent jobs (one insert, not one per request:
        many small inserts slow every other write on the store). Returns the rows ClickHouse refused and
        why (each refused row alone: the rest is stored)."""
        return await self.gathering("scores", self._insert_scores, SCORE_WAIT_S).submit("", rows)

    def gathering(self, name: str, handle: Handler[T, R], wait_s: float) -> Gathering[T, R]:
        """The writer's gathering of work of concurrent jobs called `name` (made on first use with this
        handler); closed with the writer."""
        if name not in self._gatherings:
            self._gatherings[name] = Gathering(handle, wait_s, name)
        return self._gatherings[name]

    async def _insert_scores(self, _: str, batches: list[list[ScoreRow]]) -> list[tuple[RefusedRow, ...]]:
        refused = await insert_isolating(
            partial(insert_scores, self._storage.clickhouse), [[row] for rows in batches for row in rows]
        )
        out, start = [], 0
        for rows in batches:
            out.append(
                tuple(
                    RefusedRow(f"score {row.id}", refused[start + i])
                    for i, row in enumerate(rows)
                    if start + i in refused
                )
            )
            start += len(rows)
        return out

    async def notify_written(self, project_id: str, lines: list[bytes]) -> None:
        """Hand the stored state of observations just written (new rows and corrected ones, as JSON lines)
        to the hook (the judges' rule matching). Its failure is logged, never the write's."""
        if self._on_written is None or not lines:
            return
        try:
            await self._on_written(project_id, lines)
        except Exception:
            log.exception("after-write hook failed for %d rows of project %s", len(lines), project_id)

    async def close(self) -> None:
        for gathering in self._gatherings.values():
            await gathering.close(finish=False)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while self._pending:
            # Rows wait at most max_wait_s from their arrival: under load, those that came in during the
            # last flush have waited already, and the next flush starts at once.
            wait = self._pending[0].since + self._max_wait_s - time.monotonic()
            if wait > 0 and self._rows < self._max_rows:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), wait)
            self._wake.clear()
            taken, self._pending, self._rows = self._pending, [], 0
            by_project: dict[str, list[_Pending]] = {}
            for p in taken:
                by_project.setdefault(p.project_id, []).append(p)
            for project_id, group in by_project.items():
                try:
                    results = await self._flush(project_id, group)
                except Exception as exc:
                    for p in group:
                        if not p.done.done():
                            p.done.set_exception(exc)
                    continue
                for p, result in zip(group, results, strict=True):
                    if not p.done.done():
                        p.done.set_result(result)

    async def _flush(self, project_id: str, group: list[_Pending]) -> list[WriteResult]:
        """Under the project's lock: find what is stored, resolve each trace's attributes over its stored
        and new rows, write the trace rows, the new observations carrying them, and a cancel row plus the
        corrected state for each stored observation whose trace's attributes changed."""
        ch = self._storage.clickhouse
        lock = self._storage.cache.lock(f"ingest:{project_id}", PROJECT_LOCK_SECONDS, PROJECT_LOCK_SECONDS)
        async with lock:
            spans = [m for p in group for m in p.mapped.spans]
            trace_ids = sorted({m.key[0] for m in spans})
            start_min, end_max = (
                datetime.fromtimestamp(t, UTC)
                for t in (min(m.start for m in spans), max(max(m.start, m.end) for m in spans))
            )
            t0 = time.perf_counter()
            known = await fetch_trace_attributes(ch, project_id, trace_ids, start_min - TRACE_LOOKBACK)
            # A trace's other spans start within it: from its first stored row or this flush's first span
            # (less a margin for clocks that differ between the services of a distributed trace).
            window_min = min([start_min, *(t.timestamp for t in known.values())]) - CLOCK_SKEW
            stored = await fetch_stored_in_traces(ch, project_id, trace_ids, window_min, end_max)
            t1 = time.perf_counter()
            results, incoming = [], []
            units: list[list[bytes]] = []  # one per new span (owner: request, key), one per correction
            owners: list[tuple[int, tuple[str, str]] | None] = []
            seen: set[tuple[str, str]] = {s.key for s in stored}
            fresh_by_request: list[tuple[list[TraceRow], list[MappedSpan]]] = []
            traces_of = [p.mapped.traces for p in group]
            for p, request_traces in zip(group, traces_of, strict=True):
                fresh = []
                for m in p.mapped.spans:
                    if m.key in seen:  # stored already, or repeated by another job of this flush
                        continue
                    seen.add(m.key)
                    fresh.append(m)
                if fresh:  # a request replayed whole adds no trace rows again
                    incoming += request_traces
                fresh_by_request.append((request_traces, fresh))
                results.append(WriteResult(len(fresh), len(p.mapped.spans) - len(fresh)))
            trace_rows, resolved = resolve(known, incoming, datetime.now(UTC))
            for index, (request_traces, fresh) in enumerate(fresh_by_request):
                # The traces whose resolved attributes differ from those the mapper put on this request's
                # spans (decided once per trace, not per span).
                applied = {t.id: of_row(t) for t in request_traces}
                patch: dict[str, TraceAttributes | None] = {}
                for m in fresh:
                    trace_id = m.key[0]
                    if trace_id not in patch:
                        attrs = resolved.get(trace_id)
                        patch[trace_id] = (
                            attrs if attrs is not None and applied.get(trace_id) != attrs else None
                        )
                    attrs = patch[trace_id]
                    units.append([m.line if attrs is None else attribute_line(m.line, attrs)])
                    owners.append((index, m.key))
            corrections = await _corrections(ch, project_id, stored, resolved, window_min)
            for cancel, new in zip(corrections[::2], corrections[1::2], strict=True):
                units.append([as_json_line(cancel), as_json_line(new)])
                owners.append(None)
            # Trace rows first: a flush that fails after them is retried whole (its spans are not stored
            # yet, so their trace rows come again); spans stored first would make a retry skip the trace
            # rows, as for a replay. A reader can meanwhile find a trace whose new spans are not there yet.
            refused_traces = await insert_isolating(
                partial(insert_trace_lines, ch), [[as_json_line(t)] for t in trace_rows]
            )
            t2 = time.perf_counter()
            refused = await insert_isolating(partial(insert_observation_lines, ch), units)
            log.debug(
                "flush %d rows (%d corrected): lookups %.0f ms, traces %.0f ms, insert %.0f ms",
                len(units) - len(corrections) // 2,
                len(corrections) // 2,
                (t1 - t0) * 1e3,
                (t2 - t1) * 1e3,
                (time.perf_counter() - t2) * 1e3,
            )
        await self.notify_written(project_id, [u[-1] for i, u in enumerate(units) if i not in refused])
        if not refused and not refused_traces:
            return results
        traces_by_request = [{t.id for t in request_traces} for request_traces, _ in fresh_by_request]
        refused_trace_ids = {trace_rows[i].id: reason for i, reason in refused_traces.items()}
        return _with_refused(results, owners, refused, refused_trace_ids, traces_by_request)


def _with_refused(
    results: list[WriteResult],
    owners: list[tuple[int, tuple[str, str]] | None],
    refused: dict[int, str],
    refused_traces: dict[str, str],
    traces_by_request: list[set[str]],
) -> list[WriteResult]:
    """Each request's result with the rows of it that ClickHouse refused: its observations (by unit owner)
    and the trace rows its spans spoke for."""
    by_request: dict[int, list[RefusedRow]] = {}
    for i, reason in refused.items():
        owner = owners[i]
        if owner is None:  # a stored row rewritten with its trace's attributes: it keeps the old ones
            log.error("correction of a stored observation refused: %s", reason)
            continue
        trace_id, span_id = owner[1]
        by_request.setdefault(owner[0], []).append(RefusedRow(f"observation {trace_id}/{span_id}", reason))
    for trace_id, reason in refused_traces.items():
        for index, trace_ids in enumerate(traces_by_request):
            if trace_id in trace_ids:
                by_request.setdefault(index, []).append(RefusedRow(f"trace {trace_id}", reason))
    out = []
    for index, result in enumerate(results):
        rows = by_request.get(index, [])
        observations = sum(r.row.startswith("observation ") for r in rows)
        out.append(replace(result, written=result.written - observations, refused=tuple(rows)))
    return out


async def _corrections(
    ch: ClickHouse,
    project_id: str,
    stored: list[StoredObservation],
    resolved: dict[str, TraceAttributes],
    since: datetime,
) -> list[ObservationRow]:
    """Rows that rewrite the stored observations not carrying their trace's resolved attributes: a cancel
    row of the stored state and the corrected state (next row_version), so every aggregate stays exact."""
    stale = {
        s.key for s in stored if (attrs := resolved.get(s.key[0])) is not None and is_stale(s.carried, attrs)
    }
    if not stale:
        return []
    now = datetime.now(UTC)
    rows = await fetch_current_observations(ch, project_id, ids=sorted({i for _, i in stale}), since=since)
    writes = []
    for old in rows:
        if (old.trace_id, old.id) in stale:
            new = replace(old, event_ts=now, row_version=old.row_version + 1)
            writes += [replace(old, sign=-1, event_ts=now), attribute(new, resolved[old.trace_id])]
    return writes

"""Coalesce the rows of concurrent ingestion jobs into large inserts, without giving up durability.

ClickHouse (and chDB above all) inserts a few large blocks far faster than many small ones. Each job
hands its mapped rows to the writer and waits: the writer flushes when enough rows are pending or a
short delay has passed, and a job finishes only after the insert holding its rows succeeded. A failed
flush fails every job in it, and each retries on its own (the exactly-once check makes that safe).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import NamedTuple

from app.storage import Storage
from app.storage.clickhouse.observations import (
    fetch_existing_observation_keys,
    insert_observation_lines,
    insert_trace_lines,
)
from app.storage.clickhouse.rows import TraceRow

PROJECT_LOCK_SECONDS = 120
log = logging.getLogger(__name__)


class MappedSpan(NamedTuple):
    """One mapped span: its (trace_id, id), start (Unix seconds) and encoded observation row."""

    key: tuple[str, str]
    start: float
    line: bytes


class Mapped(NamedTuple):
    """A mapped request: its spans, and its trace rows (merged per trace, encoded). Plain values
    only: they cross from the mapper process cheaply."""

    spans: list[MappedSpan]
    trace_lines: list[bytes]


@dataclass(frozen=True, slots=True)
class WriteResult:
    written: int
    duplicates: int


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

    def __init__(self, storage: Storage, *, max_rows: int = 16384, max_wait_s: float = 0.75) -> None:
        self._storage = storage
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

    async def close(self) -> None:
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
        """Under the project's lock: find what is stored, insert traces first, then observations."""
        ch = self._storage.clickhouse
        lock = self._storage.cache.lock(f"ingest:{project_id}", PROJECT_LOCK_SECONDS, PROJECT_LOCK_SECONDS)
        async with lock:
            spans = [m for p in group for m in p.mapped.spans]
            starts = [m.start for m in spans]
            keys = [m.key for m in spans]
            t0 = time.perf_counter()
            start_min, start_max = (datetime.fromtimestamp(t, UTC) for t in (min(starts), max(starts)))
            existing = await fetch_existing_observation_keys(ch, project_id, keys, start_min, start_max)
            t1 = time.perf_counter()
            results, lines, trace_lines = [], [], []
            seen: set[tuple[str, str]] = set(existing)
            for p in group:
                fresh = 0
                for m in p.mapped.spans:
                    if m.key in seen:  # stored already, or repeated by another job of this flush
                        continue
                    seen.add(m.key)
                    fresh += 1
                    lines.append(m.line)
                if fresh:  # a request replayed whole adds no trace rows again
                    trace_lines += p.mapped.trace_lines
                results.append(WriteResult(fresh, len(p.mapped.spans) - fresh))
            await insert_trace_lines(ch, trace_lines)
            t2 = time.perf_counter()
            await insert_observation_lines(ch, lines)
            log.debug(
                "flush %d rows: exists %.0f ms, traces %.0f ms, insert %.0f ms",
                len(lines),
                (t1 - t0) * 1e3,
                (t2 - t1) * 1e3,
                (time.perf_counter() - t2) * 1e3,
            )
        return results


def merge_trace_rows(rows: list[TraceRow]) -> list[TraceRow]:
    """One trace row per trace: SDKs repeat trace attributes on every span of a trace."""
    merged: dict[str, TraceRow] = {}
    for row in sorted(rows, key=lambda r: r.timestamp):
        into = merged.get(row.id)
        if into is None:
            merged[row.id] = replace(row, tags=list(row.tags))
            continue
        for name in ("name", "user_id", "session_id", "release", "version", "input", "output"):
            if getattr(into, name) is None:
                setattr(into, name, getattr(row, name))
        into.public = into.public or row.public
        into.tags = sorted(set(into.tags) | set(row.tags))
        metadata = dict(zip(into.metadata_names, into.metadata_values, strict=True))
        metadata.update(zip(row.metadata_names, row.metadata_values, strict=True))
        into.metadata_names, into.metadata_values = list(metadata), list(metadata.values())
    return list(merged.values())

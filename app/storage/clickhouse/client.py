"""The ClickHouse client: chDB in-process (embedded) or a server over HTTP, called off the event loop."""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
import queue
import re
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import clickhouse_connect
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError, DataError

from app.errors import QueryTooExpensive, RowsRefused, StorageError
from app.storage.clickhouse.query import MAX_RESULT_ROWS, CompiledQuery

log = logging.getLogger(__name__)
T = TypeVar("T")

_TIMEOUT_CODES = ("TIMEOUT_EXCEEDED", "TOO_MANY_ROWS", "MEMORY_LIMIT_EXCEEDED", "TOO_MANY_BYTES")
# Errors of the data itself: the same rows fail on every retry (unlike a store that is down or busy).
_DATA_CODES = frozenset(
    {
        "ARGUMENT_OUT_OF_BOUND",
        "ATTEMPT_TO_READ_AFTER_EOF",
        "CANNOT_CONVERT_TYPE",
        "CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN",
        "CANNOT_READ_ARRAY_FROM_TEXT",
        "CANNOT_READ_MAP_FROM_TEXT",
        "DECIMAL_OVERFLOW",
        "INCORRECT_DATA",
        "SIZES_OF_ARRAYS_DONT_MATCH",
        "TOO_LARGE_ARRAY_SIZE",
        "TOO_LARGE_STRING_SIZE",
        "TYPE_MISMATCH",
        "UNKNOWN_ELEMENT_IN_ENUM",
        "VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE",
    }
)
_CODE = re.compile(r"\(([A-Z][A-Z_]+)\)")
_EXCEPTION = re.compile(
    r"DB::Exception: (?:Code: \d+\. DB::Exception: )?(.*?)(?:: \(in file/uri |: While |\. \(|$)", re.S
)


def refused_reason(text: str) -> str | None:
    """ClickHouse's reason when an error is one of the data (e.g. "Decimal value is too big ...
    (ARGUMENT_OUT_OF_BOUND)"), else None. Only the message: no SQL, file names or stack."""
    codes = _CODE.findall(text)
    code = next((c for c in reversed(codes) if c in _DATA_CODES or c.startswith("CANNOT_PARSE")), None)
    if code is None:
        return None
    found = _EXCEPTION.search(text)
    message = " ".join((found[1] if found else "").split())
    return f"{message[:300]} ({code})" if message else code


# When the request a query serves began: a lane runs the queries of older requests first, so a request
# that needs several queries in turn is not queued anew behind every newer request at each of them
# (under load, first come first served per query made such requests the slowest by far).
_request_began: ContextVar[float | None] = ContextVar("request_began", default=None)


def begin_request() -> None:
    """Mark the current task (an HTTP request) as begun now; its queries are ordered by this time."""
    _request_began.set(time.monotonic())


class _Lane:
    """Threads that each run calls on a client of their own (chDB runs queries from separate
    connections side by side; a server client is not meant to be shared by concurrent calls), taking
    the call of the oldest request first, or in the order given when `ordered` (writes)."""

    def __init__(self, open_client: Callable[[], Client], threads: int, name: str, *, ordered: bool = False):
        self._open = open_client
        self._ordered = ordered
        self._work: queue.PriorityQueue[_Work] = queue.PriorityQueue()
        self._seq = itertools.count()
        self._clients: list[Client] = []
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._serve, name=f"clickhouse-{name}-{i}", daemon=True)
            for i in range(threads)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, fn: Callable[[Client], T]) -> asyncio.Future[T]:
        began = _request_began.get()
        priority = 0.0 if self._ordered else time.monotonic() if began is None else began
        done: Future[T] = Future()
        self._work.put(_Work(priority, next(self._seq), fn, done))
        return asyncio.wrap_future(done)

    def _serve(self) -> None:
        client: Client | None = None  # opened on first need: an idle server holds one per lane
        while (work := self._work.get()).fn is not None:
            if not work.done.set_running_or_notify_cancel():
                continue
            try:
                if client is None:
                    client = self._open()
                    with self._lock:
                        self._clients.append(client)
                work.done.set_result(work.fn(client))
            except BaseException as exc:
                work.done.set_exception(exc)

    def close(self) -> None:
        for _ in self._threads:
            self._work.put(_Work(math.inf, next(self._seq), None, Future()))
        for thread in self._threads:
            thread.join()
        for client in self._clients:
            client.close()


@dataclass(order=True, slots=True)
class _Work:
    priority: float
    seq: int
    fn: Callable[[Client], Any] | None = field(compare=False)
    done: Future[Any] = field(compare=False)


class ClickHouse:
    """Runs compiled queries and DDL on worker threads, never on the loop, in three lanes: writes (one
    thread, so inserts keep their order), reads (several, side by side) and heavy reads (text search),
    which have threads of their own so a few expensive searches never hold up the light reads."""

    def __init__(
        self,
        open_client: Callable[[], Client],
        *,
        embedded: bool,
        max_execution_seconds: int,
        read_threads: int = 4,
        heavy_threads: int = 1,
    ) -> None:
        self.embedded = embedded
        self._max_execution_seconds = max_execution_seconds
        first = open_client()  # fail now, not on the first query, when the engine cannot be opened
        self._write = _Lane(lambda: first, 1, "write", ordered=True)
        self._read = _Lane(open_client, read_threads, "read")
        self._heavy = _Lane(open_client, heavy_threads, "heavy")

    @classmethod
    def open(
        cls, url: str | None, data_dir: Path, max_execution_seconds: int, read_threads: int = 4
    ) -> ClickHouse:
        """Open chDB at `<data_dir>/clickhouse` when `url` is None, else the server at `url`."""
        if url is None:
            path = (data_dir / "clickhouse").resolve()
            path.mkdir(parents=True, exist_ok=True)
            dsn = f"chdb://{path}"
        else:
            dsn = url

        def open_client() -> Client:
            try:
                return clickhouse_connect.get_client(dsn=dsn)
            except Exception as exc:
                raise StorageError(f"cannot open ClickHouse: {type(exc).__name__}") from exc

        return cls(
            open_client,
            embedded=url is None,
            max_execution_seconds=max_execution_seconds,
            read_threads=read_threads,
        )

    async def _run(self, lane: _Lane, fn: Callable[[Client], T], tag: str) -> T:
        try:
            return await lane.submit(fn)
        except ClickHouseError as exc:
            text = str(exc)
            if any(code in text for code in _TIMEOUT_CODES):
                raise QueryTooExpensive(
                    f"query {tag} exceeded its time or size budget; narrow the time range or filters"
                ) from exc
            # A value the client cannot encode for its column is refused like one the server refuses.
            reason = " ".join(text.split())[:300] if isinstance(exc, DataError) else refused_reason(text)
            if reason is not None:
                raise RowsRefused(f"ClickHouse refused the data of {tag}", reason) from exc
            found = _EXCEPTION.search(text)  # ClickHouse's own words, for whoever reads the log
            said = " ".join((found[1] if found else text).split())[:300]
            log.error("clickhouse query %s failed: %s", tag, said)
            raise StorageError(f"ClickHouse query {tag} failed") from exc

    async def query(self, q: CompiledQuery) -> list[dict[str, object]]:
        """Run a read query (read-only, time- and row-capped) and return rows as dicts."""
        settings: dict[str, object] = {
            **q.settings,  # a query may add settings, never lift the caps below
            "max_execution_time": min(
                int(str(q.settings.get("max_execution_time", 10**6))), self._max_execution_seconds
            ),
            "max_result_rows": MAX_RESULT_ROWS,
            "result_overflow_mode": "throw",
            "readonly": 2,
        }
        log.debug("clickhouse %s: %s", q.tag, q.sql)
        lane = self._heavy if q.heavy else self._read
        result = await self._run(
            lane, lambda c: c.query(q.sql, parameters=q.parameters, settings=settings), q.tag
        )
        return list(result.named_results())

    async def delete(self, q: CompiledQuery) -> None:
        """Run a lightweight DELETE (tenant-checked like any query; values bound as parameters)."""
        if not q.sql.startswith("DELETE FROM "):
            raise StorageError(f"{q.tag} is not a DELETE")
        await self._run(self._write, lambda c: c.command(q.sql, parameters=q.parameters), q.tag)

    async def command(self, sql: str, tag: str) -> None:
        """Run one DDL or administrative statement (migrations only; no user values)."""
        await self._run(self._write, lambda c: c.command(sql), tag)

    async def insert(
        self, table: str, rows: Sequence[Sequence[object]], columns: list[str], tag: str
    ) -> None:
        """Insert rows into a registry table (names come from code, values are sent as data)."""
        await self._run(self._write, lambda c: c.insert(table, rows, column_names=columns), tag)

    async def insert_json_lines(self, table: str, columns: list[str], lines: list[bytes], tag: str) -> None:
        """Insert pre-encoded JSONEachRow lines: ClickHouse parses them in C++, so large blocks cost
        this process almost nothing (the lines are built where the rows are mapped)."""
        block = b"\n".join(lines)
        # Skip indexes (full-text) are built by merges, off the ingestion path (migration 0005).
        settings = {"date_time_input_format": "best_effort", "materialize_skip_indexes_on_insert": 0}
        await self._run(
            self._write,
            lambda c: c.raw_insert(table, columns, insert_block=block, settings=settings, fmt="JSONEachRow"),
            tag,
        )

    async def ping(self) -> bool:
        """Tell whether the engine answers."""
        try:
            await self._run(self._read, lambda c: c.command("SELECT 1"), "health.ping")
        except StorageError:
            return False
        return True

    async def close(self) -> None:
        """Close every lane's clients and threads (the write lane's client last: chDB's engine shuts
        down with its last connection)."""
        for lane in (self._heavy, self._read, self._write):
            await asyncio.to_thread(lane.close)

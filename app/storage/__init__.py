"""Everything that talks to a datastore: ClickHouse, Postgres, Redis and the blob store.

May import only app.settings and app.errors from app; never strawberry, litestar, arq or plotly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass
from functools import partial

from app.errors import StorageError
from app.settings import Settings
from app.storage.blobs import BlobStore, open_blob_store
from app.storage.cache import Cache, is_redis_outage
from app.storage.clickhouse.client import ClickHouse
from app.storage.clickhouse.migrate import migrate_clickhouse
from app.storage.embedded import DataDirLock, EmbeddedPostgres, EmbeddedRedis, redis_socket_path
from app.storage.postgres.engine import STARTUP_LOCK, Postgres, is_postgres_outage
from app.storage.supervisor import Supervised, supervise

log = logging.getLogger(__name__)

PING_TIMEOUT_SECONDS = 2.0


@dataclass
class Storage:
    """The open stores, shared by the web app, the worker and the CLI."""

    settings: Settings
    postgres: Postgres
    cache: Cache
    blobs: BlobStore
    redis_url: str
    _clickhouse: ClickHouse | None

    @property
    def clickhouse(self) -> ClickHouse:
        if self._clickhouse is None:
            raise StorageError("ClickHouse was not opened for this command")
        return self._clickhouse

    async def migrate(self) -> None:
        """Apply the Postgres and ClickHouse migrations (idempotent; one process at a time)."""
        await self.postgres.migrate()
        async with self.postgres.advisory_lock(STARTUP_LOCK):
            applied = await migrate_clickhouse(self.clickhouse, self.settings.clickhouse_cluster)
        if applied:
            log.info("applied ClickHouse migrations %s", applied)

    async def health(self, *, clickhouse: bool = True) -> dict[str, bool]:
        """Ping Postgres, Redis and (unless told not to) ClickHouse, each for at most 2 s."""
        checks = {"postgres": self.postgres.ping(), "redis": self.cache.ping()}
        if clickhouse and self._clickhouse is not None:
            checks["clickhouse"] = self._clickhouse.ping()
        results = await asyncio.gather(*(_within(check, PING_TIMEOUT_SECONDS) for check in checks.values()))
        return dict(zip(checks, results, strict=True))


async def _within(check: Coroutine[object, object, bool], timeout_s: float) -> bool:
    try:
        return await asyncio.wait_for(check, timeout_s)
    except TimeoutError:
        return False


def unavailable_store(exc: BaseException) -> str | None:
    """Name the store ("postgres" or "redis") that `exc`, or an error it was raised from, says cannot be
    reached; None for any other error."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if is_redis_outage(current):
            return "redis"
        if is_postgres_outage(current):
            return "postgres"
        current = current.__cause__ or current.__context__
    return None


@contextlib.asynccontextmanager
async def open_storage(settings: Settings, *, clickhouse: bool = True) -> AsyncIterator[Storage]:
    """Open every configured store, starting embedded ones in the data directory, and close them after.

    With clickhouse=True this process owns the data directory (chDB, Redis) and takes its lock;
    a second owner is refused. With clickhouse=False (admin CLI) it attaches to a running server's
    embedded Postgres and Redis instead of refusing.
    """
    data_dir = settings.data_dir
    lock = DataDirLock(data_dir / "langhouse.lock")
    pg_embedded = redis_embedded = None
    attach = False
    async with contextlib.AsyncExitStack() as stack:
        if settings.uses_data_dir:
            data_dir.mkdir(parents=True, exist_ok=True)
            attach = not clickhouse and lock.is_held_elsewhere()
            if not attach:
                lock.acquire()
                stack.callback(lock.release)
        database_url = settings.database_url
        if database_url is None:
            pg_embedded = EmbeddedPostgres(data_dir / "postgres")
            stack.push_async_callback(asyncio.to_thread, pg_embedded.stop)  # also after a failed start
            await asyncio.to_thread(pg_embedded.start)
            database_url = pg_embedded.url
        supervised: list[Supervised] = []
        if pg_embedded is not None and not attach:
            supervised.append(
                Supervised("postgres", pg_embedded.alive, partial(asyncio.to_thread, pg_embedded.restart))
            )
        redis_url = settings.redis_url
        if redis_url is None and attach:
            redis_url = f"unix://{redis_socket_path(data_dir)}"
        elif redis_url is None:
            redis_embedded = EmbeddedRedis(data_dir / "redis")
            # Started from the event-loop thread: the child's parent-death signal is tied to the
            # thread that forked it, and this thread lives as long as the process.
            redis_embedded.start()
            stack.push_async_callback(asyncio.to_thread, redis_embedded.stop)
            redis_url = redis_embedded.url
            supervised.append(Supervised("redis", redis_embedded.alive, redis_embedded.restart))
        postgres = Postgres(database_url)
        stack.push_async_callback(postgres.close)
        cache = Cache(redis_url)
        stack.push_async_callback(cache.close)
        blobs = await open_blob_store(settings)
        stack.push_async_callback(blobs.close)
        ch = None
        if clickhouse:
            ch = await asyncio.to_thread(
                ClickHouse.open,
                settings.clickhouse_url,
                data_dir,
                settings.clickhouse_max_execution_seconds,
                settings.clickhouse_read_threads,
            )
            stack.push_async_callback(ch.close)
        if supervised:  # stopped first on the way out, before the stores it watches
            watcher = asyncio.create_task(supervise(supervised), name="langhouse-store-supervisor")
            stack.push_async_callback(_cancel, watcher)
        yield Storage(settings, postgres, cache, blobs, redis_url, ch)


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task

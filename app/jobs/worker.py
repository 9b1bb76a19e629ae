"""The arq worker: job functions and how to run them in-process (embedded) or standalone."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from datetime import UTC, datetime, timedelta
from typing import Any

from arq.cron import cron
from arq.worker import Worker, func

from app.jobs import evaluation, evaluation_schedules, ingest
from app.jobs.contracts import (
    EVAL_JUDGE,
    EVAL_SCHEDULE,
    INGEST_BATCH,
    QUEUE,
    SYSTEM_PING,
    JobQueue,
    deserialize,
    redis_settings,
    serialize,
)
from app.playground import judge_calls
from app.settings import Settings
from app.storage import Storage, open_storage, unavailable_store
from app.tracing.pipeline import OtlpMapper
from app.tracing.writer import CoalescingWriter

log = logging.getLogger(__name__)


async def ping(ctx: dict[str, Any], payload: dict[str, Any]) -> dict[str, Any]:
    """Answer with where and when the job ran: proves a worker is consuming the queue."""
    return {
        "pong": payload.get("echo"),
        "worker": f"{socket.gethostname()}:{os.getpid()}",
        "at": datetime.now(UTC).isoformat(),
    }


CRON_JOBS = [
    cron(ingest.sweep, name="ingest.sweep", minute=set(range(0, 60, 5)), run_at_startup=True),
    cron(evaluation.sweep, name="eval.sweep", run_at_startup=True),
    cron(evaluation_schedules.start_due_schedules, name="eval.start_due_schedules", run_at_startup=True),
]
# arq logs at INFO each cron run (two lines a minute per cron, even when it does nothing), its own
# start and shutdown, and an hourly health line. The crons log themselves when they do something;
# `langhouse serve` and `langhouse worker` say when they start and stop. The log level debug shows all.
_CRON_NAMES = frozenset(job.name for job in CRON_JOBS)
_JOB_LINES = ("%6.2fs → %s(%s)%s", "%6.2fs ← %s ● %s")
_CHATTER = ("Starting worker for ", "redis_version=", "shutdown on ", "recording health: ")


def quiet_arq_chatter(record: logging.LogRecord) -> bool:
    """A filter for arq's logger: False for its routine INFO lines (see above) unless debug is on."""
    if record.levelno != logging.INFO or logging.getLogger(record.name).isEnabledFor(logging.DEBUG):
        return True
    if record.msg in _JOB_LINES and isinstance(record.args, tuple) and len(record.args) > 1:
        return record.args[1] not in _CRON_NAMES
    return not str(record.msg).startswith(_CHATTER)


FUNCTIONS = [
    func(ping, name=SYSTEM_PING, max_tries=3),
    func(ingest.process_batch, name=INGEST_BATCH, max_tries=ingest.MAX_TRIES),
    func(evaluation.judge, name=EVAL_JUDGE, max_tries=evaluation.MAX_TRIES),
    func(evaluation_schedules.run_schedule, name=EVAL_SCHEDULE, max_tries=3, timeout=3600),
]


async def _open_ingest(ctx: dict[str, Any]) -> None:
    ctx["queue"] = await JobQueue.connect(ctx["storage"].redis_url)
    if ctx["storage"].settings.embedded_redis:
        # Embedded, this is the only worker of this queue: jobs marked in progress were cut off by a
        # crash. Forget the marks so they run again now, not when the marks expire.
        redis = ctx["redis"]
        stale = [key async for key in redis.scan_iter(match="arq:in-progress:*")]
        if stale:
            await redis.delete(*stale)
            log.warning("re-running %d jobs interrupted by the last shutdown", len(stale))
        # Nothing is in flight before we serve: anything stored but not done was lost with the queue.
        await ingest.sweep(ctx, min_age=timedelta(0))


async def _close_ingest(ctx: dict[str, Any]) -> None:
    await ctx["writer"].close()
    ctx["mapper"].close()
    await judge_calls.close_sessions()
    if "queue" in ctx:  # not when the worker stops before its start-up finished
        await ctx["queue"].close()


class _Worker(Worker):
    """arq's worker, but a store outage pauses polling instead of ending the worker: the embedded Redis
    is restarted by the store supervisor, a Redis server comes back on its own."""

    _outage: str | None = None

    async def _poll_iteration(self) -> None:
        try:
            await super()._poll_iteration()
        except Exception as exc:
            store = unavailable_store(exc)
            if store is None:
                raise
            if self._outage is None:
                log.warning("job worker paused: %s is unavailable (%s)", store, exc)
            self._outage = store
            await asyncio.sleep(1)
            return
        if self._outage is not None:
            log.warning("job worker resumed: %s is back", self._outage)
            self._outage = None


def build_worker(storage: Storage, *, handle_signals: bool) -> Worker:
    """A worker bound to the storage bundle, consuming Langhouse's queue with JSON payloads."""
    ctx: dict[str, Any] = {
        "storage": storage,
        "mapper": OtlpMapper(storage.settings.ingest_mapper_processes),
    }
    ctx["writer"] = CoalescingWriter(storage, on_written=evaluation.written_hook(ctx))
    arq_log = logging.getLogger("arq.worker")
    if quiet_arq_chatter not in arq_log.filters:
        arq_log.addFilter(quiet_arq_chatter)
    return _Worker(
        functions=FUNCTIONS,
        redis_settings=redis_settings(storage.redis_url),
        queue_name=QUEUE,
        job_serializer=serialize,
        job_deserializer=deserialize,
        ctx=ctx,
        on_startup=_open_ingest,
        on_shutdown=_close_ingest,
        cron_jobs=CRON_JOBS,
        handle_signals=handle_signals,
        # Concurrent jobs feed the coalescing writer. Several flushes' worth (the writer's max_rows at
        # 512 spans a job), so the next jobs are read and mapped while a flush is written; with one
        # flush's worth, mapping and writing took turns and each core idled half the time.
        max_jobs=96,
        job_timeout=120,
        keep_result=3600,
        poll_delay=0.2,
    )


async def run_standalone(settings: Settings) -> None:
    """`langhouse worker`: open the stores and consume jobs until SIGINT/SIGTERM."""
    async with open_storage(settings) as storage:
        worker = build_worker(storage, handle_signals=True)
        log.info("worker consuming %s", QUEUE)
        try:
            await worker.async_run()
        except asyncio.CancelledError:
            pass
        finally:
            await close_worker(worker)
        log.info("worker stopped")


async def close_worker(worker: Worker) -> None:
    """Stop the worker; a job cut off by the shutdown is not an error: it runs again later (idempotent)."""
    with contextlib.suppress(asyncio.CancelledError):
        try:
            await worker.close()
        except Exception as exc:
            if (store := unavailable_store(exc)) is None:
                raise
            # arq gave up before its shutdown hook: still flush the writer and stop the mappers.
            log.warning(
                "job worker stopped while %s is unavailable; cut-off jobs run at the next start", store
            )
            if worker.on_shutdown is not None:
                await worker.on_shutdown(worker.ctx)

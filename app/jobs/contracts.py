"""Job names and the enqueue side: JSON payloads, explicit stable names (never a function's qualname)."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any, Final

from arq.connections import ArqRedis, RedisSettings, create_pool

from app.storage import Storage
from app.tracing.pipeline import RawBatch

SYSTEM_PING: Final = "system.ping"
INGEST_BATCH: Final = "ingest.process_batch"
EVAL_JUDGE: Final = "eval.judge"  # {"project_id", "execution_id"}: run one job execution
EVAL_SCHEDULE: Final = "eval.run_schedule"  # {"project_id", "schedule_id"}: a backfill or daily run
QUEUE: Final = "langhouse:queue"


def serialize(value: dict[str, Any]) -> bytes:
    """Jobs and their results as JSON; a value JSON has no form for (a failed job's exception, kept in its
    result) as its repr, so recording the failure never fails too."""
    return json.dumps(value, separators=(",", ":"), default=repr).encode()


def deserialize(raw: bytes) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(raw)
    return value


def redis_settings(url: str) -> RedisSettings:
    """arq connection settings from a redis:// or unix:// URL."""
    return RedisSettings.from_dsn(url)


class JobQueue:
    """Enqueue jobs by name with a JSON payload."""

    def __init__(self, pool: ArqRedis) -> None:
        self.pool = pool

    @classmethod
    async def connect(cls, redis_url: str) -> JobQueue:
        pool = await create_pool(
            redis_settings(redis_url),
            job_serializer=serialize,
            job_deserializer=deserialize,
            default_queue_name=QUEUE,
        )
        return cls(pool)

    async def enqueue(
        self, name: str, payload: dict[str, Any], job_id: str | None = None, defer_s: float | None = None
    ) -> str | None:
        """Enqueue `name(payload)`, to run `defer_s` seconds from now if given; returns the job id, or
        None when `job_id` is already queued."""
        job = await self.pool.enqueue_job(name, payload, _job_id=job_id, _defer_by=defer_s)
        return None if job is None else job.job_id

    async def backlog(self) -> int:
        """Jobs waiting in the queue (for backpressure)."""
        return int(await self.pool.zcard(QUEUE))

    async def result(self, job_id: str, timeout_s: float) -> Any:
        """Wait for a job's result (tests and CLI diagnostics)."""
        from arq.jobs import Job

        job = Job(job_id, self.pool, _queue_name=QUEUE, _deserializer=deserialize)
        return await job.result(timeout=timeout_s)

    async def close(self) -> None:
        await self.pool.aclose()


@contextlib.asynccontextmanager
async def open_job_queue(storage: Storage) -> AsyncIterator[JobQueue]:
    """The job queue on the stores' Redis, opened beside them (app.main, app.cli) and closed after use."""
    queue = await JobQueue.connect(storage.redis_url)
    try:
        yield queue
    finally:
        await queue.close()


async def enqueue_judge(
    queue: JobQueue, project_id: str, execution_id: str, *, defer_s: float | None = None, again: bool = False
) -> str | None:
    """Enqueue one judge execution: `eval:<id>` the first time (a second enqueue is a no-op), a fresh
    job id when it runs again (a retry, a wait)."""
    job_id = f"eval:{execution_id}:{uuid.uuid4().hex[:8]}" if again else f"eval:{execution_id}"
    payload = {"project_id": project_id, "execution_id": execution_id}
    return await queue.enqueue(EVAL_JUDGE, payload, job_id=job_id, defer_s=defer_s)


async def store_and_enqueue(storage: Storage, jobs: JobQueue, batch: RawBatch, body: bytes) -> None:
    """Durable before acknowledged: the raw body is in the blob store before the job exists."""
    await storage.blobs.put(batch.key, body)
    await jobs.enqueue(INGEST_BATCH, batch.to_payload(), job_id=batch.key)

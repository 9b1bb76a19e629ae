"""Recovery: stored-but-never-queued objects are swept up; failing ones are dead-lettered and replayable."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

import pytest

from app.jobs import ingest
from app.jobs.contracts import INGEST_BATCH, JobQueue
from app.storage import Storage
from app.tracing.pipeline import RawBatch
from tests.conftest import ProjectFixture, wait_for
from tests.integration.test_ingest_otlp import export, totals

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("worker")]


def old_key(project_id: str, minutes_ago: int) -> str:
    ms = int((time.time() - minutes_ago * 60) * 1000)
    return f"ingest/{datetime.now(UTC):%Y-%m-%d}/{project_id}/{ms}-{uuid.uuid4().hex}.pb"


async def count(storage: Storage, project_id: str, n: int) -> bool:
    return (await totals(storage, project_id))["n"] == n


async def test_sweep_enqueues_what_was_stored_but_never_queued(
    storage: Storage, project: ProjectFixture
) -> None:
    key = old_key(project.project_id, 5)
    await storage.blobs.put(key, export("56" * 16, 7))  # as if the server died before enqueueing
    fresh = old_key(project.project_id, 0)  # a request still in flight is left alone
    await storage.blobs.put(fresh, export("57" * 16, 2))
    queue = await JobQueue.connect(storage.redis_url)
    try:
        ctx = {"storage": storage, "queue": queue}
        assert (await ingest.sweep(ctx))["enqueued"] >= 1
        await wait_for(lambda: count(storage, project.project_id, 7))
        await wait_for(lambda: _swept(storage, key))
        again = await ingest.sweep(ctx)  # processed objects are marked done and not queued again
        assert key not in str(again) and (await totals(storage, project.project_id))["n"] == 7
    finally:
        await queue.close()


async def _replays_done(storage: Storage, key: str, n: int) -> bool:
    import redis.asyncio as aioredis

    r = aioredis.Redis.from_url(storage.redis_url)
    try:
        return len([k async for k in r.scan_iter(match=f"arq:result:{key}#replay-*")]) >= n
    finally:
        await r.aclose()


async def _swept(storage: Storage, key: str) -> bool:
    return key in await storage.cache.set_members(f"ingest:done:{key.split('/')[1]}")


async def test_failing_batch_is_dead_lettered_then_replayed(
    storage: Storage, project: ProjectFixture
) -> None:
    batch = RawBatch.create(project.project_id, "application/x-protobuf", None, None)
    await storage.blobs.put(batch.key, b"\xff definitely not protobuf")
    queue = await JobQueue.connect(storage.redis_url)
    try:
        await queue.enqueue(INGEST_BATCH, batch.to_payload(), job_id=batch.key)

        async def dead() -> bool:  # other runs' dead letters may share a server Redis: look for ours
            for item in await storage.cache.pop_all(ingest.DEAD_LETTERS, 10_000):
                if batch.key in item:
                    return True
                await storage.cache.push(ingest.DEAD_LETTERS, item)
            return False

        await wait_for(dead, timeout_s=30)
        keys = [batch.key]
        assert (await totals(storage, project.project_id))["n"] == 0
        await storage.blobs.put(batch.key, export("58" * 16, 4))  # the operator fixed the object
        assert await ingest.replay(storage, queue, keys) == 1
        await wait_for(lambda: count(storage, project.project_id, 4))
        await ingest.replay(storage, queue, keys)  # replaying again writes nothing twice
        await wait_for(lambda: _replays_done(storage, batch.key, 2))
        assert (await totals(storage, project.project_id))["n"] == 4
    finally:
        await queue.close()

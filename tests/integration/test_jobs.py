"""The arq worker consumes Langhouse's queue with JSON payloads."""

from __future__ import annotations

import asyncio
import contextlib
import os

import pytest

from app.jobs.contracts import SYSTEM_PING, JobQueue
from app.jobs.worker import build_worker
from app.storage import Storage

pytestmark = pytest.mark.integration


async def test_enqueued_job_runs_on_the_worker(storage: Storage) -> None:
    worker = build_worker(storage, handle_signals=False)
    task = asyncio.create_task(worker.async_run())
    queue = await JobQueue.connect(storage.redis_url)
    try:
        job_id = await queue.enqueue(SYSTEM_PING, {"echo": "héllo"})
        assert job_id is not None
        result = await queue.result(job_id, timeout_s=20)
        assert result["pong"] == "héllo"
        assert result["worker"].endswith(f":{os.getpid()}")
        # The same job id is not enqueued twice while known (idempotent enqueue).
        assert await queue.enqueue(SYSTEM_PING, {"echo": "again"}, job_id=job_id) is None
    finally:
        await queue.close()
        await worker.close()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

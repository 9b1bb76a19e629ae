"""Ingestion jobs: process a stored raw batch; retry with backoff; dead-letter what keeps failing, and
the rows ClickHouse refused (the rest of their request is written; a retry would fail the same way)."""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from arq import Retry

from app.jobs.contracts import INGEST_BATCH, JobQueue
from app.storage import Storage
from app.tracing.pipeline import RawBatch
from app.tracing.pipeline import process_batch as run_pipeline
from app.tracing.writer import RefusedRow

log = logging.getLogger(__name__)
MAX_TRIES = 6
DEAD_LETTERS = "ingest:dead"
DONE_DAYS = 3  # processed-object markers are kept this long; the sweep looks at the last two days
SWEEP_MIN_AGE = timedelta(minutes=2)


def _done_set(day: str) -> str:
    return f"ingest:done:{day}"


async def process_batch(ctx: dict[str, Any], payload: dict[str, Any]) -> dict[str, int]:
    """Run the pipeline for one raw object; on failure retry with exponential backoff, then dead-letter."""
    storage: Storage = ctx["storage"]
    batch = RawBatch.from_payload(payload)
    try:
        result = await run_pipeline(storage, batch, ctx["writer"], ctx["mapper"])
    except Exception as exc:
        attempt = int(ctx.get("job_try", 1))
        if attempt < MAX_TRIES:
            log.warning("ingest %s failed (try %d), retrying: %r", batch.key, attempt, exc)
            raise Retry(defer=storage.settings.ingest_retry_base_seconds * 2 ** (attempt - 1)) from exc
        log.error("ingest %s failed %d times; dead-lettered", batch.key, attempt, exc_info=exc)
        await storage.cache.push(DEAD_LETTERS, json.dumps({"key": batch.key, "error": repr(exc)[:500]}))
        raise
    if result.refused:
        log.error("ingest %s: %d rows refused; dead-lettered", batch.key, len(result.refused))
        await storage.cache.push(DEAD_LETTERS, dead_letter(batch.key, result.refused))
    await storage.cache.add_to_set(_done_set(batch.key.split("/")[1]), batch.key, DONE_DAYS * 86400)
    return {
        "observations": result.observations_written,
        "duplicates": result.duplicates_skipped,
        "traces": result.traces_written,
        "refused": len(result.refused),
    }


MAX_LISTED_ROWS = 20


def dead_letter(key: str, refused: tuple[RefusedRow, ...]) -> str:
    """A dead letter for the refused rows of a request (the rest of it is written): which, and why."""
    rows = [{"row": r.row, "reason": r.reason} for r in refused[:MAX_LISTED_ROWS]]
    error = f"{len(refused)} row(s) refused by ClickHouse: {refused[0].reason}"
    return json.dumps({"key": key, "error": error[:500], "rows": rows})


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A dead-lettered request: its object key, why, and the refused rows when only some were."""

    key: str
    error: str
    rows: tuple[RefusedRow, ...] = ()


async def list_dead_letters(storage: Storage, limit: int = 100) -> list[DeadLetter]:
    """The oldest `limit` dead letters, left in place."""
    letters = []
    for item in await storage.cache.list_items(DEAD_LETTERS, limit):
        doc = json.loads(item)
        rows = tuple(RefusedRow(str(r["row"]), str(r["reason"])) for r in doc.get("rows", []))
        letters.append(DeadLetter(str(doc["key"]), str(doc.get("error", "")), rows))
    return letters


async def sweep(ctx: dict[str, Any], *, min_age: timedelta = SWEEP_MIN_AGE) -> dict[str, int]:
    """Re-enqueue raw objects stored in the last two days but never processed (a crash between storing
    and enqueueing, or a lost queue). Safe to run any time: processing is idempotent. Objects younger
    than `min_age` are left alone: their requests may still be enqueueing them."""
    storage: Storage = ctx["storage"]
    queue: JobQueue = ctx["queue"]
    now = datetime.now(UTC)
    found = 0
    for day in {(now - timedelta(days=d)).strftime("%Y-%m-%d") for d in (0, 1)}:
        done = await storage.cache.set_members(_done_set(day))
        for key in await storage.blobs.list_keys(f"ingest/{day}/", limit=100_000):
            batch = RawBatch.from_key(key)
            if key not in done and now - batch.stored_at >= min_age:
                found += await queue.enqueue(INGEST_BATCH, batch.to_payload(), job_id=key) is not None
    if found:
        log.warning("sweep re-enqueued %d unprocessed raw objects", found)
    return {"enqueued": found}


async def replay(storage: Storage, queue: JobQueue, keys: list[str]) -> int:
    """Enqueue stored raw objects again under fresh job ids (dead letters, or any object); idempotent."""
    count = 0
    for key in keys:
        batch = RawBatch.from_key(key)
        await queue.enqueue(INGEST_BATCH, batch.to_payload(), job_id=f"{key}#replay-{uuid.uuid4().hex[:8]}")
        count += 1
    return count


async def take_dead_letters(storage: Storage, limit: int = 10_000) -> list[str]:
    """Remove and return the keys of dead-lettered objects (each once)."""
    keys = [json.loads(item)["key"] for item in await storage.cache.pop_all(DEAD_LETTERS, limit)]
    return list(dict.fromkeys(keys))

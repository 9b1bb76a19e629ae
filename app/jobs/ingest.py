"""Ingestion jobs: process a stored raw batch; retry with backoff; dead-letter what keeps failing."""

from __future__ import annotations

import json
import logging
from typing import Any

from arq import Retry

from app.storage import Storage
from app.tracing.pipeline import RawBatch
from app.tracing.pipeline import process_batch as run_pipeline

log = logging.getLogger(__name__)
MAX_TRIES = 6
DEAD_LETTERS = "ingest:dead"


async def process_batch(ctx: dict[str, Any], payload: dict[str, Any]) -> dict[str, int]:
    """Run the pipeline for one raw object; on failure retry after 1, 2, 4, 8, 16 s, then dead-letter."""
    storage: Storage = ctx["storage"]
    batch = RawBatch.from_payload(payload)
    try:
        result = await run_pipeline(storage, batch, ctx["writer"], ctx["mapper"])
    except Exception as exc:
        attempt = int(ctx.get("job_try", 1))
        if attempt < MAX_TRIES:
            log.warning("ingest %s failed (try %d), retrying: %r", batch.key, attempt, exc)
            raise Retry(defer=2 ** (attempt - 1)) from exc
        log.error("ingest %s failed %d times; dead-lettered", batch.key, attempt, exc_info=exc)
        await storage.cache.push(DEAD_LETTERS, json.dumps({**payload, "error": type(exc).__name__}))
        raise
    return {
        "observations": result.observations_written,
        "duplicates": result.duplicates_skipped,
        "traces": result.traces_written,
    }

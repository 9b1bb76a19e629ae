"""Process one stored raw request: decode, map, enrich, drop what is already stored, write."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from app.storage import Storage
from app.storage.clickhouse.observations import (
    fetch_existing_observation_keys,
    insert_observations,
    insert_traces,
)
from app.storage.clickhouse.rows import ObservationRow, TraceRow
from app.tracing.mapping import map_span
from app.tracing.otlp import decompress, parse_export

log = logging.getLogger(__name__)
PROJECT_LOCK_SECONDS = 120


@dataclass(frozen=True, slots=True)
class RawBatch:
    """What the HTTP layer stored and the worker needs to process it (the job payload)."""

    project_id: str
    key: str
    content_type: str
    encoding: str | None
    sdk_version: str | None

    def to_payload(self) -> dict[str, str | None]:
        return {
            "project_id": self.project_id,
            "key": self.key,
            "content_type": self.content_type,
            "encoding": self.encoding,
            "sdk_version": self.sdk_version,
        }

    @classmethod
    def from_payload(cls, payload: dict[str, str | None]) -> RawBatch:
        return cls(
            project_id=str(payload["project_id"]),
            key=str(payload["key"]),
            content_type=str(payload["content_type"]),
            encoding=payload.get("encoding"),
            sdk_version=payload.get("sdk_version"),
        )


@dataclass(frozen=True, slots=True)
class BatchResult:
    observations_written: int
    duplicates_skipped: int
    traces_written: int


def map_otlp(batch: RawBatch, body: bytes) -> list[tuple[ObservationRow, TraceRow | None]]:
    """Decode and map an OTLP body; a span repeated inside the batch is kept once."""
    spans = parse_export(decompress(body, batch.encoding), batch.content_type)
    now = datetime.now(UTC)
    mapped: dict[str, tuple[ObservationRow, TraceRow | None]] = {}
    for span in spans:
        key = f"{span.trace_id}:{span.span_id}"
        if key not in mapped:
            mapped[key] = map_span(batch.project_id, span, batch.sdk_version, now)
    return list(mapped.values())


def merge_trace_rows(rows: list[TraceRow]) -> list[TraceRow]:
    """One trace row per trace and batch: SDKs repeat trace attributes on every span of a trace."""
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


async def process_otlp_batch(storage: Storage, batch: RawBatch) -> BatchResult:
    """Write the batch's rows exactly once: per project, check which ids are stored, then insert the rest.

    Idempotent: replaying a batch (a retry after a crash mid-insert, or the same spans exported twice)
    writes only what is missing. The per-project lock makes check-then-insert atomic across workers.
    Trace rows go first: a crash between the two inserts repeats a trace row (merged on read), never
    loses one.
    """
    body = await storage.blobs.get(batch.key)
    mapped = map_otlp(batch, body)
    rows = [row for row, _ in mapped]
    async with storage.cache.lock(f"ingest:{batch.project_id}", PROJECT_LOCK_SECONDS, PROJECT_LOCK_SECONDS):
        existing = await fetch_existing_observation_keys(storage.clickhouse, batch.project_id, rows)
        fresh = [(row, trace) for row, trace in mapped if (row.trace_id, row.id) not in existing]
        traces = merge_trace_rows([trace for _, trace in fresh if trace is not None])
        await insert_traces(storage.clickhouse, traces)
        await insert_observations(storage.clickhouse, [row for row, _ in fresh])
    return BatchResult(len(fresh), len(rows) - len(fresh), len(traces))

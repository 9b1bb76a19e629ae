"""Process one stored raw request: decode, map, enrich, drop what is already stored, write."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import signal
import uuid
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from multiprocessing import get_context
from typing import Any

from app.settings import Settings
from app.storage import Storage
from app.storage.clickhouse.write_rows import (
    OBSERVATION_COLUMNS,
    ObservationRow,
    ScoreRow,
    TraceRow,
    as_json_line,
    as_values,
)
from app.storage.clickhouse.writes import (
    fetch_current_observations,
    fetch_trace_attributes,
    insert_observation_lines,
    insert_scores,
    insert_trace_lines,
)
from app.tracing import attribution, legacy, model_catalog, scores
from app.tracing.attribution import merge_per_trace
from app.tracing.costs import ModelPrice, enrich
from app.tracing.mapping import map_span, parse_time
from app.tracing.otlp import decompress, parse_export
from app.tracing.score_json import parse_score
from app.tracing.values import bound_values
from app.tracing.writer import (
    PROJECT_LOCK_SECONDS,
    CoalescingWriter,
    Mapped,
    MappedSpan,
    RefusedRow,
    insert_isolating,
)

log = logging.getLogger(__name__)


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
    def create(
        cls, project_id: str, content_type: str, encoding: str | None, sdk_version: str | None
    ) -> RawBatch:
        """A new batch with its object key: `ingest/<day>/<project>/<ms>-<id>[-sdk<v>].<format>`.

        The key alone says how to process the object (format, encoding, SDK version), so a sweep or a
        replay can rebuild the job from a listing of the blob store.
        """
        media = content_type.split(";")[0].strip().lower()
        fmt = _FORMATS_BY_MEDIA.get(media, "pb") + (".gz" if (encoding or "").lower() == "gzip" else "")
        now = datetime.now(UTC)
        version = re.sub(r"[^0-9A-Za-z.]", "", sdk_version or "")[:20]
        name = f"{int(now.timestamp() * 1000)}-{uuid.uuid4().hex}" + (f"-sdk{version}" if version else "")
        return cls(
            project_id,
            f"ingest/{now:%Y-%m-%d}/{project_id}/{name}.{fmt}",
            content_type,
            encoding,
            sdk_version,
        )

    @classmethod
    def from_key(cls, key: str) -> RawBatch:
        """Rebuild a batch from its object key (see `create`)."""
        _, _day, project_id, filename = key.split("/")
        encoding = "gzip" if filename.endswith(".gz") else None
        stem, _, fmt = filename.removesuffix(".gz").rpartition(".")
        media = _MEDIA_BY_FORMAT[fmt]
        version = stem.split("-sdk", 1)[1] if "-sdk" in stem else None
        return cls(project_id, key, media, encoding, version)

    @property
    def stored_at(self) -> datetime:
        """When the object was stored (from its key)."""
        ms = int(self.key.rsplit("/", 1)[1].split("-", 1)[0])
        return datetime.fromtimestamp(ms / 1000, tz=UTC)

    @classmethod
    def from_payload(cls, payload: dict[str, str | None]) -> RawBatch:
        return cls(
            project_id=str(payload["project_id"]),
            key=str(payload["key"]),
            content_type=str(payload["content_type"]),
            encoding=payload.get("encoding"),
            sdk_version=payload.get("sdk_version"),
        )


LEGACY_CONTENT_TYPE = "application/vnd.langhouse.ingestion-batch+json"
_FORMATS_BY_MEDIA = {"application/x-protobuf": "pb", "application/json": "json", LEGACY_CONTENT_TYPE: "batch"}
_MEDIA_BY_FORMAT = {v: k for k, v in _FORMATS_BY_MEDIA.items()}


def legacy_batch(project_id: str, events: list[dict[str, Any]]) -> tuple[RawBatch, bytes]:
    """A new stored request of validated Langfuse batch events, and its body."""
    body = json.dumps({"batch": events}, ensure_ascii=False, default=str).encode()
    return RawBatch.create(project_id, LEGACY_CONTENT_TYPE, None, None), body


@dataclass(frozen=True, slots=True)
class BatchResult:
    observations_written: int
    duplicates_skipped: int
    traces_written: int
    refused: tuple[RefusedRow, ...] = ()  # rows ClickHouse refused (the rest is written)


def map_otlp(
    batch: RawBatch,
    body: bytes,
    models: tuple[ModelPrice, ...] = (),
    max_value_bytes: int = Settings.model_fields["ingest_max_value_bytes"].default,
) -> Mapped:
    """Decode and map an OTLP body; a span repeated inside the batch is kept once, and the spans intake
    refused (the same check, as of the time the request was stored) are left out. Rows leave as encoded
    lines plus their keys, which cross process boundaries cheaply and insert without re-encoding."""
    spans = parse_export(decompress(body, batch.encoding), batch.content_type, batch.stored_at).spans
    now = datetime.now(UTC)
    rows: dict[tuple[str, str], ObservationRow] = {}
    traces: list[TraceRow] = []
    originals: list[tuple[str, bytes]] = []
    for span in spans:
        key = (span.trace_id, span.span_id)
        if key not in rows:
            row, trace = map_span(batch.project_id, span, batch.sdk_version, now)
            enrich(row, models)
            originals += bound_values(row, max_value_bytes)
            rows[key] = row
            if trace is not None:
                originals += bound_values(trace, max_value_bytes)
                traces.append(trace)
    merged = merge_per_trace(traces)
    attrs = {t.id: attribution.of_row(t) for t in merged}
    out = []
    for key, row in rows.items():
        attribution.attribute(row, attrs.get(row.trace_id))
        end = row.end_time.timestamp() if row.end_time else row.start_time.timestamp()
        out.append(MappedSpan(key, row.start_time.timestamp(), end, as_json_line(row)))
    return Mapped(out, [as_values(t) for t in merged], originals)


class OtlpMapper:
    """Decodes and maps OTLP bodies in separate processes: that work is CPU-bound Python, and off the
    server's process it neither holds the GIL against request handling nor competes with it for a core.
    With processes=0 it maps inline. Worker processes start on first use."""

    def __init__(self, processes: int) -> None:
        self._pool = (
            ProcessPoolExecutor(processes, mp_context=get_context("spawn"), initializer=_ignore_interrupt)
            if processes > 0
            else None
        )

    async def map(
        self, batch: RawBatch, body: bytes, models: tuple[ModelPrice, ...], max_value_bytes: int
    ) -> Mapped:
        if self._pool is None:
            return map_otlp(batch, body, models, max_value_bytes)
        return await asyncio.get_running_loop().run_in_executor(
            self._pool, map_otlp, batch, body, models, max_value_bytes
        )

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)


def _ignore_interrupt() -> None:
    """A mapper process ignores Ctrl-C (the terminal sends it to the whole process group): the server
    stops it when it stops, and an interrupted mapper printed a traceback on the way out."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


async def process_otlp_batch(
    storage: Storage, batch: RawBatch, writer: CoalescingWriter, mapper: OtlpMapper
) -> BatchResult:
    """Map a stored OTLP request and write it exactly once through the (coalescing) writer.

    Idempotent: replaying a batch (a retry after a crash mid-insert, or the same spans exported twice)
    writes only what is missing.
    """
    models = await model_catalog.prices_for(storage, batch.project_id)
    body = await storage.blobs.get(batch.key)
    mapped = await mapper.map(batch, body, models, storage.settings.ingest_max_value_bytes)
    for key, original in mapped.originals:  # before the rows that name them
        await storage.blobs.put(key, original)
    result = await writer.write(batch.project_id, mapped)
    return BatchResult(result.written, result.duplicates, len(mapped.traces), result.refused)


LEGACY_LOOKBACK = timedelta(days=30)
LEGACY_WAIT_S = 0.05  # gathers the legacy requests of concurrent jobs into one fold


async def process_batch(
    storage: Storage, batch: RawBatch, writer: CoalescingWriter, mapper: OtlpMapper
) -> BatchResult:
    """Process a stored request of either kind."""
    if batch.content_type == LEGACY_CONTENT_TYPE:
        return await process_legacy_batch(storage, batch, writer)
    return await process_otlp_batch(storage, batch, writer, mapper)


def _same_state(a: ObservationRow, b: ObservationRow) -> bool:
    ignore = {"event_ts", "row_version", "sign"}
    return all(getattr(a, f) == getattr(b, f) for f in OBSERVATION_COLUMNS if f not in ignore)


async def process_legacy_batch(
    storage: Storage, batch: RawBatch, writer: CoalescingWriter | None = None
) -> BatchResult:
    """Fold a stored Langfuse batch into rows, with the batches of the same project that concurrent jobs
    bring (`writer`): one fold, one set of reads and one insert per table for all of them, instead of one
    request at a time under the project's lock (which capped a project at a few requests a second)."""
    doc = json.loads(await storage.blobs.get(batch.key))
    events: list[dict[str, Any]] = doc["batch"]
    if all(e["type"] == "score-create" for e in events):  # the SDKs' score batches: nothing to fold or lock
        rows = [score_row(batch.project_id, e, datetime.now(UTC)) for e in events]
        if writer is None:
            await insert_scores(storage.clickhouse, rows)
            return BatchResult(0, 0, 0)
        return BatchResult(0, 0, 0, await writer.write_scores(rows))
    if writer is None:
        return (await _fold_legacy(storage, None, batch.project_id, [events]))[0]
    return await fold_events(storage, writer, batch.project_id, events)


async def fold_events(
    storage: Storage, writer: CoalescingWriter, project_id: str, events: list[dict[str, Any]]
) -> BatchResult:
    """Fold validated Langfuse events into the project's rows, with those of concurrent jobs (the worker's
    own events, e.g. a judge's trace, take this path without a stored request)."""
    handle = partial(_fold_legacy_apart, storage, writer)
    return await writer.gathering("legacy", handle, LEGACY_WAIT_S).submit(project_id, events)


async def _fold_legacy_apart(
    storage: Storage, writer: CoalescingWriter, project_id: str, requests: list[list[dict[str, Any]]]
) -> list[BatchResult | Exception]:
    """Fold gathered requests together; if that fails on anything, each alone, so one bad request (or
    one the store cannot take) fails by itself and its neighbours are written."""
    try:
        return list(await _fold_legacy(storage, writer, project_id, requests))
    except Exception:
        if len(requests) == 1:
            raise
    out: list[BatchResult | Exception] = []
    for events in requests:
        try:
            out += await _fold_legacy(storage, writer, project_id, [events])
        except Exception as exc:
            out.append(exc)
    return out


async def _fold_legacy(
    storage: Storage, writer: CoalescingWriter | None, project_id: str, requests: list[list[dict[str, Any]]]
) -> list[BatchResult]:
    """Fold requests' events (in order: creates before updates, by time) over the stored state. A change to
    a stored observation is written as a cancel row (-1, the stored state) plus the new state (+1, next
    row_version) in one insert, so aggregates stay exact; replaying a request changes nothing because
    folding the same events again is a no-op. One result per request, with the rows of it refused."""
    events = [e for request in requests for e in request]
    now = datetime.now(UTC)
    since = now - LEGACY_LOOKBACK
    ch = storage.clickhouse
    batch_traces = legacy.fold_traces(project_id, [e for e in events if e["type"] == "trace-create"], now)
    states = legacy.fold_observations([e for e in events if e["type"] in legacy.OBSERVATION_EVENT_TYPES])
    scores = [[score_row(project_id, e, now) for e in r if e["type"] == "score-create"] for r in requests]
    models = await model_catalog.prices_for(storage, project_id)
    async with storage.cache.lock(f"ingest:{project_id}", PROJECT_LOCK_SECONDS, PROJECT_LOCK_SECONDS):
        stored = {
            r.id: r for r in await fetch_current_observations(ch, project_id, ids=list(states), since=since)
        }
        # A trace-create may arrive after its observations: they get its attributes too.
        for row in await fetch_current_observations(
            ch, project_id, trace_ids=list(batch_traces), since=since
        ):
            stored.setdefault(row.id, row)
            states.setdefault(row.id, {})
        trace_ids = {_trace_of(i, f, stored) for i, f in states.items()} | set(batch_traces)
        known = await fetch_trace_attributes(ch, project_id, sorted(trace_ids), since)
        trace_rows, resolved = attribution.resolve(known, list(batch_traces.values()), now)
        writes: list[list[ObservationRow]] = []  # a new row, or a cancel row and the new state
        limit = storage.settings.ingest_max_value_bytes
        originals = [o for t in trace_rows for o in bound_values(t, limit)]
        for obs_id, fields in states.items():
            old = stored.get(obs_id)
            state = legacy.fold(legacy.row_state(old), fields) if old else fields
            new = legacy.state_row(project_id, state, now)
            originals += bound_values(new, limit)
            enrich(new, models)
            attribution.attribute(new, resolved.get(new.trace_id))
            if old is None:
                writes.append([new])
            elif not _same_state(old, new):
                new.row_version = old.row_version + 1
                writes.append([replace(old, sign=-1, event_ts=now), new])
        for key, original in originals:  # before the rows that name them
            await storage.blobs.put(key, original)
        refused_traces = await insert_isolating(
            partial(insert_trace_lines, ch), [[as_json_line(t)] for t in trace_rows]
        )
        refused_rows = await insert_isolating(
            partial(insert_observation_lines, ch), [[as_json_line(r) for r in rows] for rows in writes]
        )
        refused_scores = await insert_isolating(
            partial(insert_scores, ch), [[row] for rows in scores for row in rows]
        )
    if writer is not None:
        written_lines = [as_json_line(rows[-1]) for i, rows in enumerate(writes) if i not in refused_rows]
        await writer.notify_written(project_id, written_lines)
    return _legacy_results(requests, writes, refused_rows, trace_rows, refused_traces, scores, refused_scores)


def _legacy_results(
    requests: list[list[dict[str, Any]]],
    writes: list[list[ObservationRow]],
    refused_rows: dict[int, str],
    trace_rows: list[TraceRow],
    refused_traces: dict[int, str],
    scores: list[list[ScoreRow]],
    refused_scores: dict[int, str],
) -> list[BatchResult]:
    """Each request's share of a fold: the observations its events (or its trace-creates) wrote, its traces,
    and the rows of it ClickHouse refused."""
    results, first_score = [], 0
    for request, request_scores in zip(requests, scores, strict=True):
        obs_ids = {str(e["body"]["id"]) for e in request if e["type"] in legacy.OBSERVATION_EVENT_TYPES}
        created = {str(e["body"]["id"]) for e in request if e["type"] == "trace-create"}
        mine = [i for i, rows in enumerate(writes) if rows[-1].id in obs_ids or rows[-1].trace_id in created]
        traces = created | {writes[i][-1].trace_id for i in mine}
        refused = [
            RefusedRow(f"trace {trace_rows[i].id}", why)
            for i, why in refused_traces.items()
            if trace_rows[i].id in traces
        ]
        refused += [
            RefusedRow(f"observation {writes[i][-1].trace_id}/{writes[i][-1].id}", refused_rows[i])
            for i in mine
            if i in refused_rows
        ]
        refused += [
            RefusedRow(f"score {row.id}", refused_scores[first_score + i])
            for i, row in enumerate(request_scores)
            if first_score + i in refused_scores
        ]
        first_score += len(request_scores)
        written = sum(len(writes[i]) for i in mine if i not in refused_rows)
        results.append(BatchResult(written, 0, len(created), tuple(refused)))
    return results


def _trace_of(obs_id: str, fields: dict[str, Any], stored: dict[str, ObservationRow]) -> str:
    """The observation's trace: from its events, else the stored row, else (legacy rule) its own id."""
    return str(fields.get("trace_id") or (stored[obs_id].trace_id if obs_id in stored else obs_id))


def score_row(project_id: str, event: dict[str, Any], now: datetime) -> ScoreRow:
    """A validated score-create event as a row, scored at the event's time."""
    score = replace(parse_score(event["body"]), timestamp=parse_time(event["timestamp"]))
    return scores.build_row(project_id, score, now)

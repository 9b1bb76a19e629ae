"""Experiments: runs of a task over items, recorded at ingestion (SDK 5.x spans) or by legacy run items.

An experiment is the item runs sharing an experiment id; every function is scoped to one project.
Item runs come from `experiment_items` (migration 0009); a legacy run item has no output of its own, so
its output, level and latency are read from the observation it names (else its trace's root).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from app.errors import InvalidInput, NotFound
from app.evaluation import datasets
from app.evaluation.encoding import decode_cursor, encode_cursor, json_object, stored_value
from app.evaluation.experiment_types import (
    ExperimentFilter,
    ExperimentItemFilter,
    ExperimentItemView,
    ExperimentSummary,
    ExperimentView,
    RunItemSpec,
    RunItemView,
)
from app.evaluation.results import ItemResult, RunResults
from app.storage import Storage
from app.storage.clickhouse.queries import experiments as eq
from app.storage.clickhouse.queries import observations as oq
from app.storage.clickhouse.queries.views import utc, utc_or_none

__all__ = [
    "ExperimentFilter",
    "ExperimentItemFilter",
    "ExperimentItemView",
    "ExperimentSummary",
    "ExperimentView",
    "RunItemSpec",
    "RunItemView",
    "delete_experiment",
    "experiment_id",
    "experiment_results",
    "experiment_run_items",
    "experiment_summaries",
    "fetch_experiment",
    "fetch_experiments",
    "list_dataset_experiments",
    "list_experiment_items_page",
    "list_experiments_page",
    "record_run_item",
    "run_item_id",
]
# Score types compared as proportions (McNemar), not as mean differences.
BINARY_TYPES = frozenset({"BOOLEAN", "CATEGORICAL"})


def experiment_id(project_id: str, dataset_id: str, run_name: str) -> str:
    """The stable id of a dataset's run, as the SDK and Langfuse derive it (16 hex digits)."""
    payload = json.dumps(
        ["langfuse-experiment-v1", project_id, dataset_id, run_name],
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def _experiment(row: dict[str, Any]) -> ExperimentView:
    return ExperimentView(
        id=str(row["experiment_id"]),
        name=str(row["name"]),
        description=None if row["description"] is None else str(row["description"]),
        metadata=json_object(row["metadata"]),
        dataset_id=str(row["run_dataset_id"]) or None,
        start_time=utc(row["first_start"]),
        end_time=utc(row["last_end"]),
        item_count=int(str(row["item_count"])),
    )


async def list_experiments_page(
    storage: Storage, project_id: str, filt: ExperimentFilter, cursor: str | None, limit: int
) -> tuple[list[ExperimentView], str | None]:
    """Experiments with item runs starting in the filter's range, latest activity first; the next cursor."""
    after = None
    if cursor:
        end_us, key = decode_cursor(cursor)
        after = eq.ExperimentKey(end_us, key)
    rows_filter = eq.ExperimentRowFilter(
        filt.start,
        filt.end,
        experiment_ids=filt.ids,
        experiment_names=filt.names,
        dataset_ids=filt.dataset_ids,
    )
    rows = await eq.list_experiment_rows(storage.clickhouse, project_id, rows_filter, after, limit + 1)
    page = rows[:limit]
    next_cursor = None
    if len(rows) > limit:
        last = page[-1]
        next_cursor = encode_cursor(int(str(last["end_us"])), str(last["experiment_id"]))
    return [_experiment(r) for r in page], next_cursor


async def fetch_experiment(storage: Storage, project_id: str, experiment_id: str) -> ExperimentView | None:
    """One experiment over all its item runs, or None."""
    rows = await eq.experiment_rows_by_id(storage.clickhouse, project_id, [experiment_id])
    return _experiment(rows[0]) if rows else None


async def fetch_experiments(
    storage: Storage, project_id: str, experiment_ids: Sequence[str]
) -> list[ExperimentView | None]:
    """These experiments (one read), in the order given; None for one without item runs."""
    rows = await eq.experiment_rows_by_id(storage.clickhouse, project_id, list(dict.fromkeys(experiment_ids)))
    found = {str(r["experiment_id"]): _experiment(r) for r in rows}
    return [found.get(i) for i in experiment_ids]


async def list_dataset_experiments(
    storage: Storage, project_id: str, dataset_id: str, page: int, limit: int
) -> tuple[list[ExperimentView], int]:
    """A dataset's experiments, newest first: page `page` (from 1) of `limit`, and how many there are."""
    rows = await eq.dataset_experiment_rows(storage.clickhouse, project_id, dataset_id, page * limit)
    total = int(str(rows[0]["total"])) if rows else 0
    return [_experiment(r) for r in rows[(page - 1) * limit :]], total


async def _fill_legacy(storage: Storage, project_id: str, rows: list[dict[str, Any]]) -> None:
    """Give legacy run items (source 'api') the output, level and times of the observation they name."""
    legacy = [r for r in rows if r["source"] == "api"]
    if not legacy:
        return
    starts = [utc(r["start_time"]) for r in legacy]
    found = await eq.linked_observations(
        storage.clickhouse,
        project_id,
        sorted({str(r["trace_id"]) for r in legacy}),
        sorted({str(r["observation_id"]) for r in legacy if r["observation_id"]}),
        min(starts),
        max(starts),
    )
    by_id = {(o.trace_id, o.id): o for o in found}
    roots = {o.trace_id: o for o in found if o.is_root}
    for r in legacy:
        obs = by_id.get((str(r["trace_id"]), str(r["observation_id"]))) or roots.get(str(r["trace_id"]))
        if obs is None:
            continue
        r.update(
            start_time=obs.start_time, end_time=obs.end_time, level=obs.level, environment=obs.environment
        )
        if "output" in r:
            r["output"] = obs.output
            if r.get("input") is None:
                r["input"] = obs.input


def _item_view(row: dict[str, Any]) -> ExperimentItemView:
    return ExperimentItemView(
        id=str(row["observation_id"]) or str(row["trace_id"]),
        trace_id=str(row["trace_id"]),
        experiment_id=str(row["experiment_id"]),
        experiment_name=str(row["experiment_name"]),
        item_id=str(row["item_id"]),
        dataset_id=str(row["dataset_id"]) or None,
        item_version=utc_or_none(row["item_version"]),
        start_time=utc(row["start_time"]),
        end_time=utc_or_none(row["end_time"]),
        level=str(row["level"]),
        environment=str(row["environment"]),
        input=stored_value(row.get("input")),
        output=stored_value(row.get("output")),
        expected_output=stored_value(row.get("expected_output")),
        item_metadata=json_object(row.get("item_metadata")),
        experiment_metadata=json_object(row.get("experiment_metadata")),
        experiment_description=None
        if row["experiment_description"] is None
        else str(row["experiment_description"]),
    )


async def list_experiment_items_page(
    storage: Storage,
    project_id: str,
    filt: ExperimentItemFilter,
    cursor: str | None,
    limit: int,
    *,
    io: bool = True,
    metadata: bool = False,
) -> tuple[list[ExperimentItemView], str | None]:
    """Item runs starting in the filter's range, newest first; the next cursor. `io=False` skips
    input, output and expected output (the columns that cost); `metadata` reads the root observations'
    metadata (but the experiment attributes, which the other fields give)."""
    after = decode_cursor(cursor) if cursor else None
    rows_filter = eq.ExperimentRowFilter(
        filt.start,
        filt.end,
        experiment_ids=filt.experiment_ids,
        experiment_names=filt.experiment_names,
        dataset_ids=filt.dataset_ids,
        item_ids=filt.item_ids,
        trace_ids=filt.trace_ids,
    )
    rows = await eq.item_page_rows(storage.clickhouse, project_id, rows_filter, after, limit + 1, io=io)
    page = rows[:limit]
    next_cursor = None
    if len(rows) > limit:
        next_cursor = encode_cursor(int(str(page[-1]["start_us"])), str(page[-1]["row_key"]))
    await _fill_legacy(storage, project_id, page)
    views = [_item_view(r) for r in page]
    if metadata and views:
        keys = [(v.trace_id, v.id) for v in views]
        times = [v.start_time for v in views]
        found = await eq.observation_metadata(storage.clickhouse, project_id, keys, min(times), max(times))
        views = [
            replace(
                v, metadata={k: x for k, x in found.get((v.trace_id, v.id), {}).items() if k != "experiment"}
            )
            for v in views
        ]
    return views, next_cursor


async def experiment_run_items(
    storage: Storage, project_id: str, experiment_id: str, limit: int
) -> list[ExperimentItemView]:
    """The experiment's item runs without input/output, in key order, at most `limit` of them."""
    rows = (await eq.experiment_item_rows(storage.clickhouse, project_id, experiment_id, io=False))[:limit]
    await _fill_legacy(storage, project_id, rows)
    return [_item_view(r) for r in rows]


async def _item_results(
    storage: Storage, project_id: str, experiment_id: str, *, io: bool
) -> tuple[list[ItemResult], str, dict[str, float]] | None:
    """The experiment's item runs with their scores, costs and latencies; its name; run-level scores."""
    ch = storage.clickhouse
    rows, scores, costs, runs = await asyncio.gather(
        eq.experiment_item_rows(ch, project_id, experiment_id, io=io),
        eq.item_scores(ch, project_id, experiment_id),
        eq.item_costs(ch, project_id, experiment_id),
        eq.run_scores(ch, project_id, experiment_id),
    )
    if not rows:
        return None
    await _fill_legacy(storage, project_id, rows)
    items = []
    for r in rows:
        trace_id, observation_id = str(r["trace_id"]), str(r["observation_id"])
        values: dict[str, list[float]] = {}
        binary: set[str] = set()
        for scored, score_name, value, data_type in scores.get(trace_id, ()):
            if scored and scored != observation_id:  # another observation of the trace
                continue
            values.setdefault(score_name, []).append(value)
            if data_type in BINARY_TYPES:
                binary.add(score_name)
        started, ended = r["start_time"], r["end_time"]  # both naive UTC, or both aware (legacy)
        items.append(
            ItemResult(
                item_key=str(r["item_id"]),
                trace_id=trace_id,
                observation_id=observation_id or None,
                input=stored_value(r.get("input")),
                output=stored_value(r.get("output")),
                expected_output=stored_value(r.get("expected_output")),
                scores={name: sum(v) / len(v) for name, v in values.items()},
                boolean_scores=frozenset(binary),
                total_cost=costs.get(trace_id),
                latency_ms=None if ended is None else (ended - started).total_seconds() * 1000,
                level=str(r["level"]),
            )
        )
    run_values: dict[str, list[float]] = {}
    for name, value in runs:
        run_values.setdefault(name, []).append(value)
    name = str(max(rows, key=lambda r: utc(r["start_time"]))["experiment_name"])
    return items, name, {n: sum(v) / len(v) for n, v in run_values.items()}


async def experiment_results(
    storage: Storage, project_id: str, experiment_id: str, *, io: bool = True
) -> RunResults | None:
    """Every item run of the experiment (repetitions kept) with output, expected output, scores, cost
    and latency, plus its run-level scores; None when it has no item runs. `io=False` leaves input,
    output and expected output None (statistics need none of them; they are most of the read)."""
    found = await _item_results(storage, project_id, experiment_id, io=io)
    if found is None:
        return None
    items, name, run_scores = found
    return RunResults(experiment_id, name, tuple(items), run_scores)


def _summary(experiment_id: str, items: list[ItemResult]) -> ExperimentSummary:
    per_name: dict[str, list[float]] = {}
    for item in items:
        for name, value in item.scores.items():
            per_name.setdefault(name, []).append(value)
    latencies = [i.latency_ms for i in items if i.latency_ms is not None]
    return ExperimentSummary(
        experiment_id=experiment_id,
        item_count=len(items),
        error_count=sum(i.level == "ERROR" for i in items),
        scores={n: (sum(v) / len(v), len(v)) for n, v in sorted(per_name.items())},
        total_cost=sum(i.total_cost or 0.0 for i in items),
        avg_latency_ms=sum(latencies) / len(latencies) if latencies else None,
    )


async def experiment_summaries(
    storage: Storage, project_id: str, experiment_ids: list[str]
) -> dict[str, ExperimentSummary]:
    """Per experiment (those with item runs): item runs, errors, mean item scores, total cost, latency."""
    ids = list(dict.fromkeys(experiment_ids))
    found = await asyncio.gather(*(_item_results(storage, project_id, i, io=False) for i in ids))
    return {i: _summary(i, f[0]) for i, f in zip(ids, found, strict=True) if f is not None}


async def delete_experiment(storage: Storage, project_id: str, experiment_id: str) -> bool:
    """Delete every item run of the experiment (deletion markers); its traces and scores stay. Returns
    whether it had any."""
    ch, deleted = storage.clickhouse, False
    for _ in range(eq.MAX_ITEMS_PER_EXPERIMENT // eq.ITEM_CHUNK):
        rows = await eq.current_item_rows(ch, project_id, experiment_id)
        if not rows:
            break
        now = datetime.now(UTC)
        markers = [[*(r[c] for c in eq.EXPERIMENT_ITEM_COLUMNS[:-2]), now, 1] for r in rows]
        await eq.insert_experiment_items(ch, markers)
        deleted = True
    return deleted


def run_item_id(experiment_id: str, trace_id: str, observation_id: str | None) -> str:
    """A run item's stable id: the same link posted again is the same run item."""
    key = json.dumps([experiment_id, trace_id, observation_id or ""], separators=(",", ":"))
    return str(uuid.UUID(hashlib.sha256(key.encode()).hexdigest()[:32]))


def _json_text(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, default=str)


async def record_run_item(storage: Storage, project_id: str, spec: RunItemSpec) -> RunItemView:
    """Link a trace (or observation) to a dataset item under a run, creating the run (the experiment
    with the stable id) when new. A description or metadata given replaces the run's; omitted, it keeps
    them. InvalidInput naming the field; NotFound for an unknown item or observation."""
    if not spec.run_name.strip():
        raise InvalidInput("runName must not be empty")
    if not spec.trace_id and not spec.observation_id:
        raise InvalidInput("traceId or observationId is required")
    item = await datasets.fetch_item(storage, project_id, spec.dataset_item_id)
    if item is None or item.deleted:
        raise NotFound(f"datasetItemId: dataset item {spec.dataset_item_id!r} not found")
    trace_id = spec.trace_id
    if not trace_id:
        found = await oq.fetch_observation(storage.clickhouse, project_id, str(spec.observation_id))
        if found is None:
            raise NotFound(f"observationId: observation {spec.observation_id!r} not found")
        trace_id = found.trace_id
    eid = experiment_id(project_id, item.dataset_id, spec.run_name)
    description, metadata = spec.run_description, spec.metadata
    if description is None or metadata is None:
        current = await fetch_experiment(storage, project_id, eid)
        if current is not None:
            description = current.description if description is None else description
            metadata = current.metadata if metadata is None else metadata
    now = datetime.now(UTC)
    created = spec.created_at or now
    row: list[object] = [
        project_id,
        eid,
        spec.run_name,
        description,
        _json_text(metadata) or "",
        item.dataset_id,
        item.id,
        spec.dataset_version,
        _json_text(item.metadata) or "",
        _json_text(item.expected_output),
        trace_id,
        spec.observation_id or "",
        created,
        None,
        "DEFAULT",
        "default",
        _json_text(item.input),
        None,
        "api",
        now,
        0,
    ]
    await eq.insert_experiment_items(storage.clickhouse, [row])
    return RunItemView(
        id=run_item_id(eid, trace_id, spec.observation_id),
        experiment_id=eid,
        run_name=spec.run_name,
        dataset_id=item.dataset_id,
        dataset_item_id=item.id,
        trace_id=trace_id,
        observation_id=spec.observation_id,
        created_at=created,
        updated_at=now,
    )

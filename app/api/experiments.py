"""/api/public/experiments and /experiment-items: the experiment read model SDK 5.x reads (cursor pages,
field groups). Experiments are written by ingestion (SDK 5.x spans) and by legacy run items
(app.api.dataset_runs)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any

from litestar import Request, get
from litestar.datastructures import State
from litestar.params import Parameter

from app.api.scores import score_v3_json
from app.api.shared import READ, iso, project_scope
from app.errors import InvalidInput
from app.evaluation import experiments as ex
from app.storage import Storage, json_text
from app.storage.clickhouse.queries import scores as sq
from app.storage.clickhouse.queries.common import check_time

MAX_LIMIT = 100
MAX_SCORE_LIMIT = 50
EXPERIMENT_GROUPS = ("core", "metadata", "scores")
ITEM_GROUPS = ("core", "dataset", "io", "metadata", "itemMetadata", "experimentMetadata", "scores")
# `filter` columns → the list parameter they narrow.
EXPERIMENT_FILTER_COLUMNS = {"id": "id", "name": "name", "datasetId": "datasetId"}
ITEM_FILTER_COLUMNS = {
    "experimentId": "experimentId",
    "experimentName": "experimentName",
    "experimentItemId": "experimentItemId",
    "datasetId": "datasetId",
}
_OPERATORS = ("=", "any of")


def field_groups(fields: str | None, default: str, allowed: Sequence[str]) -> set[str]:
    """The `fields` groups asked for; InvalidInput naming an unknown one."""
    groups = {g.strip() for g in (fields or default).split(",") if g.strip()}
    unknown = groups - set(allowed)
    if unknown:
        raise InvalidInput(f"fields: unknown group(s) {', '.join(sorted(unknown))}; use {', '.join(allowed)}")
    return groups | {"core"}


def comma_list(value: str | None) -> tuple[str, ...]:
    return tuple(v.strip() for v in (value or "").split(",") if v.strip())


def parse_filter(text: str | None, columns: dict[str, str]) -> dict[str, tuple[str, ...]]:
    """The structured `filter` (a JSON array of {column, operator, value}) as values per column."""
    if not text:
        return {}
    try:
        conditions = json_text.loads(text)
    except ValueError as exc:
        raise InvalidInput("filter: not valid JSON") from exc
    if not isinstance(conditions, list):
        raise InvalidInput("filter: must be a JSON array of conditions")
    out: dict[str, tuple[str, ...]] = {}
    for c in conditions:
        column = c.get("column") if isinstance(c, dict) else None
        if column not in columns:
            raise InvalidInput(f"filter: column must be one of {', '.join(columns)}")
        if c.get("operator", "=") not in _OPERATORS:
            raise InvalidInput(f"filter: operator must be one of {', '.join(_OPERATORS)}")
        value = c.get("value")
        values = value if isinstance(value, list) else [value]
        if not values or not all(isinstance(v, str) for v in values):
            raise InvalidInput(f"filter: the value for {column} must be a string or a list of strings")
        out[columns[column]] = out.get(columns[column], ()) + tuple(values)
    return out


def time_bounds(from_start: datetime | None, to_start: datetime | None) -> tuple[datetime, datetime | None]:
    if from_start is None:
        raise InvalidInput("fromStartTime is required (a lower bound keeps the query fast)")
    start = check_time(from_start, "fromStartTime")
    end = check_time(to_start, "toStartTime") if to_start is not None else None
    if end is not None and end <= start:
        raise InvalidInput("toStartTime must be after fromStartTime")
    return start, end


async def _run_scores(
    storage: Storage, project_id: str, experiment_ids: list[str], limit: int
) -> dict[str, list[dict[str, Any]]]:
    async def one(experiment_id: str) -> list[dict[str, Any]]:
        req = sq.ScoreListRequest(
            project_id, None, sq.ScoreFilter(dataset_run_ids=(experiment_id,)), limit, None
        )
        found = await sq.list_scores(storage.clickhouse, req)
        return [score_v3_json(s, project_id) for s in found.items]

    lists = await asyncio.gather(*(one(i) for i in experiment_ids))
    return dict(zip(experiment_ids, lists, strict=True))


async def _item_scores(
    storage: Storage, project_id: str, items: list[ex.ExperimentItemView], limit: int
) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Each item run's own scores (its observation's) and its trace's, at most `limit` each."""

    async def one(item: ex.ExperimentItemView) -> list[dict[str, Any]]:
        req = sq.ScoreListRequest(
            project_id, None, sq.ScoreFilter(trace_ids=(item.trace_id,)), MAX_LIMIT, None
        )
        found = await sq.list_scores(storage.clickhouse, req)
        mine = [s for s in found.items if s.observation_id in (None, item.id)]
        return [score_v3_json(s, project_id) for s in mine[:limit]]

    lists = await asyncio.gather(*(one(i) for i in items))
    return {(i.trace_id, i.id): found for i, found in zip(items, lists, strict=True)}


@get("/experiments", opt=READ.opt)
async def list_experiments(
    request: Request[Any, Any, State],
    from_start_time: Annotated[datetime | None, Parameter(query="fromStartTime")] = None,
    to_start_time: Annotated[datetime | None, Parameter(query="toStartTime")] = None,
    fields: str | None = None,
    limit: Annotated[int, Parameter(ge=1, le=MAX_LIMIT)] = 50,
    score_limit: Annotated[int, Parameter(query="scoreLimit", ge=1, le=MAX_SCORE_LIMIT)] = MAX_SCORE_LIMIT,
    cursor: str | None = None,
    experiment_id: Annotated[str | None, Parameter(query="id")] = None,
    name: str | None = None,
    dataset_id: Annotated[str | None, Parameter(query="datasetId")] = None,
    filter_: Annotated[str | None, Parameter(query="filter")] = None,
) -> dict[str, Any]:
    """Experiments with item runs in [fromStartTime, toStartTime), latest activity first (cursor pages).
    `fields`: core, metadata, scores (run-level)."""
    storage, project_id = project_scope(request)
    groups = field_groups(fields, "core", EXPERIMENT_GROUPS)
    start, end = time_bounds(from_start_time, to_start_time)
    conditions = parse_filter(filter_, EXPERIMENT_FILTER_COLUMNS)
    filt = ex.ExperimentFilter(
        start,
        end,
        ids=comma_list(experiment_id) + conditions.get("id", ()),
        names=comma_list(name) + conditions.get("name", ()),
        dataset_ids=comma_list(dataset_id) + conditions.get("datasetId", ()),
    )
    found, next_cursor = await ex.list_experiments_page(storage, project_id, filt, cursor, limit)
    scores = (
        await _run_scores(storage, project_id, [e.id for e in found], score_limit)
        if "scores" in groups
        else {}
    )
    data = []
    for e in found:
        out: dict[str, Any] = {
            "id": e.id,
            "name": e.name,
            "description": e.description,
            "startTime": iso(max(e.start_time, start)),
            "endTime": iso(e.end_time),
            "itemCount": e.item_count,
            "datasetId": e.dataset_id,
        }
        if "metadata" in groups:
            out["metadata"] = e.metadata or {}
        if "scores" in groups:
            out["scores"] = scores.get(e.id, [])
        data.append(out)
    return {"data": data, "meta": {"cursor": next_cursor} if next_cursor else {}}


def item_json(item: ex.ExperimentItemView, groups: set[str]) -> dict[str, Any]:
    """An item run in the Langfuse shape, with the field groups asked for."""
    out: dict[str, Any] = {
        "id": item.id,
        "traceId": item.trace_id,
        "startTime": iso(item.start_time),
        "endTime": iso(item.end_time),
        "level": item.level,
        "environment": item.environment,
        "experimentId": item.experiment_id,
        "experimentName": item.experiment_name,
        "experimentItemId": item.item_id,
    }
    if "dataset" in groups:
        out["experimentDatasetId"] = item.dataset_id
        out["experimentItemVersion"] = iso(item.item_version)
    if "io" in groups:
        out |= {"input": item.input, "output": item.output, "expectedOutput": item.expected_output}
    if "metadata" in groups:
        out["metadata"] = item.metadata or {}
    if "itemMetadata" in groups:
        out["experimentItemMetadata"] = item.item_metadata
    if "experimentMetadata" in groups:
        out["experimentMetadata"] = item.experiment_metadata
        out["experimentDescription"] = item.experiment_description
    return out


@get("/experiment-items", opt=READ.opt)
async def list_experiment_items(
    request: Request[Any, Any, State],
    from_start_time: Annotated[datetime | None, Parameter(query="fromStartTime")] = None,
    to_start_time: Annotated[datetime | None, Parameter(query="toStartTime")] = None,
    fields: str | None = None,
    limit: Annotated[int, Parameter(ge=1, le=MAX_LIMIT)] = 50,
    score_limit: Annotated[int, Parameter(query="scoreLimit", ge=1, le=MAX_SCORE_LIMIT)] = MAX_SCORE_LIMIT,
    cursor: str | None = None,
    experiment_id: Annotated[str | None, Parameter(query="experimentId")] = None,
    experiment_name: Annotated[str | None, Parameter(query="experimentName")] = None,
    experiment_item_id: Annotated[str | None, Parameter(query="experimentItemId")] = None,
    dataset_id: Annotated[str | None, Parameter(query="datasetId")] = None,
    filter_: Annotated[str | None, Parameter(query="filter")] = None,
) -> dict[str, Any]:
    """Item runs started in [fromStartTime, toStartTime), newest first (cursor pages). `fields`: core,
    dataset (default), io, metadata, itemMetadata, experimentMetadata, scores (the item's and its trace's)."""
    storage, project_id = project_scope(request)
    groups = field_groups(fields, "core,dataset", ITEM_GROUPS)
    start, end = time_bounds(from_start_time, to_start_time)
    conditions = parse_filter(filter_, ITEM_FILTER_COLUMNS)
    filt = ex.ExperimentItemFilter(
        start,
        end,
        experiment_ids=comma_list(experiment_id) + conditions.get("experimentId", ()),
        experiment_names=comma_list(experiment_name) + conditions.get("experimentName", ()),
        item_ids=comma_list(experiment_item_id) + conditions.get("experimentItemId", ()),
        dataset_ids=comma_list(dataset_id) + conditions.get("datasetId", ()),
    )
    items, next_cursor = await ex.list_experiment_items_page(
        storage, project_id, filt, cursor, limit, io="io" in groups, metadata="metadata" in groups
    )
    scores = await _item_scores(storage, project_id, items, score_limit) if "scores" in groups else {}
    data = []
    for item in items:
        out = item_json(item, groups)
        if "scores" in groups:
            out["scores"] = scores.get((item.trace_id, item.id), [])
        data.append(out)
    return {"data": data, "meta": {"cursor": next_cursor} if next_cursor else {}}


EXPERIMENT_ROUTES = [list_experiments, list_experiment_items]

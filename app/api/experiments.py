"""/api/public/experiments and /experiment-items: the experiment read model SDK 5.x reads (cursor pages,
field groups). Experiments are written by ingestion (SDK 5.x spans) and by legacy run items
(app.api.dataset_runs)."""

from __future__ import annotations

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
from app.storage.clickhouse.queries.views import ScoreView

MAX_LIMIT = 100
MAX_SCORE_LIMIT = 50
EXPERIMENT_GROUPS = ("core", "metadata", "scores")
ITEM_GROUPS = ("core", "dataset", "io", "metadata", "itemMetadata", "experimentMetadata", "scores")
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


def list_values(text: str | None, params: dict[str, str | None]) -> dict[str, tuple[str, ...]]:
    """Each list parameter's values (comma-separated), then those the structured `filter` (a JSON array
    of {column, operator, value}) gives its column, of the same name."""
    out = {column: comma_list(value) for column, value in params.items()}
    if not text:
        return out
    try:
        conditions = json_text.loads(text)
    except ValueError as exc:
        raise InvalidInput("filter: not valid JSON") from exc
    if not isinstance(conditions, list):
        raise InvalidInput("filter: must be a JSON array of conditions")
    for c in conditions:
        column = c.get("column") if isinstance(c, dict) else None
        if not isinstance(column, str) or column not in out:
            raise InvalidInput(f"filter: column must be one of {', '.join(out)}")
        operator = c.get("operator", "=")
        if not isinstance(operator, str) or operator not in _OPERATORS:
            raise InvalidInput(f"filter: operator must be one of {', '.join(_OPERATORS)}")
        value = c.get("value")
        values = value if isinstance(value, list) else [value]
        if not values or not all(isinstance(v, str) for v in values):
            raise InvalidInput(f"filter: the value for {column} must be a string or a list of strings")
        out[column] += tuple(values)
    return out


def cursor_page(data: list[dict[str, Any]], next_cursor: str | None) -> dict[str, Any]:
    """A page in the shape SDK 5.x reads: the rows, and the cursor of the next page if there is one."""
    return {"data": data, "meta": {"cursor": next_cursor} if next_cursor else {}}


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
    """Each experiment's run-level scores, at most `limit` each (one query for the page)."""
    req = sq.ScoreListRequest(
        project_id, None, sq.ScoreFilter(dataset_run_ids=tuple(experiment_ids)), sq.MAX_RELATED, None
    )
    found = await sq.list_scores(storage.clickhouse, req, max_first=sq.MAX_RELATED)
    out: dict[str, list[dict[str, Any]]] = {i: [] for i in experiment_ids}
    for score in found.items:
        mine = out.get(score.dataset_run_id or "")
        if mine is not None and len(mine) < limit:
            mine.append(score_v3_json(score, project_id))
    return out


async def _item_scores(
    storage: Storage, project_id: str, items: list[ex.ExperimentItemView], limit: int
) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Each item run's own scores (its observation's) and its trace's, newest first as the run scores,
    at most `limit` each (one query for the page's traces)."""
    trace_ids = tuple(dict.fromkeys(i.trace_id for i in items))
    found = await sq.scores_of(storage.clickhouse, project_id, trace_ids=trace_ids)  # oldest first
    by_trace: dict[str, list[ScoreView]] = {}
    for score in reversed(found):
        by_trace.setdefault(score.trace_id or "", []).append(score)
    out: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for item in items:
        mine = [s for s in by_trace.get(item.trace_id, []) if s.observation_id in (None, item.id)]
        out[(item.trace_id, item.id)] = [score_v3_json(s, project_id) for s in mine[:limit]]
    return out


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
    values = list_values(filter_, {"id": experiment_id, "name": name, "datasetId": dataset_id})
    filt = ex.ExperimentFilter(
        start, end, ids=values["id"], names=values["name"], dataset_ids=values["datasetId"]
    )
    found, next_cursor = await ex.list_experiments_page(storage, project_id, filt, cursor, limit)
    data = [experiment_json(e, start, groups) for e in found]
    if "scores" in groups:
        scores = await _run_scores(storage, project_id, [e.id for e in found], score_limit)
        for out, e in zip(data, found, strict=True):
            out["scores"] = scores.get(e.id, [])
    return cursor_page(data, next_cursor)


def experiment_json(e: ex.ExperimentView, start: datetime, groups: set[str]) -> dict[str, Any]:
    """An experiment in the Langfuse shape (starting no earlier than the window), with the groups asked."""
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
    return out


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
    params = {
        "experimentId": experiment_id,
        "experimentName": experiment_name,
        "experimentItemId": experiment_item_id,
        "datasetId": dataset_id,
    }
    values = list_values(filter_, params)
    filt = ex.ExperimentItemFilter(
        start,
        end,
        experiment_ids=values["experimentId"],
        experiment_names=values["experimentName"],
        item_ids=values["experimentItemId"],
        dataset_ids=values["datasetId"],
    )
    items, next_cursor = await ex.list_experiment_items_page(
        storage, project_id, filt, cursor, limit, io="io" in groups, metadata="metadata" in groups
    )
    data = [item_json(item, groups) for item in items]
    if "scores" in groups:
        scores = await _item_scores(storage, project_id, items, score_limit)
        for out, item in zip(data, items, strict=True):
            out["scores"] = scores.get((item.trace_id, item.id), [])
    return cursor_page(data, next_cursor)


EXPERIMENT_ROUTES = [list_experiments, list_experiment_items]

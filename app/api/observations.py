"""/api/public/observations and /v2/observations: list (pages, or a cursor with field groups), read one,
and read the whole original of a truncated input or output."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from litestar import Request, get
from litestar.datastructures import State
from litestar.params import Parameter

from app.api.paging import MAX_LIMIT, MAX_PAGE, MAX_PAGED_ROWS, page_meta, rows_for_page
from app.api.shared import READ, iso, optional, project_scope
from app.errors import InvalidInput, NotFound
from app.storage.clickhouse.queries import observations as oq
from app.storage.clickhouse.queries.common import TimeRange
from app.storage.clickhouse.queries.views import ObservationView, json_or_text
from app.tracing import values

MAX_V2_LIMIT = 1_000


def _observation_filter(
    name: str | None,
    user_id: str | None,
    session_id: str | None,
    type_: str | None,
    trace_id: str | None,
    level: str | None,
    parent_observation_id: str | None,
    environment: list[str] | None,
    version: str | None,
    is_root: bool | None = None,
) -> oq.ObservationFilter:
    return oq.ObservationFilter(
        names=optional(name),
        user_ids=optional(user_id),
        session_ids=optional(session_id),
        types=optional(type_),
        trace_ids=optional(trace_id),
        levels=optional(level),
        parent_ids=optional(parent_observation_id),
        environments=tuple(environment or ()),
        versions=optional(version),
        is_root=is_root,
    )


@get("/observations/{observation_id:str}", opt=READ.opt)
async def get_observation(request: Request[Any, Any, State], observation_id: str) -> dict[str, Any]:
    storage, project_id = project_scope(request)
    found = await oq.fetch_observation(storage.clickhouse, project_id, observation_id)
    if found is None:
        raise NotFound(f"observation {observation_id!r} not found")
    return observation_json(found, project_id)


@get("/observations/{observation_id:str}/original/{field:str}", media_type="text/plain; charset=utf-8")
async def get_observation_original(
    request: Request[Any, Any, State], observation_id: str, field: str
) -> bytes:
    """The whole input or output of an observation whose stored copy was truncated at ingestion."""
    storage, project_id = project_scope(request)
    return await values.fetch_original(storage, project_id, observation_id, field)


V2_GROUPS = (
    "core",
    "basic",
    "time",
    "io",
    "metadata",
    "model",
    "usage",
    "prompt",
    "metrics",
    "trace_context",
)


def _field_groups(fields: str | None) -> list[str]:
    """The v2 `fields` groups asked for (by default core and basic)."""
    groups = [g.strip() for g in (fields or "core,basic").split(",") if g.strip()]
    unknown = set(groups) - set(V2_GROUPS)
    if unknown:
        raise InvalidInput(
            f"fields: unknown group(s) {', '.join(sorted(unknown))}; use {', '.join(V2_GROUPS)}"
        )
    return groups


@get(["/observations", "/v2/observations"], opt=READ.opt)
async def list_observations(
    request: Request[Any, Any, State],
    page: Annotated[int, Parameter(ge=1, le=MAX_PAGE)] = 1,
    limit: Annotated[int, Parameter(ge=1, le=MAX_V2_LIMIT)] = 50,
    cursor: str | None = None,
    fields: str | None = None,
    name: str | None = None,
    user_id: Annotated[str | None, Parameter(query="userId")] = None,
    session_id: Annotated[str | None, Parameter(query="sessionId")] = None,
    type_: Annotated[str | None, Parameter(query="type")] = None,
    trace_id: Annotated[str | None, Parameter(query="traceId")] = None,
    level: str | None = None,
    parent_observation_id: Annotated[str | None, Parameter(query="parentObservationId")] = None,
    environment: list[str] | None = None,
    from_start_time: Annotated[datetime | None, Parameter(query="fromStartTime")] = None,
    to_start_time: Annotated[datetime | None, Parameter(query="toStartTime")] = None,
    version: str | None = None,
    is_root: Annotated[bool | None, Parameter(query="isRootObservation")] = None,
) -> dict[str, Any]:
    """Observations: pages (`page`, `limit` ≤ 100; ≤ 4.x SDKs) or, under /v2, a cursor with `fields`
    groups (`limit` ≤ 1,000; SDK 5.x)."""
    storage, project_id = project_scope(request)
    by_cursor = request.url.path.endswith("/v2/observations")
    groups = _field_groups(fields) if by_cursor else None
    if not by_cursor and limit > MAX_LIMIT:
        raise InvalidInput(f"limit must be at most {MAX_LIMIT}")
    f = _observation_filter(
        name,
        user_id,
        session_id,
        type_,
        trace_id,
        level,
        parent_observation_id,
        environment,
        version,
        is_root,
    )
    first = limit if by_cursor else rows_for_page(page, limit)
    req = oq.ObservationListRequest(
        project_id,
        TimeRange.resolve(from_start_time, to_start_time, names=("fromStartTime", "toStartTime")),
        f,
        first=first,
        after=cursor if by_cursor else None,
        with_io=groups is None or "io" in groups or "metadata" in groups,
    )
    if by_cursor:
        found = await oq.list_observations(storage.clickhouse, req, max_first=MAX_PAGED_ROWS)
        next_cursor = found.end_cursor if found.has_next else None
        data = [observation_json(o, project_id, groups) for o in found.items]
        return {"data": data, "meta": {"cursor": next_cursor}}
    found, total = await asyncio.gather(
        oq.list_observations(storage.clickhouse, req, max_first=MAX_PAGED_ROWS),
        oq.count_observations(storage.clickhouse, req),
    )
    shown = found.items[(page - 1) * limit :]
    return {"data": [observation_json(o, project_id) for o in shown], "meta": page_meta(page, limit, total)}


def num(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def observation_json(
    o: ObservationView, project_id: str, groups: Sequence[str] | None = None
) -> dict[str, Any]:
    """An observation in the Langfuse shape; `groups` (v2 `fields`) picks field groups, None all."""
    out: dict[str, Any] = {
        "id": o.id,
        "traceId": o.trace_id,
        "startTime": iso(o.start_time),
        "endTime": iso(o.end_time),
        "projectId": project_id,
        "parentObservationId": o.parent_observation_id,
        "type": o.type,
    }
    for group, fields in _GROUPS.items():
        if groups is None or group in groups:
            out |= fields(o)
    return out


def _usage(o: ObservationView) -> dict[str, Any]:
    usage, costs = o.usage_details, {k: float(v) for k, v in o.cost_details.items()}
    return {
        "usageDetails": usage,
        "costDetails": costs,
        "totalCost": num(o.total_cost),
        "usage": {
            "input": usage.get("input", 0),
            "output": usage.get("output", 0),
            "total": usage.get("total", 0),
            "unit": "TOKENS",
        },
        "calculatedTotalCost": num(o.total_cost),
        "calculatedInputCost": costs.get("input"),
        "calculatedOutputCost": costs.get("output"),
    }


def _metrics(o: ObservationView) -> dict[str, Any]:
    ttft = None
    if o.completion_start_time is not None:
        ttft = (o.completion_start_time - o.start_time).total_seconds()
    return {"latency": None if o.latency_ms is None else o.latency_ms / 1000, "timeToFirstToken": ttft}


# The v2 field groups, in the order their fields appear.
_GROUPS: dict[str, Callable[[ObservationView], dict[str, Any]]] = {
    "basic": lambda o: {
        "name": o.name,
        "level": o.level,
        "statusMessage": o.status_message,
        "version": o.version,
        "environment": o.environment,
        "userId": o.user_id,
        "sessionId": o.session_id,
        "isRootObservation": o.parent_observation_id is None,
    },
    "time": lambda o: {"completionStartTime": iso(o.completion_start_time)},
    "io": lambda o: {"input": json_or_text(o.input), "output": json_or_text(o.output)},
    "metadata": lambda o: {"metadata": o.metadata},
    "model": lambda o: {
        "model": o.model,
        "internalModelId": o.internal_model_id,
        "modelId": o.internal_model_id,
        "modelParameters": json_or_text(o.model_parameters),
    },
    "usage": _usage,
    "prompt": lambda o: {"promptId": None, "promptName": o.prompt_name, "promptVersion": o.prompt_version},
    "metrics": _metrics,
    "trace_context": lambda o: {"tags": o.tags, "release": o.release, "traceName": o.trace_name},
}


OBSERVATION_ROUTES = [get_observation_original, list_observations, get_observation]

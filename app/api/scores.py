"""/api/public/v2/scores and /v3/scores: score reads (v2 pages, v3 cursors).

Scores are written through app.ingest.scores (POST, DELETE /api/public/scores).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from litestar import Request, get
from litestar.datastructures import State
from litestar.params import Parameter

from app.api.paging import MAX_LIMIT, MAX_PAGE, MAX_PAGED_ROWS, page_meta, rows_for_page
from app.api.shared import READ, TIMESTAMP_PARAMS, iso, optional, project_scope
from app.storage.clickhouse.queries import scores as sq
from app.storage.clickhouse.queries.common import NumberRange, TimeRange
from app.storage.clickhouse.queries.views import ScoreView


def _score_request(
    project_id: str,
    first: int,
    after: str | None,
    *,
    score_id: str | None,
    name: str | None,
    source: str | None,
    data_type: str | None,
    trace_id: str | None,
    session_id: str | None,
    observation_id: str | None,
    experiment_id: str | None,
    config_id: str | None,
    queue_id: str | None = None,
    author_user_id: str | None = None,
    environment: list[str] | None,
    string_value: str | None,
    from_ts: datetime | None,
    to_ts: datetime | None,
    min_value: float | None,
    max_value: float | None,
) -> sq.ScoreListRequest:
    scoped = score_id or trace_id or session_id or observation_id or experiment_id
    time = (
        None
        if scoped and not (from_ts or to_ts)
        else TimeRange.resolve(from_ts, to_ts, names=TIMESTAMP_PARAMS)
    )
    f = sq.ScoreFilter(
        ids=optional(score_id),
        names=optional(name),
        sources=optional(source),
        data_types=optional(data_type),
        trace_ids=optional(trace_id),
        session_ids=optional(session_id),
        observation_ids=optional(observation_id),
        dataset_run_ids=optional(experiment_id),
        config_ids=optional(config_id),
        queue_ids=optional(queue_id),
        author_user_ids=optional(author_user_id),
        environments=tuple(environment or ()),
        string_values=optional(string_value),
        value=NumberRange(min_value, max_value) if min_value is not None or max_value is not None else None,
    )
    return sq.ScoreListRequest(project_id, time, f, first, after)


@get(["/v2/scores", "/v3/scores"], opt=READ.opt)
async def list_scores(
    request: Request[Any, Any, State],
    page: Annotated[int, Parameter(ge=1, le=MAX_PAGE)] = 1,
    limit: Annotated[int, Parameter(ge=1, le=MAX_LIMIT)] = 50,
    cursor: str | None = None,
    name: str | None = None,
    source: str | None = None,
    data_type: Annotated[str | None, Parameter(query="dataType")] = None,
    trace_id: Annotated[str | None, Parameter(query="traceId")] = None,
    session_id: Annotated[str | None, Parameter(query="sessionId")] = None,
    observation_id: Annotated[str | None, Parameter(query="observationId")] = None,
    config_id: Annotated[str | None, Parameter(query="configId")] = None,
    queue_id: Annotated[str | None, Parameter(query="queueId")] = None,
    author_user_id: Annotated[str | None, Parameter(query="authorUserId")] = None,
    environment: list[str] | None = None,
    from_timestamp: Annotated[datetime | None, Parameter(query="fromTimestamp")] = None,
    to_timestamp: Annotated[datetime | None, Parameter(query="toTimestamp")] = None,
    min_value: Annotated[float | None, Parameter(query="minValue")] = None,
    max_value: Annotated[float | None, Parameter(query="maxValue")] = None,
    value_min: Annotated[float | None, Parameter(query="valueMin")] = None,
    value_max: Annotated[float | None, Parameter(query="valueMax")] = None,
    score_id: Annotated[str | None, Parameter(query="id")] = None,
    experiment_id: Annotated[str | None, Parameter(query="experimentId")] = None,
    value: str | None = None,
) -> dict[str, Any]:
    """Scores: v2 pages (`page`, `limit`; ≤ 4.x SDKs), v3 cursors (`cursor`, `limit`; SDK 5.x).
    v3 names the value range `valueMin`/`valueMax` (v2 `minValue`/`maxValue`); `value` matches a
    categorical or text value."""
    storage, project_id = project_scope(request)
    by_cursor = request.url.path.endswith("/v3/scores")
    req = _score_request(
        project_id,
        limit if by_cursor else rows_for_page(page, limit),
        cursor if by_cursor else None,
        score_id=score_id,
        name=name,
        source=source,
        data_type=data_type,
        trace_id=trace_id,
        session_id=session_id,
        observation_id=observation_id,
        experiment_id=experiment_id,
        config_id=config_id,
        queue_id=queue_id,
        author_user_id=author_user_id,
        environment=environment,
        string_value=value,
        from_ts=from_timestamp,
        to_ts=to_timestamp,
        min_value=value_min if value_min is not None else min_value,
        max_value=value_max if value_max is not None else max_value,
    )
    if by_cursor:
        found = await sq.list_scores(storage.clickhouse, req)
        return {
            "data": [score_v3_json(s, project_id) for s in found.items],
            "meta": {"cursor": found.end_cursor if found.has_next else None, "limit": limit},
        }
    found = await sq.list_scores(storage.clickhouse, req, max_first=MAX_PAGED_ROWS)
    items = found.items[(page - 1) * limit :]
    total = await sq.count_scores(storage.clickhouse, req)
    return {"data": [score_json(s, project_id) for s in items], "meta": page_meta(page, limit, total)}


def score_json(s: ScoreView, project_id: str) -> dict[str, Any]:
    """A score as v1/v2 reads (≤ 4.x SDKs) give it: a number `value` for every type but TEXT, and the
    text in `stringValue` (booleans "True"/"False", categories their label)."""
    string_value = s.string_value
    if s.data_type == "BOOLEAN" and string_value is None and s.value is not None:
        string_value = "True" if s.value else "False"
    value: Any = s.value
    if value is None and s.data_type != "TEXT":
        value = 0.0
    return {
        "id": s.id,
        "projectId": project_id,
        "traceId": s.trace_id,
        "observationId": s.observation_id,
        "sessionId": s.session_id,
        "datasetRunId": s.dataset_run_id,
        "name": s.name,
        "value": value,
        "stringValue": string_value,
        "dataType": s.data_type,
        "source": s.source,
        "comment": s.comment,
        "configId": s.config_id,
        "queueId": s.queue_id,
        "authorUserId": s.author_user_id,
        "environment": s.environment,
        "metadata": s.metadata,
        "timestamp": iso(s.timestamp),
        "createdAt": iso(s.created_at),
        "updatedAt": iso(s.updated_at),
    }


def score_v3_json(s: ScoreView, project_id: str) -> dict[str, Any]:
    """A score as v3 reads (SDK 5.x) give it: booleans as true/false, and the scored `subject`."""
    out = score_json(s, project_id)
    if s.data_type == "BOOLEAN":
        out["value"] = bool(s.value)
    elif s.data_type in ("CATEGORICAL", "TEXT", "CORRECTION"):
        out["value"] = s.string_value or ""
    subject: dict[str, Any] | None = None
    if s.observation_id:
        subject = {"kind": "observation", "id": s.observation_id, "traceId": s.trace_id}
    elif s.trace_id:
        subject = {"kind": "trace", "id": s.trace_id}
    elif s.session_id:
        subject = {"kind": "session", "id": s.session_id}
    elif s.dataset_run_id:
        subject = {"kind": "experiment", "id": s.dataset_run_id}
    out["subject"] = subject
    return out


SCORE_ROUTES = [list_scores]

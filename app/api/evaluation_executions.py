"""/api/public/v2/evaluation-executions (Langhouse's own; Langfuse has no public equivalent): every
judgment a rule or schedule made, with its status, error, raw answer, score ids and the judge's trace;
and a retry of a failed, cancelled or waiting one."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get, post
from litestar.datastructures import State
from litestar.params import Parameter

from app.api.paging import MAX_LIMIT
from app.api.shared import iso, project_scope
from app.evaluation import judge_executions as domain
from app.http_json import ApiDoc
from app.jobs.contracts import JobQueue, enqueue_judge
from app.storage.postgres.eval_tables import JobExecution

ONE = ApiDoc(errors={404: "No such execution."})
RETRY = ApiDoc(
    body={"type": "object", "description": "Nothing to send: an empty object, or no body."},
    errors={404: "No such execution.", 409: "Running, completed, or its evaluator is paused."},
)


def execution_json(ex: JobExecution) -> dict[str, Any]:
    """One execution: what was judged, by which evaluator and rule, how it went."""
    return {
        "id": ex.id,
        "ruleId": ex.rule_id,
        "evaluatorId": ex.evaluator_id,
        "evaluatorVersionId": ex.evaluator_version_id,
        "scheduleId": ex.schedule_id,
        "status": ex.status,
        "targetKind": ex.target_kind,
        "targetKey": ex.target_key,
        "traceId": ex.target_trace_id,
        "observationId": ex.target_observation_id,
        "sessionId": ex.target_session_id,
        "datasetItemId": ex.target_dataset_item_id,
        "attempts": ex.attempts,
        "error": ex.error,
        "rawAnswer": ex.raw_answer,
        "scoreIds": list(ex.score_ids),
        "executionTraceId": ex.execution_trace_id,
        "costUsd": ex.cost_usd,
        "scheduledFor": iso(ex.scheduled_for),
        "startedAt": iso(ex.started_at),
        "endedAt": iso(ex.ended_at),
        "createdAt": iso(ex.created_at),
        "updatedAt": iso(ex.updated_at),
    }


@get("/v2/evaluation-executions")
async def list_executions(
    request: Request[Any, Any, State],
    limit: Annotated[int, Parameter(ge=1, le=MAX_LIMIT)] = 50,
    cursor: str | None = None,
    rule_id: Annotated[str | None, Parameter(query="ruleId")] = None,
    evaluator_id: Annotated[str | None, Parameter(query="evaluatorId")] = None,
    status: str | None = None,
) -> dict[str, Any]:
    """Executions newest first, in cursor pages, with the counts per status of the same rule/evaluator."""
    storage, project_id = project_scope(request)
    where = domain.ExecutionFilter(rule_id, evaluator_id, status.upper() if status else None)
    page, nxt = await domain.list_executions_page(storage, project_id, where, limit, cursor)
    counts = await domain.status_counts(storage, project_id, where)
    meta: dict[str, Any] = {"counts": counts}
    if nxt is not None:
        meta["cursor"] = nxt
    return {"data": [execution_json(e) for e in page], "meta": meta}


@get("/v2/evaluation-executions/{execution_id:str}", opt=ONE.opt)
async def get_execution(request: Request[Any, Any, State], execution_id: str) -> dict[str, Any]:
    storage, project_id = project_scope(request)
    return execution_json(await domain.fetch_execution(storage, project_id, execution_id))


@post("/v2/evaluation-executions/{execution_id:str}/retry", status_code=200, opt=RETRY.opt)
async def retry_execution(
    request: Request[Any, Any, State], jobs: JobQueue, execution_id: str
) -> dict[str, Any]:
    """Run a failed, cancelled or waiting execution again now (attempts start over)."""
    storage, project_id = project_scope(request)
    ex = await domain.retry_execution(storage, project_id, execution_id)
    await enqueue_judge(jobs, project_id, ex.id, again=True)
    return execution_json(ex)


EVALUATION_EXECUTION_ROUTES = [list_executions, get_execution, retry_execution]

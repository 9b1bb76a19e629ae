"""Judge executions (filter by rule, evaluator and status; counts per status; errors and raw answers;
links to the target and the judge's trace; retry) and the evaluator preview (its prompt rendered on a
chosen observation, trace or session, and the judge's answer, no score saved)."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.datastructures import State
from litestar.response import Redirect, Template

from app.dashboards.deps import UiSession, page, requires_member
from app.dashboards.forms import refused
from app.dashboards.params import query, url
from app.errors import InvalidInput, UserError
from app.evaluation import evaluators
from app.evaluation import judge_executions as domain
from app.evaluation.judge_types import JudgeTarget
from app.jobs.contracts import JobQueue, enqueue_judge
from app.storage import Storage
from app.storage.postgres.tables import Role

PAGE_SIZE = 50


@get("/evaluation/executions")
async def executions_page(
    request: Request[Any, Any, State], session: UiSession, storage: Storage
) -> Template:
    """Executions newest first; `rule`, `evaluator`, `status` filter, `after` pages."""
    project_id, q = session.caller.project_id, query(request)
    status = (q.get("status") or "").upper() or None
    where = domain.ExecutionFilter(q.get("rule") or None, q.get("evaluator") or None, status)
    found, nxt = await domain.list_executions_page(storage, project_id, where, PAGE_SIZE, q.get("after"))
    counts = await domain.status_counts(storage, project_id, where)
    evaluator_names, rule_names = await domain.names_of(storage, project_id, found)
    params = {k: v for k, v in q.items() if k != "after" and v}
    return page(
        session,
        "executions.html",
        executions=found,
        evaluator_names=evaluator_names,
        rule_names=rule_names,
        counts=counts,
        statuses=domain.STATUSES,
        retryable=domain.RETRYABLE,
        q=q,
        status=status,
        status_urls={s: url("/evaluation/executions", {**params, "status": s}) for s in domain.STATUSES},
        next_url=url("/evaluation/executions", {**params, "after": nxt}) if nxt else None,
        first_url=url("/evaluation/executions", params),
        can_write=session.caller.role.at_least(Role.MEMBER),
    )


@post("/evaluation/executions/{execution_id:str}/retry", guards=[requires_member])
async def execution_retry(
    request: Request[Any, Any, State], session: UiSession, storage: Storage, jobs: JobQueue, execution_id: str
) -> Redirect:
    """Run the execution again now, then back to the list (filters kept by the referring page)."""
    project_id = session.caller.project_id
    ex = await domain.retry_execution(storage, project_id, execution_id)
    await enqueue_judge(jobs, project_id, ex.id, again=True)
    back = request.headers.get("referer") or ""
    return Redirect(back if "/evaluation/executions" in back else "/evaluation/executions")


def _target(q: dict[str, str]) -> JudgeTarget | None:
    if q.get("observation"):
        return JudgeTarget("observation", q.get("trace") or None, q["observation"].strip())
    if q.get("trace"):
        return JudgeTarget("trace", q["trace"].strip())
    if q.get("session"):
        return JudgeTarget("session", session_id=q["session"].strip())
    return None


async def _preview(
    request: Request[Any, Any, State],
    session: UiSession,
    storage: Storage,
    evaluator_id: str,
    call: bool,
    error: str | None = None,
) -> Template:
    project_id, q = session.caller.project_id, query(request)
    if request.method == "POST":
        q = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    version = await evaluators.latest_version(storage, project_id, evaluator_id)
    target, result = _target(q), None
    if target is not None:
        try:
            result = await domain.preview(storage, project_id, evaluator_id, target, call=call)
        except UserError as exc:
            error = str(exc)
    return page(
        session,
        "evaluator_preview.html",
        evaluator_id=evaluator_id,
        evaluator_version=version,
        q=q,
        target=target,
        result=result,
        error=error,
        called=call,
        can_write=session.caller.role.at_least(Role.MEMBER),
    )


@get("/evaluation/evaluators/{evaluator_id:str}/preview")
async def preview_page(
    request: Request[Any, Any, State], session: UiSession, storage: Storage, evaluator_id: str
) -> Template:
    """The prompt rendered on `observation` (or `trace`, `session`) given in the query string."""
    return await _preview(request, session, storage, evaluator_id, call=False)


@post("/evaluation/evaluators/{evaluator_id:str}/preview", guards=[requires_member], status_code=200)
async def preview_run(
    request: Request[Any, Any, State], session: UiSession, storage: Storage, evaluator_id: str
) -> Template:
    """Ask the judge on the chosen target and show its answer (no score is written)."""
    form = await request.form()
    if not any(form.get(k) for k in ("observation", "trace", "session")):
        chosen = "Choose an observation, trace or session to preview on"
        return refused(
            await _preview(request, session, storage, evaluator_id, False, chosen), InvalidInput(chosen)
        )
    return await _preview(request, session, storage, evaluator_id, call=True)


EXECUTION_ROUTES = [executions_page, execution_retry, preview_page, preview_run]

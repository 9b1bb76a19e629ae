"""Job executions as people see them: filtered cursor pages, counts per status, a retry; and the
evaluator preview, which runs a judge on a chosen target without saving a score."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from app.errors import Conflict, InvalidInput, NotFound
from app.evaluation import evaluators
from app.evaluation.encoding import time_cursor, time_keyset
from app.evaluation.evaluators import pause_parts
from app.evaluation.judge_output import Judgment, judge_answer
from app.evaluation.judge_prompt import JudgeSetupError, prepare_judge
from app.evaluation.judge_types import JudgeTarget, VariableMap
from app.playground.judge_calls import JudgeCallError, call_judge
from app.storage import Storage
from app.storage.postgres import executions as repo
from app.storage.postgres.eval_tables import JobExecution

STATUSES = ("PENDING", "RUNNING", "COMPLETED", "ERROR", "CANCELLED", "DELAYED")
RETRYABLE = ("ERROR", "CANCELLED", "DELAYED")


@dataclass(frozen=True, slots=True)
class ExecutionFilter:
    """Which executions to list; None is any."""

    rule_id: str | None = None
    evaluator_id: str | None = None
    status: str | None = None


async def list_executions_page(
    storage: Storage, project_id: str, where: ExecutionFilter, limit: int, cursor: str | None = None
) -> tuple[list[JobExecution], str | None]:
    """Newest first; returns the page and the cursor of the next one (None at the end)."""
    if where.status is not None and where.status not in STATUSES:
        raise InvalidInput(f"status: one of {', '.join(STATUSES)}")
    if not 1 <= limit <= repo.MAX_PAGE:
        raise InvalidInput(f"limit: 1 to {repo.MAX_PAGE}")
    rows = await repo.list_executions_page(
        storage.postgres,
        project_id,
        rule_id=where.rule_id,
        evaluator_id=where.evaluator_id,
        status=where.status,
        after=time_keyset(cursor),
        limit=limit + 1,
    )
    page = rows[:limit]
    more = len(rows) > limit and page
    return page, time_cursor(page[-1].created_at, page[-1].id) if more else None


async def names_of(
    storage: Storage, project_id: str, rows: list[JobExecution]
) -> tuple[dict[str, str], dict[str, str]]:
    """(evaluator id → name, rule id → name) of these executions."""
    evaluator_ids = sorted({e.evaluator_id for e in rows})
    rule_ids = sorted({e.rule_id for e in rows if e.rule_id})
    return await repo.names_of(storage.postgres, project_id, evaluator_ids, rule_ids)


async def status_counts(storage: Storage, project_id: str, where: ExecutionFilter) -> dict[str, int]:
    """Executions per status (every status present, zero when none)."""
    found = await repo.counts_by_status(
        storage.postgres, project_id, rule_id=where.rule_id, evaluator_id=where.evaluator_id
    )
    return {s: found.get(s, 0) for s in STATUSES}


async def fetch_execution(storage: Storage, project_id: str, execution_id: str) -> JobExecution:
    found = await repo.fetch_execution(storage.postgres, project_id, execution_id)
    if found is None:
        raise NotFound(f"no execution {execution_id!r} in this project")
    return found


async def retry_execution(storage: Storage, project_id: str, execution_id: str) -> JobExecution:
    """Set a failed, cancelled or waiting execution back to PENDING with fresh attempts; the caller
    enqueues it. Conflict when it is running or completed, or its evaluator is paused."""
    ex = await fetch_execution(storage, project_id, execution_id)
    if ex.status not in RETRYABLE:
        raise Conflict(
            f"execution {execution_id!r} is {ex.status}: only {', '.join(RETRYABLE)} ones can be retried"
        )
    evaluator = (await repo.fetch_judge_parts(storage.postgres, project_id, ex.id)).evaluator
    if evaluator is not None and evaluator.status == "paused":
        reason = pause_parts(evaluator)[1]
        raise Conflict(f"the evaluator is paused ({reason}): resume it before retrying")
    ex.status, ex.error, ex.attempts, ex.ended_at = "PENDING", None, 0, None
    ex.scheduled_for = datetime.now(UTC)
    return await repo.save_execution(storage.postgres, ex)


@dataclass(frozen=True, slots=True)
class Preview:
    """A judge run on one target, not saved: the prompt sent, the answer, and the score it would give."""

    messages: list[dict[str, str]] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)
    model: str | None = None
    raw_answer: str | None = None
    judgment: Judgment | None = None
    error: str | None = None


async def preview(
    storage: Storage,
    project_id: str,
    evaluator_id: str,
    target: JudgeTarget,
    mapping: list[VariableMap] | None = None,
    call: bool = True,
) -> Preview:
    """Render the newest version's prompt on the target and (with `call`) ask the judge; no score is
    written and the evaluator is never paused from here. NotFound when the evaluator or target is."""
    version = await evaluators.latest_version(storage, project_id, evaluator_id)
    try:
        prepared = await prepare_judge(storage, project_id, version, target, mapping)
    except JudgeSetupError as exc:
        return Preview(error=str(exc))
    base: dict[str, Any] = {
        "messages": prepared.request.messages,
        "variables": prepared.variables,
        "model": f"{prepared.connection_name} / {prepared.request.model}",
    }
    if not call:
        return Preview(**base)
    try:
        answer = await call_judge(prepared.request)
    except JudgeCallError as exc:
        return Preview(**base, error=f"the judge call failed: {exc.message}")
    checked = judge_answer(prepared.spec, answer.parsed)
    if isinstance(checked, str):
        return Preview(
            **base, raw_answer=answer.raw, error=f"the answer breaks the output definition: {checked}"
        )
    return Preview(**base, raw_answer=answer.raw, judgment=checked)

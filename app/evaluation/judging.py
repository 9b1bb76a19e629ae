"""One judgment, start to end: PENDING → RUNNING → COMPLETED | ERROR | CANCELLED, or DELAYED (retry
later). Writes the score(s) through the normal score path (source EVAL) and returns the batch events of
the judge's own trace for the jobs layer to ingest. Never raises for a provider's failure: every way a
judgment can fail ends in a status and a message on the execution."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from app.errors import NotFound
from app.evaluation import evaluators
from app.evaluation.code_judging import run_code_execution
from app.evaluation.evaluators import pause_parts
from app.evaluation.judge_output import judge_answer
from app.evaluation.judge_prompt import JudgeSetupError, PreparedJudge, prepare_judge
from app.evaluation.judge_scores import ScoreSink, store_judgment, target_of
from app.evaluation.judge_trace import call_cost, judge_trace_events, judge_trace_id
from app.evaluation.judge_types import variable_maps
from app.evaluation.rule_filters import compile_filters
from app.playground.judge_calls import JudgeAnswer, JudgeCallError, call_judge
from app.storage import Storage
from app.storage.clickhouse.queries import groups as gq
from app.storage.clickhouse.queries.common import lookup_range
from app.storage.clickhouse.queries.observations import ObservationRef, fetch_observations
from app.storage.clickhouse.queries.views import ObservationView
from app.storage.postgres import executions as repo
from app.storage.postgres.eval_tables import EvaluationRule, Evaluator, JobExecution

log = logging.getLogger(__name__)
TERMINAL = ("COMPLETED", "ERROR", "CANCELLED")
STALE_SLACK = timedelta(seconds=1)  # a job is never run before its execution's due time, less this
JITTER = 0.2
SLOT_WAIT_S, SLOT_TTL_S = 2.0, 300.0
TARGET_GRACE = timedelta(minutes=5)  # a target not found this soon after matching is waited for
LOCAL_WAIT_S = 60.0  # waiting for this process's slot; then the job is deferred, not failed


@dataclass(frozen=True, slots=True)
class JudgeOutcome:
    """How a run ended: the execution's status, when to run it again (seconds), the judge trace's events."""

    status: str
    retry_in_s: float | None = None
    trace_events: list[dict[str, Any]] | None = None


def backoff_s(base_s: float, attempt: int) -> float:
    """base * 2^(attempt-1), ±20 % jitter (attempt counts from 1)."""
    return float(base_s * 2 ** max(attempt - 1, 0) * random.uniform(1 - JITTER, 1 + JITTER))  # noqa: S311


async def _end(
    storage: Storage, ex: JobExecution, status: str, error: str | None = None, **values: Any
) -> JobExecution:
    ex.status, ex.error = status, error[:4000] if error else None
    if status in TERMINAL:
        ex.ended_at = datetime.now(UTC)
    for key, value in values.items():
        setattr(ex, key, value)
    return await repo.update_execution(storage.postgres, ex)


async def _delay(storage: Storage, ex: JobExecution, seconds: float, reason: str | None) -> JudgeOutcome:
    ex.scheduled_for = datetime.now(UTC) + timedelta(seconds=seconds)
    await _end(storage, ex, "DELAYED" if reason else ex.status, reason if reason else ex.error)
    return JudgeOutcome(ex.status, retry_in_s=seconds)


def _observation_row(ex: JobExecution, o: Any) -> dict[str, Any]:
    """A read observation in the shape rule filters read (the written JSON line's keys)."""
    return {
        "id": o.id,
        "trace_id": o.trace_id,
        "parent_observation_id": o.parent_observation_id,
        "type": o.type,
        "name": o.name,
        "environment": o.environment,
        "level": o.level,
        "version": o.version,
        "trace_name": o.trace_name,
        "user_id": o.user_id,
        "session_id": o.session_id,
        "tags": o.tags,
        "metadata_names": list(o.metadata),
        "metadata_values": [v if isinstance(v, str) else json.dumps(v) for v in o.metadata.values()],
        "output": o.output,
    }


# Reads one observation of a project (the worker's gathering: the lookups of concurrent jobs in one read).
ObservationReader = Callable[[str, ObservationRef], Awaitable[ObservationView | None]]


async def read_observations(
    storage: Storage, project_id: str, refs: Sequence[ObservationRef]
) -> list[ObservationView | None]:
    return await fetch_observations(storage.clickhouse, project_id, refs)


async def _stored_target(
    storage: Storage,
    project_id: str,
    ex: JobExecution,
    rule: EvaluationRule | None,
    read: ObservationReader | None,
) -> tuple[bool, ObservationView | None]:
    """The observation judged, as stored now (the judge's inputs reuse it), and whether the rule's filter
    still matches it (a later span may have changed it)."""
    if ex.target_kind != "observation" or not ex.target_observation_id:
        return True, None
    ref = ObservationRef(ex.target_observation_id, ex.target_trace_id, ex.target_time)
    o = await read(project_id, ref) if read else (await read_observations(storage, project_id, [ref]))[0]
    if o is None or rule is None or not rule.filter:
        return True, o
    return compile_filters(rule.filter)(_observation_row(ex, o)), o


async def _session_wait_s(
    storage: Storage, project_id: str, ex: JobExecution, rule: EvaluationRule | None
) -> float:
    """Seconds until the session has been idle long enough (0 when it has)."""
    if ex.target_kind != "session" or rule is None or not ex.target_session_id:
        return 0.0
    idle = timedelta(minutes=rule.session_idle_minutes or 0)
    found = await gq.fetch_group(
        storage.clickhouse, project_id, "session_id", ex.target_session_id, lookup_range()
    )
    if found is None:
        return 0.0
    return max((found.last_seen + idle - datetime.now(UTC)).total_seconds(), 0.0)


async def _over_cost_cap(storage: Storage, project_id: str, cap: float | None) -> tuple[float, float] | None:
    """(seconds to midnight UTC, the cap) when today's judge cost reached the project's cap."""
    if cap is None:
        return None
    now = datetime.now(UTC)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if await repo.cost_since(storage.postgres, project_id, midnight) < cap:
        return None
    return (midnight + timedelta(days=1) - now).total_seconds(), cap


def _mapping(rule: EvaluationRule | None, evaluator_id: str) -> Any:
    for assignment in rule.evaluator_assignments if rule else []:
        if assignment.get("evaluatorId") == evaluator_id:
            return assignment.get("variableMapping")
    return None


async def _scores(
    storage: Storage,
    project_id: str,
    ex: JobExecution,
    evaluator: Evaluator,
    prepared: PreparedJudge,
    answer: JudgeAnswer,
    write_scores: ScoreSink | None = None,
) -> list[str] | str:
    """Write the judgment's score(s); the ids, or why the answer breaks the output definition."""
    judgment = judge_answer(prepared.spec, answer.parsed)
    if isinstance(judgment, str):
        return judgment
    trace = {"execution_trace_id": judge_trace_id(ex.id)}
    env = prepared.values.environment
    return await store_judgment(storage, project_id, ex, evaluator.name, judgment, env, trace, write_scores)


_local: dict[tuple[int, str], asyncio.Semaphore] = {}


def _local_slots(connection_id: str, limit: int) -> asyncio.Semaphore:
    """This process's share of a connection's slots: waiting here costs no CPU (the Redis semaphore
    below bounds every process together)."""
    key = (id(asyncio.get_running_loop()), connection_id)
    found = _local.get(key)
    if found is None:
        found = _local[key] = asyncio.Semaphore(limit)
    return found


async def _call(
    storage: Storage, prepared: PreparedJudge, ex: JobExecution
) -> JudgeAnswer | JudgeCallError | None:
    """The call under the connection's concurrency limit; None when no slot freed up in time. Embedded,
    this process is the only worker, so its own semaphore is the limit; with servers, the Redis semaphore
    bounds every worker process together."""
    name, limit = f"judge:{prepared.connection_id}", storage.settings.eval_connection_concurrency
    token = f"{ex.id}:{uuid.uuid4().hex[:8]}"
    local = _local_slots(prepared.connection_id, limit)
    shared = not storage.settings.embedded_redis
    try:
        await asyncio.wait_for(local.acquire(), LOCAL_WAIT_S)
    except TimeoutError:
        return None
    try:
        deadline = time.monotonic() + SLOT_WAIT_S
        while shared and not await storage.cache.acquire_slot(name, token, limit, SLOT_TTL_S):
            if time.monotonic() > deadline:
                return None
            await asyncio.sleep(0.05 + random.random() * 0.1)  # noqa: S311
        try:
            ex.status, ex.attempts = "RUNNING", ex.attempts + 1
            ex.started_at = ex.started_at or datetime.now(UTC)
            await repo.update_execution(storage.postgres, ex)
            try:
                return await call_judge(prepared.request)
            except JudgeCallError as exc:
                return exc
        finally:
            if shared:
                await storage.cache.release_slot(name, token)
    finally:
        local.release()


async def run_execution(
    storage: Storage,
    project_id: str,
    execution_id: str,
    write_scores: ScoreSink | None = None,
    read_observation: ObservationReader | None = None,
) -> JudgeOutcome:
    """Run one execution (idempotent: a finished one is left as it is, score ids are deterministic).
    `write_scores` stores the score rows and `read_observation` reads the target (the worker's, which
    gather those of concurrent jobs into one insert and one read); without them each is done at once."""
    parts = await repo.fetch_judge_parts(storage.postgres, project_id, execution_id)
    ex, evaluator, version, rule = parts.execution, parts.evaluator, parts.version, parts.rule
    if ex is None or ex.status in TERMINAL:
        return JudgeOutcome(ex.status if ex else "MISSING")
    due = ex.scheduled_for if ex.scheduled_for.tzinfo else ex.scheduled_for.replace(tzinfo=UTC)
    if due - datetime.now(UTC) > STALE_SLACK:  # a later job runs it (a retry or a wait re-enqueued it)
        return JudgeOutcome(ex.status)
    if evaluator is None or version is None:
        return JudgeOutcome((await _end(storage, ex, "CANCELLED", "the evaluator was deleted")).status)
    if evaluator.status == "paused":
        reason = f"the evaluator is paused: {pause_parts(evaluator)[1] or 'no reason given'}"
        return JudgeOutcome((await _end(storage, ex, "ERROR", reason)).status)
    matches, observation = await _stored_target(storage, project_id, ex, rule, read_observation)
    if not matches:
        return JudgeOutcome(
            (await _end(storage, ex, "CANCELLED", "the rule's filter no longer matches")).status
        )
    if (wait := await _session_wait_s(storage, project_id, ex, rule)) > 0:
        return await _delay(storage, ex, wait + 1, None)
    if evaluator.type == "code":  # no model call: the sandboxed code judges (app.evaluation.code_judging)
        maps = variable_maps(_mapping(rule, evaluator.id))
        return JudgeOutcome(await run_code_execution(storage, project_id, ex, evaluator, version, maps))
    if (capped := await _over_cost_cap(storage, project_id, parts.cost_cap_usd)) is not None:
        seconds, cap = capped
        reason = f"the project's daily judge cost cap (${cap:g}) is reached: waits until 00:00 UTC"
        return await _delay(storage, ex, seconds + random.uniform(0, 60), reason)  # noqa: S311
    try:
        maps = variable_maps(_mapping(rule, evaluator.id))
        prepared = await prepare_judge(storage, project_id, version, target_of(ex), maps, observation)
    except JudgeSetupError as exc:
        await evaluators.pause(storage, project_id, evaluator.id, str(exc), exc.code)
        return JudgeOutcome((await _end(storage, ex, "ERROR", str(exc))).status)
    except NotFound as exc:
        created = ex.created_at if ex.created_at.tzinfo else ex.created_at.replace(tzinfo=UTC)
        if datetime.now(UTC) - created < TARGET_GRACE:  # ingestion may still be writing it
            return await _delay(storage, ex, backoff_s(2.0, 1), f"waiting for the target to be stored: {exc}")
        return JudgeOutcome((await _end(storage, ex, "ERROR", f"the target is gone: {exc}")).status)
    result = await _call(storage, prepared, ex)
    if result is None:
        return await _delay(storage, ex, 0.5 + random.random(), None)  # noqa: S311
    started = ex.started_at or datetime.now(UTC)
    if isinstance(result, JudgeCallError):
        events = judge_trace_events(ex, evaluator, prepared, None, result.message, started, None)
        return await _failed(storage, project_id, ex, evaluator, result, events)
    cost = await call_cost(storage, project_id, prepared.request.model, result.usage, started)
    events = judge_trace_events(ex, evaluator, prepared, result, None, started, cost)
    written = await _scores(storage, project_id, ex, evaluator, prepared, result, write_scores)
    common = {"raw_answer": result.raw, "cost_usd": cost, "execution_trace_id": judge_trace_id(ex.id)}
    if isinstance(written, str):
        ex = await _end(storage, ex, "ERROR", f"the answer breaks the output definition: {written}", **common)
        return JudgeOutcome(ex.status, trace_events=events)
    ex = await _end(storage, ex, "COMPLETED", None, score_ids=written, **common)
    return JudgeOutcome(ex.status, trace_events=events)


async def _failed(
    storage: Storage,
    project_id: str,
    ex: JobExecution,
    evaluator: Evaluator,
    error: JudgeCallError,
    events: list[dict[str, Any]],
) -> JudgeOutcome:
    """A failed call: retry later (DELAYED), pause the evaluator (bad key, unknown model) or ERROR."""
    message = f"the judge call failed: {error.message}"
    trace_id = judge_trace_id(ex.id)
    if error.kind == "retryable" and ex.attempts < storage.settings.eval_max_attempts:
        seconds = backoff_s(storage.settings.eval_retry_base_seconds, ex.attempts)
        ex.execution_trace_id = trace_id
        outcome = await _delay(storage, ex, seconds, f"{message} (attempt {ex.attempts}, retrying)")
        return JudgeOutcome(outcome.status, outcome.retry_in_s, events)
    if error.kind == "auth":
        reason = f"bad credentials: {error.message}"
        await evaluators.pause(storage, project_id, evaluator.id, reason, "authentication_failed")
    elif error.kind == "model":
        reason = f"unknown model: {error.message}"
        await evaluators.pause(storage, project_id, evaluator.id, reason, "unknown_model")
    ex = await _end(storage, ex, "ERROR", message, execution_trace_id=trace_id)
    return JudgeOutcome(ex.status, trace_events=events)


async def fail_execution(storage: Storage, project_id: str, execution_id: str, reason: str) -> None:
    """End an execution in ERROR for a failure of our own (its job gave up), unless it already ended."""
    ex = await repo.fetch_execution(storage.postgres, project_id, execution_id)
    if ex is not None and ex.status not in TERMINAL:
        await _end(storage, ex, "ERROR", reason)

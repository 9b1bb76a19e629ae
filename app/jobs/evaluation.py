"""LLM-as-a-judge jobs: run one execution (EVAL_JUDGE), re-enqueue it when it must wait, ingest the
judge's own trace; and the ingestion writer's after-write hook that matches rules and enqueues."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from arq import Retry

from app.evaluation import judging, matching
from app.jobs.contracts import JobQueue, enqueue_judge
from app.storage import Storage
from app.storage.postgres import accounts, executions
from app.storage.postgres.eval_tables import JobExecution
from app.tracing.pipeline import fold_events

log = logging.getLogger(__name__)
MAX_TRIES = 3  # a failure of ours (a store outage): retried, then the execution ends in ERROR
SWEEP_OVERDUE_S = 120.0
MAX_SWEPT, MAX_SWEPT_PROJECTS = 1000, 10_000
READ_WAIT_S = 0.02  # the judges' target lookups gathered this long: one read for many concurrent jobs


async def enqueue_executions(queue: JobQueue, executions: list[JobExecution]) -> None:
    """Enqueue each execution to run at its `scheduled_for` (a rule's delay, a session's idle time)."""
    now = datetime.now(UTC)

    async def one(ex: JobExecution) -> None:
        due = ex.scheduled_for if ex.scheduled_for.tzinfo else ex.scheduled_for.replace(tzinfo=UTC)
        defer = max((due - now).total_seconds(), 0.0)
        await enqueue_judge(queue, ex.project_id, ex.id, defer_s=defer or None)

    await asyncio.gather(*(one(ex) for ex in executions))


async def judge(ctx: dict[str, Any], payload: dict[str, Any]) -> dict[str, Any]:
    """Run one job execution; its trace goes through ingestion; a wait re-enqueues it."""
    storage: Storage = ctx["storage"]
    queue: JobQueue = ctx["queue"]
    project_id, execution_id = str(payload["project_id"]), str(payload["execution_id"])
    try:
        writer = ctx["writer"]
        targets = writer.gathering("judge-targets", partial(judging.read_observations, storage), READ_WAIT_S)
        outcome = await judging.run_execution(
            storage, project_id, execution_id, writer.write_scores, targets.submit
        )
    except Exception as exc:
        attempt = int(ctx.get("job_try", 1))
        if attempt < MAX_TRIES:
            log.warning("judge %s failed (try %d), retrying: %r", execution_id, attempt, exc)
            raise Retry(defer=2**attempt) from exc
        log.error("judge %s failed %d times", execution_id, attempt, exc_info=exc)
        await judging.fail_execution(storage, project_id, execution_id, f"internal error: {exc!r}"[:500])
        raise
    if outcome.trace_events:
        # Folded in this process with the other jobs' (no stored request, no ingestion job): the judge's
        # trace is written before the job ends; a retry folds the same events again, changing nothing.
        try:
            written = await fold_events(storage, ctx["writer"], project_id, outcome.trace_events)
        except Exception:  # the judgment and its scores are stored; only its own trace is missing
            log.exception("judge %s: its trace could not be stored", execution_id)
        else:
            if written.refused:
                log.error("judge %s: trace rows refused: %s", execution_id, written.refused)
    if outcome.retry_in_s is not None:
        await enqueue_judge(queue, project_id, execution_id, defer_s=outcome.retry_in_s, again=True)
    return {"status": outcome.status, "retry_in_s": outcome.retry_in_s}


async def sweep(ctx: dict[str, Any], *, overdue_s: float = SWEEP_OVERDUE_S) -> dict[str, int]:
    """Enqueue again executions long past due but still PENDING or DELAYED: their job was lost (a Redis
    restart without persistence, a crash between creating and enqueueing). The first-run job id keeps
    one that is merely queued from being enqueued twice; a run of a finished execution does nothing."""
    storage: Storage = ctx["storage"]
    before = datetime.now(UTC) - timedelta(seconds=overdue_s)
    found = 0
    for project in await accounts.list_projects(storage.postgres, MAX_SWEPT_PROJECTS):
        overdue = await executions.list_overdue(storage.postgres, project.id, before, MAX_SWEPT)
        for ex in overdue:
            found += await enqueue_judge(ctx["queue"], project.id, ex.id) is not None
    if found:
        log.warning("judge sweep re-enqueued %d overdue executions", found)
    return {"enqueued": found}


def written_hook(ctx: dict[str, Any]) -> Callable[[str, list[bytes]], Awaitable[None]]:
    """The writer's after-write hook: match the written rows against rules, enqueue what they create."""

    async def on_written(project_id: str, lines: list[bytes]) -> None:
        created = await matching.match_written(ctx["storage"], project_id, lines)
        if created:
            await enqueue_executions(ctx["queue"], created)

    return on_written

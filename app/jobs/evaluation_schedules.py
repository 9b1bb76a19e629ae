"""Scheduled and backfill evaluation jobs: run one schedule (`eval.run_schedule`), enqueueing each page's
executions as judge jobs at once, and the every-minute cron that starts the daily schedules now due."""

from __future__ import annotations

import logging
from typing import Any

from app.evaluation import schedules
from app.jobs.contracts import EVAL_SCHEDULE, JobQueue
from app.jobs.evaluation import enqueue_executions
from app.storage import Storage
from app.storage.postgres.eval_tables import JobExecution
from app.storage.postgres.tables import utcnow

log = logging.getLogger(__name__)


async def run_schedule(ctx: dict[str, Any], payload: dict[str, Any]) -> dict[str, int]:
    """Run one backfill or one day of a daily schedule; its executions are judged without delay."""
    storage: Storage = ctx["storage"]
    queue: JobQueue = ctx["queue"]

    async def enqueue(created: list[JobExecution]) -> None:
        await enqueue_executions(queue, created)

    created = await schedules.run_schedule(
        storage, str(payload["project_id"]), str(payload["schedule_id"]), enqueue
    )
    return {"created": len(created)}


async def start_due_schedules(ctx: dict[str, Any]) -> int:
    """Enqueue every daily schedule due now (and any backfill whose start was lost); the job id names the
    due time, so a run still going when the cron ticks again is not started twice."""
    storage: Storage = ctx["storage"]
    queue: JobQueue = ctx["queue"]
    due = await schedules.due_schedules(storage, utcnow())
    for s in due:
        payload = {"project_id": s.project_id, "schedule_id": s.id}
        await queue.enqueue(EVAL_SCHEDULE, payload, job_id=schedules.run_job_id(s))
    if due:  # the cron runs every minute: it speaks only when it starts something
        log.info("started %d due evaluation schedules", len(due))
    return len(due)

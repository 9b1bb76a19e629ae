"""Scheduled and backfill evaluations: a rule run over stored observations, once over a time range or every
day at HH:MM UTC on a sample of the last 24 hours, with its progress kept on the schedule row.

A run pages over the project's stored observations (keyset, bounded pages), applies the rule's compiled
filter to each row exactly as matching at ingestion does, and creates job executions carrying the schedule's
id. A target a rule has judged already is skipped (`executions.create_pending`), so reruns never judge
twice. The caller (the jobs layer) enqueues what is created, page by page, through `on_created`.
"""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import orjson

from app.errors import Conflict, InvalidInput, NotFound
from app.evaluation.judge_types import JUDGE_ENVIRONMENT
from app.evaluation.rule_filters import compile_filters, experiment, is_experiment_item_root, sampled
from app.storage import Storage
from app.storage.clickhouse.queries.common import LOOKUP_WINDOW, TimeRange, check_time
from app.storage.clickhouse.queries.eval_targets import ScanCursor, scan_observations
from app.storage.clickhouse.queries.observations import ObservationListRequest, count_observations
from app.storage.postgres import evaluation_rules as rules_repo
from app.storage.postgres import evaluation_schedules as repo
from app.storage.postgres import executions
from app.storage.postgres.eval_tables import (
    EvaluationRule,
    EvaluationSchedule,
    JobExecution,
)
from app.storage.postgres.tables import utcnow

log = logging.getLogger(__name__)
MAX_RANGE = LOOKUP_WINDOW  # a backfill reads at most 90 days
MAX_SAMPLE = 10_000
DAILY_WINDOW = timedelta(hours=24)
PAGE_ROWS = 500
STALE_PENDING = timedelta(minutes=2)  # a backfill pending this long lost its job: the cron starts it
_HH_MM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
OnCreated = Callable[[list[JobExecution]], Awaitable[None]]
Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class ScheduleRequest:
    """A backfill (`range`: from/to, an optional cap on targets) or a daily run (HH:MM UTC, N targets)."""

    kind: Literal["range", "daily"]
    range_from: datetime | None = None
    range_to: datetime | None = None
    time_of_day: str | None = None
    sample_size: int | None = None


def next_daily_run(time_of_day: str, after: datetime) -> datetime:
    """The first HH:MM (UTC) strictly after `after`."""
    match = _HH_MM.match(time_of_day)
    if match is None:
        raise InvalidInput("timeOfDay: expected HH:MM (UTC), e.g. 02:30")
    at = after.astimezone(UTC).replace(
        hour=int(match.group(1)), minute=int(match.group(2)), second=0, microsecond=0
    )
    return at if at > after else at + timedelta(days=1)


def _sample_size(value: int | None, required: bool) -> int | None:
    if value is None:
        if required:
            raise InvalidInput("sampleSize: required for a daily schedule (1..10000)")
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_SAMPLE:
        raise InvalidInput(f"sampleSize: an integer from 1 to {MAX_SAMPLE}")
    return value


def validate_request(req: ScheduleRequest, now: datetime) -> EvaluationSchedule:
    """The schedule row a request describes (project and rule unset); InvalidInput naming the field."""
    if req.kind == "range":
        if req.range_from is None or req.range_to is None:
            raise InvalidInput("from: a backfill needs 'from' and 'to'")
        start, end = check_time(req.range_from, "from"), check_time(req.range_to, "to")
        if start >= end:
            raise InvalidInput("from: must be before 'to'")
        if end - start > MAX_RANGE:
            raise InvalidInput(f"to: a backfill covers at most {MAX_RANGE.days} days")
        size = _sample_size(req.sample_size, required=False)
        return EvaluationSchedule(
            project_id="", rule_id="", kind="range", range_from=start, range_to=end, sample_size=size
        )
    if req.kind == "daily":
        if req.time_of_day is None:
            raise InvalidInput("timeOfDay: required for a daily schedule (HH:MM, UTC)")
        next_run = next_daily_run(req.time_of_day, now)
        size = _sample_size(req.sample_size, required=True)
        return EvaluationSchedule(
            project_id="",
            rule_id="",
            kind="daily",
            time_of_day=req.time_of_day,
            sample_size=size,
            status="active",
            next_run_at=next_run,
        )
    raise InvalidInput("kind: one of range, daily")


async def create_schedule(
    storage: Storage, project_id: str, rule_id: str, req: ScheduleRequest
) -> EvaluationSchedule:
    """Store a backfill (status pending: the caller enqueues its run) or a daily schedule (status active)."""
    schedule = validate_request(req, utcnow())
    if await rules_repo.fetch_rule(storage.postgres, project_id, rule_id) is None:
        raise NotFound(f"evaluation rule {rule_id} not found")
    schedule.project_id, schedule.rule_id = project_id, rule_id
    return await repo.create_schedule(storage.postgres, schedule)


async def list_schedules(storage: Storage, project_id: str, rule_id: str) -> list[EvaluationSchedule]:
    if await rules_repo.fetch_rule(storage.postgres, project_id, rule_id) is None:
        raise NotFound(f"evaluation rule {rule_id} not found")
    return await repo.list_schedules(storage.postgres, project_id, rule_id)


async def get_schedule(storage: Storage, project_id: str, schedule_id: str) -> EvaluationSchedule:
    schedule = await repo.fetch_schedule(storage.postgres, project_id, schedule_id)
    if schedule is None:
        raise NotFound(f"evaluation schedule {schedule_id} not found")
    return schedule


async def cancel_schedule(storage: Storage, project_id: str, schedule_id: str) -> EvaluationSchedule:
    """Stop a backfill (between pages) or a daily schedule; executions already created still run."""
    schedule = await get_schedule(storage, project_id, schedule_id)
    if schedule.status in ("done", "cancelled", "error"):
        raise Conflict(f"evaluation schedule {schedule_id} is {schedule.status}")
    await repo.update_schedule(
        storage.postgres, project_id, schedule_id, {"status": "cancelled", "next_run_at": None}
    )
    return await get_schedule(storage, project_id, schedule_id)


def run_job_id(schedule: EvaluationSchedule) -> str:
    """The job id of a schedule's run: once per backfill, once per due time of a daily schedule."""
    if schedule.kind == "daily" and schedule.next_run_at is not None:
        return f"eval-schedule:{schedule.id}:{schedule.next_run_at.isoformat()}"
    return f"eval-schedule:{schedule.id}:range"


async def due_schedules(storage: Storage, now: datetime) -> list[EvaluationSchedule]:
    """Every daily schedule due at `now` and every backfill whose start was lost (all projects: the cron)."""
    return await repo.due_schedules(storage.postgres, now, now - STALE_PENDING)


def _target_key(target: str, row: Row) -> str | None:
    if target == "observation":
        return f"{row['trace_id']}/{row['id']}"
    if target == "trace":
        return str(row["trace_id"])
    return str(row["session_id"]) if row.get("session_id") else None  # session


def _executions(
    rule: EvaluationRule, versions: dict[str, str], schedule_id: str, key: str, row: Row
) -> list[JobExecution]:
    """One execution per assigned, active evaluator for the target this row stands for."""
    target = rule.target
    item_id = (
        experiment(row).get("item.id") if target == "observation" and is_experiment_item_root(row) else None
    )
    started = datetime.fromisoformat(str(row["start_time"]).replace("Z", "+00:00"))
    return [
        JobExecution(
            project_id=rule.project_id,
            rule_id=rule.id,
            evaluator_id=evaluator_id,
            evaluator_version_id=version_id,
            schedule_id=schedule_id,
            target_kind=target,
            target_key=key,
            target_trace_id=None if target == "session" else str(row["trace_id"]),
            target_observation_id=str(row["id"]) if target == "observation" else None,
            target_session_id=row.get("session_id"),
            target_dataset_item_id=None if item_id is None else str(item_id),
            target_time=started,
        )
        for a in rule.evaluator_assignments
        if (version_id := versions.get(evaluator_id := str(a.get("evaluatorId")))) is not None
    ]


@dataclass(slots=True)
class _Run:
    """What one run walks: the rule, its evaluators' versions and filter, and its counters."""

    storage: Storage
    schedule: EvaluationSchedule
    rule: EvaluationRule
    versions: dict[str, str]
    on_created: OnCreated | None
    processed: int = 0
    enqueued: int = 0
    targets: int = 0

    async def create(self, batch: list[JobExecution]) -> list[JobExecution]:
        created = await executions.create_pending(self.storage.postgres, batch)
        self.enqueued += len(created)
        if created and self.on_created is not None:
            await self.on_created(created)
        return created

    async def progress(self, extra: dict[str, object] | None = None) -> bool:
        """Save the counters (and `extra`); False when the schedule was cancelled meanwhile (the run stops;
        the counters still show how far it got, the status stays cancelled)."""
        counters: dict[str, object] = {"processed": self.processed, "enqueued": self.enqueued}
        pg, s = self.storage.postgres, self.schedule
        if await repo.update_schedule(
            pg, s.project_id, s.id, {**counters, **(extra or {})}, unless="cancelled"
        ):
            return True
        await repo.update_schedule(pg, s.project_id, s.id, counters)
        return False

    async def pages(self, start: datetime, end: datetime) -> Any:
        """Yield (key, row) of each matching target in [start, end) not yet judged by every evaluator of
        the run, once per target (a sample or a cap then counts new targets only)."""
        matches = compile_filters(self.rule.filter)
        seen: set[str] = set()
        cursor: ScanCursor | None = None
        while True:
            page = await scan_observations(
                self.storage.clickhouse, self.schedule.project_id, start, end, cursor, PAGE_ROWS
            )
            found: list[tuple[str, Row]] = []
            for line in page.lines:
                self.processed += 1
                row: Row = orjson.loads(line)
                if row.get("environment") == JUDGE_ENVIRONMENT or not matches(row):
                    continue
                key = _target_key(self.rule.target, row)
                if key is None or key in seen:
                    continue
                if self.rule.target != "observation":
                    seen.add(key)
                found.append((key, row))
            if found:
                done = await repo.judged_target_keys(
                    self.storage.postgres,
                    self.schedule.project_id,
                    self.rule.id,
                    list(self.versions),
                    [key for key, _ in found],
                )
                found = [(key, row) for key, row in found if key not in done]
            yield found
            if page.next is None:
                return
            cursor = page.next


async def run_schedule(
    storage: Storage, project_id: str, schedule_id: str, on_created: OnCreated | None = None
) -> list[JobExecution]:
    """Run one backfill or one day of a daily schedule; returns the executions created (each also handed to
    `on_created` as its page is done). A cancelled, finished or unknown schedule does nothing."""
    schedule = await repo.fetch_schedule(storage.postgres, project_id, schedule_id)
    if schedule is None or schedule.status not in ("pending", "running", "active"):
        return []
    rule = await rules_repo.fetch_rule(storage.postgres, project_id, schedule.rule_id)
    if rule is None:
        await repo.update_schedule(
            storage.postgres, project_id, schedule_id, {"status": "error", "error": "rule gone"}
        )
        return []
    ids = [str(a.get("evaluatorId")) for a in rule.evaluator_assignments]
    heads = await rules_repo.evaluator_heads(storage.postgres, project_id, ids)
    versions = {h.evaluator_id: h.version_id for h in heads.values() if h.status == "active"}
    run = _Run(storage, schedule, rule, versions, on_created)
    try:
        if schedule.kind == "daily":
            return await _run_daily(run)
        return await _run_range(run)
    except Exception as exc:
        log.exception("evaluation schedule %s failed", schedule_id)
        await repo.update_schedule(
            storage.postgres,
            project_id,
            schedule_id,
            {"status": "error", "error": f"{type(exc).__name__}: {exc}"[:500]},
        )
        return []


async def _start(run: _Run, start: datetime, end: datetime, status: str) -> None:
    s = run.schedule
    total = await count_observations(
        run.storage.clickhouse, ObservationListRequest(s.project_id, TimeRange(start, end))
    )
    changes = {
        "status": status,
        "total": total,
        "processed": 0,
        "enqueued": 0,
        "error": None,
        "last_run_at": utcnow(),
    }
    await repo.update_schedule(run.storage.postgres, s.project_id, s.id, changes, unless="cancelled")


async def _run_range(run: _Run) -> list[JobExecution]:
    s = run.schedule
    assert s.range_from is not None and s.range_to is not None
    await _start(run, s.range_from, s.range_to, "running")
    created: list[JobExecution] = []
    cap = s.sample_size
    async for found in run.pages(s.range_from, s.range_to):
        batch: list[JobExecution] = []
        for key, row in found:
            if cap is not None and run.targets >= cap:
                break
            if sampled(key, run.rule.sampling):
                run.targets += 1
                batch += _executions(run.rule, run.versions, s.id, key, row)
        created += await run.create(batch)
        if not await run.progress() or (cap is not None and run.targets >= cap):
            break
    await run.progress({"status": "done"})
    return created


async def _run_daily(run: _Run) -> list[JobExecution]:
    """A reservoir sample of N matching targets of the last 24 h (seeded by schedule and day: reruns of a
    day pick the same targets)."""
    s = run.schedule
    now = utcnow()
    assert s.sample_size is not None and s.time_of_day is not None
    if not run.rule.enabled:  # a disabled rule judges nothing, on schedule or not: skip this day
        skipped = {"next_run_at": next_daily_run(s.time_of_day, now), "error": "skipped: rule disabled"}
        await repo.update_schedule(run.storage.postgres, s.project_id, s.id, skipped)
        return []
    await _start(run, now - DAILY_WINDOW, now, "running")
    rng = random.Random(f"{s.id}:{now.date().isoformat()}")  # noqa: S311 - sampling, not secrets
    reservoir: list[tuple[str, Row]] = []
    seen = 0
    async for found in run.pages(now - DAILY_WINDOW, now):
        for item in found:
            seen += 1
            if len(reservoir) < s.sample_size:
                reservoir.append(item)
            elif (slot := rng.randrange(seen)) < s.sample_size:
                reservoir[slot] = item
        if not await run.progress():
            return []
    created: list[JobExecution] = []
    for i in range(0, len(reservoir), PAGE_ROWS):
        batch = [
            e
            for key, row in reservoir[i : i + PAGE_ROWS]
            for e in _executions(run.rule, run.versions, s.id, key, row)
        ]
        created += await run.create(batch)
    await run.progress({"status": "active", "next_run_at": next_daily_run(s.time_of_day, now)})
    return created

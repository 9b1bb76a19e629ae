"""Scheduled and backfill evaluation runs: the type, inputs and payload."""

from __future__ import annotations

from datetime import datetime

import strawberry

from app.storage.postgres.eval_tables import EvaluationSchedule as ScheduleRow


@strawberry.type(description="An evaluation rule run over stored data: a backfill (range) or a daily run.")
class EvaluationSchedule:
    id: strawberry.ID = strawberry.field(description="Schedule id.")
    rule_id: str = strawberry.field(description="The rule it runs.")
    kind: str = strawberry.field(description="range (a backfill, once) or daily.")
    range_from: datetime | None = strawberry.field(description="Backfill: start of the range (UTC).")
    range_to: datetime | None = strawberry.field(description="Backfill: end of the range (UTC, exclusive).")
    time_of_day: str | None = strawberry.field(description="Daily: HH:MM (UTC).")
    sample_size: int | None = strawberry.field(
        description="Daily: targets per run; backfill: an optional cap."
    )
    status: str = strawberry.field(description="pending, running, done, error, active (daily) or cancelled.")
    total: int = strawberry.field(description="Observations in the range of the current or last run.")
    processed: int = strawberry.field(description="Observations looked at so far.")
    enqueued: int = strawberry.field(
        description="Judgments created so far (targets judged before are skipped)."
    )
    error: str | None = strawberry.field(description="Why the run failed.")
    last_run_at: datetime | None = strawberry.field(description="When the last run started (UTC).")
    next_run_at: datetime | None = strawberry.field(description="Daily: the next run (UTC).")
    created_at: datetime = strawberry.field(description="Created (UTC).")

    @classmethod
    def from_row(cls, s: ScheduleRow) -> EvaluationSchedule:
        return cls(
            id=strawberry.ID(s.id),
            rule_id=s.rule_id,
            kind=s.kind,
            range_from=s.range_from,
            range_to=s.range_to,
            time_of_day=s.time_of_day,
            sample_size=s.sample_size,
            status=s.status,
            total=s.total,
            processed=s.processed,
            enqueued=s.enqueued,
            error=s.error,
            last_run_at=s.last_run_at,
            next_run_at=s.next_run_at,
            created_at=s.created_at,
        )


@strawberry.input(
    description="A backfill over a time range, or a daily run on a sample of the last 24 hours."
)
class CreateEvaluationScheduleInput:
    rule_id: str = strawberry.field(description="The rule to run.")
    kind: str = strawberry.field(description="range or daily.")
    range_from: datetime | None = strawberry.field(default=None, description="range: start (UTC).")
    range_to: datetime | None = strawberry.field(
        default=None, description="range: end (UTC), at most 90 days on."
    )
    time_of_day: str | None = strawberry.field(default=None, description="daily: HH:MM (UTC).")
    sample_size: int | None = strawberry.field(
        default=None, description="daily: targets per run (1..10000, required); range: an optional cap."
    )


@strawberry.input(description="Stop a backfill or a daily schedule.")
class CancelEvaluationScheduleInput:
    id: str = strawberry.field(description="Schedule id.")


@strawberry.type(description="The schedule after the change.")
class EvaluationSchedulePayload:
    evaluation_schedule: EvaluationSchedule = strawberry.field(description="The schedule.")

"""Judge execution types: one judgment of a target by an evaluator, its status and outcome."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from app.graphql.types.pagination import PageInfo
from app.storage.postgres.eval_tables import JobExecution


@strawberry.enum(description="Where a judgment is: waiting, running, or how it ended.")
class EvaluationExecutionStatus(Enum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    ERROR = "ERROR"
    CANCELLED = "CANCELLED"
    DELAYED = "DELAYED"


@strawberry.type(description="One judgment of one target (observation, trace or session) by an evaluator.")
class EvaluationExecution:
    id: strawberry.ID = strawberry.field(description="Execution id.")
    rule_id: str | None = strawberry.field(description="The rule that created it (null: rule deleted).")
    evaluator_id: str = strawberry.field(description="The evaluator that judges.")
    evaluator_version_id: str = strawberry.field(description="The evaluator version used.")
    schedule_id: str | None = strawberry.field(description="The scheduled or backfill run, if any.")
    status: EvaluationExecutionStatus = strawberry.field(description="Current status.")
    target_kind: str = strawberry.field(description="observation, trace or session.")
    trace_id: str | None = strawberry.field(description="The judged trace (observation and trace targets).")
    observation_id: str | None = strawberry.field(description="The judged observation.")
    session_id: str | None = strawberry.field(description="The judged session (or the target's session).")
    attempts: int = strawberry.field(description="Calls made to the judge so far.")
    error: str | None = strawberry.field(description="Why it failed, was cancelled or is waiting.")
    raw_answer: str | None = strawberry.field(description="The judge's answer as received.")
    score_ids: list[str] = strawberry.field(description="Scores written (one per category matched).")
    execution_trace_id: str | None = strawberry.field(description="The judge call's own trace.")
    cost_usd: float | None = strawberry.field(description="What the judge call cost (USD), when priced.")
    scheduled_for: datetime = strawberry.field(description="When it runs (next), UTC.")
    started_at: datetime | None = strawberry.field(description="First call (UTC).")
    ended_at: datetime | None = strawberry.field(description="When it ended (UTC).")
    created_at: datetime = strawberry.field(description="When the rule matched (UTC).")

    @classmethod
    def from_row(cls, ex: JobExecution) -> EvaluationExecution:
        return cls(
            id=strawberry.ID(ex.id),
            rule_id=ex.rule_id,
            evaluator_id=ex.evaluator_id,
            evaluator_version_id=ex.evaluator_version_id,
            schedule_id=ex.schedule_id,
            status=EvaluationExecutionStatus(ex.status),
            target_kind=ex.target_kind,
            trace_id=ex.target_trace_id,
            observation_id=ex.target_observation_id,
            session_id=ex.target_session_id,
            attempts=ex.attempts,
            error=ex.error,
            raw_answer=ex.raw_answer,
            score_ids=list(ex.score_ids),
            execution_trace_id=ex.execution_trace_id,
            cost_usd=ex.cost_usd,
            scheduled_for=ex.scheduled_for,
            started_at=ex.started_at,
            ended_at=ex.ended_at,
            created_at=ex.created_at,
        )


@strawberry.type(description="An execution in a list, with its cursor.")
class EvaluationExecutionEdge:
    node: EvaluationExecution = strawberry.field(description="The execution.")
    cursor: str = strawberry.field(description="Pass as `after` to continue after it.")


@strawberry.type(description="A page of executions, newest first.")
class EvaluationExecutionConnection:
    edges: list[EvaluationExecutionEdge] = strawberry.field(description="Executions with cursors.")
    page_info: PageInfo = strawberry.field(description="Paging.")
    total_count: int | None = strawberry.field(description="Not counted (see evaluationExecutionCounts).")


@strawberry.input(description="Which executions; every field narrows the list.")
class EvaluationExecutionFilter:
    rule_id: str | None = strawberry.field(default=None, description="Of this rule.")
    evaluator_id: str | None = strawberry.field(default=None, description="Of this evaluator.")
    status: EvaluationExecutionStatus | None = strawberry.field(default=None, description="In this status.")


@strawberry.type(description="How many executions are in one status.")
class EvaluationExecutionCount:
    status: EvaluationExecutionStatus = strawberry.field(description="The status.")
    count: int = strawberry.field(description="Executions in it.")


@strawberry.input(description="Run a failed, cancelled or waiting execution again now.")
class RetryEvaluationExecutionInput:
    id: strawberry.ID = strawberry.field(description="The execution.")


@strawberry.type(description="The execution, back to PENDING and enqueued.")
class RetryEvaluationExecutionPayload:
    evaluation_execution: EvaluationExecution = strawberry.field(description="The execution.")

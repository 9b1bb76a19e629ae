"""Tables of LLM-as-a-judge (sqlmodel): evaluators and their versions, rules, job executions, scheduled
and backfill runs, and each project's evaluation settings. Alembic version 0011 creates them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, ForeignKey, Index, String, Text
from sqlmodel import Field, SQLModel

from app.storage.postgres.tables import _ts, new_id, utcnow


def _json(nullable: bool = True) -> Column[object]:
    return Column(JSON, nullable=nullable)


class Evaluator(SQLModel, table=True):
    """A judge: `llm_as_judge` (prompt + output definition) or `code`. Paused with a reason when its
    connection or model fails in a way a retry cannot fix (bad key, unknown model)."""

    __tablename__ = "evaluators"
    __table_args__ = (Index("ix_evaluators_created", "project_id", "created_at"),)  # names repeat (SDK)
    id: str = Field(default_factory=new_id, primary_key=True)
    project_id: str = Field(foreign_key="projects.id", ondelete="CASCADE")
    name: str = Field(sa_column=Column(String(255), nullable=False))
    description: str | None = None
    type: str  # llm_as_judge | code
    status: str = "active"  # active | paused
    pause_reason: str | None = None
    paused_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class EvaluatorVersion(SQLModel, table=True):
    """One version of an evaluator: a change of prompt, model or output makes a new one; rules use the
    newest."""

    __tablename__ = "evaluator_versions"
    __table_args__ = (Index("uq_evaluator_versions", "evaluator_id", "version", unique=True),)
    id: str = Field(default_factory=new_id, primary_key=True)
    project_id: str = Field(foreign_key="projects.id", ondelete="CASCADE")
    evaluator_id: str = Field(
        sa_column=Column(String(), ForeignKey("evaluators.id", ondelete="CASCADE"), nullable=False)
    )
    version: int
    prompt: object = Field(default=None, sa_column=_json())  # [{role, content}]
    variables: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    variable_mapping: object = Field(default=None, sa_column=_json())  # [{variable, source, jsonPath}]
    judge_model: object = Field(default=None, sa_column=_json())  # {provider, model, modelParams}
    output_definition: object = Field(default=None, sa_column=_json())
    source_code: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    source_code_language: str | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class EvaluationRule(SQLModel, table=True):
    """When to judge: a target (observation, trace, session), filters, sampling, a delay, and the
    evaluators assigned with their variable mappings."""

    __tablename__ = "evaluation_rules"
    __table_args__ = (Index("ix_evaluation_rules_created", "project_id", "created_at"),)  # names repeat (SDK)
    id: str = Field(default_factory=new_id, primary_key=True)
    project_id: str = Field(foreign_key="projects.id", ondelete="CASCADE")
    name: str = Field(sa_column=Column(String(255), nullable=False))
    enabled: bool = True
    target: str = "observation"  # observation | trace | session
    filter: list[dict[str, object]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    sampling: float = 1.0
    delay_seconds: float = 10.0
    session_idle_minutes: float | None = None  # target session: judged once idle this long
    evaluator_assignments: list[dict[str, object]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )  # [{evaluatorId, variableMapping: [{variable, source, jsonPath?}] | null}]
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class JobExecution(SQLModel, table=True):
    """One judgment of one target by one evaluator: PENDING → RUNNING → COMPLETED | ERROR | CANCELLED,
    or DELAYED (waiting to retry). `target_key` makes a rule judge a target once (replays, backfills)."""

    __tablename__ = "job_executions"
    __table_args__ = (
        Index("uq_job_executions_target", "project_id", "rule_id", "evaluator_id", "target_key", unique=True),
        Index("ix_job_executions_status", "project_id", "status", "created_at"),
        Index("ix_job_executions_rule", "project_id", "rule_id", "created_at"),
        Index("ix_job_executions_ended", "project_id", "ended_at"),
    )
    id: str = Field(default_factory=new_id, primary_key=True)
    project_id: str = Field(foreign_key="projects.id", ondelete="CASCADE")
    rule_id: str | None = Field(
        default=None,
        sa_column=Column(String(), ForeignKey("evaluation_rules.id", ondelete="SET NULL"), nullable=True),
    )
    evaluator_id: str = Field(
        sa_column=Column(String(), ForeignKey("evaluators.id", ondelete="CASCADE"), nullable=False)
    )
    evaluator_version_id: str
    schedule_id: str | None = None  # the scheduled or backfill run that made it
    status: str = "PENDING"  # PENDING | RUNNING | COMPLETED | ERROR | CANCELLED | DELAYED
    target_kind: str  # observation | trace | session
    target_key: str  # the target's id (observation: "<trace_id>/<observation_id>")
    target_trace_id: str | None = None
    target_observation_id: str | None = None
    target_session_id: str | None = None
    target_dataset_item_id: str | None = None
    target_time: datetime | None = Field(default=None, sa_column=_ts(nullable=True))  # the target's start
    attempts: int = 0
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    raw_answer: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    score_ids: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    execution_trace_id: str | None = None
    cost_usd: float | None = None
    scheduled_for: datetime = Field(default_factory=utcnow, sa_column=_ts())
    started_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    ended_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class EvaluationSchedule(SQLModel, table=True):
    """A rule run over stored data: once over a time range (`range`), or every day at HH:MM UTC on a
    sample of the last 24 h (`daily`), with its progress."""

    __tablename__ = "evaluation_schedules"
    __table_args__ = (Index("ix_evaluation_schedules_rule", "project_id", "rule_id"),)
    id: str = Field(default_factory=new_id, primary_key=True)
    project_id: str = Field(foreign_key="projects.id", ondelete="CASCADE")
    rule_id: str = Field(
        sa_column=Column(String(), ForeignKey("evaluation_rules.id", ondelete="CASCADE"), nullable=False)
    )
    kind: str  # range | daily
    range_from: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    range_to: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    time_of_day: str | None = None  # HH:MM (UTC), daily
    sample_size: int | None = None
    status: str = "pending"  # pending | running | done | error | active (daily, waiting) | cancelled
    total: int = 0  # targets found
    processed: int = 0  # targets looked at
    enqueued: int = 0  # executions created
    error: str | None = None
    last_run_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    next_run_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class EvaluationSettings(SQLModel, table=True):
    """A project's evaluation defaults: the model judges use when theirs is unset, a daily cost cap,
    and whether code evaluators may run."""

    __tablename__ = "evaluation_settings"
    project_id: str = Field(foreign_key="projects.id", ondelete="CASCADE", primary_key=True)
    default_connection_id: str | None = Field(
        default=None,
        sa_column=Column(String(), ForeignKey("llm_connections.id", ondelete="SET NULL"), nullable=True),
    )
    default_model: str | None = None
    daily_cost_cap_usd: float | None = None
    code_evaluators_enabled: bool = False
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_ts())

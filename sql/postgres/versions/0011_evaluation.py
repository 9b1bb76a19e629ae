"""LLM-as-a-judge: evaluators and versions, rules, job executions, schedules, evaluation settings.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def _project() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        "project_id", sa.String(), sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False
    )


def _ts(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _ref(name: str, table: str, ondelete: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.String(), sa.ForeignKey(f"{table}.id", ondelete=ondelete), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "evaluators",
        sa.Column("id", sa.String(), primary_key=True),
        _project(),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("description", sa.String(), nullable=True),
        sa.Column("type", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("pause_reason", sa.String(), nullable=True),
        _ts("paused_at", nullable=True),
        _ts("created_at"),
        _ts("updated_at"),
    )
    op.create_index("ix_evaluators_created", "evaluators", ["project_id", "created_at"])
    op.create_table(
        "evaluator_versions",
        sa.Column("id", sa.String(), primary_key=True),
        _project(),
        _ref("evaluator_id", "evaluators", "CASCADE"),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("prompt", sa.JSON(), nullable=True),
        sa.Column("variables", sa.JSON(), nullable=False),
        sa.Column("variable_mapping", sa.JSON(), nullable=True),
        sa.Column("judge_model", sa.JSON(), nullable=True),
        sa.Column("output_definition", sa.JSON(), nullable=True),
        sa.Column("source_code", sa.Text(), nullable=True),
        sa.Column("source_code_language", sa.String(), nullable=True),
        _ts("created_at"),
    )
    op.create_index("uq_evaluator_versions", "evaluator_versions", ["evaluator_id", "version"], unique=True)
    op.create_table(
        "evaluation_rules",
        sa.Column("id", sa.String(), primary_key=True),
        _project(),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("target", sa.String(), nullable=False),
        sa.Column("filter", sa.JSON(), nullable=False),
        sa.Column("sampling", sa.Float(), nullable=False),
        sa.Column("delay_seconds", sa.Float(), nullable=False),
        sa.Column("session_idle_minutes", sa.Float(), nullable=True),
        sa.Column("evaluator_assignments", sa.JSON(), nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
    )
    op.create_index("ix_evaluation_rules_created", "evaluation_rules", ["project_id", "created_at"])
    op.create_table(
        "job_executions",
        sa.Column("id", sa.String(), primary_key=True),
        _project(),
        _ref("rule_id", "evaluation_rules", "SET NULL", nullable=True),
        _ref("evaluator_id", "evaluators", "CASCADE"),
        sa.Column("evaluator_version_id", sa.String(), nullable=False),
        sa.Column("schedule_id", sa.String(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("target_kind", sa.String(), nullable=False),
        sa.Column("target_key", sa.String(), nullable=False),
        sa.Column("target_trace_id", sa.String(), nullable=True),
        sa.Column("target_observation_id", sa.String(), nullable=True),
        sa.Column("target_session_id", sa.String(), nullable=True),
        sa.Column("target_dataset_item_id", sa.String(), nullable=True),
        _ts("target_time", nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("raw_answer", sa.Text(), nullable=True),
        sa.Column("score_ids", sa.JSON(), nullable=False),
        sa.Column("execution_trace_id", sa.String(), nullable=True),
        sa.Column("cost_usd", sa.Float(), nullable=True),
        _ts("scheduled_for"),
        _ts("started_at", nullable=True),
        _ts("ended_at", nullable=True),
        _ts("created_at"),
        _ts("updated_at"),
        sa.CheckConstraint(
            "status IN ('PENDING', 'RUNNING', 'COMPLETED', 'ERROR', 'CANCELLED', 'DELAYED')",
            name="ck_job_executions_status",
        ),
    )
    # A rule judges a target once per evaluator: replays and backfills find the execution already there.
    op.create_index(
        "uq_job_executions_target",
        "job_executions",
        ["project_id", "rule_id", "evaluator_id", "target_key"],
        unique=True,
    )
    op.create_index("ix_job_executions_status", "job_executions", ["project_id", "status", "created_at"])
    op.create_index("ix_job_executions_rule", "job_executions", ["project_id", "rule_id", "created_at"])
    op.create_index("ix_job_executions_ended", "job_executions", ["project_id", "ended_at"])
    op.create_table(
        "evaluation_schedules",
        sa.Column("id", sa.String(), primary_key=True),
        _project(),
        _ref("rule_id", "evaluation_rules", "CASCADE"),
        sa.Column("kind", sa.String(), nullable=False),
        _ts("range_from", nullable=True),
        _ts("range_to", nullable=True),
        sa.Column("time_of_day", sa.String(), nullable=True),
        sa.Column("sample_size", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("processed", sa.Integer(), nullable=False),
        sa.Column("enqueued", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(), nullable=True),
        _ts("last_run_at", nullable=True),
        _ts("next_run_at", nullable=True),
        _ts("created_at"),
        _ts("updated_at"),
    )
    op.create_index("ix_evaluation_schedules_rule", "evaluation_schedules", ["project_id", "rule_id"])
    op.create_table(
        "evaluation_settings",
        sa.Column(
            "project_id", sa.String(), sa.ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
        ),
        _ref("default_connection_id", "llm_connections", "SET NULL", nullable=True),
        sa.Column("default_model", sa.String(), nullable=True),
        sa.Column("daily_cost_cap_usd", sa.Float(), nullable=True),
        sa.Column("code_evaluators_enabled", sa.Boolean(), nullable=False),
        _ts("updated_at"),
    )


def downgrade() -> None:
    raise NotImplementedError("migrations are forward-only")

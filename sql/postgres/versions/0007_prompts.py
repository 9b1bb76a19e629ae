"""Prompts: versions, dependencies between prompts, protected labels.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _project() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        "project_id", sa.String(), sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "prompts",
        sa.Column("id", sa.String(), primary_key=True),
        _project(),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(), nullable=False),
        sa.Column("prompt", sa.JSON(), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("labels", ARRAY(sa.String()), nullable=False),
        sa.Column("tags", ARRAY(sa.String()), nullable=False),
        sa.Column("commit_message", sa.String(), nullable=True),
        sa.Column("created_by", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("type IN ('text', 'chat')", name="ck_prompts_type"),
        sa.CheckConstraint("version >= 1", name="ck_prompts_version"),
    )
    # Two concurrent creates of one name can never store the same version.
    op.create_index("uq_prompts_version", "prompts", ["project_id", "name", "version"], unique=True)
    op.create_index("ix_prompts_updated", "prompts", ["project_id", "updated_at"])
    op.create_table(
        "prompt_dependencies",
        sa.Column("id", sa.String(), primary_key=True),
        _project(),
        sa.Column("parent_id", sa.String(), sa.ForeignKey("prompts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("child_name", sa.String(255), nullable=False),
        sa.Column("child_version", sa.Integer(), nullable=True),
        sa.Column("child_label", sa.String(), nullable=True),
        sa.CheckConstraint(
            "(child_version IS NULL) <> (child_label IS NULL)", name="ck_prompt_dependencies_ref"
        ),
    )
    op.create_index("ix_prompt_dependencies_parent_id", "prompt_dependencies", ["parent_id"])
    op.create_index("ix_prompt_dependencies_child", "prompt_dependencies", ["project_id", "child_name"])
    op.create_table(
        "prompt_protected_labels",
        sa.Column(
            "project_id",
            sa.String(),
            sa.ForeignKey("projects.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("label", sa.String(), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    raise NotImplementedError("migrations are forward-only")

"""Human annotation: annotation queues, their items (trace, observation or session) and assignments.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def _project() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        "project_id", sa.String(), sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False
    )


def _ts(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _queue(primary_key: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        "queue_id",
        sa.String(),
        sa.ForeignKey("annotation_queues.id", ondelete="CASCADE"),
        nullable=False,
        primary_key=primary_key,
    )


def upgrade() -> None:
    op.create_table(
        "annotation_queues",
        sa.Column("id", sa.String(), primary_key=True),
        _project(),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("description", sa.String(), nullable=True),
        sa.Column("score_config_ids", ARRAY(sa.String()), nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
    )
    op.create_index("uq_annotation_queues_name", "annotation_queues", ["project_id", "name"], unique=True)
    op.create_index("ix_annotation_queues_created", "annotation_queues", ["project_id", "created_at"])
    op.create_table(
        "annotation_queue_items",
        sa.Column("id", sa.String(), primary_key=True),
        _project(),
        _queue(),
        sa.Column("object_type", sa.String(), nullable=False),
        sa.Column("object_id", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        _ts("completed_at", nullable=True),
        sa.Column("completed_by_user_id", sa.String(), nullable=True),
        sa.Column("assigned_user_id", sa.String(), nullable=True),
        sa.Column("locked_by_user_id", sa.String(), nullable=True),
        _ts("locked_until", nullable=True),
        _ts("created_at"),
        _ts("updated_at"),
        sa.CheckConstraint(
            "object_type IN ('TRACE', 'OBSERVATION', 'SESSION')", name="ck_annotation_queue_items_type"
        ),
        sa.CheckConstraint("status IN ('PENDING', 'COMPLETED')", name="ck_annotation_queue_items_status"),
    )
    # An object is in a queue once: adding it again finds the item already there.
    op.create_index(
        "uq_annotation_queue_items_object",
        "annotation_queue_items",
        ["project_id", "queue_id", "object_type", "object_id"],
        unique=True,
    )
    op.create_index(
        "ix_annotation_queue_items_list",
        "annotation_queue_items",
        ["project_id", "queue_id", sa.text("created_at DESC"), "id"],
    )
    op.create_index(
        "ix_annotation_queue_items_status",
        "annotation_queue_items",
        ["project_id", "queue_id", "status", "created_at"],
    )
    op.create_index("ix_annotation_queue_items_object", "annotation_queue_items", ["project_id", "object_id"])
    op.create_table(
        "annotation_queue_assignments",
        _queue(primary_key=True),
        sa.Column(
            "user_id",
            sa.String(),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            nullable=False,
            primary_key=True,
        ),
        _project(),
        _ts("created_at"),
    )
    op.create_index(
        "ix_annotation_queue_assignments_user", "annotation_queue_assignments", ["project_id", "user_id"]
    )


def downgrade() -> None:
    raise NotImplementedError("migrations are forward-only")

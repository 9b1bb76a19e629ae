"""Trace flags (bookmarks, public sharing) and comments.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _project() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        "project_id", sa.String(), sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "trace_flags",
        sa.Column(
            "project_id", sa.String(), sa.ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("trace_id", sa.String(), primary_key=True),
        sa.Column("bookmarked", sa.Boolean(), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_trace_flags_bookmarked", "trace_flags", ["project_id", "bookmarked"])
    op.create_table(
        "comments",
        sa.Column("id", sa.String(), primary_key=True),
        _project(),
        sa.Column("object_type", sa.String(), nullable=False),
        sa.Column("object_id", sa.String(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("author_user_id", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_comments_object", "comments", ["project_id", "object_type", "object_id", "created_at"]
    )


def downgrade() -> None:
    raise NotImplementedError("migrations are forward-only")

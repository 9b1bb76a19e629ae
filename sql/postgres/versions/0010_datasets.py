"""Datasets and their versioned items (a row per version; valid_to null = current; tombstones on delete).

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

CURRENT = sa.text("valid_to IS NULL")
LIVE = sa.text("valid_to IS NULL AND NOT is_deleted")


def _project() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        "project_id", sa.String(), sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False
    )


def _ts(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "datasets",
        sa.Column("id", sa.String(), primary_key=True),
        _project(),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("description", sa.String(), nullable=True),
        sa.Column("metadata", sa.JSON(), nullable=True),
        sa.Column("input_schema", sa.JSON(), nullable=True),
        sa.Column("expected_output_schema", sa.JSON(), nullable=True),
        _ts("created_at"),
        _ts("updated_at"),
    )
    op.create_index("uq_datasets_name", "datasets", ["project_id", "name"], unique=True)
    op.create_index("ix_datasets_created", "datasets", ["project_id", "created_at"])
    op.create_table(
        "dataset_items",
        sa.Column("row_id", sa.String(), primary_key=True),
        _project(),
        sa.Column("item_id", sa.String(255, collation="C"), nullable=False),  # ids sort bytewise: fast
        sa.Column(
            "dataset_id", sa.String(), sa.ForeignKey("datasets.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("input", sa.JSON(), nullable=True),
        sa.Column("expected_output", sa.JSON(), nullable=True),
        sa.Column("metadata", sa.JSON(), nullable=True),
        sa.Column("source_trace_id", sa.String(), nullable=True),
        sa.Column("source_observation_id", sa.String(), nullable=True),
        _ts("valid_from"),
        _ts("valid_to", nullable=True),
        sa.Column("is_deleted", sa.Boolean(), nullable=False),
        _ts("created_at"),
        sa.CheckConstraint("status IN ('ACTIVE', 'ARCHIVED')", name="ck_dataset_items_status"),
    )
    # At most one current version per item id in a project: a concurrent clash fails here (409).
    op.create_index(
        "uq_dataset_items_current",
        "dataset_items",
        ["project_id", "item_id"],
        unique=True,
        postgresql_where=CURRENT,
    )
    # A dataset's current items in list order (newest first); with status and row_id included, a page
    # is found and the items are counted from the index alone (index-only scans, once vacuumed).
    op.create_index(
        "ix_dataset_items_current_order",
        "dataset_items",
        ["project_id", "dataset_id", sa.text("created_at DESC"), "item_id"],
        postgresql_include=["status", "row_id"],
        postgresql_where=LIVE,
    )
    # An item's versions (by id).
    op.create_index("ix_dataset_items_history", "dataset_items", ["project_id", "item_id", "valid_from"])
    # A dataset's items as of an instant, in list order: every version, with what the as-of test reads.
    op.create_index(
        "ix_dataset_items_as_of",
        "dataset_items",
        ["project_id", "dataset_id", sa.text("created_at DESC"), "item_id"],
        postgresql_include=["valid_from", "valid_to", "status", "is_deleted", "row_id"],
    )


def downgrade() -> None:
    raise NotImplementedError("migrations are forward-only")

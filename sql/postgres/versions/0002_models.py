"""Project model definitions and prices.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "models",
        sa.Column("id", sa.String(), primary_key=True),
        sa.Column(
            "project_id", sa.String(), sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("model_name", sa.String(255), nullable=False),
        sa.Column("match_pattern", sa.String(), nullable=False),
        sa.Column("start_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column("unit", sa.String(), nullable=False),
        sa.Column("prices", sa.JSON(), nullable=False),
        sa.Column("tokenizer_id", sa.String(), nullable=True),
        sa.Column("tokenizer_config", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_models_project_name", "models", ["project_id", "model_name"])


def downgrade() -> None:
    raise NotImplementedError("migrations are forward-only")

"""LLM connections keep extra HTTP headers for their provider calls: the values encrypted, the names in
clear for display.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("llm_connections", sa.Column("extra_headers_encrypted", sa.String(), nullable=True))
    op.add_column(
        "llm_connections",
        sa.Column("extra_header_keys", sa.JSON(), nullable=False, server_default=sa.text("'[]'::json")),
    )


def downgrade() -> None:
    raise NotImplementedError("migrations are forward-only")

"""Alembic environment: runs the versions against the URL the migration runner passes in."""

import asyncio

from alembic import context
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from app.storage.postgres import annotation_tables, eval_tables  # noqa: F401  (registers their tables)
from app.storage.postgres.engine import STARTUP_LOCK
from app.storage.postgres.tables import SQLModel

target_metadata = SQLModel.metadata


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
    with context.begin_transaction():
        # Replicas starting together migrate one at a time (same id as app.storage.postgres.engine).
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": STARTUP_LOCK})
        context.run_migrations()


async def _main() -> None:
    engine = create_async_engine(context.config.attributes["url"])
    async with engine.connect() as connection:
        await connection.run_sync(_run)
        await connection.commit()
    await engine.dispose()


asyncio.run(_main())

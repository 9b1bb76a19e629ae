"""The async SQLAlchemy engine and the Alembic runner."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from types import TracebackType
from typing import Any

import asyncpg
import orjson
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from app.errors import InvalidInput, StorageError

SQL_DIR = Path(__file__).resolve().parents[3] / "sql" / "postgres"


_LONG_NUMBER = re.compile(r"\d{19}")


def _json_loads(text: str) -> Any:
    """Decode a JSON column: orjson (a dataset page decodes 150 values), else the standard decoder for what
    orjson refuses (NaN) or reads otherwise (integers beyond 64 bits, which it makes floats)."""
    if _LONG_NUMBER.search(text) is None:
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    return json.loads(text)


def head_revision() -> str:
    """The newest revision: version files are numbered like their ids (0001_accounts.py is "0001")."""
    return max(p.name[:4] for p in (SQL_DIR / "versions").glob("[0-9][0-9][0-9][0-9]_*.py"))


STARTUP_LOCK = 0x6C68_0001  # advisory lock id for migrations and headless init


def async_url(url: str) -> str:
    """Turn any postgres:// or postgresql:// URL into one for the asyncpg driver."""
    parsed = make_url(url)
    if parsed.get_backend_name() not in ("postgres", "postgresql"):
        raise StorageError("LANGHOUSE_DATABASE_URL must be a postgresql:// URL")
    return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


def _has_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    return False


def refuse_nul(
    conn: object, cursor: object, statement: str, parameters: object, context: Any, executemany: bool
) -> None:
    """Refuse a statement with a NUL character in any value (Postgres text and JSON cannot hold one):
    InvalidInput naming the column or the compared field, rather than a driver error later."""
    for values in getattr(context, "compiled_parameters", None) or ():
        for name, value in values.items():
            if _has_nul(value):
                field = re.sub(r"_\d+$", "", name)  # a bound comparison is named like `email_1`
                raise InvalidInput(f"{field} must not contain a NUL character (\\x00)")


class Postgres:
    """The engine plus a session factory; sessions do not expire objects on commit."""

    def __init__(self, url: str) -> None:
        self.url = async_url(url)
        # No ping before each use (a round trip per session): a connection the server dropped fails its
        # statement once and the pool drops every connection older than that failure.
        self.engine: AsyncEngine = create_async_engine(
            self.url, pool_size=10, max_overflow=10, json_deserializer=_json_loads
        )
        self.session = async_sessionmaker(self.engine, class_=AsyncSession, expire_on_commit=False)
        # For one statement that needs no transaction around it (a read, an update of one row): no BEGIN
        # and COMMIT round trips (asyncpg runs it in autocommit); the hot paths of the job worker use it.
        self.single_statement = async_sessionmaker(
            self.engine.execution_options(isolation_level="AUTOCOMMIT"),
            class_=AsyncSession,
            expire_on_commit=False,
        )
        event.listen(self.engine.sync_engine, "before_cursor_execute", refuse_nul)

    async def ping(self) -> bool:
        """Tell whether the database answers."""
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    async def current_revision(self) -> str | None:
        """The Alembic revision the database is at (None before the first migration)."""
        async with self.engine.connect() as conn:
            try:
                return (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
            except ProgrammingError:  # no alembic_version table yet
                return None

    @contextlib.asynccontextmanager
    async def advisory_lock(self, key: int) -> AsyncIterator[None]:
        """Hold a Postgres advisory lock: serialises start-up work across replicas."""
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
            try:
                yield
            finally:
                await conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})

    async def migrate(self) -> None:
        """Upgrade to the newest Alembic revision (idempotent); Alembic runs on its own thread and loop.
        Alembic is imported only when there is something to upgrade: ~11 MiB a restart does not need."""
        if await self.current_revision() == head_revision():
            return
        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(SQL_DIR))
        cfg.attributes["url"] = self.url
        try:
            await asyncio.to_thread(command.upgrade, cfg, "head")
        except Exception as exc:
            raise StorageError(f"Postgres migration failed: {type(exc).__name__}: {exc}") from exc

    async def close(self) -> None:
        await self.engine.dispose()


_SOCKET_ERRNOS = {errno.ECONNREFUSED, errno.ENOENT, errno.ECONNRESET, errno.EPIPE, errno.ECONNABORTED}


def is_postgres_outage(exc: BaseException) -> bool:
    """Tell whether `exc` says the database cannot be reached (as opposed to a failed statement)."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(
        exc,
        asyncpg.PostgresConnectionError
        | asyncpg.CannotConnectNowError
        | asyncpg.AdminShutdownError
        | asyncpg.CrashShutdownError
        | asyncpg.ConnectionDoesNotExistError,
    ):
        return True
    # Connecting raises the socket's OSError as it is; tell it apart by where it was raised.
    return isinstance(exc, OSError) and exc.errno in _SOCKET_ERRNOS and _raised_in(exc.__traceback__)


def _raised_in(tb: TracebackType | None) -> bool:
    while tb is not None:
        if str(tb.tb_frame.f_globals.get("__name__", "")).startswith(("asyncpg", "sqlalchemy")):
            return True
        tb = tb.tb_next
    return False

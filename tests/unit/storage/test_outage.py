"""Which driver errors mean "the store cannot be reached" (503), and which are ordinary failures."""

from __future__ import annotations

import asyncpg
import pytest
import redis.exceptions
from sqlalchemy.exc import DBAPIError, IntegrityError

from app.errors import StorageError
from app.storage import unavailable_store


def chained(outer: Exception, inner: Exception) -> Exception:
    try:
        try:
            raise inner
        except Exception as exc:
            raise outer from exc
    except Exception as caught:
        return caught


@pytest.mark.parametrize(
    ("exc", "store"),
    [
        (redis.exceptions.ConnectionError("Error 111 connecting to redis.sock"), "redis"),
        (redis.exceptions.BusyLoadingError("Redis is loading the dataset in memory"), "redis"),
        (redis.exceptions.TimeoutError("Timeout reading from socket"), "redis"),
        (chained(StorageError("enqueue failed"), redis.exceptions.ConnectionError("lost")), "redis"),
        (asyncpg.CannotConnectNowError("the database system is starting up"), "postgres"),
        (asyncpg.ConnectionDoesNotExistError("connection was closed"), "postgres"),
        (DBAPIError("SELECT 1", {}, Exception("closed"), connection_invalidated=True), "postgres"),
        (chained(RuntimeError("x"), asyncpg.AdminShutdownError("terminating connection")), "postgres"),
        (redis.exceptions.ResponseError("WRONGTYPE"), None),
        (IntegrityError("INSERT", {}, Exception("duplicate key")), None),
        (ConnectionRefusedError(111, "Connection refused"), None),  # not raised by a database driver
        (ValueError("bad"), None),
    ],
)
def test_unavailable_store(exc: Exception, store: str | None) -> None:
    assert unavailable_store(exc) == store

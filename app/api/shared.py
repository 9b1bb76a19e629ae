"""What several nouns' routes share: the caller's project, the raw path, query-parameter helpers, the
read errors' documentation, and Langfuse's JSON form of times."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar import Request
from litestar.datastructures import State

from app.http_json import ApiDoc
from app.storage import Storage

TIMESTAMP_PARAMS = ("fromTimestamp", "toTimestamp")
# ClickHouse reads stop at their row and time limits (app.storage.clickhouse.client).
READ = ApiDoc(
    errors={422: "The query would read too much or run too long; narrow the time range or filters."}
)


def project_scope(request: Request[Any, Any, State]) -> tuple[Storage, str]:
    """The stores and the API key's project."""
    return request.app.state.storage, request.state.caller.project_id


def raw_path(request: Request[Any, Any, State]) -> str:
    """The request's path as sent (still percent-encoded), so an encoded '/' stays inside a name."""
    raw = request.scope.get("raw_path") or request.url.path.encode()
    return raw.decode("latin-1").split("?", 1)[0]


def optional(value: str | None) -> tuple[str, ...]:
    """A single-valued filter parameter as the tuple the query layer takes (empty: no filter)."""
    return (value,) if value else ()


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")

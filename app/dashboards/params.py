"""What pages read from the query string and small forms: time ranges, numbers, flags, and URLs that
keep the filters (filters live in the URL, so a view can be shared)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

from litestar import Request
from litestar.datastructures import State

from app.errors import InvalidInput
from app.storage.clickhouse.queries.common import TimeRange

RANGES = {
    "1h": timedelta(hours=1),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
}
PAGE = 50


@dataclass
class FlagForm:
    value: str = ""


def query(request: Request[Any, Any, State]) -> dict[str, str]:
    """The query string, one value per name."""
    return {k: v for k, v in request.query_params.items() if isinstance(v, str)}


def time_range(key: str | None, request: Request[Any, Any, State] | None = None) -> tuple[str, TimeRange]:
    """A preset range ending at the next whole hour (so hourly aggregates can serve it), or the custom
    `from`/`to` of the query string (ISO times, UTC unless they say otherwise)."""
    custom = {k: request.query_params.get(k) for k in ("from", "to")} if request is not None else {}
    if any(custom.values()):
        try:
            start, end = (datetime.fromisoformat(v) if v else None for v in (custom["from"], custom["to"]))
        except ValueError as exc:
            raise InvalidInput("from and to must be ISO 8601 times, e.g. 2026-11-24T09:00") from exc
        return "custom", TimeRange.resolve(start, end)
    key = key if key in RANGES else "24h"
    end = (datetime.now(UTC) + timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
    return key, TimeRange(end - RANGES[key], end)


def url(path: str, params: dict[str, Any], **changes: Any) -> str:
    """`path` with `params` and `changes` as its query string (empty values left out)."""
    merged = {k: v for k, v in {**params, **changes}.items() if v not in (None, "", [])}
    return f"{path}?{urlencode(merged, doseq=True)}" if merged else path


def number(q: dict[str, str], name: str) -> float | None:
    """An optional number of the query string; InvalidInput naming the parameter if it is not one."""
    text = (q.get(name) or "").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise InvalidInput(f"{name} must be a number")
    return value


def prompt_url(name: str, **query: Any) -> str:
    """A prompt's page; folders stay readable (`/prompts/support/triage?version=2`)."""
    return url(f"/prompts/{quote(name)}", query)

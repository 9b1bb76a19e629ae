"""What every read query shares: bound parameters, time ranges, keyset cursors, filter predicates.

User values only ever become parameters (`{p3:String}`); column names come from registries in the
entity modules, never from input.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Generic, TypeVar

from app.errors import InvalidInput
from app.storage import json_text

MAX_PAGE = 100
T = TypeVar("T")
DEFAULT_WINDOW = timedelta(hours=24)
MAX_SEARCH_CHARS = 200


class Params:
    """Collects the parameters of one query; `bind` returns the placeholder to put in the SQL."""

    def __init__(self, project_id: str) -> None:
        self.values: dict[str, object] = {"project_id": project_id}

    def bind(self, value: object, ch_type: str) -> str:
        name = f"p{len(self.values)}"
        self.values[name] = value
        return f"{{{name}:{ch_type}}}"


PROJECT = "project_id = {project_id:String}"

# Shared SQL over observation rows. Sums are weighted by `sign`, so cancelled versions drop out.
ROW_TOKENS = (
    "toInt64(if(mapContains(usage_details, 'total'), usage_details['total'], "
    "arraySum(mapValues(usage_details))))"
)
SIGNED_SUMS = (
    "sum(toDecimal128(ifNull(total_cost, 0), 12) * sign) AS sum_cost, "
    "sumMap(mapApply((k, v) -> (toString(k), toDecimal128(v, 12) * sign), cost_details)) "
    "AS sum_cost_details, "
    "sumMap(mapApply((k, v) -> (toString(k), toInt64(v) * sign), usage_details)) AS sum_usage, "
    f"sum({ROW_TOKENS} * sign) AS total_tokens"
)


# Every time a caller passes in (a range bound, a point in time) lies in this range, both inclusive:
# ClickHouse's DateTime64 holds 1900-01-01 .. 2299-12-31, and nothing Langhouse stores is older
# than the Unix epoch. Outside it, date arithmetic and parameter binding fail, so it is refused first.
EARLIEST_TIME = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_TIME = datetime(2299, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)


def check_time(value: datetime, field: str) -> datetime:
    """The time in UTC (naive means UTC); InvalidInput naming `field` outside EARLIEST..LATEST_TIME."""
    utc = _utc(value)
    if not EARLIEST_TIME <= utc <= LATEST_TIME:
        raise InvalidInput(
            f"{field} must lie between {EARLIEST_TIME:%Y-%m-%d} and {LATEST_TIME:%Y-%m-%d} (UTC); "
            f"got {value.isoformat()}"
        )
    return utc


@dataclass(frozen=True, slots=True)
class TimeRange:
    """[start, end) in UTC. Lists without one read the last 24 hours, never everything."""

    start: datetime
    end: datetime

    @classmethod
    def resolve(
        cls,
        start: datetime | None,
        end: datetime | None,
        now: datetime | None = None,
        names: tuple[str, str] = ("from", "to"),
    ) -> TimeRange:
        """The range a caller asked for; each bound checked (check_time) and named as `names` says."""
        end = check_time(end, names[1]) if end else (now or datetime.now(UTC))
        start = check_time(start, names[0]) if start else end - DEFAULT_WINDOW
        if start >= end:
            raise InvalidInput(f"time range: '{names[0]}' must be before '{names[1]}'")
        return cls(start, end)


LOOKUP_WINDOW = timedelta(days=90)


def lookup_range() -> TimeRange:
    """The window of a single session or user read without a range: the last 90 days."""
    now = datetime.now(UTC)
    return TimeRange(now - LOOKUP_WINDOW, now)


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class NumberRange:
    min: float | None = None
    max: float | None = None

    def predicate(self, params: Params, expr: str) -> list[str]:
        out = []
        if self.min is not None:
            out.append(f"{expr} >= {params.bind(self.min, 'Float64')}")
        if self.max is not None:
            out.append(f"{expr} <= {params.bind(self.max, 'Float64')}")
        return out


class TagMatch(StrEnum):
    ANY = "ANY"
    ALL = "ALL"


@dataclass(frozen=True, slots=True)
class TagFilter:
    tags: tuple[str, ...]
    match: TagMatch = TagMatch.ANY

    def predicate(self, params: Params, expr: str) -> str:
        fn = "hasAll" if self.match is TagMatch.ALL else "hasAny"
        return f"{fn}({expr}, {params.bind(list(self.tags), 'Array(String)')})"


@dataclass(frozen=True, slots=True)
class MetadataFilter:
    """A metadata key, and the value (its text) it must have; no value: the key must be present."""

    key: str
    value: str | None = None

    def predicate(self, params: Params, names: str, values: str) -> str:
        key = params.bind(self.key, "String")
        if self.value is None:
            return f"has({names}, {key})"
        return f"({values}[indexOf({names}, {key})] = {params.bind(self.value, 'String')})"


def in_list(params: Params, expr: str, values: Sequence[str]) -> str:
    return f"{expr} IN {params.bind(list(values), 'Array(String)')}"


def text_search(params: Params, columns: Sequence[str], query: str) -> str:
    """Case-insensitive substring search over text columns (any script). The character trigrams of
    the lower-cased query let the full-text index (migration 0005) skip granules; the substring
    test decides."""
    query = query.strip()
    if not query:
        raise InvalidInput("search must not be empty")
    if len(query) > MAX_SEARCH_CHARS:
        raise InvalidInput(f"search is limited to {MAX_SEARCH_CHARS} characters")
    lowered = query.lower()
    grams = sorted({lowered[i : i + 3] for i in range(len(lowered) - 2)})
    needle = params.bind(query, "String")
    gram_param = params.bind(grams, "Array(String)") if grams else None
    parts = []
    for column in columns:
        found = f"positionCaseInsensitiveUTF8(ifNull({column}, ''), {needle}) > 0"
        # The index prunes granules by hasAllTokens; within the granules left, the substring test goes
        # first, so only rows that contain the text are tokenized again (the other order re-tokenized
        # every row of those granules: 5x slower for a common word, 1M rows of 1 KB).
        # ifNull: a NULL column makes hasAllTokens NULL, which a PREWHERE step cannot take.
        indexed = f" AND ifNull(hasAllTokens({column}, {gram_param}), 0)" if gram_param else ""
        parts.append(f"({found}{indexed})")
    return "(" + " OR ".join(parts) + ")"


def search_settings(search: str | None) -> dict[str, object]:
    """Query settings for a text search: the index prunes granules, but reading matches straight from
    it mishandles NULL input/output (CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN), so that step is off."""
    return {"query_plan_direct_read_from_text_index": 0} if search else {}


def page_size(first: int | None, default: int = 50, maximum: int = MAX_PAGE) -> int:
    if first is None:
        return default
    if first < 1 or first > maximum:
        raise InvalidInput(f"first must be between 1 and {maximum}")
    return first


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a page ended: the sort key and value of its last row, and that row's id (opaque base64)."""

    sort: str
    value: Any
    id: str

    def encode(self) -> str:
        raw = json.dumps([self.sort, self.value, self.id], default=str, separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode()

    @classmethod
    def decode(cls, text: str, sort: str) -> Cursor:
        try:
            found_sort, value, row_id = json_text.loads(base64.urlsafe_b64decode(text.encode()).decode())
        except (ValueError, TypeError, binascii.Error) as exc:  # UnicodeDecodeError is a ValueError
            raise InvalidInput("after: not a cursor returned by this API") from exc
        if found_sort != sort or not isinstance(row_id, str):
            raise InvalidInput("after: the cursor belongs to another sort order")
        return cls(found_sort, value, row_id)


@dataclass(slots=True)
class Page(Generic[T]):
    """One page of a keyset-paginated list."""

    items: list[T]
    has_next: bool
    end_cursor: str | None = None
    total: int | None = None  # every item matching (cursor and page size aside), where it came free


def keyset(
    params: Params, sort_expr: str, sort_type: str, id_expr: str, cursor: Cursor | None, descending: bool
) -> str | None:
    """The predicate that continues after `cursor` in (sort, id) order."""
    if cursor is None:
        return None
    numeric = isinstance(cursor.value, int | float) and not isinstance(cursor.value, bool)
    if not numeric or (sort_type == "Int64" and not isinstance(cursor.value, int)):
        raise InvalidInput("after: not a cursor returned by this API")
    op = "<" if descending else ">"
    value = params.bind(cursor.value, sort_type)
    return f"({sort_expr}, {id_expr}) {op} ({value}, {params.bind(cursor.id, 'String')})"


def where(predicates: Sequence[str | None]) -> str:
    return " AND ".join(p for p in predicates if p)

"""Sessions and users: observations grouped by session_id or user_id over a time range.

Counts and sums are sign-weighted (exact after legacy updates); times and distinct counts read the
live rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal, assert_never

from app.storage.clickhouse.client import ClickHouse
from app.storage.clickhouse.queries.common import (
    PROJECT,
    ROW_TOKENS,
    SIGNED_SUMS,
    Cursor,
    Page,
    Params,
    TimeRange,
    in_list,
    keyset,
    where,
)
from app.storage.clickhouse.queries.views import decimal_map, int_map, utc
from app.storage.clickhouse.query import CompiledQuery

GroupKey = Literal["session_id", "user_id"]


class GroupSort(StrEnum):
    LAST_SEEN = "LAST_SEEN"
    FIRST_SEEN = "FIRST_SEEN"
    TRACE_COUNT = "TRACE_COUNT"
    TOTAL_COST = "TOTAL_COST"
    TOTAL_TOKENS = "TOTAL_TOKENS"
    DURATION = "DURATION"


def _sort_column(sort: GroupSort) -> tuple[str, str]:
    if sort is GroupSort.LAST_SEEN:
        return "toUnixTimestamp64Micro(last_seen)", "Int64"
    if sort is GroupSort.FIRST_SEEN:
        return "toUnixTimestamp64Micro(first_seen)", "Int64"
    if sort is GroupSort.TRACE_COUNT:
        return "toInt64(trace_count)", "Int64"
    if sort is GroupSort.TOTAL_COST:
        return "toFloat64(sum_cost)", "Float64"
    if sort is GroupSort.TOTAL_TOKENS:
        return "total_tokens", "Int64"
    if sort is GroupSort.DURATION:
        return "duration_ms", "Float64"
    assert_never(sort)


@dataclass(frozen=True, slots=True)
class GroupFilter:
    ids: tuple[str, ...] = ()
    user_ids: tuple[str, ...] = ()
    environments: tuple[str, ...] = ()
    trace_names: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class GroupListRequest:
    project_id: str
    key: GroupKey
    time: TimeRange
    filter: GroupFilter = field(default_factory=GroupFilter)
    sort: GroupSort = GroupSort.LAST_SEEN
    descending: bool = True
    first: int = 50
    after: str | None = None


@dataclass(slots=True)
class GroupView:
    """A session or a user: what its observations add up to."""

    id: str
    first_seen: datetime
    last_seen: datetime
    duration_ms: float
    trace_count: int
    observation_count: int
    user_ids: list[str]
    session_count: int
    environments: list[str]
    total_cost: Decimal
    cost_details: dict[str, Decimal]
    usage_details: dict[str, int]
    total_tokens: int


_FIRST_SEEN = "minIf(start_time, sign = 1) AS first_seen"
_LAST_SEEN = "maxIf(ifNull(end_time, start_time), sign = 1) AS last_seen"
_DURATION = "(toUnixTimestamp64Micro(last_seen) - toUnixTimestamp64Micro(first_seen)) / 1000.0 AS duration_ms"
_TRACE_COUNT = "uniqExactIf(trace_id, sign = 1) AS trace_count"
_AGGREGATES = (
    f"{_FIRST_SEEN}, {_LAST_SEEN}, {_DURATION}, {_TRACE_COUNT}, sum(sign) AS observation_count, "
    "arraySort(groupUniqArrayIf(assumeNotNull(user_id), sign = 1 AND user_id IS NOT NULL)) AS user_ids, "
    "uniqExactIf(session_id, sign = 1 AND session_id IS NOT NULL) AS session_count, "
    "arraySort(groupUniqArrayIf(toString(environment), sign = 1)) AS environments, "
    f"{SIGNED_SUMS}"
)
# What a page's ids are chosen by: the sort's own aggregate alone (all of them cost ~6x as much).
_SORT_AGGREGATES = {
    GroupSort.LAST_SEEN: _LAST_SEEN,
    GroupSort.FIRST_SEEN: _FIRST_SEEN,
    GroupSort.TRACE_COUNT: _TRACE_COUNT,
    GroupSort.TOTAL_COST: "sum(toDecimal128(ifNull(total_cost, 0), 12) * sign) AS sum_cost",
    GroupSort.TOTAL_TOKENS: f"sum({ROW_TOKENS} * sign) AS total_tokens",
    GroupSort.DURATION: f"{_FIRST_SEEN}, {_LAST_SEEN}, {_DURATION}",
}


def compile_group_list(req: GroupListRequest, *, ids_only: bool = False) -> CompiledQuery:
    """The page's groups with every aggregate; with `ids_only`, their ids in page order and the
    number of groups matching (cursor and page size ignored), computing the sort's aggregate alone."""
    f, params, key = req.filter, Params(req.project_id), req.key
    preds = [
        PROJECT,
        f"start_time >= {params.bind(req.time.start, 'DateTime64(6)')}",
        f"start_time < {params.bind(req.time.end, 'DateTime64(6)')}",
        f"{key} IS NOT NULL",
    ]
    for column, values in (
        (key, f.ids),
        ("user_id", f.user_ids),
        ("environment", f.environments),
        ("trace_name", f.trace_names),
    ):
        if values:
            preds.append(in_list(params, column, values))
    sort_expr, sort_type = _sort_column(req.sort)
    cursor = Cursor.decode(req.after, req.sort.value) if req.after else None
    after = keyset(params, sort_expr, sort_type, "id", cursor, req.descending)
    direction = "DESC" if req.descending else "ASC"
    aggregates = f"{_SORT_AGGREGATES[req.sort]}, count() OVER () AS total" if ids_only else _AGGREGATES
    sql = (
        f"SELECT {'id, total' if ids_only else '*'} FROM (SELECT assumeNotNull({key}) AS id, {aggregates} "
        f"FROM observations WHERE {where(preds)} GROUP BY id HAVING sum(sign) > 0)"
        f"{' WHERE ' + after if after else ''} "
        f"ORDER BY {sort_expr} {direction}, id {direction} LIMIT {params.bind(req.first + 1, 'UInt32')}"
    )
    entity = key.removesuffix("_id")
    return CompiledQuery(sql, params.values, f"{entity}s.{'page' if ids_only else 'list'}")


def group(row: dict[str, Any]) -> GroupView:
    return GroupView(
        id=str(row["id"]),
        first_seen=utc(row["first_seen"]),
        last_seen=utc(row["last_seen"]),
        duration_ms=float(row["duration_ms"]),
        trace_count=int(row["trace_count"]),
        observation_count=int(row["observation_count"]),
        user_ids=list(row["user_ids"]),
        session_count=int(row["session_count"]),
        environments=list(row["environments"]),
        total_cost=Decimal(row["sum_cost"]),
        cost_details=decimal_map(row["sum_cost_details"]),
        usage_details=int_map(row["sum_usage"]),
        total_tokens=int(row["total_tokens"]),
    )


def cursor_value(sort: GroupSort, g: GroupView) -> Any:
    if sort is GroupSort.LAST_SEEN:
        return int(g.last_seen.timestamp() * 1_000_000)
    if sort is GroupSort.FIRST_SEEN:
        return int(g.first_seen.timestamp() * 1_000_000)
    if sort is GroupSort.TRACE_COUNT:
        return g.trace_count
    if sort is GroupSort.TOTAL_COST:
        return float(g.total_cost)
    if sort is GroupSort.TOTAL_TOKENS:
        return g.total_tokens
    if sort is GroupSort.DURATION:
        return g.duration_ms
    assert_never(sort)


async def list_groups(ch: ClickHouse, req: GroupListRequest) -> Page[GroupView]:
    """A page in two steps: which groups (by the sort's aggregate alone, with the total), then every
    aggregate of those alone (their ids bound as a list let the bloom filter skip granules)."""
    page = await ch.query(compile_group_list(req, ids_only=True))
    total = int(str(page[0]["total"])) if page else 0
    ids = tuple(str(r["id"]) for r in page[: req.first])
    if not ids:
        return Page([], False, None, total)
    found = replace(req, filter=replace(req.filter, ids=ids), after=None, first=len(ids))
    by_id = {str(r["id"]): group(r) for r in await ch.query(compile_group_list(found))}
    items = [by_id[i] for i in ids if i in by_id]
    end = Cursor(req.sort.value, cursor_value(req.sort, items[-1]), items[-1].id).encode() if items else None
    return Page(items, len(page) > req.first, end, total)


async def fetch_group(
    ch: ClickHouse, project_id: str, key: GroupKey, group_id: str, time: TimeRange
) -> GroupView | None:
    """One session or user over `time`."""
    req = GroupListRequest(project_id, key, time, GroupFilter(ids=(group_id,)), first=1)
    rows = await ch.query(compile_group_list(req))
    return group(rows[0]) if rows else None

"""Sessions and users: observations grouped by session_id or user_id over a time range.

Counts and sums are sign-weighted (exact after legacy updates); times and distinct counts read the
live rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal, assert_never

from app.storage.clickhouse.client import ClickHouse
from app.storage.clickhouse.queries.common import (
    PROJECT,
    SIGNED_SUMS,
    Cursor,
    Page,
    Params,
    TimeRange,
    in_list,
    keyset,
    where,
)
from app.storage.clickhouse.queries.rows import count_of, decimal_map, int_map, utc
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


_AGGREGATES = (
    "minIf(start_time, sign = 1) AS first_seen, maxIf(ifNull(end_time, start_time), sign = 1) AS last_seen, "
    "(toUnixTimestamp64Micro(last_seen) - toUnixTimestamp64Micro(first_seen)) / 1000.0 AS duration_ms, "
    "uniqExactIf(trace_id, sign = 1) AS trace_count, sum(sign) AS observation_count, "
    "arraySort(groupUniqArrayIf(assumeNotNull(user_id), sign = 1 AND user_id IS NOT NULL)) AS user_ids, "
    "uniqExactIf(session_id, sign = 1 AND session_id IS NOT NULL) AS session_count, "
    "arraySort(groupUniqArrayIf(toString(environment), sign = 1)) AS environments, "
    f"{SIGNED_SUMS}"
)


def compile_group_list(req: GroupListRequest, *, count: bool = False) -> CompiledQuery:
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
    after = None if count else keyset(params, sort_expr, sort_type, "id", cursor, req.descending)
    direction = "DESC" if req.descending else "ASC"
    body = (
        f"SELECT * FROM (SELECT assumeNotNull({key}) AS id, {_AGGREGATES} FROM observations "
        f"WHERE {where(preds)} GROUP BY id HAVING sum(sign) > 0)"
        f"{' WHERE ' + after if after else ''}"
    )
    entity = key.removesuffix("_id")
    if count:
        return CompiledQuery(f"SELECT count() AS total FROM ({body})", params.values, f"{entity}s.count")
    limit = params.bind(req.first + 1, "UInt32")
    sql = f"{body} ORDER BY {sort_expr} {direction}, id {direction} LIMIT {limit}"
    return CompiledQuery(sql, params.values, f"{entity}s.list")


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


async def count_groups(ch: ClickHouse, req: GroupListRequest) -> int:
    return count_of(await ch.query(compile_group_list(req, count=True)))


async def list_groups(ch: ClickHouse, req: GroupListRequest) -> Page[GroupView]:
    rows = await ch.query(compile_group_list(req))
    items = [group(r) for r in rows[: req.first]]
    end = Cursor(req.sort.value, cursor_value(req.sort, items[-1]), items[-1].id).encode() if items else None
    return Page(items, len(rows) > req.first, end)


async def fetch_group(
    ch: ClickHouse, project_id: str, key: GroupKey, group_id: str, time: TimeRange
) -> GroupView | None:
    """One session or user over `time`."""
    req = GroupListRequest(project_id, key, time, GroupFilter(ids=(group_id,)), first=1)
    rows = await ch.query(compile_group_list(req))
    return group(rows[0]) if rows else None

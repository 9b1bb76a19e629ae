"""What the session and user fields share: a page of groups, its cursors, and the single-group window."""

from __future__ import annotations

from collections.abc import Callable

from strawberry.types import Info

from app.graphql.context import Context
from app.graphql.types import group as g
from app.graphql.types.common import SortDirection, TimeRangeInput
from app.graphql.types.common import time_range as resolve_time
from app.storage.clickhouse.queries import groups as gq
from app.storage.clickhouse.queries.common import Cursor, Page, TimeRange, lookup_range, page_size


async def group_page(
    info: Info[Context, None],
    key: gq.GroupKey,
    filter: g.GroupFilterInput | None,
    sort: g.GroupSortField,
    direction: SortDirection,
    first: int | None,
    after: str | None,
) -> tuple[Page[gq.GroupView], TimeRange, Callable[[gq.GroupView], str]]:
    """A page of sessions or users, the time range it covers, and the cursor of each of its groups."""
    caller = info.context.require()
    time = resolve_time(filter.time_range if filter else None, "filter.timeRange")
    sort_key = gq.GroupSort(sort.value)
    req = gq.GroupListRequest(
        caller.project_id,
        key,
        time,
        g.group_filter(filter),
        sort_key,
        direction is SortDirection.DESC,
        page_size(first),
        after,
    )
    page = await gq.list_groups(info.context.storage.clickhouse, req)
    return page, time, lambda v: Cursor(sort_key.value, gq.cursor_value(sort_key, v), v.id).encode()


async def one_group(
    info: Info[Context, None], key: gq.GroupKey, group_id: str, time_range: TimeRangeInput | None
) -> tuple[gq.GroupView | None, TimeRange]:
    """One session or user over the given window (else the last 90 days), and that window."""
    caller = info.context.require()
    time = lookup_window(time_range)
    view = await gq.fetch_group(info.context.storage.clickhouse, caller.project_id, key, group_id, time)
    return view, time


def lookup_window(value: TimeRangeInput | None) -> TimeRange:
    """Single session/user reads: the given range, else the last 90 days."""
    if value is None or (value.from_ is None and value.to is None):
        return lookup_range()
    return resolve_time(value)

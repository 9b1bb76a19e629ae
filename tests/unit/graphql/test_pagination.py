"""Paging helpers: lists read by page number, and lists the domain pages by its own cursor, walked from
any edge's cursor."""

from __future__ import annotations

import pytest

from app.errors import InvalidInput
from app.graphql.types.pagination import (
    PageInfo,
    numbered_page,
    position_after,
    position_connection,
    resumed_connection,
    resumed_page,
)
from app.storage.clickhouse.queries.common import Cursor

ROWS = [f"r{i}" for i in range(23)]


class _Edge:
    def __init__(self, node: str, cursor: str) -> None:
        self.node, self.cursor = node, cursor


class _Connection:
    def __init__(self, edges: list[_Edge], page_info: PageInfo, total_count: int | None) -> None:
        self.edges, self.page_info, self.total_count = edges, page_info, total_count


async def _by_number(page: int, limit: int) -> tuple[list[str], int]:
    start = (page - 1) * limit
    return ROWS[start : start + limit], len(ROWS)


async def _by_cursor(cursor: str | None, limit: int) -> tuple[list[str], str | None]:
    """The domain's own cursor: the index after the last row, as text (None at the end)."""
    start = int(cursor) if cursor else 0
    rows = ROWS[start : start + limit]
    end = start + len(rows)
    return rows, str(end) if end < len(ROWS) else None


@pytest.mark.parametrize("size", [1, 4, 5, 7, 23, 100])
async def test_numbered_pages_from_every_cursor_resume_right_after_it(size: int) -> None:
    for offset in range(len(ROWS) + 1):
        rows, total = await numbered_page(_by_number, offset, size)
        assert rows == ROWS[offset : offset + size] and total == len(ROWS)
    offset, walked = 0, []
    while True:
        rows, total = await numbered_page(_by_number, offset, size)
        page = position_connection(_Connection, _Edge, rows, offset, total, lambda r: r)
        walked += [e.node for e in page.edges]
        if not page.page_info.has_next_page:
            break
        mid = page.edges[len(page.edges) // 2]  # resuming from a middle edge gives what follows it
        assert (await numbered_page(_by_number, position_after(mid.cursor), size))[0][0] == ROWS[
            ROWS.index(mid.node) + 1
        ]
        offset = position_after(page.page_info.end_cursor)
    assert walked == ROWS


@pytest.mark.parametrize("size", [1, 3, 10, 23, 60, 100])
async def test_resumed_pages_walk_every_row_once_from_any_edge(size: int) -> None:
    after, walked = None, []
    while True:
        rows, nxt = await resumed_page(_by_cursor, after, size)
        page = resumed_connection(_Connection, _Edge, rows, nxt is not None, lambda r: r)
        walked += [e.node for e in page.edges]
        for edge in page.edges:  # any edge's cursor resumes right after that edge
            following, _ = await resumed_page(_by_cursor, edge.cursor, size)
            expected = ROWS[ROWS.index(edge.node) + 1 : ROWS.index(edge.node) + 1 + size]
            assert [r for r, _ in following] == expected
        if not page.page_info.has_next_page:
            break
        after = page.page_info.end_cursor
    assert walked == ROWS


async def test_resuming_past_the_page_limit_takes_two_reads() -> None:
    skip_cursor = Cursor("RESUME", 90, "").encode()  # 90 rows after the start, then a page of 50
    rows, _ = await resumed_page(_by_cursor, skip_cursor, 50)
    assert rows == []  # only 23 rows: nothing after the 90th
    big = [f"r{i}" for i in range(300)]

    async def fetch(cursor: str | None, limit: int) -> tuple[list[str], str | None]:
        assert limit <= 100
        start = int(cursor) if cursor else 0
        end = min(start + limit, len(big))
        return big[start:end], str(end) if end < len(big) else None

    rows, nxt = await resumed_page(fetch, skip_cursor, 50)
    assert [r for r, _ in rows] == big[90:140] and nxt == "140"


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        Cursor("POSITION", -1, "").encode(),
        Cursor("POSITION", "7", "").encode(),
        Cursor("POSITION", True, "").encode(),
        Cursor("RESUME", 0, "x").encode(),
    ],
)
def test_foreign_or_forged_position_cursors_are_refused(cursor: str) -> None:
    with pytest.raises(InvalidInput, match=r"^after: "):
        position_after(cursor)


@pytest.mark.parametrize(
    "cursor", ["garbage", Cursor("RESUME", 101, "x").encode(), Cursor("POSITION", 0, "").encode()]
)
async def test_foreign_or_forged_resume_cursors_are_refused(cursor: str) -> None:
    with pytest.raises(InvalidInput, match=r"^after: "):
        await resumed_page(_by_cursor, cursor, 10)

"""Relay paging: PageInfo, and connections built from a storage page, from a list read by page number,
or from a list the domain pages by its own cursor."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import strawberry

from app.errors import InvalidInput
from app.storage.clickhouse.queries.common import MAX_PAGE, Cursor, Page

V = TypeVar("V")
C = TypeVar("C")


@strawberry.type(description="Where a page ends and whether another follows.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="True when `after: endCursor` gives more.")
    end_cursor: str | None = strawberry.field(description="Cursor of the last item of this page.")


def connection(
    connection_type: Callable[..., C],
    edge_type: Callable[..., Any],
    page: Page[V],
    node: Callable[[V], Any],
    cursor: Callable[[V], str],
) -> C:
    """A connection of one `edge_type(node, cursor)` per item of the page, and the page's end cursor."""
    edges = [edge_type(node=node(v), cursor=cursor(v)) for v in page.items]
    return connection_type(
        edges=edges, page_info=PageInfo(has_next_page=page.has_next, end_cursor=page.end_cursor)
    )


POSITION = "POSITION"
RESUME = "RESUME"


def position_after(after: str | None) -> int:
    """The offset that follows `after` in a list read by page number (0 without a cursor)."""
    if after is None:
        return 0
    value = Cursor.decode(after, POSITION).value
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise InvalidInput("after: not a cursor returned by this API")
    return value + 1


async def numbered_page(
    fetch: Callable[[int, int], Awaitable[tuple[list[V], int]]], offset: int, size: int
) -> tuple[list[V], int]:
    """`size` items from `offset` of a list read by (1-based page, limit), and the total (2 reads at most)."""
    number, skip = divmod(offset, size)
    items, total = await fetch(number + 1, size)
    items = items[skip:]
    if skip and len(items) < size and offset + len(items) < total:
        more, total = await fetch(number + 2, size)
        items += more[: size - len(items)]
    return items, total


def position_connection(
    connection_type: Callable[..., C],
    edge_type: Callable[..., Any],
    items: list[V],
    offset: int,
    total: int,
    node: Callable[[V], Any],
) -> C:
    """A connection over a page read by page number: each cursor is the item's position in the list."""
    edges = [
        edge_type(node=node(v), cursor=Cursor(POSITION, offset + i, "").encode()) for i, v in enumerate(items)
    ]
    return connection_type(
        edges=edges,
        page_info=PageInfo(
            has_next_page=offset + len(items) < total, end_cursor=edges[-1].cursor if edges else None
        ),
        total_count=total,
    )


async def resumed_page(
    fetch: Callable[[str | None, int], Awaitable[tuple[list[V], str | None]]], after: str | None, size: int
) -> tuple[list[tuple[V, str]], str | None]:
    """A page of a list the domain pages by its own cursor, with a cursor for every item.

    Our cursor wraps the domain's (the id) and how many items after it were already seen (the value),
    so that `after:` any edge resumes exactly there.
    """
    base: str | None = None
    skip = 0
    if after is not None:
        found = Cursor.decode(after, RESUME)
        if (
            not isinstance(found.value, int)
            or isinstance(found.value, bool)
            or not 0 <= found.value <= MAX_PAGE
        ):
            raise InvalidInput("after: not a cursor returned by this API")
        base, skip = found.id or None, found.value
    if skip == 0:
        rows, nxt = await fetch(base, size)
    elif skip + size <= MAX_PAGE:
        rows, nxt = await fetch(base, skip + size)
        rows = rows[skip:]
    else:
        _, base = await fetch(base, skip)
        skip = 0
        rows, nxt = await fetch(base, size) if base is not None else ([], None)
    cursors = [Cursor(RESUME, skip + i + 1, base or "").encode() for i in range(len(rows))]
    if rows and nxt is not None:
        cursors[-1] = Cursor(RESUME, 0, nxt).encode()
    return list(zip(rows, cursors, strict=True)), nxt


def resumed_connection(
    connection_type: Callable[..., C],
    edge_type: Callable[..., Any],
    rows: list[tuple[V, str]],
    has_next: bool,
    node: Callable[[V], Any],
) -> C:
    """A connection over a page from resumed_page."""
    edges = [edge_type(node=node(v), cursor=c) for v, c in rows]
    return connection_type(
        edges=edges,
        page_info=PageInfo(has_next_page=has_next, end_cursor=edges[-1].cursor if edges else None),
        total_count=None,
    )

"""Relay paging: PageInfo, and a connection built from a storage page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import strawberry

from app.storage.clickhouse.queries.common import Page

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

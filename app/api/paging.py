"""Page-based lists (≤ 4.x SDKs): page limits, and list metadata in the Langfuse shape.

Such a list reads the first `page * limit` rows by keyset and shows the last `limit`, so no query uses
OFFSET; MAX_PAGED_ROWS bounds what one page may read.
"""

from __future__ import annotations

import math

from app.errors import InvalidInput

MAX_LIMIT = 100
MAX_PAGE = 10_000  # keeps page * limit, the storage offset, a small integer
MAX_PAGED_ROWS = 10_000


def page_meta(page: int, limit: int, total: int) -> dict[str, int]:
    return {"page": page, "limit": limit, "totalItems": total, "totalPages": math.ceil(total / limit)}


def rows_for_page(page: int, limit: int) -> int:
    """How many rows to read to show this page: `page * limit`, at most MAX_PAGED_ROWS."""
    if page * limit > MAX_PAGED_ROWS:
        raise InvalidInput(f"page * limit may be at most {MAX_PAGED_ROWS}; narrow the time range instead")
    return page * limit

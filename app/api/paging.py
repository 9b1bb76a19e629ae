"""Page-based list metadata in the Langfuse shape (all four fields required by the SDKs)."""

from __future__ import annotations

import math

MAX_LIMIT = 100
MAX_PAGE = 10_000  # keeps page * limit, the storage offset, a small integer


def page_meta(page: int, limit: int, total: int) -> dict[str, int]:
    return {"page": page, "limit": limit, "totalItems": total, "totalPages": math.ceil(total / limit)}

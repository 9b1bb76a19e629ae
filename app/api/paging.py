"""Page-based list metadata in the Langfuse shape (all four fields required by the SDKs)."""

from __future__ import annotations

import math

MAX_LIMIT = 100


def page_meta(page: int, limit: int, total: int) -> dict[str, int]:
    return {"page": page, "limit": limit, "totalItems": total, "totalPages": math.ceil(total / limit)}

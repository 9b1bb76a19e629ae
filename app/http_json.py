"""Reading JSON request bodies the same way in every HTTP layer (a 400 naming the problem)."""

from __future__ import annotations

from typing import Any

import orjson
from litestar import Request

from app.errors import InvalidInput


async def json_body(request: Request[Any, Any, Any]) -> Any:
    """The request body parsed as JSON, or InvalidInput."""
    try:
        return orjson.loads(await request.body())
    except orjson.JSONDecodeError as exc:
        raise InvalidInput("body is not valid JSON") from exc

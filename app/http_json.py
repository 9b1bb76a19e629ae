"""Reading JSON request bodies the same way in every HTTP layer (a 400 naming the problem)."""

from __future__ import annotations

from typing import Any

import orjson
from litestar import Request

from app.errors import InvalidInput
from app.storage.json_text import bound_depth


async def json_body(request: Request[Any, Any, Any], *, deep_as_text: int | None = None) -> Any:
    """The request body parsed as JSON, or InvalidInput. With `deep_as_text`, values nested deeper than
    that many levels arrive as their JSON text (a string) instead of being parsed."""
    body = await request.body()
    try:
        if deep_as_text is not None:
            return orjson.loads(bound_depth(body.decode(), deep_as_text))
        return orjson.loads(body)
    except (orjson.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput("body is not valid JSON") from exc

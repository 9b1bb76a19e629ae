"""Reading JSON request bodies the same way in every HTTP layer (a 400 naming the problem), and
describing them for the OpenAPI document."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
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


@dataclass(frozen=True, slots=True)
class ApiDoc:
    """What a route's OpenAPI entry adds to its signature (read by app.api.openapi): the JSON schema
    of a body the handler reads raw, extra success answers, and the errors particular to it."""

    body: Mapping[str, Any] | None = None
    body_types: tuple[str, ...] = ("application/json",)
    # status → JSON schema of the answer, or None for one without a body (replaces the generated one)
    answers: Mapping[int, Mapping[str, Any] | None] = field(default_factory=dict)
    # status → when the route answers it, with the `{message, error}` body
    errors: Mapping[int, str] = field(default_factory=dict)

    @property
    def opt(self) -> dict[str, Any]:
        """The route handler's `opt` carrying this description."""
        return {"api_doc": self}

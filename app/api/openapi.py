"""GET /api/public/openapi.json: Litestar's document, completed from each route's ApiDoc and the error rules.

Litestar describes parameters and success answers from the handlers' signatures; the handlers read
their bodies raw (so the domain names the bad field), so each route's ApiDoc supplies the body
schema. Every error answer has the one shape `_error_response` (app/main.py) gives: `{message, error}`.
"""

from __future__ import annotations

import copy
from typing import Any

from litestar import Litestar, Request, get
from litestar.datastructures import State
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.routes import HTTPRoute

from app.http_json import ApiDoc

PREFIX = "/api/public/"
ERROR_REF = "#/components/schemas/Error"
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Every error answer of the API.",
    "required": ["message", "error"],
    "properties": {
        "message": {"type": "string", "description": "What went wrong, naming the field at fault."},
        "error": {
            "description": "A short code (`invalid_input`, `not_found`, …), or for a request that "
            "failed parameter validation the list of problems.",
            "anyOf": [
                {"type": "string"},
                {"type": "array", "items": {"type": "object"}},
                {"type": "object"},
            ],
        },
    },
}
RETRY_AFTER = {
    "Retry-After": {"description": "Seconds to wait before retrying.", "schema": {"type": "string"}}
}
# Shared error answers, referenced from the operations they apply to.
ERROR_RESPONSES: dict[str, dict[str, Any]] = {
    "BadRequest": {"description": "A parameter or the body is invalid; the message names it."},
    "Unauthorized": {"description": "Missing or wrong Basic credentials (public key : secret key)."},
    "NotFound": {"description": "Nothing with that id in the key's project."},
    "PayloadTooLarge": {"description": "The body (or, gzip-encoded, its inflated size) is over the limit."},
    "TooManyRequests": {
        "description": "Too many failed authentication attempts for this key or address; retry later.",
        "headers": RETRY_AFTER,
    },
    "Unavailable": {
        "description": "A store is unavailable or the ingestion backlog is full; retry after `Retry-After`.",
        "headers": RETRY_AFTER,
    },
}
_BY_STATUS = {
    400: "BadRequest",
    401: "Unauthorized",
    404: "NotFound",
    413: "PayloadTooLarge",
    429: "TooManyRequests",
    503: "Unavailable",
}
_BODY_METHODS = {"post", "put", "patch"}


class PublicDocumentPlugin(JsonRenderPlugin):
    """Serve the public document (not Litestar's raw one) at Litestar's OpenAPI path."""

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        return self.render_json(request, public_document(request.app))


def public_document(app: Litestar) -> dict[str, Any]:
    """The OpenAPI document of /api/public: bodies, the error shape and the error answers included."""
    doc = copy.deepcopy(app.openapi_schema.to_schema())
    doc["paths"] = {p: item for p, item in doc["paths"].items() if p.startswith(PREFIX)}
    components = doc.setdefault("components", {})
    components.setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    components["responses"] = {
        name: {**r, "content": {"application/json": {"schema": {"$ref": ERROR_REF}}}}
        for name, r in ERROR_RESPONSES.items()
    }
    components["securitySchemes"] = {
        "basicAuth": {"type": "http", "scheme": "basic", "description": "public key : secret key"},
        "publicKey": {
            "type": "http",
            "scheme": "bearer",
            "description": "the public key alone (browsers): score-create events only, no reads",
        },
    }
    doc["security"] = [{"basicAuth": []}]
    for path, method, handler in _operations(app):
        _complete(doc["paths"][path][method], path, method, handler)
    return doc


def _operations(app: Litestar) -> list[tuple[str, str, HTTPRouteHandler]]:
    found = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or not route.path_format.startswith(PREFIX):
            continue
        for handler in route.route_handlers:
            if handler.resolve_include_in_schema():
                found += [(route.path_format, m.lower(), handler) for m in handler.http_methods]
    return found


def _complete(op: dict[str, Any], path: str, method: str, handler: HTTPRouteHandler) -> None:
    doc: ApiDoc = handler.opt.get("api_doc") or ApiDoc()
    public = bool(handler.opt.get("public"))
    for parameter in op.get("parameters", []):
        if parameter["in"] == "path":
            # Litestar marks `{x:path}` parameters as URIs; a prompt name is any text.
            parameter["schema"].pop("format", None)
    if doc.body is not None:
        op["requestBody"] = {
            "required": True,
            "content": {media: {"schema": dict(doc.body)} for media in doc.body_types},
        }
    responses: dict[str, Any] = op.setdefault("responses", {})
    if "204" in responses:
        responses["204"].pop("content", None)  # "No Content", whatever the signature says
    for status, schema in doc.answers.items():
        answer: dict[str, Any] = {"description": responses.get(str(status), {}).get("description", "OK")}
        if schema is not None:
            answer["content"] = {"application/json": {"schema": dict(schema)}}
        responses[str(status)] = answer
    statuses = {400, 503, *doc.errors}
    if not public:
        statuses |= {401, 429}
    else:
        op["security"] = []
    if handler.opt.get("public_key"):
        op["security"] = [{"basicAuth": []}, {"publicKey": []}]
    if "{" in path:
        statuses.add(404)
    if doc.body is not None or method in _BODY_METHODS:
        statuses.add(413)
    for status in sorted(statuses - set(doc.answers)):
        if status in doc.errors:
            responses[str(status)] = {
                "description": doc.errors[status],
                "content": {"application/json": {"schema": {"$ref": ERROR_REF}}},
            }
        else:
            responses[str(status)] = {"$ref": f"#/components/responses/{_BY_STATUS[status]}"}


@get("/openapi.json", opt={"public": True}, include_in_schema=False)
async def openapi_document(request: Request[Any, Any, State]) -> dict[str, Any]:
    """The OpenAPI document of the public API."""
    return public_document(request.app)


OPENAPI_ROUTES = [openapi_document]

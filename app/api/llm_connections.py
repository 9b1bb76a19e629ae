"""/api/public/llm-connections: upsert, list and delete a project's LLM connections (Langfuse's shapes)
on the playground's storage. Langfuse's `provider` is our connection's name (the upsert key) and its
`adapter` our provider; the secret key is never returned, only its last characters."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, delete, get, put
from litestar.datastructures import State
from litestar.params import Parameter

from app.api.paging import MAX_LIMIT, MAX_PAGE, page_meta
from app.errors import InvalidInput
from app.evaluation import judge_connections
from app.http_json import ApiDoc, json_body
from app.playground import connections
from app.playground.connections import PROVIDERS, ConnectionView, LlmConnectionSpec, header_object

DEFAULT_MODELS = {
    "openai": ["gpt-4.1", "gpt-4.1-mini", "gpt-4o", "gpt-4o-mini"],
    "anthropic": ["claude-sonnet-4-5", "claude-haiku-4-5", "claude-opus-4-1"],
}
# The playground's field names as this API spells them.
FIELD_NAMES = {"name": "provider", "provider": "adapter", "baseUrl": "baseURL", "models": "customModels"}
FIELD_NAMES["apiKey"] = "secretKey"

UPSERT = ApiDoc(
    body={
        "type": "object",
        "required": ["provider", "adapter", "secretKey"],
        "properties": {
            "provider": {"type": "string", "description": "The connection's name (upsert key)."},
            "adapter": {"type": "string", "enum": list(PROVIDERS)},
            "secretKey": {"type": "string"},
            "baseURL": {"type": ["string", "null"]},
            "customModels": {"type": ["array", "null"], "items": {"type": "string"}},
            "withDefaultModels": {"type": ["boolean", "null"]},
            "extraHeaders": {
                "type": ["object", "null"],
                "description": "Sent with every call (values stored encrypted, names listed as "
                "extraHeaderKeys); omitted keeps the stored ones, {} removes them.",
                "additionalProperties": {"type": "string"},
            },
            "config": {
                "type": ["object", "null"],
                "description": "Adapter settings: accepted, unused by the openai and anthropic adapters.",
            },
        },
    }
)


def _string(body: dict[str, Any], key: str, required: bool = False) -> str | None:
    value = body.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{key}: must be a non-empty string")
    return value


def upsert_spec(body: Any) -> LlmConnectionSpec:
    """An upsert body as a connection spec; InvalidInput names the field at fault."""
    if not isinstance(body, dict):
        raise InvalidInput("body: must be a JSON object")
    name = _string(body, "provider", required=True)
    adapter = _string(body, "adapter", required=True)
    if adapter not in PROVIDERS:
        raise InvalidInput(f"adapter: {adapter!r} is not supported; one of {', '.join(PROVIDERS)}")
    secret = _string(body, "secretKey", required=True)
    custom = body.get("customModels")
    if custom is not None and (not isinstance(custom, list) or not all(isinstance(m, str) for m in custom)):
        raise InvalidInput("customModels: a list of model names")
    with_defaults = body.get("withDefaultModels", True)
    if with_defaults is not None and not isinstance(with_defaults, bool):
        raise InvalidInput("withDefaultModels: true or false")
    headers = header_object(body.get("extraHeaders"))
    if body.get("config") is not None and not isinstance(body["config"], dict):
        raise InvalidInput("config: an object or null")
    models = list(custom or [])
    if with_defaults is not False:
        models += [m for m in DEFAULT_MODELS[str(adapter)] if m not in models]
    base_url = _string(body, "baseURL")
    return LlmConnectionSpec(str(name), str(adapter), base_url, models, secret, headers)


def connection_json(c: ConnectionView) -> dict[str, Any]:
    """A connection as Langfuse gives it (the key's last characters only)."""
    return {
        "id": c.connection_id,
        "provider": c.name,
        "adapter": c.provider,
        "displaySecretKey": c.api_key_hint,
        "baseURL": c.base_url,
        "customModels": c.models,
        "withDefaultModels": False,  # the default models, when asked for, are listed in customModels
        "extraHeaderKeys": c.extra_header_keys,
        "config": None,
        "createdAt": c.created_at.isoformat(),
        "updatedAt": c.updated_at.isoformat(),
    }


def _renamed(exc: InvalidInput) -> InvalidInput:
    message = str(exc)
    for ours, theirs in FIELD_NAMES.items():
        if message.startswith(ours + " "):
            return InvalidInput(f"{theirs}: {message[len(ours) + 1 :]}")
    return exc


@put("/llm-connections", status_code=200, opt=UPSERT.opt)
async def upsert_connection(request: Request[Any, Any, State]) -> dict[str, Any]:
    spec = upsert_spec(await json_body(request))
    storage, project_id = request.app.state.storage, request.state.caller.project_id
    try:
        view = await judge_connections.upsert_connection(storage, project_id, spec)
    except InvalidInput as exc:
        raise _renamed(exc) from exc
    return connection_json(view)


@get("/llm-connections")
async def list_connections(
    request: Request[Any, Any, State],
    page: Annotated[int, Parameter(ge=1, le=MAX_PAGE)] = 1,
    limit: Annotated[int, Parameter(ge=1, le=MAX_LIMIT)] = 50,
) -> dict[str, Any]:
    storage, project_id = request.app.state.storage, request.state.caller.project_id
    rows = await connections.list_connections(storage, project_id)  # at most 200 per project
    shown = rows[(page - 1) * limit : page * limit]
    return {"data": [connection_json(c) for c in shown], "meta": page_meta(page, limit, len(rows))}


@delete("/llm-connections/{connection_id:str}", status_code=200)
async def delete_connection(request: Request[Any, Any, State], connection_id: str) -> dict[str, Any]:
    storage, project_id = request.app.state.storage, request.state.caller.project_id
    paused = await judge_connections.delete_connection(storage, project_id, connection_id)
    return {"message": f"LLM connection deleted; {len(paused)} evaluator(s) using it paused"}


LLM_CONNECTION_ROUTES = [upsert_connection, list_connections, delete_connection]

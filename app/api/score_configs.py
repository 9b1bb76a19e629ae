"""/api/public/score-configs: create, list, read and archive score configs (Langfuse's JSON shapes)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get, patch, post
from litestar.datastructures import State
from litestar.params import Parameter

from app.api.paging import MAX_LIMIT, MAX_PAGE, page_meta
from app.errors import InvalidInput
from app.http_json import ApiDoc, json_body
from app.storage.postgres.tables import ScoreConfig
from app.tracing import score_configs
from app.tracing.score_configs import UNCHANGED, ScoreConfigChange, ScoreConfigSpec

CREATE_CONFIG = ApiDoc(
    body={
        "type": "object",
        "required": ["name", "dataType"],
        "properties": {
            "name": {"type": "string", "minLength": 1},
            "dataType": {"type": "string", "enum": list(score_configs.CONFIG_TYPES)},
            "categories": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["value", "label"],
                    "properties": {"value": {"type": "number"}, "label": {"type": "string"}},
                },
            },
            "minValue": {"type": ["number", "null"]},
            "maxValue": {"type": ["number", "null"]},
            "description": {"type": ["string", "null"]},
        },
    },
    errors={409: "A score config with that name exists."},
)
UPDATE_CONFIG = ApiDoc(
    body={
        "type": "object",
        "properties": {"isArchived": {"type": "boolean"}, "description": {"type": ["string", "null"]}},
        "additionalProperties": False,
    }
)


def _bound(body: dict[str, Any], field: str) -> float | None:
    value = body.get(field)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise InvalidInput(f"{field} must be a finite number")
    return value


def config_spec(body: Any) -> ScoreConfigSpec:
    """A create body as a spec; InvalidInput names the field whose JSON type is wrong."""
    if not isinstance(body, dict):
        raise InvalidInput("body must be a JSON object")
    name, kind, description = body.get("name"), body.get("dataType"), body.get("description")
    if description is not None and not isinstance(description, str):
        raise InvalidInput("description must be a string")
    categories = body.get("categories") if kind == "CATEGORICAL" else None
    return ScoreConfigSpec(
        name=name if isinstance(name, str) else "",  # no name: refused by the rules
        data_type=kind if isinstance(kind, str) else "",
        categories=score_configs.categories_from_json(categories),
        min_value=_bound(body, "minValue"),
        max_value=_bound(body, "maxValue"),
        description=description,
    )


def config_change(body: Any) -> ScoreConfigChange:
    """A PATCH body as a change: only `isArchived` and `description` may appear."""
    if not isinstance(body, dict):
        raise InvalidInput("body must be a JSON object")
    unknown = set(body) - {"isArchived", "description"}
    if "isArchived" in body and not isinstance(body["isArchived"], bool):
        raise InvalidInput("isArchived must be true or false")
    if unknown:
        raise InvalidInput(f"only isArchived and description can change; not {', '.join(sorted(unknown))}")
    description = body.get("description")
    if description is not None and not isinstance(description, str):
        raise InvalidInput("description must be a string")
    return ScoreConfigChange(
        is_archived=body.get("isArchived", UNCHANGED),
        description=description if "description" in body else UNCHANGED,
    )


def config_json(config: ScoreConfig) -> dict[str, Any]:
    """A config as the Langfuse API gives it."""
    return {
        "id": config.id,
        "projectId": config.project_id,
        "name": config.name,
        "dataType": config.data_type,
        "categories": config.categories,
        "minValue": config.min_value,
        "maxValue": config.max_value,
        "description": config.description,
        "isArchived": config.is_archived,
        "createdAt": config.created_at.isoformat(),
        "updatedAt": config.updated_at.isoformat(),
    }


@post("/score-configs", status_code=200, opt=CREATE_CONFIG.opt)
async def create_config(request: Request[Any, Any, State]) -> dict[str, Any]:
    spec = config_spec(await json_body(request))
    config = await score_configs.create_config(
        request.app.state.storage, request.state.caller.project_id, spec
    )
    return config_json(config)


@get("/score-configs")
async def list_configs(
    request: Request[Any, Any, State],
    page: Annotated[int, Parameter(ge=1, le=MAX_PAGE)] = 1,
    limit: Annotated[int, Parameter(ge=1, le=MAX_LIMIT)] = 50,
) -> dict[str, Any]:
    storage, project_id = request.app.state.storage, request.state.caller.project_id
    rows = await score_configs.list_configs(storage, project_id, limit, (page - 1) * limit)
    total = await score_configs.count_configs(storage, project_id)
    return {"data": [config_json(c) for c in rows], "meta": page_meta(page, limit, total)}


@get("/score-configs/{config_id:str}")
async def get_config(request: Request[Any, Any, State], config_id: str) -> dict[str, Any]:
    storage, project_id = request.app.state.storage, request.state.caller.project_id
    return config_json(await score_configs.get_config(storage, project_id, config_id))


@patch("/score-configs/{config_id:str}", opt=UPDATE_CONFIG.opt)
async def update_config(request: Request[Any, Any, State], config_id: str) -> dict[str, Any]:
    change = config_change(await json_body(request))
    storage, project_id = request.app.state.storage, request.state.caller.project_id
    return config_json(await score_configs.update_config(storage, project_id, config_id, change))


SCORE_CONFIG_ROUTES = [create_config, list_configs, get_config, update_config]

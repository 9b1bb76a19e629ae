"""/api/public/score-configs: create, list, read and archive score configs."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get, patch, post
from litestar.datastructures import State
from litestar.params import Parameter

from app.api.paging import MAX_LIMIT, MAX_PAGE, page_meta
from app.errors import NotFound
from app.http_json import ApiDoc, json_body
from app.storage.postgres import score_configs as repo
from app.tracing import score_configs

CREATE_CONFIG = ApiDoc(
    body={
        "type": "object",
        "required": ["name", "dataType"],
        "properties": {
            "name": {"type": "string", "minLength": 1},
            "dataType": {"type": "string", "enum": ["NUMERIC", "BOOLEAN", "CATEGORICAL", "TEXT"]},
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


@post("/score-configs", status_code=200, opt=CREATE_CONFIG.opt)
async def create_config(request: Request[Any, Any, State]) -> dict[str, Any]:
    config = await score_configs.create(
        request.app.state.storage, request.state.caller.project_id, await json_body(request)
    )
    return score_configs.to_api(config)


@get("/score-configs")
async def list_configs(
    request: Request[Any, Any, State],
    page: Annotated[int, Parameter(ge=1, le=MAX_PAGE)] = 1,
    limit: Annotated[int, Parameter(ge=1, le=MAX_LIMIT)] = 50,
) -> dict[str, Any]:
    pg, project_id = request.app.state.storage.postgres, request.state.caller.project_id
    rows = await repo.list_score_configs(pg, project_id, limit, (page - 1) * limit)
    total = await repo.count_score_configs(pg, project_id)
    return {
        "data": [score_configs.to_api(c) for c in rows],
        "meta": page_meta(page, limit, total),
    }


@get("/score-configs/{config_id:str}")
async def get_config(request: Request[Any, Any, State], config_id: str) -> dict[str, Any]:
    found = await repo.fetch_score_configs(
        request.app.state.storage.postgres, request.state.caller.project_id, [config_id]
    )
    if config_id not in found:
        raise NotFound(f"no score config {config_id!r}")
    return score_configs.to_api(found[config_id])


@patch("/score-configs/{config_id:str}", opt=UPDATE_CONFIG.opt)
async def update_config(request: Request[Any, Any, State], config_id: str) -> dict[str, Any]:
    config = await score_configs.update(
        request.app.state.storage, request.state.caller.project_id, config_id, await json_body(request)
    )
    return score_configs.to_api(config)


SCORE_CONFIG_ROUTES = [create_config, list_configs, get_config, update_config]

"""/api/public/models: the project's model definitions and prices, plus the built-in ones (read-only)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, delete, get, post
from litestar.datastructures import State
from litestar.params import Parameter

from app.api.paging import MAX_LIMIT, MAX_PAGE, page_meta
from app.auth.caller import Caller
from app.errors import NotFound
from app.http_json import ApiDoc, json_body
from app.storage import Storage
from app.storage.postgres import model_definitions as repo
from app.tracing import model_catalog


def _ctx(request: Request[Any, Any, State]) -> tuple[Storage, Caller]:
    return request.app.state.storage, request.state.caller


@get("/models")
async def list_models(
    request: Request[Any, Any, State],
    page: Annotated[int, Parameter(ge=1, le=MAX_PAGE)] = 1,
    limit: Annotated[int, Parameter(ge=1, le=MAX_LIMIT)] = 50,
) -> dict[str, Any]:
    """Project models first (newest first), then the built-in ones; page-based."""
    storage, caller = _ctx(request)
    own_total = await repo.count_models(storage.postgres, caller.project_id)
    builtins = model_catalog.builtins_api()
    start = (page - 1) * limit
    own = (
        await repo.list_models(storage.postgres, caller.project_id, limit, start) if start < own_total else []
    )
    data = [model_catalog.to_api(m) for m in own]
    if len(data) < limit:
        first_builtin = max(0, start - own_total)
        data += builtins[first_builtin : first_builtin + limit - len(data)]
    total = own_total + len(builtins)
    return {
        "data": data,
        "meta": page_meta(page, limit, total),
    }


PRICE = {"type": ["number", "null"], "minimum": 0, "description": "USD per unit"}
CREATE_MODEL = ApiDoc(
    body={
        "type": "object",
        "required": ["modelName", "matchPattern"],
        "properties": {
            "modelName": {"type": "string", "minLength": 1},
            "matchPattern": {
                "type": "string",
                "description": "regular expression matched against model names",
            },
            "unit": {"type": "string", "enum": list(model_catalog.UNITS)},
            "startDate": {"type": ["string", "null"], "format": "date-time"},
            "inputPrice": PRICE,
            "outputPrice": PRICE,
            "totalPrice": PRICE,
            "prices": {"type": "object", "additionalProperties": {"type": "number", "minimum": 0}},
            "tokenizerId": {"type": ["string", "null"]},
            "tokenizerConfig": {"type": ["object", "null"]},
        },
    },
    errors={409: "A model with that name and start date exists."},
)


@post("/models", status_code=200, opt=CREATE_MODEL.opt)
async def create_model(request: Request[Any, Any, State]) -> dict[str, Any]:
    storage, caller = _ctx(request)
    body = await json_body(request)
    return model_catalog.to_api(await model_catalog.create(storage, caller.project_id, body))


@get("/models/{model_id:str}")
async def get_model(request: Request[Any, Any, State], model_id: str) -> dict[str, Any]:
    storage, caller = _ctx(request)
    model = await repo.fetch_model(storage.postgres, caller.project_id, model_id)
    if model is not None:
        return model_catalog.to_api(model)
    for builtin in model_catalog.builtins_api():
        if builtin["id"] == model_id:
            return builtin
    raise NotFound(f"no model {model_id!r}")


@delete("/models/{model_id:str}", status_code=200)
async def delete_model(request: Request[Any, Any, State], model_id: str) -> dict[str, str]:
    storage, caller = _ctx(request)
    await model_catalog.delete(storage, caller.project_id, model_id)
    return {"message": "Model successfully deleted"}


MODEL_ROUTES = [list_models, create_model, get_model, delete_model]

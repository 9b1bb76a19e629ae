"""/api/public/models: the project's model definitions and prices, plus the built-in ones (read-only)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from litestar import Request, delete, get, post
from litestar.datastructures import State
from litestar.params import Parameter

from app.api.paging import MAX_LIMIT, MAX_PAGE, page_meta
from app.auth.caller import Caller
from app.errors import InvalidInput
from app.http_json import ApiDoc, json_body
from app.storage import Storage
from app.tracing import model_catalog as catalog
from app.tracing.mapping import parse_time


def _ctx(request: Request[Any, Any, State]) -> tuple[Storage, Caller]:
    return request.app.state.storage, request.state.caller


def _price(value: object, field: str) -> Decimal:
    if isinstance(value, dict):
        value = value.get("price")
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise InvalidInput(f"{field} must be a non-negative number") from None
    return catalog.check_price(number, field)


def _tokenizer(body: dict[str, Any]) -> str | None:
    """Langfuse's tokenizerId 'openai' + tokenizerConfig.tokenizerModel → a bundled encoding name."""
    if body.get("tokenizerId") in (None, ""):
        return None
    if body["tokenizerId"] != "openai":
        raise InvalidInput("tokenizerId must be 'openai' (the only tokenizer bundled) or omitted")
    config = body.get("tokenizerConfig") or {}
    try:
        return catalog.tokenizer_for(str(config.get("tokenizerModel", "gpt-4o")))
    except ValueError as exc:
        raise InvalidInput(f"tokenizerConfig.tokenizerModel is not supported: {exc}") from None


def _default_tier_prices(tiers: object) -> dict[str, Decimal]:
    """The prices of Langfuse's `pricingTiers` when they are one default tier (the only kind priced here)."""
    if (
        not isinstance(tiers, list)
        or len(tiers) != 1
        or not isinstance(tiers[0], dict)
        or not tiers[0].get("isDefault")
        or tiers[0].get("conditions")
        or not isinstance(tiers[0].get("prices"), dict)
    ):
        raise InvalidInput(
            "pricingTiers: only one default tier (isDefault true, no conditions, prices) is supported"
        )
    return {str(k): _price(v, f"pricingTiers[0].prices.{k}") for k, v in tiers[0]["prices"].items()}


def _prices(body: dict[str, Any]) -> dict[str, Decimal]:
    """`prices`, the flat inputPrice / outputPrice / totalPrice over them, else one default tier."""
    prices: dict[str, Decimal] = {}
    if isinstance(body.get("prices"), dict):
        prices = {str(k): _price(v, f"prices.{k}") for k, v in body["prices"].items()}
    for field, usage_type in (("inputPrice", "input"), ("outputPrice", "output"), ("totalPrice", "total")):
        if body.get(field) is not None:
            prices[usage_type] = _price(body[field], field)
    if not prices and body.get("pricingTiers") is not None:
        prices = _default_tier_prices(body["pricingTiers"])
    if not prices:
        raise InvalidInput("give prices, or inputPrice / outputPrice / totalPrice")
    return prices


def parse_model(body: object) -> catalog.ModelSpec:
    """A create body (the Langfuse shape) as a ModelSpec, or InvalidInput naming the field."""
    if not isinstance(body, dict):
        raise InvalidInput("body must be a JSON object")
    name = body.get("modelName")
    if not isinstance(name, str):
        raise InvalidInput("modelName is required (1 to 255 characters)")
    name = catalog.check_name(name, "modelName")
    pattern = body.get("matchPattern")
    if not isinstance(pattern, str) or not pattern:
        raise InvalidInput("matchPattern is required (a regular expression matched against model names)")
    catalog.check_pattern(pattern, "matchPattern")
    unit = catalog.check_unit(str(body.get("unit") or "TOKENS").upper(), "unit")
    prices = _prices(body)
    start = None
    if body.get("startDate") is not None:
        start = parse_time(body["startDate"])
        if start is None:
            raise InvalidInput("startDate must be an ISO 8601 date-time")
    tokenizer_config = body.get("tokenizerConfig")
    return catalog.ModelSpec(
        model_name=name,
        match_pattern=pattern,
        prices=prices,
        unit=unit,
        start_date=start,
        tokenizer=_tokenizer(body),
        tokenizer_config=tokenizer_config if isinstance(tokenizer_config, dict) else None,
    )


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return aware.isoformat().replace("+00:00", "Z")


def to_api(m: catalog.ModelView) -> dict[str, Any]:
    """A model in the Langfuse shape: flat prices, `prices`, and the same prices as one default tier."""
    flat = {k: float(v) for k, v in m.prices.items()}
    return {
        "id": m.model_id,
        "modelName": m.model_name,
        "matchPattern": m.match_pattern,
        "startDate": _iso(m.start_date),
        "createdAt": _iso(m.created_at),
        "unit": m.unit,
        "inputPrice": flat.get("input"),
        "outputPrice": flat.get("output"),
        "totalPrice": flat.get("total"),
        "prices": {k: {"price": v} for k, v in flat.items()},
        "tokenizerId": "openai" if m.tokenizer else None,
        "tokenizerConfig": {"encoding": m.tokenizer} if m.tokenizer else None,
        "isLangfuseManaged": m.managed,
        "pricingTiers": [
            {
                "id": f"{m.model_id}:default",
                "name": "Standard",
                "isDefault": True,
                "priority": 0,
                "conditions": [],
                "prices": flat,
            }
        ],
    }


@get("/models")
async def list_models(
    request: Request[Any, Any, State],
    page: Annotated[int, Parameter(ge=1, le=MAX_PAGE)] = 1,
    limit: Annotated[int, Parameter(ge=1, le=MAX_LIMIT)] = 50,
) -> dict[str, Any]:
    """Project models first (newest first), then the built-in ones; page-based."""
    storage, caller = _ctx(request)
    models, total = await catalog.list_models_page(storage, caller.project_id, limit, (page - 1) * limit)
    return {"data": [to_api(m) for m in models], "meta": page_meta(page, limit, total)}


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
            "unit": {"type": "string", "enum": list(catalog.UNITS)},
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
    spec = parse_model(await json_body(request))
    return to_api(await catalog.create(storage, caller.project_id, spec))


@get("/models/{model_id:str}")
async def get_model(request: Request[Any, Any, State], model_id: str) -> dict[str, Any]:
    storage, caller = _ctx(request)
    return to_api(await catalog.fetch_model(storage, caller.project_id, model_id))


@delete("/models/{model_id:str}", status_code=200)
async def delete_model(request: Request[Any, Any, State], model_id: str) -> dict[str, str]:
    storage, caller = _ctx(request)
    await catalog.delete(storage, caller.project_id, model_id)
    return {"message": "Model successfully deleted"}


MODEL_ROUTES = [list_models, create_model, get_model, delete_model]

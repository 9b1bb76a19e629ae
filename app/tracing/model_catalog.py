"""A project's model definitions: validation, the Langfuse API shape, and the prices the pipeline uses."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from app.errors import InvalidInput, NotFound
from app.storage import Storage
from app.storage.postgres import model_definitions as repo
from app.storage.postgres.tables import ModelDefinition
from app.tracing.costs import ModelPrice, builtin_prices
from app.tracing.mapping import parse_time

UNITS = ("TOKENS", "CHARACTERS", "MILLISECONDS", "SECONDS", "IMAGES", "REQUESTS")
CACHE_SECONDS = 60.0
_cache: dict[str, tuple[float, tuple[ModelPrice, ...]]] = {}
# The built-in models have no row of their own: their creation time is the date of the shipped table.
BUILTIN_CREATED_AT = datetime(2025, 1, 1, tzinfo=UTC)


def _price(value: Any, field: str) -> Decimal:
    if isinstance(value, dict):
        value = value.get("price")
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise InvalidInput(f"{field} must be a non-negative number") from None
    if not number.is_finite() or number < 0:
        raise InvalidInput(f"{field} must be a non-negative number")
    return number


def _tokenizer(body: dict[str, Any]) -> str | None:
    """Langfuse's tokenizerId 'openai' + tokenizerConfig.tokenizerModel → a bundled encoding name."""
    if body.get("tokenizerId") in (None, ""):
        return None
    if body["tokenizerId"] != "openai":
        raise InvalidInput("tokenizerId must be 'openai' (the only tokenizer bundled) or omitted")
    config = body.get("tokenizerConfig") or {}
    import bpe_openai

    try:
        return str(bpe_openai.encoding_name_for_model(str(config.get("tokenizerModel", "gpt-4o"))))
    except Exception as exc:
        raise InvalidInput(f"tokenizerConfig.tokenizerModel is not supported: {exc}") from None


def _default_tier_prices(tiers: Any) -> dict[str, Decimal]:
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


def validate(body: Any) -> ModelDefinition:
    """A model definition from the public API body, or InvalidInput naming the field."""
    if not isinstance(body, dict):
        raise InvalidInput("body must be a JSON object")
    name = body.get("modelName")
    if not isinstance(name, str) or not name.strip() or len(name) > 255:
        raise InvalidInput("modelName is required (1 to 255 characters)")
    pattern = body.get("matchPattern")
    if not isinstance(pattern, str) or not pattern:
        raise InvalidInput("matchPattern is required (a regular expression matched against model names)")
    try:
        re.compile(pattern)
    except re.error as exc:
        raise InvalidInput(f"matchPattern is not a valid regular expression: {exc}") from None
    unit = str(body.get("unit") or "TOKENS").upper()
    if unit not in UNITS:
        raise InvalidInput(f"unit must be one of {', '.join(UNITS)}")
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
    start = None
    if body.get("startDate") is not None:
        start = parse_time(body["startDate"])
        if start is None:
            raise InvalidInput("startDate must be an ISO 8601 date-time")
    return ModelDefinition(
        project_id="",
        model_name=name.strip(),
        match_pattern=pattern,
        start_date=start,
        unit=unit,
        prices={k: str(v) for k, v in prices.items()},
        tokenizer_id=_tokenizer(body),
        tokenizer_config=body.get("tokenizerConfig")
        if isinstance(body.get("tokenizerConfig"), dict)
        else None,
    )


def _api_shape(
    model_id: str,
    name: str,
    pattern: str,
    prices: dict[str, Decimal],
    *,
    start: datetime | None,
    created: datetime,
    unit: str,
    tokenizer: str | None,
    managed: bool,
) -> dict[str, Any]:
    """A model in the Langfuse shape: flat prices, `prices`, and the same prices as one default tier."""
    flat = {k: float(v) for k, v in prices.items()}
    return {
        "id": model_id,
        "modelName": name,
        "matchPattern": pattern,
        "startDate": _iso(start),
        "createdAt": _iso(created),
        "unit": unit,
        "inputPrice": flat.get("input"),
        "outputPrice": flat.get("output"),
        "totalPrice": flat.get("total"),
        "prices": {k: {"price": v} for k, v in flat.items()},
        "tokenizerId": "openai" if tokenizer else None,
        "tokenizerConfig": {"encoding": tokenizer} if tokenizer else None,
        "isLangfuseManaged": managed,
        "pricingTiers": [
            {
                "id": f"{model_id}:default",
                "name": "Standard",
                "isDefault": True,
                "priority": 0,
                "conditions": [],
                "prices": flat,
            }
        ],
    }


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return aware.isoformat().replace("+00:00", "Z")


def to_api(model: ModelDefinition) -> dict[str, Any]:
    return _api_shape(
        model.id,
        model.model_name,
        model.match_pattern,
        {k: Decimal(v) for k, v in model.prices.items()},
        start=model.start_date,
        created=model.created_at,
        unit=model.unit,
        tokenizer=model.tokenizer_id,
        managed=False,
    )


def builtins_api() -> list[dict[str, Any]]:
    return [
        _api_shape(
            m.model_id,
            m.model_name,
            m.match_pattern,
            m.prices,
            start=None,
            created=BUILTIN_CREATED_AT,
            unit="TOKENS",
            tokenizer=m.tokenizer,
            managed=True,
        )
        for m in builtin_prices()
    ]


async def create(storage: Storage, project_id: str, body: Any) -> ModelDefinition:
    model = validate(body)
    model.project_id = project_id
    created = await repo.create_model(storage.postgres, model)
    _cache.pop(project_id, None)
    return created


async def delete(storage: Storage, project_id: str, model_id: str) -> None:
    if not await repo.delete_model(storage.postgres, project_id, model_id):
        raise NotFound(f"no model {model_id!r} in this project (built-in models cannot be deleted)")
    _cache.pop(project_id, None)


async def prices_for(storage: Storage, project_id: str) -> tuple[ModelPrice, ...]:
    """The project's models plus the built-ins, cached for CACHE_SECONDS per process."""
    hit = _cache.get(project_id)
    if hit is not None and hit[0] > time.monotonic():
        return hit[1]
    own = tuple(
        ModelPrice(
            model_id=m.id,
            model_name=m.model_name,
            match_pattern=m.match_pattern,
            prices={k: Decimal(v) for k, v in m.prices.items()},
            tokenizer=m.tokenizer_id,
            start_date=m.start_date,
            project_id=m.project_id,
        )
        for m in await repo.list_models(storage.postgres, project_id)
    )
    models = own + builtin_prices()
    _cache[project_id] = (time.monotonic() + CACHE_SECONDS, models)
    return models

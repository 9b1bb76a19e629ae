"""A project's model definitions (rules, create, list, delete), the built-in ones, and the prices the
pipeline uses."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal

from app.errors import InvalidInput, NotFound
from app.storage import Storage
from app.storage.postgres import model_definitions as repo
from app.storage.postgres.tables import ModelDefinition
from app.tracing.costs import ModelPrice, builtin_prices

UNITS = ("TOKENS", "CHARACTERS", "MILLISECONDS", "SECONDS", "IMAGES", "REQUESTS")
CACHE_SECONDS = 60.0
_cache: dict[str, tuple[float, tuple[ModelPrice, ...]]] = {}
# The built-in models have no row of their own: their creation time is the date of the shipped table.
BUILTIN_CREATED_AT = datetime(2025, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """A model definition to create: the model names it matches (a regular expression), from when,
    the unit it is priced in, and its USD price per unit of each usage type (e.g. input, output)."""

    model_name: str
    match_pattern: str
    prices: dict[str, Decimal]
    unit: str = "TOKENS"
    start_date: datetime | None = None
    tokenizer: str | None = None  # a bundled encoding (see tokenizer_for) that counts missing usage
    tokenizer_config: dict[str, object] | None = None  # kept as given, shown back


def check_name(name: str, field: str) -> str:
    """The model name without surrounding spaces: 1 to 255 characters, or InvalidInput naming `field`."""
    if not name.strip() or len(name) > 255:
        raise InvalidInput(f"{field} is required (1 to 255 characters)")
    return name.strip()


def check_pattern(pattern: str, field: str) -> str:
    """A regular expression Python can compile, or InvalidInput naming `field`."""
    try:
        re.compile(pattern)
    except re.error as exc:
        raise InvalidInput(f"{field} is not a valid regular expression: {exc}") from None
    return pattern


def check_unit(unit: str, field: str) -> str:
    if unit not in UNITS:
        raise InvalidInput(f"{field} must be one of {', '.join(UNITS)}")
    return unit


def check_price(price: Decimal, field: str) -> Decimal:
    """A finite, non-negative price, or InvalidInput naming `field`."""
    if not price.is_finite() or price < 0:
        raise InvalidInput(f"{field} must be a non-negative number")
    return price


def tokenizer_for(model: str) -> str:
    """The bundled encoding of an OpenAI model's tokenizer; ValueError saying why when there is none."""
    import bpe_openai

    try:
        return str(bpe_openai.encoding_name_for_model(model))
    except Exception as exc:
        raise ValueError(str(exc)) from None


@dataclass(frozen=True, slots=True)
class ModelView:
    """A model as clients see it: a project's own, or a built-in one (`managed`)."""

    model_id: str
    model_name: str
    match_pattern: str
    prices: dict[str, Decimal]
    unit: str
    start_date: datetime | None
    created_at: datetime
    tokenizer: str | None
    managed: bool

    @classmethod
    def of(cls, m: ModelDefinition) -> ModelView:
        prices = {k: Decimal(v) for k, v in m.prices.items()}
        return cls(
            m.id,
            m.model_name,
            m.match_pattern,
            prices,
            m.unit,
            m.start_date,
            m.created_at,
            m.tokenizer_id,
            False,
        )

    @classmethod
    def builtin(cls, m: ModelPrice) -> ModelView:
        return cls(
            m.model_id,
            m.model_name,
            m.match_pattern,
            m.prices,
            "TOKENS",
            None,
            BUILTIN_CREATED_AT,
            m.tokenizer,
            True,
        )


def validate(spec: ModelSpec) -> ModelSpec:
    """The spec with its name trimmed, or InvalidInput saying which rule it breaks."""
    if not spec.match_pattern:
        raise InvalidInput("match pattern is required (a regular expression matched against model names)")
    check_pattern(spec.match_pattern, "match pattern")
    check_unit(spec.unit, "unit")
    if not spec.prices:
        raise InvalidInput("a model needs at least one price")
    for usage_type, price in spec.prices.items():
        check_price(price, f"price of {usage_type}")
    return replace(spec, model_name=check_name(spec.model_name, "model name"))


async def create(storage: Storage, project_id: str, spec: ModelSpec) -> ModelView:
    """Store a project model (admin checks are the caller's); prices apply from the next batch."""
    valid = validate(spec)
    model = ModelDefinition(
        project_id=project_id,
        model_name=valid.model_name,
        match_pattern=valid.match_pattern,
        start_date=valid.start_date,
        unit=valid.unit,
        prices={k: str(v) for k, v in valid.prices.items()},
        tokenizer_id=valid.tokenizer,
        tokenizer_config=valid.tokenizer_config,
    )
    created = await repo.create_model(storage.postgres, model)
    _cache.pop(project_id, None)
    return ModelView.of(created)


def builtins() -> list[ModelView]:
    """The shipped models (read-only)."""
    return [ModelView.builtin(m) for m in builtin_prices()]


async def list_models(storage: Storage, project_id: str) -> list[ModelView]:
    """The project's own models, newest first."""
    return [ModelView.of(m) for m in await repo.list_models(storage.postgres, project_id)]


async def list_models_page(
    storage: Storage, project_id: str, limit: int, offset: int
) -> tuple[list[ModelView], int]:
    """A page of the project's models (newest first) followed by the built-in ones, and the total."""
    own_total = await repo.count_models(storage.postgres, project_id)
    shipped = builtins()
    own = await repo.list_models(storage.postgres, project_id, limit, offset) if offset < own_total else []
    page = [ModelView.of(m) for m in own]
    if len(page) < limit:
        first_builtin = max(0, offset - own_total)
        page += shipped[first_builtin : first_builtin + limit - len(page)]
    return page, own_total + len(shipped)


async def fetch_model(storage: Storage, project_id: str, model_id: str) -> ModelView:
    """A project model or a built-in one by id, or NotFound."""
    model = await repo.fetch_model(storage.postgres, project_id, model_id)
    if model is not None:
        return ModelView.of(model)
    found = next((m for m in builtins() if m.model_id == model_id), None)
    if found is None:
        raise NotFound(f"no model {model_id!r}")
    return found


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

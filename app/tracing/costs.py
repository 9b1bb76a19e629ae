"""Usage and cost: provided values win; else model prices (project models over built-ins) times usage,
counting tokens offline when usage is missing and the model has a tokenizer."""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from app.storage.clickhouse.write_rows import ObservationRow
from app.tracing.numbers import MAX_COST, make_storable

PRICED_TYPES = frozenset({"GENERATION", "EMBEDDING"})
_DATA = Path(__file__).with_name("data") / "model_prices.json"


@dataclass(frozen=True, slots=True, eq=False)
class ModelPrice:
    """A model definition: which model names it matches, and its price per unit of each usage type.
    Compared and hashed by identity, so a catalogue (a tuple of them) can key a cache."""

    model_id: str
    model_name: str
    match_pattern: str
    prices: dict[str, Decimal]
    tokenizer: str | None = None
    start_date: datetime | None = None
    project_id: str | None = None  # None: built in


@functools.cache
def builtin_prices() -> tuple[ModelPrice, ...]:
    """The shipped price table (data, not code)."""
    doc = json.loads(_DATA.read_text())
    return tuple(
        ModelPrice(
            model_id=f"builtin:{m['modelName']}",
            model_name=m["modelName"],
            match_pattern=m["matchPattern"],
            prices={k: Decimal(str(v)) for k, v in m["prices"].items()},
            tokenizer=m.get("tokenizer"),
        )
        for m in doc["models"]
    )


@functools.lru_cache(maxsize=4096)
def _pattern(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except re.error:
        return None


@functools.lru_cache(maxsize=4096)
def _matching(models: tuple[ModelPrice, ...], model_name: str) -> tuple[ModelPrice, ...]:
    """The models whose pattern matches the name (cached: a batch repeats a few names many times)."""
    return tuple(m for m in models if (p := _pattern(m.match_pattern)) is not None and p.match(model_name))


def match_model(models: tuple[ModelPrice, ...], model_name: str, at: datetime) -> ModelPrice | None:
    """Project models before built-ins; among matches, the newest start date not after `at`."""
    best: ModelPrice | None = None
    for model in _matching(models, model_name):
        if model.start_date is not None and model.start_date > at:
            continue
        if best is None or _rank(model) > _rank(best):
            best = model
    return best


def _rank(model: ModelPrice) -> tuple[int, float]:
    return (model.project_id is not None, model.start_date.timestamp() if model.start_date else 0.0)


@functools.lru_cache(maxsize=8)
def _encoding(name: str) -> Any:
    import bpe_openai

    return bpe_openai.get_encoding(name)


def _text_of(value: str | None) -> str:
    """The text a model saw: message contents when the value is chat JSON, else the value itself."""
    if not value:
        return ""
    try:
        parsed = json.loads(value)
    except ValueError:
        return value
    if isinstance(parsed, str):
        return parsed
    parts: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, str):
            parts.append(node)
        elif isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            walk(node.get("content", node.get("text", "")))

    walk(parsed)
    return "\n".join(parts) if parts else value


def count_tokens(tokenizer: str, text: str) -> int:
    """Tokens of `text` with a bundled BPE encoding (no download)."""
    return len(_encoding(tokenizer).encode(text)) if text else 0


def price_usage(model: ModelPrice, usage: dict[str, int]) -> dict[str, Decimal]:
    """Cost per usage type (USD) and their `total`; empty when the model prices none of them."""
    prices = model.prices
    costs = {k: Decimal(n) * prices[k] for k, n in usage.items() if k in prices and k != "total"}
    if costs:
        costs["total"] = sum(costs.values(), Decimal(0))
    elif "total" in usage and "total" in prices:  # a model priced per total unit only
        costs = {"total": Decimal(usage["total"]) * prices["total"]}
    # A cost past what a column holds is left whole (and dropped with a note by make_storable): quantizing
    # it to 12 places could exceed the decimal context's precision.
    return {k: v.quantize(Decimal("1e-12")) if v <= MAX_COST else v for k, v in costs.items()}


def enrich(row: ObservationRow, models: tuple[ModelPrice, ...]) -> None:
    """Fill usage (tokenizer) and cost (prices) where the row did not bring them; provided values win.
    Usage always gets a `total` (the sum of the others when not given), as aggregates read it. Then
    every numeric value is made storable (a computed one can overflow too: huge usage times a price)."""
    _fill(row, models)
    make_storable(row)


def _fill(row: ObservationRow, models: tuple[ModelPrice, ...]) -> None:
    if row.usage_details and "total" not in row.usage_details:
        row.usage_details["total"] = sum(row.usage_details.values())
    if row.type not in PRICED_TYPES or not row.provided_model_name:
        return
    model = match_model(models, row.provided_model_name, row.start_time)
    if model is None:
        return
    row.internal_model_id = model.model_id
    if not row.usage_details and model.tokenizer:
        usage = {"input": count_tokens(model.tokenizer, _text_of(row.input))}
        if row.output is not None:
            usage["output"] = count_tokens(model.tokenizer, _text_of(row.output))
        usage["total"] = sum(usage.values())
        row.usage_details = usage
    if not row.cost_details and row.usage_details:
        row.cost_details = price_usage(model, row.usage_details)
    if row.cost_details:
        row.total_cost = row.cost_details.get("total", sum(row.cost_details.values(), Decimal(0)))

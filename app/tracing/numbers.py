"""Numeric observation values made storable: usage counts, costs and prompt versions are converted and
range-checked; a value that cannot be stored is left out and named, with the reason, in the
observation's metadata under `langhouse.dropped`. Pure functions (intake validation calls them too)."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from app.storage.clickhouse.write_rows import ObservationRow

DROPPED = "langhouse.dropped"
# Usage is stored as UInt64 and summed as Int64 by the aggregates: a trillion units of one type in one
# observation is far past any model's usage, and millions of such rows still sum without overflow.
MAX_USAGE = 10**12
# Costs are Decimal64(12) (USD): 18 digits, 12 of them after the point; ClickHouse refuses a row with more.
MAX_COST = Decimal("999999.999999999999")
MAX_PROMPT_VERSION = 2**32 - 1  # UInt32
_QUANTUM = Decimal("1e-12")


class Unstorable(ValueError):
    """A value that cannot be stored; the message says why (it follows the value in a note)."""


def _shown(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def number_problem(value: Any) -> str | None:
    """Why a usage or cost value is no number at all (a bool, a list, a non-numeric string), or None.
    Absent values (None) and nested objects (OpenAI's `*_details`) are not usage values: None for them."""
    if value is None or isinstance(value, dict):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        return f"must be a number, not {type(value).__name__}"
    if isinstance(value, str):
        try:
            Decimal(value.strip())
        except InvalidOperation:
            return f"must be a number, not {_shown(value)}"
    return None


def _decimal(value: Any) -> Decimal:
    problem = number_problem(value)
    if problem:
        raise Unstorable(f"not a number ({problem.removeprefix('must be a number, not ')})")
    number = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
    if not number.is_finite():
        raise Unstorable("not a finite number")
    if number < 0:
        raise Unstorable("negative")
    return number


def usage_count(value: Any) -> int:
    """A usage value as a whole count in [0, MAX_USAGE] (fractions cut); Unstorable says why not."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_USAGE:
        return value  # the common case, without a detour through Decimal
    number = _decimal(value)
    if number > MAX_USAGE:
        raise Unstorable(f"more than {MAX_USAGE} units")
    return int(number)


def cost_amount(value: Any) -> Decimal:
    """A cost (USD) in [0, MAX_COST], rounded to 12 decimal places; Unstorable says why not."""
    if type(value) is Decimal and value.is_finite() and 0 <= value <= MAX_COST:
        return value.quantize(_QUANTUM)  # the common case (mapped and computed costs)
    number = _decimal(value)
    if number > MAX_COST:
        raise Unstorable(f"more than {MAX_COST} USD, the largest storable cost")
    return number.quantize(_QUANTUM)


def storable_usage(
    raw: Mapping[Any, Any], field: str = "usage_details"
) -> tuple[dict[str, int], dict[str, str]]:
    """The storable entries of a usage map, and a note (`field.key` → value: reason) per dropped one."""
    usage: dict[str, int] = {}
    notes: dict[str, str] = {}
    for key, value in raw.items():
        if value is None or isinstance(value, dict):
            continue
        try:
            usage[str(key)] = usage_count(value)
        except Unstorable as exc:
            notes[f"{field}.{key}"] = f"{_shown(value)}: {exc}"
    return usage, notes


def storable_costs(
    raw: Mapping[Any, Any], field: str = "cost_details"
) -> tuple[dict[str, Decimal], dict[str, str]]:
    """The storable entries of a cost map, and a note (`field.key` → value: reason) per dropped one."""
    costs: dict[str, Decimal] = {}
    notes: dict[str, str] = {}
    for key, value in raw.items():
        if value is None or isinstance(value, dict):
            continue
        try:
            costs[str(key)] = cost_amount(value)
        except Unstorable as exc:
            notes[f"{field}.{key}"] = f"{_shown(value)}: {exc}"
    return costs, notes


def map_problem(raw: Any, field: str) -> str | None:
    """Why a usage or cost map given at intake holds a value that is no number (naming it), or None."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        return f"{field} must be an object"
    for key, value in raw.items():
        if problem := number_problem(value):
            return f"{field}.{key} {problem}"
    return None


def merge_notes(old: Any, new: Mapping[str, str]) -> dict[str, str]:
    """Notes of dropped values so far (a dict, or its JSON text) with the new ones."""
    if isinstance(old, str):
        try:
            old = json.loads(old)
        except ValueError:
            old = {"metadata": old}
    return {**(old if isinstance(old, dict) else {}), **new}


def note_dropped(row: ObservationRow, notes: Mapping[str, str]) -> None:
    """Name dropped values in the row's metadata (`langhouse.dropped`, merged with earlier notes)."""
    if not notes:
        return
    names, values = row.metadata_names, row.metadata_values
    if DROPPED in names:
        i = names.index(DROPPED)
        values[i] = json.dumps(merge_notes(values[i], notes), ensure_ascii=False)
    else:
        row.metadata_names = [*names, DROPPED]
        row.metadata_values = [*values, json.dumps(dict(notes), ensure_ascii=False)]


def make_storable(row: ObservationRow) -> None:
    """Drop every numeric value of the row that its column cannot hold, noting each in its metadata.
    The last step before a row is encoded: covers provided values and computed ones (totals, prices)."""
    usage: dict[str, int] = row.usage_details
    notes: dict[str, str] = {}
    if not all(type(v) is int and 0 <= v <= MAX_USAGE for v in usage.values()):  # mapped ones are
        usage, notes = storable_usage(usage)
    costs, cost_notes = storable_costs(row.cost_details)
    notes.update(cost_notes)
    row.usage_details, row.cost_details = usage, costs
    if row.total_cost is not None:
        try:
            row.total_cost = cost_amount(row.total_cost)
        except Unstorable as exc:
            notes["total_cost"] = f"{_shown(row.total_cost)}: {exc}"
            row.total_cost = None
    version: Any = row.prompt_version
    if version is not None and not (
        isinstance(version, int) and not isinstance(version, bool) and 0 <= version <= MAX_PROMPT_VERSION
    ):
        notes["prompt_version"] = f"{_shown(version)}: not a whole number in [0, {MAX_PROMPT_VERSION}]"
        row.prompt_version = None
    note_dropped(row, notes)


def is_finite_number(value: Any) -> bool:
    """True for an int or float (not a bool) that is finite."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float
        return False

"""Evaluation rule filters: validation of the SDK's filter objects and compilation into predicates over an
observation row (the decoded JSON line of `ObservationRow`), plus deterministic sampling.

Columns and operators are those of langfuse 5.2.0's `evaluation_commons` types; each column accepts
exactly one filter type. Experiment columns read the metadata key "experiment" that ingestion keeps
(the same fields sql/clickhouse/0009_experiment_items.sql reads).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import orjson

from app.errors import InvalidInput
from app.tracing.chat import chat_messages

Row = dict[str, Any]
Predicate = Callable[[Row], bool]

# column → the one filter type it accepts
COLUMN_TYPES: dict[str, str] = {
    "type": "stringOptions",
    "name": "stringOptions",
    "environment": "stringOptions",
    "level": "stringOptions",
    "version": "string",
    "traceName": "stringOptions",
    "userId": "string",
    "sessionId": "string",
    "tags": "arrayOptions",
    "metadata": "stringObject",
    "isRootObservation": "boolean",
    "parentObservationId": "null",
    "experimentId": "stringOptions",
    "isExperimentItemRootSpan": "boolean",
    "calledToolNames": "arrayOptions",
    "toolCalls": "number",
    "datasetId": "stringOptions",
}
_COMPARISON = ("=", ">", "<", ">=", "<=")
_STRING = ("=", "contains", "does not contain", "starts with", "ends with")
OPERATORS: dict[str, tuple[str, ...]] = {
    "string": _STRING,
    "number": _COMPARISON,
    "datetime": _COMPARISON,
    "stringOptions": ("any of", "none of"),
    "categoryOptions": ("any of", "none of"),
    "arrayOptions": ("any of", "none of", "all of"),
    "stringObject": (*_STRING, "is set", "is not set"),
    "numberObject": _COMPARISON,
    "boolean": ("=", "<>"),
    "null": ("is null", "is not null"),
}
_OBSERVATION_TYPES = "SPAN EVENT GENERATION AGENT TOOL CHAIN RETRIEVER EVALUATOR EMBEDDING GUARDRAIL"
OPTION_VALUES: dict[str, tuple[str, ...]] = {
    "type": tuple(_OBSERVATION_TYPES.split()),
    "level": ("DEBUG", "DEFAULT", "WARNING", "ERROR"),
}
_KEYED = ("stringObject", "numberObject", "categoryOptions")
_ROW_KEYS = {
    "type": "type",
    "name": "name",
    "environment": "environment",
    "level": "level",
    "version": "version",
    "traceName": "trace_name",
    "userId": "user_id",
    "sessionId": "session_id",
    "tags": "tags",
    "parentObservationId": "parent_observation_id",
}


def validate_filters(raw: object) -> list[dict[str, Any]]:
    """The filter list normalised for storage; `InvalidInput` naming `filter[i].<field>` when one is wrong."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise InvalidInput("filter: must be a list of filter objects")
    return [_validate_one(i, f) for i, f in enumerate(raw)]


def _validate_one(i: int, f: object) -> dict[str, Any]:
    at = f"filter[{i}]"
    if not isinstance(f, dict):
        raise InvalidInput(f"{at}: must be an object")
    column, ftype, op = f.get("column"), f.get("type"), f.get("operator")
    if column not in COLUMN_TYPES:
        raise InvalidInput(f"{at}.column: unknown column {column!r}; one of {', '.join(COLUMN_TYPES)}")
    expected = COLUMN_TYPES[str(column)]
    if ftype is None:
        ftype = expected
    if ftype not in OPERATORS:
        raise InvalidInput(f"{at}.type: unknown filter type {ftype!r}")
    if ftype != expected:
        raise InvalidInput(f"{at}.column: {column} takes filters of type {expected}, not {ftype}")
    if op not in OPERATORS[expected]:
        raise InvalidInput(f"{at}.operator: {expected} filters take {', '.join(OPERATORS[expected])}")
    out: dict[str, Any] = {"type": expected, "column": column, "operator": op}
    if expected in _KEYED:
        key = f.get("key")
        if not isinstance(key, str) or not key:
            raise InvalidInput(f"{at}.key: required for {column}")
        out["key"] = key
    out["value"] = _value(
        at, str(column), expected, str(op), f.get("value", "" if expected == "null" else None)
    )
    return out


def _value(at: str, column: str, ftype: str, op: str, value: object) -> object:
    bad = InvalidInput(f"{at}.value: wrong value for a {ftype} filter")
    if ftype in ("string", "stringObject"):
        if not isinstance(value, str):
            raise bad
        return value
    if ftype in ("number", "numberObject"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad
        return float(value)
    if ftype == "datetime":
        try:
            return datetime.fromisoformat(str(value).replace("Z", "+00:00")).isoformat()
        except ValueError:
            raise bad from None
    if ftype == "boolean":
        if not isinstance(value, bool):
            raise bad
        return value
    if ftype == "null":
        if value not in ("", None):
            raise bad
        return ""
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise InvalidInput(f"{at}.value: a non-empty list of strings")
    allowed = OPTION_VALUES.get(column)
    if allowed is not None:
        wrong = [v for v in value if v not in allowed]
        if wrong:
            raise InvalidInput(f"{at}.value: {wrong[0]!r} is not one of {', '.join(allowed)}")
    return list(value)


_COSTLY = frozenset({"calledToolNames", "toolCalls"})  # parse the output: tested last


def compile_filters(filters: Iterable[dict[str, Any]]) -> Callable[[Row], bool]:
    """One predicate over an observation row dict: true when every filter holds (no filters: always)."""
    ordered = sorted(filters, key=lambda f: f.get("column") in _COSTLY)
    preds = [_compile_one(f) for f in ordered]
    if not preds:
        return lambda _row: True
    if len(preds) == 1:
        return preds[0]
    if len(preds) == 2:
        first, second = preds
        return lambda row: first(row) and second(row)

    return lambda row: all(p(row) for p in preds)


def sample_point(target_id: str) -> float:
    """Where this id falls in [0, 1): a hash, so the same id always falls at the same point."""
    digest = hashlib.blake2b(target_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def sampled(target_id: str, rate: float) -> bool:
    """Deterministic sampling: the same target id is always in or out for a given rate (and one kept at
    a rate is kept at every higher rate)."""
    if rate >= 1:
        return True
    if rate <= 0:
        return False
    return sample_point(target_id) < rate


def metadata_value(row: Row, key: str) -> str | None:
    names: list[str] = row.get("metadata_names") or []
    if key not in names:
        return None
    values: list[str] = row.get("metadata_values") or []
    i = names.index(key)
    return str(values[i]) if i < len(values) else None


def experiment(row: Row) -> dict[str, Any]:
    """The experiment attributes an SDK experiment run put on this span ({} when none)."""
    cached = row.get("_experiment")
    if cached is None:
        text = metadata_value(row, "experiment")
        try:
            doc = orjson.loads(text) if text else {}
        except orjson.JSONDecodeError:
            doc = {}
        cached = row["_experiment"] = doc if isinstance(doc, dict) else {}
    return cached


def is_experiment_item_root(row: Row) -> bool:
    exp = experiment(row)
    return bool(exp.get("id")) and exp.get("item.root_observation_id") == row.get("id")


def tool_call_names(row: Row) -> list[str]:
    """Names of the tool calls the model made in this observation's output, in order."""
    cached = row.get("_tool_calls")
    if cached is None:
        output = (row.get("output") or "").lstrip()
        messages = chat_messages(output) if output[:1] in ("{", "[") else None  # only JSON holds calls
        messages = messages or []
        cached = row["_tool_calls"] = [c.name for m in messages for c in m.tool_calls]
    return cached


def _reader(column: str, key: str | None) -> Callable[[Row], Any]:
    if column in _ROW_KEYS:
        name = _ROW_KEYS[column]
        return lambda row: row.get(name)
    if column == "metadata":
        k = str(key)
        return lambda row: metadata_value(row, k)
    if column == "isRootObservation":
        return lambda row: not row.get("parent_observation_id")
    if column == "experimentId":
        return lambda row: _text(experiment(row).get("id"))
    if column == "datasetId":
        return lambda row: _text(experiment(row).get("dataset.id"))
    if column == "isExperimentItemRootSpan":
        return is_experiment_item_root
    if column == "calledToolNames":
        return tool_call_names
    if column == "toolCalls":
        return lambda row: len(tool_call_names(row))
    raise InvalidInput(f"filter column {column!r} is unknown")


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _compile_one(f: dict[str, Any]) -> Predicate:
    column, op, value = str(f.get("column")), str(f.get("operator")), f.get("value")
    ftype = COLUMN_TYPES.get(column, str(f.get("type")))
    read = _reader(column, f.get("key"))
    if ftype in ("string", "stringObject"):
        if ftype == "stringObject" and op in ("contains", "starts with", "ends with") and not value:
            op = "is set"  # the SDK's contract: an empty value there means key presence
        return _string(read, op, str(value or ""))
    if ftype == "number":
        return _number(read, op, float(value or 0))
    if ftype == "stringOptions":
        options = frozenset(value or ())
        if column in _ROW_KEYS:  # the common case, without the reader's extra call
            name = _ROW_KEYS[column]
            if op == "any of":
                return lambda row: row.get(name) in options
            return lambda row: row.get(name) not in options
        if op == "any of":
            return lambda row: read(row) in options
        return lambda row: read(row) not in options
    if ftype == "arrayOptions":
        wanted = frozenset(value or ())
        if op == "any of":
            return lambda row: not wanted.isdisjoint(read(row) or ())
        if op == "none of":
            return lambda row: wanted.isdisjoint(read(row) or ())
        return lambda row: wanted.issubset(read(row) or ())
    if ftype == "boolean":
        flag = bool(value)
        if op == "=":
            return lambda row: bool(read(row)) is flag
        return lambda row: bool(read(row)) is not flag
    if ftype == "null":
        if op == "is null":
            return lambda row: read(row) in (None, "")
        return lambda row: read(row) not in (None, "")
    raise InvalidInput(f"filter type {ftype!r} has no column")


def _string(read: Callable[[Row], Any], op: str, value: str) -> Predicate:
    if op == "is set":
        return lambda row: read(row) is not None
    if op == "is not set":
        return lambda row: read(row) is None
    if op == "=":
        return lambda row: read(row) == value
    if op == "contains":
        return lambda row: value in (read(row) or "")
    if op == "does not contain":
        return lambda row: value not in (read(row) or "")
    if op == "starts with":
        return lambda row: (read(row) or "").startswith(value)
    return lambda row: (read(row) or "").endswith(value)


def _number(read: Callable[[Row], Any], op: str, value: float) -> Predicate:
    compare: dict[str, Callable[[float, float], bool]] = {
        "=": lambda a, b: a == b,
        ">": lambda a, b: a > b,
        "<": lambda a, b: a < b,
        ">=": lambda a, b: a >= b,
        "<=": lambda a, b: a <= b,
    }
    fn = compare[op]
    return lambda row: fn(float(read(row) or 0), value)

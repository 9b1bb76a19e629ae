"""Decode OTLP/JSON trace exports into spans, a span that cannot be read refused on its own; pure."""

from __future__ import annotations

import json
import math
from typing import Any

from app.errors import InvalidInput
from app.storage import json_text
from app.tracing.span import LEVEL_KEY, Attributes, Decoded, Span, SpanEvent, make_span, span_problem


def _list(obj: dict[str, Any], key: str, where: str) -> list[Any]:
    value = obj.get(key, [])
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidInput(f"{where}.{key} must be a list")
    return value


def _int(value: Any, where: str) -> int:
    if isinstance(value, dict):  # {low, high} from some JS encoders
        return (int(value.get("high", 0)) << 32) | (int(value.get("low", 0)) & 0xFFFFFFFF)
    try:
        return int(value or 0)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"{where} must be an integer") from exc


_SPECIAL_DOUBLES = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def _double(value: Any) -> float | None:
    if isinstance(value, str) and value in _SPECIAL_DOUBLES:
        return _SPECIAL_DOUBLES[value]
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _json_value(v: Any) -> Any:
    if not isinstance(v, dict):
        return None
    if "stringValue" in v:
        return v["stringValue"]
    if "boolValue" in v:
        return bool(v["boolValue"])
    if "intValue" in v:
        return _int(v["intValue"], "intValue")
    if "doubleValue" in v:
        return _double(v["doubleValue"])
    if "arrayValue" in v:
        return [_json_value(x) for x in (v["arrayValue"] or {}).get("values", []) or []]
    if "kvlistValue" in v:
        return {
            kv.get("key", ""): _json_value(kv.get("value"))
            for kv in (v["kvlistValue"] or {}).get("values", []) or []
        }
    if "bytesValue" in v:
        return v["bytesValue"]
    return None


def _json_attrs(items: Any, where: str) -> Attributes:
    if items is None:
        return {}
    if not isinstance(items, list):
        raise InvalidInput(f"{where}.attributes must be a list")
    return {str(kv.get("key", "")): _json_value(kv.get("value")) for kv in items if isinstance(kv, dict)}


def _hex_id(value: Any, length: int, what: str, name: str) -> str:
    if not isinstance(value, str) or len(value) != length:
        raise InvalidInput(f"span {name!r} has no valid {what} ({length} hex characters)")
    try:
        int(value, 16)
    except ValueError as exc:
        raise InvalidInput(f"span {name!r} has no valid {what} ({length} hex characters)") from exc
    return value.lower()


MAX_JSON_DEPTH = 4 * json_text.MAX_DEPTH + 12
"""Deepest nesting of an OTLP JSON body: an attribute value nests four JSON levels per level of its own."""


def decode_spans(body: bytes, now_ns: int) -> Decoded:
    """The spans of an OTLP/JSON export received at `now_ns`, leaving out (with the reason) those that
    cannot be read or that `span_problem` refuses; InvalidInput when the body as a whole cannot be read."""
    try:
        text = body.decode()
    except UnicodeDecodeError as exc:
        raise InvalidInput("body is not valid JSON (not UTF-8)") from exc
    if json_text.too_deep(text, MAX_JSON_DEPTH):
        raise InvalidInput(f"body nests deeper than {MAX_JSON_DEPTH} levels")
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise InvalidInput("body is not valid JSON") from exc
    if not isinstance(doc, dict):
        raise InvalidInput("body must be an OTLP ExportTraceServiceRequest JSON object")
    spans, rejected = [], []
    for i, rs in enumerate(_list(doc, "resourceSpans", "request")):
        where = f"resourceSpans[{i}]"
        if not isinstance(rs, dict):
            raise InvalidInput(f"{where} must be an object")
        resource = _json_attrs((rs.get("resource") or {}).get("attributes"), f"{where}.resource")
        for j, ss in enumerate(_list(rs, "scopeSpans", where)):
            if not isinstance(ss, dict):
                raise InvalidInput(f"{where}.scopeSpans[{j}] must be an object")
            scope = ss.get("scope") or {}
            for k, s in enumerate(_list(ss, "spans", f"{where}.scopeSpans[{j}]")):
                at = f"{where}.scopeSpans[{j}].spans[{k}]"
                try:
                    span = _json_span(s, at, resource, scope)
                except InvalidInput as exc:
                    rejected.append(f"{at}: {exc}")
                    continue
                level = span.attributes.get(LEVEL_KEY)
                problem = span_problem(
                    span.name, span.trace_id, span.span_id, span.start_ns, span.end_ns, level, now_ns
                )
                if problem is None:
                    spans.append(span)
                else:
                    rejected.append(problem)
    return Decoded(spans, rejected)


def _json_span(s: Any, at: str, resource: Attributes, scope: dict[str, Any]) -> Span:
    if not isinstance(s, dict):
        raise InvalidInput("a span must be an object")
    name = str(s.get("name", ""))
    parent = s.get("parentSpanId") or None
    status = s.get("status") or {}
    return make_span(
        trace_id=_hex_id(s.get("traceId"), 32, "traceId", name),
        span_id=_hex_id(s.get("spanId"), 16, "spanId", name),
        parent=_hex_id(parent, 16, "parentSpanId", name) if parent else None,
        name=name,
        start_ns=_int(s.get("startTimeUnixNano"), f"{at}.startTimeUnixNano"),
        end_ns=_int(s.get("endTimeUnixNano"), f"{at}.endTimeUnixNano"),
        attributes=_json_attrs(s.get("attributes"), at),
        resource=resource,
        scope=(str(scope.get("name", "")), str(scope.get("version", ""))),
        status=(_int(status.get("code"), f"{at}.status.code"), str(status.get("message", ""))),
        events=tuple(
            SpanEvent(
                str(e.get("name", "")),
                _int(e.get("timeUnixNano"), f"{at}.events.timeUnixNano"),
                _json_attrs(e.get("attributes"), f"{at}.events"),
            )
            for e in _list(s, "events", at)
            if isinstance(e, dict)
        ),
    )

"""Decode OTLP trace exports (protobuf or JSON, optionally gzip) into plain spans; pure, no I/O."""

from __future__ import annotations

import gzip
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar, cast

from google.protobuf.message import DecodeError, Message
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTracePartialSuccess,
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import Span as PbSpan
from zlib_ng import zlib_ng as zlib

from app.errors import InvalidInput, PayloadTooLarge
from app.storage import json_text

Attributes = dict[str, Any]
MAX_DECOMPRESSED = 64 * 1024 * 1024
"""The most a stored request may inflate to when the worker maps it (intake applies the setting)."""
M = TypeVar("M", bound=Message)


@dataclass(frozen=True, slots=True)
class SpanEvent:
    name: str
    time_ns: int
    attributes: Attributes


@dataclass(frozen=True, slots=True)
class Span:
    """One span with lowercase-hex ids, Unix-nanosecond times and decoded attribute values."""

    trace_id: str
    span_id: str
    parent_span_id: str | None
    name: str
    start_ns: int
    end_ns: int
    attributes: Attributes
    resource: Attributes
    scope_name: str
    scope_version: str
    status_code: int = 0
    status_message: str = ""
    events: tuple[SpanEvent, ...] = field(default=())


def decompress(body: bytes, encoding: str | None, limit: int = MAX_DECOMPRESSED) -> bytes:
    """Undo Content-Encoding gzip/deflate, refusing bombs larger than `limit` bytes (413). zlib-ng, the
    standard library's zlib API over a faster implementation: 6x faster here on exporters' batches,
    and every batch is inflated twice (checked on intake, mapped by the worker)."""
    encoding = (encoding or "identity").strip().lower()
    if encoding in ("", "identity"):
        return body
    try:
        if encoding == "gzip":
            d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            d = zlib.decompressobj()
        else:
            raise InvalidInput(f"unsupported Content-Encoding {encoding!r}; use gzip or none")
        out = d.decompress(body, limit)
        if d.unconsumed_tail:
            raise PayloadTooLarge(f"request body decompresses to more than {limit} bytes")
        return out
    except (cast(type[Exception], zlib.error), gzip.BadGzipFile) as exc:  # its stub mistypes `error`
        raise InvalidInput(f"body is not valid {encoding} data") from exc


@dataclass(frozen=True, slots=True)
class Decoded:
    """The spans of an export that pass `span_problem`, and why each other span was refused."""

    spans: list[Span]
    rejected: list[str]


@dataclass(frozen=True, slots=True)
class Checked:
    """How many spans of an export are accepted, and why each other span was refused."""

    accepted: int
    rejected: list[str]


def _media(content_type: str | None) -> str:
    media = (content_type or "").split(";")[0].strip().lower()
    if media not in ("application/x-protobuf", "application/json"):
        raise InvalidInput(
            f"unsupported Content-Type {content_type!r}: use application/x-protobuf or application/json"
        )
    return media


def parse_export(body: bytes, content_type: str | None, received: datetime) -> Decoded:
    """Decode an ExportTraceServiceRequest received at `received`, leaving out the spans `span_problem`
    refuses; InvalidInput when the request as a whole cannot be decoded."""
    now_ns = _ns(received)
    if _media(content_type) == "application/json":
        return _from_json(body, now_ns)
    spans, rejected = [], []
    resource: Attributes = {}
    last = None
    for rs, scope, s, problem in _pb_spans(body):
        if problem is not None or s is None or scope is None or rs is None:
            rejected.append(problem or "span could not be decoded")
            continue
        # The same check as _pb_problem's, on the ids and attributes converted once for the span.
        trace_id, span_id, attributes = s.trace_id.hex(), s.span_id.hex(), _pb_attrs(s.attributes)
        start_ns, end_ns = s.start_time_unix_nano, s.end_time_unix_nano
        level = attributes.get(LEVEL_KEY)
        if problem := span_problem(s.name, trace_id, span_id, start_ns, end_ns, level, now_ns):
            rejected.append(problem)
            continue
        if rs is not last:
            resource, last = _pb_attrs(rs.attributes), rs
        spans.append(
            _span(
                trace_id=trace_id,
                span_id=span_id,
                parent=s.parent_span_id.hex() if len(s.parent_span_id) == 8 else None,
                name=s.name,
                start_ns=start_ns,
                end_ns=end_ns,
                attributes=attributes,
                resource=resource,
                scope=(scope.name, scope.version),
                status=(s.status.code, s.status.message),
                events=tuple(SpanEvent(e.name, e.time_unix_nano, _pb_attrs(e.attributes)) for e in s.events),
            )
        )
    return Decoded(spans, rejected)


def check_export(body: bytes, content_type: str | None, received: datetime) -> Checked:
    """What `parse_export` would keep and refuse, as the HTTP layer must know before storing the request.

    For protobuf this checks each span without converting its attributes: the worker does that later.
    """
    if _media(content_type) == "application/json":
        decoded = _from_json(body, _ns(received))
        return Checked(len(decoded.spans), decoded.rejected)
    now_ns, accepted, rejected = _ns(received), 0, []
    for rs, scope, s, problem in _pb_spans(body):
        if problem is None and s is not None and scope is not None and rs is not None:
            problem = _pb_problem(s, now_ns)
        if problem is None:
            accepted += 1
        else:
            rejected.append(problem)
    return Checked(accepted, rejected)


# --- the one check every span passes, at intake and again when mapped -----------------------

LEVELS = ("DEBUG", "DEFAULT", "WARNING", "ERROR")
LEVEL_KEY = "langfuse.observation.level"
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_AHEAD = timedelta(days=1)
"""Span times are accepted from EARLIEST to LATEST_AHEAD after the request was received."""


def _ns(moment: datetime) -> int:
    return int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1000


_EARLIEST_NS = _ns(EARLIEST)
_AHEAD_NS = int(LATEST_AHEAD.total_seconds()) * 1_000_000_000


def span_problem(
    name: str, trace_id: str, span_id: str, start_ns: int, end_ns: int, level: Any, now_ns: int
) -> str | None:
    """Why a span is refused (a message naming the span and the field), or None when it is stored.

    Ids are lowercase hex; times Unix nanoseconds (0 = absent); `now_ns` the time the request arrived.
    """
    if len(trace_id) != 32 or not trace_id.strip("0"):
        return f"span {name!r} has no valid traceId (32 hex characters, not all zero)"
    if len(span_id) != 16 or not span_id.strip("0"):
        return f"span {name!r} has no valid spanId (16 hex characters, not all zero)"
    if not start_ns and not end_ns:
        return f"span {name!r} has neither startTimeUnixNano nor endTimeUnixNano"
    latest = now_ns + _AHEAD_NS
    for field_name, value in (("startTimeUnixNano", start_ns), ("endTimeUnixNano", end_ns)):
        if value and not _EARLIEST_NS <= value <= latest:
            return (
                f"span {name!r}: {field_name} {value} is outside the accepted range "
                f"({EARLIEST:%Y-%m-%d} to one day after the request)"
            )
    if level is not None and level != "" and (not isinstance(level, str) or level.upper() not in LEVELS):
        return f"span {name!r}: {LEVEL_KEY} {level!r} is not one of {', '.join(LEVELS)}"
    return None


def rejection_message(rejected: list[str]) -> str:
    """One message for the refused spans of an export: how many, and why (the first ten)."""
    message = f"{len(rejected)} span(s) rejected: " + "; ".join(rejected[:10])
    return message + (f"; and {len(rejected) - 10} more" if len(rejected) > 10 else "")


def export_response(rejected: list[str], content_type: str | None) -> tuple[bytes, str]:
    """The OTLP answer to a partly accepted export (`partial_success`), encoded like the request."""
    message = rejection_message(rejected)
    if _media(content_type) == "application/json":
        doc = {"partialSuccess": {"rejectedSpans": len(rejected), "errorMessage": message}}
        return json.dumps(doc).encode(), "application/json"
    response = ExportTraceServiceResponse(
        partial_success=ExportTracePartialSuccess(rejected_spans=len(rejected), error_message=message)
    )
    return response.SerializeToString(), "application/x-protobuf"


# --- protobuf -------------------------------------------------------------------------------


def _decode_protobuf(body: bytes) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    try:
        request.ParseFromString(body)
    except DecodeError as exc:
        raise InvalidInput("body is not a valid OTLP ExportTraceServiceRequest protobuf") from exc
    return request


def _pb_value(v: AnyValue) -> Any:
    kind = v.WhichOneof("value")
    if kind == "string_value":
        return v.string_value
    if kind == "bool_value":
        return v.bool_value
    if kind == "int_value":
        return v.int_value
    if kind == "double_value":
        return v.double_value
    if kind == "array_value":
        return [_pb_value(x) for x in v.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _pb_value(kv.value) for kv in v.kvlist_value.values}
    if kind == "bytes_value":
        return v.bytes_value.hex()
    return None


def _pb_attrs(kvs: Any) -> Attributes:
    return {kv.key: _pb_value(kv.value) for kv in kvs}


def _pb_problem(s: PbSpan, now_ns: int) -> str | None:
    level = next((_pb_value(kv.value) for kv in s.attributes if kv.key == LEVEL_KEY), None)
    return span_problem(
        s.name, s.trace_id.hex(), s.span_id.hex(), s.start_time_unix_nano, s.end_time_unix_nano, level, now_ns
    )


PbItem = tuple[Resource | None, InstrumentationScope | None, PbSpan | None, str | None]


def _pb_spans(body: bytes) -> Iterator[PbItem]:
    """(resource, scope, span, None) for every span of an export, or (…, why) for a span that cannot be
    decoded. A message with a bad part (a string that is not UTF-8, say) is decoded piece by piece, so
    one bad span does not take the others with it; InvalidInput when the body is no protobuf at all."""
    try:
        request = _decode_protobuf(body)
    except InvalidInput:
        if not body:
            raise
        try:
            yield from _pb_spans_piecewise(body)
        except DecodeError as exc:
            raise InvalidInput("body is not a valid OTLP ExportTraceServiceRequest protobuf") from exc
        return
    for rs in request.resource_spans:
        for ss in rs.scope_spans:
            for s in ss.spans:
                yield rs.resource, ss.scope, s, None


def _pb_spans_piecewise(body: bytes) -> Iterator[PbItem]:
    for rs_index, (field_no, rs_bytes) in enumerate(_wire_fields(body)):
        if field_no != 1:
            continue
        parts = list(_wire_fields(rs_bytes))
        resource = _decoded(Resource, next((b for n, b in reversed(parts) if n == 1), b""))
        for n, ss_bytes in parts:
            if n != 2:
                continue
            ss_parts = list(_wire_fields(ss_bytes))
            scope = _decoded(InstrumentationScope, next((b for m, b in reversed(ss_parts) if m == 1), b""))
            spans = [b for m, b in ss_parts if m == 2]
            for span_index, span_bytes in enumerate(spans):
                span = _decoded(PbSpan, span_bytes)
                where = f"resourceSpans[{rs_index}]"
                if resource is None:
                    yield None, None, None, f"{where}.resource is not valid protobuf (a string not UTF-8?)"
                elif scope is None:
                    yield (
                        resource,
                        None,
                        None,
                        f"{where}: a scope is not valid protobuf",
                    )
                elif span is None:
                    yield (
                        resource,
                        scope,
                        None,
                        (f"{where}: span #{span_index} is not a valid protobuf Span (a string not UTF-8?)"),
                    )
                else:
                    yield resource, scope, span, None


def _decoded(kind: type[M], data: bytes) -> M | None:
    message: M = kind()
    try:
        message.ParseFromString(data)
    except DecodeError:
        return None
    return message


def _wire_fields(data: bytes) -> Iterator[tuple[int, bytes]]:
    """(field number, bytes) of each length-delimited field of a protobuf message; others skipped."""
    i, end = 0, len(data)
    while i < end:
        tag, i = _varint(data, i)
        kind = tag & 7
        if kind == 0:
            _, i = _varint(data, i)
        elif kind == 1:
            i += 8
        elif kind == 5:
            i += 4
        elif kind == 2:
            size, i = _varint(data, i)
            if i + size > end:
                raise DecodeError("truncated field")
            yield tag >> 3, data[i : i + size]
            i += size
        else:
            raise DecodeError(f"unsupported wire type {kind}")
    if i != end:
        raise DecodeError("truncated message")


def _varint(data: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while i < len(data) and shift < 64:
        byte = data[i]
        i += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, i
        shift += 7
    raise DecodeError("bad varint")


# --- JSON -----------------------------------------------------------------------------------


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


def _from_json(body: bytes, now_ns: int) -> Decoded:
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
    return _span(
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


def _span(
    *,
    trace_id: str,
    span_id: str,
    parent: str | None,
    name: str,
    start_ns: int,
    end_ns: int,
    attributes: Attributes,
    resource: Attributes,
    scope: tuple[str, str],
    status: tuple[int, str],
    events: tuple[SpanEvent, ...],
) -> Span:
    start_ns = start_ns or end_ns
    end_ns = end_ns or start_ns
    return Span(
        trace_id,
        span_id,
        parent,
        name,
        start_ns,
        end_ns,
        attributes,
        resource,
        scope[0],
        scope[1],
        status[0],
        status[1],
        events,
    )

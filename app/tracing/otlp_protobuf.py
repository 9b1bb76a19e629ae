"""Decode OTLP/protobuf trace exports into spans, one bad span not taking the others with it; pure."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, TypeVar

from google.protobuf.message import DecodeError, Message
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import Span as PbSpan

from app.errors import InvalidInput
from app.tracing.span import LEVEL_KEY, Attributes, Checked, Decoded, SpanEvent, make_span, span_problem

M = TypeVar("M", bound=Message)


def decode_spans(body: bytes, now_ns: int) -> Decoded:
    """The spans of an ExportTraceServiceRequest received at `now_ns`, leaving out those `span_problem`
    refuses; InvalidInput when the body is no protobuf at all."""
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
            make_span(
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


def check_spans(body: bytes, now_ns: int) -> Checked:
    """What `decode_spans` would keep and refuse, checking each span without converting its attributes."""
    accepted, rejected = 0, []
    for rs, scope, s, problem in _pb_spans(body):
        if problem is None and s is not None and scope is not None and rs is not None:
            problem = _pb_problem(s, now_ns)
        if problem is None:
            accepted += 1
        else:
            rejected.append(problem)
    return Checked(accepted, rejected)


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

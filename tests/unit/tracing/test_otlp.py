"""Request bodies are inflated with a bound: gzip and deflate round-trip; bombs and garbage are refused."""

from __future__ import annotations

import gzip
import zlib
from datetime import UTC, datetime

import pytest
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from app.errors import InvalidInput, PayloadTooLarge
from app.tracing.otlp import MAX_DECOMPRESSED, check_export, decompress, parse_export


def test_gzip_and_deflate_round_trip() -> None:
    body = b"span" * 10_000
    assert decompress(gzip.compress(body), "gzip") == body
    assert decompress(zlib.compress(body), " Deflate ") == body
    assert decompress(body, None) == decompress(body, "identity") == body


def test_a_bomb_garbage_and_unknown_encodings_are_refused() -> None:
    bomb = gzip.compress(b"\0" * (MAX_DECOMPRESSED + 1), compresslevel=1)
    with pytest.raises(PayloadTooLarge, match="decompresses to more than"):
        decompress(bomb, "gzip")
    with pytest.raises(PayloadTooLarge, match="more than 1024 bytes"):
        decompress(gzip.compress(b"x" * 1025), "gzip", limit=1024)
    assert decompress(gzip.compress(b"x" * 1024), "gzip", limit=1024) == b"x" * 1024
    with pytest.raises(InvalidInput, match="not valid gzip"):
        decompress(b"not gzip", "gzip")
    with pytest.raises(InvalidInput, match="not valid deflate"):
        decompress(b"not deflate", "deflate")
    with pytest.raises(InvalidInput, match="unsupported Content-Encoding 'br'"):
        decompress(b"x", "br")


NOW = datetime(2026, 11, 24, tzinfo=UTC)


def _export(*spans: tuple[bytes, bytes, int, int, str | None]) -> bytes:
    request = ExportTraceServiceRequest()
    scope = request.resource_spans.add().scope_spans.add()
    for i, (trace_id, span_id, start, end, level) in enumerate(spans):
        s = scope.spans.add()
        s.name, s.trace_id, s.span_id = f"s{i}", trace_id, span_id
        s.start_time_unix_nano, s.end_time_unix_nano = start, end
        if level is not None:
            kv = s.attributes.add()
            kv.key, kv.value.string_value = "langfuse.observation.level", level
    return request.SerializeToString()


def test_each_span_is_checked_on_its_own() -> None:
    ok = int(NOW.timestamp()) * 10**9
    body = _export(
        (b"\1" * 16, b"\1" * 8, ok, ok + 1, "warning"),
        (b"\1" * 15, b"\2" * 8, ok, ok, None),  # bad id length
        (b"\0" * 16, b"\3" * 8, ok, ok, None),  # all-zero trace id
        (b"\1" * 16, b"\0" * 8, ok, ok, None),  # all-zero span id
        (b"\1" * 16, b"\5" * 8, 10**9, ok, None),  # 1970
        (b"\1" * 16, b"\6" * 8, ok + 2 * 86400 * 10**9, 0, None),  # two days ahead
        (b"\1" * 16, b"\7" * 8, ok, ok, "loud"),
        (b"\1" * 16, b"\x08" * 8, ok, ok - 5, "ERROR"),  # end before start: kept
    )
    checked = check_export(body, "application/x-protobuf", NOW)
    decoded = parse_export(body, "application/x-protobuf", NOW)
    assert checked.accepted == len(decoded.spans) == 2
    assert checked.rejected == decoded.rejected and len(checked.rejected) == 6
    assert "'s1' has no valid traceId" in checked.rejected[0]
    assert "'s3' has no valid spanId" in checked.rejected[2]
    assert "startTimeUnixNano 1000000000 is outside the accepted range" in checked.rejected[3]
    assert "endTimeUnixNano" not in checked.rejected[4] and "startTimeUnixNano" in checked.rejected[4]
    assert "'loud' is not one of DEBUG, DEFAULT, WARNING, ERROR" in checked.rejected[5]


def test_a_span_with_invalid_utf8_is_refused_alone() -> None:
    ok = int(NOW.timestamp()) * 10**9
    body = _export((b"\1" * 16, b"\1" * 8, ok, ok, None), (b"\1" * 16, b"\2" * 8, ok, ok, None))
    body = body.replace(b"s1", b"\xff\xfe")  # the second span's name is no UTF-8
    with pytest.raises(DecodeError):
        ExportTraceServiceRequest.FromString(body)
    decoded = parse_export(body, "application/x-protobuf", NOW)
    assert [s.name for s in decoded.spans] == ["s0"]
    assert decoded.rejected == [
        "resourceSpans[0]: span #1 is not a valid protobuf Span (a string not UTF-8?)"
    ]
    assert check_export(body, "application/x-protobuf", NOW).accepted == 1
    with pytest.raises(InvalidInput, match="not a valid OTLP"):
        parse_export(b"\xff\xff\xff not protobuf", "application/x-protobuf", NOW)


def test_json_nested_too_deep_is_refused() -> None:
    body = b'{"resourceSpans": ' + b"[" * 10_000 + b"]" * 10_000 + b"}"
    with pytest.raises(InvalidInput, match="nests deeper than"):
        parse_export(body, "application/json", NOW)

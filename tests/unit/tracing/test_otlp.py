"""Request bodies are inflated with a bound: gzip and deflate round-trip; bombs and garbage are refused."""

from __future__ import annotations

import gzip
import zlib

import pytest

from app.errors import InvalidInput
from app.tracing.otlp import MAX_DECOMPRESSED, decompress


def test_gzip_and_deflate_round_trip() -> None:
    body = b"span" * 10_000
    assert decompress(gzip.compress(body), "gzip") == body
    assert decompress(zlib.compress(body), " Deflate ") == body
    assert decompress(body, None) == decompress(body, "identity") == body


def test_a_bomb_garbage_and_unknown_encodings_are_refused() -> None:
    bomb = gzip.compress(b"\0" * (MAX_DECOMPRESSED + 1), compresslevel=1)
    with pytest.raises(InvalidInput, match="decompresses to more than"):
        decompress(bomb, "gzip")
    with pytest.raises(InvalidInput, match="not valid gzip"):
        decompress(b"not gzip", "gzip")
    with pytest.raises(InvalidInput, match="not valid deflate"):
        decompress(b"not deflate", "deflate")
    with pytest.raises(InvalidInput, match="unsupported Content-Encoding 'br'"):
        decompress(b"x", "br")

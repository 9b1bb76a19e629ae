"""A connection's extra headers: checked names and values, and merged over the call's own headers."""

from __future__ import annotations

import pytest

from app.errors import InvalidInput
from app.playground.connections import LlmConnectionSpec, _validated, header_object, split_headers
from app.playground.providers import with_extra


def spec(headers: dict[str, str] | None) -> LlmConnectionSpec:
    return LlmConnectionSpec("gw", "openai", None, ["m"], "sk-0123456789", headers)


def test_extra_headers_replace_the_calls_own_in_any_case() -> None:
    own = {"Authorization": "Bearer sk", "anthropic-version": "2023-06-01"}
    merged = with_extra(own, {"authorization": "Bearer proxy", "X-Team": "evals"})
    assert merged == {"anthropic-version": "2023-06-01", "authorization": "Bearer proxy", "X-Team": "evals"}
    assert with_extra(own, {}) == own


def test_header_lines_and_objects() -> None:
    assert split_headers("X-Team: evals\n\n api-key : a:b \n") == {"X-Team": "evals", "api-key": "a:b"}
    with pytest.raises(InvalidInput, match="extraHeaders: line 2 is not"):
        split_headers("X-Team: evals\nnope")
    assert header_object(None) is None
    for bad in ([], {"a": 1}, "x"):
        with pytest.raises(InvalidInput, match="extraHeaders: an object"):
            header_object(bad)


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({"Bad Name": "x"}, "'Bad Name' is not a header name"),
        ({"Content-Length": "1"}, "'Content-Length' is not a header name"),
        ({"X-A": "one\r\nX-Injected: two"}, "extraHeaders.X-A: one line"),
        ({f"X-{i}": "v" for i in range(21)}, "at most 20 headers"),
    ],
)
def test_bad_extra_headers_are_refused_naming_them(headers: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        _validated(spec(headers), creating=True)
    assert _validated(spec({"X-Team": "evals"}), creating=True).extra_headers == {"X-Team": "evals"}
    assert _validated(spec(None), creating=False).extra_headers is None

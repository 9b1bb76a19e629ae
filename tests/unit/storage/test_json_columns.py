"""JSON columns decode as the standard decoder would, fast or not."""

from __future__ import annotations

import json

import pytest

from app.storage.postgres.engine import _json_loads


@pytest.mark.parametrize(
    "text",
    ['{"a": [1, 2.5, null, true, "x"]}', '"text"', "[1180591620717411303424]", '{"n": NaN}', "[-Infinity]"],
)
def test_json_columns_decode_as_the_standard_decoder(text: str) -> None:
    got, want = _json_loads(text), json.loads(text)
    assert repr(got) == repr(want)  # repr: NaN equals nothing, and an int must stay an int

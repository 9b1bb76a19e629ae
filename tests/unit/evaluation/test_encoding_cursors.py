"""Time cursors name their row exactly, to the microsecond (a float round trip could lose one)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.errors import InvalidInput
from app.evaluation.encoding import time_cursor, time_keyset


@pytest.mark.parametrize("micro", [0, 1, 999_999, 123_457])
def test_a_time_cursor_round_trips_exactly(micro: int) -> None:
    at = datetime(2026, 12, 2, 9, 41, 7, micro, tzinfo=UTC)
    assert time_keyset(time_cursor(at, "row-1")) == (at, "row-1")
    assert time_keyset(time_cursor(at.replace(tzinfo=None), "r")) == (at, "r")  # naive is UTC


def test_no_cursor_and_bad_cursors() -> None:
    assert time_keyset(None) is None and time_keyset("") is None
    with pytest.raises(InvalidInput, match="cursor"):
        time_keyset("nope")

"""Isolating refused rows: an insert refused on its data is split until each refused unit is alone."""

from __future__ import annotations

import pytest

from app.errors import RowsRefused, StorageError
from app.tracing.writer import insert_isolating


class Table:
    """Takes inserts like ClickHouse does: all lines of one, or none when a line is bad."""

    def __init__(self, fail_with: type[StorageError] = RowsRefused) -> None:
        self.rows: list[bytes] = []
        self.inserts = 0
        self.fail_with = fail_with

    async def insert(self, lines: list[bytes]) -> None:
        self.inserts += 1
        bad = [line for line in lines if line.startswith(b"bad")]
        if bad and self.fail_with is RowsRefused:
            raise RowsRefused("refused", f"cannot parse {bad[0].decode()}")
        if bad:
            raise StorageError("down")
        self.rows += lines


async def test_only_refused_units_are_left_out() -> None:
    table = Table()
    units = [[b"a"], [b"bad1"], [b"c", b"d"], [b"e", b"bad2"], *[[f"x{i}".encode()] for i in range(60)]]
    refused = await insert_isolating(table.insert, units)
    assert refused == {1: "cannot parse bad1", 3: "cannot parse bad2"}
    assert sorted(table.rows) == sorted([b"a", b"c", b"d", *(f"x{i}".encode() for i in range(60))])
    assert table.inserts < 30  # halves, not one insert per row


async def test_a_clean_insert_is_one_insert_and_a_store_failure_raises() -> None:
    table = Table()
    assert await insert_isolating(table.insert, [[b"a"], [b"b"]]) == {}
    assert table.inserts == 1
    with pytest.raises(StorageError, match="down"):
        await insert_isolating(Table(StorageError).insert, [[b"a"], [b"bad"]])

"""Downloads of a list's current filter: CSV (safe to open in a spreadsheet) or a JSON array, streamed
as the rows are read."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, TypeVar

from litestar.response import Stream

from app.errors import InvalidInput
from app.storage.clickhouse.queries.common import Page

FORMATS = ("csv", "json")
# A spreadsheet runs a cell that starts with one of these as a formula (OWASP "CSV injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """A value as a CSV cell: lists joined by commas; text a spreadsheet would run as a formula
    prefixed with a quote, so it shows as the text it is. Numbers are ours and stay numbers."""
    if isinstance(value, list | tuple):
        value = ",".join(str(v) for v in value)
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


T = TypeVar("T")


async def paged(
    read: Callable[[str | None, int], Awaitable[Page[T]]], row: Callable[[T], dict[str, Any]], limit: int
) -> AsyncIterator[dict[str, Any]]:
    """The rows of up to `limit` items, read a page at a time: `read(after cursor, at most n)`."""
    after, sent = None, 0
    while sent < limit:
        page = await read(after, limit - sent)
        for item in page.items[: limit - sent]:
            yield row(item)
        sent += len(page.items)
        if not page.has_next:
            return
        after = page.end_cursor


def download(rows: AsyncIterator[dict[str, Any]], columns: Sequence[str], name: str, format: str) -> Stream:
    """`rows` (dicts keyed by `columns`) as an attachment `name.csv` or `name.json`; InvalidInput
    naming `format` for any other format."""
    if format not in FORMATS:
        raise InvalidInput("format must be csv or json")

    async def as_csv() -> AsyncIterator[bytes]:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=columns)
        writer.writeheader()
        async for row in rows:
            writer.writerow({k: csv_cell(v) for k, v in row.items()})
            if out.tell() > 64_000:
                yield out.getvalue().encode()
                out.seek(0)
                out.truncate()
        yield out.getvalue().encode()

    async def as_json() -> AsyncIterator[bytes]:
        yield b"["
        first = True
        async for row in rows:
            yield (b"" if first else b",\n") + json.dumps(row, ensure_ascii=False).encode()
            first = False
        yield b"]\n"

    return Stream(
        as_csv() if format == "csv" else as_json(),
        media_type="text/csv; charset=utf-8" if format == "csv" else "application/json",
        headers={"Content-Disposition": f'attachment; filename="{name}.{format}"'},
    )

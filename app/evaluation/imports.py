"""Dataset item import from CSV or JSONL: detect the columns, map them onto input / expected output /
metadata, and stream the rows, one good or bad row at a time, each with its line number.

Pure: reads only the binary stream it is given, row by row (a large file is never held in memory, let
alone twice). A bad row is reported by its line and never sinks the others.
"""

from __future__ import annotations

import codecs
import csv
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any, Literal

from app.errors import InvalidInput
from app.storage import json_text

Format = Literal["csv", "jsonl"]
FIELDS = ("input", "expected_output", "metadata")
PREVIEW_ROWS = 5
# A CSV cell may be large (a whole prompt), but not unbounded.
MAX_CELL_CHARS = 10 * 1024 * 1024
csv.field_size_limit(MAX_CELL_CHARS)


@dataclass(frozen=True, slots=True)
class ColumnMapping:
    """Which columns feed each item field; several columns for one field make an object keyed by column."""

    input: tuple[str, ...]
    expected_output: tuple[str, ...] = ()
    metadata: tuple[str, ...] = ()

    def columns(self) -> set[str]:
        """Every column the mapping names."""
        return {*self.input, *self.expected_output, *self.metadata}


@dataclass(frozen=True, slots=True)
class ParsedRow:
    """A row that becomes an item."""

    line: int  # 1-based line of the file where the row starts
    input: Any
    expected_output: Any
    metadata: Any


@dataclass(frozen=True, slots=True)
class BadRow:
    """A row that could not become an item, and why."""

    line: int
    reason: str


@dataclass(frozen=True, slots=True)
class Sample:
    """What the mapping step shows: the detected columns and the first rows (column → cell text)."""

    format: Format
    columns: tuple[str, ...]
    rows: tuple[dict[str, str], ...]


def detect_format(filename: str) -> Format:
    """The format a file name says (`.csv`, `.jsonl` or `.ndjson`); InvalidInput for anything else."""
    lowered = filename.lower()
    if lowered.endswith(".csv"):
        return "csv"
    if lowered.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    raise InvalidInput("file must be a .csv or .jsonl file")


_MAPPING_PART = re.compile(r"\s*(input|expected_output|metadata)\s*=\s*(.+?)\s*")


def parse_mapping(text: str) -> ColumnMapping:
    """`input=q,expected_output=a,metadata=c1+c2` as a mapping; InvalidInput naming the bad part."""
    found: dict[str, tuple[str, ...]] = {}
    for part in (p for p in text.split(",") if p.strip()):
        match = _MAPPING_PART.fullmatch(part)
        if match is None:
            raise InvalidInput(f"mapping: {part.strip()!r} is not field=column (fields: {', '.join(FIELDS)})")
        columns = tuple(c.strip() for c in match[2].split("+") if c.strip())
        if not columns:
            raise InvalidInput(f"mapping: {match[1]} names no column")
        found[match[1]] = found.get(match[1], ()) + columns
    return mapping_of(found)


def mapping_of(fields: dict[str, tuple[str, ...]]) -> ColumnMapping:
    """A mapping from field → columns; InvalidInput when input has no column."""
    if not fields.get("input"):
        raise InvalidInput("mapping: input needs at least one column")
    return ColumnMapping(
        input=fields["input"],
        expected_output=fields.get("expected_output", ()),
        metadata=fields.get("metadata", ()),
    )


def default_mapping(columns: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """A first guess: columns named like a field map to it (`input`, `expected_output`/`expected`/
    `output`, `metadata`); with none named input, the first column is the input."""
    names = {
        "input": ("input", "question", "prompt", "query"),
        "expected_output": ("expected_output", "expectedoutput", "expected", "output", "answer"),
        "metadata": ("metadata", "meta"),
    }
    guess: dict[str, tuple[str, ...]] = {}
    for field, aliases in names.items():
        hit = next((c for c in columns if c.strip().lower().replace(" ", "_") in aliases), None)
        if hit is not None:
            guess[field] = (hit,)
    if "input" not in guess and columns:
        guess["input"] = (columns[0],)
    return guess


def _cell(text: str) -> Any:
    """A CSV cell: JSON-looking text (an object or an array) parsed, anything else kept as text."""
    stripped = text.strip()
    if stripped[:1] in ("{", "["):
        try:
            return json_text.loads(stripped)
        except ValueError:
            return text
    return text


def _field(values: dict[str, Any], columns: tuple[str, ...]) -> Any:
    if not columns:
        return None
    if len(columns) == 1:
        return values.get(columns[0])
    return {c: values.get(c) for c in columns}


def _empty(value: Any) -> bool:
    return (
        value is None or value == "" or (isinstance(value, dict) and all(_empty(v) for v in value.values()))
    )


def _row(line: int, values: dict[str, Any], mapping: ColumnMapping) -> ParsedRow | BadRow:
    item_input = _field(values, mapping.input)
    if _empty(item_input):
        return BadRow(line, f"input is empty (column {' + '.join(mapping.input)})")
    return ParsedRow(
        line, item_input, _field(values, mapping.expected_output), _field(values, mapping.metadata)
    )


class _Lines:
    """A binary stream's lines as text, with the number of the last one read. Lines are decoded one by
    one (UTF-8 never has a newline byte inside a character), so a line that is not UTF-8 is skipped and
    kept in `undecodable` for the caller to report, and the lines around it still read."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self.number = 0
        self.undecodable: list[BadRow] = []
        self.record_start: int | None = None  # the first line handed out since `start_record`

    def __iter__(self) -> Iterator[str]:
        while raw := self._stream.readline():
            self.number += 1
            if self.number == 1 and raw.startswith(codecs.BOM_UTF8):  # spreadsheet exports
                raw = raw[len(codecs.BOM_UTF8) :]
            try:
                text = raw.decode()
            except UnicodeDecodeError as exc:
                self.undecodable.append(BadRow(self.number, f"not UTF-8 text ({exc.reason})"))
                continue
            if self.record_start is None:
                self.record_start = self.number
            yield text

    def start_record(self) -> None:
        self.record_start = None

    def take_undecodable(self) -> list[BadRow]:
        found, self.undecodable = self.undecodable, []
        return found


def _csv_records(stream: IO[bytes]) -> Iterator[tuple[int, list[str]] | BadRow]:
    """(first line, cells) of every CSV record, the header included; BadRows for lines that are not
    UTF-8, and one where the CSV becomes unreadable (reading stops there)."""
    lines = _Lines(stream)
    reader = csv.reader(iter(lines), strict=True)
    while True:
        lines.start_record()
        try:
            cells = next(reader)
        except StopIteration:
            yield from lines.take_undecodable()
            return
        except csv.Error as exc:
            yield from lines.take_undecodable()
            yield BadRow(lines.record_start or lines.number, f"unreadable CSV from here on: {exc}")
            return
        yield from lines.take_undecodable()
        if cells:  # blank lines are no records
            yield lines.record_start or lines.number, cells


def _csv_header(stream: IO[bytes]) -> tuple[Iterator[tuple[int, list[str]] | BadRow], tuple[str, ...]]:
    records = _csv_records(stream)
    first = next(records, None)
    if first is None:
        raise InvalidInput("file is empty")
    if isinstance(first, BadRow):
        raise InvalidInput(f"file: line {first.line}: {first.reason}")
    columns = tuple(c.strip() for c in first[1])
    if any(not c for c in columns):
        raise InvalidInput("file: every column of the header (line 1) needs a name")
    if len(set(columns)) != len(columns):
        raise InvalidInput("file: the header (line 1) names a column twice")
    return records, columns


def _jsonl_records(stream: IO[bytes]) -> Iterator[tuple[int, dict[str, Any]] | BadRow]:
    """(line, object) of every non-blank JSONL line, or a BadRow for a line that is not a JSON object."""
    lines = _Lines(stream)
    for text in lines:
        yield from lines.take_undecodable()
        if not text.strip():
            continue
        try:
            value = json_text.loads(text)
        except ValueError as exc:
            yield BadRow(lines.number, f"not JSON: {exc}")
            continue
        if not isinstance(value, dict):
            yield BadRow(lines.number, "not a JSON object")
            continue
        yield lines.number, value
    yield from lines.take_undecodable()


def sample(stream: IO[bytes], fmt: Format, limit: int = PREVIEW_ROWS) -> Sample:
    """The columns and the first `limit` rows; for JSONL the columns are the keys of those rows."""
    rows: list[dict[str, str]] = []
    if fmt == "csv":
        records, columns = _csv_header(stream)
        for record in records:
            if len(rows) >= limit:
                break
            if not isinstance(record, BadRow):
                rows.append(dict(zip(columns, record[1], strict=False)))
        return Sample(fmt, columns, tuple(rows))
    keys: dict[str, None] = {}
    for found in _jsonl_records(stream):
        if len(rows) >= limit:
            break
        if not isinstance(found, BadRow):
            keys.update(dict.fromkeys(found[1]))
            rows.append({k: v if isinstance(v, str) else json.dumps(v) for k, v in found[1].items()})
    if not keys:
        raise InvalidInput("file has no JSON object lines")
    return Sample(fmt, tuple(keys), tuple(rows))


def iter_rows(stream: IO[bytes], fmt: Format, mapping: ColumnMapping) -> Iterator[ParsedRow | BadRow]:
    """Every data row of the file as an item's fields, or as a bad row with its line and reason.

    InvalidInput (before any row) when the file has no header or the mapping names a column the CSV
    header lacks. JSONL rows may leave out keys: a missing one is null."""
    if fmt == "csv":
        records, columns = _csv_header(stream)
        missing = sorted(mapping.columns() - set(columns))
        if missing:
            raise InvalidInput(f"mapping: no column {', '.join(map(repr, missing))} in the file")
        for record in records:
            if isinstance(record, BadRow):
                yield record
                continue
            line, cells = record
            if len(cells) != len(columns):
                yield BadRow(line, f"{len(cells)} cells where the header has {len(columns)}")
                continue
            yield _row(line, {c: _cell(v) for c, v in zip(columns, cells, strict=True)}, mapping)
        return
    for found in _jsonl_records(stream):
        yield found if isinstance(found, BadRow) else _row(found[0], found[1], mapping)

"""CSV and JSONL import: formats, mappings, JSON cells, bad rows by line, and streaming a large file."""

from __future__ import annotations

import io
import json
import tracemalloc
from collections.abc import Iterator
from typing import Any

import pytest

from app.errors import InvalidInput
from app.evaluation.imports import (
    BadRow,
    ColumnMapping,
    ParsedRow,
    default_mapping,
    detect_format,
    iter_rows,
    mapping_of,
    parse_mapping,
    sample,
)


def stream(text: str) -> io.BytesIO:
    return io.BytesIO(text.encode())


def rows(text: str, fmt: str, mapping: ColumnMapping) -> list[ParsedRow | BadRow]:
    return list(iter_rows(stream(text), fmt, mapping))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "fmt"), [("a.csv", "csv"), ("B.CSV", "csv"), ("x.jsonl", "jsonl"), ("x.ndjson", "jsonl")]
)
def test_the_format_comes_from_the_file_name(name: str, fmt: str) -> None:
    assert detect_format(name) == fmt


def test_other_file_names_are_refused() -> None:
    with pytest.raises(InvalidInput, match=r"file must be a \.csv or \.jsonl"):
        detect_format("items.xlsx")


def test_a_mapping_is_parsed_with_several_columns_for_one_field() -> None:
    m = parse_mapping("input=question, expected_output=answer,metadata=topic+level")
    assert m == ColumnMapping(("question",), ("answer",), ("topic", "level"))
    assert parse_mapping("input=a+b") == ColumnMapping(("a", "b"))
    assert parse_mapping("input=a,input=b").input == ("a", "b")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("expected_output=a", "input needs at least one column"),
        ("input", "'input' is not field=column"),
        ("output=a", "'output=a' is not field=column"),
        ("input=+", "input names no column"),
        ("", "input needs at least one column"),
    ],
)
def test_a_bad_mapping_names_its_part(text: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_mapping(text)


def test_the_default_mapping_guesses_from_column_names() -> None:
    assert default_mapping(("Question", "expected", "meta")) == {
        "input": ("Question",),
        "expected_output": ("expected",),
        "metadata": ("meta",),
    }
    assert default_mapping(("text", "label")) == {"input": ("text",)}
    assert mapping_of({"input": ("a",)}) == ColumnMapping(("a",))


def test_csv_rows_map_columns_and_parse_json_looking_cells() -> None:
    text = (
        "question,answer,topic,level\n"
        'What is 2+2?,4,math,"{""grade"": 1}"\n'
        '"{""q"": ""x""}","[1, 2]",geo,\n'
        "[not json,plain,t,l\n"
    )
    m = ColumnMapping(("question",), ("answer",), ("topic", "level"))
    assert rows(text, "csv", m) == [
        ParsedRow(2, "What is 2+2?", "4", {"topic": "math", "level": {"grade": 1}}),
        ParsedRow(3, {"q": "x"}, [1, 2], {"topic": "geo", "level": ""}),
        ParsedRow(4, "[not json", "plain", {"topic": "t", "level": "l"}),
    ]


def test_several_input_columns_make_an_object_and_unmapped_fields_are_null() -> None:
    found = rows("a,b,c\n1,2,3\n", "csv", ColumnMapping(("a", "b")))
    assert found == [ParsedRow(2, {"a": "1", "b": "2"}, None, None)]


def test_bad_csv_rows_are_reported_by_line_and_the_others_kept() -> None:
    text = (
        "\ufeffinput,expected\n"  # a byte-order mark is not part of the first name
        "ok 1,a\n"
        "too,many,cells\n"
        '"multi\nline cell",b\n'  # lines 4-5
        ",c\n"  # an empty input
        "\n"  # a blank line is no row
        "ok 2,d\n"
    )
    found = rows(text, "csv", ColumnMapping(("input",), ("expected",)))
    assert found == [
        ParsedRow(2, "ok 1", "a", None),
        BadRow(3, "3 cells where the header has 2"),
        ParsedRow(4, "multi\nline cell", "b", None),
        BadRow(6, "input is empty (column input)"),
        ParsedRow(8, "ok 2", "d", None),
    ]


def test_csv_that_cannot_be_read_on_stops_with_a_bad_row_at_its_line() -> None:
    found = rows('input\nfine\n"open quote\n', "csv", ColumnMapping(("input",)))
    assert found[0] == ParsedRow(2, "fine", None, None)
    assert isinstance(found[1], BadRow) and found[1].line == 3 and "unreadable CSV" in found[1].reason
    data = b"input\nok\n\xff\xfe\nafter\n"
    not_utf8 = list(iter_rows(io.BytesIO(data), "csv", ColumnMapping(("input",))))
    assert not_utf8[0] == ParsedRow(2, "ok", None, None) and not_utf8[2] == ParsedRow(4, "after", None, None)
    assert isinstance(not_utf8[1], BadRow) and not_utf8[1].line == 3 and "not UTF-8" in not_utf8[1].reason


def test_a_mapping_naming_a_missing_csv_column_is_refused_before_any_row() -> None:
    with pytest.raises(InvalidInput, match="no column 'nope'"):
        rows("a,b\n1,2\n", "csv", ColumnMapping(("a",), ("nope",)))
    with pytest.raises(InvalidInput, match="file is empty"):
        rows("", "csv", ColumnMapping(("a",)))
    with pytest.raises(InvalidInput, match="names a column twice"):
        rows("a,a\n", "csv", ColumnMapping(("a",)))


def test_jsonl_rows_keep_json_values_and_report_bad_lines() -> None:
    lines = [
        json.dumps({"input": {"q": "hi"}, "expected_output": "hello", "tags": ["x"]}),
        "{not json",
        "",
        json.dumps([1, 2]),
        json.dumps({"expected_output": "no input"}),
        json.dumps({"input": "text", "tags": None}),
    ]
    m = ColumnMapping(("input",), ("expected_output",), ("tags",))
    found = rows("\n".join(lines) + "\n", "jsonl", m)
    assert found[0] == ParsedRow(1, {"q": "hi"}, "hello", ["x"])
    assert isinstance(found[1], BadRow) and found[1].line == 2 and found[1].reason.startswith("not JSON")
    assert found[2] == BadRow(4, "not a JSON object")
    assert found[3] == BadRow(5, "input is empty (column input)")
    assert found[4] == ParsedRow(6, "text", None, None)


def test_the_sample_shows_columns_and_the_first_rows() -> None:
    csv_text = "q,a\n" + "".join(f"q{i},a{i}\n" for i in range(20))
    s = sample(stream(csv_text), "csv")
    assert s.columns == ("q", "a") and len(s.rows) == 5 and s.rows[0] == {"q": "q0", "a": "a0"}
    jsonl = '{"input": "x", "n": 1}\nbad\n{"input": "y", "extra": {"k": 2}}\n'
    j = sample(stream(jsonl), "jsonl")
    assert j.columns == ("input", "n", "extra")
    assert j.rows == ({"input": "x", "n": "1"}, {"input": "y", "extra": '{"k": 2}'})
    with pytest.raises(InvalidInput, match="no JSON object lines"):
        sample(stream("[1]\n"), "jsonl")


class Generated(io.RawIOBase):
    """A CSV file of `count` rows, produced as it is read (never whole in memory)."""

    def __init__(self, count: int) -> None:
        self._lines = self._make(count)
        self._pending = b""

    @staticmethod
    def _make(count: int) -> Iterator[bytes]:
        yield b"input,expected_output,meta\n"
        for i in range(count):
            yield f'"question {i} {"x" * 200}",answer {i},"{{""i"": {i}}}"\n'.encode()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while len(self._pending) < len(buffer):
            chunk = next(self._lines, None)
            if chunk is None:
                break
            self._pending += chunk
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


def test_a_large_file_streams_row_by_row_in_bounded_memory() -> None:
    count = 100_000  # about 25 MB of CSV
    m = ColumnMapping(("input",), ("expected_output",), ("meta",))
    tracemalloc.start()
    try:
        seen = 0
        last: ParsedRow | BadRow | None = None
        for row in iter_rows(io.BufferedReader(Generated(count)), "csv", m):
            seen += 1
            last = row
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert seen == count
    assert last == ParsedRow(
        count + 1, f"question {count - 1} {'x' * 200}", f"answer {count - 1}", {"i": count - 1}
    )
    assert peak < 2 * 1024 * 1024  # a few rows at a time, never the file

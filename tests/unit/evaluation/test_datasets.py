"""The pure rules of datasets: ids, names, NUL characters, JSON Schema checks and the merge of versions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.errors import Conflict, InvalidInput
from app.evaluation.datasets import (
    DatasetView,
    ItemSpec,
    ItemStatus,
    check_against,
    check_schema,
    json_path,
    merge_item,
    refuse_nul,
    validate_item_id,
    validate_name,
)
from app.storage.postgres.tables import DatasetItem

T0 = datetime(2026, 1, 1, tzinfo=UTC)
SCHEMA = {
    "type": "object",
    "properties": {"question": {"type": "integer"}, "items": {"type": "array", "items": {"type": "string"}}},
    "required": ["question"],
}


def _dataset(**schemas: object) -> DatasetView:
    return DatasetView("ds", "p", "d", None, None, schemas.get("input"), schemas.get("expected"), T0, T0)  # type: ignore[arg-type]


def test_item_ids_are_checked_or_generated() -> None:
    assert validate_item_id("a" * 255) == "a" * 255
    generated = validate_item_id(None)
    assert len(generated) == 32 and generated != validate_item_id(None)
    for bad in ("", "a" * 256):
        with pytest.raises(InvalidInput, match="id must be 1 to 255"):
            validate_item_id(bad)


def test_names_and_nul_characters() -> None:
    assert validate_name("folder/name") == "folder/name"
    with pytest.raises(InvalidInput, match="name is required"):
        validate_name(" ")
    with pytest.raises(InvalidInput, match="at most 255"):
        validate_name("n" * 256)
    refuse_nul("input", {"a": ["fine", 1, None]})
    for value in ("a\x00", {"k\x00": 1}, {"k": ["x", "\x00"]}, ("\x00",)):
        with pytest.raises(InvalidInput, match=r"^metadata must not contain a NUL"):
            refuse_nul("metadata", value)


def test_json_paths_name_keys_and_indexes() -> None:
    assert json_path("input", []) == "input"
    assert json_path("input", ["items", 0, "name"]) == "input.items[0].name"


def test_schema_checks_name_the_failing_path() -> None:
    check_against("input", {"question": 1, "items": ["a"]}, SCHEMA)
    check_against("input", None, SCHEMA)  # no value: nothing to check
    check_against("input", "anything", None)
    cases = [
        ({"question": "x"}, "input.question: 'x' is not of type 'integer'"),
        ({"question": 1, "items": ["a", 2]}, "input.items[1]: 2 is not of type 'string'"),
        ({}, "input: 'question' is a required property"),
        ([], "input: [] is not of type 'object'"),
    ]
    for value, message in cases:
        with pytest.raises(InvalidInput) as err:
            check_against("input", value, SCHEMA)
        assert str(err.value) == message


def test_a_bad_schema_is_refused_naming_its_field() -> None:
    check_schema("input_schema", SCHEMA)
    check_schema("input_schema", None)
    with pytest.raises(InvalidInput, match=r"^expected_output_schema is not a valid JSON Schema"):
        check_schema("expected_output_schema", {"type": "nope"})
    with pytest.raises(InvalidInput, match=r"^input_schema must be a JSON Schema object"):
        check_schema("input_schema", ["not", "a", "schema"])  # type: ignore[arg-type]


def test_merge_keeps_what_the_spec_leaves_out() -> None:
    current = DatasetItem(
        project_id="p",
        item_id="i",
        dataset_id="ds",
        status="ARCHIVED",
        input={"question": 1},
        expected_output=0,  # falsy values are kept too
        metadata_={"a": 1},
        source_trace_id="t",
        created_at=T0,
    )
    merged = merge_item(ItemSpec(dataset_name="d", metadata={"b": 2}), "i", _dataset(), current)
    assert (merged.input, merged.expected_output, merged.metadata_) == ({"question": 1}, 0, {"b": 2})
    assert (merged.status, merged.source_trace_id, merged.created_at) == ("ARCHIVED", "t", T0)
    fresh = merge_item(ItemSpec(dataset_name="d", input="x"), "j", _dataset(), None)
    assert (fresh.status, fresh.input, fresh.metadata_) == (ItemStatus.ACTIVE.value, "x", None)
    activated = merge_item(ItemSpec(dataset_name="d", status=ItemStatus.ACTIVE), "i", _dataset(), current)
    assert activated.status == "ACTIVE"


def test_merge_checks_schemas_and_dataset() -> None:
    current = DatasetItem(project_id="p", item_id="i", dataset_id="other", status="ACTIVE")
    with pytest.raises(Conflict, match="another dataset"):
        merge_item(ItemSpec(dataset_name="d"), "i", _dataset(), current)
    with pytest.raises(InvalidInput, match=r"^expected_output: 3 is not of type 'string'"):
        merge_item(
            ItemSpec(dataset_name="d", expected_output=3), "i", _dataset(expected={"type": "string"}), None
        )
    # A merged value is checked: an update leaving input out still holds the stored, valid input.
    kept = DatasetItem(project_id="p", item_id="i", dataset_id="ds", status="ACTIVE", input={"question": 2})
    assert merge_item(ItemSpec(dataset_name="d"), "i", _dataset(input=SCHEMA), kept).input == {"question": 2}


def test_jsonschema_is_imported_only_when_a_schema_is_checked() -> None:
    import subprocess
    import sys

    code = "import sys, app.main, app.api.datasets; print('jsonschema' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"

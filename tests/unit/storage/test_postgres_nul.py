"""The Postgres statement hook that refuses NUL characters, on hand-made parameters (no I/O)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from app.errors import InvalidInput
from app.storage.postgres.engine import refuse_nul


def run(*parameters: dict[str, object]) -> None:
    refuse_nul(None, None, "SELECT 1", (), SimpleNamespace(compiled_parameters=list(parameters)), False)


def test_values_without_nul_pass() -> None:
    run({"name": "fine", "config": {"a": ["b", 1, None]}, "n": 3}, {"email_1": "a@b.c"})
    run()
    refuse_nul(None, None, "SELECT 1", (), None, False)  # no execution context


@pytest.mark.parametrize(
    ("parameters", "field"),
    [
        ({"name": "a\x00b"}, "name"),
        ({"email_1": "x\x00@example.com"}, "email"),  # a bound comparison
        ({"config": {"k": ["ok", "n\x00"]}}, "config"),  # nested JSON
        ({"config": {"k\x00": 1}}, "config"),  # a JSON key
        ({"labels": ("x", "\x00")}, "labels"),
    ],
)
def test_a_nul_anywhere_is_refused_naming_the_field(parameters: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput, match=rf"^{field} must not contain a NUL character"):
        run({"ok": "fine"}, parameters)

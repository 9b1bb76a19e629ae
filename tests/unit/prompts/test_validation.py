"""Label rules: a refused label gets a message naming the field (pure)."""

from __future__ import annotations

import pytest

from app.errors import InvalidInput
from app.prompts.service import validate_labels


def test_latest_may_not_be_set_by_hand_where_refused() -> None:
    assert validate_labels(["latest", "x"], "labels", allow_latest=True) == ["latest", "x"]
    with pytest.raises(InvalidInput, match="newLabels: the 'latest' label"):
        validate_labels(["latest"], "newLabels", allow_latest=False)

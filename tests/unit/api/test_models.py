"""Model create-body parsing: every bad field gets a message naming it (pure)."""

from __future__ import annotations

import pytest

from app.api.models import parse_model
from app.errors import InvalidInput


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({}, "modelName"),
        ({"modelName": "m"}, "matchPattern"),
        ({"modelName": "m", "matchPattern": "("}, "not a valid regular expression"),
        ({"modelName": "m", "matchPattern": "m", "unit": "BANANAS"}, "unit"),
        ({"modelName": "m", "matchPattern": "m"}, "prices"),
        ({"modelName": "m", "matchPattern": "m", "inputPrice": -1}, "inputPrice"),
        ({"modelName": "m", "matchPattern": "m", "inputPrice": 1, "startDate": "soon"}, "startDate"),
        ({"modelName": "m", "matchPattern": "m", "inputPrice": 1, "tokenizerId": "claude"}, "tokenizerId"),
    ],
)
def test_model_validation_names_the_field(body: dict, needle: str) -> None:
    with pytest.raises(InvalidInput, match=needle):
        parse_model(body)

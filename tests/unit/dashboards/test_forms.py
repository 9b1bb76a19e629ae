"""A refused form's errors: beside the field a message names, said with the field's label."""

from __future__ import annotations

import pytest

from app.dashboards.forms import Fields, FormInvalid
from app.errors import Forbidden, InvalidInput

FIELDS = Fields(
    {"input": "Input", "input_price": "Input price", "base_url": "Base URL", "email": "Email"},
    names={"baseUrl": "base_url", "price of input": "input_price"},
    about={"no user": "email"},
)


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("input_price must be a number", {"input_price": "Input price must be a number"}),  # not `input`
        ("input: not JSON", {"input": "Input: not JSON"}),
        ("input.question: required", {"input": "Input.question: required"}),
        ("baseUrl must be an http(s) URL", {"base_url": "Base URL must be an http(s) URL"}),
        (
            "price of input must be a non-negative number",
            {"input_price": "Input price must be a non-negative number"},
        ),
        ("no user 'a@b.c': invite them", {"email": "No user 'a@b.c': invite them"}),
        ("inputs are odd", {"form": "Inputs are odd"}),  # a name only counts as a whole word
        ("a model needs a price", {"form": "A model needs a price"}),
    ],
)
def test_a_message_goes_beside_the_field_it_names(message: str, expected: dict[str, str]) -> None:
    assert FIELDS.errors(InvalidInput(message)) == expected


def test_form_invalid_keeps_its_messages_and_any_user_error_is_placed() -> None:
    exc = FormInvalid({"email": "Email is required", "input": "Input is required"})
    assert FIELDS.errors(exc) == exc.errors and list(exc.errors) == ["email", "input"]
    assert str(exc) == "Email is required; Input is required" and exc.status == 400
    assert FIELDS.errors(Forbidden("you cannot grant the owner role")) == {
        "form": "You cannot grant the owner role"
    }

"""Create-body parsing: every bad field gets a message naming it (pure)."""

from __future__ import annotations

import pytest

from app.api.prompts import parse_new_version
from app.errors import InvalidInput
from app.prompts.content import content_to_langfuse


def test_a_valid_chat_body_is_normalised() -> None:
    new = parse_new_version(
        {
            "name": "folder/p",
            "type": "chat",
            "prompt": [
                {"role": "user", "content": "hi", "type": "chatmessage"},
                {"type": "placeholder", "name": "h"},
            ],
            "labels": ["b", "a", "a"],
            "tags": ["t"],
        }
    )
    assert content_to_langfuse(new.content) == [
        {"role": "user", "content": "hi"},
        {"type": "placeholder", "name": "h"},
    ]
    assert (list(new.labels), list(new.tags or ()), new.config, new.content.type) == (
        ["a", "b"],
        ["t"],
        {},
        "chat",
    )
    assert parse_new_version({"name": "p", "prompt": "x"}).tags is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([], "body"),
        ({"prompt": "x"}, "name"),
        ({"name": "/lead", "prompt": "x"}, "name"),
        ({"name": "a//b", "prompt": "x"}, "name"),
        ({"name": "new", "prompt": "x"}, "name: .new. is reserved"),
        ({"name": "p", "type": "image", "prompt": "x"}, "type"),
        ({"name": "p", "type": "chat", "prompt": "x"}, "prompt"),
        ({"name": "p", "type": "chat", "prompt": [{"type": "placeholder"}]}, "prompt[0].name"),
        ({"name": "p", "type": "chat", "prompt": [{"content": "x"}]}, "prompt[0].role"),
        ({"name": "p", "type": "chat", "prompt": ["x"]}, "prompt[0]"),
        ({"name": "p", "prompt": "x", "commitMessage": 1}, "commitMessage"),
        ({"name": "p", "prompt": "x", "tags": [""]}, "tags"),
    ],
)
def test_bad_fields_are_named(body: object, field: str) -> None:
    with pytest.raises(InvalidInput, match=field.replace("[", r"\[").replace("]", r"\]")):
        parse_new_version(body)

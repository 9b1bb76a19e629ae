"""Create-body validation: every bad field gets a message naming it (pure)."""

from __future__ import annotations

import pytest

from app.errors import InvalidInput
from app.prompts.service import validate_labels, validate_new


def test_a_valid_chat_body_is_normalised() -> None:
    new = validate_new(
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
    assert new.prompt == [{"role": "user", "content": "hi"}, {"type": "placeholder", "name": "h"}]
    assert (new.labels, new.tags, new.config, new.type) == (["a", "b"], ["t"], {}, "chat")
    assert validate_new({"name": "p", "prompt": "x"}).tags is None


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
        validate_new(body)


def test_latest_may_not_be_set_by_hand_where_refused() -> None:
    assert validate_labels(["latest", "x"], "labels", allow_latest=True) == ["latest", "x"]
    with pytest.raises(InvalidInput, match="newLabels: the 'latest' label"):
        validate_labels(["latest"], "newLabels", allow_latest=False)

"""How pages show stored text: JSON indented, chat messages as a conversation."""

from __future__ import annotations

import json

from app.storage import json_text
from app.tracing.chat import ChatMessage, chat_messages


def pretty(value: str | None) -> str:
    """Input/output for reading: JSON indented, anything else as it is (escaped by the template)."""
    if value is None:
        return ""
    try:
        return json.dumps(json_text.loads(value), indent=2, ensure_ascii=False)
    except ValueError:
        return value


def chat(value: str | None) -> list[ChatMessage] | None:
    """Chat messages for a conversation view (see app.tracing.chat for the shapes), else None."""
    return chat_messages(value)

"""Prompt content as typed values (a text, or chat messages and placeholders) and its stored JSON form:
a string, or a list of `{role, content}` and `{type: "placeholder", name}` (as Langfuse stores it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from app.errors import InvalidInput

PromptType = Literal["text", "chat"]
MAX_MESSAGES = 200


@dataclass(frozen=True, slots=True)
class ChatMessage:
    role: str
    content: str


@dataclass(frozen=True, slots=True)
class Placeholder:
    """Where a list of chat messages given at compile time goes."""

    name: str


ChatItem = ChatMessage | Placeholder


@dataclass(frozen=True, slots=True)
class PromptContent:
    """A text prompt, or a chat prompt of messages and placeholders."""

    type: PromptType
    text: str = ""
    messages: tuple[ChatItem, ...] = ()


def content_from_langfuse(prompt_type: str, prompt: object) -> PromptContent:
    """Stored content (the Langfuse API shape): a string (text), or a list of `{role, content}` and
    `{type: "placeholder", name}` entries (chat); InvalidInput names what is wrong."""
    if prompt_type == "text":
        if not isinstance(prompt, str):
            raise InvalidInput("prompt must be a string for a text prompt")
        return PromptContent("text", text=prompt)
    if prompt_type != "chat":
        raise InvalidInput("type must be 'text' or 'chat'")
    if not isinstance(prompt, list) or len(prompt) > MAX_MESSAGES:
        raise InvalidInput(f"prompt must be a list of at most {MAX_MESSAGES} messages for a chat prompt")
    items: list[ChatItem] = []
    for index, entry in enumerate(prompt):
        if isinstance(entry, dict) and entry.get("type") == "placeholder":
            if not isinstance(entry.get("name"), str) or not entry["name"].strip():
                raise InvalidInput(f"prompt[{index}].name is required for a placeholder")
            items.append(Placeholder(entry["name"].strip()))
        elif isinstance(entry, dict) and isinstance(entry.get("role"), str):
            if not isinstance(entry.get("content"), str):
                raise InvalidInput(f"prompt[{index}].content must be a string")
            items.append(ChatMessage(entry["role"], entry["content"]))
        else:
            raise InvalidInput(f"prompt[{index}] must be {{role, content}} or {{type: 'placeholder', name}}")
    return PromptContent("chat", messages=tuple(items))


def content_to_langfuse(content: PromptContent) -> str | list[dict[str, object]]:
    """The inverse of `content_from_langfuse` (what a new prompt version stores)."""
    if content.type == "text":
        return content.text
    return [
        {"role": m.role, "content": m.content}
        if isinstance(m, ChatMessage)
        else {"type": "placeholder", "name": m.name}
        for m in content.messages
    ]


def _message(i: int, m: object) -> ChatItem:
    if not isinstance(m, dict):
        raise InvalidInput(
            f"prompt[{i}] must be an object: {{role, content}} or {{type: 'placeholder', name}}"
        )
    if m.get("type") == "placeholder":
        if not isinstance(m.get("name"), str) or not m["name"]:
            raise InvalidInput(f"prompt[{i}].name is required for a placeholder")
        return Placeholder(m["name"])
    if m.get("type") not in (None, "chatmessage"):
        raise InvalidInput(f"prompt[{i}].type must be 'chatmessage' or 'placeholder'")
    if not isinstance(m.get("role"), str) or not m["role"]:
        raise InvalidInput(f"prompt[{i}].role is required (a string)")
    if not isinstance(m.get("content"), str):
        raise InvalidInput(f"prompt[{i}].content is required (a string)")
    return ChatMessage(m["role"], m["content"])


def new_content(prompt_type: str, prompt: object) -> PromptContent:
    """The content of a new version given as JSON (the REST body's or GraphQL's `prompt`), stricter than
    stored content: every message needs a role; InvalidInput names the entry that is wrong."""
    if prompt_type not in ("text", "chat"):
        raise InvalidInput("type must be 'text' or 'chat'")
    if prompt_type == "text":
        if not isinstance(prompt, str):
            raise InvalidInput("prompt must be a string for a text prompt")
        return PromptContent("text", text=prompt)
    if not isinstance(prompt, list):
        raise InvalidInput("prompt must be a list of messages for a chat prompt")
    return PromptContent("chat", messages=tuple(_message(i, m) for i, m in enumerate(prompt)))

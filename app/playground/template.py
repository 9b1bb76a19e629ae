"""`{{variable}}` compilation of prompt content (app.prompts.content), with the Langfuse SDK's
semantics (`TemplateParser`): `{{ name }}` is the variable `name`; unknown variables stay as written;
a None value becomes ""."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.errors import InvalidInput
from app.prompts.content import ChatMessage, Placeholder, PromptContent
from app.storage import json_text

OPENING, CLOSING = "{{", "}}"


def _next_variable(content: str, start: int) -> tuple[str, int, int] | None:
    opening = content.find(OPENING, start)
    if opening == -1:
        return None
    closing = content.find(CLOSING, opening)
    if closing == -1:
        return None
    return content[opening + len(OPENING) : closing].strip(), opening, closing + len(CLOSING)


def find_variables(content: str) -> list[str]:
    """Variable names in order of appearance (repeats included)."""
    names, index = [], 0
    while (found := _next_variable(content, index)) is not None:
        names.append(found[0])
        index = found[2]
    return names


def compile_template(content: str, values: Mapping[str, object]) -> str:
    """Fill the variables `values` names; leave the others as written."""
    parts, index = [], 0
    while (found := _next_variable(content, index)) is not None:
        name, start, end = found
        parts.append(content[index:start])
        if name in values:
            parts.append("" if values[name] is None else str(values[name]))
        else:
            parts.append(content[start:end])
        index = end
    parts.append(content[index:])
    return "".join(parts)


def variables_of(content: PromptContent) -> list[str]:
    """The prompt's distinct variable names, in order (chat: those in messages, as the SDK reports)."""
    texts = (
        [content.text]
        if content.type == "text"
        else [m.content for m in content.messages if isinstance(m, ChatMessage)]
    )
    return list(dict.fromkeys(name for text in texts for name in find_variables(text)))


def placeholders_of(content: PromptContent) -> list[str]:
    return list(dict.fromkeys(m.name for m in content.messages if isinstance(m, Placeholder)))


def parse_messages(text: str, field: str) -> list[dict[str, Any]]:
    """A JSON list of chat messages (objects with string `role` and `content`), or InvalidInput naming
    `field`; blank text is an empty list."""
    if not text.strip():
        return []
    try:
        value = json_text.loads(text)
    except ValueError as exc:
        raise InvalidInput(f"{field} must be a JSON list of messages: {exc}") from None
    if not isinstance(value, list):
        raise InvalidInput(
            f'{field} must be a JSON list of messages like [{{"role": "user", "content": "…"}}]'
        )
    for index, item in enumerate(value):
        if not (isinstance(item, dict) and isinstance(item.get("role"), str)):
            raise InvalidInput(f"{field}[{index}] must be an object with a string role")
        if not isinstance(item.get("content"), str):
            raise InvalidInput(f"{field}[{index}].content must be a string")
    return value


def compile_prompt(
    content: PromptContent, variables: Mapping[str, object], placeholders: Mapping[str, list[dict[str, Any]]]
) -> list[dict[str, Any]]:
    """The messages to send: a text prompt is one user message; placeholders are replaced by their
    messages (contents compiled too, as the SDK does); a placeholder without messages adds none."""
    if content.type == "text":
        return [{"role": "user", "content": compile_template(content.text, variables)}]
    out: list[dict[str, Any]] = []
    for item in content.messages:
        if isinstance(item, ChatMessage):
            out.append({"role": item.role, "content": compile_template(item.content, variables)})
        else:
            for message in placeholders.get(item.name, []):
                out.append({**message, "content": compile_template(message["content"], variables)})
    return out

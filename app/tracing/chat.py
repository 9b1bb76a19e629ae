"""Reading an observation's input or output as a conversation, whatever shape the client stored.

Recognised (at read time; stored values are never rewritten): a message list or one message
(`{role, content}`, the Langfuse SDK's shape); an OpenAI chat request (`{"messages": [...]}`, with
Anthropic's `system` as a leading message) and response (`{"choices": [{"message": ...}]}`); OTel
`gen_ai.choice` events (`[{"message": ...}]`) and messages with `parts`; an OpenAI Responses request
(`{"input": ..., "instructions": ...}`) and response (`{"output": [...]}`). Tool calls come out as
name + arguments, in OpenAI's, Anthropic's and OTel's shapes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from app.storage import json_text


@dataclass(frozen=True, slots=True)
class ToolCall:
    name: str
    arguments: str  # JSON text as the model produced it, or the arguments encoded as JSON
    call_id: str | None = None


@dataclass(frozen=True, slots=True)
class ChatMessage:
    role: str
    content: str | None
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None  # a tool result: the call it answers


def chat_messages(value: str | None) -> list[ChatMessage] | None:
    """The conversation in a stored input/output (JSON text), or None when it is not one."""
    try:
        doc = json_text.loads(value or "")
    except ValueError:
        return None
    raw = _message_dicts(doc)
    if not raw:
        return None
    messages = [_message(m) for m in raw]
    return None if any(m is None for m in messages) else [m for m in messages if m is not None]


def _is_message(m: Any) -> bool:
    return isinstance(m, dict) and isinstance(m.get("role"), str)


def _message_dicts(doc: Any) -> list[dict[str, Any]] | None:
    """The message objects of a recognised shape, else None."""
    if isinstance(doc, list):
        if doc and all(_is_message(m) for m in doc):
            return doc
        if doc and all(isinstance(c, dict) and _is_message(c.get("message")) for c in doc):
            return [c["message"] for c in doc]  # OTel gen_ai.choice events
        return None
    if not isinstance(doc, dict):
        return None
    if _is_message(doc):
        return [doc]
    messages = doc.get("messages")
    if isinstance(messages, list) and messages and all(_is_message(m) for m in messages):
        system = doc.get("system")  # Anthropic keeps the system prompt beside the messages
        lead = [{"role": "system", "content": system}] if isinstance(system, str | list) and system else []
        return [*lead, *messages]
    choices = doc.get("choices")
    if isinstance(choices, list) and choices:
        found = [c["message"] for c in choices if isinstance(c, dict) and _is_message(c.get("message"))]
        return found if len(found) == len(choices) else None
    return _responses_api(doc)


def _responses_api(doc: dict[str, Any]) -> list[dict[str, Any]] | None:
    """OpenAI Responses API: a request's `instructions` + `input`, or a response's `output` items."""
    items: list[Any]
    lead: list[dict[str, Any]] = []
    if isinstance(doc.get("output"), list) and doc.get("object") == "response":
        items = doc["output"]
    elif "input" in doc and ("model" in doc or "instructions" in doc):
        if isinstance(doc.get("instructions"), str) and doc["instructions"]:
            lead = [{"role": "system", "content": doc["instructions"]}]
        if isinstance(doc["input"], str):
            return [*lead, {"role": "user", "content": doc["input"]}]
        if not isinstance(doc["input"], list):
            return None
        items = doc["input"]
    else:
        return None
    out = list(lead)
    for item in items:
        if not isinstance(item, dict):
            return None
        kind = item.get("type", "message")
        if kind == "message" and _is_message(item):
            out.append(item)
        elif kind == "function_call":
            call = {"id": item.get("call_id"), "function": item}
            if out and out[-1].get("role") == "assistant" and out[-1].get("_calls_only"):
                out[-1]["tool_calls"].append(call)
            else:
                out.append({"role": "assistant", "content": None, "tool_calls": [call], "_calls_only": True})
        elif kind == "function_call_output":
            out.append({"role": "tool", "content": item.get("output"), "tool_call_id": item.get("call_id")})
        elif kind == "reasoning":
            continue
        else:
            return None
    return out or None


def _message(m: dict[str, Any]) -> ChatMessage | None:
    content = m.get("content")
    if content is None and isinstance(m.get("parts"), list):
        content = m["parts"]  # OTel gen_ai messages
    calls = [_tool_call(c) for c in m.get("tool_calls") or ()]
    if isinstance(m.get("function_call"), dict):  # OpenAI's legacy single function call
        calls.append(_tool_call({"function": m["function_call"]}))
    text, part_calls, result_id = _content(content)
    calls += part_calls
    if any(c is None for c in calls):
        return None
    tool_call_id = m.get("tool_call_id") or result_id
    return ChatMessage(
        role=str(m["role"]),
        content=text,
        tool_calls=tuple(c for c in calls if c is not None),
        tool_call_id=str(tool_call_id) if tool_call_id else None,
    )


def _tool_call(c: Any) -> ToolCall | None:
    """OpenAI `{id, function: {name, arguments}}`, Anthropic `{name, input}`, OTel `{name, arguments}`."""
    if not isinstance(c, dict):
        return None
    fn: dict[str, Any] = c["function"] if isinstance(c.get("function"), dict) else c
    name = fn.get("name")
    if not isinstance(name, str):
        return None
    args = fn.get("arguments", fn.get("input"))
    call_id = c.get("id") or c.get("call_id")
    return ToolCall(name, _text(args), str(call_id) if call_id else None)


def _content(content: Any) -> tuple[str | None, list[ToolCall | None], str | None]:
    """Text of a message's content; parts that are tool calls, and the call a tool result answers."""
    if content is None or isinstance(content, str):
        return content, [], None
    if not isinstance(content, list):
        return _text(content), [], None
    texts: list[str] = []
    calls: list[ToolCall | None] = []
    result_id = None
    for part in content:
        kind = part.get("type") if isinstance(part, dict) else None
        if isinstance(part, str):
            texts.append(part)
        elif kind in ("tool_use", "tool_call", "function_call"):
            calls.append(_tool_call(part))
        elif kind in ("tool_result", "tool_call_response"):
            result_id = part.get("tool_use_id") or part.get("id")
            inner, _, _ = _content(part.get("content", part.get("response")))
            texts.append(inner or "")
        elif isinstance(part, dict) and isinstance(part.get("text"), str):
            texts.append(part["text"])  # text, input_text, output_text
        elif isinstance(part, dict) and isinstance(part.get("content"), str) and kind == "text":
            texts.append(part["content"])  # OTel text parts
        else:
            texts.append(_text(part))
    return "\n".join(texts) if texts else None, calls, result_id


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False)

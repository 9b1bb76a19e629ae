"""Stored inputs/outputs read as conversations: SDK message lists, OpenAI requests and responses
(chat and Responses API), OTel gen_ai shapes, Anthropic; anything else is not a conversation."""

from __future__ import annotations

import json
from typing import Any

import pytest

from app.tracing.chat import ChatMessage, ToolCall, chat_messages

WEATHER_CALL = {
    "id": "call_1",
    "type": "function",
    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
}


def read(doc: Any) -> list[ChatMessage] | None:
    return chat_messages(json.dumps(doc))


def test_sdk_message_list_and_single_message() -> None:
    assert read([{"role": "user", "content": "hi"}]) == [ChatMessage("user", "hi")]
    assert read({"role": "assistant", "content": "hello"}) == [ChatMessage("assistant", "hello")]


def test_openai_chat_request_with_tool_call_and_tool_result() -> None:
    request = {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "Be brief"},
            {"role": "user", "content": [{"type": "text", "text": "Weather in Paris?"}]},
            {"role": "assistant", "content": None, "tool_calls": [WEATHER_CALL]},
            {"role": "tool", "tool_call_id": "call_1", "content": "18C, sunny"},
        ],
        "tools": [{"type": "function", "function": {"name": "get_weather"}}],
    }
    assert read(request) == [
        ChatMessage("system", "Be brief"),
        ChatMessage("user", "Weather in Paris?"),
        ChatMessage("assistant", None, (ToolCall("get_weather", '{"city": "Paris"}', "call_1"),)),
        ChatMessage("tool", "18C, sunny", tool_call_id="call_1"),
    ]


def test_openai_chat_completion_response() -> None:
    response = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "choices": [
            {
                "index": 0,
                "finish_reason": "tool_calls",
                "message": {"role": "assistant", "tool_calls": [WEATHER_CALL]},
            },
            {"index": 1, "message": {"role": "assistant", "content": "It is sunny."}},
        ],
        "usage": {"prompt_tokens": 3},
    }
    assert read(response) == [
        ChatMessage("assistant", None, (ToolCall("get_weather", '{"city": "Paris"}', "call_1"),)),
        ChatMessage("assistant", "It is sunny."),
    ]
    legacy = {
        "choices": [{"message": {"role": "assistant", "function_call": {"name": "f", "arguments": "{}"}}}]
    }
    assert read(legacy) == [ChatMessage("assistant", None, (ToolCall("f", "{}"),))]


def test_openai_responses_api_request_and_response() -> None:
    request = {
        "model": "gpt-4.1",
        "instructions": "Be brief",
        "input": [
            {"role": "user", "content": [{"type": "input_text", "text": "Weather?"}]},
            {
                "type": "function_call",
                "call_id": "c1",
                "name": "get_weather",
                "arguments": '{"city":"Paris"}',
            },
            {"type": "function_call_output", "call_id": "c1", "output": "18C"},
        ],
    }
    assert read(request) == [
        ChatMessage("system", "Be brief"),
        ChatMessage("user", "Weather?"),
        ChatMessage("assistant", None, (ToolCall("get_weather", '{"city":"Paris"}', "c1"),)),
        ChatMessage("tool", "18C", tool_call_id="c1"),
    ]
    assert read({"model": "gpt-4.1", "input": "Hi"}) == [ChatMessage("user", "Hi")]
    response = {
        "object": "response",
        "output": [
            {"type": "reasoning", "summary": []},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Sunny."}]},
        ],
    }
    assert read(response) == [ChatMessage("assistant", "Sunny.")]


def test_anthropic_and_otel_shapes() -> None:
    anthropic = {
        "model": "claude",
        "system": "Be brief",
        "messages": [
            {"role": "user", "content": "Weather?"},
            {
                "role": "assistant",
                "content": [
                    {"type": "tool_use", "id": "t1", "name": "get_weather", "input": {"city": "Paris"}}
                ],
            },
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "18C"}]},
        ],
    }
    got = read(anthropic)
    assert got is not None and [m.role for m in got] == ["system", "user", "assistant", "user"]
    assert got[2].tool_calls == (ToolCall("get_weather", '{\n  "city": "Paris"\n}', "t1"),)
    assert got[3] == ChatMessage("user", "18C", tool_call_id="t1")
    otel = [
        {
            "role": "assistant",
            "parts": [
                {"type": "text", "content": "Checking"},
                {"type": "tool_call", "id": "x", "name": "search", "arguments": {"q": "a"}},
            ],
        }
    ]
    [message] = read(otel) or []
    assert message.content == "Checking" and message.tool_calls[0].name == "search"
    choice_events = [{"index": 0, "message": {"role": "assistant", "content": "ok"}}]
    assert read(choice_events) == [ChatMessage("assistant", "ok")]


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "plain text",
        json.dumps({"q": "hi"}),
        json.dumps(["a", "b"]),
        json.dumps({"messages": "not a list"}),
        json.dumps({"choices": [{"text": "legacy completion"}]}),
        json.dumps({"input": "x"}),  # neither model nor instructions: not a Responses request
        json.dumps({"role": "assistant", "tool_calls": [{"function": {"arguments": "{}"}}]}),  # no name
    ],
)
def test_other_values_are_not_conversations(value: str | None) -> None:
    assert chat_messages(value) is None

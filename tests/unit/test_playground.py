"""Playground compile and form parsing (no I/O): the Langfuse SDK's TemplateParser semantics."""

from __future__ import annotations

import pytest

from app.errors import InvalidInput
from app.playground.prompts import PlaygroundVersion, merged_config, open_prompt, state_of
from app.playground.runs import state_from_form
from app.playground.template import (
    compile_prompt,
    compile_template,
    find_variables,
    parse_messages,
    placeholders_of,
    variables_of,
)
from app.prompts.content import (
    ChatMessage,
    Placeholder,
    PromptContent,
    content_from_langfuse,
    content_to_langfuse,
)


@pytest.mark.parametrize(
    ("template", "values", "expected"),
    [
        ("Hi {{name}}!", {"name": "Ada"}, "Hi Ada!"),
        ("Hi {{ name }}!", {"name": "Ada"}, "Hi Ada!"),  # spaces inside the braces are stripped
        ("Hi {{name}} and {{other}}", {"name": "Ada"}, "Hi Ada and {{other}}"),  # unknown stays
        ("{{n}}{{n}}", {"n": 1}, "11"),
        ("x {{none}} y", {"none": None}, "x  y"),
        ("unclosed {{name", {"name": "Ada"}, "unclosed {{name"),
        ("{{a}} {b} }}", {"a": "{{b}}"}, "{{b}} {b} }}"),  # values are not compiled again
    ],
)
def test_compile_template_matches_the_sdk(template: str, values: dict[str, object], expected: str) -> None:
    assert compile_template(template, values) == expected


def test_compile_agrees_with_the_installed_langfuse_sdk() -> None:
    from langfuse.model import TemplateParser

    for template in ("a {{x}} b {{ y }} {{x}}", "{{", "}} {{z}", "{{ x }}{{y}}{{ }}"):
        values = {"x": "1", "y": None, "": "empty"}
        assert compile_template(template, values) == TemplateParser.compile_template(template, values)
        assert find_variables(template) == TemplateParser.find_variable_names(template)


def test_chat_prompt_variables_placeholders_and_compile() -> None:
    content = content_from_langfuse(
        "chat",
        [
            {"role": "system", "content": "You help {{company}} customers in {{language}}."},
            {"type": "placeholder", "name": "history"},
            {"type": "message", "role": "user", "content": "{{question}} ({{company}})"},
        ],
    )
    assert variables_of(content) == ["company", "language", "question"]
    assert placeholders_of(content) == ["history"]
    history = [{"role": "user", "content": "I am {{company}}"}, {"role": "assistant", "content": "ok"}]
    messages = compile_prompt(content, {"company": "Acme", "question": "Why?"}, {"history": history})
    assert messages == [
        {"role": "system", "content": "You help Acme customers in {{language}}."},
        {"role": "user", "content": "I am Acme"},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": "Why? (Acme)"},
    ]
    assert compile_prompt(content, {}, {})[1]["role"] == "user"  # no history: the placeholder adds none
    assert content_to_langfuse(content)[1] == {"type": "placeholder", "name": "history"}


def test_text_prompt_is_one_user_message() -> None:
    content = PromptContent("text", text="Summarise {{doc}}")
    assert variables_of(content) == ["doc"]
    assert compile_prompt(content, {"doc": "this"}, {}) == [{"role": "user", "content": "Summarise this"}]


@pytest.mark.parametrize(
    ("kind", "prompt", "message"),
    [
        ("text", ["a"], "prompt must be a string"),
        ("chat", "hi", "prompt must be a list"),
        ("chat", [{"role": "user"}], r"prompt\[0\].content must be a string"),
        ("chat", [{"type": "placeholder"}], r"prompt\[0\].name is required"),
        ("chat", [42], r"prompt\[0\] must be"),
        ("json", "x", "type must be 'text' or 'chat'"),
    ],
)
def test_bad_prompt_content_names_the_field(kind: str, prompt: object, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        content_from_langfuse(kind, prompt)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "placeholder 'h' must be a JSON list of messages"),
        ('{"role": "user"}', "must be a JSON list of messages like"),
        ('[{"content": "x"}]', r"placeholder 'h'\[0\] must be an object with a string role"),
        ('[{"role": "user", "content": 3}]', r"placeholder 'h'\[0\].content must be a string"),
    ],
)
def test_bad_placeholder_messages_name_the_placeholder(text: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_messages(text, "placeholder 'h'")
    assert parse_messages("  ", "x") == []


def test_form_state_round_trip() -> None:
    form = {
        "target": ["c1:gpt-4o"],
        "mode": ["chat"],
        "msg_kind": ["message", "placeholder", "message"],
        "msg_role": ["system", "", "user"],
        "msg_content": ["Be {{tone}}", "history", "Q: {{q}}"],
        "var:tone": ["brief"],
        "ph:history": ["[]"],
        "temperature": ["0.5"],
        "max_tokens": ["100"],
        "top_p": [""],
        "prompt_name": ["support"],
        "prompt_version": ["3"],
    }
    state = state_from_form(form)
    assert (state.connection_id, state.model) == ("c1", "gpt-4o")
    assert state.content.messages == (
        ChatMessage("system", "Be {{tone}}"),
        Placeholder("history"),
        ChatMessage("user", "Q: {{q}}"),
    )
    assert state.variables == {"tone": "brief"} and state.placeholders == {"history": "[]"}
    assert state.params.as_dict() == {"temperature": 0.5, "max_tokens": 100}
    new = PlaygroundVersion.of(state, "u1")
    assert new.type == "chat" and new.config == {"temperature": 0.5, "max_tokens": 100, "model": "gpt-4o"}
    assert new.prompt[1] == {"type": "placeholder", "name": "history"} and new.based_on_version == 3


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("temperature", "hot", "temperature must be a number"),
        ("temperature", "3", "temperature must be between 0 and 2"),
        ("max_tokens", "1.5", "max_tokens must be a whole number"),
        ("top_p", "nan", "top_p must be between 0 and 1"),
        ("prompt_version", "v2", "prompt_version must be a whole number"),
        ("msg_role", "robot", "message 1: role must be one of system, user, assistant"),
    ],
)
def test_bad_form_values_name_the_field(field: str, value: str, message: str) -> None:
    form = {"mode": ["chat"], "msg_kind": ["message"], "msg_role": ["user"], "msg_content": ["hi"]}
    with pytest.raises(InvalidInput, match=message):
        state_from_form({**form, field: [value]})


def test_opening_a_prompt_takes_model_and_parameters_from_its_config() -> None:
    opened = open_prompt(
        "text", "Hi {{x}}", {"model": "gpt-4o", "temperature": 0.2, "maxTokens": 50}, "greet", 4
    )
    state = state_of(opened)
    assert state.model == "gpt-4o" and state.params.as_dict() == {"temperature": 0.2, "max_tokens": 50}
    assert (state.prompt_name, state.prompt_version, state.variable_names) == ("greet", 4, ["x"])
    with pytest.raises(InvalidInput, match="config must be a JSON object"):
        open_prompt("text", "x", ["not", "an", "object"])


def test_a_saved_version_keeps_the_config_keys_the_playground_does_not_edit() -> None:
    stored = {"model": "gpt-4o", "temperature": 0.1, "maxTokens": 50, "response_format": {"type": "json"}}
    edited = {"temperature": 0.7, "model": "gpt-4o-mini"}
    assert merged_config(stored, edited) == {
        "response_format": {"type": "json"},
        "temperature": 0.7,
        "model": "gpt-4o-mini",
    }  # maxTokens was cleared in the playground: dropped
    assert merged_config({}, {}) == {}

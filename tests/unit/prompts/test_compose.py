"""Prompt references: parsing, recursive inlining, cycles and depth (pure, on in-memory prompts)."""

from __future__ import annotations

import pytest

from app.errors import InvalidInput
from app.prompts.compose import MAX_DEPTH, Node, Reference, parse_reference, references, resolve


@pytest.mark.parametrize(
    ("inner", "expected"),
    [
        ("name=a|version=2", Reference("a", version=2)),
        ("name=f/b|label=production", Reference("f/b", label="production")),
        ("name=a", None),
        ("name=|version=1", None),
        ("name=a|version=x", None),
        ("label=x|name=a", None),
        ("name=a|label=", None),
    ],
)
def test_parse_reference(inner: str, expected: Reference | None) -> None:
    assert parse_reference(inner) == expected


def test_references_are_found_in_text_and_chat_contents_once_each() -> None:
    tag = "@@@langfusePrompt:name=a|label=p@@@"
    assert references(f"{tag} and {tag} @@@langfusePrompt:name=b|version=1@@@") == [
        Reference("a", label="p"),
        Reference("b", version=1),
    ]
    chat: list[dict[str, object]] = [{"role": "user", "content": tag}, {"type": "placeholder", "name": "h"}]
    assert references(chat) == [Reference("a", label="p")]


def _store(*nodes: Node):  # type: ignore[no-untyped-def]
    async def fetch(ref: Reference) -> Node | None:
        return next((n for n in nodes if n.name == ref.name and n.version == (ref.version or 1)), None)

    return fetch


async def test_resolve_inlines_recursively_and_records_the_graph() -> None:
    leaf = Node("l", "leaf", 1, "text", "LEAF")
    mid = Node("m", "mid", 1, "text", "[@@@langfusePrompt:name=leaf|version=1@@@]")
    root = Node(
        "r", "root", 3, "chat", [{"role": "system", "content": "@@@langfusePrompt:name=mid|version=1@@@!"}]
    )
    out = await resolve(root, _store(leaf, mid))
    assert out.prompt == [{"role": "system", "content": "[LEAF]!"}]
    assert out.graph == {
        "root": {"id": "r", "name": "root", "version": 3},
        "dependencies": {
            "r": [{"id": "m", "name": "mid", "version": 1}],
            "m": [{"id": "l", "name": "leaf", "version": 1}],
        },
    }


async def test_nothing_to_resolve_gives_no_graph_and_malformed_tags_stay() -> None:
    text = "plain @@@langfusePrompt:name=x@@@"
    out = await resolve(Node("r", "root", 1, "text", text), _store())
    assert (out.prompt, out.graph) == (text, None)


async def test_a_cycle_is_refused_naming_it() -> None:
    a = Node("a", "a", 1, "text", "@@@langfusePrompt:name=b|version=1@@@")
    b = Node("b", "b", 1, "text", "@@@langfusePrompt:name=a|version=1@@@")
    with pytest.raises(InvalidInput, match=r"circular prompt dependency: a -> b -> a"):
        await resolve(a, _store(a, b))


async def test_nesting_deeper_than_the_limit_is_refused() -> None:
    chain = [Node("n0", "n0", 1, "text", "end")]
    for i in range(1, MAX_DEPTH + 1):
        chain.append(Node(f"n{i}", f"n{i}", 1, "text", f"@@@langfusePrompt:name=n{i - 1}|version=1@@@"))
    assert (await resolve(chain[MAX_DEPTH - 1], _store(*chain))).prompt == "end"
    with pytest.raises(InvalidInput, match="deeper than 5"):
        await resolve(chain[MAX_DEPTH], _store(*chain))

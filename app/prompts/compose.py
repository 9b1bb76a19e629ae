"""Composed prompts: `@@@langfusePrompt:name=X|version=N@@@` / `|label=L@@@` references, resolved on read.

Resolution inlines the referenced text prompts recursively (in a text prompt, and in the content of each
chat message), refuses cycles and nesting deeper than MAX_DEPTH, and records the graph the way Langfuse
returns it: `{"root": {id, name, version}, "dependencies": {parent_id: [{id, name, version}, ...]}}`.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from app.errors import InvalidInput

MAX_DEPTH = 5
TAG = re.compile(r"@@@langfusePrompt:(.*?)@@@")


@dataclass(frozen=True, slots=True)
class Reference:
    """What one tag points at: a prompt name and either a version or a label."""

    name: str
    version: int | None = None
    label: str | None = None

    def __str__(self) -> str:
        return f"name={self.name}|" + (
            f"version={self.version}" if self.version is not None else f"label={self.label}"
        )


@dataclass(frozen=True, slots=True)
class Node:
    """The part of a stored prompt version resolution needs."""

    id: str
    name: str
    version: int
    type: str
    prompt: str | list[dict[str, object]]


MAX_VERSION = 2**31 - 1  # versions are 32-bit integers in Postgres
# Looks a reference up in the same project: the version it names, or None.
Fetch = Callable[[Reference], Awaitable[Node | None]]


def parse_reference(inner: str) -> Reference | None:
    """`name=X|version=N` or `name=X|label=L` (the text between the tag's markers); None if malformed."""
    parts = inner.split("|")
    if len(parts) != 2 or not parts[0].startswith("name=") or not parts[0][5:]:
        return None
    name, (key, _, value) = parts[0][5:], parts[1].partition("=")
    if key == "version" and value.isdecimal() and int(value) <= MAX_VERSION:
        return Reference(name, version=int(value))
    if key == "label" and value:
        return Reference(name, label=value)
    return None


def _texts(prompt: str | list[dict[str, object]]) -> list[str]:
    if isinstance(prompt, str):
        return [prompt]
    return [m["content"] for m in prompt if isinstance(m.get("content"), str)]  # type: ignore[misc]


def references(prompt: str | list[dict[str, object]]) -> list[Reference]:
    """Every distinct well-formed reference in a text prompt or in chat message contents, in order."""
    found: dict[Reference, None] = {}
    for content in _texts(prompt):
        for match in TAG.finditer(content):
            ref = parse_reference(match.group(1))
            if ref is not None:
                found[ref] = None
    return list(found)


def _of(node: Node) -> str:
    """How a message names a version; a draft (version 0) is the version being created."""
    return f"{node.name!r} version {node.version}" if node.version else f"the new version of {node.name!r}"


@dataclass(frozen=True, slots=True)
class Resolved:
    """A prompt with every reference inlined, and the graph of what was inlined (None: nothing was)."""

    prompt: str | list[dict[str, object]]
    graph: dict[str, Any] | None


async def resolve(root: Node, fetch: Fetch) -> Resolved:
    """Inline references recursively; a cycle, a missing or non-text dependency or too deep nesting →
    InvalidInput naming it."""
    edges: dict[str, list[dict[str, object]]] = {}
    cache: dict[Reference, Node] = {}

    async def inline(node: Node, path: tuple[Node, ...]) -> str | list[dict[str, object]]:
        if len(path) > MAX_DEPTH:
            chain = " -> ".join(f"{n.name} v{n.version}" for n in path)
            raise InvalidInput(f"prompt nesting is deeper than {MAX_DEPTH} levels: {chain}")
        texts: dict[Reference, str] = {}
        for ref in references(node.prompt):
            dep = cache.get(ref) or await fetch(ref)
            if dep is None:
                raise InvalidInput(f"prompt dependency not found: {ref} (referenced by {_of(node)})")
            cache[ref] = dep
            if dep.type != "text":
                raise InvalidInput(
                    f"prompt dependency {ref} is a {dep.type} prompt; only text prompts compose"
                )
            if any(n.id == dep.id or n.name == dep.name for n in path):
                chain = " -> ".join([*(n.name for n in path), dep.name])
                raise InvalidInput(f"circular prompt dependency: {chain}")
            children = edges.setdefault(node.id, [])
            entry: dict[str, object] = {"id": dep.id, "name": dep.name, "version": dep.version}
            if entry not in children:
                children.append(entry)
            inlined = await inline(dep, (*path, dep))
            assert isinstance(inlined, str)
            texts[ref] = inlined
        if not texts:
            return node.prompt

        def substitute(content: str) -> str:
            def one(match: re.Match[str]) -> str:
                ref = parse_reference(match.group(1))
                return texts[ref] if ref in texts else match.group(0)

            return TAG.sub(one, content)

        if isinstance(node.prompt, str):
            return substitute(node.prompt)
        return [
            {**m, "content": substitute(m["content"])} if isinstance(m.get("content"), str) else m  # type: ignore[arg-type]
            for m in node.prompt
        ]

    prompt = await inline(root, (root,))
    graph = None
    if edges:
        graph = {"root": {"id": root.id, "name": root.name, "version": root.version}, "dependencies": edges}
    return Resolved(prompt, graph)

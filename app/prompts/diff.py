"""Readable line diffs between two prompt versions (difflib unified diffs, pure)."""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass

from app.storage.postgres.tables import Prompt


@dataclass(frozen=True, slots=True)
class PromptDiff:
    """Unified-diff lines of the prompt content and of the config (pretty JSON); empty when equal."""

    from_version: int
    to_version: int
    prompt: list[str]
    config: list[str]

    @property
    def changed(self) -> bool:
        return bool(self.prompt or self.config)


def content_lines(prompt: str | list[dict[str, object]]) -> list[str]:
    """A text prompt's lines; a chat prompt as `[role]` headers followed by each message's content lines
    (placeholders as `[placeholder] name`)."""
    if isinstance(prompt, str):
        return prompt.splitlines()
    lines: list[str] = []
    for message in prompt:
        if message.get("type") == "placeholder":
            lines.append(f"[placeholder] {message.get('name')}")
            continue
        lines.append(f"[{message.get('role')}]")
        lines += [f"  {line}" for line in str(message.get("content", "")).splitlines()]
    return lines


def config_lines(config: object) -> list[str]:
    return json.dumps(config, indent=2, sort_keys=True, ensure_ascii=False).splitlines()


def _unified(a: list[str], b: list[str], va: int, vb: int) -> list[str]:
    return list(difflib.unified_diff(a, b, f"version {va}", f"version {vb}", lineterm=""))


def diff_versions(a: Prompt, b: Prompt) -> PromptDiff:
    """What changed from version `a` to version `b` of a prompt."""
    return PromptDiff(
        a.version,
        b.version,
        _unified(content_lines(a.prompt), content_lines(b.prompt), a.version, b.version),
        _unified(config_lines(a.config), config_lines(b.config), a.version, b.version),
    )

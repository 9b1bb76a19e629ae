"""Word diffs of outputs for the compare view: difflib over words, every piece HTML-escaped; pure."""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from html import escape
from typing import Any

from markupsafe import Markup

# Longer texts are diffed on their first MAX_CHARS (SequenceMatcher is quadratic in the worst case).
MAX_CHARS = 4000
EXACT_WORK = 250_000  # token pairs
SHORT = 280  # a diff of a text this long or shorter is shown open; longer ones start collapsed
# Words and punctuation with their leading whitespace: fewer, rarer tokens than whitespace apart.
_TOKENS = re.compile(r"\s*\w+|\s*[^\w\s]|\s+")


def as_text(value: Any) -> str:
    """An output as text: strings as they are, JSON values indented, nothing as ''."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True, default=str)


@dataclass(frozen=True, slots=True)
class TextDiff:
    """`new` against `old`: HTML with <del>/<ins> around changed words, counts, and whether it is long."""

    html: Markup
    added: int  # words (and punctuation) only in new
    removed: int  # words (and punctuation) only in old
    long: bool  # longer than SHORT characters: shown collapsed
    truncated: bool  # diffed on the first MAX_CHARS characters only
    preview: str  # the new text's start, for the collapsed summary

    @property
    def same(self) -> bool:
        return not (self.added or self.removed)


def word_diff(old: str, new: str) -> TextDiff:
    """Diff `new` against `old` word by word; every character of both is escaped."""
    truncated = len(old) > MAX_CHARS or len(new) > MAX_CHARS
    if old == new:  # the common case among good runs: nothing to match
        text = escape(new[:MAX_CHARS])
        return TextDiff(Markup(text), 0, 0, len(new) > SHORT, truncated, " ".join(new[:SHORT].split()))  # noqa: S704
    a, b = _TOKENS.findall(old[:MAX_CHARS]), _TOKENS.findall(new[:MAX_CHARS])
    parts: list[str] = []
    added = removed = 0
    # Exact matching costs up to len(a) x len(b) per step; beyond EXACT_WORK, tokens frequent in the
    # text stop being anchors (difflib's autojunk), which keeps long diffs near-linear.
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=len(a) * len(b) > EXACT_WORK)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            parts.append(escape("".join(a[i1:i2])))
            continue
        if i2 > i1:
            removed += sum(1 for t in a[i1:i2] if not t.isspace())
            parts.append(f"<del>{escape(''.join(a[i1:i2]))}</del>")
        if j2 > j1:
            added += sum(1 for t in b[j1:j2] if not t.isspace())
            parts.append(f"<ins>{escape(''.join(b[j1:j2]))}</ins>")
    if truncated:
        parts.append('<span class="hint"> … (diffed on the first 4,000 characters)</span>')
    long = max(len(old), len(new)) > SHORT
    preview = " ".join(new[:SHORT].split())
    return TextDiff(Markup("".join(parts)), added, removed, long, truncated, preview)  # noqa: S704

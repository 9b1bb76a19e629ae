"""How pages show stored values: JSON indented, chat messages as a conversation, one-line previews for
lists, costs with their significant digits, durations and times. `FILTERS` are the template filters of
these."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from litestar.plugins.jinja import JinjaTemplateEngine

from app.storage import json_text
from app.storage.clickhouse.queries.views import ScoreView
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


PREVIEW_MAX = 1_000  # characters of a preview (pages cut it shorter and keep this much for a title)
TEXT_KEYS = ("text", "content", "message", "question", "query", "prompt", "input", "output", "answer")


def preview(value: str | None, role: str = "user") -> str:
    """Stored input/output as one line to read in a list: of a conversation the last message of `role`
    (`user` for inputs, `assistant` for outputs) that says something, else its last such message; of a
    JSON object its one text field; else the value as compact text. Whitespace runs become one space."""
    if not value:
        return ""
    messages = chat_messages(value)
    if messages:
        text = _message_text(messages, role)
    else:
        try:
            text = _doc_text(json_text.loads(value))
        except ValueError:
            text = value
    line = " ".join(text.split())
    return line if len(line) <= PREVIEW_MAX else line[: PREVIEW_MAX - 1] + "…"


def _message_text(messages: list[ChatMessage], role: str) -> str:
    said = [m for m in messages if m.content]
    chosen = next((m for m in reversed(said) if m.role == role), said[-1] if said else None)
    if chosen is not None and chosen.content:
        return chosen.content
    return ", ".join(f"{c.name}({c.arguments})" for m in messages for c in m.tool_calls)  # calls alone


def _doc_text(doc: Any) -> str:
    """A decoded JSON value as text: a wrapper of one value unwrapped, an object's one text field (or
    a well-known one), else `key: value` pairs / items with nested values as compact JSON."""
    while isinstance(doc, dict | list) and len(doc) == 1:
        doc = next(iter(doc.values())) if isinstance(doc, dict) else doc[0]
    if isinstance(doc, dict):
        texts = [v for v in doc.values() if isinstance(v, str)]
        known = [doc[k] for k in TEXT_KEYS if isinstance(doc.get(k), str)]
        if len(texts) == 1 or known:
            return str(texts[0] if len(texts) == 1 else known[0])
        return ", ".join(f"{k}: {_compact(v)}" for k, v in doc.items())
    if isinstance(doc, list):
        return ", ".join(_compact(v) for v in doc)
    return _compact(doc)


def _compact(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


MAX_COST_DECIMALS = 12  # as stored (Decimal64(12))


def cost(value: Decimal | float | None) -> str:
    """A cost in USD to read: cents from a dollar up (`$1.23`), two significant digits below it
    (`$0.50`, `$0.001`, `$0.00012`): a stored cost that is not zero never reads `$0.00`."""
    if value is None:
        return ""
    amount = Decimal(str(value))
    if amount == 0:
        return "$0.00"
    sign, size = ("-" if amount < 0 else ""), abs(amount)
    if size >= 1:
        return f"{sign}${size:,.2f}"
    decimals = min(max(2, 1 - size.adjusted()), MAX_COST_DECIMALS)
    digits = f"{size.quantize(Decimal(1).scaleb(-decimals)):f}"
    whole, _, fraction = digits.partition(".")
    fraction = fraction.rstrip("0").ljust(2, "0")
    return f"{sign}${whole}.{fraction}"


def worst_level(counts_by_level: dict[str, int]) -> str | None:
    """`ERROR` or `WARNING` when a trace's observations include one (by their live counts), else None."""
    return next((level for level in ("ERROR", "WARNING") if counts_by_level.get(level, 0) > 0), None)


MAX_SCORES_SHOWN = 4


def compact_scores(scores: list[ScoreView]) -> list[str]:
    """A trace's scores in a few words, `name value` per name (its newest value; `scores` oldest first),
    by name; past MAX_SCORES_SHOWN names, `+N more`."""
    newest = {s.name: s.label for s in scores}
    shown = [f"{name} {newest[name]}" for name in sorted(newest)]
    if len(shown) > MAX_SCORES_SHOWN:
        shown = [*shown[:MAX_SCORES_SHOWN], f"+{len(shown) - MAX_SCORES_SHOWN} more"]
    return shown


FILTERS: dict[str, Callable[..., Any]] = {
    "cost": cost,
    "preview": preview,
    "worst_level": worst_level,
}


def register_filters(engine: JinjaTemplateEngine) -> None:
    """Make FILTERS usable in every template (`{{ t.totals.total_cost | cost }}`)."""
    engine.engine.filters.update(FILTERS)


def is_empty(value: str | None) -> bool:
    """True for an input/output with nothing to read: none, blank, JSON null or an empty string."""
    return value is None or value.strip() in ("", "null", '""')


def plain(value: Any) -> str:
    """A metadata value on one line: text as it is, anything else as compact JSON."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def duration(ms: float | None) -> str:
    """A duration for people: `850 ms`, `2.5 ms`, `1.25 s`, `2 min 5 s`, `1 h 3 min`; "" for none."""
    if ms is None:
        return ""
    if ms < 10:
        return f"{ms:.2g} ms"
    if ms < 1000:
        return f"{ms:.0f} ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.2f}".rstrip("0").rstrip(".") + " s"
    minutes, seconds = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s" if seconds else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def moment(at: datetime) -> str:
    """A point in time to the millisecond, in UTC as stored."""
    return at.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + " UTC"

"""How pages show stored values: JSON indented, chat messages as a conversation, durations and times."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from app.storage import json_text
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

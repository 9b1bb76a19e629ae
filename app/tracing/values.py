"""Bound stored input/output values: longer ones are cut with a visible marker, originals kept apart."""

from __future__ import annotations

import json

from app.errors import NotFound
from app.storage import Storage
from app.storage.clickhouse.queries import observations as oq
from app.storage.clickhouse.write_rows import ObservationRow, TraceRow

TRUNCATED_KEY = "langhouse.truncated"
"""Metadata entry naming, per truncated field, the original's size and blob key."""
NOTE_KEY = "langhouse.note"
"""Metadata entry for what ingestion changed in a value it accepted (e.g. an end before the start)."""


def _mib(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MiB" if n >= 1024 * 1024 else f"{n / 1024:.1f} KiB"


def truncate(text: str, limit: int) -> tuple[str, int] | None:
    """`text` cut to its first `limit` UTF-8 bytes plus a marker, and its whole size; None when it fits."""
    if len(text) <= limit // 4:  # at most 4 bytes a character: fits without encoding
        return None
    data = text.encode()
    if len(data) <= limit:
        return None
    kept = data[:limit].decode(errors="ignore")
    return f"{kept}…[truncated by Langhouse: {_mib(len(data))}, first {_mib(limit)} kept]", len(data)


def original_key(project_id: str, trace_id: str, owner: str, field: str) -> str:
    """Blob key of a truncated value's original; `owner` is the observation id, or 'trace'."""
    return f"io/{project_id}/{trace_id}/{owner}/{field}"


def add_metadata(row: ObservationRow | TraceRow, name: str, entries: dict[str, object]) -> None:
    """Merge `entries` into the row's metadata object `name` (created when missing)."""
    names, values = row.metadata_names, row.metadata_values
    if name in names:
        index = names.index(name)
        try:
            current = json.loads(values[index])
        except ValueError:
            current = {}
        merged = {**(current if isinstance(current, dict) else {}), **entries}
        values[index] = json.dumps(merged, ensure_ascii=False)
    else:
        names.append(name)
        values.append(json.dumps(entries, ensure_ascii=False))


def bound_values(row: ObservationRow | TraceRow, limit: int) -> list[tuple[str, bytes]]:
    """Truncate the row's input and output to `limit` bytes; return (blob key, original) for each cut,
    which the caller stores before writing the row. Keys are deterministic, so replays are idempotent."""
    originals: list[tuple[str, bytes]] = []
    notes: dict[str, object] = {}
    for field in ("input", "output"):
        text = getattr(row, field)
        cut = None if text is None else truncate(text, limit)
        if cut is None:
            continue
        if isinstance(row, ObservationRow):
            key = original_key(row.project_id, row.trace_id, row.id, field)
        else:
            key = original_key(row.project_id, row.id, "trace", field)
        originals.append((key, text.encode()))
        setattr(row, field, cut[0])
        notes[field] = {"originalBytes": cut[1], "blobKey": key}
    if notes:
        add_metadata(row, TRUNCATED_KEY, notes)
    return originals


async def fetch_original(storage: Storage, project_id: str, observation_id: str, field: str) -> bytes:
    """The whole original of an observation's truncated input or output; NotFound when there is none."""
    if field not in ("input", "output"):
        raise NotFound(f"no field {field!r}: use input or output")
    found = await oq.fetch_observation(storage.clickhouse, project_id, observation_id)
    notes = found.metadata.get(TRUNCATED_KEY) if found is not None else None
    entry = notes.get(field) if isinstance(notes, dict) else None
    key = entry.get("blobKey") if isinstance(entry, dict) else None
    if not isinstance(key, str) or not key.startswith(f"io/{project_id}/"):
        raise NotFound(f"observation {observation_id!r} has no truncated {field}")
    return await storage.blobs.get(key)

"""Dataset items and experiment results as CSV or JSONL text, record by record (callers stream it).

CSV cells hold JSON for anything that is not text, so an exported file imports back with the same
values (the import parses JSON-looking cells).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any, Literal

from app.errors import InvalidInput
from app.evaluation import datasets
from app.evaluation.datasets import ItemQuery, ItemView
from app.evaluation.results import ItemResult
from app.storage import Storage

ExportFormat = Literal["csv", "jsonl"]
ITEM_COLUMNS = (
    "id",
    "status",
    "input",
    "expected_output",
    "metadata",
    "source_trace_id",
    "source_observation_id",
    "created_at",
    "updated_at",
)
RESULT_COLUMNS = (
    "item_id",
    "trace_id",
    "observation_id",
    "input",
    "output",
    "expected_output",
    "scores",
    "total_cost",
    "latency_ms",
    "level",
)
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}
PAGE = 500


def export_format(value: str | None) -> ExportFormat:
    """`csv` (the default) or `jsonl`; InvalidInput naming `format` otherwise."""
    if value in (None, "", "csv"):
        return "csv"
    if value == "jsonl":
        return "jsonl"
    raise InvalidInput("format must be csv or jsonl")


def item_record(item: ItemView) -> dict[str, Any]:
    """One item as an exported record (JSON values kept as values)."""
    return {
        "id": item.id,
        "status": str(item.status),
        "input": item.input,
        "expected_output": item.expected_output,
        "metadata": item.metadata,
        "source_trace_id": item.source_trace_id,
        "source_observation_id": item.source_observation_id,
        "created_at": item.created_at.isoformat(),
        "updated_at": item.updated_at.isoformat(),
    }


async def item_records(storage: Storage, project_id: str, query: ItemQuery) -> AsyncIterator[dict[str, Any]]:
    """Every item the query selects as an export record, read a page at a time."""
    page = 1
    while True:
        items, total = await datasets.list_items_page(storage, project_id, query, page, PAGE)
        for item in items:
            yield item_record(item)
        if not items or page * PAGE >= total:
            return
        page += 1


def result_record(result: ItemResult) -> dict[str, Any]:
    """One item run of an experiment as an exported record."""
    return {
        "item_id": result.item_key,
        "trace_id": result.trace_id,
        "observation_id": result.observation_id,
        "input": result.input,
        "output": result.output,
        "expected_output": result.expected_output,
        "scores": dict(result.scores),
        "total_cost": result.total_cost,
        "latency_ms": result.latency_ms,
        "level": result.level,
    }


def _csv_cell(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float):
        return "" if value is None else value
    return json.dumps(value, ensure_ascii=False)


def encode(
    records: Iterable[dict[str, Any]], fmt: ExportFormat, columns: tuple[str, ...], header: bool = True
) -> Iterator[str]:
    """The records as CSV (the header line unless `header` is False, then one line each) or JSONL, in
    chunks of whole records."""
    if fmt == "jsonl":
        for record in records:
            yield json.dumps(record, ensure_ascii=False, default=str) + "\n"
        return
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
    if header:
        writer.writeheader()
    for record in records:
        writer.writerow({k: _csv_cell(record.get(k)) for k in columns})
        if out.tell() > 64_000:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()

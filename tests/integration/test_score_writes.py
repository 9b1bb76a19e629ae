"""Score batches of concurrent ingestion jobs share one insert; a row ClickHouse refuses is refused alone."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from app.storage import Storage
from app.storage.clickhouse.query import CompiledQuery
from app.storage.clickhouse.write_rows import ScoreRow
from app.tracing.writer import CoalescingWriter
from tests.conftest import ProjectFixture

pytestmark = pytest.mark.integration


def score(project_id: str, n: int) -> ScoreRow:
    now = datetime.now(UTC)
    return ScoreRow(project_id, f"s-{n}", now, "quality", trace_id=f"t-{n}", value=n, event_ts=now)


async def stored(storage: Storage, project_id: str) -> list[str]:
    q = CompiledQuery(
        "SELECT id FROM scores WHERE project_id = {project_id:String} ORDER BY id",
        {"project_id": project_id},
        "test.scores",
    )
    return [r["id"] for r in await storage.clickhouse.query(q)]


async def test_concurrent_score_batches_are_stored_and_a_refused_row_is_alone(
    storage: Storage, project: ProjectFixture
) -> None:
    pid = project.project_id
    bad = replace(score(pid, 5), name=None)  # type: ignore[arg-type]
    writer = CoalescingWriter(storage)
    try:
        results = await asyncio.gather(
            writer.write_scores([score(pid, 1), score(pid, 2)]),
            writer.write_scores([score(pid, 3), score(pid, 4), bad, score(pid, 6)]),
            writer.write_scores([score(pid, 7)]),
        )
    finally:
        await writer.close()
    assert results[0] == results[2] == ()
    [refused] = results[1]
    assert refused.row == "score s-5" and refused.reason
    assert await stored(storage, pid) == ["s-1", "s-2", "s-3", "s-4", "s-6", "s-7"]


async def test_a_cancelled_job_does_not_break_the_next_score_flush(
    storage: Storage, project: ProjectFixture
) -> None:
    """A job cut off (a shutdown) while its scores wait for the flush: its rows are still written, and
    the jobs that still wait get their answer."""
    pid = project.project_id
    writer = CoalescingWriter(storage)
    try:
        cut = asyncio.create_task(writer.write_scores([score(pid, 11)]))
        waiting = asyncio.create_task(writer.write_scores([score(pid, 12)]))
        await asyncio.sleep(0)
        cut.cancel()
        assert await waiting == ()
    finally:
        await writer.close()
    assert await stored(storage, pid) == ["s-11", "s-12"]

"""Newest-first observation pages read only the newest rows, and stay exact: rewritten observations
(a cancel row plus a new version) appear once, in their place, and the count nets them."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from app.storage import Storage
from app.storage.clickhouse.queries import observations as oq
from app.storage.clickhouse.queries.common import TimeRange
from app.storage.clickhouse.write_rows import ObservationRow
from app.storage.clickhouse.writes import insert_observations
from tests.conftest import ProjectFixture

pytestmark = pytest.mark.integration


async def test_pages_walk_every_observation_once_and_count_nets_rewrites(
    storage: Storage, project: ProjectFixture
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    rows = [
        ObservationRow(
            project_id=project.project_id,
            id=f"o{i:02d}",
            trace_id=f"t{i // 3}",
            parent_observation_id=None,
            type="SPAN",
            name="step",
            start_time=now - timedelta(seconds=i),
            event_ts=now,
        )
        for i in range(30)
    ]
    # Every third observation rewritten twice (its newest state named "v3"), the newest ones included.
    writes = list(rows)
    for row in rows[::3]:
        old = row
        for version in (2, 3):
            new = replace(old, name=f"v{version}", row_version=version)
            writes += [replace(old, sign=-1), new]
            old = new
    await insert_observations(storage.clickhouse, writes)
    req = oq.ObservationListRequest(
        project.project_id, TimeRange(now - timedelta(hours=1), now + timedelta(1))
    )
    seen, after = [], None
    while True:
        page = await oq.list_observations(storage.clickhouse, replace(req, first=4, after=after))
        seen += [(o.id, o.name) for o in page.items]
        if not page.has_next:
            break
        after = page.end_cursor
    assert [i for i, _ in seen] == [f"o{i:02d}" for i in range(30)]
    assert {n for i, n in seen if int(i[1:]) % 3 == 0} == {"v3"}
    assert await oq.count_observations(storage.clickhouse, req) == 30
    whole = await storage.clickhouse.query(oq.compile_observation_list(replace(req, first=100)))
    assert [r["id"] for r in whole] == [i for i, _ in seen]


async def test_a_lookup_near_its_start_time_is_bounded_and_falls_back_when_it_moved(
    storage: Storage, project: ProjectFixture
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    rows = [
        ObservationRow(
            project_id=project.project_id,
            id=f"n{i:04d}",
            trace_id=f"nt{i // 10}",
            parent_observation_id=None,
            type="SPAN",
            name="step",
            start_time=now - timedelta(minutes=i),
            event_ts=now,
        )
        for i in range(300)
    ]
    await insert_observations(storage.clickhouse, rows)
    target = rows[150]
    near = target.start_time + timedelta(minutes=5)  # what the execution kept, a little off
    queries: list[str] = []
    query = storage.clickhouse.query

    async def recorded(compiled, *args, **kwargs):  # type: ignore[no-untyped-def]
        queries.append(compiled.sql)
        return await query(compiled, *args, **kwargs)

    storage.clickhouse.query = recorded  # type: ignore[method-assign]
    try:
        found = await oq.fetch_observation(
            storage.clickhouse, project.project_id, target.id, target.trace_id, near
        )
        assert found is not None and found.id == target.id
        assert len(queries) == 1 and "start_time >=" in queries[0] and "trace_id" in queries[0]
        # its start time moved by more than the bound since: a second read without the bound finds it
        far = target.start_time + timedelta(days=3)
        moved = await oq.fetch_observation(storage.clickhouse, project.project_id, target.id, None, far)
        assert moved is not None and moved.id == target.id and len(queries) == 3
        assert "start_time >=" not in queries[2]
        # many in one read, answered in order; only the missed ones are read again
        refs = [
            oq.ObservationRef(rows[10].id, rows[10].trace_id, rows[10].start_time),
            oq.ObservationRef("nope", "nt1", rows[11].start_time),
            oq.ObservationRef(rows[12].id, rows[12].trace_id, rows[12].start_time + timedelta(days=3)),
            oq.ObservationRef(rows[13].id, rows[13].trace_id, rows[13].start_time),
        ]
        many = await oq.fetch_observations(storage.clickhouse, project.project_id, refs)
        assert [o.id if o else None for o in many] == [rows[10].id, None, rows[12].id, rows[13].id]
        assert len(queries) == 5
    finally:
        del storage.clickhouse.query
    assert await oq.fetch_observation(storage.clickhouse, project.project_id, "nope", None, near) is None

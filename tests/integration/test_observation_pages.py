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

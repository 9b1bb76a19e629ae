"""A query ClickHouse refuses for a reason of ours: the caller gets a StorageError naming the query only;
the log says ClickHouse's reason, so whoever runs the server can tell why."""

from __future__ import annotations

import logging

import pytest

from app.errors import StorageError
from app.storage import Storage
from app.storage.clickhouse.query import CompiledQuery
from tests.conftest import ProjectFixture

pytestmark = pytest.mark.integration


async def test_a_failed_query_logs_clickhouses_reason(
    storage: Storage, project: ProjectFixture, caplog: pytest.LogCaptureFixture
) -> None:
    sql = "SELECT no_such_column FROM observations WHERE project_id = {project_id:String}"
    query = CompiledQuery(sql, {"project_id": project.project_id}, "test.broken")
    with (
        caplog.at_level(logging.ERROR, "app.storage.clickhouse.client"),
        pytest.raises(StorageError) as info,
    ):
        await storage.clickhouse.query(query)
    assert str(info.value) == "ClickHouse query test.broken failed"  # nothing of ClickHouse's for callers
    [logged] = [r.getMessage() for r in caplog.records if "test.broken" in r.getMessage()]
    assert logged.startswith("clickhouse query test.broken failed: ") and "no_such_column" in logged

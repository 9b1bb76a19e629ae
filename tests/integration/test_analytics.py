"""app.analytics on real stores: the daily usage says what the REST daily metrics say."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.analytics.usage import UsageFilter, daily_usage
from app.api.metrics import day_json
from app.storage.clickhouse.queries.common import TimeRange
from tests.conftest import ProjectFixture
from tests.integration.reads_data import TRACES, seed

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("worker")]


async def test_daily_usage_folds_days_and_models_as_the_rest_daily_metrics(
    client, storage, project: ProjectFixture
) -> None:
    await seed(client, storage, project)
    end = datetime.now(UTC)
    time = TimeRange(end - timedelta(days=30), end)
    for only, params in ((UsageFilter(), {}), (UsageFilter(user_ids=("user-2",)), {"userId": "user-2"})):
        days = await daily_usage(storage.clickhouse, project.project_id, time, only)
        r = await client.get(
            "/api/public/metrics/daily",
            params={**params, "fromTimestamp": time.start.isoformat(), "toTimestamp": end.isoformat()},
            auth=project.auth,
        )
        assert r.status_code == 200, r.text
        assert [day_json(d) for d in days] == r.json()["data"]
    assert (
        sum(d.observations for d in await daily_usage(storage.clickhouse, project.project_id, time))
        == 2 * TRACES
    )

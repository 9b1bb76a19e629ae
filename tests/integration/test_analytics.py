"""app.analytics on real stores: the daily usage says what the REST daily metrics say."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.analytics.usage import UsageFilter, daily_usage
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
        assert [
            {
                "date": d.day.isoformat(),
                "countTraces": d.traces,
                "countObservations": d.observations,
                "totalCost": d.total_cost,
                "usage": [
                    {
                        "model": m.model,
                        "inputUsage": m.input_tokens,
                        "outputUsage": m.output_tokens,
                        "totalUsage": m.total_tokens,
                        "countTraces": m.traces,
                        "countObservations": m.observations,
                        "totalCost": m.total_cost,
                    }
                    for m in d.models
                ],
            }
            for d in days
        ] == r.json()["data"]
    assert (
        sum(d.observations for d in await daily_usage(storage.clickhouse, project.project_id, time))
        == 2 * TRACES
    )

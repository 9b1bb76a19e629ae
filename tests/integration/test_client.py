"""The notebook client against a running server: DataFrames of traces, observations, scores, metrics."""

from __future__ import annotations

import asyncio

import pytest

from app.client import Langhouse, LanghouseError
from tests.conftest import LiveServer, ProjectFixture
from tests.integration.reads_data import TRACES, seed

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("worker")]


async def test_dataframes(live_server: LiveServer, client, storage, project: ProjectFixture) -> None:
    s = await seed(client, storage, project)

    def read() -> dict:
        with Langhouse(live_server.base_url, project.public_key, project.secret_key) as lh:
            traces = lh.traces(filter={"userIds": ["user-0"]})
            observations = lh.observations(filter={"types": ["GENERATION"]}, limit=5)
            scores = lh.scores()
            metrics = lh.metrics(
                "OBSERVATIONS", [("TOTAL_TOKENS", "SUM")], dimensions=["TYPE"], granularity=None
            )
            with pytest.raises(LanghouseError, match="measure LATENCY is not available on view SCORES"):
                lh.metrics("SCORES", [("LATENCY", "AVG")])
            return {"traces": traces, "observations": observations, "scores": scores, "metrics": metrics}

    got = await asyncio.to_thread(read)
    traces = got["traces"]
    assert list(traces["id"]) == [s.trace_ids[i] for i in (9, 6, 3, 0)]
    assert str(traces["timestamp"].dtype).startswith("datetime64") and "totals.totalCost" in traces.columns
    assert len(got["observations"]) == 5 and set(got["observations"]["type"]) == {"GENERATION"}
    assert sorted(got["scores"]["value"]) == [0.0, 0.3, 0.6, 0.9]
    metrics = got["metrics"].set_index("type")
    assert metrics.loc["GENERATION", "total_tokens_sum"] == sum(10 * i + 5 for i in range(TRACES))
    with pytest.raises(LanghouseError, match="public_key"):
        Langhouse(live_server.base_url, None, None)

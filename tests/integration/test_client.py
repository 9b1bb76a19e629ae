"""The notebook client against a running server: DataFrames of traces, observations, scores, metrics,
datasets, experiments and comparisons."""

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


async def test_evaluation_dataframes(
    live_server: LiveServer, client, storage, project: ProjectFixture
) -> None:
    from tests.integration.test_graphql_evaluation import QUESTIONS, run_and_wait

    dataset_id, (good, bad) = await run_and_wait(live_server, client, project)

    def read() -> dict:
        with Langhouse(live_server.base_url, project.public_key, project.secret_key) as lh:
            with pytest.raises(LanghouseError, match="dataset not found"):
                lh.dataset_items("no-such-dataset")
            with pytest.raises(LanghouseError, match="others: compare 2 to 5 experiments"):
                lh.compare(good, [])
            return {
                "datasets": lh.datasets(),
                "items": lh.dataset_items("quiz"),
                "experiments": lh.experiments(),
                "experiment_items": lh.experiment_items(bad),
                "compare": lh.compare(good, [bad]),
            }

    got = await asyncio.to_thread(read)
    datasets = got["datasets"]
    assert list(datasets["name"]) == ["quiz"] and list(datasets["itemCount"]) == [len(QUESTIONS)]
    assert str(datasets["createdAt"].dtype).startswith("datetime64")
    items = got["items"].set_index("id")
    assert sorted(items.index) == [q[0] for q in QUESTIONS]
    assert items.loc["i-1", "input"] == "b" and items.loc["i-1", "expectedOutput"] == "B"
    experiments = got["experiments"].set_index("name")
    assert set(experiments.index) == {"good", "bad"} and experiments.loc["bad", "datasetId"] == dataset_id
    assert experiments.loc["good", "score.exact"] == 1.0 and experiments.loc["bad", "score.exact"] == 0.25
    assert experiments.loc["bad", "itemCount"] == len(QUESTIONS)
    runs = got["experiment_items"].set_index("itemId")
    assert runs.loc["i-0", "output"] == "A" and runs.loc["i-0", "score.exact"] == 1.0
    assert runs.loc["i-2", "output"] == "?" and runs.loc["i-2", "score.exact"] == 0.0
    scores, compared = got["compare"]
    exact = scores[scores["score"] == "exact"].set_index("run")
    assert exact.loc["good", "baseline"] and exact.loc["good", "mean"] == 1.0
    assert exact.loc["bad", "delta"] == pytest.approx(-0.75) and exact.loc["bad", "pairedItems"] == len(
        QUESTIONS
    )
    assert set(scores["score"]) == {"exact", "cost", "latency"}
    assert len(compared) == 2 * len(QUESTIONS)  # one row per (item, run)
    row = compared[(compared["itemKey"] == "i-3") & (compared["run"] == "bad")].iloc[0]
    assert row["output"] == "?" and row["flag.exact"] == "REGRESSED" and row["score.exact"] == 0.0

"""The notebook client (clients/python, package langhouse-client) against a running server: DataFrames of
traces, observations, sessions, users, scores, metrics, prompts, datasets, experiments and comparisons; and
the package installed alone into a fresh virtual environment."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from langhouse_client import Langhouse, LanghouseError
from tests.conftest import LiveServer, ProjectFixture, wait_for
from tests.integration.reads_data import TRACES, seed
from tests.integration.test_prompts_sdk import trace_with_prompt

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
            return {
                "traces": traces,
                "observations": observations,
                "scores": scores,
                "metrics": metrics,
                "sessions": lh.sessions(sort="TRACE_COUNT"),
                "users": lh.users(sort="TOTAL_COST", direction="ASC"),
                "one_user": lh.users(filter={"userIds": ["user-1"]}),
                "paged_sessions": lh.sessions(limit=3),
            }

    got = await asyncio.to_thread(read)
    traces = got["traces"]
    assert list(traces["id"]) == [s.trace_ids[i] for i in (9, 6, 3, 0)]
    assert str(traces["timestamp"].dtype).startswith("datetime64") and "totals.totalCost" in traces.columns
    assert len(got["observations"]) == 5 and set(got["observations"]["type"]) == {"GENERATION"}
    assert sorted(got["scores"]["value"]) == [0.0, 0.3, 0.6, 0.9]
    metrics = got["metrics"].set_index("type")
    assert metrics.loc["GENERATION", "total_tokens_sum"] == sum(10 * i + 5 for i in range(TRACES))
    sessions = got["sessions"].set_index("id")
    assert sorted(sessions.index) == [f"session-{i}" for i in range(4)]
    assert list(sessions["traceCount"]) == [3, 3, 3, 3] and list(sessions["observationCount"]) == [6] * 4
    assert sessions.loc["session-0", "userIds"] == ["user-0", "user-1", "user-2"]  # traces 0, 4, 8
    assert str(sessions["lastSeen"].dtype).startswith("datetime64")
    assert len(got["paged_sessions"]) == 3  # `limit` stops the paging
    users = got["users"]
    assert list(users["id"]) == ["user-0", "user-1", "user-2"]  # cost 0.018 < 0.022 < 0.026
    assert list(users["sessionCount"]) == [4, 4, 4] and list(users["traceCount"]) == [4, 4, 4]
    assert users["totalCost"].tolist() == pytest.approx([0.018, 0.022, 0.026])
    assert list(got["one_user"]["id"]) == ["user-1"]
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


async def test_prompt_dataframes(live_server: LiveServer, project: ProjectFixture) -> None:
    await asyncio.to_thread(trace_with_prompt, live_server, project)  # "linked" v1 and a generation of it

    def read() -> dict:
        from langfuse import Langfuse

        lf = Langfuse(
            public_key=project.public_key, secret_key=project.secret_key, base_url=live_server.base_url
        )
        try:
            lf.create_prompt(name="linked", prompt="Say {{x}}!", labels=["staging"], commit_message="louder")
            lf.create_prompt(
                name="other", type="chat", prompt=[{"role": "user", "content": "hi"}], tags=["t"]
            )
        finally:
            lf.shutdown()
        with Langhouse(live_server.base_url, project.public_key, project.secret_key) as lh:
            with pytest.raises(LanghouseError, match="prompt 'nope' not found"):
                lh.prompt_versions("nope")
            return {
                "prompts": lh.prompts(),
                "tagged": lh.prompts(filter={"tag": "t"}),
                "versions": lh.prompt_versions("linked"),
            }

    got = await asyncio.to_thread(read)
    prompts = got["prompts"].set_index("name")
    assert list(prompts.index) == ["linked", "other"]  # name order
    assert sorted(prompts.loc["linked", "versions"]) == [1, 2] and prompts.loc["other", "type"] == "CHAT"
    assert str(prompts["lastUpdatedAt"].dtype).startswith("datetime64")
    assert list(got["tagged"]["name"]) == ["other"]
    versions = got["versions"]
    assert list(versions["version"]) == [2, 1] and list(versions["prompt"]) == ["Say {{x}}!", "Say {{x}}"]
    assert versions["commitMessage"][0] == "louder" and list(versions["labels"][1]) == ["production"]
    assert "metrics.generations" not in versions.columns

    def with_metrics() -> object:
        with Langhouse(live_server.base_url, project.public_key, project.secret_key) as lh:
            frame = lh.prompt_versions("linked", with_metrics=True).set_index("version")
        return [frame] if "score.quality" in frame.columns else None  # (a DataFrame has no truth value)

    [frame] = await wait_for(lambda: asyncio.to_thread(with_metrics))
    assert frame.loc[1, "metrics.generations"] == 1 and frame.loc[2, "metrics.generations"] == 0
    assert frame.loc[1, "metrics.inputTokens"] == 7
    assert frame.loc[1, "metrics.totalCost"] == pytest.approx(0.001)
    assert frame.loc[1, "score.quality"] == pytest.approx(0.8)


CLIENTS_PYTHON = Path(__file__).resolve().parents[2] / "clients" / "python"
FRESH_SCRIPT = """
import json, sys
try:
    import app  # the server must not be here
    sys.exit("the server package is importable")
except ImportError:
    pass
from langhouse_client import Langhouse
with Langhouse() as lh:  # host and keys from LANGHOUSE_* in the environment
    traces = lh.traces(filter={"userIds": ["user-2"]})
print(json.dumps({"ids": list(traces["id"]), "dtype": str(traces["timestamp"].dtype),
    "modules": sorted(m for m in sys.modules if m.split(".")[0] in ("app", "litestar", "strawberry"))}))
"""


async def test_installs_alone_into_a_fresh_environment(
    live_server: LiveServer, client, storage, project: ProjectFixture, tmp_path: Path
) -> None:
    """`pip install ./clients/python` into an empty venv (no server, its dependencies from the index) reads
    the live server."""
    s = await seed(client, storage, project)
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "LANGFUSE_", "LANGHOUSE_"))}

    def install_and_read() -> subprocess.CompletedProcess[str]:
        subprocess.run(
            [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", str(CLIENTS_PYTHON)],
            check=True,
            env=env,
            cwd=tmp_path,
            timeout=240,
        )
        keys = {
            "LANGHOUSE_HOST": live_server.base_url,
            "LANGHOUSE_PUBLIC_KEY": project.public_key,
            "LANGHOUSE_SECRET_KEY": project.secret_key,
        }
        return subprocess.run(
            [str(python), "-c", FRESH_SCRIPT],
            env={**env, **keys},
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )

    done = await asyncio.to_thread(install_and_read)
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout)
    assert got["ids"] == [s.trace_ids[i] for i in (11, 8, 5, 2)] and got["dtype"].startswith("datetime64")
    assert got["modules"] == []
    listed = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "list", "--format=json"],
        check=True,
        env=env,
        capture_output=True,
        text=True,
    )
    names = {p["name"].lower() for p in json.loads(listed.stdout)}
    assert "langhouse-client" in names and "pandas" in names and "httpx" in names
    assert not names & {"langhouse", "litestar", "strawberry-graphql", "chdb", "langfuse"}

"""The official langfuse 5.x SDK manages prompts against a running server, and links generations to them."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from app.storage import Storage
from app.storage.clickhouse.queries import prompts as pq
from app.storage.clickhouse.queries import scores as sq
from app.storage.clickhouse.queries.common import TimeRange
from tests.conftest import LiveServer, ProjectFixture, wait_for
from tests.integration.reads_data import gql

pytestmark = pytest.mark.integration


def _client(server: LiveServer, project: ProjectFixture):  # type: ignore[no-untyped-def]
    from langfuse import Langfuse

    return Langfuse(public_key=project.public_key, secret_key=project.secret_key, base_url=server.base_url)


def manage_prompts(server: LiveServer, project: ProjectFixture) -> dict:
    from langfuse.api import NotFoundError

    lf = _client(server, project)
    out: dict = {}
    try:
        created = lf.create_prompt(
            name="movie-critic",
            prompt="As a {{level}} critic, do you like {{movie}}?",
            labels=["production"],
            tags=["movies"],
            config={"model": "gpt-4o", "temperature": 0.2},
            commit_message="first cut",
        )
        out["created"] = (
            created.version,
            created.labels,
            created.tags,
            created.config,
        )
        out["commit"] = created.commit_message
        lf.create_prompt(name="movie-critic", prompt="v2: {{movie}}?", labels=["staging"])
        default = lf.get_prompt("movie-critic", cache_ttl_seconds=0)
        out["default"] = (default.version, default.compile(level="expert", movie="Dune"))
        out["staging"] = lf.get_prompt("movie-critic", label="staging", cache_ttl_seconds=0).version
        out["latest"] = lf.get_prompt("movie-critic", label="latest", cache_ttl_seconds=0).version
        out["v1"] = lf.get_prompt("movie-critic", version=1, cache_ttl_seconds=0).prompt
        lf.update_prompt(name="movie-critic", version=2, new_labels=["production"])
        moved = lf.get_prompt("movie-critic", cache_ttl_seconds=0)
        out["moved"] = (moved.version, sorted(moved.labels))
        out["v1_labels"] = lf.get_prompt("movie-critic", version=1, cache_ttl_seconds=0).labels
        chat = lf.create_prompt(
            name="support/triage",
            type="chat",
            prompt=[
                {"role": "system", "content": "You triage {{product}} tickets."},
                {"type": "placeholder", "name": "history"},
                {"role": "user", "content": "{{ticket}}"},
            ],
            labels=["production"],
        )
        out["chat_created"] = chat.name
        fetched = lf.get_prompt("support/triage", type="chat", cache_ttl_seconds=0)
        out["chat"] = fetched.compile(
            product="Acme", ticket="It broke", history=[{"role": "assistant", "content": "Hi"}]
        )
        try:
            lf.get_prompt("does-not-exist", cache_ttl_seconds=0)
        except NotFoundError as exc:
            out["missing"] = (exc.status_code, exc.body)
    finally:
        lf.shutdown()
    return out


async def test_sdk_creates_reads_compiles_and_labels_prompts(
    live_server: LiveServer, project: ProjectFixture
) -> None:
    out = await asyncio.to_thread(manage_prompts, live_server, project)
    assert out["created"] == (
        1,
        ["latest", "production"],
        ["movies"],
        {"model": "gpt-4o", "temperature": 0.2},
    )
    assert out["commit"] == "first cut"
    assert out["default"] == (1, "As a expert critic, do you like Dune?")
    assert out["staging"] == 2 and out["latest"] == 2
    assert out["v1"] == "As a {{level}} critic, do you like {{movie}}?"
    assert out["moved"] == (2, ["latest", "production", "staging"])
    assert out["v1_labels"] == []
    assert out["chat_created"] == "support/triage"
    assert out["chat"] == [
        {"role": "system", "content": "You triage Acme tickets."},
        {"role": "assistant", "content": "Hi"},
        {"role": "user", "content": "It broke"},
    ]
    status, body = out["missing"]
    assert status == 404 and body["message"].startswith("Prompt not found: 'does-not-exist'")


def trace_with_prompt(server: LiveServer, project: ProjectFixture) -> str:
    lf = _client(server, project)
    try:
        lf.create_prompt(name="linked", prompt="Say {{x}}", labels=["production"])
        prompt = lf.get_prompt("linked", cache_ttl_seconds=0)
        with lf.start_as_current_observation(
            as_type="generation",
            name="llm",
            model="gpt-4o-mini",
            prompt=prompt,
            input=prompt.compile(x="hi"),
            usage_details={"input": 7, "output": 3},
            cost_details={"total": 0.001},
        ) as gen:
            gen.update(output="hi")
            gen.score(name="quality", value=0.8)
            gen.score(name="quality", value=1, data_type="BOOLEAN")  # not averaged with the numbers
            trace_id = gen.trace_id
        lf.flush()
    finally:
        lf.shutdown()
    return trace_id


async def test_a_generation_linked_to_a_prompt_shows_in_its_version_metrics(
    live_server: LiveServer, storage: Storage, project: ProjectFixture, client: httpx.AsyncClient
) -> None:
    trace_id = await asyncio.to_thread(trace_with_prompt, live_server, project)
    now = datetime.now(UTC)
    time = TimeRange(now - timedelta(hours=1), now + timedelta(minutes=5))
    req = pq.PromptMetricsRequest(project.project_id, "linked", time)

    async def metrics() -> list[pq.PromptVersionMetrics] | None:
        if len(await sq.scores_of(storage.clickhouse, project.project_id, trace_ids=(trace_id,))) < 2:
            return None
        rows = await pq.aggregate_prompt_metrics(storage.clickhouse, req)
        return rows if rows and rows[0].scores else None

    [m] = await wait_for(metrics)
    assert (m.version, m.generations, m.input_tokens, m.output_tokens, m.total_tokens) == (1, 1, 7, 3, 10)
    assert float(m.total_cost) == pytest.approx(0.001)
    assert m.latency_p50_ms is not None and m.latency_p95_ms is not None
    assert m.scores == {"quality": pytest.approx(0.8)}
    page = await pq.list_prompt_generations(
        storage.clickhouse, pq.PromptGenerationsRequest(project.project_id, "linked", 1, time)
    )
    assert [g.trace_id for g in page.items] == [trace_id]
    assert page.items[0].prompt_version == 1
    query = """{ prompt(name: "linked") { selected { version
      metrics { generations inputTokens outputTokens totalCost latencyP50Ms scores { name average } }
      generations(first: 5) { edges { node { traceId promptName promptVersion } } } } } }"""
    selected = (await gql(client, project, query))["prompt"]["selected"]
    metrics = selected["metrics"]
    assert (metrics["generations"], metrics["inputTokens"], metrics["outputTokens"]) == (1, 7, 3)
    assert metrics["totalCost"] == pytest.approx(0.001) and metrics["latencyP50Ms"] is not None
    assert metrics["scores"] == [{"name": "quality", "average": pytest.approx(0.8)}]
    nodes = [e["node"] for e in selected["generations"]["edges"]]
    assert nodes == [{"traceId": trace_id, "promptName": "linked", "promptVersion": 1}]

"""The official langfuse 5.x SDK sends traces over OTLP; rows land in ClickHouse as the contract maps them."""

from __future__ import annotations

import asyncio

import pytest

from app.storage import Storage
from app.storage.clickhouse.query import CompiledQuery
from tests.conftest import LiveServer, ProjectFixture, assert_aggregates_match_raw, wait_for

pytestmark = pytest.mark.integration

ROWS = (
    "SELECT id, parent_observation_id, type, name, level, trace_name, user_id, session_id, tags, "
    "environment, "
    "input, output, provided_model_name, usage_details, cost_details, metadata_names, metadata_values, "
    "start_time, end_time, status_message "
    "FROM observations WHERE project_id = {project_id:String} AND trace_id = {trace_id:String} "
    "ORDER BY start_time"
)


async def observations(storage: Storage, project_id: str, trace_id: str) -> list[dict]:
    q = CompiledQuery(ROWS, {"project_id": project_id, "trace_id": trace_id}, "test.observations")
    return await storage.clickhouse.query(q)


def run_sdk(server: LiveServer, project: ProjectFixture) -> str:
    """Instrument like a user would: nested observations of several types, propagated attributes."""
    from langfuse import Langfuse, propagate_attributes

    lf = Langfuse(public_key=project.public_key, secret_key=project.secret_key, base_url=server.base_url)
    try:
        with lf.start_as_current_observation(
            as_type="span", name="handle-request", input={"q": "hi"}
        ) as root:
            with (
                propagate_attributes(
                    user_id="user-1", session_id="sess-1", tags=["b", "a"], metadata={"tenant": "acme"}
                ),
                lf.start_as_current_observation(as_type="agent", name="planner"),
            ):
                with lf.start_as_current_observation(
                    as_type="generation",
                    name="llm-call",
                    model="gpt-4o-mini",
                    input=[{"role": "user", "content": "hi"}],
                    usage_details={"input": 10, "output": 5},
                    cost_details={"input": 0.0001, "output": 0.0002},
                ) as gen:
                    gen.update(output={"role": "assistant", "content": "hello"})
                with lf.start_as_current_observation(as_type="tool", name="search", input="query") as tool:
                    tool.update(output=["r1"], level="WARNING", status_message="slow")
                lf.create_event(name="cache-miss", input={"key": "k"})
            root.update(output="done")
            trace_id = root.trace_id
        lf.flush()
    finally:
        lf.shutdown()
    return trace_id


async def test_sdk_trace_lands_with_tree_types_and_attributes(
    live_server: LiveServer, storage: Storage, project: ProjectFixture
) -> None:
    trace_id = await asyncio.to_thread(run_sdk, live_server, project)
    rows = await wait_for(lambda: _when_count(storage, project.project_id, trace_id, 5))
    by_name = {r["name"]: r for r in rows}
    assert set(by_name) == {"handle-request", "planner", "llm-call", "search", "cache-miss"}
    root, agent, gen = by_name["handle-request"], by_name["planner"], by_name["llm-call"]
    assert root["parent_observation_id"] is None and root["type"] == "SPAN"
    assert agent["parent_observation_id"] == root["id"] and agent["type"] == "AGENT"
    assert gen["parent_observation_id"] == agent["id"] and gen["type"] == "GENERATION"
    assert by_name["search"]["type"] == "TOOL" and by_name["cache-miss"]["type"] == "EVENT"
    assert by_name["search"]["level"] == "WARNING" and by_name["search"]["status_message"] == "slow"
    assert gen["provided_model_name"] == "gpt-4o-mini"
    assert gen["usage_details"] == {"input": 10, "output": 5, "total": 15}
    assert {k: float(v) for k, v in gen["cost_details"].items()} == {"input": 0.0001, "output": 0.0002}
    assert gen["input"] == '[{"role": "user", "content": "hi"}]'
    assert root["input"] == '{"q": "hi"}' and root["output"] == "done"
    for r in (agent, gen):
        assert (r["user_id"], r["session_id"], r["tags"]) == ("user-1", "sess-1", ["a", "b"])
    [trace] = await storage.clickhouse.query(
        CompiledQuery(
            "SELECT name, user_id, tags, input, output, metadata_names, metadata_values FROM traces "
            "WHERE project_id = {project_id:String} AND id = {id:String}",
            {"project_id": project.project_id, "id": trace_id},
            "test.trace",
        )
    )
    assert trace["name"] == "handle-request" and trace["user_id"] == "user-1"
    assert (trace["input"], trace["output"]) == ('{"q": "hi"}', "done")
    assert dict(zip(trace["metadata_names"], trace["metadata_values"], strict=True)) == {"tenant": "acme"}
    assert {r["trace_name"] for r in rows if r["parent_observation_id"] is None} == {"handle-request"}
    assert all(r["environment"] == "default" for r in rows)
    assert all(r["end_time"] >= r["start_time"] for r in rows)
    exact = await assert_aggregates_match_raw(storage, project.project_id)
    assert exact["observations"] == 5 and exact["traces"] == 1


async def _when_count(storage: Storage, project_id: str, trace_id: str, n: int) -> list[dict] | None:
    rows = await observations(storage, project_id, trace_id)
    return rows if len(rows) >= n else None

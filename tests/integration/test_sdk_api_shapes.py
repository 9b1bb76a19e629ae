"""Every read of the langfuse 5.2.0 SDK's `api` client that Langhouse serves parses our answers (its
pydantic models are the judge); the reads older SDKs used answer in Langfuse's shape; unknown routes
say they are not supported."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from typing import Any

import pytest

from tests.conftest import LiveServer, ProjectFixture, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("worker")]

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
MEDIA_ID = base64.urlsafe_b64encode(hashlib.sha256(PNG).digest()).decode()[:22]
SESSION = "shapes-session"


def _lf(server: LiveServer, project: ProjectFixture):  # type: ignore[no-untyped-def]
    from langfuse import Langfuse

    return Langfuse(public_key=project.public_key, secret_key=project.secret_key, base_url=server.base_url)


def seed(server: LiveServer, project: ProjectFixture) -> dict[str, str]:
    """One trace (span > generation + tool, an image) in a session, scores of every kind, a prompt, a
    model, a score config and a comment, all through the SDK."""
    from langfuse import propagate_attributes

    lf = _lf(server, project)
    try:
        image = "data:image/png;base64," + base64.b64encode(PNG).decode()
        with lf.start_as_current_observation(
            as_type="span", name="shapes-root", input={"image": image}
        ) as root:
            with propagate_attributes(user_id="shapes-user", session_id=SESSION, tags=["shapes"]):
                with lf.start_as_current_observation(
                    as_type="generation",
                    name="llm",
                    model="gpt-4o-mini",
                    input=[{"role": "user", "content": "hi"}],
                    model_parameters={"temperature": 0.2},
                    usage_details={"input": 10, "output": 5},
                    cost_details={"input": 0.0001, "output": 0.0002},
                ) as gen:
                    gen.update(output={"role": "assistant", "content": "hello"})
                    gen.score(name="helpful", value=0.75, comment="good")
                    gen_id = gen.id
                with lf.start_as_current_observation(as_type="tool", name="search", input="q") as tool:
                    tool.update(output=["r1"])
                root.score_trace(name="resolved", value=1, data_type="BOOLEAN")
                lf.score_current_trace(name="tone", value="friendly", data_type="CATEGORICAL")
            root.update(output="done")
            trace_id = root.trace_id
        lf.create_score(name="session-quality", value=0.9, session_id=SESSION)
        lf.create_prompt(name="shapes/greeting", prompt="Hi {{name}}", labels=["production"], tags=["t"])
        lf.create_prompt(
            name="shapes-chat", type="chat", prompt=[{"role": "system", "content": "Be brief"}], labels=[]
        )
        model = lf.api.models.create(
            model_name="shapes-model",
            match_pattern="(?i)^shapes-model$",
            unit="TOKENS",
            input_price=0.001,
            output_price=0.002,
        )
        config = lf.api.score_configs.create(
            name="tone", data_type="CATEGORICAL", categories=[{"label": "friendly", "value": 1}]
        )
        comment = lf.api.comments.create(
            project_id=project.project_id, object_type="TRACE", object_id=trace_id, content="looks right"
        )
        lf.flush()
    finally:
        lf.shutdown()
    return {
        "trace_id": trace_id,
        "gen_id": gen_id,
        "model_id": model.id,
        "config_id": config.id,
        "comment_id": comment.id,
    }


def read_everything(server: LiveServer, project: ProjectFixture, ids: dict[str, str]) -> dict[str, Any]:
    """Call every read of the SDK's api client that Langhouse serves; each parses or raises."""
    lf = _lf(server, project)
    api = lf.api
    try:
        got: dict[str, Any] = {}
        got["health"] = api.health.health()
        got["projects"] = api.projects.get()
        got["observations"] = api.observations.get_many(
            trace_id=ids["trace_id"],
            fields="core,basic,time,io,metadata,model,usage,prompt,metrics,trace_context",
        )
        got["observations_root"] = api.observations.get_many(
            trace_id=ids["trace_id"], is_root_observation=True
        )
        got["observations_default"] = api.observations.get_many(trace_id=ids["trace_id"], limit=1)
        got["scores"] = api.scores.get_many(limit=100)
        got["scores_boolean"] = api.scores.get_many(data_type="BOOLEAN")
        got["scores_session"] = api.scores.get_many(session_id=SESSION)
        got["scores_range"] = api.scores.get_many(value_min=0.7, value_max=0.8, data_type="NUMERIC")
        got["scores_value"] = api.scores.get_many(value="friendly")
        got["score_configs"] = api.score_configs.get()
        got["score_config"] = api.score_configs.get_by_id(ids["config_id"])
        got["models"] = api.models.list(limit=100)
        got["models_page_2"] = api.models.list(page=2, limit=3)
        got["model"] = api.models.get(ids["model_id"])
        got["builtin_model"] = api.models.get(got["models"].data[-1].id)
        got["prompts"] = api.prompts.list()
        got["prompt"] = api.prompts.get("shapes/greeting")
        got["chat_prompt"] = api.prompts.get("shapes-chat", version=1)
        got["comments"] = api.comments.get(object_type="TRACE", object_id=ids["trace_id"])
        got["comment"] = api.comments.get_by_id(ids["comment_id"])
        got["media"] = api.media.get(MEDIA_ID)
        query = {
            "view": "observations",
            "metrics": [{"measure": "totalCost", "aggregation": "sum"}],
            "dimensions": [{"field": "name"}],
            "fromTimestamp": "2020-01-01T00:00:00Z",
            "toTimestamp": "2100-01-01T00:00:00Z",
        }
        got["metrics"] = api.metrics.metrics(query=json.dumps(query))
        got["prompt_sdk"] = lf.get_prompt("shapes/greeting", cache_ttl_seconds=0)
        return got
    finally:
        lf.shutdown()


async def test_every_sdk_read_parses(live_server: LiveServer, client, project: ProjectFixture) -> None:
    ids = await asyncio.to_thread(seed, live_server, project)

    async def landed() -> bool:
        trace = await client.get(f"/api/public/traces/{ids['trace_id']}", auth=project.auth)
        scores = await client.get("/api/public/v3/scores", auth=project.auth)
        media = await client.get(f"/api/public/media/{MEDIA_ID}", auth=project.auth)
        return (
            trace.status_code == 200
            and len(trace.json()["observations"]) == 3
            and len(scores.json()["data"]) == 4
            and media.status_code == 200
        )

    await wait_for(landed)
    got = await asyncio.to_thread(read_everything, live_server, project, ids)

    assert got["health"].status == "OK"
    assert got["projects"].data[0].id == project.project_id
    observations = {o.name: o for o in got["observations"].data}
    assert set(observations) == {"shapes-root", "llm", "search"}
    llm = observations["llm"]
    assert llm.type == "GENERATION" and llm.usage_details == {"input": 10, "output": 5, "total": 15}
    assert llm.model_parameters == {"temperature": 0.2} and llm.session_id == SESSION
    assert [o.name for o in got["observations_root"].data] == ["shapes-root"]
    assert len(got["observations_default"].data) == 1 and got["observations_default"].meta.cursor

    by_name = {s.name: s for s in got["scores"].data}
    assert set(by_name) == {"helpful", "resolved", "tone", "session-quality"}
    assert by_name["resolved"].data_type == "BOOLEAN" and by_name["resolved"].value is True
    assert by_name["tone"].data_type == "CATEGORICAL" and by_name["tone"].value == "friendly"
    assert by_name["helpful"].subject.kind == "observation" and by_name["helpful"].subject.id == ids["gen_id"]
    assert by_name["resolved"].subject.kind == "trace" and by_name["resolved"].subject.id == ids["trace_id"]
    assert by_name["session-quality"].subject.kind == "session"
    assert [s.name for s in got["scores_boolean"].data] == ["resolved"]
    assert [s.name for s in got["scores_session"].data] == ["session-quality"]
    assert [s.name for s in got["scores_range"].data] == ["helpful"]
    assert [s.name for s in got["scores_value"].data] == ["tone"]

    assert [c.name for c in got["score_configs"].data] == ["tone"] and got["score_config"].id == ids[
        "config_id"
    ]
    models = got["models"]
    own = models.data[0]
    assert own.id == ids["model_id"] and own.created_at is not None and own.is_langfuse_managed is False
    assert own.pricing_tiers[0].is_default and own.pricing_tiers[0].prices == {
        "input": 0.001,
        "output": 0.002,
    }
    assert models.data[-1].is_langfuse_managed and models.data[-1].pricing_tiers
    assert models.meta.total_items == len(models.data) and got["models_page_2"].meta.page == 2
    assert got["model"].model_name == "shapes-model" and got["builtin_model"].is_langfuse_managed

    assert {p.name for p in got["prompts"].data} == {"shapes/greeting", "shapes-chat"}
    assert got["prompt"].prompt == "Hi {{name}}" and got["chat_prompt"].type == "chat"
    assert got["prompt_sdk"].compile(name="Ada") == "Hi Ada"
    assert [c.id for c in got["comments"].data] == [ids["comment_id"]] and got[
        "comment"
    ].content == "looks right"
    assert got["media"].media_id == MEDIA_ID and got["media"].content_type == "image/png"
    rows = {r["name"]: r for r in got["metrics"].data}
    assert rows["llm"]["total_cost_sum"] == pytest.approx(0.0003)


async def test_legacy_reads_answer_in_langfuse_shape(
    live_server: LiveServer, client, project: ProjectFixture
) -> None:
    """The reads ≤ 4.x SDKs make (traces, sessions, v1 observations, v2 scores, daily metrics) carry the
    fields Langfuse's models require; the trace list names each trace's observations and scores."""
    ids = await asyncio.to_thread(seed, live_server, project)

    async def landed() -> dict | None:
        r = await client.get("/api/public/traces", auth=project.auth)
        [trace] = r.json()["data"] or [None]
        ok = trace and len(trace["observations"]) == 3 and len(trace["scores"]) == 3
        return trace if ok else None

    trace = await wait_for(landed)
    trace_keys = {"id", "timestamp", "name", "input", "output", "sessionId", "release", "version", "userId"}
    trace_keys |= {"metadata", "tags", "public", "environment", "htmlPath", "latency", "totalCost"}
    assert trace_keys <= set(trace)
    full = (await client.get(f"/api/public/traces/{ids['trace_id']}", auth=project.auth)).json()
    assert sorted(trace["observations"]) == sorted(o["id"] for o in full["observations"])
    assert sorted(trace["scores"]) == sorted(s["id"] for s in full["scores"])
    assert trace["sessionId"] == SESSION and trace["userId"] == "shapes-user"

    observation_keys = {"id", "traceId", "type", "name", "startTime", "endTime", "completionStartTime"}
    observation_keys |= {"model", "modelParameters", "input", "output", "metadata", "level", "statusMessage"}
    observation_keys |= {"parentObservationId", "version", "usage", "usageDetails", "costDetails"}
    observation_keys |= {"promptId", "environment", "latency", "timeToFirstToken", "calculatedTotalCost"}
    observation_keys |= {
        "modelId",
        "promptName",
        "promptVersion",
        "calculatedInputCost",
        "calculatedOutputCost",
    }
    [gen] = (
        await client.get("/api/public/observations", params={"type": "GENERATION"}, auth=project.auth)
    ).json()["data"]
    assert observation_keys <= set(gen), observation_keys - set(gen)
    one = (await client.get(f"/api/public/observations/{ids['gen_id']}", auth=project.auth)).json()
    assert observation_keys <= set(one)

    sessions = (await client.get("/api/public/sessions", auth=project.auth)).json()["data"]
    assert [s["id"] for s in sessions] == [SESSION] and {"createdAt", "projectId", "environment"} <= set(
        sessions[0]
    )
    session = (await client.get(f"/api/public/sessions/{SESSION}", auth=project.auth)).json()
    assert [t["id"] for t in session["traces"]] == [ids["trace_id"]]

    from langfuse.api.commons.types.score import Score
    from langfuse.api.core.pydantic_utilities import parse_obj_as

    scores = (await client.get("/api/public/v2/scores", auth=project.auth)).json()["data"]
    parsed = {s.name: s for s in parse_obj_as(list[Score], scores)}  # the ≤ 4.x score union
    assert parsed["resolved"].value == 1 and parsed["resolved"].string_value == "True"
    assert parsed["tone"].string_value == "friendly"

    daily = (await client.get("/api/public/metrics/daily", auth=project.auth)).json()
    [day] = daily["data"]
    assert {"date", "countTraces", "countObservations", "totalCost", "usage"} <= set(day)
    by_model = {u["model"]: u for u in day["usage"]}
    assert by_model["gpt-4o-mini"]["countTraces"] == 1 and by_model["gpt-4o-mini"]["inputUsage"] == 10


async def test_unknown_public_routes_say_not_supported(client, project: ProjectFixture) -> None:
    r = await client.get("/api/public/foo", auth=project.auth)
    assert r.status_code == 404
    assert r.json() == {"message": "GET /api/public/foo is not supported by Langhouse", "error": "not_found"}
    r = await client.post("/api/public/v2/no-such-noun/x/runs", json={}, auth=project.auth)
    assert (
        r.status_code == 404
        and "POST /api/public/v2/no-such-noun/x/runs is not supported" in r.json()["message"]
    )
    r = await client.delete("/api/public/v2/datasets/x", auth=project.auth)  # a served path, another method
    assert r.status_code == 405 and "DELETE /api/public/v2/datasets/x is not supported" in r.json()["message"]
    r = await client.get(
        "/api/public/traces/no-such-trace", auth=project.auth
    )  # a missing object keeps its message
    assert r.status_code == 404 and "no-such-trace" in r.json()["message"]
    assert "not supported" not in r.json()["message"]
    r = await client.get("/api/public/models/no-such-model", auth=project.auth)
    assert r.status_code == 404 and "not supported" not in r.json()["message"]
    r = await client.put("/api/public/traces", json={}, auth=project.auth)  # served, not with this method
    assert r.status_code == 405
    assert r.json()["message"] == "PUT /api/public/traces is not supported by Langhouse"

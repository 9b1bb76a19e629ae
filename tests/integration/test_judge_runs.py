"""Judges end to end against the local fake OpenAI-compatible and Anthropic providers: a span arrives,
a rule matches it, an execution runs on the worker, the fake judge answers, an EVAL score is stored;
and every way a judgment fails ends visible (retried, paused, raw answer kept)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from app.evaluation.judge_types import JUDGE_ENVIRONMENT
from app.storage import Storage
from app.storage.clickhouse.query import CompiledQuery
from app.storage.postgres.eval_tables import Evaluator
from tests.conftest import LiveServer, ProjectFixture, sdk_client, wait_for
from tests.integration.fake_llm import API_KEY, FakeLlm, fake_llm
from tests.integration.judge_setup import (
    add_connection,
    add_evaluator,
    add_rule,
    ended,
    eval_scores,
    executions_of,
    send_generation,
)

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("worker")]
PROVIDERS = ["openai", "anthropic"]


@pytest.fixture
def llm() -> Iterator[FakeLlm]:
    with fake_llm() as fake:
        yield fake


@pytest.fixture(autouse=True)
def fast_retries(storage: Storage, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(storage.settings, "eval_retry_base_seconds", 0.3)
    monkeypatch.setattr(storage.settings, "eval_max_attempts", 3)


async def evaluator_row(storage: Storage, project_id: str, evaluator_id: str) -> Evaluator:
    async with storage.postgres.session() as s:
        row = await s.get(Evaluator, evaluator_id)
        assert row is not None and row.project_id == project_id
        await s.refresh(row)
        return row


async def judge_trace_rows(storage: Storage, project_id: str, trace_id: str) -> list[dict]:
    sql = (
        "SELECT name, type, environment, level, status_message FROM observations "
        "WHERE project_id = {project_id:String} AND trace_id = {t:String}"
    )
    return await storage.clickhouse.query(
        CompiledQuery(sql, {"project_id": project_id, "t": trace_id}, "test.judge")
    )


def send_with_sdk(server: LiveServer, project: ProjectFixture) -> tuple[str, str]:
    """A span with a generation inside, as the SDK sends them over OTLP (from a thread: it blocks)."""
    with sdk_client(server, project) as lf:
        with lf.start_as_current_observation(as_type="span", name="request", input="hi") as root:
            with lf.start_as_current_observation(
                as_type="generation", name="llm", model="gpt-4o-mini", input="What is 2 + 2?"
            ) as gen:
                gen.update(output="4")
            ids = root.trace_id, gen.id
        lf.flush()
    return ids


async def test_an_sdk_span_is_judged_and_its_eval_score_readable(
    storage: Storage, live_server: LiveServer, project: ProjectFixture, llm: FakeLlm, client
) -> None:
    conn = await add_connection(storage, project.project_id, llm)
    evaluator_id, version_id = await add_evaluator(storage, project.project_id, conn)
    filters = [{"type": "stringOptions", "column": "type", "operator": "any of", "value": ["GENERATION"]}]
    rule_id = await add_rule(storage, project.project_id, evaluator_id, filters)
    trace_id, obs_id = await asyncio.to_thread(send_with_sdk, live_server, project)
    ex = await ended(storage, project.project_id, rule_id)
    assert ex.status == "COMPLETED", ex.error
    assert (ex.target_trace_id, ex.target_observation_id, ex.attempts) == (trace_id, obs_id, 1)
    scores = await eval_scores(storage, project.project_id, trace_id=trace_id)
    assert len(scores) == 1 and scores[0]["id"] == ex.score_ids[0]
    score = scores[0]
    assert (score["value"], score["observation_id"], score["data_type"]) == (0.8, obs_id, "NUMERIC")
    assert score["comment"] == "The answer is correct and complete."
    meta = dict(zip(score["metadata_names"], score["metadata_values"], strict=True))
    assert meta["job_execution_id"] == ex.id and meta["evaluation_rule_id"] == rule_id
    assert meta["evaluator_version_id"] == version_id
    # the prompt carried the span's values; the call asked for structured output
    call = next(r for r in llm.requests if not r["body"].get("stream"))
    assert "What is 2 + 2?" in call["body"]["messages"][1]["content"]
    assert call["body"]["response_format"]["json_schema"]["strict"] is True
    # the score reads back over the public API, and the judge's own trace is ingested, never judged
    r = await client.get("/api/public/v2/scores", params={"traceId": trace_id}, auth=project.auth)
    assert r.status_code == 200, r.text
    [listed] = r.json()["data"]
    assert (listed["id"], listed["source"], listed["value"]) == (score["id"], "EVAL", 0.8)
    rows = await wait_for(lambda: judge_trace_rows(storage, project.project_id, ex.execution_trace_id))
    assert {row["environment"] for row in rows} == {JUDGE_ENVIRONMENT}
    assert len(await eval_scores(storage, project.project_id)) == 1


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_span_is_judged_through_each_provider(
    storage: Storage, client, project: ProjectFixture, llm: FakeLlm, provider: str
) -> None:
    conn = await add_connection(storage, project.project_id, llm, provider, headers={"X-Gateway": "evals"})
    boolean = {"dataType": "BOOLEAN"}
    llm.judge_answer = {"reasoning": "fine", "score": True}
    evaluator_id, _ = await add_evaluator(storage, project.project_id, conn, output=boolean)
    rule_id = await add_rule(storage, project.project_id, evaluator_id)
    trace_id, obs_id = await send_generation(client, project)
    ex = await ended(storage, project.project_id, rule_id)
    assert ex.status == "COMPLETED", ex.error
    [score] = await eval_scores(storage, project.project_id, trace_id=trace_id)
    assert (score["value"], score["data_type"], score["observation_id"]) == (1.0, "BOOLEAN", obs_id)
    call = next(r for r in llm.requests if not r["body"].get("stream"))
    body = call["body"]
    assert call["headers"]["x-gateway"] == "evals"  # the connection's extra header, beside the key
    assert API_KEY in (call["headers"].get("authorization", "") + call["headers"].get("x-api-key", ""))
    if provider == "anthropic":
        assert (
            body["tool_choice"] == {"type": "tool", "name": "score"}
            and body["system"] == "You grade answers."
        )


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_429_then_success_is_delayed_then_completed(
    storage: Storage, client, project: ProjectFixture, llm: FakeLlm, provider: str
) -> None:
    conn = await add_connection(storage, project.project_id, llm, provider)
    llm.fail_first = 1
    evaluator_id, _ = await add_evaluator(storage, project.project_id, conn, model="flaky")
    rule_id = await add_rule(storage, project.project_id, evaluator_id)
    trace_id, _ = await send_generation(client, project)
    delayed = await ended(storage, project.project_id, rule_id, statuses=("DELAYED", "COMPLETED"))
    ex = await ended(storage, project.project_id, rule_id)
    assert ex.status == "COMPLETED" and ex.attempts == 2 and llm.calls["flaky"] == 2
    assert delayed.status == "COMPLETED" or "429" in (delayed.error or "")
    assert len(await eval_scores(storage, project.project_id, trace_id=trace_id)) == 1


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_500_is_retried_then_ends_in_error_with_the_providers_message(
    storage: Storage, client, project: ProjectFixture, llm: FakeLlm, provider: str
) -> None:
    conn = await add_connection(storage, project.project_id, llm, provider)
    evaluator_id, _ = await add_evaluator(storage, project.project_id, conn, model="broken")
    rule_id = await add_rule(storage, project.project_id, evaluator_id)
    trace_id, _ = await send_generation(client, project)
    ex = await ended(storage, project.project_id, rule_id)
    assert ex.status == "ERROR" and ex.attempts == 3
    assert "500" in (ex.error or "") and "The server had an error" in (ex.error or "")
    assert await eval_scores(storage, project.project_id, trace_id=trace_id) == []
    assert (await evaluator_row(storage, project.project_id, evaluator_id)).status == "active"


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_bad_key_pauses_the_evaluator(
    storage: Storage, client, project: ProjectFixture, llm: FakeLlm, provider: str
) -> None:
    conn = await add_connection(storage, project.project_id, llm, provider, key="sk-wrong-key-000000")
    evaluator_id, _ = await add_evaluator(storage, project.project_id, conn)
    rule_id = await add_rule(storage, project.project_id, evaluator_id)
    await send_generation(client, project)
    ex = await ended(storage, project.project_id, rule_id)
    assert ex.status == "ERROR" and ex.attempts == 1 and "401" in (ex.error or "")
    evaluator = await evaluator_row(storage, project.project_id, evaluator_id)
    assert evaluator.status == "paused" and "bad credentials" in (evaluator.pause_reason or "")


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_an_unknown_model_pauses_the_evaluator(
    storage: Storage, client, project: ProjectFixture, llm: FakeLlm, provider: str
) -> None:
    conn = await add_connection(storage, project.project_id, llm, provider)
    evaluator_id, _ = await add_evaluator(storage, project.project_id, conn, model="missing-model")
    rule_id = await add_rule(storage, project.project_id, evaluator_id)
    await send_generation(client, project)
    ex = await ended(storage, project.project_id, rule_id)
    assert ex.status == "ERROR" and "does not exist" in (ex.error or "")
    evaluator = await evaluator_row(storage, project.project_id, evaluator_id)
    assert evaluator.status == "paused" and "unknown model" in (evaluator.pause_reason or "")


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_malformed_answer_ends_in_error_with_the_raw_answer_kept(
    storage: Storage, client, project: ProjectFixture, llm: FakeLlm, provider: str
) -> None:
    conn = await add_connection(storage, project.project_id, llm, provider)
    evaluator_id, _ = await add_evaluator(storage, project.project_id, conn, model="malformed")
    rule_id = await add_rule(storage, project.project_id, evaluator_id)
    trace_id, _ = await send_generation(client, project)
    ex = await ended(storage, project.project_id, rule_id)
    assert ex.status == "ERROR" and "breaks the output definition" in (ex.error or "")
    assert ex.raw_answer == "I think it is good, 8/10"
    assert await eval_scores(storage, project.project_id, trace_id=trace_id) == []


async def test_an_out_of_range_score_is_refused_and_kept(
    storage: Storage, client, project: ProjectFixture, llm: FakeLlm
) -> None:
    conn = await add_connection(storage, project.project_id, llm)
    llm.judge_answer = {"reasoning": "great", "score": 7}
    evaluator_id, _ = await add_evaluator(storage, project.project_id, conn)
    rule_id = await add_rule(storage, project.project_id, evaluator_id)
    await send_generation(client, project)
    ex = await ended(storage, project.project_id, rule_id)
    assert ex.status == "ERROR" and "above the maximum 1" in (ex.error or "")
    assert '"score": 7' in (ex.raw_answer or "")


async def test_an_endpoint_without_json_schema_is_asked_with_tools(
    storage: Storage, client, project: ProjectFixture, llm: FakeLlm
) -> None:
    conn = await add_connection(storage, project.project_id, llm)
    evaluator_id, _ = await add_evaluator(storage, project.project_id, conn, model="no-json-schema")
    rule_id = await add_rule(storage, project.project_id, evaluator_id)
    await send_generation(client, project)
    ex = await ended(storage, project.project_id, rule_id)
    assert ex.status == "COMPLETED", ex.error
    calls = [r["body"] for r in llm.requests if not r["body"].get("stream")]
    assert "response_format" in calls[0] and calls[1]["tool_choice"]["function"]["name"] == "score"


async def test_categorical_multiple_matches_write_one_score_each(
    storage: Storage, client, project: ProjectFixture, llm: FakeLlm
) -> None:
    conn = await add_connection(storage, project.project_id, llm)
    output = {
        "dataType": "CATEGORICAL",
        "categories": ["polite", "rude", "terse"],
        "shouldAllowMultipleMatches": True,
    }
    llm.judge_answer = {"reasoning": "short and kind", "score": ["polite", "terse"]}
    evaluator_id, _ = await add_evaluator(storage, project.project_id, conn, output=output)
    rule_id = await add_rule(storage, project.project_id, evaluator_id)
    trace_id, _ = await send_generation(client, project)
    ex = await ended(storage, project.project_id, rule_id)
    assert ex.status == "COMPLETED" and len(ex.score_ids) == 2
    scores = await eval_scores(storage, project.project_id, trace_id=trace_id)
    assert sorted(s["string_value"] for s in scores) == ["polite", "terse"]


async def test_a_filter_that_no_longer_matches_cancels(
    storage: Storage, client, project: ProjectFixture, llm: FakeLlm
) -> None:
    conn = await add_connection(storage, project.project_id, llm)
    evaluator_id, _ = await add_evaluator(storage, project.project_id, conn)
    filters = [{"type": "stringOptions", "column": "level", "operator": "any of", "value": ["DEFAULT"]}]
    rule_id = await add_rule(storage, project.project_id, evaluator_id, filters, delay_seconds=3)
    trace_id, obs_id = await send_generation(client, project)
    await wait_for(lambda: executions_of(storage, project.project_id, rule_id))
    update = {"id": obs_id, "traceId": trace_id, "level": "ERROR", "statusMessage": "late failure"}
    batch = [
        {
            "id": "u1" + obs_id[:8],
            "type": "generation-update",
            "timestamp": "2026-01-01T00:00:00Z",
            "body": update,
        }
    ]
    r = await client.post("/api/public/ingestion", json={"batch": batch}, auth=project.auth)
    assert r.status_code == 207
    ex = await ended(storage, project.project_id, rule_id)
    assert ex.status == "CANCELLED" and "no longer matches" in (ex.error or "")
    assert not [r for r in llm.requests if not r["body"].get("stream")]


async def test_calls_per_connection_stay_under_the_concurrency_limit(
    storage: Storage, client, project: ProjectFixture, llm: FakeLlm, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(storage.settings, "eval_connection_concurrency", 2)
    llm.delay_s = 0.3
    conn = await add_connection(storage, project.project_id, llm)
    evaluator_id, _ = await add_evaluator(storage, project.project_id, conn)
    rule_id = await add_rule(storage, project.project_id, evaluator_id)
    for _ in range(6):
        await send_generation(client, project)

    async def all_done() -> bool:
        found = await executions_of(storage, project.project_id, rule_id)
        return len(found) == 6 and all(e.status == "COMPLETED" for e in found)

    await wait_for(all_done, timeout_s=40)
    assert llm.most_in_flight == 2  # reached, never passed


async def test_the_daily_cost_cap_makes_executions_wait_with_the_reason_shown(
    storage: Storage, client, project: ProjectFixture, llm: FakeLlm
) -> None:
    from app.evaluation import eval_settings

    conn = await add_connection(storage, project.project_id, llm)
    evaluator_id, _ = await add_evaluator(storage, project.project_id, conn)
    rule_id = await add_rule(storage, project.project_id, evaluator_id)
    await send_generation(client, project)
    first = await ended(storage, project.project_id, rule_id)
    assert first.status == "COMPLETED" and first.cost_usd and first.cost_usd > 0  # gpt-4o-mini is priced
    change = eval_settings.SettingsChange(None, None, first.cost_usd, False)
    await eval_settings.save_settings(storage, project.project_id, change)
    await send_generation(client, project)

    async def delayed() -> object:
        found = await executions_of(storage, project.project_id, rule_id)
        return next((e for e in found if e.status == "DELAYED"), None)

    waiting = await wait_for(delayed)
    assert "daily judge cost cap" in waiting.error and "00:00 UTC" in waiting.error
    assert waiting.scheduled_for.date() > first.created_at.date() or waiting.scheduled_for.hour == 0
    assert len([r for r in llm.requests if not r["body"].get("stream")]) == 1


async def test_the_sweep_enqueues_executions_whose_job_was_lost(
    storage: Storage, client, jobs, project: ProjectFixture, llm: FakeLlm
) -> None:
    from datetime import UTC, datetime, timedelta

    from app.jobs.evaluation import sweep
    from app.storage.postgres import executions
    from app.storage.postgres.eval_tables import JobExecution

    conn = await add_connection(storage, project.project_id, llm)
    evaluator_id, version_id = await add_evaluator(storage, project.project_id, conn)
    trace_id, obs_id = await send_generation(client, project)  # no rule: nothing enqueues it
    await wait_for(lambda: _stored(storage, project, obs_id))
    lost = JobExecution(
        project_id=project.project_id,
        evaluator_id=evaluator_id,
        evaluator_version_id=version_id,
        target_kind="observation",
        target_key=f"lost:{trace_id}/{obs_id}",
        target_trace_id=trace_id,
        target_observation_id=obs_id,
        scheduled_for=datetime.now(UTC) - timedelta(minutes=5),
    )
    [created] = await executions.create_pending(storage.postgres, [lost])
    await asyncio.sleep(1)
    assert (
        await executions.fetch_execution(storage.postgres, project.project_id, created.id)
    ).status == "PENDING"
    assert (await sweep({"storage": storage, "queue": jobs}))["enqueued"] >= 1

    async def completed() -> JobExecution | None:
        found = await executions.fetch_execution(storage.postgres, project.project_id, created.id)
        return found if found is not None and found.status == "COMPLETED" else None

    assert (await wait_for(completed)).score_ids


async def _stored(storage: Storage, project: ProjectFixture, obs_id: str) -> bool:
    from app.storage.clickhouse.queries.observations import fetch_observation

    return await fetch_observation(storage.clickhouse, project.project_id, obs_id) is not None


async def test_thousands_of_executions_insert_in_one_call(
    storage: Storage, project: ProjectFixture, llm: FakeLlm
) -> None:
    from app.storage.postgres import executions
    from app.storage.postgres.eval_tables import JobExecution

    conn = await add_connection(storage, project.project_id, llm)
    evaluator_id, version_id = await add_evaluator(storage, project.project_id, conn)
    rows = [
        JobExecution(
            project_id=project.project_id,
            evaluator_id=evaluator_id,
            evaluator_version_id=version_id,
            target_kind="trace",
            target_key=f"t{i}",
            target_trace_id=f"t{i}",
            scheduled_for=datetime_far_future(),
        )
        for i in range(2500)
    ]
    assert len(await executions.create_pending(storage.postgres, rows)) == 2500


def datetime_far_future():  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    return datetime(2100, 1, 1, tzinfo=UTC)  # never due: the sweep leaves them alone


async def test_a_job_older_than_its_executions_schedule_does_nothing(
    storage: Storage, client, project: ProjectFixture, llm: FakeLlm
) -> None:
    """A DELAYED execution retried by hand runs at once; the job queued for its wait, when it fires
    later, finds a newer schedule (or the end) and calls no judge a second time."""
    from datetime import UTC, datetime, timedelta

    from app.evaluation import judging
    from app.storage.postgres import executions

    conn = await add_connection(storage, project.project_id, llm)
    evaluator_id, _ = await add_evaluator(storage, project.project_id, conn)
    rule_id = await add_rule(storage, project.project_id, evaluator_id, delay_seconds=600)
    await send_generation(client, project)
    [ex] = await wait_for(lambda: executions_of(storage, project.project_id, rule_id))
    assert ex.status == "PENDING"
    outcome = await judging.run_execution(storage, project.project_id, ex.id)  # 10 minutes early
    assert (outcome.status, outcome.retry_in_s, llm.requests) == ("PENDING", None, [])
    ex.status, ex.scheduled_for = "DELAYED", datetime.now(UTC) + timedelta(seconds=30)
    await executions.save_execution(storage.postgres, ex)
    assert (await judging.run_execution(storage, project.project_id, ex.id)).status == "DELAYED"
    assert llm.requests == []
    ex.scheduled_for = datetime.now(UTC)  # as a retry sets it
    await executions.save_execution(storage.postgres, ex)
    assert (await judging.run_execution(storage, project.project_id, ex.id)).status == "COMPLETED"
    assert (await judging.run_execution(storage, project.project_id, ex.id)).status == "COMPLETED"
    assert len([r for r in llm.requests if not r["body"].get("stream")]) == 1

"""Beyond one observation: a rule judges a whole trace (its tree rendered compactly, judged once however
many of its spans match) or a whole session (its turns as a conversation, once idle); the scores show on
the trace and session pages."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import update

from app.storage import Storage
from app.storage.postgres.eval_tables import EvaluationRule
from app.storage.postgres.tables import Role
from tests.conftest import ProjectFixture, login, make_user
from tests.integration.fake_llm import FakeLlm, fake_llm
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
TREE_PROMPT = [{"role": "user", "content": "Judge this run:\n{{trace}}"}]
SESSION_PROMPT = [{"role": "user", "content": "Was the user frustrated?\n{{conversation}}"}]


@pytest.fixture
def llm() -> Iterator[FakeLlm]:
    with fake_llm() as fake:
        yield fake


def judge_calls(llm: FakeLlm) -> list[dict]:
    return [r["body"] for r in llm.requests if not r["body"].get("stream")]


async def test_a_trace_rule_judges_the_whole_tree_once(
    storage: Storage, client, project: ProjectFixture, llm: FakeLlm
) -> None:
    conn = await add_connection(storage, project.project_id, llm)
    evaluator_id, _ = await add_evaluator(storage, project.project_id, conn, prompt=TREE_PROMPT)
    rule_id = await add_rule(storage, project.project_id, evaluator_id, target="trace", delay_seconds=1)
    trace_id, now = uuid.uuid4().hex, datetime.now(UTC).isoformat()
    root, child = uuid.uuid4().hex, uuid.uuid4().hex
    events = [
        ("trace-create", {"id": trace_id, "name": "agent-run", "timestamp": now, "input": "plan a trip"}),
        (
            "span-create",
            {"id": root, "traceId": trace_id, "name": "planner", "startTime": now, "input": "trip"},
        ),
        (
            "generation-create",
            {
                "id": child,
                "traceId": trace_id,
                "parentObservationId": root,
                "name": "llm",
                "startTime": now,
                "input": "where to?",
                "output": "Lisbon",
                "level": "WARNING",
                "statusMessage": "slow",
            },
        ),
    ]
    batch = [{"id": uuid.uuid4().hex, "type": t, "timestamp": now, "body": b} for t, b in events]
    assert (
        await client.post("/api/public/ingestion", json={"batch": batch}, auth=project.auth)
    ).status_code == 207
    ex = await ended(storage, project.project_id, rule_id)
    assert ex.status == "COMPLETED", ex.error
    assert len(await executions_of(storage, project.project_id, rule_id)) == 1
    assert (ex.target_kind, ex.target_key, ex.target_observation_id) == ("trace", trace_id, None)
    [call] = judge_calls(llm)
    prompt = call["messages"][0]["content"]
    assert "Trace agent-run" in prompt and "- SPAN planner" in prompt
    assert "  - GENERATION llm [WARNING: slow] | input: where to? | output: Lisbon" in prompt
    [score] = await eval_scores(storage, project.project_id, trace_id=trace_id)
    assert score["observation_id"] is None
    email, password = await make_user(storage, project, Role.VIEWER)
    await login(client, email, password)
    page = await client.get(f"/traces/{trace_id}")
    assert score["name"] in page.text and "EVAL" in page.text
    listed = await client.get("/scores/list", params={"source": "EVAL", "trace": trace_id})
    assert f'data-id="{score["id"]}"' in listed.text
    analytics = await client.get("/scores")
    assert analytics.status_code == 200 and score["name"] in analytics.text


async def test_a_session_rule_judges_the_conversation_once_idle(
    storage: Storage, client, project: ProjectFixture, llm: FakeLlm
) -> None:
    conn = await add_connection(storage, project.project_id, llm)
    llm.judge_answer = {"reasoning": "the user repeated themselves", "score": True}
    evaluator_id, _ = await add_evaluator(
        storage, project.project_id, conn, prompt=SESSION_PROMPT, output={"dataType": "BOOLEAN"}
    )
    rule_id = await add_rule(storage, project.project_id, evaluator_id, target="session")
    async with storage.postgres.session() as s:  # idle after 1.2 s: the API's minimum is a minute
        await s.execute(
            update(EvaluationRule).where(EvaluationRule.id == rule_id).values(session_idle_minutes=0.02)
        )
        await s.commit()
    from app.evaluation import matching

    matching.invalidate(project.project_id)
    session_id = f"chat-{uuid.uuid4().hex[:8]}"
    await send_generation(client, project, sessionId=session_id, input="my order is late", output="Sorry!")
    await send_generation(
        client, project, sessionId=session_id, input="it is STILL late", output="Sorry again"
    )
    ex = await ended(storage, project.project_id, rule_id, timeout_s=40)
    assert ex.status == "COMPLETED", ex.error
    assert (ex.target_kind, ex.target_session_id, ex.target_trace_id) == ("session", session_id, None)
    assert len(await executions_of(storage, project.project_id, rule_id)) == 1
    prompt = judge_calls(llm)[0]["messages"][0]["content"]
    assert (
        "User: my order is late\nAssistant: Sorry!\nUser: it is STILL late\nAssistant: Sorry again" in prompt
    )
    [score] = await eval_scores(storage, project.project_id, session_id=session_id)
    assert score["trace_id"] is None and score["value"] == 1.0
    meta = dict(zip(score["metadata_names"], score["metadata_values"], strict=True))
    assert meta["target_session_id"] == session_id
    email, password = await make_user(storage, project, Role.VIEWER)
    await login(client, email, password)
    page = await client.get(f"/sessions/{session_id}")
    assert "the user repeated themselves" in page.text

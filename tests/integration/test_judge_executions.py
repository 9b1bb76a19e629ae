"""Judge executions over the public API and the UI: list with filters and counts, retry, project scoping,
400 on bad parameters; the evaluator preview renders the prompt and shows the judge's answer, saving
nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.storage import Storage
from app.storage.postgres.tables import Role
from tests.conftest import ProjectFixture, csrf_token, login, make_project, make_user, wait_for
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


@pytest.fixture
def llm() -> Iterator[FakeLlm]:
    with fake_llm() as fake:
        yield fake


@pytest.fixture(autouse=True)
def one_attempt(storage: Storage, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(storage.settings, "eval_retry_base_seconds", 0.2)
    monkeypatch.setattr(storage.settings, "eval_max_attempts", 1)


async def failed_execution(
    storage: Storage, client, project: ProjectFixture, llm: FakeLlm
) -> tuple[str, str]:
    """A rule whose judge is rate limited once (one attempt allowed): its execution ends in ERROR."""
    conn = await add_connection(storage, project.project_id, llm)
    llm.fail_first = 1
    evaluator_id, _ = await add_evaluator(storage, project.project_id, conn, model="flaky")
    rule_id = await add_rule(storage, project.project_id, evaluator_id)
    await send_generation(client, project)
    ex = await ended(storage, project.project_id, rule_id)
    assert ex.status == "ERROR" and "429" in (ex.error or "")
    return rule_id, ex.id


async def test_list_filter_count_and_retry_over_the_api(
    storage: Storage, client, project: ProjectFixture, llm: FakeLlm
) -> None:
    rule_id, execution_id = await failed_execution(storage, client, project, llm)
    r = await client.get(
        "/api/public/v2/evaluation-executions", params={"ruleId": rule_id}, auth=project.auth
    )
    assert r.status_code == 200, r.text
    body = r.json()
    [item] = body["data"]
    assert (item["id"], item["status"], item["attempts"]) == (execution_id, "ERROR", 1)
    assert "Rate limit" in item["error"] and item["executionTraceId"]
    assert body["meta"]["counts"]["ERROR"] == 1 and body["meta"]["counts"]["COMPLETED"] == 0
    r = await client.get(
        "/api/public/v2/evaluation-executions", params={"status": "completed"}, auth=project.auth
    )
    assert r.json()["data"] == []

    r = await client.post(f"/api/public/v2/evaluation-executions/{execution_id}/retry", auth=project.auth)
    assert r.status_code == 200 and r.json()["status"] == "PENDING" and r.json()["attempts"] == 0
    ex = await ended(storage, project.project_id, rule_id, statuses=("COMPLETED",))
    assert ex.attempts == 1 and len(await eval_scores(storage, project.project_id)) == 1
    r = await client.get(f"/api/public/v2/evaluation-executions/{execution_id}", auth=project.auth)
    assert r.json()["status"] == "COMPLETED" and r.json()["scoreIds"] == ex.score_ids
    r = await client.post(f"/api/public/v2/evaluation-executions/{execution_id}/retry", auth=project.auth)
    assert r.status_code == 409 and "COMPLETED" in r.text

    other = await make_project(storage)
    r = await client.get(f"/api/public/v2/evaluation-executions/{execution_id}", auth=other.auth)
    assert r.status_code == 404
    r = await client.post(f"/api/public/v2/evaluation-executions/{execution_id}/retry", auth=other.auth)
    assert r.status_code == 404
    r = await client.get("/api/public/v2/evaluation-executions", auth=other.auth)
    assert r.json()["data"] == []


async def test_bad_parameters_are_400_naming_the_field(client, project: ProjectFixture) -> None:
    for params, field in (
        ({"status": "DONE"}, "status"),
        ({"cursor": "nope"}, "cursor"),
        ({"limit": 0}, "limit"),
    ):
        r = await client.get("/api/public/v2/evaluation-executions", params=params, auth=project.auth)
        assert r.status_code == 400, (params, r.text)
        assert field in r.text


async def test_cursor_pages_cover_every_execution_once(
    storage: Storage, client, project: ProjectFixture, llm: FakeLlm
) -> None:
    conn = await add_connection(storage, project.project_id, llm)
    evaluator_id, _ = await add_evaluator(storage, project.project_id, conn)
    rule_id = await add_rule(storage, project.project_id, evaluator_id)
    for _ in range(5):
        await send_generation(client, project)
    await wait_for(lambda: _count(storage, project.project_id, rule_id, 5))
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        r = await client.get("/api/public/v2/evaluation-executions", params=params, auth=project.auth)
        seen += [e["id"] for e in r.json()["data"]]
        cursor = r.json()["meta"].get("cursor")
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 5


async def _count(storage: Storage, project_id: str, rule_id: str, n: int) -> bool:
    return len(await executions_of(storage, project_id, rule_id)) >= n


async def test_the_executions_page_shows_errors_counts_and_retries(
    storage: Storage, client, project: ProjectFixture, llm: FakeLlm
) -> None:
    rule_id, execution_id = await failed_execution(storage, client, project, llm)
    email, password = await make_user(storage, project, Role.MEMBER)
    await login(client, email, password)
    r = await client.get("/evaluation/executions", params={"rule": rule_id})
    assert r.status_code == 200
    assert f'data-id="{execution_id}" data-status="ERROR"' in r.text and "Rate limit" in r.text
    assert "judge trace" in r.text and "Retry" in r.text
    assert ">helpfulness-" in r.text and ">rule-" in r.text  # evaluator and rule by name
    r = await client.post(
        f"/evaluation/executions/{execution_id}/retry",
        data={"_csrf_token": csrf_token(r.text)},
        follow_redirects=False,
    )
    assert r.status_code in (302, 303)
    await ended(storage, project.project_id, rule_id, statuses=("COMPLETED",))
    r = await client.get("/evaluation/executions", params={"status": "completed"})
    assert f'data-id="{execution_id}" data-status="COMPLETED"' in r.text
    assert (await client.get("/evaluation/executions", params={"status": "nope"})).status_code == 400


async def test_a_viewer_sees_executions_but_cannot_retry(
    storage: Storage, client, project: ProjectFixture, llm: FakeLlm
) -> None:
    _, execution_id = await failed_execution(storage, client, project, llm)
    email, password = await make_user(storage, project, Role.VIEWER)
    await login(client, email, password)
    r = await client.get("/evaluation/executions")
    assert execution_id in r.text and "Retry</button>" not in r.text
    r = await client.post(
        f"/evaluation/executions/{execution_id}/retry", data={"_csrf_token": csrf_token(r.text)}
    )
    assert r.status_code == 403


async def test_the_preview_renders_the_prompt_and_the_answer_without_saving(
    storage: Storage, client, project: ProjectFixture, llm: FakeLlm
) -> None:
    conn = await add_connection(storage, project.project_id, llm)
    evaluator_id, _ = await add_evaluator(storage, project.project_id, conn)
    _, obs_id = await send_generation(client, project, input="Capital of France?", output="Paris")
    email, password = await make_user(storage, project, Role.MEMBER)
    await login(client, email, password)
    preview = f"/evaluation/evaluators/{evaluator_id}/preview"

    async def rendered() -> str | None:
        r = await client.get(preview, params={"observation": obs_id})
        return r.text if "Question: Capital of France?" in r.text else None

    text = await wait_for(rendered)
    assert "Answer: Paris" in text and "Ask the judge" in text
    assert not [r for r in llm.requests if not r["body"].get("stream")]  # rendering calls nothing
    r = await client.post(preview, data={"observation": obs_id, "_csrf_token": csrf_token(text)})
    assert r.status_code == 200, r.text
    assert 'id="answer"' in r.text and "The answer is correct and complete." in r.text and "0.8" in r.text
    assert await eval_scores(storage, project.project_id) == []
    r = await client.get(preview, params={"observation": "no-such-observation"})
    assert r.status_code == 200 and "not found" in r.text
    assert (await client.get("/evaluation/evaluators/nope/preview")).status_code == 404


async def test_graphql_lists_counts_and_retries(
    storage: Storage, client, project: ProjectFixture, llm: FakeLlm
) -> None:
    rule_id, execution_id = await failed_execution(storage, client, project, llm)
    query = """query($f: EvaluationExecutionFilter) {
      evaluationExecutions(filter: $f, first: 10) {
        edges { node { id status attempts error executionTraceId } }
      }
      evaluationExecutionCounts(filter: $f) { status count }
    }"""
    variables = {"f": {"ruleId": rule_id, "status": "ERROR"}}
    r = await client.post("/api/graphql", json={"query": query, "variables": variables}, auth=project.auth)
    data = r.json()["data"]
    [edge] = data["evaluationExecutions"]["edges"]
    assert edge["node"]["id"] == execution_id and edge["node"]["status"] == "ERROR"
    assert {"status": "ERROR", "count": 1} in data["evaluationExecutionCounts"]
    mutation = """mutation($id: ID!) {
      retryEvaluationExecution(input: {id: $id}) { evaluationExecution { id status attempts } }
    }"""
    r = await client.post(
        "/api/graphql", json={"query": mutation, "variables": {"id": execution_id}}, auth=project.auth
    )
    assert r.json()["data"]["retryEvaluationExecution"]["evaluationExecution"]["status"] == "PENDING", r.text
    await ended(storage, project.project_id, rule_id, statuses=("COMPLETED",))
    r = await client.post(
        "/api/graphql", json={"query": mutation, "variables": {"id": execution_id}}, auth=project.auth
    )
    assert "COMPLETED" in r.json()["errors"][0]["message"]
    other = await make_project(storage)
    r = await client.post("/api/graphql", json={"query": query, "variables": variables}, auth=other.auth)
    assert r.json()["data"]["evaluationExecutions"]["edges"] == []

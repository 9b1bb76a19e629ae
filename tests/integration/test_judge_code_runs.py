"""Code evaluators end to end: created over the v2 API once an admin enables them, a rule matches a span
sent through ingestion, the worker runs the code in its sandbox and an EVAL score is stored; a failing or
out-of-contract evaluator ends in ERROR with why, and a project that turned them off judges nothing."""

from __future__ import annotations

import httpx
import pytest

from app.evaluation import eval_settings
from app.evaluation.eval_settings import SettingsChange
from app.storage import Storage
from tests.conftest import ProjectFixture
from tests.integration.judge_setup import add_rule, ended, eval_scores, send_generation

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("worker")]
EXACT = """
def evaluate(input, output, expected_output=None, **rest):
    print("comparing", output)
    same = str(output).strip() == "4"
    return {"score": 1.0 if same else 0.0, "reasoning": f"output {output} for {input}"}
"""


async def code_evaluator(
    client: httpx.AsyncClient, storage: Storage, project: ProjectFixture, source: str
) -> str:
    await eval_settings.save_settings(storage, project.project_id, SettingsChange(None, None, None, True))
    body = {
        "type": "code",
        "name": f"code-{len(source)}",
        "sourceCode": source,
        "sourceCodeLanguage": "PYTHON",
    }
    r = await client.post("/api/public/v2/evaluators", json=body, auth=project.auth)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def test_a_code_evaluator_scores_a_span(
    client: httpx.AsyncClient, storage: Storage, project: ProjectFixture
) -> None:
    evaluator_id = await code_evaluator(client, storage, project, EXACT)
    rule_id = await add_rule(storage, project.project_id, evaluator_id)
    trace_id, obs_id = await send_generation(client, project)
    ex = await ended(storage, project.project_id, rule_id)
    assert ex.status == "COMPLETED", ex.error
    [score] = await eval_scores(storage, project.project_id, trace_id=trace_id)
    assert (score["value"], score["data_type"], score["observation_id"]) == (1.0, "NUMERIC", obs_id), (
        ex.raw_answer
    )
    assert score["comment"].startswith("output ") and "2 + 2" in score["comment"], score["comment"]
    assert score["id"] == ex.score_ids[0] and ex.raw_answer is not None and "comparing" in ex.raw_answer


@pytest.mark.parametrize(
    ("source", "error"),
    [
        ("def evaluate(**v):\n    raise ValueError('cannot grade')\n", "ValueError: cannot grade"),
        ("def evaluate(**v):\n    while True:\n        pass\n", "CPU time limit"),
        ("def evaluate(**v):\n    return {'score': [1], 'reasoning': 'x'}\n", "score must be a number"),
    ],
)
async def test_a_failing_code_evaluator_ends_in_error_with_why(
    client: httpx.AsyncClient, storage: Storage, project: ProjectFixture, source: str, error: str
) -> None:
    evaluator_id = await code_evaluator(client, storage, project, source)
    rule_id = await add_rule(storage, project.project_id, evaluator_id)
    trace_id, _ = await send_generation(client, project)
    ex = await ended(storage, project.project_id, rule_id)
    assert ex.status == "ERROR" and ex.error is not None and error in ex.error, ex.error
    assert await eval_scores(storage, project.project_id, trace_id=trace_id) == []


async def test_code_evaluators_turned_off_judge_nothing(
    client: httpx.AsyncClient, storage: Storage, project: ProjectFixture
) -> None:
    evaluator_id = await code_evaluator(client, storage, project, EXACT)
    rule_id = await add_rule(storage, project.project_id, evaluator_id)
    await eval_settings.save_settings(storage, project.project_id, SettingsChange(None, None, None, False))
    trace_id, _ = await send_generation(client, project)
    ex = await ended(storage, project.project_id, rule_id)
    assert (ex.status, ex.error) == ("ERROR", "code evaluators are disabled for this project")
    assert await eval_scores(storage, project.project_id, trace_id=trace_id) == []

"""Test helpers for judges: a connection to the fake provider, an evaluator (rows written directly, as
the evaluators API would), a rule, spans sent through ingestion, and waiting for an execution's end."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx

from app.evaluation import rules
from app.playground import connections
from app.storage import Storage
from app.storage.clickhouse.query import CompiledQuery
from app.storage.postgres import executions
from app.storage.postgres.eval_tables import Evaluator, EvaluatorVersion, JobExecution
from tests.conftest import ProjectFixture, wait_for
from tests.integration.fake_llm import API_KEY, FakeLlm

PROMPT = [
    {"role": "system", "content": "You grade answers."},
    {"role": "user", "content": "Question: {{input}}\nAnswer: {{output}}\nGrade the answer."},
]
NUMERIC = {"dataType": "NUMERIC", "minValue": 0, "maxValue": 1}


async def add_connection(
    storage: Storage,
    project_id: str,
    llm: FakeLlm,
    provider: str = "openai",
    key: str = API_KEY,
    headers: dict[str, str] | None = None,
) -> str:
    spec = connections.LlmConnectionSpec(
        f"{provider}-{uuid.uuid4().hex[:6]}", provider, llm.base_url, ["gpt-4o-mini"], key, headers
    )
    return (await connections.create_connection(storage, project_id, spec)).name


async def add_evaluator(
    storage: Storage,
    project_id: str,
    connection_name: str,
    model: str = "gpt-4o-mini",
    output: dict[str, Any] | None = None,
    prompt: list[dict[str, str]] | None = None,
    name: str = "helpfulness",
) -> tuple[str, str]:
    """An llm_as_judge evaluator with one version; returns (evaluator id, version id)."""
    evaluator = Evaluator(project_id=project_id, name=f"{name}-{uuid.uuid4().hex[:4]}", type="llm_as_judge")
    version = EvaluatorVersion(
        project_id=project_id,
        evaluator_id=evaluator.id,
        version=1,
        prompt=prompt or PROMPT,
        variables=["input", "output"] if prompt is None else [],
        judge_model={"provider": connection_name, "model": model},
        output_definition=output or NUMERIC,
    )
    async with storage.postgres.session() as s:
        s.add(evaluator)
        await s.flush()
        s.add(version)
        await s.commit()
    return evaluator.id, version.id


async def add_rule(
    storage: Storage, project_id: str, evaluator_id: str, filters: list[Any] | None = None, **fields: Any
) -> str:
    spec = rules.RuleSpec(
        name=f"rule-{uuid.uuid4().hex[:6]}",
        enabled=True,
        evaluator_assignments=[{"evaluatorId": evaluator_id}],
        filter=filters if filters is not None else [],
        delay_seconds=fields.pop("delay_seconds", 0.2),
        **fields,
    )
    return (await rules.create_rule(storage, project_id, spec)).id


async def send_generation(
    client: httpx.AsyncClient, project: ProjectFixture, name: str = "answer", **body: Any
) -> tuple[str, str]:
    """A trace (same input and output) with one GENERATION through /api/public/ingestion; returns
    (trace id, observation id)."""
    trace_id, obs_id = uuid.uuid4().hex, uuid.uuid4().hex
    now = datetime.now(UTC).isoformat()
    given, made = body.pop("input", "What is 2 + 2?"), body.pop("output", "4")
    trace = {
        "id": trace_id,
        "name": "qa",
        "timestamp": now,
        "input": given,
        "output": made,
        **{k: body.pop(k) for k in list(body) if k in ("sessionId",)},
    }
    generation = {
        "id": obs_id,
        "traceId": trace_id,
        "name": name,
        "startTime": now,
        "endTime": now,
        "model": "gpt-4o-mini",
        "input": given,
        "output": made,
        **body,
    }
    batch = [
        {"id": uuid.uuid4().hex, "type": "trace-create", "timestamp": now, "body": trace},
        {"id": uuid.uuid4().hex, "type": "generation-create", "timestamp": now, "body": generation},
    ]
    r = await client.post("/api/public/ingestion", json={"batch": batch}, auth=project.auth)
    assert r.status_code == 207, r.text
    return trace_id, obs_id


async def executions_of(storage: Storage, project_id: str, rule_id: str) -> list[JobExecution]:
    return await executions.list_executions_page(storage.postgres, project_id, rule_id=rule_id)


async def ended(
    storage: Storage, project_id: str, rule_id: str, timeout_s: float = 30, statuses: tuple[str, ...] = ()
) -> JobExecution:
    """The rule's one execution once it reached a final status (or one of `statuses`)."""
    wanted = statuses or ("COMPLETED", "ERROR", "CANCELLED")

    async def done() -> JobExecution | None:
        found = await executions_of(storage, project_id, rule_id)
        return found[0] if found and found[0].status in wanted else None

    result: JobExecution = await wait_for(done, timeout_s=timeout_s)
    return result


async def eval_scores(storage: Storage, project_id: str, **where: str) -> list[dict[str, Any]]:
    """Scores with source EVAL of the project (by trace_id / session_id / observation_id when given)."""
    sql = (
        "SELECT id, name, value, string_value, data_type, source, comment, trace_id, observation_id, "
        "session_id, metadata_names, metadata_values, environment FROM scores FINAL "
        "WHERE project_id = {project_id:String} AND source = 'EVAL' AND is_deleted = 0"
    )
    params: dict[str, Any] = {"project_id": project_id}
    for column in ("trace_id", "session_id", "observation_id"):
        if column in where:
            sql += f" AND {column} = {{{column}:String}}"
            params[column] = where[column]
    return await storage.clickhouse.query(CompiledQuery(sql + " ORDER BY id", params, "test.eval_scores"))

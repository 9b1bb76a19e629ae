"""The judge's own trace: a trace (id = sha256(execution id)[:32], environment
`langhouse-llm-as-a-judge`, named `Execute evaluator: <name>`) holding one GENERATION per call, as
Langfuse batch events the jobs layer ingests; and the call's cost from the project's model prices."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from typing import Any

from app.evaluation.judge_prompt import PreparedJudge
from app.evaluation.judge_types import JUDGE_ENVIRONMENT
from app.playground.judge_calls import JudgeAnswer
from app.playground.providers import Usage
from app.storage import Storage
from app.storage.postgres.eval_tables import Evaluator, JobExecution
from app.tracing import model_catalog
from app.tracing.costs import match_model, price_usage


def judge_trace_id(execution_id: str) -> str:
    return hashlib.sha256(execution_id.encode()).hexdigest()[:32]


async def call_cost(
    storage: Storage, project_id: str, model: str, usage: Usage | None, at: datetime
) -> float | None:
    """USD from the project's model prices (then the built-ins); None when the model is not priced."""
    if usage is None:
        return None
    price = match_model(await model_catalog.prices_for(storage, project_id), model, at)
    tokens = {"input": usage.input, "output": usage.output, "total": usage.input + usage.output}
    cost = price_usage(price, tokens) if price else {}
    return float(cost["total"]) if "total" in cost else None


def judge_trace_events(
    ex: JobExecution,
    evaluator: Evaluator,
    prepared: PreparedJudge,
    answer: JudgeAnswer | None,
    error: str | None,
    started: datetime,
    cost: float | None,
) -> list[dict[str, Any]]:
    """Batch events (trace-create, generation-create) recording one judge call."""
    now = datetime.now(UTC)
    trace_id, req = judge_trace_id(ex.id), prepared.request
    metadata = {
        "job_execution_id": ex.id,
        "evaluator_id": evaluator.id,
        "evaluator_version_id": ex.evaluator_version_id,
        "evaluation_rule_id": ex.rule_id,
        "connection": prepared.connection_name,
        "target_trace_id": ex.target_trace_id,
        "target_observation_id": ex.target_observation_id,
        "target_session_id": ex.target_session_id,
    }
    output = answer.parsed if answer and answer.parsed is not None else (answer.raw if answer else None)
    usage = answer.usage if answer else None
    generation: dict[str, Any] = {
        "id": hashlib.sha256(f"{ex.id}:{ex.attempts}".encode()).hexdigest()[:32],
        "traceId": trace_id,
        "name": f"judge call {ex.attempts}",
        "environment": JUDGE_ENVIRONMENT,
        "startTime": started.isoformat(),
        "endTime": now.isoformat(),
        "model": req.model,
        "modelParameters": req.params or None,
        "input": req.messages,
        "output": output,
        "usageDetails": {"input": usage.input, "output": usage.output} if usage else None,
        "costDetails": {"total": cost} if cost is not None else None,
        "level": "ERROR" if error else "DEFAULT",
        "statusMessage": error,
        "metadata": {k: v for k, v in metadata.items() if v is not None},
    }
    trace = {
        "id": trace_id,
        "name": f"Execute evaluator: {evaluator.name}",
        "timestamp": started.isoformat(),
        "environment": JUDGE_ENVIRONMENT,
        "input": req.messages,
        "output": output,
        "metadata": generation["metadata"],
    }
    stamp = now.isoformat()
    return [
        {"id": uuid.uuid4().hex, "type": "trace-create", "timestamp": stamp, "body": trace},
        {
            "id": uuid.uuid4().hex,
            "type": "generation-create",
            "timestamp": stamp,
            "body": {k: v for k, v in generation.items() if v is not None},
        },
    ]

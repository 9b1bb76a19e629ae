"""One judgment by a code evaluator: the target's sources (and the rule's mapped variables) go to the
evaluator's `evaluate(**variables)` in the sandbox of `code_runner`; its `{score, reasoning}` is checked
(against the output definition when the evaluator has one, else by the score's type) and written as a
score with source EVAL, like an LLM judge's. No model is called, so there is no judge trace or cost.

The evaluator receives keyword arguments: `input`, `output`, `metadata`, `tool_calls`, `expected_output`,
`experiment_item_metadata` (decoded JSON values, None when absent), `rendered` (a trace's tree or a
session's conversation as text, for those targets) and each variable of the rule's mapping.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from app.errors import NotFound
from app.evaluation import eval_settings
from app.evaluation.code_runner import CodeResult, CodeRunError, run_code_evaluator
from app.evaluation.judge_inputs import SOURCE_NAMES, select, target_values
from app.evaluation.judge_output import OutputSpec, judge_answer, output_spec
from app.evaluation.judge_scores import store_judgment, target_of
from app.evaluation.judge_types import VariableMap
from app.storage import Storage
from app.storage.postgres import executions as repo
from app.storage.postgres.eval_tables import Evaluator, EvaluatorVersion, JobExecution

MAX_LOG_CHARS = 4000


async def _finish(storage: Storage, ex: JobExecution, status: str, error: str | None, **values: Any) -> str:
    ex.status, ex.error, ex.ended_at = status, error[:4000] if error else None, datetime.now(UTC)
    for key, value in values.items():
        setattr(ex, key, value)
    await repo.save_execution(storage.postgres, ex)
    return status


def _spec(version: EvaluatorVersion, result: CodeResult) -> OutputSpec:
    """The evaluator's output definition, else what the score's type implies."""
    if isinstance(version.output_definition, dict) and version.output_definition:
        return output_spec(version.output_definition)
    if isinstance(result.score, bool):
        return OutputSpec("BOOLEAN")
    if isinstance(result.score, str):
        return OutputSpec("CATEGORICAL", categories=(result.score,))
    return OutputSpec("NUMERIC")


async def run_code_execution(
    storage: Storage,
    project_id: str,
    ex: JobExecution,
    evaluator: Evaluator,
    version: EvaluatorVersion,
    mapping: list[VariableMap],
) -> str:
    """Run a code evaluator on the execution's target; its final status (COMPLETED or ERROR, with why)."""
    settings = await eval_settings.get_settings(storage, project_id)
    if not settings.code_evaluators_enabled:
        return await _finish(storage, ex, "ERROR", "code evaluators are disabled for this project")
    try:
        values = await target_values(storage, project_id, target_of(ex))
    except NotFound as exc:
        return await _finish(storage, ex, "ERROR", f"the target is gone: {exc}")
    variables: dict[str, object] = {name: getattr(values, name) for name in SOURCE_NAMES}
    variables["rendered"] = values.rendered
    variables.update({m.variable: select(getattr(values, m.source), m.json_path) for m in mapping})
    ex.status, ex.attempts, ex.started_at = "RUNNING", ex.attempts + 1, ex.started_at or datetime.now(UTC)
    await repo.save_execution(storage.postgres, ex)
    try:
        result = await run_code_evaluator(settings, version, variables)
    except CodeRunError as exc:
        return await _finish(
            storage,
            ex,
            "ERROR",
            f"the code evaluator failed: {exc}",
            raw_answer=exc.logs[-MAX_LOG_CHARS:] or None,
        )
    raw = json.dumps(
        {"score": result.score, "reasoning": result.reasoning, "logs": result.logs[-MAX_LOG_CHARS:]}
    )
    judgment = judge_answer(_spec(version, result), {"score": result.score, "reasoning": result.reasoning})
    if isinstance(judgment, str):
        return await _finish(
            storage, ex, "ERROR", f"the answer breaks the output definition: {judgment}", raw_answer=raw
        )
    ids = await store_judgment(storage, project_id, ex, evaluator.name, judgment, values.environment)
    return await _finish(storage, ex, "COMPLETED", None, raw_answer=raw, score_ids=ids)

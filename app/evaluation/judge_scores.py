"""A judgment's target and the scores it writes: source EVAL, deterministic ids (a rerun rewrites the same
rows), the reasoning as comment and the execution's ids in metadata. Shared by LLM and code judges."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from app.errors import InvalidInput
from app.evaluation.judge_output import Judgment
from app.evaluation.judge_types import JudgeTarget
from app.storage import Storage
from app.storage.clickhouse.write_rows import ScoreRow
from app.storage.clickhouse.writes import insert_scores
from app.storage.postgres.eval_tables import JobExecution
from app.tracing.scores import NewScore, build_row, check_scores
from app.tracing.writer import RefusedRow

# Stores judge score rows; answers the rows refused (the worker's writer.write_scores).
ScoreSink = Callable[[list[ScoreRow]], Awaitable[tuple[RefusedRow, ...]]]


def target_of(execution: JobExecution) -> JudgeTarget:
    kind = execution.target_kind if execution.target_kind in ("trace", "session") else "observation"
    return JudgeTarget(
        kind,  # type: ignore[arg-type]
        execution.target_trace_id,
        execution.target_observation_id,
        execution.target_session_id,
        execution.target_dataset_item_id,
        execution.target_time,
    )


async def store_judgment(
    storage: Storage,
    project_id: str,
    ex: JobExecution,
    name: str,
    judgment: Judgment,
    environment: str | None,
    extra_metadata: dict[str, str] | None = None,
    write_scores: ScoreSink | None = None,
) -> list[str]:
    """Write the judgment's score(s), one per value (categories matched); their ids. `write_scores` (the
    worker's writer) gathers concurrent judges' scores into one insert; without it they go in at once."""
    target = target_of(ex)
    metadata = {
        "job_execution_id": ex.id,
        "evaluation_rule_id": ex.rule_id,
        "evaluator_id": ex.evaluator_id,
        "evaluator_version_id": ex.evaluator_version_id,
        "target_trace_id": target.trace_id,
        "target_observation_id": target.observation_id,
        "target_session_id": target.session_id,
        "target_dataset_item_id": target.dataset_item_id,
        **(extra_metadata or {}),
    }
    scores = [
        NewScore(
            name=name,
            value=value,
            data_type=judgment.data_type,
            trace_id=None if target.kind == "session" else target.trace_id,
            observation_id=target.observation_id if target.kind == "observation" else None,
            session_id=target.session_id if target.kind == "session" else None,
            comment=judgment.reasoning,
            environment=environment,
            source="EVAL",
            id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"langhouse-judge:{ex.id}:{index}")),
            timestamp=ex.created_at,  # stable: a rerun rewrites the same row (the sort key holds it)
            metadata={k: v for k, v in metadata.items() if v is not None},
        )
        for index, value in enumerate(judgment.values)
    ]
    if problem := next((p for p in await check_scores(storage, project_id, scores) if p), None):
        raise InvalidInput(problem)
    now = datetime.now(UTC)
    rows = [build_row(project_id, score, now) for score in scores]
    if write_scores is None:
        await insert_scores(storage.clickhouse, rows)
    elif refused := await write_scores(rows):
        raise InvalidInput(f"the score was refused: {refused[0].reason}")
    return [row.id for row in rows]

"""Generations linked to a prompt (`prompt_name` / `prompt_version` on observations): metrics per version
and the list of those generations.

A generation's current state is its newest row_version among rows whose signs do not cancel out, so
updated and deleted generations count exactly once or not at all. Scores count when they are attached to
the generation itself or (without an observation) to its trace, newest row per score id, numeric values
only; they are read from the window's start to SCORE_LAG after its end (feedback often arrives later).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

from app.storage.clickhouse.client import ClickHouse
from app.storage.clickhouse.queries import observations as oq
from app.storage.clickhouse.queries.common import PROJECT, Page, Params, TimeRange, where
from app.storage.clickhouse.queries.views import ObservationView
from app.storage.clickhouse.query import CompiledQuery

SCORE_LAG = timedelta(days=7)
MAX_VERSIONS = 10_000


@dataclass(frozen=True, slots=True)
class PromptMetricsRequest:
    project_id: str
    prompt_name: str
    time: TimeRange
    versions: tuple[int, ...] = ()  # empty: every version


@dataclass(slots=True)
class PromptVersionMetrics:
    """What the generations of one prompt version did in the window."""

    version: int
    generations: int
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    input_tokens: int
    output_tokens: int
    total_tokens: int
    total_cost: Decimal
    scores: dict[str, float] = field(default_factory=dict)  # average value per score name


def _generations(req: PromptMetricsRequest, params: Params) -> str:
    """Current state of each generation of the prompt in the window: (trace_id, id, version, state)."""
    preds = [
        PROJECT,
        f"start_time >= {params.bind(req.time.start, 'DateTime64(6)')}",
        f"start_time < {params.bind(req.time.end, 'DateTime64(6)')}",
        "type = 'GENERATION'",
        f"prompt_name = {params.bind(req.prompt_name, 'String')}",
        "prompt_version IS NOT NULL",
    ]
    if req.versions:
        preds.append(f"prompt_version IN {params.bind(list(req.versions), 'Array(UInt32)')}")
    return (
        "SELECT trace_id, id, argMax(tuple(assumeNotNull(prompt_version), latency_ms, usage_details, "
        "total_cost), row_version) AS state "
        f"FROM observations WHERE {where(preds)} GROUP BY trace_id, id HAVING sum(sign) > 0"
    )


def compile_prompt_metrics(req: PromptMetricsRequest) -> CompiledQuery:
    params = Params(req.project_id)
    sql = (
        "SELECT state.1 AS version, count() AS generations, "
        "quantileIf(0.5)(state.2, state.2 IS NOT NULL) AS latency_p50, "
        "quantileIf(0.95)(state.2, state.2 IS NOT NULL) AS latency_p95, "
        "sum(state.3['input']) AS input_tokens, sum(state.3['output']) AS output_tokens, "
        "sum(if(mapContains(state.3, 'total'), state.3['total'], arraySum(mapValues(state.3)))) "
        "AS total_tokens, sum(toDecimal128(ifNull(state.4, 0), 12)) AS total_cost "
        f"FROM ({_generations(req, params)}) GROUP BY version ORDER BY version DESC "
        f"LIMIT {params.bind(MAX_VERSIONS, 'UInt32')}"
    )
    return CompiledQuery(sql, params.values, "prompts.metrics")


# One score of one version (a trace score counts once per version, however many generations it has).
_SCORE_ROW = "g.state.1 AS version, s.id AS score_id, s.name AS name, s.value AS value"


def compile_prompt_scores(req: PromptMetricsRequest) -> CompiledQuery:
    params = Params(req.project_id)
    gens = _generations(req, params)
    scores = (
        "SELECT id, trace_id, observation_id, name, value FROM (SELECT id, trace_id, observation_id, name, "
        "value, data_type, is_deleted FROM scores WHERE "
        + where(
            [
                PROJECT,
                f"timestamp >= {params.bind(req.time.start, 'DateTime64(6)')}",
                f"timestamp < {params.bind(req.time.end + SCORE_LAG, 'DateTime64(6)')}",
            ]
        )
        + " ORDER BY event_ts DESC LIMIT 1 BY id) "
        "WHERE is_deleted = 0 AND value IS NOT NULL AND data_type = 'NUMERIC'"
    )
    sql = (
        f"WITH gens AS ({gens}), live AS ({scores}) "
        "SELECT version, name, avg(value) AS avg_value FROM ("
        f"SELECT {_SCORE_ROW} FROM live AS s INNER JOIN gens AS g ON s.observation_id = g.id "
        "UNION DISTINCT "
        f"SELECT {_SCORE_ROW} FROM live AS s INNER JOIN gens AS g ON s.trace_id = g.trace_id "
        "WHERE s.observation_id IS NULL"
        ") GROUP BY version, name ORDER BY version DESC, name "
        f"LIMIT {params.bind(MAX_VERSIONS, 'UInt32')}"
    )
    return CompiledQuery(sql, params.values, "prompts.scores")


async def aggregate_prompt_metrics(ch: ClickHouse, req: PromptMetricsRequest) -> list[PromptVersionMetrics]:
    """Per version (newest first): generation count, latency p50/p95 (ms), tokens, cost and score averages."""
    rows = await ch.query(compile_prompt_metrics(req))
    out = {int(str(r["version"])): _metrics(r) for r in rows}
    for r in await ch.query(compile_prompt_scores(req)):
        found = out.get(int(str(r["version"])))
        if found is not None:
            found.scores[str(r["name"])] = float(str(r["avg_value"]))
    return list(out.values())


def _float_or_none(value: Any) -> float | None:
    return None if value is None or value != value else float(value)  # NaN: no latency measured


def _metrics(r: dict[str, Any]) -> PromptVersionMetrics:
    return PromptVersionMetrics(
        version=int(r["version"]),
        generations=int(r["generations"]),
        latency_p50_ms=_float_or_none(r["latency_p50"]),
        latency_p95_ms=_float_or_none(r["latency_p95"]),
        input_tokens=int(r["input_tokens"]),
        output_tokens=int(r["output_tokens"]),
        total_tokens=int(r["total_tokens"]),
        total_cost=Decimal(r["total_cost"]),
    )


@dataclass(frozen=True, slots=True)
class PromptGenerationsRequest:
    project_id: str
    prompt_name: str
    version: int
    time: TimeRange
    first: int = 50
    after: str | None = None


async def list_prompt_generations(ch: ClickHouse, req: PromptGenerationsRequest) -> Page[ObservationView]:
    """The generations of one prompt version, newest first, by keyset page (the observation list query)."""
    f = oq.ObservationFilter(
        types=("GENERATION",), prompt_names=(req.prompt_name,), prompt_versions=(req.version,)
    )
    return await oq.list_observations(
        ch, oq.ObservationListRequest(req.project_id, req.time, f, first=req.first, after=req.after)
    )

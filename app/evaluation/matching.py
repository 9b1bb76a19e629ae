"""Rule matching at ingestion: the observations the writer just stored (new and corrected rows, as JSON
lines) against the project's enabled rules, compiled once and cached, creating one pending execution per
(rule, evaluator, target). No read of ClickHouse: the rows are those the writer already holds.

Targets: an observation (key "<trace_id>/<observation_id>"), its whole trace (key = trace id, judged once
whichever of its observations matched), or its session (key = session id, judged once idle). Observations
in the judges' own environment are never matched (a judge is never judged). The caller enqueues what this
returns; a replayed batch creates nothing (the executions' unique target key).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from app.evaluation.judge_types import JUDGE_ENVIRONMENT
from app.evaluation.rule_filters import (
    Predicate,
    compile_filters,
    experiment,
    is_experiment_item_root,
    sampled,
)
from app.storage import Storage
from app.storage.postgres import evaluation_rules as repo
from app.storage.postgres import executions
from app.storage.postgres.eval_tables import JobExecution
from app.storage.postgres.tables import utcnow

CACHE_TTL_S = 5.0  # a rule changed in another process is seen within this
INSERT_CHUNK = 1000  # executions per insert (Postgres binds at most 32767 parameters)
RECENT_KEYS = 100_000  # hashes of (project, rule, evaluator, target) created lately: not inserted again


@dataclass(frozen=True, slots=True)
class CompiledRule:
    rule_id: str
    target: str
    matches: Predicate
    sampling: float
    delay_seconds: float
    session_idle_minutes: float | None
    evaluators: tuple[tuple[str, str], ...]  # (evaluator id, newest version id), active ones


_cache: dict[str, tuple[float, tuple[CompiledRule, ...]]] = {}
_recent: OrderedDict[int, None] = OrderedDict()  # ~100 bytes an entry


def invalidate(project_id: str) -> None:
    """Forget this project's compiled rules (after a rule or evaluator change in this process)."""
    _cache.pop(project_id, None)


async def enabled_rules(storage: Storage, project_id: str) -> tuple[CompiledRule, ...]:
    """The project's enabled rules with at least one active evaluator, compiled (cached CACHE_TTL_S)."""
    hit = _cache.get(project_id)
    now = time.monotonic()
    if hit is not None and hit[0] > now:
        return hit[1]
    rules = await repo.list_enabled_rules(storage.postgres, project_id)
    heads = await repo.evaluator_heads(storage.postgres, project_id) if rules else {}
    compiled: list[CompiledRule] = []
    for rule in rules:
        evaluators = []
        for a in rule.evaluator_assignments:
            head = heads.get(str(a.get("evaluatorId")))
            if head is not None and head.status == "active":
                evaluators.append((head.evaluator_id, head.version_id))
        if evaluators:
            compiled.append(
                CompiledRule(
                    rule.id,
                    rule.target,
                    compile_filters(rule.filter),
                    rule.sampling,
                    rule.delay_seconds,
                    rule.session_idle_minutes,
                    tuple(evaluators),
                )
            )
    result = tuple(compiled)
    _cache[project_id] = (now + CACHE_TTL_S, result)
    return result


async def match_written(storage: Storage, project_id: str, lines: list[bytes]) -> list[JobExecution]:
    """Create the pending executions these written observation rows call for; returns those created (the
    caller enqueues each after `delay_seconds`, or at `scheduled_for` for sessions)."""
    rules = await enabled_rules(storage, project_id)
    if not rules or not lines:
        return []
    now = utcnow()
    wanted: dict[tuple[str, str, str, str], JobExecution] = {}
    for line in lines:
        row: dict[str, Any] = orjson.loads(line)
        if row.get("environment") == JUDGE_ENVIRONMENT or row.get("sign", 1) < 0:
            continue
        for rule in rules:
            if not rule.matches(row):
                continue
            key = _target_key(rule.target, row)
            if key is None or not sampled(key, rule.sampling):
                continue
            for evaluator_id, version_id in rule.evaluators:
                ident = (project_id, rule.rule_id, evaluator_id, key)
                if hash(ident) not in _recent and ident not in wanted:
                    wanted[ident] = _execution(project_id, rule, evaluator_id, version_id, key, row, now)
    created: list[JobExecution] = []
    pending = list(wanted.values())
    for i in range(0, len(pending), INSERT_CHUNK):
        created += await executions.create_pending(storage.postgres, pending[i : i + INSERT_CHUNK])
    _remember(wanted)
    return created


def _remember(idents: dict[tuple[str, str, str, str], JobExecution]) -> None:
    for ident in idents:
        _recent[hash(ident)] = None
    while len(_recent) > RECENT_KEYS:
        _recent.popitem(last=False)


def _target_key(target: str, row: dict[str, Any]) -> str | None:
    if target == "observation":
        return f"{row['trace_id']}/{row['id']}"
    if target == "trace":
        return str(row["trace_id"])
    session = row.get("session_id")
    return str(session) if session else None


def _execution(
    project_id: str,
    rule: CompiledRule,
    evaluator_id: str,
    version_id: str,
    key: str,
    row: dict[str, Any],
    now: datetime,
) -> JobExecution:
    wait_s = (rule.session_idle_minutes or 0) * 60 if rule.target == "session" else rule.delay_seconds
    item = experiment(row).get("item.id") if is_experiment_item_root(row) else None
    return JobExecution(
        project_id=project_id,
        rule_id=rule.rule_id,
        evaluator_id=evaluator_id,
        evaluator_version_id=version_id,
        target_kind=rule.target,
        target_key=key,
        target_trace_id=row["trace_id"] if rule.target != "session" else None,
        target_observation_id=row["id"] if rule.target == "observation" else None,
        target_session_id=row.get("session_id"),
        target_dataset_item_id=None if item is None else str(item),
        target_time=_time(row.get("start_time")),
        scheduled_for=now + timedelta(seconds=wait_s),
    )


def _time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)

"""Evaluation rules: create, list, read, change and delete, with every input checked (filters, evaluator
assignments and their variable mappings, sampling, target, delay). Every function is scoped to one project;
a change drops the project's cached rules in this process (others see it within the cache's TTL)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, get_args

from app.errors import InvalidInput, NotFound
from app.evaluation import matching
from app.evaluation.encoding import time_cursor, time_keyset
from app.evaluation.judge_types import MAPPING_SOURCES, TargetKind
from app.evaluation.rule_filters import validate_filters
from app.storage import Storage
from app.storage.postgres import evaluation_rules as repo
from app.storage.postgres.eval_tables import EvaluationRule

NAME_MAX = 255
DEFAULT_DELAY_S = 10.0
MAX_DELAY_S = 86_400.0
DEFAULT_SESSION_IDLE_MIN = 30.0
MAX_SESSION_IDLE_MIN = 1_440.0
_JSON_PATH = re.compile(r"""\$(?:\.{1,2}(?:[A-Za-z_][\w-]*|\*)|\[(?:-?\d+|\*|'[^']*'|"[^"]*")\])*""")
TARGETS: tuple[str, ...] = get_args(TargetKind)


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """A rule as a client sends it (camelCase mapping entries as the SDK sends them)."""

    name: str
    enabled: bool
    evaluator_assignments: list[dict[str, Any]]
    filter: list[Any] = field(default_factory=list)
    sampling: float = 1.0
    target: str = "observation"
    delay_seconds: float = DEFAULT_DELAY_S
    session_idle_minutes: float | None = None


@dataclass(frozen=True, slots=True)
class RulePatch:
    """Fields to change; None leaves a field as stored."""

    name: str | None = None
    enabled: bool | None = None
    evaluator_assignments: list[dict[str, Any]] | None = None
    filter: list[Any] | None = None
    sampling: float | None = None
    target: str | None = None
    delay_seconds: float | None = None
    session_idle_minutes: float | None = None


async def create_rule(storage: Storage, project_id: str, spec: RuleSpec) -> EvaluationRule:
    target = _target(spec.target)
    rule = EvaluationRule(
        project_id=project_id,
        name=_name(spec.name),
        enabled=spec.enabled,
        target=target,
        filter=validate_filters(spec.filter),
        sampling=_sampling(spec.sampling),
        delay_seconds=_delay(spec.delay_seconds),
        session_idle_minutes=_idle(target, spec.session_idle_minutes),
        evaluator_assignments=await _assignments(storage, project_id, spec.evaluator_assignments),
    )
    _check_enabled(rule.enabled, rule.evaluator_assignments)
    created = await repo.create_rule(storage.postgres, rule)
    matching.invalidate(project_id)
    return created


async def fetch_rule(storage: Storage, project_id: str, rule_id: str) -> EvaluationRule:
    rule = await repo.fetch_rule(storage.postgres, project_id, rule_id)
    if rule is None:
        raise NotFound(f"evaluation rule {rule_id!r} not found")
    return rule


async def list_rules_page(
    storage: Storage, project_id: str, limit: int, cursor: str | None = None
) -> tuple[list[EvaluationRule], str | None]:
    """A page of rules, newest first, and the cursor of the next page (None on the last)."""
    if not 1 <= limit <= 100:
        raise InvalidInput("limit: between 1 and 100")
    rows = await repo.list_rules_page(storage.postgres, project_id, limit + 1, time_keyset(cursor))
    if len(rows) > limit:
        last = rows[limit - 1]
        return rows[:limit], time_cursor(last.created_at, last.id)
    return rows, None


async def update_rule(storage: Storage, project_id: str, rule_id: str, patch: RulePatch) -> EvaluationRule:
    current = await fetch_rule(storage, project_id, rule_id)
    changes: dict[str, object] = {}
    if patch.name is not None:
        changes["name"] = _name(patch.name)
    if patch.enabled is not None:
        changes["enabled"] = patch.enabled
    if patch.filter is not None:
        changes["filter"] = validate_filters(patch.filter)
    if patch.sampling is not None:
        changes["sampling"] = _sampling(patch.sampling)
    if patch.delay_seconds is not None:
        changes["delay_seconds"] = _delay(patch.delay_seconds)
    target = _target(patch.target) if patch.target is not None else current.target
    if patch.target is not None or patch.session_idle_minutes is not None:
        changes["target"] = target
        idle = (
            patch.session_idle_minutes
            if patch.session_idle_minutes is not None
            else current.session_idle_minutes
        )
        changes["session_idle_minutes"] = _idle(target, idle)
    if patch.evaluator_assignments is not None:
        changes["evaluator_assignments"] = await _assignments(
            storage, project_id, patch.evaluator_assignments
        )
        if not changes["evaluator_assignments"] and patch.enabled is None:
            changes["enabled"] = False  # the SDK's contract: an empty assignment list disables the rule
    if not changes:
        raise InvalidInput("body: at least one field must be provided")
    enabled = bool(changes.get("enabled", current.enabled))
    assignments = changes.get("evaluator_assignments", current.evaluator_assignments)
    _check_enabled(enabled, assignments if isinstance(assignments, list) else [])
    updated = await repo.update_rule(storage.postgres, project_id, rule_id, changes)
    if updated is None:
        raise NotFound(f"evaluation rule {rule_id!r} not found")
    matching.invalidate(project_id)
    return updated


async def delete_rule(storage: Storage, project_id: str, rule_id: str) -> None:
    if not await repo.delete_rule(storage.postgres, project_id, rule_id):
        raise NotFound(f"evaluation rule {rule_id!r} not found")
    matching.invalidate(project_id)


def _name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("name: a non-empty string")
    if len(name) > NAME_MAX:
        raise InvalidInput(f"name: at most {NAME_MAX} characters")
    return name.strip()


def _target(target: object) -> str:
    if target not in TARGETS:
        raise InvalidInput(f"target: one of {', '.join(TARGETS)}")
    return str(target)


def _number(field_name: str, value: object, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise InvalidInput(f"{field_name}: a number from {low:g} to {high:g}")
    return float(value)


def _sampling(value: object) -> float:
    return _number("sampling", value, 0, 1)


def _delay(value: object) -> float:
    return _number("delaySeconds", value, 0, MAX_DELAY_S)


def _idle(target: str, value: object) -> float | None:
    if target != "session":
        return None
    if value is None:
        return DEFAULT_SESSION_IDLE_MIN
    return _number("sessionIdleMinutes", value, 1, MAX_SESSION_IDLE_MIN)


def _check_enabled(enabled: bool, assignments: list[dict[str, object]]) -> None:
    if enabled and not assignments:
        raise InvalidInput("evaluatorAssignments: an enabled rule needs at least one evaluator")


async def _assignments(storage: Storage, project_id: str, raw: object) -> list[dict[str, object]]:
    """Assignments checked against the project's evaluators: each named once, each mapping covering the
    evaluator's variables exactly once with a known source and a `$`-rooted JSON path."""
    if not isinstance(raw, list):
        raise InvalidInput("evaluatorAssignments: must be a list")
    ids = [a.get("evaluatorId") if isinstance(a, dict) else None for a in raw]
    heads = await repo.evaluator_heads(
        storage.postgres, project_id, [str(i) for i in ids if isinstance(i, str)]
    )
    out: list[dict[str, object]] = []
    for i, (entry, evaluator_id) in enumerate(zip(raw, ids, strict=True)):
        at = f"evaluatorAssignments[{i}]"
        if not isinstance(entry, dict) or not isinstance(evaluator_id, str):
            raise InvalidInput(f"{at}.evaluatorId: required")
        head = heads.get(evaluator_id)
        if head is None:
            raise InvalidInput(f"{at}.evaluatorId: no evaluator {evaluator_id!r} in this project")
        if evaluator_id in ids[:i]:
            raise InvalidInput(f"{at}.evaluatorId: assigned twice")
        mapping = entry.get("variableMapping")
        out.append({"evaluatorId": evaluator_id, "variableMapping": _mapping(at, mapping, head.variables)})
    return out


def _mapping(at: str, raw: object, variables: list[str]) -> list[dict[str, object]] | None:
    if raw is None:
        return None
    if not isinstance(raw, list):
        raise InvalidInput(f"{at}.variableMapping: a list of {{variable, source, jsonPath}}")
    out: list[dict[str, object]] = []
    seen: set[str] = set()
    for j, m in enumerate(raw):
        where = f"{at}.variableMapping[{j}]"
        if not isinstance(m, dict):
            raise InvalidInput(f"{where}: an object")
        variable, source, path = m.get("variable"), m.get("source"), m.get("jsonPath")
        if variable not in variables:
            raise InvalidInput(f"{where}.variable: {variable!r} is not a variable of the evaluator")
        if variable in seen:
            raise InvalidInput(f"{where}.variable: {variable!r} is mapped twice")
        seen.add(str(variable))
        if source not in MAPPING_SOURCES:
            raise InvalidInput(f"{where}.source: one of {', '.join(MAPPING_SOURCES)}")
        if path is not None and not _json_path_ok(path):
            raise InvalidInput(f"{where}.jsonPath: not a JSONPath expression starting with $")
        out.append({"variable": variable, "source": source, "jsonPath": path or None})
    missing = [v for v in variables if v not in seen]
    if missing:
        raise InvalidInput(f"{at}.variableMapping: no mapping for {', '.join(missing)}")
    return out


def _json_path_ok(path: object) -> bool:
    """A JSONPath made of `.name`, `..name`, `.*`, `[n]`, `[*]`, `['key']` steps after `$`."""
    return isinstance(path, str) and _JSON_PATH.fullmatch(path) is not None

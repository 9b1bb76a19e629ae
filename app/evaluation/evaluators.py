"""Evaluators (judges) of a project: create, list, read, change and delete them; a change of prompt,
model, mapping, output or code makes a new version (rules judge with the newest); pause and resume."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal, get_args

from app.errors import InvalidInput, NotFound
from app.evaluation import eval_settings
from app.evaluation.code_runner import validate_source
from app.evaluation.encoding import decode_cursor, encode_cursor, time_cursor, time_keyset
from app.evaluation.evaluator_specs import (
    EvaluatorDefinition,
    ValidDefinition,
    check_definition,
    check_description,
    check_name,
)
from app.storage import Storage
from app.storage.postgres import evaluators as repo
from app.storage.postgres import llm_connections
from app.storage.postgres.eval_tables import Evaluator, EvaluatorVersion

MAX_PAGE_SIZE = 100
PauseCode = Literal[
    "authentication_failed", "unknown_model", "model_config_invalid", "connection_missing", "provider_error"
]
PAUSE_CODES: tuple[str, ...] = get_args(PauseCode)
# Pauses a new definition can cure (the model or connection it names); a bad key stays until resumed.
CURED_BY_NEW_DEFINITION = ("unknown_model", "model_config_invalid", "connection_missing")
REASON_PREFIXES = (
    ("bad credentials", "authentication_failed"),
    ("unknown model", "unknown_model"),
    ("no judge model", "model_config_invalid"),
    ("the LLM connection", "connection_missing"),
    ("the default LLM connection", "connection_missing"),
)


@dataclass(frozen=True, slots=True)
class RuleAssignment:
    """A rule that assigns the evaluator, with its own variable mapping (None: the evaluator's)."""

    rule_id: str
    variable_mapping: object


@dataclass(frozen=True, slots=True)
class EvaluatorView:
    """An evaluator with its newest version and the rules assigning it."""

    evaluator: Evaluator
    version: EvaluatorVersion
    assignments: list[RuleAssignment] = field(default_factory=list)

    @property
    def pause_code(self) -> str | None:
        return pause_parts(self.evaluator)[0]

    @property
    def pause_message(self) -> str | None:
        return pause_parts(self.evaluator)[1]


@dataclass(frozen=True, slots=True)
class EvaluatorChange:
    """A change: a new name, a new description (`description_set`), and/or a complete new definition."""

    name: str | None = None
    description: str | None = None
    description_set: bool = False
    definition: EvaluatorDefinition | None = None


def pause_parts(evaluator: Evaluator) -> tuple[str | None, str | None]:
    """(machine code, human message) of a paused evaluator's reason; (None, None) when active."""
    if evaluator.status != "paused":
        return None, None
    text = evaluator.pause_reason or ""
    code, sep, message = text.partition(": ")
    if sep and code in PAUSE_CODES:
        return code, message
    for prefix, known in REASON_PREFIXES:  # reasons written without a code
        if text.startswith(prefix):
            return known, text
    return "provider_error", text or None


async def _checked(storage: Storage, project_id: str, definition: EvaluatorDefinition) -> ValidDefinition:
    valid = check_definition(definition)
    if valid.type == "code":
        settings = await eval_settings.get_settings(storage, project_id)
        if not settings.code_evaluators_enabled:
            raise InvalidInput(
                "type: code evaluators are disabled for this project (an admin can enable them in the "
                "project's evaluation settings)"
            )
        validate_source(valid.source_code or "")
    if valid.judge_model is not None:
        names = {c.name for c in await llm_connections.list_connections(storage.postgres, project_id)}
        if valid.judge_model["provider"] not in names:
            raise InvalidInput(
                f"modelConfig.provider: no LLM connection named {valid.judge_model['provider']!r} in this "
                "project (see GET /api/public/llm-connections)"
            )
    return valid


def _version(project_id: str, evaluator_id: str, number: int, d: ValidDefinition) -> EvaluatorVersion:
    return EvaluatorVersion(
        project_id=project_id,
        evaluator_id=evaluator_id,
        version=number,
        prompt=d.prompt,
        variables=d.variables,
        variable_mapping=d.variable_mapping,
        judge_model=d.judge_model,
        output_definition=d.output_definition,
        source_code=d.source_code,
        source_code_language=d.source_code_language,
    )


def _same(v: EvaluatorVersion, d: ValidDefinition) -> bool:
    return (v.prompt, v.variable_mapping, v.judge_model, v.output_definition, v.source_code) == (
        d.prompt,
        d.variable_mapping,
        d.judge_model,
        d.output_definition,
        d.source_code,
    )


async def _assignments(storage: Storage, project_id: str) -> dict[str, list[RuleAssignment]]:
    found: dict[str, list[RuleAssignment]] = {}
    for rule in await repo.list_assigning_rules(storage.postgres, project_id):
        for a in rule.evaluator_assignments:
            evaluator_id = a.get("evaluatorId")
            if isinstance(evaluator_id, str):
                found.setdefault(evaluator_id, []).append(RuleAssignment(rule.id, a.get("variableMapping")))
    return found


async def _views(storage: Storage, project_id: str, rows: list[Evaluator]) -> list[EvaluatorView]:
    versions = await repo.latest_versions(storage.postgres, project_id, [r.id for r in rows])
    assigned = await _assignments(storage, project_id) if rows else {}
    return [EvaluatorView(r, versions[r.id], assigned.get(r.id, [])) for r in rows if r.id in versions]


async def fetch_evaluator(storage: Storage, project_id: str, evaluator_id: str) -> Evaluator:
    row = await repo.fetch_evaluator(storage.postgres, project_id, evaluator_id)
    if row is None:
        raise NotFound(f"no evaluator {evaluator_id!r} in this project")
    return row


async def get_evaluator(storage: Storage, project_id: str, evaluator_id: str) -> EvaluatorView:
    """The evaluator with its newest version and rule assignments; NotFound outside the project."""
    views = await _views(storage, project_id, [await fetch_evaluator(storage, project_id, evaluator_id)])
    if not views:
        raise NotFound(f"no evaluator {evaluator_id!r} in this project")
    return views[0]


async def latest_version(storage: Storage, project_id: str, evaluator_id: str) -> EvaluatorVersion:
    """The evaluator's newest version (what rules judge with); NotFound outside the project."""
    versions = await repo.latest_versions(storage.postgres, project_id, [evaluator_id])
    if evaluator_id not in versions:
        raise NotFound(f"no evaluator {evaluator_id!r} in this project")
    return versions[evaluator_id]


async def fetch_version(storage: Storage, project_id: str, version_id: str) -> EvaluatorVersion:
    found = await repo.fetch_version(storage.postgres, project_id, version_id)
    if found is None:
        raise NotFound(f"no evaluator version {version_id!r} in this project")
    return found


async def list_evaluators(
    storage: Storage, project_id: str, limit: int = 50, cursor: str | None = None
) -> tuple[list[EvaluatorView], str | None]:
    """Evaluators newest first; the cursor of the next page (None on the last)."""
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidInput(f"limit: 1 to {MAX_PAGE_SIZE}")
    rows = await repo.list_evaluators_page(storage.postgres, project_id, limit + 1, time_keyset(cursor))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = time_cursor(rows[-1].created_at, rows[-1].id)
    return await _views(storage, project_id, rows), next_cursor


async def list_versions(
    storage: Storage, project_id: str, evaluator_id: str, limit: int = 50, cursor: str | None = None
) -> tuple[list[EvaluatorVersion], str | None]:
    """An evaluator's versions newest first; the cursor of the next page (None on the last)."""
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidInput(f"limit: 1 to {MAX_PAGE_SIZE}")
    await fetch_evaluator(storage, project_id, evaluator_id)
    before = decode_cursor(cursor)[0] if cursor else None
    rows = await repo.list_versions_page(storage.postgres, project_id, evaluator_id, limit + 1, before)
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(rows[-1].version, evaluator_id)
    return rows, next_cursor


async def create_evaluator(
    storage: Storage, project_id: str, name: object, description: object, definition: EvaluatorDefinition
) -> EvaluatorView:
    """A new evaluator at version 1; InvalidInput names the field at fault, Conflict a taken name."""
    valid_name, valid_description = check_name(name), check_description(description)
    valid = await _checked(storage, project_id, definition)
    row = Evaluator(project_id=project_id, name=valid_name, description=valid_description, type=valid.type)
    version = _version(project_id, row.id, 1, valid)
    saved = await repo.insert_evaluator(storage.postgres, row, version)
    return EvaluatorView(saved, version, [])


async def update_evaluator(
    storage: Storage, project_id: str, evaluator_id: str, change: EvaluatorChange
) -> EvaluatorView:
    """Apply the change; a definition that differs from the newest version makes a new version, and
    cures a pause caused by the model or connection it named."""
    row = await fetch_evaluator(storage, project_id, evaluator_id)
    if change.name is not None:
        row.name = check_name(change.name)
    if change.description_set:
        row.description = check_description(change.description)
    new_version = None
    if change.definition is not None:
        definition = change.definition
        if not definition.type:  # omitted: the evaluator's own
            definition = replace(definition, type=row.type)
        if definition.type != row.type:
            raise InvalidInput(f"type: the type of an evaluator cannot change (it is {row.type})")
        valid = await _checked(storage, project_id, definition)
        latest = await latest_version(storage, project_id, evaluator_id)
        if not _same(latest, valid):
            new_version = _version(project_id, row.id, latest.version + 1, valid)
            if pause_parts(row)[0] in CURED_BY_NEW_DEFINITION:
                row.status, row.pause_reason, row.paused_at = "active", None, None
    await repo.save_evaluator(storage.postgres, row, new_version)
    return await get_evaluator(storage, project_id, evaluator_id)


async def delete_evaluator(storage: Storage, project_id: str, evaluator_id: str) -> None:
    """Delete the evaluator, its versions and its rule assignments (its scores stay)."""
    if not await repo.delete_evaluator(storage.postgres, project_id, evaluator_id):
        raise NotFound(f"no evaluator {evaluator_id!r} in this project")


async def pause(
    storage: Storage, project_id: str, evaluator_id: str, reason: str, code: PauseCode = "provider_error"
) -> Evaluator:
    """Pause the evaluator (its executions stop running) with a reason shown in the UI and API."""
    text = f"{code}: {reason.strip()[:2000]}"
    row = await repo.set_status(storage.postgres, project_id, evaluator_id, "paused", text)
    if row is None:
        raise NotFound(f"no evaluator {evaluator_id!r} in this project")
    return row


async def resume(storage: Storage, project_id: str, evaluator_id: str) -> Evaluator:
    """Make a paused evaluator active again."""
    row = await repo.set_status(storage.postgres, project_id, evaluator_id, "active", None)
    if row is None:
        raise NotFound(f"no evaluator {evaluator_id!r} in this project")
    return row


async def pause_for_connection(storage: Storage, project_id: str, connection_name: str) -> list[str]:
    """Pause the active evaluators whose newest version uses this connection (it is being deleted)."""
    ids = await repo.evaluators_using_connection(storage.postgres, project_id, connection_name)
    for evaluator_id in ids:
        reason = f"its LLM connection {connection_name!r} was deleted; choose another model"
        await pause(storage, project_id, evaluator_id, reason, "connection_missing")
    return ids


@dataclass(frozen=True, slots=True)
class JudgeModel:
    """The connection and model a version judges with."""

    connection_id: str
    connection_name: str
    model: str
    params: dict[str, Any]


async def judge_model(storage: Storage, project_id: str, version: EvaluatorVersion) -> JudgeModel | None:
    """The version's own model, else the project's default; None when neither is set or the connection
    it names is gone (the caller pauses the evaluator with `connection_missing`)."""
    own = version.judge_model if isinstance(version.judge_model, dict) else None
    if own is None:
        default = await eval_settings.default_model(storage, project_id)
        return (
            None
            if default is None
            else JudgeModel(default.connection_id, default.connection_name, default.model, {})
        )
    named = [
        c
        for c in await llm_connections.list_connections(storage.postgres, project_id)
        if c.name == own["provider"]
    ]
    if not named:
        return None
    params = own.get("modelParams")
    return JudgeModel(
        named[0].id, named[0].name, str(own["model"]), dict(params) if isinstance(params, dict) else {}
    )

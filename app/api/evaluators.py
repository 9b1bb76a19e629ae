"""/api/public/v2/evaluators: create, list, read, change and delete evaluators and list their versions,
in the shapes the Langfuse 5.x SDK sends and parses (definition fields flattened into the evaluator)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, delete, get, patch, post
from litestar.datastructures import State
from litestar.params import Parameter

from app.errors import InvalidInput
from app.evaluation import evaluators
from app.evaluation.evaluator_specs import OUTPUT_TYPES, EvaluatorDefinition
from app.evaluation.evaluators import MAX_PAGE_SIZE, EvaluatorChange, EvaluatorView
from app.http_json import ApiDoc, json_body
from app.storage.postgres.eval_tables import EvaluatorVersion

DEFINITION_FIELDS = (
    "prompt",
    "modelConfig",
    "variableMapping",
    "outputDefinition",
    "sourceCode",
    "sourceCodeLanguage",
)
_BODY_PROPERTIES: dict[str, Any] = {
    "type": {"type": "string", "enum": ["llm_as_judge", "code"]},
    "name": {"type": "string"},
    "description": {"type": ["string", "null"]},
    "prompt": {"description": "A user prompt string or a list of {role, content}; variables as {{name}}."},
    "modelConfig": {"type": ["object", "null"], "description": "{provider (a connection), model}"},
    "variableMapping": {"type": ["array", "null"]},
    "outputDefinition": {"type": "object", "properties": {"dataType": {"enum": list(OUTPUT_TYPES)}}},
    "sourceCode": {"type": "string"},
    "sourceCodeLanguage": {"type": "string", "enum": ["PYTHON"]},
}
CREATE = ApiDoc(
    body={"type": "object", "required": ["name"], "properties": _BODY_PROPERTIES},
    errors={400: "Invalid definition (the message names the field), or code evaluators disabled."},
)
UPDATE = ApiDoc(body={"type": "object", "properties": _BODY_PROPERTIES})


def _definition(body: dict[str, Any], kind: str) -> EvaluatorDefinition:
    return EvaluatorDefinition(
        type=kind,
        prompt=body.get("prompt"),
        model_config=body.get("modelConfig"),
        variable_mapping=body.get("variableMapping"),
        output_definition=body.get("outputDefinition"),
        source_code=body.get("sourceCode"),
        source_code_language=body.get("sourceCodeLanguage"),
    )


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise InvalidInput("body: must be a JSON object")
    kind = body.get("type", "llm_as_judge")
    if not isinstance(kind, str):
        raise InvalidInput("type: llm_as_judge or code")
    return body


def change_of(body: Any) -> EvaluatorChange:
    """A PATCH body as a change: metadata, and a complete new definition when any definition field is
    present (its `type`, when omitted, is the evaluator's)."""
    body = _object(body)
    has_definition = any(k in body for k in DEFINITION_FIELDS)
    if not has_definition and "name" not in body and "description" not in body:
        raise InvalidInput("body: give name, description, or a complete definition to change")
    if "name" in body and body["name"] is None:
        raise InvalidInput("name: cannot be null")
    return EvaluatorChange(
        name=body.get("name"),
        description=body.get("description"),
        description_set="description" in body,
        definition=_definition(body, str(body.get("type") or "")) if has_definition else None,
    )


def _mapping(value: object) -> list[dict[str, Any]] | None:
    if not isinstance(value, list):
        return None
    return [
        {"variable": m.get("variable"), "source": m.get("source"), "jsonPath": m.get("jsonPath")}
        for m in value
        if isinstance(m, dict)
    ]


def _model(value: object) -> dict[str, Any] | None:
    return dict(value) if isinstance(value, dict) else None


def definition_json(v: EvaluatorVersion) -> dict[str, Any]:
    """A version's definition fields as the SDK reads them."""
    if v.source_code is not None:
        return {"type": "code", "sourceCode": v.source_code, "sourceCodeLanguage": v.source_code_language}
    return {
        "type": "llm_as_judge",
        "prompt": v.prompt,
        "variables": v.variables,
        "variableMapping": _mapping(v.variable_mapping),
        "modelConfig": _model(v.judge_model),
        "outputDefinition": v.output_definition,
    }


def version_json(v: EvaluatorVersion) -> dict[str, Any]:
    return {
        **definition_json(v),
        "id": v.id,
        "version": v.version,
        "createdAt": v.created_at.isoformat(),
        "createdBy": None,
    }


def evaluator_json(view: EvaluatorView) -> dict[str, Any]:
    """An evaluator with its newest version flattened in, as the SDK reads it."""
    e, v = view.evaluator, view.version
    assignments = []
    for a in view.assignments:
        entry: dict[str, Any] = {"evaluationRuleId": a.rule_id}
        if (mapping := _mapping(a.variable_mapping)) is not None:
            entry["variableMappingOverride"] = mapping
        assignments.append(entry)
    return {
        **definition_json(v),
        "id": e.id,
        "name": e.name,
        "description": e.description,
        "createdBy": None,
        "status": e.status,
        "pausedAt": e.paused_at.isoformat() if e.paused_at else None,
        "pausedReason": view.pause_code,
        "pausedMessage": view.pause_message,
        "evaluationRuleAssignments": assignments,
        "createdAt": e.created_at.isoformat(),
        "updatedAt": e.updated_at.isoformat(),
        "versionId": v.id,
        "version": v.version,
        "versionCreatedAt": v.created_at.isoformat(),
        "versionCreatedBy": None,
    }


def _page(data: list[dict[str, Any]], next_cursor: str | None) -> dict[str, Any]:
    return {"data": data, "meta": {"cursor": next_cursor} if next_cursor else {}}


@post("/v2/evaluators", status_code=201, opt=CREATE.opt)
async def create_evaluator(request: Request[Any, Any, State]) -> dict[str, Any]:
    body = _object(await json_body(request))
    definition = _definition(body, str(body.get("type", "llm_as_judge")))
    view = await evaluators.create_evaluator(
        request.app.state.storage,
        request.state.caller.project_id,
        body.get("name"),
        body.get("description"),
        definition,
    )
    return evaluator_json(view)


@get("/v2/evaluators")
async def list_evaluators(
    request: Request[Any, Any, State],
    limit: Annotated[int, Parameter(ge=1, le=MAX_PAGE_SIZE)] = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    storage, project_id = request.app.state.storage, request.state.caller.project_id
    views, next_cursor = await evaluators.list_evaluators(storage, project_id, limit, cursor)
    return _page([evaluator_json(v) for v in views], next_cursor)


@get("/v2/evaluators/{evaluator_id:str}")
async def get_evaluator(request: Request[Any, Any, State], evaluator_id: str) -> dict[str, Any]:
    storage, project_id = request.app.state.storage, request.state.caller.project_id
    return evaluator_json(await evaluators.get_evaluator(storage, project_id, evaluator_id))


@patch("/v2/evaluators/{evaluator_id:str}", opt=UPDATE.opt)
async def update_evaluator(request: Request[Any, Any, State], evaluator_id: str) -> dict[str, Any]:
    change = change_of(await json_body(request))
    storage, project_id = request.app.state.storage, request.state.caller.project_id
    return evaluator_json(await evaluators.update_evaluator(storage, project_id, evaluator_id, change))


@delete("/v2/evaluators/{evaluator_id:str}", status_code=200)
async def delete_evaluator(request: Request[Any, Any, State], evaluator_id: str) -> dict[str, Any]:
    storage, project_id = request.app.state.storage, request.state.caller.project_id
    await evaluators.delete_evaluator(storage, project_id, evaluator_id)
    return {"id": evaluator_id}


@get("/v2/evaluators/{evaluator_id:str}/versions")
async def list_versions(
    request: Request[Any, Any, State],
    evaluator_id: str,
    limit: Annotated[int, Parameter(ge=1, le=MAX_PAGE_SIZE)] = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    storage, project_id = request.app.state.storage, request.state.caller.project_id
    rows, next_cursor = await evaluators.list_versions(storage, project_id, evaluator_id, limit, cursor)
    return _page([version_json(v) for v in rows], next_cursor)


EVALUATOR_ROUTES = [
    create_evaluator,
    list_evaluators,
    get_evaluator,
    update_evaluator,
    delete_evaluator,
    list_versions,
]

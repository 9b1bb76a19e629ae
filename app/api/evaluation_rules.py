"""/api/public/v2/evaluation-rules: rules that pick what the project's evaluators judge, in the shapes
langfuse 5.2.0's `evaluation_rules` client sends and parses. Beyond Langfuse, a rule also takes `target`
(observation | trace | session), `delaySeconds` and `sessionIdleMinutes`; the SDK ignores them."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, delete, get, patch, post
from litestar.datastructures import State
from litestar.params import Parameter

from app.api.paging import MAX_LIMIT
from app.api.shared import iso, project_scope
from app.errors import InvalidInput
from app.evaluation import rules
from app.evaluation.rules import RulePatch, RuleSpec
from app.http_json import ApiDoc, json_body
from app.storage.postgres.eval_tables import EvaluationRule

MAPPING = {
    "type": ["array", "null"],
    "items": {
        "type": "object",
        "required": ["variable", "source"],
        "properties": {
            "variable": {"type": "string"},
            "source": {
                "enum": [
                    "input",
                    "output",
                    "metadata",
                    "tool_calls",
                    "expected_output",
                    "experiment_item_metadata",
                ]
            },
            "jsonPath": {"type": ["string", "null"]},
        },
    },
}
RULE_FIELDS = {
    "name": {"type": "string", "minLength": 1, "maxLength": 255},
    "enabled": {"type": "boolean"},
    "sampling": {"type": "number", "minimum": 0, "maximum": 1},
    "filter": {"type": "array", "items": {"type": "object", "description": "An SDK EvaluationRuleFilter."}},
    "evaluatorAssignments": {
        "type": "array",
        "items": {
            "type": "object",
            "required": ["evaluatorId"],
            "properties": {"evaluatorId": {"type": "string"}, "variableMapping": MAPPING},
        },
    },
    "target": {
        "enum": ["observation", "trace", "session"],
        "description": "What is judged (default observation).",
    },
    "delaySeconds": {"type": "number", "minimum": 0, "description": "Wait before judging (default 10)."},
    "sessionIdleMinutes": {
        "type": ["number", "null"],
        "description": "Session target: judged once idle this long.",
    },
}
CREATE = ApiDoc(
    body={
        "type": "object",
        "required": ["name", "enabled", "evaluatorAssignments"],
        "properties": RULE_FIELDS,
    },
    errors={404: "An assigned evaluator is not in the project."},
)
UPDATE = ApiDoc(body={"type": "object", "properties": RULE_FIELDS}, errors={404: "No such rule."})
ONE = ApiDoc(errors={404: "No such rule."})


def rule_json(rule: EvaluationRule) -> dict[str, Any]:
    """A rule as the SDK's `EvaluationRule` parses it (plus our target, delay and idle time)."""
    return {
        "id": rule.id,
        "name": rule.name,
        "createdBy": None,
        "enabled": rule.enabled,
        "sampling": rule.sampling,
        "filter": rule.filter,
        "evaluatorAssignments": [
            {"evaluatorId": a.get("evaluatorId"), "variableMapping": a.get("variableMapping")}
            for a in rule.evaluator_assignments
        ],
        "target": rule.target,
        "delaySeconds": rule.delay_seconds,
        "sessionIdleMinutes": rule.session_idle_minutes,
        "createdAt": iso(rule.created_at),
        "updatedAt": iso(rule.updated_at),
    }


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise InvalidInput("body: must be a JSON object")
    return body


def _bool(body: dict[str, Any], name: str) -> bool | None:
    value = body.get(name)
    if value is not None and not isinstance(value, bool):
        raise InvalidInput(f"{name}: must be true or false")
    return value


def _present_number(body: dict[str, Any], name: str) -> Any:
    """A number field: absent → None; an explicit null is refused (the SDK's contract)."""
    if name in body and body[name] is None:
        raise InvalidInput(f"{name}: null is not accepted; omit it for the default")
    return body.get(name)


def rule_spec(body: Any) -> RuleSpec:
    body = _object(body)
    enabled = _bool(body, "enabled")
    if enabled is None:
        raise InvalidInput("enabled: required (true or false)")
    if "evaluatorAssignments" not in body:
        raise InvalidInput("evaluatorAssignments: required")
    sampling, delay = _present_number(body, "sampling"), _present_number(body, "delaySeconds")
    return RuleSpec(
        name=body.get("name"),  # checked by the domain
        enabled=enabled,
        evaluator_assignments=body["evaluatorAssignments"],
        filter=body.get("filter") or [],
        sampling=1.0 if sampling is None else sampling,
        target=body.get("target") or "observation",
        delay_seconds=rules.DEFAULT_DELAY_S if delay is None else delay,
        session_idle_minutes=body.get("sessionIdleMinutes"),
    )


def rule_patch(body: Any) -> RulePatch:
    body = _object(body)
    return RulePatch(
        name=body.get("name"),
        enabled=_bool(body, "enabled"),
        evaluator_assignments=body.get("evaluatorAssignments"),
        filter=body.get("filter"),
        sampling=_present_number(body, "sampling"),
        target=body.get("target"),
        delay_seconds=_present_number(body, "delaySeconds"),
        session_idle_minutes=body.get("sessionIdleMinutes"),
    )


@post("/v2/evaluation-rules", status_code=201, opt=CREATE.opt)
async def create_rule(request: Request[Any, Any, State]) -> dict[str, Any]:
    spec = rule_spec(await json_body(request))
    storage, project_id = project_scope(request)
    return rule_json(await rules.create_rule(storage, project_id, spec))


@get("/v2/evaluation-rules")
async def list_rules(
    request: Request[Any, Any, State],
    limit: Annotated[int, Parameter(ge=1, le=MAX_LIMIT)] = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    """Rules newest first, in cursor pages."""
    storage, project_id = project_scope(request)
    found, nxt = await rules.list_rules_page(storage, project_id, limit, cursor)
    meta = {} if nxt is None else {"cursor": nxt}
    return {"data": [rule_json(r) for r in found], "meta": meta}


@get("/v2/evaluation-rules/{rule_id:str}", opt=ONE.opt)
async def get_rule(request: Request[Any, Any, State], rule_id: str) -> dict[str, Any]:
    storage, project_id = project_scope(request)
    return rule_json(await rules.fetch_rule(storage, project_id, rule_id))


@patch("/v2/evaluation-rules/{rule_id:str}", opt=UPDATE.opt)
async def update_rule(request: Request[Any, Any, State], rule_id: str) -> dict[str, Any]:
    change = rule_patch(await json_body(request))
    storage, project_id = project_scope(request)
    return rule_json(await rules.update_rule(storage, project_id, rule_id, change))


@delete("/v2/evaluation-rules/{rule_id:str}", status_code=200, opt=ONE.opt)
async def delete_rule(request: Request[Any, Any, State], rule_id: str) -> dict[str, Any]:
    storage, project_id = project_scope(request)
    await rules.delete_rule(storage, project_id, rule_id)
    return {"id": rule_id}


EVALUATION_RULE_ROUTES = [create_rule, list_rules, get_rule, update_rule, delete_rule]

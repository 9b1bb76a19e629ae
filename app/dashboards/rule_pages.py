"""Evaluation rule pages: the list (enabled toggle, executions per status), create and edit with a filter
builder, sampling, delay, target and evaluator assignments with variable mapping, and delete.

Forms come back with inline errors and what was typed kept. Rules come from app.evaluation.rules; the
evaluators offered are the project's, each with its newest version's variables.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from litestar import Request, get, post
from litestar.datastructures import State
from litestar.response import Redirect, Template

from app.auth.caller import Caller
from app.dashboards.deps import UiSession, form_lists, page, requires_member
from app.dashboards.forms import Fields
from app.dashboards.params import url
from app.errors import UserError
from app.evaluation import rules
from app.evaluation.judge_inputs import resolve_variables
from app.evaluation.judge_types import MAPPING_SOURCES, JudgeTarget, variable_maps
from app.evaluation.rule_filters import COLUMN_TYPES, OPERATORS, OPTION_VALUES
from app.evaluation.rules import RulePatch, RuleSpec
from app.storage import Storage
from app.storage.postgres import evaluation_rules as rule_repo
from app.storage.postgres import executions
from app.storage.postgres.eval_tables import EvaluationRule
from app.storage.postgres.tables import Role

BLANK_FILTER_ROWS = 2
RULES_PAGE = 100  # rules a page of the list shows
STATUSES = ("PENDING", "DELAYED", "RUNNING", "COMPLETED", "ERROR", "CANCELLED")
RULE_FIELDS = Fields(
    {
        "name": "Name",
        "target": "Judge",
        "sampling": "Sampling",
        "delay_seconds": "Delay before judging",
        "session_idle_minutes": "Session idle time",
        "filter": "Filter",
        "evaluators": "Evaluators",
    },
    names={
        "delaySeconds": "delay_seconds",
        "sessionIdleMinutes": "session_idle_minutes",
        "evaluatorAssignments": "evaluators",
    },
)


@dataclass
class FilterRow:
    column: str = ""
    operator: str = ""
    key: str = ""
    value: str = ""


@dataclass
class RuleDraft:
    """The rule form as typed: strings, so an invalid value comes back as it was."""

    name: str = ""
    enabled: bool = True
    target: str = "observation"
    sampling: str = "1"
    delay_seconds: str = "10"
    session_idle_minutes: str = ""
    filters: list[FilterRow] = field(default_factory=list)
    evaluators: list[str] = field(default_factory=list)
    mapping: dict[str, dict[str, tuple[str, str]]] = field(default_factory=dict)  # ev → var → (source, path)
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, rule: EvaluationRule) -> RuleDraft:
        draft = cls(
            name=rule.name,
            enabled=rule.enabled,
            target=rule.target,
            sampling=f"{rule.sampling:g}",
            delay_seconds=f"{rule.delay_seconds:g}",
            session_idle_minutes=""
            if rule.session_idle_minutes is None
            else f"{rule.session_idle_minutes:g}",
        )
        for f in rule.filter:
            shown = _shown(f.get("value"))
            draft.filters.append(
                FilterRow(str(f["column"]), str(f["operator"]), str(f.get("key") or ""), shown)
            )
        for a in rule.evaluator_assignments:
            evaluator_id = str(a.get("evaluatorId"))
            draft.evaluators.append(evaluator_id)
            mapping = a.get("variableMapping")
            if isinstance(mapping, list):
                draft.mapping[evaluator_id] = {
                    str(m["variable"]): (str(m.get("source") or ""), str(m.get("jsonPath") or ""))
                    for m in mapping
                }
        return draft


def _shown(value: object) -> str:
    """A stored filter value as the form shows it (the inverse of _filter_value)."""
    if isinstance(value, list):
        return ", ".join(map(str, value))
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:g}"
    return "" if value is None else str(value)


def _filter_value(column: str, text: str) -> object:
    """A typed filter value from its text (the domain checks it); lists are comma-separated."""
    ftype = COLUMN_TYPES.get(column, "")
    text = text.strip()
    if ftype in ("stringOptions", "arrayOptions"):
        return [v.strip() for v in text.split(",") if v.strip()]
    if ftype == "number":
        try:
            return float(text)
        except ValueError:
            return text
    if ftype == "boolean":
        return {"true": True, "false": False}.get(text.lower(), text)
    return text


def draft_from_form(form: dict[str, list[str]]) -> RuleDraft:
    def one(name: str, default: str = "") -> str:
        return (form.get(name) or [default])[0]

    draft = RuleDraft(
        name=one("name"),
        enabled=one("enabled") == "on",
        target=one("target", "observation"),
        sampling=one("sampling", "1"),
        delay_seconds=one("delay_seconds", "10"),
        session_idle_minutes=one("session_idle_minutes"),
        evaluators=form.get("evaluator", []),
    )
    columns, operators = form.get("f_column", []), form.get("f_operator", [])
    keys, values = form.get("f_key", []), form.get("f_value", [])
    for i, column in enumerate(columns):
        if column:
            at = (operators, keys, values)
            draft.filters.append(FilterRow(column, *(lst[i] if i < len(lst) else "" for lst in at)))
    for name, vals in form.items():
        parts = name.split(":")
        if len(parts) == 4 and parts[0] == "map":
            _, evaluator_id, variable, part = parts
            source, path = draft.mapping.setdefault(evaluator_id, {}).get(variable, ("", ""))
            if part == "source":
                source = vals[0]
            elif part == "path":
                path = vals[0]
            draft.mapping[evaluator_id][variable] = (source, path)
    return draft


def _number(text: str) -> object:
    try:
        return float(text)
    except ValueError:
        return text  # the domain names the field


def spec_parts(draft: RuleDraft) -> dict[str, Any]:
    filters = [
        {
            "type": COLUMN_TYPES.get(f.column),
            "column": f.column,
            "operator": f.operator,
            **({"key": f.key} if COLUMN_TYPES.get(f.column) == "stringObject" else {}),
            "value": _filter_value(f.column, f.value),
        }
        for f in draft.filters
    ]
    assignments = []
    for evaluator_id in draft.evaluators:
        given = {v: sp for v, sp in draft.mapping.get(evaluator_id, {}).items() if sp[0]}
        mapping = [{"variable": v, "source": s, "jsonPath": p.strip() or None} for v, (s, p) in given.items()]
        assignments.append({"evaluatorId": evaluator_id, "variableMapping": mapping or None})
    idle = draft.session_idle_minutes.strip()
    return {
        "name": draft.name,
        "enabled": draft.enabled,
        "evaluator_assignments": assignments,
        "filter": filters,
        "sampling": _number(draft.sampling),
        "target": draft.target,
        "delay_seconds": _number(draft.delay_seconds),
        "session_idle_minutes": _number(idle) if idle else None,
    }


async def _form_page(
    session: UiSession, storage: Storage, draft: RuleDraft, rule: EvaluationRule | None, status: int = 200
) -> Template:
    heads = await rule_repo.evaluator_heads(storage.postgres, session.caller.project_id)
    response = page(
        session,
        "rule_form.html",
        draft=draft,
        rule=rule,
        evaluators=sorted(heads.values(), key=lambda h: h.name),
        columns=COLUMN_TYPES,
        operators=OPERATORS,
        option_values=OPTION_VALUES,
        sources=MAPPING_SOURCES,
        targets=rules.TARGETS,
        blank_rows=BLANK_FILTER_ROWS,
        can_write=session.caller.role.at_least(Role.MEMBER),
    )
    response.status_code = status
    return response


@get("/evaluation/rules")
async def rules_page(session: UiSession, storage: Storage, after: str | None = None) -> Template:
    """The project's rules, newest first, 100 a page (`after` a cursor), with their executions counted
    by status."""
    project_id = session.caller.project_id
    found, nxt = await rules.list_rules_page(storage, project_id, RULES_PAGE, after)
    heads = await rule_repo.evaluator_heads(storage.postgres, project_id)
    counts = await executions.counts_by_rule(storage.postgres, project_id)
    return page(
        session,
        "rules.html",
        rules=found,
        names={k: h.name for k, h in heads.items()},
        counts=counts,
        statuses=STATUSES,
        can_write=session.caller.role.at_least(Role.MEMBER),
        first_page=after is not None,
        next_url=url("/evaluation/rules", {"after": nxt}) if nxt else None,
    )


@get("/evaluation/rules/new", guards=[requires_member])
async def rule_new_page(session: UiSession, storage: Storage) -> Template:
    return await _form_page(session, storage, RuleDraft(), None)


@post("/evaluation/rules", guards=[requires_member])
async def rule_create(
    request: Request[Any, Any, State], session: UiSession, storage: Storage
) -> Template | Redirect:
    draft = draft_from_form(await form_lists(request))
    try:
        created = await rules.create_rule(storage, session.caller.project_id, RuleSpec(**spec_parts(draft)))
    except UserError as exc:
        draft.errors = RULE_FIELDS.errors(exc)
        return await _form_page(session, storage, draft, None, exc.status)
    return Redirect(f"/evaluation/rules/{created.id}")


@dataclass(frozen=True, slots=True)
class PreviewRow:
    evaluator: str
    values: dict[str, str]
    error: str | None = None


def preview_target(target: str, q: dict[str, list[str]]) -> JudgeTarget | None:
    """The target the form names for the preview (None until its ids are given)."""

    def one(name: str) -> str | None:
        return ((q.get(name) or [""])[0]).strip() or None

    trace_id, observation_id, session_id = (
        one("preview_trace"),
        one("preview_observation"),
        one("preview_session"),
    )
    if target == "session":
        return JudgeTarget("session", session_id=session_id) if session_id else None
    if target == "trace":
        return JudgeTarget("trace", trace_id=trace_id) if trace_id else None
    return JudgeTarget("observation", trace_id, observation_id) if observation_id else None


@get("/evaluation/rules/preview")
async def rule_preview(request: Request[Any, Any, State], session: UiSession, storage: Storage) -> Template:
    """The values each selected evaluator's variables would get on a chosen target, as the form maps them
    now (htmx fragment; nothing is saved)."""
    q = {k: request.query_params.getall(k) for k in request.query_params}
    draft = draft_from_form(q)
    target = preview_target(draft.target, q)
    rows: list[PreviewRow] = []
    if target is not None:
        heads = await rule_repo.evaluator_heads(storage.postgres, session.caller.project_id, draft.evaluators)
        assignments = spec_parts(draft)["evaluator_assignments"]
        for a in assignments:
            head = heads.get(a["evaluatorId"])
            if head is None:
                continue
            mapping = variable_maps(a["variableMapping"] or head.variable_mapping)
            try:
                values = await resolve_variables(
                    storage, session.caller.project_id, target, mapping, head.variables
                )
            except UserError as exc:
                rows.append(PreviewRow(head.name, {}, str(exc)))
            else:
                rows.append(PreviewRow(head.name, values))
    return Template("_rule_preview.html", context={"rows": rows, "target": target})


@get("/evaluation/rules/{rule_id:str}")
async def rule_page(session: UiSession, storage: Storage, rule_id: str) -> Template:
    rule = await rules.fetch_rule(storage, session.caller.project_id, rule_id)
    return await _form_page(session, storage, RuleDraft.of(rule), rule)


@post("/evaluation/rules/{rule_id:str}", guards=[requires_member])
async def rule_update(
    request: Request[Any, Any, State], session: UiSession, storage: Storage, rule_id: str
) -> Template | Redirect:
    rule = await rules.fetch_rule(storage, session.caller.project_id, rule_id)
    draft = draft_from_form(await form_lists(request))
    parts = spec_parts(draft)
    try:
        if parts["session_idle_minutes"] is None and parts["target"] == "session":
            parts["session_idle_minutes"] = rules.DEFAULT_SESSION_IDLE_MIN
        await rules.update_rule(storage, session.caller.project_id, rule_id, RulePatch(**parts))
    except UserError as exc:
        draft.errors = RULE_FIELDS.errors(exc)
        return await _form_page(session, storage, draft, rule, exc.status)
    return Redirect(f"/evaluation/rules/{rule_id}")


@post("/evaluation/rules/{rule_id:str}/toggle", guards=[requires_member])
async def rule_toggle(caller: Caller, storage: Storage, rule_id: str) -> Redirect:
    """Enable a disabled rule or disable an enabled one."""
    rule = await rules.fetch_rule(storage, caller.project_id, rule_id)
    await rules.update_rule(storage, caller.project_id, rule_id, RulePatch(enabled=not rule.enabled))
    return Redirect("/evaluation/rules")


@post("/evaluation/rules/{rule_id:str}/delete", guards=[requires_member])
async def rule_delete(caller: Caller, storage: Storage, rule_id: str) -> Redirect:
    await rules.delete_rule(storage, caller.project_id, rule_id)
    return Redirect("/evaluation/rules")


RULE_ROUTES = [
    rules_page,
    rule_new_page,
    rule_create,
    rule_preview,
    rule_page,
    rule_update,
    rule_toggle,
    rule_delete,
]

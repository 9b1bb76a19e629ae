"""Evaluator pages: the list (status and pause reasons), a new evaluator (blank or from a built-in
template), an evaluator's page (edit: a new version; versions; pause, resume, delete) and the project's
evaluation settings (default judge model, daily cost cap, code evaluators; admins change them)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from litestar import Request, get, post
from litestar.datastructures import State
from litestar.response import Redirect, Template

from app.auth.caller import Caller
from app.dashboards.deps import UiSession, form_lists, page, requires_admin, requires_member
from app.dashboards.forms import Fields, refused
from app.dashboards.params import query
from app.errors import InvalidInput, UserError
from app.evaluation import eval_settings, judge_templates
from app.evaluation import evaluators as ev
from app.evaluation.evaluator_specs import (
    MAPPING_SOURCES,
    OUTPUT_TYPES,
    ROLES,
    EvaluatorDefinition,
    prompt_variables,
)
from app.playground import connections
from app.storage import Storage
from app.storage.postgres.eval_tables import EvaluatorVersion
from app.storage.postgres.tables import Role

EVALUATOR_FIELDS = Fields(
    {
        "name": "Name",
        "description": "Description",
        "type": "Type",
        "source_code": "Source",
        "prompt": "Prompt",
        "mapping": "Variables",
        "connection": "Connection",
        "model": "Model",
        "data_type": "Score type",
        "min_value": "Min",
        "max_value": "Max",
        "categories": "Categories",
    },
    names={
        "sourceCode": "source_code",
        "variableMapping": "mapping",
        "modelConfig": "model",
        "modelConfig.provider": "connection",
        "outputDefinition": "data_type",
        "outputDefinition.dataType": "data_type",
        "outputDefinition.minValue": "min_value",
        "outputDefinition.maxValue": "max_value",
        "outputDefinition.categories": "categories",
        "outputDefinition.shouldAllowMultipleMatches": "categories",
    },
)
SETTINGS_FIELDS = Fields(
    {"connection": "Connection", "model": "Model", "cap": "Daily judge-cost cap"},
    names={"defaultConnectionId": "connection", "defaultModel": "model", "dailyCostCapUsd": "cap"},
)
BLANK_PROMPT = [
    {"role": "system", "content": judge_templates.JUDGE_SYSTEM},
    {"role": "user", "content": "Input:\n{{input}}\n\nOutput:\n{{output}}\n\nJudge the output."},
]


@dataclass
class Draft:
    """What the evaluator form shows: a stored version, a template, or what was posted (kept on error)."""

    name: str = ""
    description: str = ""
    type: str = "llm_as_judge"
    messages: list[dict[str, str]] = field(default_factory=lambda: [dict(m) for m in BLANK_PROMPT])
    connection: str = ""  # a connection's name; "" = the project's default model
    model: str = ""
    mapping: dict[str, tuple[str, str]] = field(default_factory=dict)  # variable → (source, jsonPath)
    data_type: str = "NUMERIC"
    min_value: str = "0"
    max_value: str = "1"
    categories: str = ""
    multiple: bool = False
    reasoning: str = ""
    value_hint: str = ""
    source_code: str = ""
    template_key: str = ""

    @property
    def variables(self) -> list[str]:
        return prompt_variables([m for m in self.messages if m["content"].strip()])

    @classmethod
    def of_version(cls, name: str, description: str | None, kind: str, v: EvaluatorVersion) -> Draft:
        out: dict[str, Any] = v.output_definition if isinstance(v.output_definition, dict) else {}
        model: dict[str, Any] = v.judge_model if isinstance(v.judge_model, dict) else {}
        mapping = v.variable_mapping if isinstance(v.variable_mapping, list) else []
        return cls(
            name=name,
            description=description or "",
            type=kind,
            messages=[dict(m) for m in v.prompt] if isinstance(v.prompt, list) else [],
            connection=str(model.get("provider") or ""),
            model=str(model.get("model") or ""),
            mapping={m["variable"]: (m["source"], m.get("jsonPath") or "") for m in mapping},
            data_type=str(out.get("dataType") or "NUMERIC"),
            min_value=_text(out.get("minValue")),
            max_value=_text(out.get("maxValue")),
            categories=", ".join(out.get("categories") or []),
            multiple=bool(out.get("shouldAllowMultipleMatches")),
            reasoning=str(out.get("scoreReasoningInstructions") or ""),
            value_hint=str(out.get("scoreValueInstructions") or ""),
            source_code=v.source_code or "",
        )

    @classmethod
    def of_template(cls, key: str) -> Draft:
        t = judge_templates.get_template(key)
        d = cls.of_version(t.key, t.description, "llm_as_judge", _template_version(t))
        d.template_key = key
        return d

    @classmethod
    def posted(cls, form: dict[str, list[str]]) -> Draft:
        def one(key: str) -> str:
            return (form.get(key) or [""])[0]

        roles, contents = form.get("msg_role", []), form.get("msg_content", [])
        paths = form.get("map_path", [])
        mapping = {
            var: (src, paths[i] if i < len(paths) else "")
            for i, (var, src) in enumerate(
                zip(form.get("map_variable", []), form.get("map_source", []), strict=False)
            )
            if src
        }
        return cls(
            name=one("name"),
            description=one("description"),
            type=one("type") or "llm_as_judge",
            messages=[{"role": r, "content": c} for r, c in zip(roles, contents, strict=False) if c.strip()],
            connection=one("connection"),
            model=one("model"),
            mapping=mapping,
            data_type=one("data_type"),
            min_value=one("min_value"),
            max_value=one("max_value"),
            categories=one("categories"),
            multiple=one("multiple") == "on",
            reasoning=one("reasoning"),
            value_hint=one("value_hint"),
            source_code=one("source_code"),
            template_key=one("template_key"),
        )

    def definition(self) -> EvaluatorDefinition:
        """The definition posted; InvalidInput names a bound that is not a number."""
        if self.type == "code":
            return EvaluatorDefinition("code", source_code=self.source_code, source_code_language="PYTHON")
        output: dict[str, Any] = {"dataType": self.data_type}
        if self.data_type == "NUMERIC":
            output |= {
                "minValue": _number(self.min_value, "outputDefinition.minValue"),
                "maxValue": _number(self.max_value, "outputDefinition.maxValue"),
            }
        if self.data_type == "CATEGORICAL":
            output["categories"] = [c.strip() for c in self.categories.split(",") if c.strip()]
            output["shouldAllowMultipleMatches"] = self.multiple
        output |= {"scoreReasoningInstructions": self.reasoning, "scoreValueInstructions": self.value_hint}
        variables = self.variables
        mapping = [
            {"variable": v, "source": src, "jsonPath": path.strip() or None}
            for v, (src, path) in self.mapping.items()
            if v in variables
        ]
        model = {"provider": self.connection, "model": self.model.strip()} if self.connection else None
        return EvaluatorDefinition(
            "llm_as_judge",
            prompt=self.messages,
            model_config=model,
            variable_mapping=mapping or None,
            output_definition=output,
        )


def _template_version(t: judge_templates.JudgeTemplate) -> EvaluatorVersion:
    return EvaluatorVersion(
        project_id="",
        evaluator_id="",
        version=0,
        prompt=t.prompt,
        variables=t.variables,
        variable_mapping=t.variable_mapping,
        output_definition=t.output_definition,
    )


def _text(value: object) -> str:
    return "" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def _number(text: str, name: str) -> float | None:
    if not text.strip():
        return None
    try:
        return float(text)
    except ValueError:
        raise InvalidInput(f"{name}: must be a number") from None


async def _form(
    session: UiSession,
    storage: Storage,
    draft: Draft,
    view: ev.EvaluatorView | None = None,
    exc: UserError | None = None,
) -> Template:
    project_id = session.caller.project_id
    versions = (await ev.list_versions(storage, project_id, view.evaluator.id, 100))[0] if view else []
    settings = await eval_settings.get_settings(storage, project_id)
    response = page(
        session,
        "evaluator_form.html",
        draft=draft,
        view=view,
        versions=versions,
        errors=EVALUATOR_FIELDS.errors(exc) if exc else {},
        roles=ROLES,
        sources=MAPPING_SOURCES,
        output_types=OUTPUT_TYPES,
        connections=await connections.list_connections(storage, project_id),
        code_enabled=settings.code_evaluators_enabled,
        can_write=session.caller.role.at_least(Role.MEMBER),
        pretty=lambda v: json.dumps(v, indent=2, ensure_ascii=False),
    )
    return refused(response, exc) if exc else response


@get("/evaluation/evaluators")
async def evaluators_page(session: UiSession, storage: Storage) -> Template:
    views, _ = await ev.list_evaluators(storage, session.caller.project_id, 100)
    return page(
        session,
        "evaluators.html",
        evaluators=views,
        templates=judge_templates.list_templates(),
        can_write=session.caller.role.at_least(Role.MEMBER),
    )


@get("/evaluation/evaluators/new", guards=[requires_member])
async def evaluator_new(request: Request[Any, Any, State], session: UiSession, storage: Storage) -> Template:
    """A blank form, or with `?template=` one filled from a built-in judge."""
    key = query(request).get("template")
    return await _form(session, storage, Draft.of_template(key) if key else Draft())


@post("/evaluation/evaluators/new", guards=[requires_member])
async def evaluator_create(
    request: Request[Any, Any, State], session: UiSession, storage: Storage
) -> Template | Redirect:
    draft = Draft.posted(await form_lists(request))
    try:
        view = await ev.create_evaluator(
            storage, session.caller.project_id, draft.name, draft.description, draft.definition()
        )
    except UserError as exc:
        return await _form(session, storage, draft, exc=exc)
    return Redirect(f"/evaluation/evaluators/{view.evaluator.id}")


@get("/evaluation/evaluators/{evaluator_id:str}")
async def evaluator_page(session: UiSession, storage: Storage, evaluator_id: str) -> Template:
    view = await ev.get_evaluator(storage, session.caller.project_id, evaluator_id)
    e = view.evaluator
    return await _form(session, storage, Draft.of_version(e.name, e.description, e.type, view.version), view)


@post("/evaluation/evaluators/{evaluator_id:str}", guards=[requires_member])
async def evaluator_update(
    request: Request[Any, Any, State], session: UiSession, storage: Storage, evaluator_id: str
) -> Template | Redirect:
    """Save the form: metadata, and a new version when the definition changed."""
    draft = Draft.posted(await form_lists(request))
    project_id = session.caller.project_id
    view = await ev.get_evaluator(storage, project_id, evaluator_id)
    try:
        change = ev.EvaluatorChange(
            name=draft.name,
            description=draft.description,
            description_set=True,
            definition=draft.definition(),
        )
        await ev.update_evaluator(storage, project_id, evaluator_id, change)
    except UserError as exc:
        return await _form(session, storage, draft, view, exc)
    return Redirect(f"/evaluation/evaluators/{evaluator_id}")


@post("/evaluation/evaluators/{evaluator_id:str}/pause", guards=[requires_member])
async def evaluator_pause(caller: Caller, storage: Storage, evaluator_id: str) -> Redirect:
    await ev.pause(storage, caller.project_id, evaluator_id, "paused by a user")
    return Redirect(f"/evaluation/evaluators/{evaluator_id}")


@post("/evaluation/evaluators/{evaluator_id:str}/resume", guards=[requires_member])
async def evaluator_resume(caller: Caller, storage: Storage, evaluator_id: str) -> Redirect:
    await ev.resume(storage, caller.project_id, evaluator_id)
    return Redirect(f"/evaluation/evaluators/{evaluator_id}")


@post("/evaluation/evaluators/{evaluator_id:str}/delete", guards=[requires_member])
async def evaluator_delete(caller: Caller, storage: Storage, evaluator_id: str) -> Redirect:
    await ev.delete_evaluator(storage, caller.project_id, evaluator_id)
    return Redirect("/evaluation/evaluators")


async def _settings_page(
    session: UiSession, storage: Storage, values: dict[str, Any], exc: UserError | None = None
) -> Template:
    response = page(
        session,
        "evaluation_settings.html",
        values=values,
        errors=SETTINGS_FIELDS.errors(exc) if exc else {},
        connections=await connections.list_connections(storage, session.caller.project_id),
        can_write=session.caller.role.at_least(Role.ADMIN),
    )
    return refused(response, exc) if exc else response


@get("/settings/evaluation")
async def settings_page(session: UiSession, storage: Storage) -> Template:
    s = await eval_settings.get_settings(storage, session.caller.project_id)
    values = {
        "connection": s.default_connection_id or "",
        "model": s.default_model or "",
        "cap": _text(s.daily_cost_cap_usd),
        "code": s.code_evaluators_enabled,
    }
    return await _settings_page(session, storage, values)


@post("/settings/evaluation", guards=[requires_admin])
async def settings_save(
    request: Request[Any, Any, State], session: UiSession, storage: Storage
) -> Template | Redirect:
    form = {k: v[0] for k, v in (await form_lists(request)).items() if v}
    connection, model, cap_text = form.get("connection", ""), form.get("model", ""), form.get("cap", "")
    code = form.get("code") == "on"
    values = {"connection": connection, "model": model, "cap": cap_text, "code": code}
    try:
        cap = _number(cap_text, "dailyCostCapUsd")
        change = eval_settings.SettingsChange(connection, model, cap, code)
        await eval_settings.save_settings(storage, session.caller.project_id, change)
    except UserError as exc:
        return await _settings_page(session, storage, values, exc)
    return Redirect("/settings/evaluation")


EVALUATOR_PAGE_ROUTES = [
    evaluators_page,
    evaluator_new,
    evaluator_create,
    evaluator_page,
    evaluator_update,
    evaluator_pause,
    evaluator_resume,
    evaluator_delete,
    settings_page,
    settings_save,
]

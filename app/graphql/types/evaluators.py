"""Evaluator (judge) types: evaluators and their versions, the built-in templates, the project's
evaluation settings, and the inputs and payloads of their mutations."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry.scalars import JSON

from app.evaluation import evaluators as ev
from app.evaluation.evaluator_specs import EvaluatorDefinition
from app.evaluation.judge_templates import JudgeTemplate as Template
from app.graphql.types.common import as_json
from app.graphql.types.pagination import PageInfo
from app.storage.postgres.eval_tables import EvaluationSettings as SettingsRow
from app.storage.postgres.eval_tables import EvaluatorVersion as VersionRow


@strawberry.enum(description="Whether an evaluator runs.")
class EvaluatorStatus(Enum):
    ACTIVE = "active"
    PAUSED = "paused"


@strawberry.enum(description="How an evaluator judges.")
class EvaluatorType(Enum):
    LLM_AS_JUDGE = "llm_as_judge"
    CODE = "code"


@strawberry.enum(description="The author of a prompt message.")
class JudgeMessageRole(Enum):
    SYSTEM = "system"
    USER = "user"
    ASSISTANT = "assistant"


@strawberry.type(description="One message of a judge's prompt; variables are written {{name}}.")
class JudgeMessage:
    role: str = strawberry.field(description="system, user or assistant.")
    content: str = strawberry.field(description="The text, with {{variables}}.")


def _messages(value: object) -> list[JudgeMessage]:
    items = value if isinstance(value, list) else []
    return [JudgeMessage(role=str(m.get("role")), content=str(m.get("content"))) for m in items]


@strawberry.type(description="One version of an evaluator: its prompt, model, mapping and output.")
class EvaluatorVersion:
    id: strawberry.ID = strawberry.field(description="Version id.")
    version: int = strawberry.field(description="1 for the first, then +1 per definition change.")
    prompt: list[JudgeMessage] = strawberry.field(description="The judge's messages (LLM judges).")
    variables: list[str] = strawberry.field(description="The {{variables}} of the prompt.")
    variable_mapping: JSON | None = strawberry.field(description="[{variable, source, jsonPath}] or null.")
    model_config: JSON | None = strawberry.field(
        description="{provider (a connection's name), model} or null for the project's default model."
    )
    output_definition: JSON | None = strawberry.field(description="{dataType, minValue, …} (LLM judges).")
    source_code: str | None = strawberry.field(description="The code (code evaluators).")
    source_code_language: str | None = strawberry.field(description="PYTHON (code evaluators).")
    created_at: datetime = strawberry.field(description="When this version was made (UTC).")

    @classmethod
    def from_row(cls, v: VersionRow) -> EvaluatorVersion:
        return cls(
            id=strawberry.ID(v.id),
            version=v.version,
            prompt=_messages(v.prompt),
            variables=list(v.variables),
            variable_mapping=as_json(v.variable_mapping),
            model_config=as_json(v.judge_model),
            output_definition=as_json(v.output_definition),
            source_code=v.source_code,
            source_code_language=v.source_code_language,
            created_at=v.created_at,
        )


@strawberry.type(description="An evaluator (a judge) with its newest version.")
class Evaluator:
    id: strawberry.ID = strawberry.field(description="Evaluator id (stable across versions).")
    name: str = strawberry.field(description="Name (names may repeat).")
    description: str | None = strawberry.field(description="What it judges.")
    type: EvaluatorType = strawberry.field(description="LLM_AS_JUDGE or CODE.")
    status: EvaluatorStatus = strawberry.field(
        description="PAUSED when a run hit a fault a retry cannot fix."
    )
    paused_at: datetime | None = strawberry.field(description="When it was paused.")
    paused_reason: str | None = strawberry.field(description="Machine code of the pause, e.g. unknown_model.")
    paused_message: str | None = strawberry.field(description="Why it was paused, for people.")
    latest_version: EvaluatorVersion = strawberry.field(description="The version rules judge with.")
    rule_ids: list[strawberry.ID] = strawberry.field(description="Rules that assign this evaluator.")
    created_at: datetime = strawberry.field(description="When it was created (UTC).")
    updated_at: datetime = strawberry.field(description="When it last changed (UTC).")

    @classmethod
    def from_view(cls, view: ev.EvaluatorView) -> Evaluator:
        e = view.evaluator
        return cls(
            id=strawberry.ID(e.id),
            name=e.name,
            description=e.description,
            type=EvaluatorType(e.type),
            status=EvaluatorStatus(e.status),
            paused_at=e.paused_at,
            paused_reason=view.pause_code,
            paused_message=view.pause_message,
            latest_version=EvaluatorVersion.from_row(view.version),
            rule_ids=[strawberry.ID(a.rule_id) for a in view.assignments],
            created_at=e.created_at,
            updated_at=e.updated_at,
        )


@strawberry.type(description="An evaluator and its cursor.")
class EvaluatorEdge:
    node: Evaluator = strawberry.field(description="The evaluator.")
    cursor: str = strawberry.field(description="Pass as `after` to continue after it.")


@strawberry.type(description="A page of evaluators, newest first.")
class EvaluatorConnection:
    edges: list[EvaluatorEdge] = strawberry.field(description="Evaluators with cursors.")
    page_info: PageInfo = strawberry.field(description="Paging.")
    total_count: int | None = strawberry.field(description="Evaluators in the project, when known.")


@strawberry.type(description="A built-in judge to start an evaluator from.")
class JudgeTemplate:
    key: str = strawberry.field(description="Stable key, e.g. helpfulness.")
    name: str = strawberry.field(description="Title.")
    description: str = strawberry.field(description="What it checks.")
    target: str = strawberry.field(description="The rule target it suits: observation, trace or session.")
    prompt: list[JudgeMessage] = strawberry.field(description="Its messages.")
    variables: list[str] = strawberry.field(description="Its {{variables}}.")
    variable_mapping: JSON = strawberry.field(description="The mapping it is written for.")
    output_definition: JSON = strawberry.field(description="Its output definition.")

    @classmethod
    def from_template(cls, t: Template) -> JudgeTemplate:
        return cls(
            key=t.key,
            name=t.name,
            description=t.description,
            target=t.target,
            prompt=_messages(t.prompt),
            variables=t.variables,
            variable_mapping=as_json(t.variable_mapping),
            output_definition=as_json(t.output_definition),
        )


@strawberry.type(description="The project's evaluation settings.")
class EvaluationSettings:
    default_connection_id: strawberry.ID | None = strawberry.field(
        description="Connection of the default model."
    )
    default_model: str | None = strawberry.field(description="Model judges use when theirs is unset.")
    daily_cost_cap_usd: float | None = strawberry.field(description="Judge spend per UTC day; null: no cap.")
    code_evaluators_enabled: bool = strawberry.field(description="Whether code evaluators may run.")

    @classmethod
    def from_row(cls, s: SettingsRow) -> EvaluationSettings:
        return cls(
            default_connection_id=strawberry.ID(s.default_connection_id) if s.default_connection_id else None,
            default_model=s.default_model,
            daily_cost_cap_usd=s.daily_cost_cap_usd,
            code_evaluators_enabled=s.code_evaluators_enabled,
        )


@strawberry.input(description="One prompt message.")
class JudgeMessageInput:
    role: JudgeMessageRole = strawberry.field(description="SYSTEM, USER or ASSISTANT.")
    content: str = strawberry.field(description="Text with {{variables}}.")


@strawberry.input(description="A complete evaluator definition (it replaces the current one).")
class EvaluatorDefinitionInput:
    type: EvaluatorType = strawberry.field(default=EvaluatorType.LLM_AS_JUDGE, description="The kind.")
    prompt: list[JudgeMessageInput] | None = strawberry.field(default=None, description="LLM judges.")
    model_config: JSON | None = strawberry.field(
        default=None, description="{provider (a connection's name), model, modelParams?}; null: default."
    )
    variable_mapping: JSON | None = strawberry.field(
        default=None, description="[{variable, source, jsonPath?}]."
    )
    output_definition: JSON | None = strawberry.field(default=None, description="{dataType, …} (LLM judges).")
    source_code: str | None = strawberry.field(default=None, description="Code evaluators.")
    source_code_language: str | None = strawberry.field(default=None, description="PYTHON.")

    def as_definition(self) -> EvaluatorDefinition:
        prompt: Any = [{"role": m.role.value, "content": m.content} for m in self.prompt or []]
        return EvaluatorDefinition(
            type=self.type.value,
            prompt=prompt or None,
            model_config=self.model_config,
            variable_mapping=self.variable_mapping,
            output_definition=self.output_definition,
            source_code=self.source_code,
            source_code_language=self.source_code_language,
        )


@strawberry.input(description="A new evaluator: a definition, or a template's (`templateKey`).")
class CreateEvaluatorInput:
    name: str = strawberry.field(description="Name (names may repeat).")
    description: str | None = strawberry.field(default=None, description="What it judges.")
    definition: EvaluatorDefinitionInput | None = strawberry.field(
        default=None, description="The definition."
    )
    template_key: str | None = strawberry.field(default=None, description="Start from this built-in judge.")
    model_config: JSON | None = strawberry.field(default=None, description="With a template: its model.")


@strawberry.input(description="Change an evaluator; a new definition makes a new version.")
class UpdateEvaluatorInput:
    id: strawberry.ID = strawberry.field(description="The evaluator.")
    name: str | None = strawberry.field(default=None, description="New name.")
    description: str | None = strawberry.field(default=strawberry.UNSET, description="New description.")
    definition: EvaluatorDefinitionInput | None = strawberry.field(
        default=None, description="New definition."
    )

    def as_change(self) -> ev.EvaluatorChange:
        return ev.EvaluatorChange(
            name=self.name,
            description=self.description if self.description is not strawberry.UNSET else None,
            description_set=self.description is not strawberry.UNSET,
            definition=self.definition.as_definition() if self.definition else None,
        )


@strawberry.input(description="An evaluator to delete, pause or resume.")
class EvaluatorIdInput:
    id: strawberry.ID = strawberry.field(description="The evaluator.")
    reason: str | None = strawberry.field(default=None, description="Why (pausing).")


@strawberry.type(description="The evaluator after the mutation.")
class EvaluatorPayload:
    evaluator: Evaluator = strawberry.field(description="The evaluator.")


@strawberry.type(description="What was deleted.")
class DeleteEvaluatorPayload:
    deleted_id: strawberry.ID = strawberry.field(description="The deleted evaluator's id.")


@strawberry.input(description="The project's evaluation settings (every field replaced).")
class UpdateEvaluationSettingsInput:
    default_connection_id: strawberry.ID | None = strawberry.field(default=None, description="A connection.")
    default_model: str | None = strawberry.field(default=None, description="A model of that connection.")
    daily_cost_cap_usd: float | None = strawberry.field(default=None, description="USD per UTC day.")
    code_evaluators_enabled: bool = strawberry.field(default=False, description="Allow code evaluators.")


@strawberry.type(description="The saved settings.")
class UpdateEvaluationSettingsPayload:
    settings: EvaluationSettings = strawberry.field(description="The settings.")

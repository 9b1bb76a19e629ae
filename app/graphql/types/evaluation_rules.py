"""Evaluation rule types, inputs and payloads."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from app.evaluation.rules import RulePatch, RuleSpec
from app.graphql.types.common import as_json
from app.graphql.types.pagination import PageInfo
from app.storage.postgres.eval_tables import EvaluationRule as RuleRow


@strawberry.type(description="An evaluator a rule runs, with the rule's own variable mapping.")
class EvaluatorAssignment:
    evaluator_id: strawberry.ID = strawberry.field(description="The evaluator (its newest version is used).")
    variable_mapping: JSON | None = strawberry.field(
        description="[{variable, source, jsonPath}], or null to use the evaluator's own mapping."
    )


@strawberry.type(description="When to judge: a target, filters, sampling, a delay and the evaluators to run.")
class EvaluationRule:
    id: strawberry.ID = strawberry.field(description="Rule id.")
    name: str = strawberry.field(description="Name (need not be unique).")
    enabled: bool = strawberry.field(description="Whether new observations are matched.")
    target: str = strawberry.field(description="observation, trace or session.")
    filter: JSON = strawberry.field(description="The SDK's filter objects; all must hold.")
    sampling: float = strawberry.field(description="Share of matching targets judged (0-1, by target id).")
    delay_seconds: float = strawberry.field(description="Wait after a match before judging.")
    session_idle_minutes: float | None = strawberry.field(
        description="Session target: judged once the session has been idle this long."
    )
    evaluator_assignments: list[EvaluatorAssignment] = strawberry.field(description="Evaluators run.")
    created_at: datetime = strawberry.field(description="Created (UTC).")
    updated_at: datetime = strawberry.field(description="Last changed (UTC).")

    @classmethod
    def from_row(cls, r: RuleRow) -> EvaluationRule:
        return cls(
            id=strawberry.ID(r.id),
            name=r.name,
            enabled=r.enabled,
            target=r.target,
            filter=as_json(r.filter),
            sampling=r.sampling,
            delay_seconds=r.delay_seconds,
            session_idle_minutes=r.session_idle_minutes,
            evaluator_assignments=[
                EvaluatorAssignment(
                    evaluator_id=strawberry.ID(str(a.get("evaluatorId"))),
                    variable_mapping=as_json(a.get("variableMapping")),
                )
                for a in r.evaluator_assignments
            ],
            created_at=r.created_at,
            updated_at=r.updated_at,
        )


@strawberry.type(description="A rule and its cursor.")
class EvaluationRuleEdge:
    node: EvaluationRule = strawberry.field(description="The rule.")
    cursor: str = strawberry.field(description="Pass as `after` to continue after it.")


@strawberry.type(description="A page of rules, newest first.")
class EvaluationRuleConnection:
    edges: list[EvaluationRuleEdge] = strawberry.field(description="Rules with cursors.")
    page_info: PageInfo = strawberry.field(description="Paging.")


@strawberry.input(description="An evaluator to run, with an optional variable mapping.")
class EvaluatorAssignmentInput:
    evaluator_id: strawberry.ID = strawberry.field(description="An evaluator of the project.")
    variable_mapping: JSON | None = strawberry.field(
        default=None, description="[{variable, source, jsonPath}] covering every variable, or null."
    )

    def as_dict(self) -> dict[str, object]:
        return {"evaluatorId": str(self.evaluator_id), "variableMapping": self.variable_mapping}


@strawberry.input(description="A new evaluation rule.")
class CreateEvaluationRuleInput:
    name: str = strawberry.field(description="Name.")
    enabled: bool = strawberry.field(description="Match new observations at once (needs an evaluator).")
    evaluator_assignments: list[EvaluatorAssignmentInput] = strawberry.field(description="Evaluators to run.")
    filter: JSON | None = strawberry.field(default=None, description="The SDK's filter objects.")
    sampling: float = strawberry.field(default=1.0, description="Share judged, 0-1.")
    target: str = strawberry.field(default="observation", description="observation, trace or session.")
    delay_seconds: float = strawberry.field(default=10.0, description="Wait before judging.")
    session_idle_minutes: float | None = strawberry.field(
        default=None, description="Session target idle time."
    )

    def as_spec(self) -> RuleSpec:
        return RuleSpec(
            name=self.name,
            enabled=self.enabled,
            evaluator_assignments=[a.as_dict() for a in self.evaluator_assignments],
            filter=self.filter or [],  # type: ignore[arg-type]
            sampling=self.sampling,
            target=self.target,
            delay_seconds=self.delay_seconds,
            session_idle_minutes=self.session_idle_minutes,
        )


@strawberry.input(description="Changes to a rule; omitted fields stay as they are.")
class UpdateEvaluationRuleInput:
    id: strawberry.ID = strawberry.field(description="Rule id.")
    name: str | None = strawberry.field(default=None, description="Name.")
    enabled: bool | None = strawberry.field(default=None, description="Enabled.")
    evaluator_assignments: list[EvaluatorAssignmentInput] | None = strawberry.field(
        default=None, description="Replaces the assignments (an empty list disables the rule)."
    )
    filter: JSON | None = strawberry.field(default=None, description="Replaces the filters.")
    sampling: float | None = strawberry.field(default=None, description="Share judged, 0-1.")
    target: str | None = strawberry.field(default=None, description="observation, trace or session.")
    delay_seconds: float | None = strawberry.field(default=None, description="Wait before judging.")
    session_idle_minutes: float | None = strawberry.field(
        default=None, description="Session target idle time."
    )

    def as_patch(self) -> RulePatch:
        assignments = self.evaluator_assignments
        return RulePatch(
            name=self.name,
            enabled=self.enabled,
            evaluator_assignments=None if assignments is None else [a.as_dict() for a in assignments],
            filter=self.filter,  # type: ignore[arg-type]
            sampling=self.sampling,
            target=self.target,
            delay_seconds=self.delay_seconds,
            session_idle_minutes=self.session_idle_minutes,
        )


@strawberry.input(description="The rule to delete.")
class DeleteEvaluationRuleInput:
    id: strawberry.ID = strawberry.field(description="Rule id.")


@strawberry.type(description="The rule after the change.")
class EvaluationRulePayload:
    evaluation_rule: EvaluationRule = strawberry.field(description="The rule.")


@strawberry.type(description="The deleted rule's id.")
class DeleteEvaluationRulePayload:
    id: strawberry.ID = strawberry.field(description="Rule id.")

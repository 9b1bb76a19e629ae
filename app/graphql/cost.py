"""A cost limit for GraphQL documents: how many ClickHouse reads a document may ask for.

Each field that reads ClickHouse costs 1, times the number of parents it runs for: a connection's
`first` (default 50) multiplies what is selected inside its nodes, a nested list (a trace's scores or
tree) multiplies by 20. A document over MAX_COST is refused before anything runs, naming its cost.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import (
    ExecutableDefinitionNode,
    FieldNode,
    GraphQLError,
    IntValueNode,
    ValidationContext,
    ValidationRule,
    VariableNode,
)
from strawberry.extensions import SchemaExtension

MAX_COST = 2_000
DEFAULT_FIRST = 50
NESTED_LIST = 20
# Fields whose resolvers read ClickHouse.
READS = {
    "traces",
    "trace",
    "observations",
    "observation",
    "sessions",
    "session",
    "users",
    "user",
    "scores",
    "metrics",
    "observationTree",
    "timeline",
    "usageOverTime",
    "generations",
    "experiments",
    "experiment",
    "compareExperiments",
    "runs",
    "items",
    "summary",
    "scoreAnalytics",
    "scoreAgreement",
    "disagreements",
}
CONNECTIONS = {
    "traces",
    "observations",
    "sessions",
    "users",
    "scores",
    "generations",
    "datasets",
    "experiments",
    "runs",
    "items",
}
NESTED = {"observationTree", "timeline", "children", "versions"}


def _first(node: FieldNode, variables: dict[str, Any]) -> int:
    for arg in node.arguments or ():
        if arg.name.value != "first":
            continue
        if isinstance(arg.value, IntValueNode):
            return max(int(arg.value.value), 1)
        if isinstance(arg.value, VariableNode):
            value = variables.get(arg.value.name.value)
            return max(int(value), 1) if isinstance(value, int) else DEFAULT_FIRST
    return DEFAULT_FIRST


def document_cost(selections: Any, variables: dict[str, Any], multiplier: int = 1) -> int:
    cost = 0
    for node in selections or ():
        if not isinstance(node, FieldNode):  # fragments: count what they select
            inner = getattr(node, "selection_set", None)
            cost += document_cost(inner.selections if inner else (), variables, multiplier)
            continue
        name = node.name.value
        if name in READS:
            cost += multiplier
        inner_multiplier = multiplier
        if name in CONNECTIONS and (node.arguments is not None):
            inner_multiplier = multiplier * _first(node, variables)
        elif name in NESTED:
            inner_multiplier = multiplier * NESTED_LIST
        if node.selection_set is not None:
            cost += document_cost(node.selection_set.selections, variables, inner_multiplier)
    return cost


def cost_rule(variables: dict[str, Any]) -> type[ValidationRule]:
    class QueryCost(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            total = sum(
                document_cost(d.selection_set.selections, variables)
                for d in context.document.definitions
                if isinstance(d, ExecutableDefinitionNode)
            )
            if total > MAX_COST:
                context.report_error(
                    GraphQLError(
                        f"query too expensive: it would run about {total} reads (limit {MAX_COST}); "
                        "ask for fewer items (first) or fewer nested lists"
                    )
                )

    return QueryCost


class QueryCostLimiter(SchemaExtension):
    """Adds the cost rule, with the request's variables (a `first` may come from them)."""

    def on_operation(self) -> Iterator[None]:
        rule = cost_rule(dict(self.execution_context.variables or {}))
        self.execution_context.validation_rules = (*self.execution_context.validation_rules, rule)
        yield

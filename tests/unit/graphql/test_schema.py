"""The committed schema.graphql matches the code, and every public type and field is described."""

from __future__ import annotations

from graphql import GraphQLEnumType, GraphQLInputObjectType, GraphQLObjectType

from app.graphql.export import SCHEMA_FILE, render
from app.graphql.schema import build_schema


def test_committed_schema_is_current() -> None:
    assert SCHEMA_FILE.read_text() == render(), "schema.graphql is stale: run `make schema` and commit it"


def test_every_type_and_field_has_a_description() -> None:
    schema = build_schema()._schema
    missing = []
    for name, gql_type in schema.type_map.items():
        if name.startswith("__") or not isinstance(
            gql_type, GraphQLObjectType | GraphQLInputObjectType | GraphQLEnumType
        ):
            continue
        if not gql_type.description:
            missing.append(name)
        if isinstance(gql_type, GraphQLObjectType | GraphQLInputObjectType):
            missing += [f"{name}.{f}" for f, field in gql_type.fields.items() if not field.description]
    assert missing == []


def test_query_cost_counts_reads_times_the_lists_they_run_in() -> None:
    from graphql import parse

    from app.graphql.cost import MAX_COST, document_cost

    def cost(text: str, variables: dict | None = None) -> int:
        [op] = parse(text).definitions
        return document_cost(op.selection_set.selections, variables or {})  # type: ignore[attr-defined]

    assert cost("{ viewer { role } }") == 0
    assert cost("{ trace(id: 1) { scores { name } observationTree { depth } } }") == 3
    assert cost("{ traces(first: 10) { edges { node { scores { name } } } } }") == 11
    assert (
        cost("query($n: Int) { traces(first: $n) { edges { node { session { id } } } } }", {"n": 100}) == 101
    )
    deep = "{ traces(first: 100) { edges { node { observationTree { children { observation { id } } } } } } }"
    assert cost(deep) > MAX_COST
    # Runs of every dataset, and item runs of every run: each level multiplies what it selects.
    runs = (
        "{ datasets(first: 10) { edges { node { runs(first: 10) {"
        " edges { node { summary { itemCount } } } } } } } }"
    )
    assert cost(runs) == 10 + 100
    nested = (
        "{ datasets(first: 50) { edges { node { runs(first: 50) { edges { node {"
        " items(first: 50) { edges { node { id } } } } } } } } } }"
    )
    assert cost(nested) > MAX_COST

"""Fuzz the GraphQL schema: generated queries and mutations never answer 5xx or leak an internal error."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql.language import ast
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import mutations, queries

from tests.conftest import ProjectFixture
from tests.integration.reads_data import seed

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("worker")]
SCHEMA = (Path(__file__).parents[2] / "app" / "graphql" / "schema.graphql").read_text()
EXAMPLES = 120
# JSON arguments (score values, config categories): numbers, strings and nulls.
JSON_VALUES = st.one_of(
    st.integers(-5, 5).map(lambda n: ast.IntValueNode(value=str(n))),
    st.text(max_size=8).map(lambda t: ast.StringValueNode(value=t)),
    st.just(ast.NullValueNode()),
)


def generated(
    examples: int = EXAMPLES, query_fields: list[str] | None = None, mutation_fields: list[str] | None = None
) -> list[str]:
    """Reproducible query and mutation documents, over the fields named (default: every field)."""
    found: list[str] = []
    custom = {"JSON": JSON_VALUES}

    @settings(
        max_examples=examples,
        database=None,
        deadline=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        queries(SCHEMA, fields=query_fields, custom_scalars=custom)
        | mutations(SCHEMA, fields=mutation_fields, custom_scalars=custom)
    )
    def collect(document: str) -> None:
        found.append(document)

    collect()
    return found


async def assert_answered(client, project: ProjectFixture, documents: list[str]) -> None:  # type: ignore[no-untyped-def]
    """Post each document: no 5xx answer, and no internal error or trace leaks into an error message."""
    for document in documents:
        r = await client.post("/api/graphql", json={"query": document}, auth=project.auth)
        assert r.status_code < 500, (document, r.text)
        for error in r.json().get("errors") or []:
            assert error["message"] != "internal error", (document, error)
            assert "Traceback" not in error["message"] and "DB::Exception" not in error["message"]


async def test_generated_documents_get_answers_not_crashes(client, storage, project: ProjectFixture) -> None:
    await seed(client, storage, project)
    documents = generated()
    assert len(documents) >= EXAMPLES // 2
    await assert_answered(client, project, documents)

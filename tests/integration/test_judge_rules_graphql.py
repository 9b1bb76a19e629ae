"""Evaluation rules over GraphQL: create, page, read, update, delete; errors name the field; viewers
cannot change rules."""

from __future__ import annotations

import httpx
import pytest

from app.storage import Storage
from app.storage.postgres.tables import Role
from tests.conftest import ProjectFixture, login, make_user
from tests.integration.reads_data import gql
from tests.integration.test_judge_rules import make_evaluator

pytestmark = pytest.mark.integration

CREATE = """mutation($input: CreateEvaluationRuleInput!) {
  createEvaluationRule(input: $input) { evaluationRule {
    id name enabled target filter sampling delaySeconds sessionIdleMinutes
    evaluatorAssignments { evaluatorId variableMapping } } } }"""
PAGE = """query($after: String) { evaluationRules(first: 1, after: $after) {
  edges { node { id name } cursor } pageInfo { hasNextPage endCursor } } }"""
UPDATE = """mutation($input: UpdateEvaluationRuleInput!) {
  updateEvaluationRule(input: $input) {
    evaluationRule { id enabled sampling target sessionIdleMinutes } } }"""
DELETE = """mutation($id: ID!) { deleteEvaluationRule(input: {id: $id}) { id } }"""
ONE = """query($id: ID!) { evaluationRule(id: $id) { id name } }"""


async def test_graphql_rule_lifecycle(
    client: httpx.AsyncClient, storage: Storage, project: ProjectFixture
) -> None:
    ev = await make_evaluator(storage, project.project_id)
    mapping = [{"variable": "input", "source": "input"}, {"variable": "output", "source": "output"}]
    first = await gql(
        client,
        project,
        CREATE,
        {
            "input": {
                "name": "gens",
                "enabled": True,
                "evaluatorAssignments": [{"evaluatorId": ev, "variableMapping": mapping}],
                "filter": [
                    {"type": "stringOptions", "column": "type", "operator": "any of", "value": ["GENERATION"]}
                ],
                "sampling": 0.5,
            }
        },
    )
    rule = first["createEvaluationRule"]["evaluationRule"]
    assert (rule["name"], rule["target"], rule["sampling"], rule["delaySeconds"]) == (
        "gens",
        "observation",
        0.5,
        10.0,
    )
    assert rule["filter"][0]["column"] == "type"
    assert rule["evaluatorAssignments"] == [
        {"evaluatorId": ev, "variableMapping": [{**m, "jsonPath": None} for m in mapping]}
    ]
    second = await gql(
        client,
        project,
        CREATE,
        {"input": {"name": "sessions", "enabled": False, "evaluatorAssignments": [], "target": "session"}},
    )
    assert second["createEvaluationRule"]["evaluationRule"]["sessionIdleMinutes"] == 30.0
    page1 = (await gql(client, project, PAGE))["evaluationRules"]
    assert [e["node"]["name"] for e in page1["edges"]] == ["sessions"] and page1["pageInfo"]["hasNextPage"]
    page2 = (await gql(client, project, PAGE, {"after": page1["pageInfo"]["endCursor"]}))["evaluationRules"]
    assert [e["node"]["name"] for e in page2["edges"]] == ["gens"] and not page2["pageInfo"]["hasNextPage"]
    updated = await gql(
        client, project, UPDATE, {"input": {"id": rule["id"], "enabled": False, "target": "trace"}}
    )
    assert updated["updateEvaluationRule"]["evaluationRule"]["enabled"] is False
    assert updated["updateEvaluationRule"]["evaluationRule"]["target"] == "trace"
    bad = await client.post(
        "/api/graphql",
        json={"query": UPDATE, "variables": {"input": {"id": rule["id"], "sampling": 2}}},
        auth=project.auth,
    )
    assert bad.json()["errors"][0]["message"].startswith("sampling")
    bad = await client.post(
        "/api/graphql",
        json={"query": UPDATE, "variables": {"input": {"id": rule["id"], "filter": [{"column": "tags"}]}}},
        auth=project.auth,
    )
    assert bad.json()["errors"][0]["message"].startswith("filter[0]")
    assert (await gql(client, project, DELETE, {"id": rule["id"]}))["deleteEvaluationRule"]["id"] == rule[
        "id"
    ]
    assert (await gql(client, project, ONE, {"id": rule["id"]}))["evaluationRule"] is None


async def test_viewers_cannot_change_rules(
    client: httpx.AsyncClient, storage: Storage, project: ProjectFixture
) -> None:
    email, password = await make_user(storage, project, Role.VIEWER)
    await login(client, email, password)
    try:
        r = await client.post(
            "/api/graphql",
            json={
                "query": CREATE,
                "variables": {"input": {"name": "x", "enabled": False, "evaluatorAssignments": []}},
            },
        )
        assert r.json()["data"] is None and "member role" in r.json()["errors"][0]["message"]
        listed = await client.post("/api/graphql", json={"query": PAGE})
        assert listed.json()["data"]["evaluationRules"]["edges"] == []
    finally:
        client.cookies.clear()

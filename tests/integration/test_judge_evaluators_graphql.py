"""Evaluators over GraphQL: create from a template, change (a new version), pause/resume, settings;
viewers read but cannot mutate, members cannot change the settings."""

from __future__ import annotations

from typing import Any

import pytest

from app.storage import Storage
from app.storage.postgres.tables import Role
from tests.conftest import ProjectFixture, login, make_user

pytestmark = pytest.mark.integration

CREATE = """mutation($input: CreateEvaluatorInput!) { createEvaluator(input: $input) {
  evaluator { id name status latestVersion { version variables outputDefinition } } } }"""
UPDATE = """mutation($input: UpdateEvaluatorInput!) { updateEvaluator(input: $input) {
  evaluator { id name description latestVersion { version prompt { role content } variables } } } }"""
PAUSE = """mutation($input: EvaluatorIdInput!) { pauseEvaluator(input: $input) {
  evaluator { status pausedReason pausedMessage } } }"""
RESUME = """mutation($input: EvaluatorIdInput!) { resumeEvaluator(input: $input) { evaluator { status } } }"""
SETTINGS = """mutation($input: UpdateEvaluationSettingsInput!) { updateEvaluationSettings(input: $input) {
  settings { dailyCostCapUsd codeEvaluatorsEnabled } } }"""
READ = """query($id: ID!) { evaluators(first: 10) { edges { node { id name } } pageInfo { hasNextPage } }
  evaluator(id: $id) { name latestVersion { version } }
  evaluatorVersions(evaluatorId: $id) { version }
  judgeTemplates { key variables }
  evaluationSettings { dailyCostCapUsd codeEvaluatorsEnabled } }"""


async def gql(client: Any, query: str, **variables: Any) -> dict[str, Any]:
    r = await client.post("/api/graphql", json={"query": query, "variables": variables})
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_member_manages_evaluators_viewer_reads(
    client, storage: Storage, project: ProjectFixture
) -> None:
    email, password = await make_user(storage, project, Role.MEMBER)
    await login(client, email, password)
    made = await gql(client, CREATE, input={"name": "helpful", "templateKey": "helpfulness"})
    evaluator = made["data"]["createEvaluator"]["evaluator"]
    assert evaluator["status"] == "ACTIVE" and evaluator["latestVersion"]["variables"] == ["input", "output"]
    e_id = evaluator["id"]
    definition = {
        "prompt": [{"role": "USER", "content": "Is {{output}} polite?"}],
        "outputDefinition": {"dataType": "BOOLEAN"},
    }
    changed = await gql(client, UPDATE, input={"id": e_id, "description": "tone", "definition": definition})
    version = changed["data"]["updateEvaluator"]["evaluator"]
    assert version["description"] == "tone" and version["latestVersion"]["version"] == 2
    assert version["latestVersion"]["variables"] == ["output"]
    bad = await gql(client, UPDATE, input={"id": e_id, "definition": {**definition, "outputDefinition": {}}})
    assert "outputDefinition.dataType" in bad["errors"][0]["message"]
    unknown = await gql(client, CREATE, input={"name": "x", "templateKey": "nope"})
    assert "nope" in unknown["errors"][0]["message"]
    paused = (await gql(client, PAUSE, input={"id": e_id, "reason": "checking"}))["data"]["pauseEvaluator"]
    assert paused["evaluator"] == {
        "status": "PAUSED",
        "pausedReason": "provider_error",
        "pausedMessage": "checking",
    }
    resumed = await gql(client, RESUME, input={"id": e_id})
    assert resumed["data"]["resumeEvaluator"]["evaluator"]["status"] == "ACTIVE"
    refused = await gql(client, SETTINGS, input={"dailyCostCapUsd": 5, "codeEvaluatorsEnabled": True})
    assert refused["errors"] and "admin" in refused["errors"][0]["message"].lower()

    email, password = await make_user(storage, project, Role.VIEWER)
    await login(client, email, password)
    read = (await gql(client, READ, id=e_id))["data"]
    assert [e["node"]["id"] for e in read["evaluators"]["edges"]] == [e_id]
    assert read["evaluator"]["latestVersion"]["version"] == 2
    assert [v["version"] for v in read["evaluatorVersions"]] == [2, 1]
    assert any(
        t["key"] == "correctness" and "expected_output" in t["variables"] for t in read["judgeTemplates"]
    )
    assert read["evaluationSettings"] == {"dailyCostCapUsd": None, "codeEvaluatorsEnabled": False}
    for query, variables in (
        (CREATE, {"input": {"name": "v", "templateKey": "toxicity"}}),
        (UPDATE, {"input": {"id": e_id, "name": "v"}}),
        (PAUSE, {"input": {"id": e_id}}),
        (RESUME, {"input": {"id": e_id}}),
    ):
        r = await gql(client, query, **variables)
        assert r["errors"] and "member" in r["errors"][0]["message"].lower(), r

    email, password = await make_user(storage, project, Role.ADMIN)
    await login(client, email, password)
    saved = await gql(client, SETTINGS, input={"dailyCostCapUsd": 5, "codeEvaluatorsEnabled": True})
    assert saved["data"]["updateEvaluationSettings"]["settings"] == {
        "dailyCostCapUsd": 5.0,
        "codeEvaluatorsEnabled": True,
    }
    wrong = await gql(client, SETTINGS, input={"defaultConnectionId": "nope", "defaultModel": "m"})
    assert "defaultConnectionId" in wrong["errors"][0]["message"]

"""/api/public/v2/evaluation-rules with the langfuse 5.2.0 client's own requests and models, and the
errors a bad body gets (400 naming the field, never a 500)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from app.storage import Storage
from tests.conftest import LiveServer, ProjectFixture, make_project, sdk_client
from tests.integration.test_judge_rules import make_evaluator

pytestmark = pytest.mark.integration
URL = "/api/public/v2/evaluation-rules"


def sdk_crud(server: LiveServer, project: ProjectFixture, evaluator_id: str) -> dict[str, Any]:
    from langfuse.api.core.api_error import ApiError
    from langfuse.api.evaluation_commons import (
        EvaluationRuleFilter_ArrayOptions,
        EvaluationRuleFilter_Boolean,
        EvaluationRuleFilter_Null,
        EvaluationRuleFilter_StringObject,
        EvaluationRuleFilter_StringOptions,
        PromptVariableMappingInput,
        PromptVariableMappingSource,
    )
    from langfuse.api.evaluation_rules import EvaluationRuleEvaluatorAssignmentInput

    out: dict[str, Any] = {}
    with sdk_client(server, project) as lf:
        api = lf.api.evaluation_rules
        filters = [
            EvaluationRuleFilter_StringOptions(column="type", operator="any of", value=["GENERATION"]),
            EvaluationRuleFilter_StringObject(column="metadata", key="tenant", operator="=", value="acme"),
            EvaluationRuleFilter_ArrayOptions(column="tags", operator="all of", value=["prod"]),
            EvaluationRuleFilter_Boolean(column="isExperimentItemRootSpan", operator="=", value=True),
            EvaluationRuleFilter_Null(column="parentObservationId", operator="is not null"),
        ]
        mapping = [
            PromptVariableMappingInput(variable="input", source=PromptVariableMappingSource.INPUT),
            PromptVariableMappingInput(
                variable="output", source=PromptVariableMappingSource.METADATA, json_path="$.answer"
            ),
        ]
        created = api.create(
            name="gens",
            enabled=True,
            sampling=0.5,
            filter=filters,
            evaluator_assignments=[
                EvaluationRuleEvaluatorAssignmentInput(evaluator_id=evaluator_id, variable_mapping=mapping)
            ],
        )
        out["created"] = created
        out["same_name"] = api.create(
            name="gens",
            enabled=False,
            evaluator_assignments=[EvaluationRuleEvaluatorAssignmentInput(evaluator_id=evaluator_id)],
        )
        out["got"] = api.get(created.id)
        out["patched"] = api.update(created.id, enabled=False, sampling=1.0, filter=[])
        first = api.list(limit=1)
        out["first"], out["second"] = first, api.list(limit=1, cursor=first.meta.cursor)
        try:
            api.create(
                name="bad",
                enabled=True,
                filter=[EvaluationRuleFilter_StringOptions(column="userId", operator="any of", value=["u"])],
                evaluator_assignments=[EvaluationRuleEvaluatorAssignmentInput(evaluator_id=evaluator_id)],
            )
        except ApiError as exc:
            out["bad"] = (exc.status_code, exc.body.message, exc.body.code)
        out["deleted"] = api.delete(created.id)
        try:
            api.get(created.id)
        except ApiError as exc:
            out["gone"] = exc.status_code
    return out


async def test_sdk_client_creates_reads_lists_updates_and_deletes(
    live_server: LiveServer, storage: Storage, project: ProjectFixture
) -> None:
    ev = await make_evaluator(storage, project.project_id)
    out = await asyncio.to_thread(sdk_crud, live_server, project, ev)
    created = out["created"]
    assert (created.name, created.enabled, created.sampling) == ("gens", True, 0.5)
    assert [f.column for f in created.filter] == [
        "type",
        "metadata",
        "tags",
        "isExperimentItemRootSpan",
        "parentObservationId",
    ]
    assert created.filter[1].key == "tenant" and created.filter[0].value == ["GENERATION"]
    [assignment] = created.evaluator_assignments
    assert assignment.evaluator_id == ev
    assert [(m.variable, m.source, m.json_path) for m in assignment.variable_mapping] == [
        ("input", "input", None),
        ("output", "metadata", "$.answer"),
    ]
    assert out["same_name"].name == "gens" and out["same_name"].id != created.id  # names may repeat
    assert out["same_name"].evaluator_assignments[0].variable_mapping is None
    assert out["got"].id == created.id and out["got"].created_at == created.created_at
    assert (out["patched"].enabled, out["patched"].sampling, out["patched"].filter) == (False, 1.0, [])
    assert out["first"].data[0].id == out["same_name"].id and out["first"].meta.cursor
    assert out["second"].data[0].id == created.id
    assert (
        out["bad"][0] == 400
        and out["bad"][1].startswith("filter[0].column")
        and out["bad"][2] == "invalid_body"
    )
    assert out["deleted"].id == created.id and out["gone"] == 404


async def _post(client: httpx.AsyncClient, project: ProjectFixture, body: Any) -> httpx.Response:
    return await client.post(URL, json=body, auth=project.auth)


async def test_bad_bodies_are_400_naming_the_field(
    client: httpx.AsyncClient, storage: Storage, project: ProjectFixture
) -> None:
    ev = await make_evaluator(storage, project.project_id)
    ok: dict[str, Any] = {"name": "r", "enabled": True, "evaluatorAssignments": [{"evaluatorId": ev}]}
    cases: list[tuple[Any, str]] = [
        ([1], "body"),
        ({**ok, "name": ""}, "name"),
        ({**ok, "enabled": "yes"}, "enabled"),
        ({k: v for k, v in ok.items() if k != "enabled"}, "enabled"),
        ({**ok, "sampling": None}, "sampling"),
        ({**ok, "sampling": 1.5}, "sampling"),
        ({**ok, "evaluatorAssignments": []}, "evaluatorAssignments"),
        ({**ok, "evaluatorAssignments": [{"evaluatorId": "nope"}]}, "evaluatorAssignments[0].evaluatorId"),
        (
            {**ok, "evaluatorAssignments": [{"evaluatorId": ev}, {"evaluatorId": ev}]},
            "evaluatorAssignments[1]",
        ),
        (
            {**ok, "evaluatorAssignments": [{"evaluatorId": ev, "variableMapping": [{"variable": "input"}]}]},
            "evaluatorAssignments[0].variableMapping[0].source",
        ),
        (
            {
                **ok,
                "evaluatorAssignments": [
                    {"evaluatorId": ev, "variableMapping": [{"variable": "input", "source": "input"}]}
                ],
            },
            "evaluatorAssignments[0].variableMapping: no mapping for output",
        ),
        (
            {
                **ok,
                "evaluatorAssignments": [
                    {
                        "evaluatorId": ev,
                        "variableMapping": [
                            {"variable": "input", "source": "input", "jsonPath": "$..[["},
                            {"variable": "output", "source": "output"},
                        ],
                    }
                ],
            },
            "evaluatorAssignments[0].variableMapping[0].jsonPath",
        ),
        ({**ok, "filter": {"column": "x"}}, "filter"),
        (
            {**ok, "filter": [{"type": "string", "column": "tags", "operator": "=", "value": "a"}]},
            "filter[0].column",
        ),
        ({**ok, "target": "span"}, "target"),
        ({**ok, "target": "session", "sessionIdleMinutes": 0}, "sessionIdleMinutes"),
        ({**ok, "delaySeconds": -1}, "delaySeconds"),
    ]
    for body, field in cases:
        r = await _post(client, project, body)
        assert r.status_code == 400, (body, r.text)
        assert r.json()["message"].startswith(field), (field, r.json()["message"])
    r = await client.post(URL, content=b"{not json", auth=project.auth)
    assert r.status_code == 400
    created = await _post(client, project, {**ok, "target": "session", "delaySeconds": 2})
    assert created.status_code == 201, created.text
    rule = created.json()
    assert (rule["target"], rule["delaySeconds"], rule["sessionIdleMinutes"]) == ("session", 2.0, 30.0)
    rid = rule["id"]
    for body, field in [({}, "body"), ({"sampling": None}, "sampling"), ({"target": 3}, "target")]:
        r = await client.patch(f"{URL}/{rid}", json=body, auth=project.auth)
        assert r.status_code == 400 and r.json()["message"].startswith(field), r.text
    r = await client.patch(f"{URL}/{rid}", json={"evaluatorAssignments": []}, auth=project.auth)
    assert r.status_code == 200 and r.json()["enabled"] is False  # an empty list disables the rule
    r = await client.get(URL, params={"cursor": "garbage"}, auth=project.auth)
    assert r.status_code == 400 and r.json()["message"].startswith("cursor")


async def test_rules_are_project_scoped(
    client: httpx.AsyncClient, storage: Storage, project: ProjectFixture
) -> None:
    ev = await make_evaluator(storage, project.project_id)
    other = await make_project(storage)
    r = await _post(
        client, project, {"name": "r", "enabled": True, "evaluatorAssignments": [{"evaluatorId": ev}]}
    )
    rid = r.json()["id"]
    assert (await client.get(f"{URL}/{rid}", auth=other.auth)).status_code == 404
    assert (await client.delete(f"{URL}/{rid}", auth=other.auth)).status_code == 404
    assert (await client.get(URL, auth=other.auth)).json()["data"] == []
    # another project's evaluator cannot be assigned
    r = await _post(
        client, other, {"name": "r", "enabled": True, "evaluatorAssignments": [{"evaluatorId": ev}]}
    )
    assert r.status_code == 400 and "evaluatorId" in r.json()["message"]

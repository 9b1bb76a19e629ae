"""/api/public/llm-connections and /api/public/v2/evaluators driven by the langfuse 5.2.0 SDK's own
client (its request models are what we parse, its response models parse our answers); bad input is a
400 naming the field."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from app.evaluation import eval_settings
from app.evaluation.eval_settings import SettingsChange
from tests.conftest import LiveServer, ProjectFixture

pytestmark = pytest.mark.integration


def _api(server: LiveServer, project: ProjectFixture) -> Any:
    from langfuse.api import LangfuseAPI

    return LangfuseAPI(base_url=server.base_url, username=project.public_key, password=project.secret_key)


def sdk_round_trip(server: LiveServer, project: ProjectFixture) -> dict[str, Any]:
    from langfuse.api.evaluation_commons import (
        EvaluatorOutputDefinition_Categorical,
        EvaluatorOutputDefinition_Numeric,
        PromptVariableMappingInput,
        PromptVariableMappingSource,
    )
    from langfuse.api.evaluators import (
        CreateEvaluatorRequest_LlmAsJudge,
        EvaluatorChatMessage,
        EvaluatorModelConfig,
        UpdateEvaluatorMetadataRequest,
        UpdateLlmAsJudgeEvaluatorRequest,
    )
    from langfuse.api.llm_connections import LlmAdapter

    api = _api(server, project)
    conn = api.llm_connections.upsert(
        provider="my-gateway",
        adapter=LlmAdapter.OPEN_AI,
        secret_key="sk-secret-abcdefgh1234",
        base_url="http://127.0.0.1:9/v1",
        custom_models=["judge-1"],
        with_default_models=False,
        extra_headers={"x-team": "evals"},
    )
    again = api.llm_connections.upsert(
        provider="my-gateway", adapter=LlmAdapter.OPEN_AI, secret_key="sk-secret-zzzzzzzz9876"
    )
    listed = api.llm_connections.list()
    created = api.evaluators.create(
        request=CreateEvaluatorRequest_LlmAsJudge(
            name="helpfulness",
            description="Is the answer helpful?",
            prompt=[
                EvaluatorChatMessage(role="system", content="You are a strict grader."),
                EvaluatorChatMessage(role="user", content="Q: {{input}}\nA: {{output}}"),
            ],
            model_config_=EvaluatorModelConfig(provider="my-gateway", model="judge-1"),
            variable_mapping=[
                PromptVariableMappingInput(variable="input", source=PromptVariableMappingSource.INPUT),
                PromptVariableMappingInput(
                    variable="output", source=PromptVariableMappingSource.METADATA, json_path="$.answer"
                ),
            ],
            output_definition=EvaluatorOutputDefinition_Numeric(min_value=0, max_value=1),
        )
    )
    renamed = api.evaluators.update(created.id, request=UpdateEvaluatorMetadataRequest(name="helpful"))
    redefined = api.evaluators.update(
        created.id,
        request=UpdateLlmAsJudgeEvaluatorRequest(
            prompt="Rate the tone of {{output}}",
            output_definition=EvaluatorOutputDefinition_Categorical(
                categories=["polite", "rude"], should_allow_multiple_matches=True
            ),
        ),
    )
    got = api.evaluators.get(created.id)
    page = api.evaluators.list(limit=10)
    versions = api.evaluators.list_versions(created.id, limit=1)
    older = api.evaluators.list_versions(created.id, cursor=versions.meta.cursor)
    deleted_conn = api.llm_connections.delete(conn.id)
    paused = api.evaluators.get(created.id)
    deleted = api.evaluators.delete(created.id)
    return locals()


async def test_sdk_round_trip(live_server: LiveServer, project: ProjectFixture) -> None:
    got = await asyncio.to_thread(sdk_round_trip, live_server, project)
    conn, again = got["conn"], got["again"]
    assert conn.provider == "my-gateway" and conn.adapter == "openai" and conn.custom_models == ["judge-1"]
    assert conn.display_secret_key.endswith("1234") and "secret" not in conn.model_dump_json()
    assert again.id == conn.id and again.display_secret_key.endswith("9876")  # upserted by provider
    assert conn.extra_header_keys == ["x-team"] and again.extra_header_keys == ["x-team"]  # omitted: kept
    assert "gpt-4.1-mini" in again.custom_models  # default models unless withDefaultModels is false
    assert [c.id for c in got["listed"].data] == [conn.id] and got["listed"].meta.total_items == 1
    created = got["created"]
    assert created.type == "llm_as_judge" and created.version == 1 and created.status == "active"
    assert created.variables == ["input", "output"] and created.model_config_.model == "judge-1"
    assert created.variable_mapping[1].json_path == "$.answer"
    assert created.output_definition.data_type == "NUMERIC" and created.output_definition.max_value == 1
    assert got["renamed"].name == "helpful" and got["renamed"].version == 1  # metadata: same version
    redefined = got["redefined"]
    assert redefined.version == 2 and redefined.model_config_ is None  # the project's default model
    assert redefined.prompt[0].role == "user" and redefined.variables == ["output"]
    assert redefined.output_definition.categories == ["polite", "rude"]
    assert got["got"].version_id == redefined.version_id
    assert [e.id for e in got["page"].data] == [created.id]
    assert [v.version for v in got["versions"].data] == [2] and got["versions"].meta.cursor
    assert [v.version for v in got["older"].data] == [1] and got["older"].meta.cursor is None
    assert got["older"].data[0].output_definition.data_type == "NUMERIC"
    assert "deleted" in got["deleted_conn"].message
    assert got["paused"].status == "active"  # version 2 uses the default model, not the gateway
    assert got["deleted"].id == created.id


async def test_bad_input_is_400_naming_the_field(client, storage, project: ProjectFixture) -> None:
    auth = project.auth
    conn = {"provider": "gw", "adapter": "openai", "secretKey": "sk-0123456789abcdef"}
    for bad, needle in (
        ({**conn, "adapter": "bedrock"}, "adapter"),
        ({**conn, "secretKey": ""}, "secretKey"),
        ({**conn, "baseURL": "ftp://x"}, "baseURL"),
        ({**conn, "customModels": "gpt"}, "customModels"),
        ({k: v for k, v in conn.items() if k != "provider"}, "provider"),
        ([], "body"),
    ):
        r = await client.put("/api/public/llm-connections", json=bad, auth=auth)
        assert r.status_code == 400 and needle in r.json()["message"], r.text
    assert (await client.put("/api/public/llm-connections", json=conn, auth=auth)).status_code == 200
    assert (await client.delete("/api/public/llm-connections/nope", auth=auth)).status_code == 404
    good = {
        "type": "llm_as_judge",
        "name": "judge",
        "prompt": "Judge {{output}}",
        "outputDefinition": {"dataType": "BOOLEAN"},
    }
    for bad, needle in (
        ({**good, "prompt": 5}, "prompt"),
        ({**good, "outputDefinition": {"dataType": "NUMERIC", "minValue": "a"}}, "outputDefinition.minValue"),
        ({**good, "modelConfig": {"provider": "missing", "model": "m"}}, "modelConfig.provider"),
        ({**good, "variableMapping": [{"variable": "output", "source": "x"}]}, "variableMapping[0].source"),
        ({**good, "name": None}, "name"),
        ({**good, "type": 3}, "type"),
        ({"type": "code", "name": "c", "sourceCode": "x", "sourceCodeLanguage": "PYTHON"}, "disabled"),
        (
            {"type": "code", "name": "c", "sourceCode": "x", "sourceCodeLanguage": "TYPESCRIPT"},
            "sourceCodeLang",
        ),
    ):
        r = await client.post("/api/public/v2/evaluators", json=bad, auth=auth)
        assert r.status_code == 400 and needle in r.json()["message"], (bad, r.text)
    made = (await client.post("/api/public/v2/evaluators", json=good, auth=auth)).json()
    url = f"/api/public/v2/evaluators/{made['id']}"
    for bad, needle in (
        ({}, "body"),
        ({"type": "code", "sourceCode": "x"}, "type"),
        ({"name": None}, "name"),
    ):
        r = await client.patch(url, json=bad, auth=auth)
        assert r.status_code == 400 and needle in r.json()["message"], (bad, r.text)
    for query, needle in (("limit=0", "limit"), ("limit=101", "limit"), ("cursor=zz", "cursor")):
        r = await client.get(f"/api/public/v2/evaluators?{query}", auth=auth)
        assert r.status_code == 400 and needle in r.json()["message"], (query, r.text)
    assert (await client.get("/api/public/v2/evaluators/nope", auth=auth)).status_code == 404
    assert (await client.get("/api/public/v2/evaluators/nope/versions", auth=auth)).status_code == 404
    # code evaluators once an admin enables them
    await eval_settings.save_settings(storage, project.project_id, SettingsChange(None, None, None, True))
    code = {
        "type": "code",
        "name": "c",
        "sourceCode": "def evaluate(**v):\n  return 1",
        "sourceCodeLanguage": "PYTHON",
    }
    r = await client.post("/api/public/v2/evaluators", json=code, auth=auth)
    assert r.status_code == 201 and r.json()["sourceCodeLanguage"] == "PYTHON", r.text
    from langfuse.api.core.pydantic_utilities import parse_obj_as
    from langfuse.api.evaluators import Evaluator

    assert parse_obj_as(Evaluator, r.json()).source_code_language == "PYTHON"  # type: ignore[arg-type]
    # another project sees none of it
    other = await client.get(f"/api/public/v2/evaluators/{made['id']}", auth=("pk-lf-x", "sk-lf-x"))
    assert other.status_code == 401


def sdk_errors(server: LiveServer, project: ProjectFixture) -> list[Any]:
    from langfuse.api.evaluation_commons import EvaluatorOutputDefinition_Boolean
    from langfuse.api.evaluators import CreateEvaluatorRequest_LlmAsJudge, EvaluatorModelConfig

    api = _api(server, project)
    raised: list[Any] = []
    for call in (
        lambda: api.evaluators.get("nope"),
        lambda: api.evaluators.create(
            request=CreateEvaluatorRequest_LlmAsJudge(
                name="j",
                prompt="Judge {{output}}",
                model_config_=EvaluatorModelConfig(provider="absent", model="m"),
                output_definition=EvaluatorOutputDefinition_Boolean(),
            )
        ),
    ):
        try:
            call()
        except Exception as exc:  # the SDK's own error classes are what is checked
            raised.append(exc)
    return raised


async def test_sdk_raises_its_own_errors(live_server: LiveServer, project: ProjectFixture) -> None:
    """Error answers carry the `code` the SDK's PublicApiError needs, so it raises its typed errors."""
    from langfuse.api.evaluation_errors import BadRequestError, EvaluationNotFoundError

    missing, bad = await asyncio.to_thread(sdk_errors, live_server, project)
    assert isinstance(missing, EvaluationNotFoundError) and missing.body.code == "resource_not_found"
    assert isinstance(bad, BadRequestError) and "modelConfig.provider" in bad.body.message

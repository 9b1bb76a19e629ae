"""Evaluators (domain): versions on definition changes, pause/resume, settings, connection checks."""

from __future__ import annotations

import pytest

from app.errors import InvalidInput, NotFound
from app.evaluation import eval_settings, evaluators
from app.evaluation.eval_settings import SettingsChange
from app.evaluation.evaluator_specs import EvaluatorDefinition
from app.evaluation.evaluators import EvaluatorChange
from app.playground import connections
from app.playground.connections import LlmConnectionSpec
from app.storage import Storage
from app.storage.postgres import evaluators as repo
from tests.conftest import ProjectFixture

pytestmark = pytest.mark.integration

PROMPT = [
    {"role": "system", "content": "You grade answers."},
    {"role": "user", "content": "Question: {{input}}\nAnswer: {{ output }}\nAgain {{input}}"},
]
NUMERIC = {"dataType": "NUMERIC", "minValue": 0, "maxValue": 1}


def judge(**kw: object) -> EvaluatorDefinition:
    base: dict[str, object] = {"type": "llm_as_judge", "prompt": PROMPT, "output_definition": NUMERIC}
    return EvaluatorDefinition(**(base | kw))  # type: ignore[arg-type]


async def add_connection(storage: Storage, project_id: str, name: str = "gw") -> str:
    spec = LlmConnectionSpec(name, "openai", "http://127.0.0.1:9/v1", ["judge-model"], "sk-test-0123456789")
    return (await connections.create_connection(storage, project_id, spec)).connection_id


async def test_versions_pause_and_resume(storage: Storage, project: ProjectFixture) -> None:
    pid = project.project_id
    await add_connection(storage, pid)
    view = await evaluators.create_evaluator(storage, pid, " helpful ", None, judge())
    e_id = view.evaluator.id
    assert view.evaluator.name == "helpful" and view.version.version == 1
    assert view.version.variables == ["input", "output"] and view.version.judge_model is None
    # metadata only: no new version
    await evaluators.update_evaluator(storage, pid, e_id, EvaluatorChange(name="helpful2"))
    assert (await evaluators.latest_version(storage, pid, e_id)).version == 1
    # same definition again: no new version; another model: version 2
    await evaluators.update_evaluator(storage, pid, e_id, EvaluatorChange(definition=judge()))
    assert (await evaluators.latest_version(storage, pid, e_id)).version == 1
    model = {"provider": "gw", "model": "judge-model"}
    await evaluators.pause(storage, pid, e_id, "model 'x' does not exist", "unknown_model")
    paused = await evaluators.get_evaluator(storage, pid, e_id)
    assert paused.evaluator.status == "paused" and paused.pause_code == "unknown_model"
    assert paused.pause_message == "model 'x' does not exist" and paused.evaluator.paused_at is not None
    changed = await evaluators.update_evaluator(
        storage, pid, e_id, EvaluatorChange(definition=judge(model_config=model))
    )
    assert changed.version.version == 2 and changed.version.judge_model == model
    assert changed.evaluator.status == "active"  # a new model cures an unknown-model pause
    await evaluators.pause(storage, pid, e_id, "401 from the provider", "authentication_failed")
    out = {"dataType": "BOOLEAN"}
    again = await evaluators.update_evaluator(
        storage, pid, e_id, EvaluatorChange(definition=judge(output_definition=out))
    )
    assert again.version.version == 3 and again.evaluator.status == "paused"  # a bad key stays paused
    assert (await evaluators.resume(storage, pid, e_id)).status == "active"
    # a reason written without a code is still classified (and cured by a new model)
    await repo.set_status(storage.postgres, pid, e_id, "paused", "unknown model: 404 model_not_found")
    view = await evaluators.get_evaluator(storage, pid, e_id)
    assert (view.pause_code, view.pause_message) == ("unknown_model", "unknown model: 404 model_not_found")
    await evaluators.update_evaluator(
        storage, pid, e_id, EvaluatorChange(definition=judge(output_definition=NUMERIC))
    )
    assert (await evaluators.fetch_evaluator(storage, pid, e_id)).status == "active"
    versions, cursor = await evaluators.list_versions(storage, pid, e_id, limit=2)
    assert [v.version for v in versions] == [4, 3] and cursor
    rest, end = await evaluators.list_versions(storage, pid, e_id, limit=2, cursor=cursor)
    assert [v.version for v in rest] == [2, 1] and end is None
    # deleting the connection pauses the evaluators using it
    await evaluators.update_evaluator(
        storage, pid, e_id, EvaluatorChange(definition=judge(model_config=model))
    )
    conn = (await connections.list_connections(storage, pid))[0]
    assert await evaluators.pause_for_connection(storage, pid, conn.name) == [e_id]
    assert (await evaluators.get_evaluator(storage, pid, e_id)).pause_code == "connection_missing"


async def test_invalid_definitions_name_the_field(storage: Storage, project: ProjectFixture) -> None:
    pid = project.project_id
    cases = [
        (judge(prompt=[]), "prompt"),
        (judge(prompt=[{"role": "tool", "content": "x"}]), "prompt[0].role"),
        (judge(output_definition={"dataType": "TEXT"}), "outputDefinition.dataType"),
        (
            judge(output_definition={"dataType": "NUMERIC", "minValue": 2, "maxValue": 1}),
            "outputDefinition.minValue",
        ),
        (
            judge(output_definition={"dataType": "CATEGORICAL", "categories": []}),
            "outputDefinition.categories",
        ),
        (judge(output_definition={"dataType": "CATEGORICAL", "categories": ["a", "a"]}), "categories"),
        (judge(model_config={"provider": "nope", "model": "m"}), "modelConfig.provider"),
        (judge(model_config={"provider": "gw"}), "modelConfig.model"),
        (judge(variable_mapping=[{"variable": "nope", "source": "input"}]), "variableMapping[0].variable"),
        (judge(variable_mapping=[{"variable": "input", "source": "body"}]), "variableMapping[0].source"),
        (
            judge(variable_mapping=[{"variable": "input", "source": "metadata", "jsonPath": "a.b"}]),
            "jsonPath",
        ),
        (EvaluatorDefinition(type="regex"), "type"),
        (
            EvaluatorDefinition(
                type="code", source_code="def evaluate(): pass", source_code_language="PYTHON"
            ),
            "disabled",
        ),
    ]
    for definition, needle in cases:
        with pytest.raises(InvalidInput, match=needle.replace("[", r"\[").replace("]", r"\]")):
            await evaluators.create_evaluator(storage, pid, "x", None, definition)
    with pytest.raises(InvalidInput, match="name"):
        await evaluators.create_evaluator(storage, pid, "  ", None, judge())
    first = await evaluators.create_evaluator(storage, pid, "dup", None, judge())
    second = await evaluators.create_evaluator(storage, pid, "dup", None, judge())  # names repeat (SDK)
    assert first.evaluator.id != second.evaluator.id
    with pytest.raises(NotFound):
        await evaluators.latest_version(storage, pid, "missing")
    page, cursor = await evaluators.list_evaluators(storage, pid, limit=1)
    assert [v.evaluator.id for v in page] == [second.evaluator.id] and cursor  # newest first
    page, cursor = await evaluators.list_evaluators(storage, pid, limit=1, cursor=cursor)
    assert [v.evaluator.id for v in page] == [first.evaluator.id] and cursor is None


async def test_settings_defaults_and_code_evaluators(storage: Storage, project: ProjectFixture) -> None:
    pid = project.project_id
    defaults = await eval_settings.get_settings(storage, pid)
    assert defaults.code_evaluators_enabled is False and defaults.default_model is None
    assert await eval_settings.default_model(storage, pid) is None
    conn_id = await add_connection(storage, pid)
    with pytest.raises(InvalidInput, match="defaultModel"):
        await eval_settings.save_settings(storage, pid, SettingsChange(conn_id, None, None, False))
    with pytest.raises(InvalidInput, match="defaultConnectionId"):
        await eval_settings.save_settings(storage, pid, SettingsChange("other", "m", None, False))
    with pytest.raises(InvalidInput, match="dailyCostCapUsd"):
        await eval_settings.save_settings(storage, pid, SettingsChange(None, None, -1.0, False))
    await eval_settings.save_settings(storage, pid, SettingsChange(conn_id, "judge-model", 2.5, True))
    saved = await eval_settings.get_settings(storage, pid)
    assert saved.daily_cost_cap_usd == 2.5 and saved.code_evaluators_enabled is True
    default = await eval_settings.default_model(storage, pid)
    assert default is not None and (default.connection_name, default.model) == ("gw", "judge-model")
    plain = await evaluators.create_evaluator(storage, pid, "plain", None, judge())
    resolved = await evaluators.judge_model(storage, pid, plain.version)
    assert resolved is not None and (resolved.connection_id, resolved.model) == (conn_id, "judge-model")
    own = judge(model_config={"provider": "gw", "model": "other", "modelParams": {"temperature": 0}})
    mine = await evaluators.create_evaluator(storage, pid, "own", None, own)
    resolved = await evaluators.judge_model(storage, pid, mine.version)
    assert resolved is not None and (resolved.model, resolved.params) == ("other", {"temperature": 0})
    await connections.delete_connection(storage, pid, conn_id)
    assert await evaluators.judge_model(storage, pid, mine.version) is None
    assert (
        await evaluators.judge_model(storage, pid, plain.version) is None
    )  # the default's connection is gone
    code = EvaluatorDefinition(
        type="code", source_code="def evaluate(**v):\n    return 1", source_code_language="PYTHON"
    )
    made = await evaluators.create_evaluator(storage, pid, "code", None, code)
    assert made.version.source_code_language == "PYTHON" and made.evaluator.type == "code"
    for source, why in (("def evaluate(:\n", "sourceCode: line 1"), ("x = 1", "must define evaluate")):
        broken = EvaluatorDefinition(type="code", source_code=source, source_code_language="PYTHON")
        with pytest.raises(InvalidInput, match=why):  # refused when saved, not when it first runs
            await evaluators.create_evaluator(storage, pid, "broken", None, broken)
    with pytest.raises(InvalidInput, match="type"):
        await evaluators.update_evaluator(
            storage, pid, made.evaluator.id, EvaluatorChange(definition=judge())
        )

"""Everything before a judge call: which connection and model (the evaluator's, else the project's
default), the target's values, the rendered prompt and the answer's schema. Shared by runs and preview."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from app.errors import NotFound
from app.evaluation import evaluators
from app.evaluation.evaluators import PauseCode
from app.evaluation.judge_inputs import TargetValues, fill_variables, target_values
from app.evaluation.judge_output import OutputSpec, answer_schema, output_spec
from app.evaluation.judge_types import JudgeTarget, VariableMap, variable_maps
from app.playground import connections
from app.playground.judge_calls import JudgeRequest
from app.playground.template import compile_template, find_variables
from app.storage import Storage
from app.storage.postgres.eval_tables import EvaluatorVersion

MODEL_PARAMS = ("temperature", "max_tokens", "top_p")
ENDPOINT_TTL_S = 5.0


class JudgeSetupError(Exception):
    """The judge cannot be called as configured (no model, unknown connection): pause the evaluator."""

    def __init__(self, message: str, code: PauseCode) -> None:
        super().__init__(message)
        self.code: PauseCode = code


@dataclass(frozen=True, slots=True)
class PreparedJudge:
    """A judge call ready to send, with what it was made from."""

    request: JudgeRequest
    spec: OutputSpec
    values: TargetValues
    variables: dict[str, str]
    connection_id: str
    connection_name: str


def prompt_messages(prompt: object) -> list[dict[str, str]]:
    """The stored prompt as chat messages (a bare string is one user message)."""
    if isinstance(prompt, str):
        return [{"role": "user", "content": prompt}]
    out = []
    for m in prompt if isinstance(prompt, list) else []:
        if isinstance(m, dict) and isinstance(m.get("content"), str):
            out.append({"role": str(m.get("role") or "user"), "content": m["content"]})
    return out


def render(prompt: object, variables: dict[str, str]) -> list[dict[str, str]]:
    """The prompt's messages with `{{variables}}` filled."""
    return [{**m, "content": compile_template(m["content"], variables)} for m in prompt_messages(prompt)]


def prompt_variables(version: EvaluatorVersion) -> list[str]:
    """The version's variables (stored, else those its prompt names)."""
    if version.variables:
        return list(version.variables)
    texts = [m["content"] for m in prompt_messages(version.prompt)]
    return list(dict.fromkeys(v for t in texts for v in find_variables(t)))


def _params(raw: object) -> dict[str, Any]:
    if not isinstance(raw, dict):
        return {}
    named = {"maxTokens": "max_tokens", "topP": "top_p", **{p: p for p in MODEL_PARAMS}}
    return {named[k]: v for k, v in raw.items() if k in named and isinstance(v, int | float)}


Resolved = tuple[connections.Endpoint, str, dict[str, Any]]
_resolved: dict[tuple[str, str], tuple[float, Resolved]] = {}


async def judge_endpoint(storage: Storage, project_id: str, version: EvaluatorVersion) -> Resolved:
    """The connection (with its key), model and parameters a version judges with, cached per process
    for ENDPOINT_TTL_S (a changed key or default model is seen within that); JudgeSetupError (with the
    evaluator's pause code) when there are none."""
    key, now = (project_id, version.id), time.monotonic()
    hit = _resolved.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    if len(_resolved) > 10_000:
        _resolved.clear()
    resolved = await _resolve(storage, project_id, version)
    _resolved[key] = (now + ENDPOINT_TTL_S, resolved)
    return resolved


async def _resolve(storage: Storage, project_id: str, version: EvaluatorVersion) -> Resolved:
    found = await evaluators.judge_model(storage, project_id, version)
    if found is None and isinstance(version.judge_model, dict):
        name = version.judge_model.get("provider")
        raise JudgeSetupError(
            f"the LLM connection {name!r} does not exist in this project", "connection_missing"
        )
    if found is None:
        raise JudgeSetupError(
            "no judge model: set one on the evaluator or a default model in the evaluation settings",
            "model_config_invalid",
        )
    try:
        endpoint = await connections.endpoint(storage, project_id, found.connection_id)
    except NotFound:
        raise JudgeSetupError("the judge's LLM connection is gone", "connection_missing") from None
    return endpoint, found.model, _params(found.params)


async def prepare_judge(
    storage: Storage,
    project_id: str,
    version: EvaluatorVersion,
    target: JudgeTarget,
    mapping: list[VariableMap] | None = None,
    observation: Any = None,
) -> PreparedJudge:
    """Resolve the model, read the target (NotFound if gone; an observation already read is reused),
    render the prompt, build the call."""
    endpoint, model, params = await judge_endpoint(storage, project_id, version)
    values = await target_values(storage, project_id, target, observation)
    maps = mapping if mapping else variable_maps(version.variable_mapping)
    variables = fill_variables(values, maps, prompt_variables(version))
    spec = output_spec(version.output_definition)
    conn = endpoint.connection
    request = JudgeRequest(
        provider=conn.provider,
        base_url=conn.base_url,
        api_key=endpoint.api_key,
        model=model,
        messages=render(version.prompt, variables),
        schema=answer_schema(spec),
        params=params,
        timeout_s=storage.settings.llm_timeout_seconds,
        extra_headers=endpoint.extra_headers,
    )
    return PreparedJudge(request, spec, values, variables, conn.connection_id, conn.name)

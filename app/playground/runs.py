"""One playground run: the page's state (as its form posts it), checks before the call, the streamed
call with usage, cost and latency, and the trace events that record it in the project."""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from app.errors import InvalidInput
from app.playground import connections
from app.playground.providers import ChatRequest, ModelParams, ProviderError, Usage, stream_chat
from app.playground.template import (
    compile_prompt,
    parse_messages,
    placeholders_of,
    variables_of,
)
from app.prompts.content import ChatItem, ChatMessage, Placeholder, PromptContent
from app.storage import Storage
from app.tracing import model_catalog
from app.tracing.costs import match_model, price_usage

ROLES = ("system", "user", "assistant")
TAG = "playground"
VAR_PREFIX, PLACEHOLDER_PREFIX = "var:", "ph:"
MAX_VARIABLES = 200
Form = Mapping[str, Sequence[str]]
NEW_CHAT = PromptContent("chat", messages=(ChatMessage("system", ""), ChatMessage("user", "")))
NO_PARAMS = ModelParams()


@dataclass(frozen=True, slots=True)
class PlaygroundState:
    """Everything the playground page holds; its form posts exactly this."""

    content: PromptContent = NEW_CHAT
    variables: dict[str, str] = field(default_factory=dict)
    placeholders: dict[str, str] = field(default_factory=dict)  # name → JSON list of messages
    connection_id: str = ""
    model: str = ""
    params: ModelParams = NO_PARAMS
    prompt_name: str | None = None
    prompt_version: int | None = None

    @property
    def variable_names(self) -> list[str]:
        return variables_of(self.content)

    @property
    def placeholder_names(self) -> list[str]:
        return placeholders_of(self.content)


def _one(form: Form, key: str) -> str:
    values = form.get(key) or [""]
    return values[0]


def _number(form: Form, key: str, low: float, high: float, integer: bool = False) -> Any:
    text = _one(form, key).strip()
    if not text:
        return None
    try:
        value = int(text) if integer else float(text)
    except ValueError:
        raise InvalidInput(f"{key} must be {'a whole number' if integer else 'a number'}") from None
    if not (low <= value <= high) or not math.isfinite(value):
        raise InvalidInput(f"{key} must be between {low:g} and {high:g}")
    return value


def content_from_form(form: Form) -> PromptContent:
    """The prompt of a form with `mode` (chat|text), `text`, and message rows `msg_kind`, `msg_role`,
    `msg_content` (a placeholder row holds its name); InvalidInput names the row that is wrong."""
    if _one(form, "mode") == "text":
        return PromptContent("text", text=_one(form, "text"))
    kinds, roles, contents = (list(form.get(k) or []) for k in ("msg_kind", "msg_role", "msg_content"))
    if not len(kinds) == len(roles) == len(contents):
        raise InvalidInput("msg_kind, msg_role and msg_content must come once per message row")
    items: list[ChatItem] = []
    for index, (kind, role, content) in enumerate(zip(kinds, roles, contents, strict=True)):
        if kind == "placeholder":
            if not content.strip():
                raise InvalidInput(f"message {index + 1}: a placeholder needs a name")
            items.append(Placeholder(content.strip()))
        elif role not in ROLES:
            raise InvalidInput(f"message {index + 1}: role must be one of {', '.join(ROLES)}")
        else:
            items.append(ChatMessage(role, content))
    if len(items) > 200:
        raise InvalidInput("at most 200 message rows")
    return PromptContent("chat", messages=tuple(items))


def state_from_form(form: Form) -> PlaygroundState:
    """The page state from its posted form; InvalidInput names the field that is wrong."""
    target = _one(form, "target")
    connection_id, _, model = target.partition(":")
    version = _one(form, "prompt_version").strip()
    if version and not version.isdigit():
        raise InvalidInput("prompt_version must be a whole number")
    named = {
        k: (v[0] if v else "") for k, v in form.items() if k.startswith((VAR_PREFIX, PLACEHOLDER_PREFIX))
    }
    if len(named) > MAX_VARIABLES:
        raise InvalidInput(f"at most {MAX_VARIABLES} variables and placeholders")
    return PlaygroundState(
        content=content_from_form(form),
        variables={k[len(VAR_PREFIX) :]: v for k, v in named.items() if k.startswith(VAR_PREFIX)},
        placeholders={
            k[len(PLACEHOLDER_PREFIX) :]: v for k, v in named.items() if k.startswith(PLACEHOLDER_PREFIX)
        },
        connection_id=connection_id,
        model=model,
        params=ModelParams(
            temperature=_number(form, "temperature", 0, 2),
            max_tokens=_number(form, "max_tokens", 1, 1_000_000, integer=True),
            top_p=_number(form, "top_p", 0, 1),
        ),
        prompt_name=_one(form, "prompt_name").strip()[:255] or None,
        prompt_version=int(version) if version else None,
    )


@dataclass(frozen=True, slots=True)
class PreparedRun:
    """A checked run: the endpoint to call and the compiled messages."""

    state: PlaygroundState
    endpoint: connections.Endpoint
    messages: list[dict[str, Any]]


async def prepare_run(storage: Storage, project_id: str, state: PlaygroundState) -> PreparedRun:
    """Check the run and compile its messages (InvalidInput/NotFound before anything is called)."""
    if not state.connection_id or not state.model:
        raise InvalidInput("target: choose an LLM connection and a model")
    endpoint = await connections.endpoint(storage, project_id, state.connection_id)
    if state.model not in endpoint.connection.models:
        raise InvalidInput(f"target: model {state.model!r} is not one of the connection's models")
    placeholders = {
        name: parse_messages(state.placeholders.get(name, ""), f"placeholder {name!r}")
        for name in state.placeholder_names
    }
    messages = compile_prompt(state.content, state.variables, placeholders)
    if not any(str(m.get("content", "")).strip() for m in messages):
        raise InvalidInput("the prompt is empty: write at least one message")
    return PreparedRun(state, endpoint, messages)


@dataclass(frozen=True, slots=True)
class RunResult:
    """How a run ended: output, usage, cost (USD), timings, and the trace that records it."""

    trace_id: str
    observation_id: str
    output: str
    usage: dict[str, int]
    cost: dict[str, Decimal]
    started_at: datetime
    ended_at: datetime
    first_token_at: datetime | None
    error: str | None

    @property
    def latency_ms(self) -> int:
        return round((self.ended_at - self.started_at).total_seconds() * 1000)

    def summary(self) -> dict[str, Any]:
        """What the page shows after the answer."""
        first = self.first_token_at
        return {
            "traceId": self.trace_id,
            "usage": self.usage,
            "cost": str(self.cost["total"]) if "total" in self.cost else None,
            "latencyMs": self.latency_ms,
            "timeToFirstTokenMs": round((first - self.started_at).total_seconds() * 1000) if first else None,
            "error": self.error,
        }


async def execute(storage: Storage, project_id: str, run: PreparedRun) -> AsyncIterator[str | RunResult]:
    """Stream the answer's text deltas, then one RunResult; a provider failure ends in a RunResult with
    `error` set (it is never raised)."""
    conn, params = run.endpoint.connection, run.state.params
    request = ChatRequest(
        conn.provider,
        conn.base_url,
        run.endpoint.api_key,
        run.state.model,
        run.messages,
        params,
        run.endpoint.extra_headers,
    )
    started, clock = datetime.now(UTC), time.monotonic()
    first: datetime | None = None
    parts: list[str] = []
    usage: Usage | None = None
    error = None
    try:
        async for item in stream_chat(request, storage.settings.llm_timeout_seconds):
            if isinstance(item, Usage):
                usage = item
                continue
            first = first or datetime.now(UTC)
            parts.append(item)
            yield item
    except ProviderError as exc:
        error = str(exc)
    ended = started + timedelta(seconds=time.monotonic() - clock)
    tokens = (
        {"input": usage.input, "output": usage.output, "total": usage.input + usage.output} if usage else {}
    )
    yield RunResult(
        trace_id=uuid.uuid4().hex,
        observation_id=uuid.uuid4().hex,
        output="".join(parts),
        usage=tokens,
        cost=await _cost(storage, project_id, run.state.model, tokens, started),
        started_at=started,
        ended_at=ended,
        first_token_at=first,
        error=error,
    )


async def _cost(
    storage: Storage, project_id: str, model: str, usage: dict[str, int], at: datetime
) -> dict[str, Decimal]:
    """Cost from the project's model prices (then the built-in table), as ingestion computes it."""
    price = match_model(await model_catalog.prices_for(storage, project_id), model, at) if usage else None
    return price_usage(price, usage) if price else {}


def trace_events(run: PreparedRun, result: RunResult) -> list[dict[str, Any]]:
    """Langfuse batch events (a trace and its GENERATION) that record the run through ingestion."""
    state, conn = run.state, run.endpoint.connection
    now = datetime.now(UTC).isoformat()
    metadata = {"source": TAG, "connection": conn.name, "provider": conn.provider}
    generation: dict[str, Any] = {
        "id": result.observation_id,
        "traceId": result.trace_id,
        "name": state.prompt_name or TAG,
        "startTime": result.started_at.isoformat(),
        "endTime": result.ended_at.isoformat(),
        "completionStartTime": result.first_token_at.isoformat() if result.first_token_at else None,
        "model": state.model,
        "modelParameters": state.params.as_dict(),
        "input": run.messages,
        "output": result.output,
        "usageDetails": result.usage or None,
        "costDetails": {k: str(v) for k, v in result.cost.items()} or None,
        "promptName": state.prompt_name if state.prompt_version is not None else None,
        "promptVersion": state.prompt_version,
        "level": "ERROR" if result.error else "DEFAULT",
        "statusMessage": result.error,
        "metadata": metadata,
    }
    trace = {
        "id": result.trace_id,
        "name": TAG,
        "timestamp": result.started_at.isoformat(),
        "input": run.messages,
        "output": result.output,
        "tags": [TAG],
        "metadata": metadata,
    }
    return [
        {"id": uuid.uuid4().hex, "type": "trace-create", "timestamp": now, "body": trace},
        {
            "id": uuid.uuid4().hex,
            "type": "generation-create",
            "timestamp": now,
            "body": {k: v for k, v in generation.items() if v is not None},
        },
    ]

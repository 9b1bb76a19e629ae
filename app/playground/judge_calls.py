"""One non-streaming structured call to a judge model: OpenAI-compatible `json_schema` response format
(falling back to tool calling where the endpoint refuses it) and Anthropic tool use. Failures are
classified so that the caller knows whether to retry, pause the evaluator or give up."""

from __future__ import annotations

import asyncio
import functools
import json
import ssl
import weakref
from dataclasses import dataclass, field
from typing import Any, Literal

from app.playground.providers import ANTHROPIC_VERSION, Usage, _error_message, with_extra

TOOL_NAME = "score"
MAX_RAW_CHARS = 20_000
ErrorKind = Literal["retryable", "auth", "model", "other"]
_MODEL_MARKERS = ("model_not_found", "does not exist", "unknown model", "model not found", "no such model")
_SCHEMA_REFUSALS = ("response_format", "json_schema", "structured output")


class JudgeCallError(Exception):
    """The call failed; `kind` says what to do: retry later, pause the evaluator (auth, model), or stop."""

    def __init__(self, kind: ErrorKind, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.kind: ErrorKind = kind
        self.message = message
        self.status = status


@dataclass(frozen=True, slots=True)
class JudgeRequest:
    """A judge call: where, which model, the rendered messages and the JSON schema of the answer."""

    provider: str  # openai | anthropic
    base_url: str
    api_key: str
    model: str
    messages: list[dict[str, Any]]
    schema: dict[str, Any]
    params: dict[str, Any]
    timeout_s: float
    extra_headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class JudgeAnswer:
    """The model's answer: its raw text (kept when it breaks the schema), the decoded object if it is
    one, and the usage reported."""

    raw: str
    parsed: dict[str, Any] | None
    usage: Usage | None
    mode: str  # json_schema | tools | anthropic_tools


def classify(status: int, message: str) -> ErrorKind:
    """What an HTTP failure means for a judge: 429/5xx retry, 401/403 bad key, 404/unknown model."""
    lowered = message.lower()
    if status == 429 or status >= 500:
        return "retryable"
    if status in (401, 403):
        return "auth"
    if status == 404 or any(m in lowered for m in _MODEL_MARKERS):
        return "model"
    return "other"


def _decoded(raw: str) -> dict[str, Any] | None:
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _openai_body(req: JudgeRequest, tools: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"model": req.model, "messages": req.messages, **req.params}
    if tools:
        function = {"name": TOOL_NAME, "description": "Record the judgment.", "parameters": req.schema}
        body["tools"] = [{"type": "function", "function": function}]
        body["tool_choice"] = {"type": "function", "function": {"name": TOOL_NAME}}
    else:
        schema = {"name": "response", "strict": True, "schema": req.schema}
        body["response_format"] = {"type": "json_schema", "json_schema": schema}
    return body


def _openai_answer(payload: dict[str, Any], mode: str) -> JudgeAnswer:
    choices = payload.get("choices") or [{}]
    message = (choices[0] or {}).get("message") or {}
    raw = message.get("content") or ""
    for call in message.get("tool_calls") or []:
        raw = str(((call or {}).get("function") or {}).get("arguments") or "")
        break
    usage = payload.get("usage") or {}
    reported = Usage(int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0))
    raw = str(raw)[:MAX_RAW_CHARS]
    return JudgeAnswer(raw, _decoded(raw), reported if usage else None, mode)


def _anthropic_body(req: JudgeRequest) -> dict[str, Any]:
    system = "\n\n".join(str(m["content"]) for m in req.messages if m["role"] == "system")
    body: dict[str, Any] = {
        "model": req.model,
        "messages": [m for m in req.messages if m["role"] != "system"] or [{"role": "user", "content": "-"}],
        "tools": [{"name": TOOL_NAME, "description": "Record the judgment.", "input_schema": req.schema}],
        "tool_choice": {"type": "tool", "name": TOOL_NAME},
        "max_tokens": 1024,
        **req.params,
    }
    if system:
        body["system"] = system
    return body


def _anthropic_answer(payload: dict[str, Any]) -> JudgeAnswer:
    raw, parsed = "", None
    for block in payload.get("content") or []:
        if isinstance(block, dict) and block.get("type") == "tool_use":
            value = block.get("input")
            raw = json.dumps(value)
            parsed = value if isinstance(value, dict) else None
            break
        if isinstance(block, dict) and block.get("type") == "text":
            raw += str(block.get("text") or "")
    usage = payload.get("usage") or {}
    reported = Usage(int(usage.get("input_tokens") or 0), int(usage.get("output_tokens") or 0))
    raw = raw[:MAX_RAW_CHARS]
    return JudgeAnswer(
        raw, parsed if parsed is not None else _decoded(raw), reported if usage else None, "anthropic_tools"
    )


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context for every call: loading the CA bundle costs ~25 ms of CPU each time."""
    return ssl.create_default_context()


# One pooled HTTP session per event loop: judges call the same provider again and again (a client per call
# paid a new connection, and a TLS handshake, per judgment). aiohttp, not httpx, on this hot path: it costs
# about half the interpreter time per call, and the worker's loop is what bounds judgments per second.
_sessions: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = weakref.WeakKeyDictionary()


def _session() -> Any:
    import aiohttp

    loop = asyncio.get_running_loop()
    if (session := _sessions.get(loop)) is None or session.closed:
        connector = aiohttp.TCPConnector(limit=0, ssl=_tls())
        session = _sessions[loop] = aiohttp.ClientSession(connector=connector, auto_decompress=True)
    return session


async def close_sessions() -> None:
    """Close this event loop's pooled session (on shutdown)."""
    if (session := _sessions.pop(asyncio.get_running_loop(), None)) is not None:
        await session.close()


async def _post(url: str, headers: dict[str, str], body: dict[str, Any], timeout_s: float) -> dict[str, Any]:
    import aiohttp

    try:
        async with _session().post(
            url,
            data=json.dumps(body),
            headers={"content-type": "application/json", **headers},
            timeout=aiohttp.ClientTimeout(total=timeout_s),
            allow_redirects=False,
        ) as r:
            status, reason, text = r.status, r.reason or "", await r.text(errors="replace")
    except TimeoutError:
        raise JudgeCallError("retryable", f"no answer within {timeout_s:.0f} s") from None
    except aiohttp.ClientError as exc:
        raise JudgeCallError("retryable", f"cannot reach {url}: {exc}") from None
    try:
        payload = json.loads(text)
    except ValueError:
        payload = None
    if status != 200:
        message = _error_message(payload) or text[:500].strip() or reason
        raise JudgeCallError(classify(status, message), f"{status}: {message}", status)
    if not isinstance(payload, dict):
        raise JudgeCallError("other", "the provider answered with something that is not a JSON object")
    return payload


def _refuses_schema(error: JudgeCallError) -> bool:
    return error.status in (400, 422) and any(m in error.message.lower() for m in _SCHEMA_REFUSALS)


async def call_judge(req: JudgeRequest) -> JudgeAnswer:
    """Call the judge once (one fallback call where json_schema is refused); raise JudgeCallError."""
    if req.provider == "anthropic":
        own = {"x-api-key": req.api_key, "anthropic-version": ANTHROPIC_VERSION}
        headers = with_extra(own, req.extra_headers)
        payload = await _post(f"{req.base_url}/messages", headers, _anthropic_body(req), req.timeout_s)
        return _anthropic_answer(payload)
    url = f"{req.base_url}/chat/completions"
    headers = with_extra({"Authorization": f"Bearer {req.api_key}"}, req.extra_headers)
    try:
        payload = await _post(url, headers, _openai_body(req, tools=False), req.timeout_s)
    except JudgeCallError as exc:
        if not _refuses_schema(exc):
            raise
        payload = await _post(url, headers, _openai_body(req, tools=True), req.timeout_s)
        return _openai_answer(payload, "tools")
    return _openai_answer(payload, "json_schema")

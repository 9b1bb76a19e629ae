"""Streaming chat calls to LLM providers over httpx (its one owner in app): OpenAI-compatible
`/chat/completions` and Anthropic `/messages`. Every failure becomes a ProviderError with a message fit
for the user; timeouts are bounded per phase and in total."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from app.errors import UserError

if TYPE_CHECKING:
    import httpx

ANTHROPIC_VERSION = "2023-06-01"
ANTHROPIC_DEFAULT_MAX_TOKENS = 1024
MAX_OUTPUT_CHARS = 1_000_000
_MAX_ERROR_BODY = 4096
TOTAL_TIMEOUT_FACTOR = 5  # a whole answer may take this many per-phase timeouts


class ProviderError(UserError):
    """The provider refused, failed or could not be reached."""

    code = "provider_error"
    status = 502


@dataclass(frozen=True, slots=True)
class ModelParams:
    temperature: float | None = None
    max_tokens: int | None = None
    top_p: float | None = None

    def as_dict(self) -> dict[str, float | int]:
        """The parameters that are set."""
        pairs = {"temperature": self.temperature, "max_tokens": self.max_tokens, "top_p": self.top_p}
        return {k: v for k, v in pairs.items() if v is not None}


@dataclass(frozen=True, slots=True)
class ChatRequest:
    provider: str
    base_url: str
    api_key: str
    model: str
    messages: list[dict[str, Any]]
    params: ModelParams
    extra_headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts the provider reported."""

    input: int
    output: int


StreamItem = str | Usage  # a text delta, or usage (once, near the end)


def with_extra(headers: dict[str, str], extra: dict[str, str]) -> dict[str, str]:
    """A call's headers with the connection's extra headers, which replace ours of the same name (in
    any case: a proxy's own `api-key`, say)."""
    replaced = {name.lower() for name in extra}
    return {**{k: v for k, v in headers.items() if k.lower() not in replaced}, **extra}


def _openai_call(req: ChatRequest) -> tuple[str, dict[str, str], dict[str, Any]]:
    body: dict[str, Any] = {
        "model": req.model,
        "messages": req.messages,
        "stream": True,
        "stream_options": {"include_usage": True},
        **req.params.as_dict(),
    }
    headers = with_extra({"Authorization": f"Bearer {req.api_key}"}, req.extra_headers)
    return f"{req.base_url}/chat/completions", headers, body


def _anthropic_call(req: ChatRequest) -> tuple[str, dict[str, str], dict[str, Any]]:
    system = "\n\n".join(str(m["content"]) for m in req.messages if m["role"] == "system")
    body: dict[str, Any] = {
        "model": req.model,
        "messages": [m for m in req.messages if m["role"] != "system"],
        "stream": True,
        **req.params.as_dict(),
    }
    body.setdefault("max_tokens", ANTHROPIC_DEFAULT_MAX_TOKENS)
    if system:
        body["system"] = system
    headers = {"x-api-key": req.api_key, "anthropic-version": ANTHROPIC_VERSION}
    return f"{req.base_url}/messages", with_extra(headers, req.extra_headers), body


def _openai_items(chunk: dict[str, Any]) -> list[StreamItem]:
    items: list[StreamItem] = []
    for choice in chunk.get("choices") or []:
        text = (choice.get("delta") or {}).get("content")
        if isinstance(text, str) and text:
            items.append(text)
    usage = chunk.get("usage")
    if isinstance(usage, dict):
        items.append(Usage(int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)))
    return items


class _AnthropicUsage:
    """Anthropic reports input tokens at the start and output tokens at the end."""

    def __init__(self) -> None:
        self.input = 0

    def items(self, event: dict[str, Any]) -> list[StreamItem]:
        kind = event.get("type")
        if kind == "message_start":
            self.input = int(((event.get("message") or {}).get("usage") or {}).get("input_tokens") or 0)
        elif kind == "content_block_delta":
            delta = event.get("delta") or {}
            if delta.get("type") == "text_delta" and isinstance(delta.get("text"), str):
                return [delta["text"]]
        elif kind == "message_delta":
            output = int((event.get("usage") or {}).get("output_tokens") or 0)
            return [Usage(self.input, output)]
        return []


def _error_message(payload: Any) -> str | None:
    """The provider's own error text from `{"error": {"message"}}` or `{"error": "…"}`."""
    if isinstance(payload, dict) and payload.get("error"):
        error = payload["error"]
        message = error.get("message") if isinstance(error, dict) else error
        return str(message or error)
    return None


async def _read_error(response: httpx.Response) -> str:
    raw = b""
    async for part in response.aiter_bytes():
        raw += part
        if len(raw) >= _MAX_ERROR_BODY:
            break
    text = raw[:_MAX_ERROR_BODY].decode(errors="replace")
    try:
        return _error_message(json.loads(text)) or text.strip()
    except ValueError:
        return text.strip()


async def stream_chat(req: ChatRequest, timeout_s: float) -> AsyncIterator[StreamItem]:
    """Yield text deltas, then usage; raise ProviderError on any failure of the call."""
    import httpx  # on first use: ~12 MiB a server that never calls a provider does not need

    url, headers, body = (_anthropic_call if req.provider == "anthropic" else _openai_call)(req)
    anthropic = _AnthropicUsage() if req.provider == "anthropic" else None
    deadline = time.monotonic() + timeout_s * TOTAL_TIMEOUT_FACTOR
    chars = 0
    try:
        async with (
            httpx.AsyncClient(timeout=httpx.Timeout(timeout_s), follow_redirects=False) as client,
            client.stream("POST", url, json=body, headers={**headers, "accept": "text/event-stream"}) as r,
        ):
            if r.status_code != 200:
                raise ProviderError(f"{req.provider} answered {r.status_code}: {await _read_error(r)}")
            async for line in r.aiter_lines():
                if time.monotonic() > deadline:
                    raise ProviderError(
                        f"the answer took longer than {timeout_s * TOTAL_TIMEOUT_FACTOR:.0f} s"
                    )
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if not data or data == "[DONE]":
                    continue
                try:
                    event = json.loads(data)
                except ValueError:
                    raise ProviderError(f"{req.provider} sent a chunk that is not JSON") from None
                if (message := _error_message(event)) is not None:
                    raise ProviderError(f"{req.provider} error: {message}")
                for item in anthropic.items(event) if anthropic else _openai_items(event):
                    if isinstance(item, str):
                        chars += len(item)
                        if chars > MAX_OUTPUT_CHARS:
                            raise ProviderError(f"the answer is longer than {MAX_OUTPUT_CHARS} characters")
                    yield item
    except httpx.TimeoutException:
        raise ProviderError(f"{req.provider} did not answer within {timeout_s:.0f} s") from None
    except httpx.ConnectError as exc:
        raise ProviderError(f"cannot connect to {req.base_url}: {exc}") from None
    except httpx.HTTPError as exc:
        raise ProviderError(f"the call to {req.base_url} failed: {exc}") from None

"""A local LLM provider on 127.0.0.1 speaking the OpenAI chat completions and Anthropic messages APIs:
streaming (server-sent events) for the playground, and non-streaming structured answers for judges
(OpenAI `response_format` json_schema or tool calls, Anthropic tool use). Failures are chosen by model
name: `rate-limited` (429), `broken` (500), `flaky` (429 for the first `fail_first` calls, then fine),
`malformed` (an answer that is not JSON), `no-json-schema` (refuses response_format: tools only),
`missing-model` (404 model_not_found); a wrong key answers 401; `delay_s` slows every answer."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

API_KEY = "sk-fake-0123456789abcdef"
REPLY = ["Hello", " there", ", <b>world</b>!"]
PROMPT_TOKENS, COMPLETION_TOKENS = 12, 5
FAILURES = {
    "rate-limited": (429, "Rate limit reached for requests"),
    "broken": (500, "The server had an error"),
}


JUDGE_ANSWER = {"reasoning": "The answer is correct and complete.", "score": 0.8}


@dataclass
class FakeLlm:
    base_url: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    judge_answer: dict[str, Any] = field(default_factory=lambda: dict(JUDGE_ANSWER))
    fail_first: int = 1  # `flaky`: this many 429s before answering
    delay_s: float = 0.0
    calls: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    in_flight: int = 0
    most_in_flight: int = 0  # the most structured calls answered at once

    def count(self, model: str) -> int:
        """Calls of this model so far, this one included."""
        with self.lock:
            self.calls[model] = self.calls.get(model, 0) + 1
            return self.calls[model]


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"  # keep-alive, as the real APIs: clients reuse their connections

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def _json(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _events(self, events: list[tuple[str | None, Any]]) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("connection", "close")  # the stream ends with the connection
        self.close_connection = True
        self.end_headers()
        for name, data in events:
            head = f"event: {name}\n" if name else ""
            self.wfile.write(
                f"{head}data: {data if isinstance(data, str) else json.dumps(data)}\n\n".encode()
            )
            self.wfile.flush()

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        self.server.fake.requests.append(
            {"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body}
        )
        key = self.headers.get("authorization", "").removeprefix("Bearer ") or self.headers.get("x-api-key")
        if key != API_KEY:
            return self._json(401, {"error": {"message": "Incorrect API key provided", "type": "auth"}})
        if body["model"] in FAILURES:
            status, message = FAILURES[body["model"]]
            return self._json(status, {"error": {"message": message}})
        if not body.get("stream"):
            return self._structured(body)
        if self.path == "/v1/chat/completions":
            chunks: list[tuple[str | None, Any]] = [
                (None, {"choices": [{"index": 0, "delta": {"content": text}}]}) for text in REPLY
            ]
            usage = {"prompt_tokens": PROMPT_TOKENS, "completion_tokens": COMPLETION_TOKENS}
            return self._events([*chunks, (None, {"choices": [], "usage": usage}), (None, "[DONE]")])
        if self.path == "/v1/messages":
            start = {"type": "message_start", "message": {"usage": {"input_tokens": PROMPT_TOKENS}}}
            deltas = [
                (
                    "content_block_delta",
                    {"type": "content_block_delta", "delta": {"type": "text_delta", "text": t}},
                )
                for t in REPLY
            ]
            end = {"type": "message_delta", "usage": {"output_tokens": COMPLETION_TOKENS}}
            return self._events([("message_start", start), *deltas, ("message_delta", end)])
        return self._json(404, {"error": {"message": f"no route {self.path}"}})

    def _structured(self, body: dict[str, Any]) -> None:
        """A judge's non-streaming call: the configured answer as json_schema content or a tool call."""
        fake, model = self.server.fake, str(body["model"])
        calls = fake.count(model)
        with fake.lock:
            fake.in_flight += 1
            fake.most_in_flight = max(fake.most_in_flight, fake.in_flight)
        try:
            if fake.delay_s:
                time.sleep(fake.delay_s)
            return self._answer(fake, model, calls, body)
        finally:
            with fake.lock:
                fake.in_flight -= 1

    def _answer(self, fake: FakeLlm, model: str, calls: int, body: dict[str, Any]) -> None:
        if model == "flaky" and calls <= fake.fail_first:
            return self._json(429, {"error": {"message": "Rate limit reached, try again"}})
        if model == "missing-model":
            message = f"The model `{model}` does not exist"
            return self._json(404, {"error": {"message": message, "code": "model_not_found"}})
        if model == "no-json-schema" and "response_format" in body:
            message = "response_format json_schema is not supported by this model"
            return self._json(400, {"error": {"message": message}})
        text = "I think it is good, 8/10" if model == "malformed" else json.dumps(fake.judge_answer)
        if self.path == "/v1/messages":
            block: dict[str, Any] = {"type": "text", "text": text}
            if model != "malformed":
                block = {"type": "tool_use", "id": "toolu_1", "name": "score", "input": fake.judge_answer}
            usage = {"input_tokens": PROMPT_TOKENS, "output_tokens": COMPLETION_TOKENS}
            return self._json(
                200, {"type": "message", "role": "assistant", "content": [block], "usage": usage}
            )
        message: dict[str, Any] = {"role": "assistant", "content": text}
        if "tools" in body:
            call = {"id": "call_1", "type": "function", "function": {"name": "score", "arguments": text}}
            message = {"role": "assistant", "content": None, "tool_calls": [call]}
        usage = {"prompt_tokens": PROMPT_TOKENS, "completion_tokens": COMPLETION_TOKENS}
        return self._json(200, {"choices": [{"index": 0, "message": message}], "usage": usage})


class _Server(ThreadingHTTPServer):
    fake: FakeLlm


class _Discarded(list[dict[str, Any]]):
    """A request log that keeps nothing (a long bench would hold every request)."""

    def append(self, item: dict[str, Any]) -> None:
        pass


@contextmanager
def fake_llm() -> Iterator[FakeLlm]:
    """The fake provider on a free port; `base_url` ends in /v1 like the real APIs."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.fake = FakeLlm(f"http://127.0.0.1:{server.server_address[1]}/v1")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.fake
    finally:
        server.shutdown()
        server.server_close()


if __name__ == "__main__":  # in a process of its own (benches): prints its base URL, serves until killed
    import sys

    with fake_llm() as served:
        served.delay_s = float(sys.argv[1]) if len(sys.argv) > 1 else 0.0
        served.requests = _Discarded()
        print(served.base_url, flush=True)
        threading.Event().wait()

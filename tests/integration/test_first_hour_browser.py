"""A new user's first hour, in Chromium: 32 realistic traces arrive from the Langfuse SDK (its defaults, no
`propagate_attributes`), from OpenInference's OpenAI instrumentation and from a raw OpenTelemetry exporter
with gen_ai attributes; then every everyday page — and one trace of each source — answers in under half a
second, fits a laptop and a phone without console errors, and is saved as a screenshot."""

from __future__ import annotations

import base64
import shutil
import statistics
import threading
import time
from http.server import ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from tests.integration.test_browser import (
    ARTIFACTS,
    LAPTOP,
    PHONE,
    Opener,
    Site,
    browser,
    login_state,
    open_page,
    site,
)
from tests.integration.test_ingest_clients import _FakeOpenAI
from tests.integration.test_ingest_otlp import _otel_provider

__all__ = ["browser", "login_state", "open_page", "site"]  # the fixtures this module uses

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian chromium is not installed"),
]

SDK_TRACES, OPENINFERENCE_TRACES, OTLP_TRACES = 12, 10, 10


def _keys(site: Site) -> Any:
    """The site's URL and API keys, as the other client tests' helpers read them."""
    basic = site.api_headers["Authorization"].removeprefix("Basic ")
    public, secret = base64.b64decode(basic).decode().split(":", 1)
    return SimpleNamespace(base_url=site.url, public_key=public, secret_key=secret)


def _send_sdk(site: Site) -> str:
    """Traces as the SDK sends them: half with its defaults, half with the user and session propagated."""
    from langfuse import Langfuse, propagate_attributes

    keys = _keys(site)
    lf = Langfuse(public_key=keys.public_key, secret_key=keys.secret_key, base_url=site.url)
    trace_id = ""
    try:
        for i in range(SDK_TRACES):
            user = {"user_id": f"sdk-user-{i % 4}", "session_id": f"sdk-session-{i % 3}"} if i % 2 else {}
            with (
                propagate_attributes(**user),
                lf.start_as_current_observation(
                    as_type="agent", name="support-agent", input={"question": f"Where is order {i}?"}
                ) as root,
            ):
                with lf.start_as_current_observation(
                    as_type="tool", name="lookup_order", input={"order": i}
                ) as tool:
                    tool.update(output={"status": "shipped", "eta_days": i % 5})
                with lf.start_as_current_observation(
                    as_type="generation",
                    name="answer",
                    model="gpt-4o-mini",
                    input=[{"role": "user", "content": f"Where is order {i}?"}],
                ) as gen:
                    gen.update(
                        output={"role": "assistant", "content": f"Order {i} has shipped."},
                        usage_details={"input": 120 + i, "output": 12},
                    )
                root.update(output=f"Order {i} has shipped.")
                trace_id = root.trace_id
        lf.flush()
    finally:
        lf.shutdown()
    return trace_id


def _send_openinference(site: Site) -> None:
    import openai
    from openinference.instrumentation.openai import OpenAIInstrumentor

    fake = ThreadingHTTPServer(("127.0.0.1", 0), _FakeOpenAI)
    threading.Thread(target=fake.serve_forever, daemon=True).start()
    provider = _otel_provider(keys := _keys(site), keys)
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{fake.server_port}/v1", api_key="test")
        for i in range(OPENINFERENCE_TRACES):
            client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": f"Capital of country {i}?"}]
            )
    finally:
        instrumentor.uninstrument()
        provider.shutdown()
        fake.shutdown()


def _send_otlp(site: Site) -> None:
    """Raw OpenTelemetry spans with the GenAI semantic conventions, an error among them."""
    from opentelemetry.trace import Status, StatusCode

    provider = _otel_provider(keys := _keys(site), keys)
    tracer = provider.get_tracer("rag-service")
    try:
        for i in range(OTLP_TRACES):
            with tracer.start_as_current_span("rag-query") as root:
                root.set_attribute("langfuse.user.id", f"otlp-user-{i % 2}")
                root.set_attribute("input.value", f"Summarise report {i}")
                with tracer.start_as_current_span("chat gpt-4o") as llm:
                    llm.set_attribute("gen_ai.operation.name", "chat")
                    llm.set_attribute("gen_ai.request.model", "gpt-4o")
                    llm.set_attribute("gen_ai.usage.input_tokens", 900 + i)
                    llm.set_attribute("gen_ai.usage.output_tokens", 80)
                    if i == 7:
                        llm.set_status(Status(StatusCode.ERROR, "rate limited"))
                root.set_attribute("output.value", f"Report {i} in three lines.")
    finally:
        provider.shutdown()


@pytest.fixture(scope="module")
def seeded(site: Site) -> dict[str, str]:
    """The 32 traces stored; one trace id of each source."""
    sdk_trace = _send_sdk(site)
    _send_openinference(site)
    _send_otlp(site)
    wanted = 6 + SDK_TRACES + OPENINFERENCE_TRACES + OTLP_TRACES
    for _ in range(240):
        listed = httpx.get(f"{site.url}/api/public/traces?limit=100", headers=site.api_headers).json()
        if listed["meta"]["totalItems"] >= wanted:
            break
        time.sleep(0.25)
    else:
        raise AssertionError(f"{listed['meta']['totalItems']} traces of {wanted} stored")
    by_name: dict[str, str] = {}
    for t in listed["data"]:
        by_name.setdefault(str(t["name"]), str(t["id"]))
    assert sdk_trace in {t["id"] for t in listed["data"]}
    return {"sdk": sdk_trace, "openinference": by_name["ChatCompletion"], "otlp": by_name["rag-query"]}


def _pages(seeded: dict[str, str]) -> list[tuple[str, str]]:
    return [
        ("home", "/"),
        ("traces", "/traces"),
        ("observations", "/observations"),
        ("sessions", "/sessions"),
        ("users", "/users"),
        ("scores", "/scores"),
        ("prompts", "/prompts"),
        *((f"trace-{source}", f"/traces/{trace_id}") for source, trace_id in seeded.items()),
    ]


def test_every_everyday_page_answers_in_under_half_a_second(
    site: Site, seeded: dict[str, str], login_state: dict[str, Any]
) -> None:
    cookies = {c["name"]: c["value"] for c in login_state["cookies"]}
    with httpx.Client(base_url=site.url, cookies=cookies) as client:
        for _, path in _pages(seeded):
            assert client.get(path).status_code == 200, path  # warm: templates compiled, caches filled
            times = []
            for _ in range(5):
                began = time.perf_counter()
                response = client.get(path)
                times.append(time.perf_counter() - began)
                assert response.status_code == 200, path
            assert statistics.median(times) < 0.5, (path, times)


@pytest.mark.parametrize("width", ["laptop", "phone"])
def test_the_first_hour_pages_fit_and_log_no_errors(
    site: Site, seeded: dict[str, str], open_page: Opener, login_state: dict[str, Any], width: str
) -> None:
    viewport = LAPTOP if width == "laptop" else PHONE
    page, errors = open_page(login_state, viewport)
    page.goto(f"{site.url}/traces")
    text = page.inner_text("main")
    for name in ("support-agent", "ChatCompletion", "rag-query"):
        assert name in text, name  # each source's traces listed by their names
    previews = {  # one-line previews of each source's input and output, not their JSON
        "support-agent": ("Where is order 11?", "Order 11 has shipped."),
        "ChatCompletion": ("Capital of country 9?", "Paris."),
        "rag-query": ("Summarise report 9", "Report 9 in three lines."),
    }
    for name, wanted in previews.items():
        row = page.locator(f"table.traces tr:has(td:text-is('{name}'))").first
        cells = row.locator("td.io")
        assert (cells.nth(0).get_attribute("title"), cells.nth(1).get_attribute("title")) == wanted
    for name, path in _pages(seeded):
        response = page.goto(f"{site.url}{path}")
        assert response is not None and response.status == 200, path
        page.screenshot(path=str(ARTIFACTS / f"first-hour-{name}-{width}.png"), full_page=True)
        scroll = page.evaluate("document.documentElement.scrollWidth")
        assert scroll <= viewport["width"] + 1, f"{path} is {scroll} px wide at {viewport['width']}"
        assert errors == [], (path, errors)
    page.goto(f"{site.url}/traces/{seeded['sdk']}")
    tree = page.inner_text("main")
    assert "lookup_order" in tree and "answer" in tree  # the SDK trace's tool and generation

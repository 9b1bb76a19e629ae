"""In Chromium: a page of another origin sends thumbs-up feedback with the real browser SDK (npm `langfuse`
3.39.2 `LangfuseWeb`, vendored in tests/fixtures/langfuse-web) and the public key alone. The browser's
CORS preflight is answered, the score is stored with source API, and a read with the public key is
refused with an answer the page can read."""

from __future__ import annotations

import functools
import shutil
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from tests.conftest import LiveServer, ProjectFixture, wait_for
from tests.integration.test_browser import ARTIFACTS, CHROMIUM_ARGS

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian chromium is not installed"),
]

SITE = Path(__file__).resolve().parents[1] / "fixtures" / "langfuse-web"


class _StaticFiles(SimpleHTTPRequestHandler):
    # Module scripts need a JavaScript MIME type; older mimetypes tables do not know .mjs.
    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, ".mjs": "text/javascript"}

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def other_origin(directory: Path) -> Iterator[str]:
    """Serve `directory` on a port of its own: an origin other than the API's."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_StaticFiles, directory=str(directory)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


async def test_langfuse_web_sends_feedback_from_another_origin(
    live_server: LiveServer, client: httpx.AsyncClient, project: ProjectFixture
) -> None:
    from playwright.async_api import async_playwright

    trace_id = f"t-{uuid.uuid4().hex[:8]}"
    ingestion = f"{live_server.base_url}/api/public/ingestion"
    sent: dict[str, dict[str, Any]] = {}  # CDP request id → request
    answered: dict[str, tuple[str, dict[str, Any]]] = {}  # CDP request id → (resource type, response)
    with other_origin(SITE) as site:
        assert site != live_server.base_url
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            try:
                context = await browser.new_context()
                page = await context.new_page()
                errors: list[str] = []
                page.on("pageerror", lambda e: errors.append(str(e)))
                page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
                cdp = await context.new_cdp_session(page)
                cdp.on("Network.requestWillBeSent", lambda e: sent.__setitem__(e["requestId"], e["request"]))
                cdp.on(
                    "Network.responseReceived",
                    lambda e: answered.__setitem__(e["requestId"], (e["type"], e["response"])),
                )
                await cdp.send("Network.enable")

                query = {
                    "publicKey": project.public_key,
                    "baseUrl": live_server.base_url,
                    "traceId": trace_id,
                }
                await page.goto(f"{site}/feedback.html?{urlencode(query)}")
                await page.wait_for_selector("body[data-ready=yes]")
                await page.click("#up")
                await page.wait_for_function("document.getElementById('status').textContent === 'sent'")
                assert errors == []
                read = await page.evaluate("readTraces()")  # Chromium logs the 401 it gets as an error
                ARTIFACTS.mkdir(exist_ok=True)
                await page.screenshot(path=str(ARTIFACTS / "browser-feedback.png"))
            finally:
                await browser.close()

    # The browser asked first (the SDK's Authorization and X-Langfuse-* headers are not CORS-safelisted).
    preflights = [
        rid
        for rid, r in sent.items()
        if r["method"] == "OPTIONS"
        and r["url"] == ingestion
        and r["headers"].get("Access-Control-Request-Method") == "POST"
        and r["headers"].get("Origin") == site
    ]
    assert preflights, sent
    kind, response = answered[preflights[0]]
    assert kind == "Preflight" and response["status"] == 204
    headers = {k.lower(): v for k, v in response["headers"].items()}
    assert headers["access-control-allow-origin"] == "*"
    [post] = [rid for rid, r in sent.items() if r["method"] == "POST" and r["url"] == ingestion]
    assert sent[post]["headers"]["Authorization"] == f"Bearer {project.public_key}"
    assert answered[post][1]["status"] == 207

    async def stored() -> list[dict[str, Any]]:
        r = await client.get("/api/public/v2/scores", params={"traceId": trace_id}, auth=project.auth)
        data: list[dict[str, Any]] = r.json()["data"]
        return data

    [score] = await wait_for(stored)
    assert (score["name"], score["value"], score["dataType"], score["source"]) == (
        "user-feedback",
        1,
        "BOOLEAN",
        "API",
    )

    # Reading with the public key alone: refused, and the page can read why.
    assert read["status"] == 401
    assert "a public key alone (Bearer) may only send scores" in read["body"]["message"]

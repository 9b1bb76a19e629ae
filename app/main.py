"""create_app(settings): the one place that wires stores, worker, routes and error handling."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from litestar import Litestar, Request, Response, Router
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.openapi import OpenAPIConfig
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from litestar.types import Message, Scope

from app import __version__
from app.api import API_ROUTES
from app.api.cors import PublicApiCors
from app.api.guards import require_api_key
from app.api.openapi import PublicDocumentPlugin
from app.auth.bootstrap import bootstrap
from app.auth.signing import server_secret
from app.dashboards.display import register_filters
from app.dashboards.figures import PLOTLY_JS_DIR
from app.dashboards.prompt_hooks import STORAGE_HOOKS
from app.dashboards.router import ui_router
from app.errors import AppError, StoreUnavailable, TooManyRequests, UserError
from app.graphql.app import graphql_controller
from app.ingest import INGEST_ROUTES
from app.jobs.contracts import JobQueue, open_job_queue
from app.jobs.worker import build_worker, close_worker
from app.playground import judge_calls
from app.playground.prompts import PlaygroundHooks
from app.settings import Settings
from app.storage import Storage, open_storage, unavailable_store
from app.storage.clickhouse.client import begin_request

log = logging.getLogger("langhouse")
DASHBOARDS = Path(__file__).parent / "dashboards"


# On every response unless it set its own (the shared-trace page keeps its stricter no-referrer):
# no framing (clickjacking), no MIME sniffing, no full URLs (trace ids, filters) sent to other sites.
SECURITY_HEADERS = (
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
)


async def _security_headers(message: Message, scope: Scope) -> None:
    """Add SECURITY_HEADERS a response does not set itself."""
    if message["type"] != "http.response.start":
        return
    headers = list(message.get("headers") or ())
    present = {name.lower() for name, _ in headers}
    message["headers"] = headers + [h for h in SECURITY_HEADERS if h[0] not in present]


def _is_api(request: Request[Any, Any, Any]) -> bool:
    return request.url.path.startswith("/api/")


def _query_name(request: Request[Any, Any, Any], key: str) -> str:
    """The parameter as the caller spelled it (`fromStartTime`) where the framework names the argument
    (`from_start_time`)."""
    camel = re.sub(r"_([a-z])", lambda m: m[1].upper(), key)
    return camel if camel in request.query_params and key not in request.query_params else key


def _error_response(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """JSON `{message, error}` for the API; a redirect to /login for a browser without a session.
    A store that cannot be reached answers 503 with Retry-After, wherever its driver error surfaced."""
    headers: dict[str, str] = {}
    if not isinstance(exc, AppError) and (store := unavailable_store(exc)) is not None:
        log.warning("%s unavailable on %s %s: %s", store, request.method, request.url.path, exc)
        exc = StoreUnavailable(store)
    if isinstance(exc, StoreUnavailable | TooManyRequests):
        headers["Retry-After"] = str(exc.retry_after_seconds)
    if isinstance(exc, AppError):
        status, code, message = exc.status, exc.code, str(exc)
    elif isinstance(exc, HTTPException):
        status, message = exc.status_code, str(exc.detail)
        code = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}.get(
            status, "http_error"
        )
        if status in (404, 405) and request.url.path.startswith("/api/public/"):
            # No handler matched: say which route is missing, unlike a handler's "x not found".
            message = f"{request.method} {request.url.path} is not supported by Langhouse"
        if exc.extra and status < 500:
            problems = exc.extra if isinstance(exc.extra, list) else []
            named = [
                f"{_query_name(request, str(p['key']))}: {p.get('message', 'invalid')}"
                for p in problems
                if isinstance(p, dict) and p.get("key")
            ]
            if named:  # name the parameters, not only the route
                message = "; ".join(named)
            if _is_api(request):
                body = {"message": message, "error": exc.extra, **_evaluation_code(request, status)}
                return Response(body, status_code=status)
    else:
        status, code, message = 500, "internal_error", ""
    if status >= 500 and not isinstance(exc, UserError):
        error_id = uuid.uuid4().hex[:12]
        log.error("error %s on %s %s", error_id, request.method, request.url.path, exc_info=exc)
        code, message = "internal_error", f"internal error (id {error_id})"
    if not _is_api(request):
        if status == 401:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return Redirect("/login?" + urlencode({"next": target}))
        context = {"status": status, "message": message, "version": __version__}
        return Template("error.html", context=context, status_code=status, headers=headers)
    body = {"message": message, "error": code, **_evaluation_code(request, status)}
    return Response(body, status_code=status, headers=headers)


_EVALUATION_PATHS = ("/api/public/v2/evaluat",)  # evaluators, evaluation-rules, evaluation-executions
_EVALUATION_CODES = {
    401: "authentication_failed",
    403: "access_denied",
    404: "resource_not_found",
    405: "method_not_allowed",
    409: "conflict",
    429: "rate_limited",
}


def _evaluation_code(request: Request[Any, Any, Any], status: int) -> dict[str, str]:
    """The SDK's v2 clients (evaluators, evaluation rules) parse errors as `PublicApiError`: they need a
    `code` from its closed set; the evaluation routes answer so (others keep Langfuse's `{message, error}`
    exactly)."""
    if not request.url.path.startswith(_EVALUATION_PATHS):
        return {}
    if status >= 500:
        return {"code": "internal_error"}
    if status in _EVALUATION_CODES:
        return {"code": _EVALUATION_CODES[status]}
    return {"code": "invalid_query" if request.method == "GET" else "invalid_body"}


def tune_gc() -> None:
    """Once started: keep start-up objects (they live for the whole run) out of the cyclic GC's way and
    collect less often; full collections over a large heap are what stalls request handling (the p95 of
    a page). `langhouse serve` and the in-process benchmarks call it."""
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


@contextlib.asynccontextmanager
async def run_platform(storage: Storage, settings: Settings) -> AsyncIterator[str | None]:
    """Migrate when configured, apply headless init, and run the job worker in-process while any store
    is embedded (this process then owns the data directory). Yields the first start's credentials
    banner (None after that): the caller prints it once, last of the start-up output."""
    if settings.migrate_on_start:
        await storage.migrate()
    banner = await bootstrap(storage, settings)
    if not settings.uses_data_dir:
        yield banner
        return
    worker = build_worker(storage, handle_signals=False)
    task = asyncio.create_task(worker.async_run(), name="langhouse-worker")
    task.add_done_callback(_report_worker_exit)
    try:
        yield banner
    finally:
        await close_worker(worker)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _report_worker_exit(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("the in-process job worker stopped", exc_info=task.exception())


def _jobs(state: State) -> JobQueue:
    queue: JobQueue = state.jobs
    return queue


async def _begin(request: Request[Any, Any, Any]) -> None:
    begin_request()


def create_app(
    settings: Settings,
    storage: Storage | None = None,
    playground: PlaygroundHooks | None = None,
    jobs: JobQueue | None = None,
) -> Litestar:
    """Build the ASGI app. With `storage` and `jobs`, the caller owns the stores and the job queue (CLI,
    tests); without them, the lifespan opens both and runs the platform (migrations, init, worker) for
    the app's lifetime. Handlers get the queue injected (`jobs: JobQueue`).
    `playground` plugs prompt storage into the playground (open a prompt version, save a new one);
    by default the stored prompts (app.dashboards.prompt_hooks), `PlaygroundHooks()` switches it off."""
    if (storage is None) != (jobs is None):
        raise ValueError("pass both the stores and their job queue, or neither")

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        async with (
            open_storage(settings) as store,
            open_job_queue(store) as queue,
            run_platform(store, settings) as banner,
        ):
            app.state.storage, app.state.jobs = store, queue
            if banner:
                print(banner, flush=True)
            yield
            await judge_calls.close_sessions()

    app = Litestar(
        route_handlers=[
            # Basic auth on every /api/public route but those marked opt={"public": True} (health).
            Router(
                "/api/public",
                route_handlers=[*API_ROUTES, *INGEST_ROUTES],
                guards=[require_api_key],
            ),
            # GraphQL describes itself (schema.graphql); the UI's session routes are no public API.
            Router("/", include_in_schema=False, route_handlers=[graphql_controller()]),
            ui_router(),
            create_static_files_router(path="/static", directories=[DASHBOARDS / "static"]),
            # plotly.js as the plotly package ships it (served locally, never from a CDN)
            create_static_files_router(path="/static/plotly", directories=[PLOTLY_JS_DIR]),
        ],
        lifespan=[] if storage else [lifespan],
        state=State({"storage": storage, "jobs": jobs, "playground_hooks": playground or STORAGE_HOOKS}),
        dependencies={"jobs": Provide(_jobs, sync_to_thread=False)},
        exception_handlers={Exception: _error_response},
        before_request=_begin,  # a request's ClickHouse reads are ordered by when it began
        before_send=[_security_headers],
        template_config=TemplateConfig(
            directory=DASHBOARDS / "templates", engine=JinjaTemplateEngine, engine_callback=register_filters
        ),
        csrf_config=CSRFConfig(
            secret=server_secret(settings),
            cookie_name="lh_csrf",
            cookie_httponly=True,
            cookie_samesite="lax",
            exclude=["^/api/"],
        ),
        request_max_body_size=settings.max_request_bytes,
        # Litestar builds the document; app.api.openapi completes it and serves it at GET
        # /api/public/openapi.json, and so does Litestar's own route, kept under /api/openapi
        # away from the public API's 404s (an empty plugin list would bring back its CDN-loaded UIs).
        openapi_config=OpenAPIConfig(
            title="Langhouse public API",
            version=__version__,
            description="Langfuse-compatible REST API: ingestion, scores, media, models, reads.",
            path="/api/openapi",
            render_plugins=[PublicDocumentPlugin()],
        ),
        debug=False,
        logging_config=None,  # the process configures logging (`langhouse` CLI), not each app it builds
    )
    # CORS of /api/public wraps the whole app, where Litestar puts its own CORS: a route middleware
    # would miss the preflights and 404s of paths no route matches.
    app.asgi_handler = PublicApiCors(app.asgi_handler, settings.cors_allowed_origins)
    return app

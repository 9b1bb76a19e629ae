"""create_app(settings): the one place that wires stores, worker, routes and error handling."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from litestar import Litestar, Request, Response
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import State
from litestar.exceptions import HTTPException
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from app import __version__
from app.api.public import public_router
from app.auth.bootstrap import bootstrap
from app.dashboards.routes import UI_ROUTES
from app.errors import AppError
from app.graphql.app import graphql_controller
from app.jobs.worker import build_worker
from app.settings import Settings
from app.storage import Storage, open_storage

log = logging.getLogger("langhouse")
DASHBOARDS = Path(__file__).parent / "dashboards"


def _secret_key(settings: Settings) -> str:
    """LANGHOUSE_SECRET_KEY, else one generated once and kept in the data directory."""
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value()
    path = settings.data_dir / "secret_key"
    if not path.exists():
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip()


def _is_api(request: Request[Any, Any, Any]) -> bool:
    return request.url.path.startswith("/api/")


def _error_response(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """JSON `{message, error}` for the API; a redirect to /login for a browser without a session."""
    if isinstance(exc, AppError):
        status, code = exc.status, exc.code
        message = str(exc) if status < 500 else "internal error"
    elif isinstance(exc, HTTPException):
        status, message = exc.status_code, str(exc.detail)
        code = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}.get(
            status, "http_error"
        )
        if exc.extra:
            return Response({"message": message, "error": exc.extra}, status_code=status)
    else:
        log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        status, code, message = 500, "internal_error", "internal error"
    if not _is_api(request):
        if status == 401:
            return Redirect(f"/login?next={request.url.path}")
        context = {"status": status, "message": message, "version": __version__}
        return Template("error.html", context=context, status_code=status)
    return Response({"message": message, "error": code}, status_code=status)


@contextlib.asynccontextmanager
async def run_platform(storage: Storage, settings: Settings) -> AsyncIterator[None]:
    """Migrate when configured, apply headless init (printing first-start credentials once), and run
    the job worker in-process while ClickHouse is embedded (only one process may own chDB)."""
    if settings.migrate_on_start:
        await storage.migrate()
    banner = await bootstrap(storage, settings)
    if banner:
        print(banner, flush=True)
    if not settings.embedded_clickhouse:
        yield
        return
    worker = build_worker(storage, handle_signals=False)
    task = asyncio.create_task(worker.async_run(), name="langhouse-worker")
    try:
        yield
    finally:
        await worker.close()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def create_app(settings: Settings, storage: Storage | None = None) -> Litestar:
    """Build the ASGI app. With `storage`, the caller owns the stores (CLI, tests); without it, the
    lifespan opens them and runs the platform (migrations, init, worker) for the app's lifetime."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        async with open_storage(settings) as store, run_platform(store, settings):
            app.state.storage = store
            yield

    return Litestar(
        route_handlers=[
            public_router(),
            graphql_controller(),
            *UI_ROUTES,
            create_static_files_router(path="/static", directories=[DASHBOARDS / "static"]),
        ],
        lifespan=[] if storage else [lifespan],
        state=State({"storage": storage}),
        exception_handlers={Exception: _error_response},
        template_config=TemplateConfig(directory=DASHBOARDS / "templates", engine=JinjaTemplateEngine),
        csrf_config=CSRFConfig(
            secret=_secret_key(settings),
            cookie_name="lh_csrf",
            cookie_httponly=True,
            cookie_samesite="lax",
            exclude=["/api/"],
        ),
        request_max_body_size=settings.max_request_bytes,
        debug=False,
    )

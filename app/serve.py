"""`langhouse serve`: the web server over its stores (and, embedded, the job worker), started quietly.

At the default log level a start prints where Langhouse listens and then, on a first start only, the
credentials banner, last; Ctrl-C or SIGTERM at any point stops it with one line.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Callable, Iterator
from socket import socket
from typing import TYPE_CHECKING

import uvicorn

from app import __version__
from app.errors import AppError
from app.settings import Settings

if TYPE_CHECKING:
    from litestar import Litestar

log = logging.getLogger("langhouse")


def http_config(app: Litestar, settings: Settings) -> uvicorn.Config:
    """How the HTTP server runs the app: client addresses from `X-Forwarded-For` only when the
    connection comes from a trusted proxy (`LANGHOUSE_FORWARDED_ALLOW_IPS`)."""
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,  # the CLI's logging: one format, uvicorn's start-up lines below warning
        log_level=None,
        lifespan="on",
        timeout_graceful_shutdown=10,
        server_header=False,
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
    )


class _Server(uvicorn.Server):
    """uvicorn's server, but signals are handled by `serve` (so the stores close after it returns), and
    `on_started` runs once it listens."""

    def __init__(self, config: uvicorn.Config, on_started: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_started = on_started

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def startup(self, sockets: list[socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self._on_started()


def started_message(settings: Settings) -> str:
    """The one line a start prints: where to open Langhouse, where its data is, how to stop it."""
    where = f" (data in {settings.data_dir.resolve()})" if settings.uses_data_dir else ""
    return f"Langhouse {__version__} is running at {settings.local_url}{where}. Press Ctrl-C to stop it."


async def serve(settings: Settings) -> None:
    """Run until SIGINT or SIGTERM, then close the server, the worker and the stores, in that order.

    A signal during start-up lets the start finish (a store half started would be left running) and
    then stops; what the signal broke on its way (from a terminal, Ctrl-C reaches the stores' child
    processes too) is part of stopping, not an error to report."""
    loop = asyncio.get_running_loop()
    server: _Server | None = None
    stopping = asyncio.Event()
    unprinted: list[str] = []  # the first start's credentials, until printed

    def on_signal() -> None:  # first signal: stop serving; later ones: keep tearing down in order
        stopping.set()
        if server is not None:
            server.should_exit = True

    def unless_stopping(record: logging.LogRecord) -> bool:
        # A child stopped by our own Ctrl-C or stop signal can be reported before this loop has seen it.
        interrupted = record.getMessage().startswith(
            ("Failed postgres command (-2,", "Failed postgres command (-15,")
        )
        return not (stopping.is_set() or interrupted)

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal)
    # pgserver logs a child's whole output when Ctrl-C killed it (initdb, on a first start).
    pg_log = logging.getLogger("pgserver")
    pg_log.addFilter(unless_stopping)
    try:
        from app.jobs.contracts import open_job_queue
        from app.main import create_app, run_platform, tune_gc
        from app.storage import open_storage

        async with (
            open_storage(settings) as storage,
            open_job_queue(storage) as jobs,
            run_platform(storage, settings) as banner,
        ):
            unprinted.extend([banner] if banner else [])
            config = http_config(create_app(settings, storage, jobs=jobs), settings)

            def announce() -> None:  # the banner last: it is what a first start is read for
                print(started_message(settings), flush=True)
                while unprinted:
                    print(unprinted.pop(), flush=True)

            server = _Server(config, on_started=announce)
            tune_gc()
            if not stopping.is_set():
                try:
                    await server.serve()
                except SystemExit:  # uvicorn exits when it cannot bind
                    raise AppError(
                        f"could not listen on {settings.host}:{settings.port} (is the port in use?)"
                    ) from None
    except Exception:
        if not stopping.is_set():
            raise
        log.debug("start-up ended by the stop signal", exc_info=True)
    finally:
        pg_log.removeFilter(unless_stopping)
        for text in unprinted:  # stopped before listening: the credentials exist, so show them anyway
            print(text, flush=True)
    after_echo = "\n" if sys.stderr.isatty() else ""  # the terminal echoed ^C on the current line
    print(f"{after_echo}Langhouse stopped.", file=sys.stderr, flush=True)

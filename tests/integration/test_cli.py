"""The admin CLI on an embedded data directory, with and without a running server."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import POSTGRES_HEAD, free_port
from tests.integration.test_serve import clean_env, processes_using, start, stop, wait_healthy

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def cli(data_dir: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        env=clean_env(LANGHOUSE_DATA_DIR=str(data_dir)),
        capture_output=True,
        text=True,
        input=stdin,
        timeout=120,
    )


def test_cli_manages_projects_keys_and_users(tmp_path: Path) -> None:
    data = tmp_path / "data"
    r = cli(data, "migrate")
    assert r.returncode == 0, r.stderr
    assert f"Postgres at revision {POSTGRES_HEAD}" in r.stdout
    r = cli(data, "project", "create", "--org", "Acme", "--name", "chatbot")
    assert r.returncode == 0, r.stderr
    project_id = re.search(r"id (\w+)", r.stdout)
    assert project_id

    r = cli(data, "keys", "create", "--project", "chatbot", "--note", "ci")
    assert r.returncode == 0, r.stderr
    public = re.search(r"public key\s+(pk-lh-\w+)", r.stdout)
    secret = re.search(r"secret key\s+(sk-lh-\w+)", r.stdout)
    assert public and secret

    r = cli(
        data,
        "users",
        "create",
        "--email",
        "ops@example.com",
        "--org",
        "Acme",
        "--role",
        "admin",
        stdin="s3cret-pass\n",
    )
    assert r.returncode == 0, r.stderr
    assert "ops@example.com as admin of Acme" in r.stdout
    # Recovery: an organization without an owner gets one; its last owner is never demoted.
    set_role = ("users", "set-role", "--email", "ops@example.com", "--org", "Acme", "--role")
    r = cli(data, *set_role, "owner")
    assert r.returncode == 0 and "ops@example.com is now owner of Acme" in r.stdout, r.stderr
    r = cli(data, *set_role, "viewer")
    assert r.returncode == 1 and "last owner" in r.stderr
    r = cli(data, "users", "set-role", "--email", "ops@example.com", "--org", "Nope", "--role", "admin")
    assert r.returncode == 1 and "no organization named 'Nope'" in r.stderr
    r = cli(data, "users", "create", "--email", "ops@example.com", "--password", "another-pass")
    assert r.returncode == 1 and "already exists" in r.stderr
    r = cli(data, "keys", "create", "--project", "nope")
    assert r.returncode == 1 and "no project with id or name 'nope'" in r.stderr

    # With a server running, the admin CLI attaches to its stores; revocation takes effect at once.
    port = free_port()
    server = start(data, port, tmp_path / "serve.log")
    try:
        wait_healthy(server)
        auth = (public[1], secret[1])
        assert httpx.get(f"{server.base_url}/api/public/projects", auth=auth).status_code == 200
        listed = cli(data, "keys", "list", "--project", project_id[1])
        assert listed.returncode == 0, listed.stderr
        assert public[1] in listed.stdout and "active" in listed.stdout and secret[1] not in listed.stdout
        r = cli(data, "keys", "revoke", public[1], "--project", "chatbot")
        assert r.returncode == 0, r.stderr
        assert httpx.get(f"{server.base_url}/api/public/projects", auth=auth).status_code == 401
        assert "revoked" in cli(data, "keys", "list", "--project", "chatbot").stdout
        r = cli(data, "migrate")  # needs chDB, which the server owns: refused with a clear message
        assert r.returncode == 1 and "is using the data directory" in r.stderr
    finally:
        stop(server)
    assert processes_using(data) == []


def test_users_create_without_a_terminal_asks_for_the_password_at_once(tmp_path: Path) -> None:
    data = tmp_path / "data"
    command = [sys.executable, "-m", "app.cli", "users", "create", "--email", "ci@example.com"]
    # Nothing on standard input (a CI step, `docker exec` without -i), and a pipe nobody writes to.
    for stdin in (subprocess.DEVNULL, subprocess.PIPE):
        began = time.monotonic()
        process = subprocess.Popen(
            command,
            env=clean_env(LANGHOUSE_DATA_DIR=str(data)),
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert process.wait(timeout=30) == 1
            assert process.stderr is not None
            assert "no password given: pass --password" in process.stderr.read()
        finally:
            process.kill()
            process.communicate()
        assert time.monotonic() - began < 15  # said before any store starts, not after a long wait
    assert not data.exists()

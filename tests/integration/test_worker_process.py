"""`langhouse worker` as its own process: runs jobs, owns its data directory, stops cleanly."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.jobs.contracts import SYSTEM_PING, JobQueue
from app.storage.embedded import redis_socket_path
from tests.integration.test_serve import clean_env, processes_using

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_standalone_worker_runs_jobs_and_stops_cleanly(tmp_path: Path) -> None:
    data = tmp_path / "data"
    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "worker"],
        env=clean_env(LANGHOUSE_DATA_DIR=str(data)),
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        socket_path = redis_socket_path(data)
        deadline = time.monotonic() + 60
        while not socket_path.exists():
            assert worker.poll() is None, (tmp_path / "worker.log").read_text()
            assert time.monotonic() < deadline, "worker's Redis never came up"
            time.sleep(0.1)

        async def ping() -> dict[str, str]:
            queue = await JobQueue.connect(f"unix://{socket_path}")
            try:
                job_id = await queue.enqueue(SYSTEM_PING, {"echo": "from-test"})
                assert job_id
                result: dict[str, str] = await queue.result(job_id, timeout_s=60)
                return result
            finally:
                await queue.close()

        result = asyncio.run(ping())
        assert result["pong"] == "from-test"
        assert result["worker"].endswith(f":{worker.pid}")  # ran in the worker process, not here

        # The worker owns the data directory: a server on it is refused with a clear message.
        serve = subprocess.run(
            [sys.executable, "-m", "app.cli", "serve"],
            env=clean_env(LANGHOUSE_DATA_DIR=str(data)),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert serve.returncode == 1 and "is using the data directory" in serve.stderr
    finally:
        worker.send_signal(signal.SIGTERM)
        code = worker.wait(timeout=60)
    assert code == 0, (tmp_path / "worker.log").read_text()
    assert processes_using(data) == []

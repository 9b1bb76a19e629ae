"""Faults: ClickHouse unavailable for a while, and the server killed mid-ingestion. Every acknowledged
span ends up stored exactly once."""

from __future__ import annotations

import asyncio
import base64
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from app.storage import Storage
from tests.conftest import ProjectFixture, assert_aggregates_match_raw, jobs_done
from tests.integration.test_ingest_otlp import PB, export, totals
from tests.integration.test_serve import clean_env, start, wait_healthy, workdir  # noqa: F401

pytestmark = pytest.mark.integration


@pytest.mark.usefixtures("worker")
async def test_clickhouse_outage_loses_nothing(client, storage: Storage, project: ProjectFixture) -> None:
    settings = storage.settings
    base = settings.ingest_retry_base_seconds
    settings.ingest_retry_base_seconds = 0.5  # 0.5+1+2+4+8 s of retries: longer than the outage
    await storage.clickhouse.command("DETACH TABLE observations", "test.detach")
    try:
        for i in range(5):
            r = await client.post(
                "/api/public/otel/v1/traces",
                content=export(f"{i + 1:02d}" * 16, 10),  # not 00…: an all-zero trace id is refused
                headers=PB,
                auth=project.auth,
            )
            assert r.status_code == 200  # acknowledged: durable in the blob store, queued
        await asyncio.sleep(2)  # jobs fail and retry meanwhile
    finally:
        await storage.clickhouse.command("ATTACH TABLE observations", "test.attach")
        settings.ingest_retry_base_seconds = base
    await jobs_done(storage, project.project_id, 5, timeout_s=60)
    assert (await totals(storage, project.project_id))["n"] == 50
    exact = await assert_aggregates_match_raw(storage, project.project_id)
    assert exact["observations"] == 50 and exact["traces"] == 5


COUNT = """
import sys, clickhouse_connect
c = clickhouse_connect.get_client(dsn="chdb://" + sys.argv[1])
row = c.query("SELECT count(), uniqExact(trace_id, id), any(mv.total) FROM observations, "
              "(SELECT sum(observations) AS total FROM observations_hourly) AS mv").result_rows[0]
print(*row)
"""


@pytest.mark.slow
def test_killed_server_recovers_every_acknowledged_span(workdir: Path) -> None:  # noqa: F811
    data = workdir / "data"
    env = {
        "LANGHOUSE_INIT_ORG_NAME": "o",
        "LANGHOUSE_INIT_PROJECT_NAME": "p",
        "LANGHOUSE_INIT_PROJECT_PUBLIC_KEY": "pk-lh-k",
        "LANGHOUSE_INIT_PROJECT_SECRET_KEY": "sk-lh-k",
    }
    port = __import__("tests.conftest", fromlist=["free_port"]).free_port()
    server = start(data, port, workdir / "serve.log", **env)
    wait_healthy(server)
    auth = "Basic " + base64.b64encode(b"pk-lh-k:sk-lh-k").decode()
    acknowledged = 0
    with httpx.Client(base_url=server.base_url, headers={"Authorization": auth, **PB}) as c:
        for i in range(40):
            assert (
                c.post("/api/public/otel/v1/traces", content=export(f"{i + 1:02x}" * 16, 25)).status_code
                == 200
            )
            acknowledged += 25
    server.process.send_signal(signal.SIGKILL)  # mid-processing: no shutdown at all
    server.process.wait(30)
    time.sleep(1)
    server = start(data, port, workdir / "serve.log", **env)
    wait_healthy(server)
    deadline = time.monotonic() + 120
    while True:  # the restarted worker finishes what was cut off (no reads API yet: poll Redis results)
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                "import asyncio, sys; from bench.ingest import finished_jobs; "
                "print(len(asyncio.run(finished_jobs(sys.argv[1]))))",
                f"unix://{_redis(data)}",
            ],
            capture_output=True,
            text=True,
            cwd=Path(__file__).resolve().parents[2],
        )
        if (done.stdout.strip() and int(done.stdout) >= 40) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(60) == 0
    out = subprocess.run(
        [sys.executable, "-c", COUNT, str(data / "clickhouse")], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    stored, distinct, in_aggregates = (int(x) for x in out.stdout.split())
    assert stored == distinct == in_aggregates == acknowledged


def _redis(data: Path) -> Path:
    from app.storage.embedded import redis_socket_path

    return redis_socket_path(data)

"""Prompt reads over HTTP: 1,000 prompts x 20 versions in the embedded store, GET by label (the SDK's call).

The server runs on a real port (uvicorn) with the embedded stores; httpx sends the SDK's request
(`GET /api/public/v2/prompts/{name}?label=production`, Basic auth). The first read of each name misses
the Redis cache (Postgres + composition); later reads are served from the cache.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import random
import socket
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import quote

import httpx
import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from app.auth.keys import issue_api_key
from app.jobs.contracts import open_job_queue
from app.main import create_app
from app.storage import Storage
from app.storage.postgres.tables import Prompt
from bench.report import record
from bench.stores import bench_project

VERSIONS = 20
PRODUCTION_VERSION = 15


def pct(samples: list[float], q: int) -> float:
    return statistics.quantiles(samples, n=100)[q - 1] * 1e3


async def seed(storage: Storage, project_id: str, names: int) -> None:
    """Write every version straight into Postgres (the create path is measured by the tests, not here)."""
    batch: list[Prompt] = []
    for i in range(names):
        for v in range(1, VERSIONS + 1):
            labels = ["production"] if v == PRODUCTION_VERSION else ["latest"] if v == VERSIONS else []
            batch.append(
                Prompt(
                    project_id=project_id,
                    name=f"team-{i % 10}/prompt-{i}",
                    version=v,
                    type="text",
                    prompt=f"You are assistant {i}, version {v}. Answer {{{{question}}}} briefly. " * 4,
                    config={"model": "gpt-4o-mini", "temperature": 0.2},
                    labels=labels,
                    tags=["bench"],
                )
            )
        if len(batch) >= 4000 or i == names - 1:
            async with storage.postgres.session() as s:
                s.add_all(batch)
                await s.commit()
            batch = []


async def main(names: int, requests: int) -> None:
    logging.getLogger("httpx").setLevel(logging.WARNING)
    async with bench_project() as (settings, storage, _org, project), open_job_queue(storage) as jobs:
        issued = await issue_api_key(storage, project.id)
        t0 = time.perf_counter()
        await seed(storage, project.id, names)
        seeded = time.perf_counter() - t0

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        config = uvicorn.Config(
            create_app(settings, storage, jobs=jobs), host="127.0.0.1", port=port, log_level="warning"
        )
        server = uvicorn.Server(config)
        server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
        serving = asyncio.create_task(server.serve())
        while not server.started:
            await asyncio.sleep(0.02)
        auth = (issued.key.public_key, issued.secret_key)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", auth=auth) as client:

            async def read(i: int) -> float:
                name = quote(f"team-{i % 10}/prompt-{i}", safe="")
                t = time.perf_counter()
                r = await client.get(f"/api/public/v2/prompts/{name}", params={"label": "production"})
                took = time.perf_counter() - t
                assert r.status_code == 200 and r.json()["version"] == PRODUCTION_VERSION, r.text
                return took

            cold = [await read(i) for i in range(names)]
            rng = random.Random(7)
            warm = [await read(rng.randrange(names)) for _ in range(requests)]
        server.should_exit = True
        await serving
    record(
        "prompts",
        f"python bench/prompts.py --names {names} --requests {requests}",
        [
            ("stored prompt versions", f"{names * VERSIONS:,} ({names:,} names x {VERSIONS})", "—"),
            ("seeding them (bulk insert)", f"{seeded:.1f} s", "—"),
            (
                "GET by label over HTTP, cached: p50 / p95 / p99",
                f"{pct(warm, 50):.2f} / {pct(warm, 95):.2f} / {pct(warm, 99):.2f} ms",
                "p99 < 20 ms",
            ),
            (
                "GET by label over HTTP, first read of each name (cache miss): p50 / p95 / p99",
                f"{pct(cold, 50):.2f} / {pct(cold, 95):.2f} / {pct(cold, 99):.2f} ms",
                "—",
            ),
        ],
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--names", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=5000)
    args = parser.parse_args()
    asyncio.run(main(args.names, args.requests))

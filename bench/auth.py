"""API-key auth overhead per request (cached key), beside a raw Redis GET and an unauthenticated request."""

from __future__ import annotations

import asyncio
import base64
import statistics
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from app.auth.keys import authenticate_basic, issue_api_key
from app.jobs.contracts import open_job_queue
from app.main import create_app
from bench.report import record
from bench.stores import bench_project

N = 5000


def pct(samples: list[float], q: float) -> float:
    return statistics.quantiles(samples, n=100)[int(q) - 1] * 1e3


async def timed(fn, n: int = N) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for _ in range(n):
        t = time.perf_counter()
        await fn()
        out.append(time.perf_counter() - t)
    return out


async def main() -> None:
    async with bench_project() as (settings, storage, _org, project), open_job_queue(storage) as jobs:
        issued = await issue_api_key(storage, project.id)
        header = "Basic " + base64.b64encode(f"{issued.key.public_key}:{issued.secret_key}".encode()).decode()
        await authenticate_basic(storage, header)  # warm the cache

        auth = await timed(lambda: authenticate_basic(storage, header))
        raw = await timed(lambda: storage.cache.get("bench:missing"))

        transport = httpx.ASGITransport(app=create_app(settings, storage, jobs=jobs))
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            health = await timed(lambda: client.get("/api/public/health"), 2000)
            gql = {"query": "{ __typename }"}
            authed = await timed(
                lambda: client.post("/api/graphql", json=gql, headers={"Authorization": header}), 2000
            )
    record(
        "auth",
        "python bench/auth.py",
        [
            (
                "authenticate_basic, cached key: p50 / p99",
                f"{pct(auth, 50):.3f} / {pct(auth, 99):.3f} ms",
                "< 1 ms",
            ),
            (
                "baseline: one raw Redis GET (same socket): p50 / p99",
                f"{pct(raw, 50):.3f} / {pct(raw, 99):.3f} ms",
                "—",
            ),
            ("HTTP in-process: GET /api/public/health (no auth) p50", f"{pct(health, 50):.3f} ms", "—"),
            (
                "HTTP in-process: POST /api/graphql `{ __typename }` with Basic auth p50",
                f"{pct(authed, 50):.3f} ms",
                "—",
            ),
        ],
    )


if __name__ == "__main__":
    asyncio.run(main())

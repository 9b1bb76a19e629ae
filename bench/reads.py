"""Read capacity and latency under concurrency, against a real server process over HTTP (issue targets:
8 concurrent clients ≥ 1.5x the throughput of one on the same queries; 50 mixed clients at 200k spans
p99 < 2 s; a heavy text search delays a light read by < 0.5 s). Rows are generated inside chDB as in
bench/ui.py (200,000 observations over the last 24 hours), then the server is started on that data dir.

    python bench/reads.py [--observations 200000] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import random
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from app.auth import accounts as domain
from app.auth.keys import issue_api_key
from app.settings import Settings
from app.storage import open_storage
from bench.ingest import start_server
from bench.report import record
from bench.startup import free_port
from bench.ui import _OBSERVATIONS, _TRACES

_TRACE_PAGE = "{ traces(first: 50) { edges { node { id name totals { totalCost } } } } }"
LIGHT = (
    ("GET", "/api/public/traces?limit=50", None),
    ("GET", "/api/public/observations?limit=50", None),
    ("GET", "/api/public/sessions?limit=50", None),
    ("GET", "/api/public/metrics/daily?limit=7", None),
    ("POST", "/api/graphql", {"query": _TRACE_PAGE}),
)
HEAVY = (
    "POST",
    "/api/graphql",
    {"query": '{ traces(first: 50, filter: {search: "question 12345"}) { edges { node { id } } } }'},
)


async def prepare(data_dir: Path, n: int) -> tuple[str, str]:
    """Generate the rows and an API key; the stores are closed again before the server opens them."""
    async with open_storage(Settings(data_dir=data_dir, secret_key="bench")) as storage:
        await storage.migrate()
        org = await domain.ensure_organization(storage, "bench")
        project = await domain.ensure_project(storage, org, "bench")
        assert project.id.isalnum()  # generated here (hex); the only value put into this SQL text
        for sql in (_OBSERVATIONS, _TRACES):
            await storage.clickhouse.command(sql.format(project=project.id, n=n), "bench.generate")
        issued = await issue_api_key(storage, project.id, "bench")
        return issued.key.public_key, issued.secret_key


async def call(client: httpx.AsyncClient, request: tuple[str, str, dict[str, str] | None]) -> float:
    method, path, body = request
    began = time.perf_counter()
    r = await client.request(method, path, json=body)
    assert r.status_code == 200, (path, r.status_code, r.text[:200])
    assert body is None or not r.json().get("errors"), (path, r.text[:200])
    return time.perf_counter() - began


async def load(
    client: httpx.AsyncClient,
    clients: int,
    seconds: float,
    pick: list[tuple[str, str, dict[str, str] | None]],
) -> list[float]:
    """`clients` callers, each sending its next request as soon as the last one answered, for `seconds`."""
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def caller(seed: int) -> None:
        rng = random.Random(seed)
        while time.perf_counter() < deadline:
            latencies.append(await call(client, rng.choice(pick)))

    await asyncio.gather(*(caller(i) for i in range(clients)))
    return latencies


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] * 1e3 if len(values) > 1 else values[0] * 1e3


async def measure(base: str, auth: str, seconds: float) -> list[tuple[str, str, str]]:
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    headers = {"Authorization": f"Basic {auth}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60, limits=limits) as client:
        for request in (*LIGHT, HEAVY):  # warm-up
            await call(client, request)
        light = list(LIGHT)
        one = await load(client, 1, seconds, light)
        eight = await load(client, 8, seconds, light)
        print(f"1 client {len(one) / seconds:.1f}/s, 8 clients {len(eight) / seconds:.1f}/s", flush=True)
        mixed = await load(client, 50, seconds, [*light] * 9 + [HEAVY] * 5)  # one request in ten searches
        print(f"50 mixed clients: p50 {pct(mixed, 50):.0f} ms, p99 {pct(mixed, 99):.0f} ms", flush=True)
        alone = await load(client, 1, seconds / 2, light)
        searching = asyncio.ensure_future(load(client, 8, seconds, [HEAVY]))
        await asyncio.sleep(1)  # the searches are under way
        beside = await load(client, 1, seconds - 2, light)
        await searching
    delay = statistics.median(beside) - statistics.median(alone)
    print(
        f"light read alone p50 {pct(alone, 50):.0f} ms, beside 8 searches {pct(beside, 50):.0f} ms",
        flush=True,
    )
    ratio = len(eight) / max(len(one), 1)
    return [
        (
            "1 client, light reads (5 REST/GraphQL lists and metrics), in turn",
            f"{len(one) / seconds:.1f} reads/s",
            "—",
        ),
        (
            "8 concurrent clients, the same reads",
            f"{len(eight) / seconds:.1f} reads/s ({ratio:.2f}x)",
            "≥ 1.5x",
        ),
        (
            "50 concurrent clients, 1 request in 10 a text search: p50 / p99",
            f"{pct(mixed, 50):.0f} / {pct(mixed, 99):.0f} ms ({len(mixed) / seconds:.1f} reads/s)",
            "p99 < 2 s",
        ),
        (
            "a light read while 8 clients run text searches, p50 added to the same read alone",
            f"{delay * 1e3:.0f} ms ({pct(alone, 50):.0f} → {pct(beside, 50):.0f} ms)",
            "< 500 ms",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--observations", type=int, default=200_000)
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        public, secret = asyncio.run(prepare(data_dir, args.observations))
        port = free_port()
        lanes = {k: v for k, v in os.environ.items() if k == "LANGHOUSE_CLICKHOUSE_READ_THREADS"}
        server = start_server(data_dir, port, lanes)
        try:
            auth = base64.b64encode(f"{public}:{secret}".encode()).decode()
            rows = asyncio.run(measure(f"http://127.0.0.1:{port}", auth, args.seconds))
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(60)
    rows.insert(
        0, (f"{args.observations:,} observations generated in chDB (5 per trace, last 24 h)", "—", "—")
    )
    record("reads", f"python bench/reads.py --observations {args.observations}", rows)


if __name__ == "__main__":
    main()

"""Server time of the traces page and the home dashboard over a large project (issue targets: p95 < 150 ms
at 10M observations; a user's traces < 150 ms; a text search p95 < 500 ms). Rows are generated inside
ClickHouse (INSERT … SELECT FROM numbers), 5 per trace over the last 24 hours, with short inputs; the
materialised views fill as in production, and the skip indexes (bloom filters, full-text) are built as
the rows are written, as merges have built them in a project that grew to this size over weeks. Pages
are timed once the load's background merges are over: one warm-up request each, then 3 rounds of 20;
each figure is the median of the 3 rounds' figures.

    python bench/ui.py [--observations 10000000]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from app.auth import accounts as domain
from app.jobs.contracts import open_job_queue
from app.main import create_app, tune_gc
from app.storage.clickhouse.query import CompiledQuery, dangerous_raw_sql
from app.storage.postgres.tables import Role
from bench.report import record
from bench.stores import bench_project

RUNS = 20
ROUNDS = 3
MAX_SETTLE_S = 600
# Running merges, and the active parts they leave: right after a bulk insert no merge is scheduled yet,
# so "no merge running" alone is true at once; the load has settled when, for QUIET_S seconds, no merge
# runs and the number of parts stays the same.
_MERGES = (
    "SELECT (SELECT count() FROM system.merges) AS n, "
    "(SELECT count() FROM system.parts WHERE active AND database = currentDatabase()) AS parts"
)
QUIET_S = 10
# One generated observation: trace n // 5, span n % 5 (the first of each trace is its root).
_OBSERVATIONS = """
INSERT INTO observations (project_id, id, trace_id, parent_observation_id, type, name, start_time,
    end_time, level, environment, trace_name, user_id, session_id, tags, input, output, provided_model_name,
    usage_details, cost_details, total_cost, event_ts, sign, row_version)
SELECT '{project}', concat('o', toString(number)), concat('t', toString(intDiv(number, 5))),
    if(number % 5 = 0, NULL, concat('o', toString(number - number % 5))),
    if(number % 5 = 0, 'SPAN', 'GENERATION'),
    if(number % 5 = 0, concat('request-', toString(intDiv(number, 5) % 50)), 'llm'),
    now64(6) - toIntervalSecond(86000 * number / {n}) AS start,
    start + toIntervalMillisecond(50 + number % 997),
    if(number % 97 = 0, 'ERROR', 'DEFAULT'), 'default', concat('request-', toString(intDiv(number, 5) % 50)),
    concat('user-', toString(intDiv(number, 5) % 5000)), concat('session-', toString(intDiv(number, 25))),
    ['bench'],
    concat('question ', toString(number)), concat('answer ', toString(number)),
    if(number % 5 = 0, NULL, 'gpt-4o-mini'),
    if(number % 5 = 0, map(), map('input', 100, 'output', 20, 'total', 120)),
    if(number % 5 = 0, map(), map('input', toDecimal64(0.000015, 12), 'output', toDecimal64(0.000012, 12))),
    if(number % 5 = 0, NULL, toDecimal64(0.000027, 12)), now64(3), 1, 1
FROM numbers({n}) SETTINGS max_insert_block_size = 1000000
"""
_TRACES = """
INSERT INTO traces (project_id, id, timestamp, name, user_id, session_id, environment, tags, input, output,
    event_ts)
SELECT '{project}', concat('t', toString(number)), now64(6) - toIntervalSecond(86000 * number * 5 / {n}),
    concat('request-', toString(number % 50)), concat('user-', toString(number % 5000)),
    concat('session-', toString(intDiv(number, 5))), 'default', ['bench'],
    concat('question ', toString(number * 5)), concat('answer ', toString(number * 5)), now64(3)
FROM numbers(intDiv({n}, 5))
"""


# Cost by trace name over the last 24 h, two ways (docs/trace-attributes.md): what Langhouse reads (trace
# attributes kept on the observation rows, summed by the hourly rollup), and the alternative of resolving
# them at read time, joining the observations with each trace's folded name.
_BY_NAME_ROLLUP = (
    "SELECT value AS name, sum(total_cost) AS cost FROM observations_by_dimension_hourly "
    "WHERE project_id = {project_id:String} AND dimension = 'trace_name' AND hour >= {start:DateTime64(6)} "
    "GROUP BY name HAVING sum(observations) != 0"
)
_BY_NAME_JOINED = (
    "SELECT t.name AS name, sum(toFloat64(ifNull(o.total_cost, 0)) * o.sign) AS cost FROM observations AS o "
    "INNER JOIN (SELECT id, argMaxIf(name, event_ts, name IS NOT NULL) AS name FROM traces "
    "WHERE project_id = {project_id:String} AND timestamp >= {start:DateTime64(6)} - INTERVAL 1 HOUR "
    "GROUP BY id) AS t ON o.trace_id = t.id "
    "WHERE o.project_id = {project_id:String} AND o.start_time >= {start:DateTime64(6)} GROUP BY name"
)


def pct(samples: list[float], q: int) -> float:
    return statistics.quantiles(samples, n=100)[q - 1] * 1e3


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--observations", type=int, default=10_000_000)
    args = parser.parse_args()
    n = args.observations
    async with bench_project() as (settings, storage, org, project), open_job_queue(storage) as jobs:
        await domain.create_user(storage, "bench@example.com", "bench password", org, Role.OWNER)
        began = time.perf_counter()
        assert project.id.isalnum()  # generated here (hex); the only value put into this SQL text
        for sql in (_OBSERVATIONS, _TRACES):
            await storage.clickhouse.command(sql.format(project=project.id, n=n), "bench.generate")
        loaded = time.perf_counter() - began
        print(f"generated {n:,} observations in {loaded:.0f} s", flush=True)
        # A bulk load leaves minutes of merges (and full-text index building) behind it, which a
        # project that grew to this size over weeks does not have: time the pages once they end.
        settled, quiet, last = time.perf_counter(), 0, None
        while time.perf_counter() - settled < MAX_SETTLE_S and quiet < QUIET_S:
            [row] = await storage.clickhouse.query(dangerous_raw_sql(_MERGES, "bench.merges"))
            quiet = quiet + 1 if not int(str(row["n"])) and row["parts"] == last else 0
            last = row["parts"]
            await asyncio.sleep(1)
        settled = time.perf_counter() - settled - QUIET_S
        print(f"merges settled in {settled:.0f} s", flush=True)
        transport = httpx.ASGITransport(app=create_app(settings, storage, jobs=jobs))
        tune_gc()  # as `langhouse serve` does
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            page = await client.get("/login")
            token = page.text.split('name="_csrf_token" value="', 1)[1].split('"', 1)[0]
            r = await client.post(
                "/login",
                data={"email": "bench@example.com", "password": "bench password", "_csrf_token": token},
            )
            assert r.status_code == 302, r.text
            timings: dict[str, list[list[float]]] = {}
            paths = ("/traces", "/?range=24h", "/traces?search=question%2012345", "/traces?user=user-42")
            for path in paths:
                assert (await client.get(path)).status_code == 200  # warm-up (templates, caches)
            for _ in range(ROUNDS):
                for path in paths:
                    samples = []
                    for _ in range(RUNS):
                        t = time.perf_counter()
                        r = await client.get(path)
                        samples.append(time.perf_counter() - t)
                        assert r.status_code == 200, (path, r.status_code)
                    timings.setdefault(path, []).append(samples)
                    print(path, f"p50 {pct(samples, 50):.0f} ms, p95 {pct(samples, 95):.0f} ms", flush=True)
        params = {"project_id": project.id, "start": datetime.now(UTC) - timedelta(hours=24)}
        for label, sql in (("rollup", _BY_NAME_ROLLUP), ("joined", _BY_NAME_JOINED)):
            q = CompiledQuery(sql, params, f"bench.by_name_{label}")
            await storage.clickhouse.query(q)
            samples = []
            for _ in range(5 if label == "joined" else RUNS):
                t = time.perf_counter()
                await storage.clickhouse.query(q)
                samples.append(time.perf_counter() - t)
            timings[f"cost by trace name, 24 h, {label}"] = [samples]
            print(label, f"p50 {pct(samples, 50):.0f} ms", flush=True)
    rows = [
        (f"{n:,} observations generated in chDB (5 per trace, last 24 h)", f"{loaded:.0f} s", "—"),
        ("then background merges (and full-text index building), until none runs", f"{settled:.0f} s", "—"),
    ]
    targets = {
        "/traces": "p95 < 150 ms",
        "/?range=24h": "p95 < 150 ms",
        "/traces?user=user-42": "< 150 ms",
        "/traces?search=question%2012345": "p95 < 500 ms",
    }
    for path, rounds in timings.items():
        query = path.startswith("cost")
        what = f"{path} (query, {len(rounds[0])} runs" if query else f"GET {path} (server time, in-process"
        if not query:
            what += f", median of {len(rounds)} rounds of {len(rounds[0])}"
        p50 = statistics.median(pct(samples, 50) for samples in rounds)
        p95 = statistics.median(pct(samples, 95) for samples in rounds)
        rows.append((f"{what}): p50 / p95", f"{p50:.0f} / {p95:.0f} ms", targets.get(path, "—")))
    record("ui", f"python bench/ui.py --observations {n}", rows)


if __name__ == "__main__":
    asyncio.run(main())

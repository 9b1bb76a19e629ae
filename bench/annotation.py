"""Server time of the annotate view's next item over a large queue (issue target: p95 < 150 ms with 10,000
items). Traces are generated inside ClickHouse as bench/ui.py does (5 observations each, last 24 hours);
every one of them is queued (every 10th meant for the reviewer, the first fifth already completed), and a
member walks the queue as the "Save and next" and "Skip" buttons do: `GET …/annotate?after=<item>`, each
request claiming and holding the next item and reading its trace. One warm-up request, then 3 rounds of
20; each figure is the median of the rounds' figures. Saving (two scores, the item completed) is timed too.

    python bench/annotation.py [--items 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from app.auth import accounts as domain
from app.evaluation import annotation_queues as aq
from app.jobs.contracts import open_job_queue
from app.main import create_app, tune_gc
from app.storage import Storage
from app.storage.clickhouse.query import dangerous_raw_sql
from app.storage.postgres import accounts
from app.storage.postgres.tables import Role
from app.tracing import score_configs
from app.tracing.score_configs import Category, ScoreConfigSpec
from bench.report import record
from bench.stores import bench_project
from bench.ui import _MERGES, _OBSERVATIONS, _TRACES

RUNS = 20
ROUNDS = 3
SHOWN = re.compile(r'action="/annotation-queues/[0-9a-f]+/items/([0-9a-f]+)/annotate"')
CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')


def pct(samples: list[float], q: int) -> float:
    return statistics.quantiles(samples, n=100)[q - 1] * 1e3


def shown_item(html: str) -> str:
    found = SHOWN.search(html)
    assert found, html[:500]
    return found[1]


async def settle(storage: Storage) -> None:
    """Wait (at most a minute) until the load's background merges are over, as bench/ui.py does."""
    last, quiet, began = None, 0, time.perf_counter()
    while quiet < 5 and time.perf_counter() - began < 60:
        [row] = await storage.clickhouse.query(dangerous_raw_sql(_MERGES, "bench.merges"))
        quiet = quiet + 1 if not int(str(row["n"])) and row["parts"] == last else 0
        last = row["parts"]
        await asyncio.sleep(1)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=10_000)
    args = parser.parse_args()
    n = args.items
    async with bench_project() as (settings, storage, org, project), open_job_queue(storage) as jobs:
        await domain.create_user(storage, "bench@example.com", "bench password", org, Role.MEMBER)
        reviewer = await accounts.find_user(storage.postgres, "bench@example.com")
        assert reviewer is not None
        began = time.perf_counter()
        assert project.id.isalnum()  # generated here (hex); the only value put into this SQL text
        for sql in (_OBSERVATIONS, _TRACES):  # n traces of 5 observations: t0 … t{n-1}
            await storage.clickhouse.command(sql.format(project=project.id, n=n * 5), "bench.generate")
        quality = await score_configs.create_config(
            storage,
            project.id,
            ScoreConfigSpec(
                "quality", "CATEGORICAL", (Category(0, "bad"), Category(1, "ok"), Category(2, "good"))
            ),
        )
        helpful = await score_configs.create_config(
            storage, project.id, ScoreConfigSpec("helpful", "BOOLEAN")
        )
        queue = await aq.create_queue(
            storage, project.id, aq.QueueSpec("bench", score_config_ids=(quality.id, helpful.id))
        )
        for start in range(0, n, aq.MAX_ITEMS_PER_ADD):
            new = [
                aq.NewQueueItem(
                    aq.ObjectType.TRACE,
                    f"t{i}",
                    aq.ItemStatus.COMPLETED if i < n // 5 else aq.ItemStatus.PENDING,
                    reviewer.id if i % 10 == 0 else None,
                )
                for i in range(start, min(start + aq.MAX_ITEMS_PER_ADD, n))
            ]
            await aq.add_items(storage, project.id, queue.id, new)
        loaded = time.perf_counter() - began
        print(f"generated and queued {n:,} traces in {loaded:.0f} s", flush=True)
        await settle(storage)

        transport = httpx.ASGITransport(app=create_app(settings, storage, jobs=jobs))
        tune_gc()  # as `langhouse serve` does
        path = f"/annotation-queues/{queue.id}/annotate"
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            page = await client.get("/login")
            token = CSRF.search(page.text)
            assert token
            r = await client.post(
                "/login",
                data={"email": "bench@example.com", "password": "bench password", "_csrf_token": token[1]},
            )
            assert r.status_code == 302, r.text
            first = await client.get(path)  # warm-up (templates, caches, connections)
            assert first.status_code == 200, first.text[:500]
            current = shown_item(first.text)
            nexts: list[list[float]] = []
            saves: list[list[float]] = []
            for _ in range(ROUNDS):
                samples = []
                for _ in range(RUNS):
                    t = time.perf_counter()
                    r = await client.get(path, params={"after": current})
                    samples.append(time.perf_counter() - t)
                    assert r.status_code == 200, r.text[:500]
                    current = shown_item(r.text)
                nexts.append(samples)
                print(f"next item: p50 {pct(samples, 50):.0f} ms, p95 {pct(samples, 95):.0f} ms", flush=True)
                samples = []
                for _ in range(RUNS):
                    form = {
                        f"score.{quality.id}": "good",
                        f"score.{helpful.id}": "True",
                        "_csrf_token": token[1],
                    }
                    t = time.perf_counter()
                    r = await client.post(
                        f"/annotation-queues/{queue.id}/items/{current}/annotate", data=form
                    )
                    samples.append(time.perf_counter() - t)
                    assert r.status_code == 303, r.text[:500]
                    r = await client.get(r.headers["location"])
                    current = shown_item(r.text)
                saves.append(samples)
                print(f"save: p50 {pct(samples, 50):.0f} ms, p95 {pct(samples, 95):.0f} ms", flush=True)
            done = (await aq.progress(storage, project.id, [queue.id]))[queue.id]
            assert done.completed == n // 5 + ROUNDS * RUNS, done
    rows = [
        (
            f"{n:,} traces generated in chDB (5 observations each) and queued "
            f"({n // 5:,} completed, every 10th meant for the reviewer)",
            f"{loaded:.0f} s",
            "—",
        )
    ]
    for what, rounds, target in (
        (
            "GET …/annotate?after=… — the next item, claimed, held and shown with its trace",
            nexts,
            "p95 < 150 ms",
        ),
        ("POST …/items/{id}/annotate — two scores saved, the item completed", saves, "—"),
    ):
        p50 = statistics.median(pct(s, 50) for s in rounds)
        p95 = statistics.median(pct(s, 95) for s in rounds)
        label = (
            f"{what} (server time, in-process, median of {len(rounds)} rounds of {len(rounds[0])}): p50 / p95"
        )
        rows.append((label, f"{p50:.0f} / {p95:.0f} ms", target))
    record("annotation", f"python bench/annotation.py --items {n}", rows)


if __name__ == "__main__":
    asyncio.run(main())

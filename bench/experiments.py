"""Experiments end to end, against a real server process over HTTP (issue targets: a `run_experiment` over
1,000 dataset items with 2 item evaluators is fully readable < 5 s after the SDK's final flush; ingestion
throughput of normal spans does not drop while an experiment runs).

1. The dataset and its items are created through the SDK, then `dataset.run_experiment` (the real SDK,
   which flushes before it returns) runs a trivial task with 2 evaluators. From its return, the REST read
   model is polled in stages: the experiment with itemCount 1,000 (/api/public/experiments), all item runs
   (/api/public/experiment-items, cursor pages of 100), and every item run's 2 scores (the same pages with
   `fields=scores`). Where the time goes: the last ingestion job's finish time (arq's results), and the
   time one full read sweep takes once everything is in.
2. A fixed number of normal OTLP spans (the exporters' payloads, encoded beforehand, 4 senders as in
   bench/ingest.py) into a second project: alone, then again while `run_experiment` runs on the same
   server; spans/s from the first request until all their ingestion jobs finished. This flood keeps
   both cores busy on its own, so anything else on the machine slows it.
3. A steady load of normal spans (`--steady-rate`, one request after another, as an application in
   production sends): alone, then while `run_experiment` runs; spans/s written and each request's lag
   from acknowledgement to written. Does the experiment take throughput from normal traffic?

    python bench/experiments.py [--items 1000] [--spans 50000] [--steady-rate 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from app.auth import accounts as domain
from app.auth.keys import issue_api_key
from app.settings import Settings
from app.storage import open_storage
from bench.ingest import (
    BATCH,
    SENDERS,
    encoded_bodies,
    finished_jobs,
    make_spans,
    paced,
    pct,
    post_all,
    start_server,
)
from bench.report import record
from bench.startup import free_port

DATASET = "bench/experiment"
TIMEOUT_S = 300.0


class Keys:
    """A project's id and its Basic auth pair."""

    def __init__(self, project_id: str, public: str, secret: str) -> None:
        self.project_id, self.public, self.secret = project_id, public, secret
        self.auth = base64.b64encode(f"{public}:{secret}".encode()).decode()


async def prepare(data_dir: Path) -> tuple[Keys, Keys]:
    """Two projects with API keys (experiments, normal spans); the stores are closed before the server."""
    async with open_storage(Settings(data_dir=data_dir, secret_key="bench")) as storage:
        await storage.migrate()
        org = await domain.ensure_organization(storage, "bench")
        out = []
        for name in ("experiments", "spans"):
            project = await domain.ensure_project(storage, org, name)
            issued = await issue_api_key(storage, project.id, "bench")
            out.append(Keys(project.id, issued.key.public_key, issued.secret_key))
        return out[0], out[1]


def sdk(base: str, keys: Keys) -> Any:
    from langfuse import Langfuse

    return Langfuse(public_key=keys.public, secret_key=keys.secret, base_url=base)


def create_dataset(lf: Any, items: int) -> float:
    """Create the dataset and its items through the SDK (8 threads); the seconds it took."""
    began = time.perf_counter()
    lf.create_dataset(name=DATASET, description="bench")

    def add(n: int) -> None:
        lf.create_dataset_item(
            dataset_name=DATASET,
            input={"question": f"What is the capital of country {n}?"},
            expected_output=f"city {n}",
            metadata={"n": n},
        )

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(add, range(items)))
    return time.perf_counter() - began


def task(*, item: Any, **_: Any) -> str:
    return "city " + str(item.input["question"]).rsplit(" ", 1)[1].rstrip("?")


def exact(*, output: Any, expected_output: Any, **_: Any) -> Any:
    from langfuse import Evaluation

    return Evaluation(name="exact", value=output == expected_output, data_type="BOOLEAN")


def length(*, output: Any, **_: Any) -> Any:
    from langfuse import Evaluation

    return Evaluation(name="length", value=len(output))


def run_experiment(lf: Any, run_name: str) -> tuple[str, float, float]:
    """Run the experiment over the dataset; its id, its wall time (s) and the epoch time it returned.
    One SDK client serves the whole bench: the SDK keeps one set of exporters per public key, and a
    client shut down takes them with it."""
    dataset = lf.get_dataset(DATASET)
    began = time.perf_counter()
    result = dataset.run_experiment(name="bench", run_name=run_name, task=task, evaluators=[exact, length])
    returned, took = time.time(), time.perf_counter() - began
    assert len(result.item_results) == len(dataset.items)
    assert all(len(r.evaluations) == 2 for r in result.item_results)
    return str(result.experiment_id), took, returned


def read_items(client: httpx.Client, since: str, experiment_id: str, scores: bool) -> tuple[int, int]:
    """Item runs of the experiment and (with `scores`) their scores, through every cursor page."""
    items = found = 0
    cursor = None
    while True:
        params = {
            "fromStartTime": since,
            "experimentId": experiment_id,
            "limit": "100",
            "fields": "core,scores" if scores else "core",
            **({"cursor": cursor} if cursor else {}),
        }
        r = client.get("/api/public/experiment-items", params=params)
        assert r.status_code == 200, r.text[:300]
        doc = r.json()
        items += len(doc["data"])
        found += sum(len(i.get("scores") or []) for i in doc["data"])
        cursor = doc["meta"].get("cursor")
        if not cursor:
            return items, found


def item_count(client: httpx.Client, since: str, experiment_id: str) -> int:
    r = client.get("/api/public/experiments", params={"fromStartTime": since, "id": experiment_id})
    assert r.status_code == 200, r.text[:300]
    return sum(e["itemCount"] for e in r.json()["data"])


def until(check: Callable[[], bool], returned: float) -> float:
    """Poll `check` until it holds; seconds since `returned` (epoch) when it first did."""
    while not check():
        if time.time() - returned > TIMEOUT_S:
            raise SystemExit(f"not readable {TIMEOUT_S:.0f} s after the flush")
        time.sleep(0.05)
    return time.time() - returned


def readable(lf: Any, base: str, keys: Keys, redis_url: str, items: int) -> dict[str, float]:
    """Run the experiment, then time each stage of the read model after the SDK's flush."""
    since = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    before = set(asyncio.run(finished_jobs(redis_url)))
    eid, wall, returned = run_experiment(lf, "readable")
    headers = {"Authorization": f"Basic {keys.auth}"}
    with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
        experiment = until(lambda: item_count(client, since, eid) >= items, returned)
        runs = until(lambda: read_items(client, since, eid, scores=False)[0] >= items, returned)
        scored = until(lambda: read_items(client, since, eid, scores=True)[1] >= 2 * items, returned)
        sweep = time.perf_counter()
        assert read_items(client, since, eid, scores=True) == (items, 2 * items)
        sweep = time.perf_counter() - sweep
        plain = time.perf_counter()
        read_items(client, since, eid, scores=False)
        plain = time.perf_counter() - plain
    done = asyncio.run(finished_jobs(redis_url))
    mine = [f for k, f in done.items() if k not in before and f"/{keys.project_id}/" in k]
    return {
        "wall": wall,
        "experiment": experiment,
        "runs": runs,
        "scored": scored,
        "jobs": len(mine),
        "last_job": max(mine) - returned,
        "sweep": sweep,
        "plain": plain,
    }


def cpu_s(server_pid: int) -> tuple[float, float]:
    """CPU seconds used so far by the server (with its child processes) and by this process (all its
    threads: the senders, the polling and, beside, the SDK running the experiment)."""
    import psutil

    server = psutil.Process(server_pid)
    used = 0.0
    for p in (server, *server.children(recursive=True)):
        try:
            t = p.cpu_times()
            used += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return used, time.process_time()


def span_rate(
    base: str, spans_keys: Keys, redis_url: str, bodies: list[bytes], n: int, server_pid: int
) -> dict[str, float]:
    """Spans/s of the bodies (into the spans project): first request → all their jobs finished; with
    the CPU seconds the server and this process used meanwhile."""
    before = {k for k in asyncio.run(finished_jobs(redis_url)) if f"/{spans_keys.project_id}/" in k}
    server_0, bench_0 = cpu_s(server_pid)
    began = time.perf_counter()
    post_all(base, spans_keys.auth, bodies, SENDERS)
    while True:
        done = {k for k in asyncio.run(finished_jobs(redis_url)) if f"/{spans_keys.project_id}/" in k}
        if len(done - before) >= len(bodies):
            break
        time.sleep(0.05)
    took = time.perf_counter() - began
    server_1, bench_1 = cpu_s(server_pid)
    return {"rate": n / took, "took": took, "server": server_1 - server_0, "bench": bench_1 - bench_0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--spans", type=int, default=50_000)
    parser.add_argument("--steady-rate", type=int, default=2000)
    args = parser.parse_args()
    from app.storage.embedded import redis_socket_path

    n_spans = args.spans
    # two sets of spans (fresh ids each): the second run must write, not skip duplicates
    steady_spans = args.steady_rate * 10  # ~10 s of a steady load, longer than an experiment's run
    alone_bodies, beside_bodies, steady_alone, steady_beside = (
        encoded_bodies([s[i : i + BATCH] for i in range(0, len(s), BATCH)])
        for s in (make_spans(n) for n in (n_spans, n_spans, steady_spans, steady_spans))
    )
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        exp_keys, span_keys = asyncio.run(prepare(data_dir))
        port = free_port()
        server = start_server(data_dir, port, {"LANGHOUSE_INGEST_MAX_BACKLOG": "100000"})
        base, redis_url = f"http://127.0.0.1:{port}", f"unix://{redis_socket_path(data_dir)}"
        lf = sdk(base, exp_keys)
        try:
            print(f"creating {args.items} dataset items…", flush=True)
            seeded = create_dataset(lf, args.items)
            print("experiment, then the read model…", flush=True)
            load_1 = os.getloadavg()[0]
            r = readable(lf, base, exp_keys, redis_url, args.items)
            print({k: round(v, 2) for k, v in r.items()}, flush=True)
            print(f"{n_spans} spans alone…", flush=True)
            load_2 = os.getloadavg()[0]
            alone = span_rate(base, span_keys, redis_url, alone_bodies, n_spans, server.pid)
            print(f"{alone}; again beside an experiment…", flush=True)
            outcome: dict[str, tuple[str, float, float]] = {}
            beside = threading.Thread(target=lambda: outcome.setdefault("run", run_experiment(lf, "beside")))
            beside.start()
            time.sleep(1.0)  # the experiment is under way
            during = span_rate(base, span_keys, redis_url, beside_bodies, n_spans, server.pid)
            spans_done = time.time()
            beside.join()
            _, beside_wall, beside_end = outcome["run"]
            print(f"{steady_spans} spans at {args.steady_rate}/s alone…", flush=True)
            steady = paced(
                base, span_keys.auth, steady_alone, args.steady_rate, redis_url, span_keys.project_id
            )
            print(f"{steady[0]:.0f} spans/s; again beside an experiment…", flush=True)
            outcome.clear()
            beside = threading.Thread(target=lambda: outcome.setdefault("run", run_experiment(lf, "steady")))
            beside.start()
            time.sleep(1.0)
            steady_during = paced(
                base, span_keys.auth, steady_beside, args.steady_rate, redis_url, span_keys.project_id
            )
            beside.join()
            steady_wall = outcome["run"][1]
            load_3 = os.getloadavg()[0]
        finally:
            lf.shutdown()
            server.send_signal(signal.SIGTERM)
            server.wait(60)
    overlap = (
        "the whole span window"
        if beside_end >= spans_done
        else f"until {spans_done - beside_end:.1f} s before the spans were written"
    )
    print(f"{during} beside the experiment ({overlap})", flush=True)
    record(
        "experiments",
        f"python bench/experiments.py --items {args.items} --spans {args.spans} "
        f"--steady-rate {args.steady_rate}",
        [
            (
                f"dataset and {args.items:,} items created through the SDK (8 threads)",
                f"{seeded:.1f} s",
                "—",
            ),
            (
                f"`dataset.run_experiment`, {args.items:,} items, trivial task, 2 item evaluators: wall time "
                "(it flushes before it returns)",
                f"{r['wall']:.1f} s",
                "—",
            ),
            (
                "flush → experiment readable with all item runs and all scores "
                f"({args.items:,} runs, {2 * args.items:,} item scores, REST)",
                f"{r['scored']:.2f} s",
                "< 5 s",
            ),
            (
                "… of which: flush → /experiments itemCount complete; → /experiment-items all pages",
                f"{r['experiment']:.2f} s; {r['runs']:.2f} s",
                "—",
            ),
            (
                f"… flush → last of the experiment's {r['jobs']:.0f} ingestion jobs written (ingestion lag)",
                f"{r['last_job']:.2f} s",
                "—",
            ),
            (
                "… one full read once all is in: /experiment-items pages of 100 with scores; without",
                f"{r['sweep']:.2f} s; {r['plain']:.2f} s",
                "—",
            ),
            (
                f"{n_spans:,} normal spans alone, {SENDERS} senders of pre-encoded payloads: "
                "first request → all written",
                f"{alone['rate']:,.0f} spans/s ({alone['took']:.1f} s)",
                "—",
            ),
            (
                f"the same spans while `run_experiment` ({args.items:,} items) runs on the server "
                f"(it ran {beside_wall:.1f} s, {overlap})",
                f"{during['rate']:,.0f} spans/s ({during['took']:.1f} s; "
                f"{during['rate'] / alone['rate']:.2f}x alone)",
                "— (a flood: both cores busy alone already)",
            ),
            (
                f"{steady_spans:,} normal spans sent steadily at {args.steady_rate:,} spans/s, alone: "
                "written (first request → all written); acknowledgement → written p95",
                f"{steady[0]:,.0f} spans/s; {pct(steady[2], 95):.2f} s",
                "—",
            ),
            (
                f"the same steady load while `run_experiment` ({args.items:,} items) runs "
                f"(it ran {steady_wall:.1f} s of the ~10 s)",
                f"{steady_during[0]:,.0f} spans/s ({steady_during[0] / steady[0]:.2f}x alone); "
                f"{pct(steady_during[2], 95):.2f} s",
                "≈ 1x (no drop); lag p95 < 2 s",
            ),
            (
                "CPU seconds used over each span window, alone / beside: the server (with its children); "
                f"this process (senders, polling and, beside, the SDK's experiment); {os.cpu_count()} cores "
                f"give {os.cpu_count()} CPU-s a second",
                f"server {alone['server']:.1f} / {during['server']:.1f}; "
                f"bench {alone['bench']:.1f} / {during['bench']:.1f}",
                "—",
            ),
            (
                "load average (1 min) before the experiment / the spans alone / at the end "
                f"({os.cpu_count()} cores, shared)",
                f"{load_1:.1f} / {load_2:.1f} / {load_3:.1f}",
                "—",
            ),
        ],
    )


if __name__ == "__main__":
    main()

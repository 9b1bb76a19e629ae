"""LLM-as-a-judge throughput and latency, with a local fake judge answering every call in 300 ms (issue
targets: ≥ 50 judgments/s sustained, bounded by the connection's concurrency; judge score visible p95 <
rule delay + 3 s).

The stores, the app (over ASGI, in process) and the arq worker run on one event loop, as in embedded
mode; the fake provider is tests/integration/fake_llm.py on a local port, in a process of its own.

1. Throughput: N executions created at once (as a backfill does) and enqueued; judgments/s from the
   enqueue until every execution is COMPLETED (each: prompt rendered from the stored observation, one
   judge call, the score written, the judge's own trace stored and ingested).
2. Latency: spans posted to /api/public/ingestion at a steady rate under a rule with a delay; for each,
   the time from its post until its EVAL score is readable in ClickHouse.

    python bench/judges.py [--judgments 1500] [--spans 300] [--rate 20] [--delay 1] [--concurrency 32]\
        [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from app.auth import accounts as domain
from app.auth.keys import issue_api_key
from app.evaluation import rules
from app.jobs.contracts import JobQueue, open_job_queue
from app.jobs.evaluation import enqueue_executions
from app.jobs.worker import build_worker, close_worker
from app.main import create_app, tune_gc
from app.playground import connections
from app.settings import Settings
from app.storage import Storage, open_storage
from app.storage.clickhouse.query import CompiledQuery
from app.storage.postgres import executions
from app.storage.postgres.eval_tables import Evaluator, EvaluatorVersion, JobExecution
from bench.report import record
from tests.integration.fake_llm import API_KEY

JUDGE_DELAY_S = 0.3
PROMPT = [{"role": "user", "content": "Question: {{input}}\nAnswer: {{output}}\nIs the answer right?"}]


async def judge_setup(
    storage: Storage, project_id: str, base_url: str, delay_s: float
) -> tuple[str, str, str]:
    """A connection to the fake, an evaluator and a rule on GENERATIONs; (evaluator, version, rule) ids."""
    spec = connections.LlmConnectionSpec("fake", "openai", base_url, ["gpt-4o-mini"], API_KEY)
    conn = await connections.create_connection(storage, project_id, spec)
    evaluator = Evaluator(project_id=project_id, name="correctness", type="llm_as_judge")
    version = EvaluatorVersion(
        project_id=project_id,
        evaluator_id=evaluator.id,
        version=1,
        prompt=PROMPT,
        variables=["input", "output"],
        judge_model={"provider": conn.name, "model": "gpt-4o-mini"},
        output_definition={"dataType": "NUMERIC", "minValue": 0, "maxValue": 1},
    )
    async with storage.postgres.session() as s:
        s.add(evaluator)
        await s.flush()
        s.add(version)
        await s.commit()
    filters = [{"type": "stringOptions", "column": "type", "operator": "any of", "value": ["GENERATION"]}]
    rule = await rules.create_rule(
        storage,
        project_id,
        rules.RuleSpec("bench", True, [{"evaluatorId": evaluator.id}], filters, delay_seconds=delay_s),
    )
    return evaluator.id, version.id, rule.id


def batch(trace_id: str, obs_id: str) -> dict[str, object]:
    now = datetime.now(UTC).isoformat()
    gen = {
        "id": obs_id,
        "traceId": trace_id,
        "name": "answer",
        "startTime": now,
        "model": "gpt-4o-mini",
        "input": "What is 2 + 2?",
        "output": "4",
    }
    return {
        "batch": [
            {"id": uuid.uuid4().hex, "type": "trace-create", "timestamp": now, "body": {"id": trace_id}},
            {"id": uuid.uuid4().hex, "type": "generation-create", "timestamp": now, "body": gen},
        ]
    }


async def statuses(storage: Storage, project_id: str, rule_id: str | None = None) -> dict[str, int]:
    return await executions.counts_by_status(storage.postgres, project_id, rule_id=rule_id)


async def throughput(
    storage: Storage, client: httpx.AsyncClient, auth: tuple[str, str], project_id: str, n: int
) -> tuple[float, float]:
    """Judgments/s over `n` executions enqueued at once (their observations stored first); and seconds."""
    evaluator_id, version_id, rule_id = await judge_setup(storage, project_id, BASE_URL, 0)
    await rules.update_rule(storage, project_id, rule_id, rules.RulePatch(enabled=False))
    targets = []
    for _ in range(n // 50):
        posts = []
        for _ in range(50):
            trace_id, obs_id = uuid.uuid4().hex, uuid.uuid4().hex
            targets.append((trace_id, obs_id, datetime.now(UTC)))
            posts.append(client.post("/api/public/ingestion", json=batch(trace_id, obs_id), auth=auth))
        await asyncio.gather(*posts)
    await wait(lambda: stored(storage, project_id, len(targets)), 600)
    pending = [
        JobExecution(
            project_id=project_id,
            rule_id=rule_id,
            evaluator_id=evaluator_id,
            evaluator_version_id=version_id,
            target_kind="observation",
            target_key=f"{t}/{o}",
            target_trace_id=t,
            target_observation_id=o,
            target_time=at,  # as a backfill keeps it: the span's start
        )
        for t, o, at in targets
    ]
    created = await executions.create_pending(storage.postgres, pending)
    async with open_job_queue(storage) as queue:
        began = time.perf_counter()
        await enqueue_executions(queue, created)
        await wait(lambda: done(storage, project_id, rule_id, len(created)), 600)
        seconds = time.perf_counter() - began
    return len(created) / seconds, seconds


async def drained(jobs: JobQueue) -> bool:
    return await jobs.backlog() == 0


async def stored(storage: Storage, project_id: str, n: int) -> bool:
    sql = "SELECT count() AS n FROM observations FINAL WHERE project_id = {project_id:String}"
    rows = await storage.clickhouse.query(CompiledQuery(sql, {"project_id": project_id}, "bench.stored"))
    return int(str(rows[0]["n"])) >= n


async def done(storage: Storage, project_id: str, rule_id: str, n: int) -> bool:
    counts = await statuses(storage, project_id, rule_id)
    failed = counts.get("ERROR", 0) + counts.get("CANCELLED", 0)
    if failed:
        raise SystemExit(f"{failed} judgments failed: {counts}")
    return counts.get("COMPLETED", 0) >= n


async def wait(check, timeout_s: float) -> None:  # type: ignore[no-untyped-def]
    """Poll `check` every 0.25 s: it runs on the server's loop, and counting the executions by status every
    50 ms took ~8 % of that loop from the judges it measures."""
    deadline = time.monotonic() + timeout_s
    while not await check():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out after {timeout_s} s")
        await asyncio.sleep(0.25)


async def latency(
    storage: Storage,
    client: httpx.AsyncClient,
    auth: tuple[str, str],
    project_id: str,
    spans: int,
    rate: float,
    delay_s: float,
) -> list[float]:
    """Seconds from each span's post to its EVAL score being readable, at `rate` spans/s."""
    await judge_setup(storage, project_id, BASE_URL, delay_s)
    posted: dict[str, float] = {}
    walls: dict[str, datetime] = {}
    seen: dict[str, float] = {}

    async def poll() -> None:
        sql = (
            "SELECT trace_id FROM scores WHERE project_id = {project_id:String} AND source = 'EVAL' "
            "AND timestamp > now() - INTERVAL 1 HOUR"
        )
        query = CompiledQuery(sql, {"project_id": project_id}, "bench.eval_scores")
        while len(seen) < spans:
            now = time.perf_counter()
            for row in await storage.clickhouse.query(query):
                seen.setdefault(str(row["trace_id"]), now)
            await asyncio.sleep(0.1)

    poller = asyncio.create_task(poll())
    for _ in range(spans):
        trace_id = uuid.uuid4().hex
        posted[trace_id] = time.perf_counter()
        walls[trace_id] = datetime.now(UTC)
        await client.post("/api/public/ingestion", json=batch(trace_id, uuid.uuid4().hex), auth=auth)
        await asyncio.sleep(1 / rate)
    await asyncio.wait_for(poller, timeout=delay_s + 120)
    await breakdown(storage, project_id, walls)
    return [seen[t] - posted[t] for t in posted]


async def breakdown(storage: Storage, project_id: str, walls: dict[str, datetime]) -> None:
    """Where the time went, median seconds per stage (Postgres timestamps of the executions)."""
    rows = await executions.list_executions_page(storage.postgres, project_id, limit=100)
    stages = {
        "posted → created": [
            (e.created_at - walls[e.target_trace_id]).total_seconds()
            for e in rows
            if e.target_trace_id in walls
        ],
        "due → first call": [(e.started_at - e.scheduled_for).total_seconds() for e in rows if e.started_at],
        "created → due": [(e.scheduled_for - e.created_at).total_seconds() for e in rows],
        "first call → ended": [
            (e.ended_at - e.started_at).total_seconds() for e in rows if e.started_at and e.ended_at
        ],
    }
    print(", ".join(f"{k} {statistics.median(v):.2f} s" for k, v in stages.items() if v))


BASE_URL = ""


@contextlib.contextmanager
def provider(delay_s: float) -> Iterator[str]:
    """The fake provider in a process of its own, as a real one is remote (in this process its threads
    would compete with the server's for the interpreter); its base URL."""
    fake = subprocess.Popen(
        [sys.executable, "-m", "tests.integration.fake_llm", str(delay_s)],
        cwd=Path(__file__).resolve().parents[1],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert fake.stdout is not None
        yield fake.stdout.readline().strip()
    finally:
        fake.terminate()
        fake.wait()


async def main(args: argparse.Namespace) -> None:
    global BASE_URL
    for noisy in ("arq", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp, provider(JUDGE_DELAY_S) as base_url:
        BASE_URL = base_url
        settings = Settings(
            data_dir=Path(tmp),
            secret_key="bench",
            log_level="warning",
            eval_connection_concurrency=args.concurrency,
        )
        async with open_storage(settings) as storage, open_job_queue(storage) as jobs:
            await storage.migrate()
            org = await domain.ensure_organization(storage, "bench")
            keys = {}
            for name in [*(f"throughput-{i}" for i in range(args.runs)), "latency"]:
                project = await domain.ensure_project(storage, org, name)
                issued = await issue_api_key(storage, project.id, "bench")
                keys[name] = (project.id, (issued.key.public_key, issued.secret_key))
            worker = build_worker(storage, handle_signals=False)
            tune_gc()  # as `langhouse serve` does
            running = asyncio.create_task(worker.async_run())
            transport = httpx.ASGITransport(app=create_app(settings, storage, jobs=jobs))
            try:
                async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                    rates = []
                    for run in range(args.runs):  # a project each: each run sets up its own judge
                        project_id, auth = keys[f"throughput-{run}"]
                        per_s, seconds = await throughput(storage, client, auth, project_id, args.judgments)
                        print(f"throughput: {per_s:.1f} judgments/s ({args.judgments} in {seconds:.1f} s)")
                        rates.append(per_s)
                    await wait(lambda: drained(jobs), 600)  # the judges' own traces, still being ingested
                    project_id, auth = keys["latency"]
                    waits = await latency(
                        storage, client, auth, project_id, args.spans, args.rate, args.delay
                    )
            finally:
                await close_worker(worker)
                running.cancel()
    waits.sort()
    p50, p95 = statistics.median(waits), waits[int(len(waits) * 0.95) - 1]
    print(f"score visible after the span: p50 {p50:.2f} s, p95 {p95:.2f} s (delay {args.delay:g} s)")
    command = "python bench/judges.py " + " ".join(f"--{k} {v}" for k, v in vars(args).items())
    record(
        "judges",
        command.replace("_", "-"),
        [
            (
                f"judgments/s, fake judge {JUDGE_DELAY_S * 1000:.0f} ms, concurrency {args.concurrency}",
                f"{statistics.median(rates):.1f}, median of {args.runs} runs of {args.judgments} "
                f"({min(rates):.1f}-{max(rates):.1f})",
                "≥ 50",
            ),
            (
                f"EVAL score visible after the span, rule delay {args.delay:g} s, {args.rate:g} spans/s",
                f"p50 {p50:.2f} s, p95 {p95:.2f} s",
                f"p95 < {args.delay + 3:g} s",
            ),
        ],
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--judgments", type=int, default=1500)
    parser.add_argument("--spans", type=int, default=300)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--delay", type=float, default=1.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--runs", type=int, default=3)
    asyncio.run(main(parser.parse_args()))

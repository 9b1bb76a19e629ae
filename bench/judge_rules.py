"""Ingestion with evaluation rules: the worker's path (stored OTLP bodies → mapper process → coalescing
writer → after-write hook running `match_written`) with 0 and with 10 enabled rules, side by side on the
same spans, runs interleaved (target: with 10 rules, within 10 % of none).

The 10 rules are what a project might run: observation rules on one trace name's generations (sampled),
whole-trace rules on a user prefix, a metadata rule, a tool-call rule; they create executions (one
Postgres insert per flush), which the worker's own hook (app.jobs.evaluation.written_hook) enqueues as
deferred judge jobs: both are timed. No worker consumes the judge jobs here. The rules judge ~0.8 % of
the spans (about what the judges' 50 judgments/s absorb at several thousand spans/s).

    python bench/judge_rules.py [--spans 50000] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from app.auth import accounts as domain
from app.evaluation import rules
from app.evaluation.rules import RuleSpec
from app.jobs.contracts import JobQueue, open_job_queue
from app.jobs.evaluation import written_hook
from app.settings import Settings
from app.storage import Storage, open_storage
from app.storage.postgres import executions
from app.storage.postgres.eval_tables import Evaluator, EvaluatorVersion
from app.tracing.pipeline import OtlpMapper, RawBatch, process_batch
from app.tracing.writer import CoalescingWriter
from bench.ingest import BATCH, encoded_bodies, make_spans
from bench.report import record

CONCURRENT_JOBS = 96  # the worker's max_jobs


def ten_rules(evaluator_id: str) -> list[RuleSpec]:
    gens = {"type": "stringOptions", "column": "type", "operator": "any of", "value": ["GENERATION"]}

    def name(n: int) -> dict[str, object]:
        return {
            "type": "stringOptions",
            "column": "traceName",
            "operator": "any of",
            "value": [f"request-{n}"],
        }

    assign = [{"evaluatorId": evaluator_id}]
    specs = [RuleSpec(f"gens-{n}", True, assign, [name(n), gens], sampling=0.05) for n in range(6)]
    user = {"type": "string", "column": "userId", "operator": "starts with", "value": "user-1"}
    specs += [
        RuleSpec("users-1", True, assign, [user], sampling=0.02, target="trace"),
        RuleSpec(
            "roots",
            True,
            assign,
            [{"type": "boolean", "column": "isRootObservation", "operator": "=", "value": True}],
            sampling=0.01,
            target="trace",
        ),
        RuleSpec(
            "tenant",
            True,
            assign,
            [
                {
                    "type": "stringObject",
                    "column": "metadata",
                    "key": "tenant",
                    "operator": "=",
                    "value": "acme",
                }
            ],
        ),
        RuleSpec(
            "tools",
            True,
            assign,
            [{"type": "number", "column": "toolCalls", "operator": ">", "value": 0}, gens],
        ),
    ]
    return specs


async def new_project(storage: Storage, label: str, with_rules: bool) -> str:
    org = await domain.ensure_organization(storage, "bench")
    project = await domain.ensure_project(storage, org, label)
    if with_rules:
        evaluator = Evaluator(project_id=project.id, name="judge", type="llm_as_judge")
        version = EvaluatorVersion(
            project_id=project.id, evaluator_id=evaluator.id, version=1, prompt=[], variables=[]
        )
        async with storage.postgres.session() as s:
            s.add(evaluator)
            await s.flush()
            s.add(version)
            await s.commit()
        for spec in ten_rules(evaluator.id):
            await rules.create_rule(storage, project.id, spec)
    return project.id


async def one_run(
    storage: Storage, queue: JobQueue, bodies: list[bytes], label: str, with_rules: bool
) -> tuple[float, int]:
    """Spans per second from the first batch to the last written, and the executions created."""
    project_id = await new_project(storage, label, with_rules)
    batches = []
    for body in bodies:
        batch = RawBatch.create(project_id, "application/x-protobuf", "gzip", "5.2.0")
        await storage.blobs.put(batch.key, body)
        batches.append(batch)
    writer = CoalescingWriter(storage, on_written=written_hook({"storage": storage, "queue": queue}))
    mapper = OtlpMapper(storage.settings.ingest_mapper_processes)
    gate = asyncio.Semaphore(CONCURRENT_JOBS)

    async def job(batch: RawBatch) -> None:
        async with gate:
            await process_batch(storage, batch, writer, mapper)

    try:
        await asyncio.gather(job(batches[0]))  # the mapper process starts outside the clock
        t0 = time.perf_counter()
        await asyncio.gather(*(job(b) for b in batches[1:]))
        elapsed = time.perf_counter() - t0
    finally:
        await writer.close()
        mapper.close()
    return (len(bodies) - 1) * BATCH / elapsed, sum(
        (await executions.counts_by_status(storage.postgres, project_id)).values()
    )


async def run(spans: int, runs: int) -> list[tuple[str, str, str]]:
    bodies = encoded_bodies([make_spans(spans)[i : i + BATCH] for i in range(0, spans, BATCH)])
    with tempfile.TemporaryDirectory() as tmp:
        async with (
            open_storage(Settings(data_dir=Path(tmp), secret_key="bench")) as storage,
            open_job_queue(storage) as queue,
        ):
            await storage.migrate()
            await one_run(storage, queue, bodies[:20], "warm-up", True)
            none: list[float] = []
            ten: list[float] = []
            made: list[int] = []
            for r in range(runs):  # interleaved, so a slower minute of the machine hits both
                none.append((await one_run(storage, queue, bodies, f"none-{r}", False))[0])
                rate, created = await one_run(storage, queue, bodies, f"ten-{r}", True)
                ten.append(rate)
                made.append(created)
    n0, n10 = statistics.median(none), statistics.median(ten)
    spread = lambda xs: f"{min(xs):,.0f}-{max(xs):,.0f}"  # noqa: E731
    return [
        (
            f"{spans:,} spans, worker path, 0 rules: median of {runs}",
            f"{n0:,.0f} spans/s ({spread(none)})",
            "—",
        ),
        (f"same spans, 10 enabled rules: median of {runs}", f"{n10:,.0f} spans/s ({spread(ten)})", "—"),
        ("10 rules / 0 rules", f"{n10 / n0:.2f}x", "≥ 0.90x"),
        ("executions created per run with 10 rules", f"{statistics.median(made):,.0f}", "—"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--spans", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    rows = asyncio.run(run(args.spans, args.runs))
    for row in rows:
        print(" | ".join(row))
    record("judge rules", f"python bench/judge_rules.py --spans {args.spans} --runs {args.runs}", rows)


if __name__ == "__main__":
    main()

"""Run comparison statistics: compare_runs on 5 runs x 10,000 items x 3 scores (synthetic, in memory).

The issue's target is 500 ms p95 for the whole compare view (storage reads included); the statistics get
a share of ~150 ms of it. Reported: the median and worst wall time of several runs after one warm-up, and
the median CPU time (on a shared machine the wall time also counts waiting for a core).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from app.evaluation.compare import compare_runs
from app.evaluation.results import ItemResult, RunResults
from bench.report import record

BOOLEAN = frozenset({"correct"})


def synthetic(runs: int, items: int, seed: int) -> list[RunResults]:
    """Build `runs` runs over the same items: two numeric scores and one boolean, cost and latency."""
    rng = random.Random(seed)
    out = []
    for r in range(runs):
        shift = 0.02 * r
        results = tuple(
            ItemResult(
                item_key=f"item-{i}",
                trace_id=f"t-{r}-{i}",
                observation_id=None,
                output=f"answer {r} {i}",
                scores={
                    "relevance": min(1.0, max(0.0, rng.gauss(0.6 + shift, 0.2))),
                    "helpfulness": float(rng.randint(1, 5)),
                    "correct": float(rng.random() < 0.7 + shift),
                },
                boolean_scores=BOOLEAN,
                total_cost=rng.uniform(0.0005, 0.003),
                latency_ms=rng.lognormvariate(6.5, 0.5),
            )
            for i in range(items)
        )
        out.append(RunResults(experiment_id=f"exp-{r}", name=f"run {r}", items=results))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    runs = synthetic(5, args.items, seed=1)
    load = os.getloadavg()[0]
    compare_runs(runs[0], runs[1:], seed=0)  # warm-up: numpy import, first-touch allocations
    samples, cpu = [], []
    for k in range(args.repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        compare_runs(runs[0], runs[1:], seed=k)
        samples.append((time.perf_counter() - start) * 1e3)
        cpu.append((time.process_time() - start_cpu) * 1e3)
    median, worst, median_cpu = statistics.median(samples), max(samples), statistics.median(cpu)
    print(f"median {median:.1f} ms (CPU {median_cpu:.1f} ms), worst {worst:.1f} ms over {args.repeat}")
    print("wall:", [round(s) for s in sorted(samples)], "cpu:", [round(c) for c in sorted(cpu)])
    if not args.no_record:
        record(
            "Run comparison statistics",
            f"python bench/compare.py --items {args.items} --repeat {args.repeat}",
            [
                (
                    f"compare_runs, 5 runs x {args.items:,} items x 3 scores, median",
                    f"{median:.0f} ms",
                    "< 150 ms",
                ),
                ("compare_runs, median CPU time (the process's own work)", f"{median_cpu:.0f} ms", ""),
                (f"compare_runs, worst of {args.repeat}", f"{worst:.0f} ms", ""),
                ("machine load at the start (1-minute average)", f"{load:.1f} on {os.cpu_count()} cores", ""),
            ],
        )


if __name__ == "__main__":
    main()

"""Agreement over 100,000 score pairs (issue target: < 1 s).

An LLM judge (EVAL) and a reviewer (ANNOTATION) score the same 100,000 traces, once with numbers (the
judge's follow a per-trace quality with noise; the reviewer's are quarter steps, so many ties) and once
with categories (the reviewer agrees ~70 % of the time): 400,000 live scores generated inside ClickHouse
(INSERT … SELECT FROM numbers), plus an older version of a tenth of them (it must lose to the newer one)
and 10,000 scores of another name (they must not count). Timed in-process after one warm-up, 20 runs
each: `score_agreement` (the call the page and GraphQL make) for the numbers (Pearson, Spearman over
average ranks) and for the categories (Cohen's kappa, confusion matrix), and the first page of
disagreements. Wall time and the process's CPU time (chDB runs in this process, so its threads count):
on a shared machine the wall time also counts waiting for a core.

    python bench/score_agreement.py [--pairs 100000] [--runs 20]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from app.analytics import score_agreement as sa
from app.main import tune_gc
from app.storage import Storage
from app.storage.clickhouse.queries.common import TimeRange
from app.storage.clickhouse.query import dangerous_raw_sql
from bench.report import record
from bench.stores import bench_project
from bench.ui import pct

NAMES = "['judge', 'human', 'judge-label', 'human-label']"
QUALITY = "(cityHash64(intDiv(number, 4), 'q') % 1000) / 1000."
LABEL = "['good', 'bad', 'unsure'][cityHash64(intDiv(number, 4), 'c') % 3 + 1]"
# Score n: trace intDiv(n, 4), name n % 4, given within the last day.
_SCORES = f"""
INSERT INTO scores (project_id, id, timestamp, trace_id, name, value, string_value, data_type, source,
    event_ts, is_deleted)
SELECT '{{project}}', concat('s-', toString(number)),
    now64(6) - toIntervalSecond(intDiv(number, 4) % 86400), concat('t-', toString(intDiv(number, 4))),
    {NAMES}[number % 4 + 1],
    multiIf(number % 4 = 0, {QUALITY} + ((cityHash64(number, 'n') % 1000) / 1000. - 0.5) * 0.3,
        number % 4 = 1, round({QUALITY} * 4) / 4, NULL),
    multiIf(number % 4 = 2, {LABEL},
        number % 4 = 3, if(cityHash64(number, 'agree') % 10 < 7, {LABEL},
            ['good', 'bad', 'unsure'][cityHash64(number, 'h') % 3 + 1]),
        NULL),
    if(number % 4 < 2, 'NUMERIC', 'CATEGORICAL'), if(number % 2 = 0, 'EVAL', 'ANNOTATION'), now64(3), 0
FROM numbers({{total}}) SETTINGS max_insert_block_size = 1000000
"""
# Every tenth score once more, an hour older and with other values: never read.
_OLDER = f"""
INSERT INTO scores (project_id, id, timestamp, trace_id, name, value, string_value, data_type, source,
    event_ts, is_deleted)
SELECT '{{project}}', concat('s-', toString(number)),
    now64(6) - toIntervalSecond(intDiv(number, 4) % 86400), concat('t-', toString(intDiv(number, 4))),
    {NAMES}[number % 4 + 1], if(number % 4 < 2, -100., NULL), if(number % 4 < 2, NULL, 'stale'),
    if(number % 4 < 2, 'NUMERIC', 'CATEGORICAL'), if(number % 2 = 0, 'EVAL', 'ANNOTATION'),
    now64(3) - toIntervalSecond(3600), 0
FROM numbers({{total}}) WHERE number % 10 = 0 SETTINGS max_insert_block_size = 1000000
"""
_OTHER = """
INSERT INTO scores (project_id, id, timestamp, trace_id, name, value, data_type, source, event_ts)
SELECT '{project}', concat('o-', toString(number)), now64(6) - toIntervalSecond(number % 86400),
    concat('t-', toString(number)), 'toxicity', 0.5, 'NUMERIC', 'EVAL', now64(3)
FROM numbers(10000)
"""


async def seed(storage: Storage, project_id: str, pairs: int) -> float:
    """Generate the scores; the seconds it took."""
    began = time.perf_counter()
    assert project_id.isalnum()  # generated (hex); the only value put into this SQL text
    for sql in (_SCORES, _OLDER, _OTHER):
        await storage.clickhouse.command(sql.format(project=project_id, total=pairs * 4), "bench.generate")
    return time.perf_counter() - began


async def timed(runs: int, call: Callable[[], Awaitable[Any]]) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds of `runs` calls after one warm-up."""
    await call()
    wall, cpu = [], []
    for _ in range(runs):
        t, c = time.perf_counter(), time.process_time()
        await call()
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return wall, cpu


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    async with bench_project() as (_, storage, _, project):
        seeded = await seed(storage, project.id, args.pairs)
        count = dangerous_raw_sql("SELECT count() AS n FROM scores", "bench.count")
        [row] = await storage.clickhouse.query(count)
        print(f"generated {row['n']} score rows in {seeded:.1f} s", flush=True)
        now = datetime.now(UTC)
        window = TimeRange(now - timedelta(days=2), now + timedelta(hours=1))
        ch = storage.clickhouse
        judge, human = sa.ScoreSelector("judge", "EVAL"), sa.ScoreSelector("human", "ANNOTATION")
        numeric = sa.PairRequest(project.id, window, judge, human)
        labels = sa.PairRequest(
            project.id, window, sa.ScoreSelector("judge-label"), sa.ScoreSelector("human-label")
        )
        numbers = await sa.score_agreement(ch, numeric, 0.25)
        categories = await sa.score_agreement(ch, labels)
        print(f"numbers: {numbers}\ncategories: kappa {categories.cohens_kappa}", flush=True)
        assert numbers.pairs == categories.pairs == args.pairs and categories.confusion is not None
        assert numbers.mean_a is not None and numbers.mean_a > 0  # the older versions (-100) lost
        load = os.getloadavg()[0]
        tune_gc()  # as `langhouse serve` does
        cases = {
            f"numbers: Pearson + Spearman (average ranks), {args.pairs:,} pairs": lambda: sa.score_agreement(
                ch, numeric, 0.25
            ),
            f"categories: Cohen's kappa + confusion matrix, {args.pairs:,} pairs": lambda: sa.score_agreement(
                ch, labels
            ),
            "first page of 50 disagreements (numbers, tolerance 0.25)": lambda: sa.disagreements(
                ch, numeric, 0.25, 50
            ),
        }
        figures = {what: await timed(args.runs, call) for what, call in cases.items()}
        load_end = os.getloadavg()[0]
    total = 4 * args.pairs + 4 * args.pairs // 10 + 10_000
    rows = [(f"{total:,} score rows generated in chDB", f"{seeded:.1f} s", "—")]
    for what, (wall, cpu) in figures.items():
        p50, p95, cpu50 = pct(wall, 50), pct(wall, 95), statistics.median(cpu) * 1e3
        met = "p95 < 1000 ms" if p95 < 1000 else "p95 < 1000 ms (not met)"
        rows.append(
            (
                f"{what}, {args.runs} runs: wall p50 / p95 / worst; median CPU",
                f"{p50:.0f} / {p95:.0f} / {max(wall) * 1e3:.0f} ms; {cpu50:.0f} ms",
                met,
            )
        )
        print(what, f"p50 {p50:.0f} ms p95 {p95:.0f} ms cpu {cpu50:.0f} ms", flush=True)
    rows.append(
        (
            "machine load, 1-minute average, at the start / end (shared machine: wall times are noisy)",
            f"{load:.1f} / {load_end:.1f} on {os.cpu_count()} cores",
            "",
        )
    )
    if not args.no_record:
        record(
            "score agreement",
            f"python bench/score_agreement.py --pairs {args.pairs} --runs {args.runs}",
            rows,
        )


if __name__ == "__main__":
    asyncio.run(main())

"""The compare view's column reads (per-item means averaged in ClickHouse, compare_means) give the very
comparison that compare_runs gives from each run's results: repetitions, items missing from a run,
trace- and observation-level scores (another observation's left out), a replaced and a deleted score,
a non-finite value, booleans, costs summed over a trace's observations, an unfinished item run; and runs
holding legacy run items are left to the result-by-result read."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial

import pytest

from app.evaluation import experiments as ex
from app.evaluation.compare import Comparison, ScoreComparison, compare_means, compare_runs
from app.evaluation.compare_reads import item_means
from app.storage import Storage
from app.storage.clickhouse.queries import experiments as eq
from app.storage.clickhouse.write_rows import ObservationRow, ScoreRow
from app.storage.clickhouse.writes import insert_observations, insert_scores
from tests.conftest import ProjectFixture
from tests.integration.test_experiment_store import NOW, task_row

pytestmark = pytest.mark.integration


def _runs(pid: str) -> tuple[list[ObservationRow], list[ScoreRow]]:
    """Baseline "ca": items 0-29, items 0-4 run twice (n = 100-104); "cb": items 5-39, one unfinished."""
    observations: list[ObservationRow] = []
    scores: list[ScoreRow] = []
    plan = {"ca": [*range(30), *range(100, 105)], "cb": [*range(5, 40)]}
    for eid, ns in plan.items():
        shift = 0.1 if eid == "cb" else 0.0
        for n in ns:
            row = task_row(pid, eid, n)
            if eid == "cb" and n == 7:
                row = replace(row, end_time=None)
            observations.append(row)
            trace, obs, ts = row.trace_id, row.id, NOW - timedelta(minutes=4)
            score = partial(ScoreRow, pid, event_ts=NOW)
            if n % 4:  # a second generation in the trace: its cost counts, its scores do not
                gen = replace(row, id=f"g{obs}", parent_observation_id=obs, total_cost=Decimal("0.0025"))
                observations.append(gen)
                scores.append(score(f"{eid}-{n}-g", ts, "quality", trace, gen.id, value=-5.0))
            quality = 0.3 + 0.01 * (n % 17) + shift
            scores.append(score(f"{eid}-{n}-q", ts, "quality", trace, value=quality))
            if n % 3 == 0:  # an observation-level score on the item's root: averaged with the trace's
                scores.append(score(f"{eid}-{n}-qo", ts, "quality", trace, obs, value=quality + 0.2))
            exact = float((n + (eid == "cb")) % 2)
            scores.append(score(f"{eid}-{n}-e", ts, "exact", trace, value=exact, data_type="BOOLEAN"))
            if n % 5 == 0:
                scores.append(score(f"{eid}-{n}-c", ts, "cost_judged", trace, value=n / 10))
    first = scores[0]
    scores.append(replace(first, value=0.99, event_ts=NOW + timedelta(seconds=1)))  # replaced: 0.99
    scores.append(replace(scores[3], is_deleted=1, event_ts=NOW + timedelta(seconds=1)))  # deleted
    scores.append(score("nan", NOW - timedelta(minutes=4), "quality", "cb" + f"{9:016x}", value=math.inf))
    return observations, scores


def _close(u: float | None, v: float | None) -> bool:
    return u is v if u is None or v is None else math.isclose(u, v, rel_tol=1e-9)


def _same_metric(a: ScoreComparison, b: ScoreComparison) -> None:
    assert (a.name, a.kind, a.unit) == (b.name, b.kind, b.unit)
    for x, y in zip(a.runs, b.runs, strict=True):
        assert (x.experiment_id, x.n, x.repetitions) == (y.experiment_id, y.n, y.repetitions)
        for u, v in ((x.mean, y.mean), (x.ci_low, y.ci_low), (x.ci_high, y.ci_high)):
            assert _close(u, v), (a.name, x, y)
    for x, y in zip(a.deltas, b.deltas, strict=True):
        assert (x.n_paired, x.unpaired, x.method, x.significant, x.discordant) == (
            y.n_paired,
            y.unpaired,
            y.method,
            y.significant,
            y.discordant,
        ), (a.name, x, y)
        for u, v in ((x.delta, y.delta), (x.p_value, y.p_value), (x.p_adjusted, y.p_adjusted)):
            assert _close(u, v), (a.name, x, y)


def _same(a: Comparison, b: Comparison) -> None:
    import numpy as np

    assert a.run_ids == b.run_ids and a.resamples == b.resamples
    assert a.items.keys == b.items.keys
    assert a.items.score_names == b.items.score_names
    assert np.allclose(a.items.means, b.items.means, rtol=1e-12, atol=0, equal_nan=True)
    assert (a.items.flags == b.items.flags).all()
    assert a.items.order() == b.items.order()
    for x, y in zip((*a.scores, a.cost, a.latency), (*b.scores, b.cost, b.latency), strict=True):
        _same_metric(x, y)


async def test_column_reads_compare_as_the_results_do(storage: Storage, project: ProjectFixture) -> None:
    pid = project.project_id
    observations, scores = _runs(pid)
    await insert_observations(storage.clickhouse, observations)
    await insert_scores(storage.clickhouse, scores)
    ids = ("ca", "cb")
    runs = [await ex.experiment_results(storage, pid, i, io=False) for i in ids]
    assert all(r is not None for r in runs)
    expected = compare_runs(runs[0], [runs[1]])  # type: ignore[arg-type]
    table = await item_means(storage, pid, ids)
    assert table is not None
    got = compare_means(table)
    _same(got, expected)
    # What the data was built to hold, so that the equality above covers it.
    assert got.items.keys[:30] == tuple(f"item-{n}" for n in range(30)) and len(got.items) == 40
    assert [s.name for s in got.scores] == ["cost_judged", "exact", "quality"]
    assert got.scores[1].kind == "boolean" and got.scores[1].deltas[0].method == "mcnemar_exact"
    quality = got.scores[2]
    assert quality.runs[0].repetitions == 35 and quality.runs[0].n == 30
    assert quality.runs[1].repetitions == 34  # the inf value's item run is left out
    assert got.latency.runs[1].repetitions == 34 and got.cost.runs[0].repetitions == 35
    first = got.items.row(0)
    # item-0 of "ca": n = 0 (trace score replaced by 0.99, root score 0.5) and n = 100 (0.3 + 0.01 x 15)
    assert first.scores["quality"][0] == pytest.approx(((0.99 + 0.5) / 2 + 0.45) / 2)
    assert first.results == ((), ())  # rows of a column comparison hold no results: the page reads them

    # Runs again in the other order: the table order follows the new baseline.
    swapped = await item_means(storage, pid, ("cb", "ca"))
    assert swapped is not None and swapped.keys[0] == "item-5"
    _same(compare_means(swapped), compare_runs(runs[1], [runs[0]]))  # type: ignore[arg-type]


async def test_runs_with_legacy_run_items_are_left_to_the_result_reads(
    storage: Storage, project: ProjectFixture
) -> None:
    pid = project.project_id
    await insert_observations(storage.clickhouse, [task_row(pid, "la", n) for n in range(3)])
    await insert_observations(storage.clickhouse, [task_row(pid, "lb", n) for n in range(3)])
    assert await item_means(storage, pid, ("la", "lb")) is not None
    legacy = [pid, "lb", "run-lb", None, "", "", "item-9", None, "", None, "t-legacy", "", NOW, None]
    legacy += ["DEFAULT", "default", None, None, "api", datetime.now(UTC), 0]
    await eq.insert_experiment_items(storage.clickhouse, [legacy])
    assert await item_means(storage, pid, ("la", "lb")) is None
    assert await item_means(storage, pid, ("la", "nobody")) is not None  # an unknown run: the caller's 404

"""compare_runs and its statistics against known answers: coverage, size and power, hand-computed values."""

from __future__ import annotations

import math
import random
from pathlib import Path

import numpy as np
import pytest

from app.errors import InvalidInput
from app.evaluation import stats
from app.evaluation.compare import compare_runs
from app.evaluation.results import ItemResult, RunResults


def result(
    key: str, scores: dict[str, float], *, boolean: frozenset[str] = frozenset(), **kw: float
) -> ItemResult:
    return ItemResult(
        item_key=key, trace_id=f"t-{key}", observation_id=None, scores=scores, boolean_scores=boolean, **kw
    )  # type: ignore[arg-type]


def run(experiment_id: str, items: list[ItemResult]) -> RunResults:
    return RunResults(experiment_id=experiment_id, name=experiment_id, items=tuple(items))


def numeric_runs(base: list[float], other: list[float]) -> tuple[RunResults, RunResults]:
    return (
        run("base", [result(f"i{k}", {"s": v}) for k, v in enumerate(base)]),
        run("new", [result(f"i{k}", {"s": v}) for k, v in enumerate(other)]),
    )


def test_bootstrap_interval_covers_the_true_mean_at_about_95_percent() -> None:
    rng = np.random.default_rng(7)
    samples = rng.exponential(2.0, size=(60, 400))  # 400 data sets of 60 skewed values, true mean 2
    intervals = stats.bootstrap_intervals(samples, resamples=2000, seed=1)
    covered = np.mean((intervals[:, 0] <= 2.0) & (intervals[:, 1] >= 2.0))
    # Percentile intervals under-cover a little on 60 skewed values (~0.93); 400 data sets: SE 0.012.
    assert 0.88 <= covered <= 0.98, covered


def test_run_interval_brackets_the_mean_and_narrows_with_more_items() -> None:
    rng = random.Random(3)
    small = run("a", [result(f"i{k}", {"s": rng.gauss(5, 1)}) for k in range(30)])
    large = run("b", [result(f"i{k}", {"s": rng.gauss(5, 1)}) for k in range(3000)])
    widths = []
    for r in (small, large):
        stat = compare_runs(r, [r]).scores[0].runs[0]
        assert stat.ci_low is not None and stat.ci_high is not None and stat.mean is not None
        assert stat.ci_low < stat.mean < stat.ci_high
        widths.append(stat.ci_high - stat.ci_low)
    assert widths[1] < widths[0] / 5  # sqrt(100) = 10x narrower in theory
    assert abs(widths[1] - 2 * 1.96 / math.sqrt(3000)) < 0.2 * widths[1]


def test_paired_test_detects_a_real_shift() -> None:
    rng = random.Random(11)
    base = [rng.gauss(0, 1) for _ in range(80)]
    other = [b + 0.4 + rng.gauss(0, 0.5) for b in base]  # unpaired, the item spread (1) would hide 0.4
    baseline, new = numeric_runs(base, other)
    delta = compare_runs(baseline, [new]).scores[0].deltas[0]
    assert delta.method == "sign_flip_monte_carlo"
    assert delta.p_value is not None and delta.p_value < 0.001
    assert delta.significant
    assert delta.ci_low is not None and delta.ci_high is not None and delta.delta is not None
    assert 0.2 < delta.ci_low < delta.delta < delta.ci_high < 0.8
    assert delta.ci_high - delta.ci_low == pytest.approx(2 * 1.96 * 0.5 / math.sqrt(80), rel=0.25)


@pytest.mark.parametrize(
    ("pairs", "method"), [(10, "sign_flip_exact"), (50, "sign_flip_monte_carlo"), (400, "sign_flip_normal")]
)
def test_sign_flip_p_values_are_roughly_uniform_under_the_null(pairs: int, method: str) -> None:
    rng = np.random.default_rng(pairs)
    diffs = [rng.standard_t(3, size=pairs) for _ in range(300)]  # symmetric, heavy-tailed, no shift
    answers = stats.sign_flip_pvalues(diffs, seed=5)
    methods = [m for _, m in answers]
    # Heavy tails: an array where one pair dominates sum(d^2) leaves the normal shape for random patterns.
    assert set(methods) <= {method, "sign_flip_monte_carlo"} and methods.count(method) > 200
    p = np.array([p for p, _ in answers])
    assert np.mean(p < 0.05) <= 0.09  # the size holds (discrete for 10 pairs, so at most 0.05 in theory)
    assert 0.38 <= np.mean(p < 0.5) <= 0.62
    assert 0.12 <= np.mean(p < 0.2) <= 0.28


def test_null_shift_is_not_flagged_significant_across_seeds() -> None:
    hits = 0
    for seed in range(20):
        rng = random.Random(100 + seed)
        base = [rng.gauss(0, 1) for _ in range(60)]
        other = [b + rng.gauss(0, 0.5) for b in base]
        baseline, new = numeric_runs(base, other)
        hits += compare_runs(baseline, [new], seed=seed).scores[0].deltas[0].significant
    assert hits <= 4  # expected 1 in 20


def test_mcnemar_matches_hand_computed_exact_values() -> None:
    # b = 2, c = 8: 2 * P(X <= 2), X ~ Bin(10, 1/2) = 2 * (1 + 10 + 45) / 1024
    assert stats.mcnemar_exact(2, 8) == pytest.approx(112 / 1024, rel=1e-12)
    assert stats.mcnemar_exact(0, 5) == pytest.approx(2 / 32, rel=1e-12)
    assert stats.mcnemar_exact(3, 3) == 1.0
    assert stats.mcnemar_exact(0, 0) == 1.0
    # Large counts stay finite and exact in log space: 2 * P(X <= 4900), X ~ Bin(10000, 1/2), z ~ -2
    assert stats.mcnemar_exact(4900, 5100) == pytest.approx(0.04659, rel=0.01)


def test_boolean_score_uses_mcnemar_and_flags_flips() -> None:
    pairs = [(1, 0)] * 2 + [(0, 1)] * 8 + [(1, 1)] * 5 + [(0, 0)] * 3
    flag = frozenset({"ok"})
    base = run("base", [result(f"i{k}", {"ok": b}, boolean=flag) for k, (b, _) in enumerate(pairs)])
    new = run("new", [result(f"i{k}", {"ok": o}, boolean=flag) for k, (_, o) in enumerate(pairs)])
    comparison = compare_runs(base, [new])
    score = comparison.scores[0]
    assert score.kind == "boolean" and score.unit == "fraction"
    delta = score.deltas[0]
    assert delta.method == "mcnemar_exact" and delta.discordant == (2, 8)
    assert delta.p_value == pytest.approx(112 / 1024)
    assert delta.delta == pytest.approx(6 / 18)
    items = comparison.items
    assert items.row(0).flags == {"ok": ("regressed",)}
    assert items.row(2).flags == {"ok": ("improved",)}
    assert items.row(12).flags == {"ok": ("same",)}
    assert items.order(flag="regressed") == [0, 1]
    assert items.order(flag="improved", score="ok", run_id="new") == list(range(2, 10))
    assert items.order()[:2] == [0, 1]  # most regressions first, then table order
    with pytest.raises(InvalidInput, match="score"):
        items.order(flag="regressed", score="missing")


def test_holm_matches_a_hand_computed_example() -> None:
    # sorted: 0.005 x 4 = 0.02, 0.01 x 3 = 0.03, 0.03 x 2 = 0.06, 0.04 x 1 -> max(0.04, 0.06) = 0.06
    assert stats.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert stats.holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])
    assert stats.holm([]) == []


def test_holm_family_is_every_score_test_and_leaves_out_cost_and_latency() -> None:
    rng = random.Random(5)
    runs = [
        run(
            f"r{j}",
            [
                result(
                    f"i{k}",
                    {"a": rng.gauss(j * 0.1, 1), "b": rng.gauss(0, 1)},
                    total_cost=0.001 * j,
                    latency_ms=100.0,
                )
                for k in range(40)
            ],
        )
        for j in range(3)
    ]
    comparison = compare_runs(runs[0], runs[1:])
    tests = [d for s in comparison.scores for d in s.deltas]
    assert len(tests) == 4
    raw = [d.p_value for d in tests]
    assert all(p is not None for p in raw)
    assert [d.p_adjusted for d in tests] == pytest.approx(stats.holm([p for p in raw if p is not None]))
    for metric in (comparison.cost, comparison.latency):
        assert all(d.p_adjusted is None and not d.significant for d in metric.deltas)
    assert comparison.cost.unit == "USD" and comparison.latency.unit == "ms"
    assert comparison.cost.deltas[1].delta == pytest.approx(0.002)


def test_repetitions_are_averaged_per_item_before_pairing() -> None:
    base = run("base", [result("a", {"s": 1.0}), result("a", {"s": 0.0}), result("b", {"s": 1.0})])
    new = run(
        "new",
        [result("a", {"s": 1.0}), result("b", {"s": 0.0}), result("b", {"s": 0.0}), result("b", {"s": 1.0})],
    )
    comparison = compare_runs(base, [new])
    score = comparison.scores[0]
    assert (score.runs[0].n, score.runs[0].repetitions) == (2, 3)
    assert score.runs[0].mean == pytest.approx(0.75)  # mean of item means 0.5 and 1.0, not of the 3 results
    assert score.runs[1].mean == pytest.approx((1.0 + 1 / 3) / 2)
    assert score.deltas[0].delta == pytest.approx(((1.0 - 0.5) + (1 / 3 - 1.0)) / 2)
    row = comparison.items.row(1)
    assert row.scores["s"] == pytest.approx((1.0, 1 / 3))
    assert [len(r) for r in row.results] == [1, 3]
    assert row.flags["s"] == ("regressed",)


def test_boolean_with_disagreeing_repetitions_falls_back_to_sign_flips() -> None:
    flag = frozenset({"ok"})
    base = run("base", [result("a", {"ok": 1}, boolean=flag), result("a", {"ok": 0}, boolean=flag)])
    new = run("new", [result("a", {"ok": 1}, boolean=flag)])
    delta = compare_runs(base, [new]).scores[0].deltas[0]
    assert delta.method == "sign_flip_exact" and delta.discordant is None
    assert delta.delta == pytest.approx(0.5)


def test_unpaired_items_are_counted_and_left_out() -> None:
    base = run("base", [result(k, {"s": 1.0}, total_cost=1.0) for k in "abc"])
    new = run(
        "new", [result(k, {"s": 3.0}, total_cost=2.0) for k in "bcd"] + [result("e", {}, total_cost=2.0)]
    )
    comparison = compare_runs(base, [new])
    delta = comparison.scores[0].deltas[0]
    assert (delta.n_paired, delta.unpaired, delta.delta) == (2, 2, pytest.approx(2.0))
    assert comparison.scores[0].runs[1].n == 3
    assert comparison.cost.deltas[0].unpaired == 3  # a, d, e
    assert comparison.items.keys == ("a", "b", "c", "d", "e")
    assert comparison.items.row(0).results[1] == () and comparison.items.row(0).flags == {"s": (None,)}
    assert comparison.items.row(4).scores == {"s": (None, None)}


def test_tolerance_and_direction_decide_the_flags() -> None:
    base, new = numeric_runs([1.0, 1.0, 1.0], [1.05, 0.5, 1.5])
    items = compare_runs(base, [new], tolerances={"s": 0.1}).items
    assert [items.row(i).flags["s"][0] for i in range(3)] == ["same", "regressed", "improved"]
    items = compare_runs(base, [new], lower_is_better=frozenset({"s"})).items
    assert [items.row(i).flags["s"][0] for i in range(3)] == ["regressed", "improved", "regressed"]
    assert items.regressions.tolist() == [1, 0, 1]


def test_empty_runs_answer_without_intervals() -> None:
    comparison = compare_runs(run("base", []), [run("new", [])])
    assert comparison.scores == () and len(comparison.items) == 0
    stat, delta = comparison.cost.runs[0], comparison.cost.deltas[0]
    assert (stat.n, stat.mean, stat.ci_low, stat.ci_high) == (0, None, None, None)
    assert (delta.n_paired, delta.delta, delta.p_value, delta.significant) == (0, None, None, False)
    assert comparison.items.order(flag="regressed") == []


def test_single_item_runs_have_means_but_no_intervals() -> None:
    base, new = numeric_runs([0.2], [0.7])
    comparison = compare_runs(base, [new])
    stat, delta = comparison.scores[0].runs[0], comparison.scores[0].deltas[0]
    assert stat.mean == pytest.approx(0.2) and stat.ci_low is None and stat.ci_high is None
    assert delta.delta == pytest.approx(0.5) and delta.ci_low is None and delta.ci_high is None
    assert delta.p_value == 1.0 and not delta.significant  # one pair: both sign patterns are as extreme
    only_base = compare_runs(base, [run("new", [])])
    assert only_base.scores[0].deltas[0].n_paired == 0 and only_base.scores[0].deltas[0].p_value is None


def test_same_seed_same_answer_and_the_seed_matters() -> None:
    rng = random.Random(2)
    base, new = numeric_runs([rng.random() for _ in range(50)], [rng.random() for _ in range(50)])
    first, again, other = (compare_runs(base, [new], seed=s) for s in (3, 3, 4))
    assert first.scores == again.scores
    assert first.scores[0].runs[0].ci_low != other.scores[0].runs[0].ci_low


def test_between_one_and_four_other_runs() -> None:
    base = run("base", [])
    with pytest.raises(InvalidInput, match="others"):
        compare_runs(base, [])
    with pytest.raises(InvalidInput, match="others"):
        compare_runs(base, [base] * 5)
    assert len(compare_runs(base, [base] * 4).run_ids) == 5


def test_blas_limit_is_restored_after_nested_use() -> None:
    from threadpoolctl import threadpool_info

    def blas_threads() -> list[int]:
        return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]

    # What the library reports under the limit depends on its state in this process (after some other
    # tests' threads OpenBLAS keeps its count), so the test checks the limiter's own bookkeeping: one
    # limit for nested holds, kept until the outer one ends, and the original count restored.
    holder = stats._one_blas_thread
    before = blas_threads()
    with stats.single_blas_thread():
        outer = holder._limiter
        with stats.single_blas_thread():
            assert holder._limiter is outer is not None and holder._users == 2
        assert holder._limiter is outer and holder._users == 1  # the inner exit does not lift the outer hold
    assert holder._limiter is None and holder._users == 0
    assert blas_threads() == before


def test_importing_the_module_does_not_import_numpy() -> None:
    import subprocess
    import sys

    code = "import sys, app.evaluation.compare; print('numpy' in sys.modules, 'threadpoolctl' in sys.modules)"
    root = Path(__file__).resolve().parents[3]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root)
    assert out.stdout.split() == ["False", "False"]


def test_a_value_that_is_not_a_number_is_refused_naming_the_score() -> None:
    base = run("base", [result("a", {"tone": "friendly"})])  # type: ignore[dict-item]
    with pytest.raises(InvalidInput, match="tone"):
        compare_runs(base, [base])


def test_sign_flips_ignore_zero_differences_and_distrust_the_normal_shape_when_pairs_dominate() -> None:
    # 3 nonzero differences among 1,000 pairs: exactly 8 patterns, 2 as extreme as all-positive.
    sparse = np.zeros(1000)
    sparse[:3] = [1.0, 2.0, 3.0]
    # 6 huge equal differences among 400 small ones: the exact p is about 2 * 2^-6; a normal shape says 0.014.
    dominated = np.concatenate([np.full(6, 1000.0), np.random.default_rng(0).normal(0, 0.01, 400)])
    (p_sparse, m_sparse), (p_dominated, m_dominated) = stats.sign_flip_pvalues([sparse, dominated], seed=0)
    assert (p_sparse, m_sparse) == (pytest.approx(2 / 8), "sign_flip_exact")
    assert m_dominated == "sign_flip_monte_carlo"
    assert p_dominated == pytest.approx(2 / 64, abs=0.01)


def test_paired_delta_interval_covers_the_true_shift_at_about_95_percent() -> None:
    rng = random.Random(21)
    covered = 0
    for seed in range(150):
        base = [rng.gauss(0, 1) for _ in range(30)]
        other = [b + 0.5 + rng.gauss(0, 0.7) for b in base]
        baseline, new = numeric_runs(base, other)
        delta = compare_runs(baseline, [new], seed=seed).scores[0].deltas[0]
        assert delta.ci_low is not None and delta.ci_high is not None
        covered += delta.ci_low <= 0.5 <= delta.ci_high
    assert 0.85 <= covered / 150 <= 0.99, covered  # 150 draws: SE ~0.02 around ~0.93


def test_a_none_score_counts_as_absent() -> None:
    base = run("base", [result("a", {"s": None}), result("b", {"s": 1.0})])  # type: ignore[dict-item]
    stat = compare_runs(base, [base]).scores[0].runs[0]
    assert (stat.n, stat.repetitions, stat.mean) == (1, 1, 1.0)


def test_intervals_stay_within_the_values() -> None:
    import numpy as np

    scores = np.array([[0.0], [1.0], [1.0]])  # a 0/1 score: no bound may stray below 0 or above 1
    low, high = stats.bootstrap_intervals(scores, resamples=2000, seed=0)[0]
    assert 0.0 <= low <= high <= 1.0

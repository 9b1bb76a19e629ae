"""Resampling statistics for run comparison: bootstrap intervals, sign-flip and McNemar tests, Holm.

numpy is imported inside each function so that importing this module costs no memory until a comparison runs.

Bootstrap: Poisson(1) weights per item (the "Poisson bootstrap"), shared by every series of a comparison.
A series holding only some items sees i.i.d. Poisson weights on its own items, which is exactly a Poisson
bootstrap of that series, so one weight matrix serves every run mean and every paired delta (paired deltas
resample items, the cluster unit, with repetitions already averaged per item). The weights come from one
random byte per cell (P(0) = P(1) = 94/256, P(2) = 47/256, P(3) = 16/256, P(4) = 4/256, P(5) = 1/256:
variance over squared mean 0.996, so the spread is 0.2 % narrower than with exact Poisson weights, far
inside the Monte-Carlo error), and each mean is the ratio sum(w x) / sum(w) computed as one float32 matrix
product over centred values. Resample count: 2,000 while items x 2,000 <= 4,000,000 cells, else
4,000,000 // items (at least 200), which holds the time at ~35 ms for 10,000 items. Monte-Carlo error of a
95 % percentile endpoint, in standard errors of the mean: ~0.06 at 2,000 resamples, ~0.13 at 400 (10,000
items), ~0.19 at 200.
"""

from __future__ import annotations

import math
import threading
import warnings
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    from threadpoolctl import ThreadpoolController

    FloatArray = npt.NDArray[np.float64]

TestMethod = Literal["mcnemar_exact", "sign_flip_exact", "sign_flip_monte_carlo", "sign_flip_normal"]

MAX_RESAMPLES = 2000
MIN_RESAMPLES = 200
RESAMPLE_CELLS = 4_000_000  # items x resamples drawn per comparison: the time budget
CHUNK_CELLS = 1_000_000  # weights held at once (4 MB of float32)
PERMUTATIONS = 5000  # Monte-Carlo sign flips (p-value resolution 1/5001; SE 0.003 at p = 0.05) ...
MIN_PERMUTATIONS = 1000  # ... down to this when long arrays need them (PERMUTATION_CELLS // pairs)
PERMUTATION_CELLS = 5_000_000
EXACT_FLIP_MAX = 12  # up to 2^12 sign patterns are enumerated: the exact permutation p-value
NORMAL_FLIP_MIN = 200  # from here the sign-flip distribution is taken as normal (see sign_flip_pvalues)
NORMAL_FLIP_MAX_KURTOSIS = 0.2  # ... while its excess kurtosis, -2 sum(d^4) / sum(d^2)^2, stays this small
_POISSON_BYTE_THRESHOLDS = (94, 188, 235, 251, 255)


class _OneBlasThread:
    """Hold BLAS at one thread while any comparison computes; restore it when the last one leaves.

    The limit is process-wide, so nested or concurrent users share one limiter: each restoring its own
    "original" would leave the count at whatever the last one saw.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._limiter: Any = None

    @contextmanager
    def held(self) -> Iterator[None]:
        with self._lock:
            if self._users == 0:
                self._limiter = _blas_controller().limit(limits=1, user_api="blas")
            self._users += 1
        try:
            yield
        finally:
            with self._lock:
                self._users -= 1
                if self._users == 0:
                    self._limiter.restore_original_limits()
                    self._limiter = None


def _blas_controller() -> ThreadpoolController:
    """The BLAS libraries loaded now (~0.4 ms to find): one cached at first use would miss a library another
    module loads later, and leave it at its own thread count."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


_one_blas_thread = _OneBlasThread()


def single_blas_thread() -> AbstractContextManager[None]:
    """Run the block with one BLAS thread: these products are small, and threads that wait for a busy core
    (other requests, other processes) made them 3-5x slower on the 2-core machine, never faster."""
    return _one_blas_thread.held()


def resample_count(n_items: int) -> int:
    """Return the bootstrap resample count for a comparison of `n_items` items."""
    return max(MIN_RESAMPLES, min(MAX_RESAMPLES, RESAMPLE_CELLS // max(n_items, 1)))


def bootstrap_intervals(values: FloatArray, *, resamples: int, seed: int) -> FloatArray:
    """Return the 95 % percentile bootstrap interval of each column's mean (NaN marks missing values).

    `values` is items x series; the answer is series x 2 (low, high), NaN where a series has fewer than two
    values. Every column is resampled with the same item weights.
    """
    import numpy as np

    n_items, n_series = values.shape
    out = np.full((n_series, 2), np.nan)
    present = ~np.isnan(values)
    counts = present.sum(axis=0)
    usable = np.flatnonzero(counts >= 2)
    if n_items == 0 or usable.size == 0:
        return out
    present = present[:, usable]
    centre = np.nanmean(values[:, usable], axis=0)
    centred = np.where(present, values[:, usable] - centre, 0.0).astype(np.float32)
    distinct: dict[bytes, int] = {}  # series sharing their items share one denominator column
    mask_of = np.array(
        [distinct.setdefault(present[:, j].tobytes(), len(distinct)) for j in range(usable.size)]
    )
    masks_f = np.empty((n_items, len(distinct)), dtype=np.float32)
    for j, column in zip(mask_of.tolist(), present.T, strict=True):
        masks_f[:, j] = column
    rng = np.random.default_rng(seed)
    means = np.empty((resamples, usable.size))
    chunk = max(1, CHUNK_CELLS // n_items)
    with single_blas_thread():
        for start in range(0, resamples, chunk):
            rows = min(chunk, resamples - start)
            u = rng.integers(0, 256, size=(rows, n_items), dtype=np.uint8)
            counts = (u >= _POISSON_BYTE_THRESHOLDS[0]).view(np.uint8)
            for threshold in _POISSON_BYTE_THRESHOLDS[1:]:
                counts += (u >= threshold).view(np.uint8)  # uint8 adds: float adds cost 5x more
            weights = counts.astype(np.float32)
            totals = (weights @ masks_f)[:, mask_of]
            sums = weights @ centred
            with np.errstate(invalid="ignore", divide="ignore"):
                means[start : start + rows] = sums / totals
    means += centre
    means[~np.isfinite(means)] = np.nan  # resamples that drew none of a series' items
    if np.isnan(means).any():  # nanpercentile goes column by column: only when a resample missed a series
        with warnings.catch_warnings():  # a series no resample drew stays NaN: its interval is None
            warnings.simplefilter("ignore", RuntimeWarning)
            out[usable] = np.nanpercentile(means, [2.5, 97.5], axis=0).T
    else:
        out[usable] = np.percentile(means, [2.5, 97.5], axis=0).T
    # A resampled mean lies between the series' smallest and largest value; float32 sums stray by ~1e-8
    # (a 0/1 score showed a lower bound of -1.99e-08).
    low, high = np.nanmin(values[:, usable], axis=0), np.nanmax(values[:, usable], axis=0)
    out[usable] = np.clip(out[usable], low[:, None], high[:, None])
    return out


def sign_flip_pvalues(
    diffs: Sequence[FloatArray], *, seed: int
) -> list[tuple[float | None, TestMethod | None]]:
    """Return the two-sided sign-flip permutation p-value of the mean of each array of paired differences.

    Under the null hypothesis the differences are symmetric about zero, so every sign pattern is equally
    likely. Zero differences are dropped first (their sign changes nothing). Up to EXACT_FLIP_MAX nonzero
    pairs all patterns are enumerated (exact); below NORMAL_FLIP_MIN, PERMUTATIONS random patterns shared by
    all arrays give (1 + hits) / (1 + PERMUTATIONS), a valid p-value (fewer patterns for long arrays, see
    MIN_PERMUTATIONS); from NORMAL_FLIP_MIN on, the permutation
    distribution of sum(d) is taken as normal with variance sum(d^2) (it is exactly symmetric, so the
    approximation errs by O(1/n), not O(1/sqrt n)), which keeps the resolution Holm needs at any n; unless a
    few pairs dominate (the distribution's excess kurtosis -2 sum(d^4) / sum(d^2)^2 is beyond
    NORMAL_FLIP_MAX_KURTOSIS: e.g. fewer than 10 equal outliers), when random patterns are used.
    """
    import numpy as np

    answers: list[tuple[float | None, TestMethod | None]] = [(None, None)] * len(diffs)
    monte_carlo: list[tuple[int, FloatArray]] = []
    for i, all_pairs in enumerate(diffs):
        if all_pairs.size == 0:
            continue
        d = all_pairs[all_pairs != 0]
        m = d.size
        observed = abs(float(d.sum()))
        if m <= EXACT_FLIP_MAX:
            patterns = ((np.arange(2**m)[:, None] >> np.arange(m)) & 1) * 2.0 - 1.0
            hits = np.abs(patterns @ d) >= observed * (1 - 1e-9)
            answers[i] = (float(hits.mean()), "sign_flip_exact")
            continue
        squares = d * d
        total = float(squares.sum())
        kurtosis = 2 * float(np.dot(squares, squares)) / total**2
        if m < NORMAL_FLIP_MIN or kurtosis > NORMAL_FLIP_MAX_KURTOSIS:
            monte_carlo.append((i, d))
        else:
            answers[i] = (math.erfc(observed / math.sqrt(2 * total)), "sign_flip_normal")
    if monte_carlo:
        width = max(d.size for _, d in monte_carlo)
        padded = np.zeros((width, len(monte_carlo)))
        for col, (_, d) in enumerate(monte_carlo):
            padded[: d.size, col] = d
        rng = np.random.default_rng(seed)
        count = max(MIN_PERMUTATIONS, min(PERMUTATIONS, PERMUTATION_CELLS // width))
        signs = rng.integers(0, 2, size=(count, width), dtype=np.int8) * 2.0 - 1.0
        with single_blas_thread():
            flipped = np.abs(signs @ padded)
        observed_all = np.abs(padded.sum(axis=0)) * (1 - 1e-9)
        hits = (flipped >= observed_all).sum(axis=0)
        for col, (i, _) in enumerate(monte_carlo):
            answers[i] = ((1 + int(hits[col])) / (1 + count), "sign_flip_monte_carlo")
    return answers


def mcnemar_exact(worse: int, better: int) -> float:
    """Return McNemar's exact two-sided p-value: 2 P(X <= min(b, c)), X ~ Binomial(b + c, 1/2), capped at 1.

    `worse` and `better` are the discordant pairs (b: baseline 1 and run 0; c: baseline 0 and run 1). This is
    the exact conditional test, not the mid-p: its size never exceeds the nominal level (on 0/1 pairs it is
    also what the sign-flip test gives). Computed in log space.
    """
    import numpy as np

    n = worse + better
    k = min(worse, better)
    if n == 0 or 2 * k == n:
        return 1.0
    steps = np.arange(k, dtype=np.float64)
    log_comb = np.concatenate(([0.0], np.cumsum(np.log(n - steps) - np.log(steps + 1))))
    top = float(log_comb.max())
    log_tail = top + math.log(float(np.exp(log_comb - top).sum())) - n * math.log(2)
    return min(1.0, 2 * math.exp(log_tail))


def holm(p_values: Sequence[float]) -> list[float]:
    """Return Holm's step-down adjusted p-values, in the input's order."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted

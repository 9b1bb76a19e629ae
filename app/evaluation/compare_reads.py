"""Read compared runs as per-item means, column by column: two queries for all runs, no object per item run.

The means are those `compare_runs` computes from each run's results (experiment_results): each item run's
mean of a score, then per item and run the mean over its item runs holding a finite one (ClickHouse
averages cost and latency; score values are averaged here, app/storage/clickhouse/queries/comparison.py).
Legacy run items (posted by the API,
their times read from the observation they name) are not averaged there: runs holding any are read the
slower way, by the caller.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from itertools import repeat
from typing import Any

from app.evaluation.compare import ItemMeans
from app.evaluation.experiments import BINARY_TYPES
from app.storage import Storage
from app.storage.clickhouse.queries import comparison as cq

__all__ = ["item_means"]


async def item_means(storage: Storage, project_id: str, run_ids: Sequence[str]) -> ItemMeans | None:
    """The runs' per-item means of every score, cost and latency; None when a run holds legacy run items."""
    import numpy as np

    ids = tuple(run_ids)
    items, scores = await asyncio.gather(
        cq.item_columns(storage.clickhouse, project_id, ids),
        cq.score_columns(storage.clickhouse, project_id, ids, sorted(BINARY_TYPES)),
    )
    if int(str(items["legacy"])):
        return None
    runs = len(ids)
    positions = _ints(items["positions"])
    n = positions.size
    keys = np.empty(n, dtype=object)
    keys[positions] = items["item_ids"]
    index = {key: i for i, key in enumerate(keys.tolist())}
    names = tuple(str(row["name"]) for row in scores)
    metric_count = len(names) + 2
    means = np.full((metric_count, n, runs), np.nan)
    repetitions = np.zeros((metric_count, runs), dtype=np.int64)

    def put(m: int, pos: Any, values: Any, counts: Any) -> None:
        """Set metric m's means of the items at `pos` (arrays item-major: one entry per item and run)."""
        shape = (len(pos), runs)
        values = np.asarray(values, dtype=np.float64).reshape(shape)
        counts = _ints(counts).reshape(shape)
        means[m, pos] = np.where(counts > 0, values, np.nan)
        repetitions[m] = counts.sum(axis=0)

    for m, row in enumerate(scores):  # values: averaged per item run, then per item and run
        item_ids = row["item_ids"]
        pos = np.fromiter(map(index.get, item_ids, repeat(-1)), np.intp, len(item_ids))
        known = pos >= 0  # an item run written between the two reads is not in the table: left out
        pos, result = pos[known], _ints(row["item_runs"])[known]
        size = int(result.max()) + 1 if result.size else 0
        values = np.asarray(row["values"], dtype=np.float64)[known]
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            result_means = np.bincount(result, weights=values, minlength=size) / np.bincount(
                result, minlength=size
            )
        result_cells = np.zeros(size, dtype=np.intp)
        result_cells[result] = pos * runs + _ints(row["runs"])[known]
        ok = np.isfinite(result_means)  # an item run with no value here is 0 / 0: NaN, left out too
        hits = np.bincount(result_cells[ok], minlength=n * runs)
        sums = np.bincount(result_cells[ok], weights=result_means[ok], minlength=n * runs)
        with np.errstate(invalid="ignore", divide="ignore"):
            means[m] = (sums / hits).reshape(n, runs)
        repetitions[m] = hits.reshape(n, runs).sum(axis=0)
    put(len(names), positions, items["cost_means"], items["cost_counts"])
    put(len(names) + 1, positions, items["latency_means"], items["latency_counts"])
    return ItemMeans(
        run_ids=ids,
        keys=tuple(keys.tolist()),
        score_names=names,
        boolean_scores=frozenset(str(row["name"]) for row in scores if row["binary"]),
        means=means,
        repetitions=repetitions,
    )


def _ints(values: Any) -> Any:
    import numpy as np

    return np.asarray(values, dtype=np.intp)

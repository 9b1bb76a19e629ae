"""The compare view's reads: a baseline and 1-4 other runs compared, one page of items with their outputs.

The statistics read per-item means of scores, cost and latency, averaged in ClickHouse (compare_reads: two
queries for all runs, no object per item run; runs holding legacy run items are read result by result);
the page's items are read alone, with their outputs. A comparison is kept for CACHE_TTL_S in this process, so
paging, sorting and filtering the items of a view just computed reuse it; `fresh` computes it anew.
Every read is scoped to one project.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

from app.errors import InvalidInput, NotFound
from app.evaluation import experiments as ex
from app.evaluation.compare import MAX_OTHERS, Comparison, Flag, ItemRow, compare_means, compare_runs
from app.evaluation.compare_reads import item_means
from app.evaluation.experiment_types import ExperimentItemFilter, ExperimentView
from app.evaluation.results import ItemResult
from app.storage import Storage

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = ["CompareRequest", "CompareView", "SortKey", "compare_view", "forget_comparisons"]

SortKey = Literal["regressions", "score", "cost", "latency"]
PAGE_SIZE = 50
CACHE_TTL_S = 120.0
MAX_PAGE_RESULTS = 5_000  # item runs read for a page's items (50 items x 5 runs x their repetitions)
CACHE_ENTRIES = 4  # a comparison of 5 x 10,000 item runs holds ~30 MB


@dataclass(frozen=True, slots=True)
class CompareRequest:
    """What the view shows: the runs (baseline first), the item order and filter, and the page (from 1).

    sort "regressions": most regressed scores first; "score" (with `sort_score`): the largest drop of
    that score against the baseline first; "cost" / "latency": the most expensive / slowest item first.
    `flag` keeps items flagged so, narrowed to one score (`flag_score`) and/or one run (`flag_run`).
    """

    baseline_id: str
    other_ids: tuple[str, ...]
    sort: SortKey = "regressions"
    sort_score: str | None = None
    flag: Flag | None = None
    flag_score: str | None = None
    flag_run: str | None = None
    page: int = 1
    fresh: bool = False


@dataclass(frozen=True, slots=True)
class CompareView:
    """A comparison, its experiments (baseline first) and one page of its items, outputs included."""

    comparison: Comparison
    experiments: tuple[ExperimentView, ...]
    rows: tuple[ItemRow, ...]  # the page, in the order asked
    total: int  # items passing the filter
    page: int
    pages: int
    computed_at: datetime  # when the statistics were computed (UTC)


@dataclass(frozen=True, slots=True)
class _Entry:
    comparison: Comparison
    experiments: tuple[ExperimentView, ...]
    computed_at: datetime
    at: float  # time.monotonic() when computed
    columns: bool  # compared from per-item means: its rows hold no results (read for the page shown)


_cache: OrderedDict[tuple[str, ...], _Entry] = OrderedDict()


def forget_comparisons() -> None:
    """Drop every kept comparison (tests and benchmarks time the cold path with it)."""
    _cache.clear()


def _check(request: CompareRequest) -> None:
    if not request.baseline_id:
        raise InvalidInput("baseline: give the id of the baseline run")
    if not 1 <= len(request.other_ids) <= MAX_OTHERS:
        raise InvalidInput(f"others: give 1 to {MAX_OTHERS} run ids besides the baseline")
    ids = (request.baseline_id, *request.other_ids)
    if len(set(ids)) != len(ids):
        raise InvalidInput("others: each run may be named once, the baseline not among them")
    if request.page < 1:
        raise InvalidInput("page: must be a whole number from 1")
    if request.sort == "score" and not request.sort_score:
        raise InvalidInput("sort: sorting by a score needs the score's name (score:NAME)")


async def _compute(storage: Storage, project_id: str, ids: tuple[str, ...]) -> _Entry:
    """Read the runs' per-item means of scores, cost and latency and their experiments; compare them
    (off the event loop). Runs holding legacy run items are read result by result instead."""
    table, views = await asyncio.gather(
        item_means(storage, project_id, ids),
        ex.fetch_experiments(storage, project_id, ids),
    )
    for n, (run_id, view) in enumerate(zip(ids, views, strict=True)):
        if view is None:
            field = "baseline" if n == 0 else "others"
            raise NotFound(f"{field}: experiment {run_id!r} not found in this project")
    found = tuple(v for v in views if v is not None)
    if table is not None:
        comparison = await asyncio.to_thread(compare_means, table)
        return _Entry(comparison, found, datetime.now(UTC), time.monotonic(), columns=True)
    results = await asyncio.gather(*(ex.experiment_results(storage, project_id, i, io=False) for i in ids))
    for n, (run_id, run) in enumerate(zip(ids, results, strict=True)):
        if run is None:
            field = "baseline" if n == 0 else "others"
            raise NotFound(f"{field}: experiment {run_id!r} not found in this project")
    runs = [r for r in results if r is not None]
    comparison = await asyncio.to_thread(compare_runs, runs[0], runs[1:])
    return _Entry(comparison, found, datetime.now(UTC), time.monotonic(), columns=False)


async def _comparison(storage: Storage, project_id: str, request: CompareRequest) -> _Entry:
    key = (project_id, request.baseline_id, *request.other_ids)
    entry = _cache.get(key)
    if entry is not None and not request.fresh and time.monotonic() - entry.at < CACHE_TTL_S:
        _cache.move_to_end(key)
        return entry
    entry = await _compute(storage, project_id, key[1:])
    _cache[key] = entry
    _cache.move_to_end(key)
    while len(_cache) > CACHE_ENTRIES:
        _cache.popitem(last=False)
    return entry


def _ordered(comparison: Comparison, request: CompareRequest) -> list[int]:
    """Table positions of the items to show, filtered and in the order asked."""
    import numpy as np

    items = comparison.items
    if request.flag is None and (request.flag_score or request.flag_run):
        raise InvalidInput("filter: a filter score or run needs a filter (regressed or improved)")
    order = items.order(flag=request.flag, score=request.flag_score, run_id=request.flag_run)
    if request.sort == "regressions" or not order:
        return order
    positions = np.asarray(order, dtype=np.intp)
    names = items.score_names
    if request.sort == "score":
        if request.sort_score not in names:
            raise InvalidInput(f"sort: {request.sort_score!r} is not a score of this comparison")
        means = items.means[names.index(str(request.sort_score)), positions]
        keys: npt.NDArray[np.float64] = _nan_reduce(np.nanmin, means[:, 1:] - means[:, :1])
    else:
        metric = len(names) + (0 if request.sort == "cost" else 1)
        keys = -_nan_reduce(np.nanmax, items.means[metric, positions])
    ranked = positions[np.argsort(np.where(np.isnan(keys), np.inf, keys), kind="stable")]
    return [int(i) for i in ranked]


def _nan_reduce(fn: object, values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Reduce each row ignoring NaN; NaN where a row has no value (no warning)."""
    import warnings

    import numpy as np

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out: npt.NDArray[np.float64] = fn(values, axis=1)  # type: ignore[operator]
    return np.asarray(out, dtype=np.float64)


async def _with_outputs(
    storage: Storage, project_id: str, entry: _Entry, rows: list[ItemRow]
) -> tuple[ItemRow, ...]:
    """The rows with their item runs' input, output and expected output read (these item runs only)."""
    if entry.columns:
        return await _with_results(storage, project_id, entry, rows)
    traces = sorted({r.trace_id for row in rows for results in row.results for r in results})
    if not traces:
        return tuple(rows)
    filt = ExperimentItemFilter(
        start=min(e.start_time for e in entry.experiments),
        experiment_ids=tuple(e.id for e in entry.experiments),
        trace_ids=tuple(traces),
    )
    found, _ = await ex.list_experiment_items_page(storage, project_id, filt, None, 2 * len(traces) + 10)
    by_key = {(v.experiment_id, v.trace_id, v.id): v for v in found}
    run_ids = entry.comparison.run_ids

    def filled(run_id: str, r: ItemResult) -> ItemResult:
        view = by_key.get((run_id, r.trace_id, r.observation_id or r.trace_id))
        if view is None:
            return r
        return replace(r, input=view.input, output=view.output, expected_output=view.expected_output)

    return tuple(
        replace(
            row,
            results=tuple(
                tuple(filled(run_id, r) for r in results)
                for run_id, results in zip(run_ids, row.results, strict=True)
            ),
        )
        for row in rows
    )


async def _with_results(
    storage: Storage, project_id: str, entry: _Entry, rows: list[ItemRow]
) -> tuple[ItemRow, ...]:
    """The rows (of a comparison of per-item means) with their items' runs read, outputs included."""
    if not rows:
        return ()
    filt = ExperimentItemFilter(
        start=min(e.start_time for e in entry.experiments),
        experiment_ids=tuple(e.id for e in entry.experiments),
        item_ids=tuple(row.item_key for row in rows),
    )
    found, _ = await ex.list_experiment_items_page(storage, project_id, filt, None, MAX_PAGE_RESULTS)
    found.sort(key=lambda v: (v.trace_id, "" if v.id == v.trace_id else v.id))
    by_item: dict[tuple[str, str], list[ItemResult]] = {}
    for v in found:
        observation_id = None if v.id == v.trace_id else v.id
        latency = None if v.end_time is None else (v.end_time - v.start_time).total_seconds() * 1000
        result = ItemResult(
            item_key=v.item_id,
            trace_id=v.trace_id,
            observation_id=observation_id,
            input=v.input,
            output=v.output,
            expected_output=v.expected_output,
            latency_ms=latency,
            level=v.level,
        )
        by_item.setdefault((v.experiment_id, v.item_id), []).append(result)
    run_ids = entry.comparison.run_ids
    return tuple(
        replace(row, results=tuple(tuple(by_item.get((r, row.item_key), ())) for r in run_ids))
        for row in rows
    )


async def compare_view(storage: Storage, project_id: str, request: CompareRequest) -> CompareView:
    """Compare the runs (or reuse the comparison kept for them) and read the asked page of items.

    InvalidInput naming the parameter (baseline, others, sort, score, run_id, page); NotFound naming
    the parameter when a run has no item runs in this project.
    """
    _check(request)
    entry = await _comparison(storage, project_id, request)
    order = _ordered(entry.comparison, request)
    pages = max(1, -(-len(order) // PAGE_SIZE))
    if request.page > pages:
        raise InvalidInput(f"page: there are {pages} pages of {PAGE_SIZE} items")
    shown = order[(request.page - 1) * PAGE_SIZE : request.page * PAGE_SIZE]
    rows = await _with_outputs(storage, project_id, entry, [entry.comparison.items.row(i) for i in shown])
    return CompareView(
        comparison=entry.comparison,
        experiments=entry.experiments,
        rows=rows,
        total=len(order),
        page=request.page,
        pages=pages,
        computed_at=entry.computed_at,
    )

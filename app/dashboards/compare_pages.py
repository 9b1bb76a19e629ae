"""The experiment compare view: a baseline against 1-4 runs (app.evaluation.compare_view): statistics per
score, cost and latency, distributions per run, and the items page by page with their outputs diffed."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, cast, get_args

from litestar import Request, get
from litestar.datastructures import State
from litestar.response import Template

from app.dashboards import figures
from app.dashboards.deps import UiSession, page
from app.dashboards.params import url
from app.dashboards.text_diff import TextDiff, as_text, word_diff
from app.errors import InvalidInput
from app.evaluation.compare import DeltaStat, Flag, ItemRow, RunStat, ScoreComparison
from app.evaluation.compare_view import CompareRequest, CompareView, SortKey, compare_view
from app.evaluation.results import ItemResult
from app.storage import Storage

MAX_ID = 200
ALPHA = 0.05
FILTERS = ("regressed", "improved")
TEST_NOTE = (
    "Deltas pair each item with itself in the baseline (repetitions averaged first). Intervals: paired "
    "bootstrap over items (95 %). Tests: sign-flip permutation for numeric scores, exact McNemar for "
    "boolean scores; p-values Holm-adjusted across every score and run of this comparison; "
    "significant = adjusted p < 0.05."
)
COST_NOTE = (
    "Cost and latency are reported with the same paired intervals and a raw sign-flip p-value; they are "
    "not in the Holm family and get no verdict of significance."
)


def _run_id(value: str, field: str) -> str:
    value = value.strip()
    if not value or len(value) > MAX_ID or not value.isprintable():
        raise InvalidInput(f"{field}: {value[:40]!r} is not an experiment id")
    return value


def compare_request(request: Request[Any, Any, State]) -> CompareRequest:
    """The view's parameters from the query string; InvalidInput naming the one that is wrong.

    `others` may be one comma-separated value or repeated (checkboxes); `sort` is regressions, cost,
    latency or score:NAME; `filter` regressed or improved, narrowed by `score` and/or `run_id`.
    """
    params = request.query_params
    baseline = _run_id(params.get("baseline") or "", "baseline")
    listed = [p for value in params.getall("others", []) for p in str(value).split(",") if p.strip()]
    # The runs ticked on a dataset's runs tab include the baseline chosen among them.
    listed = [p for p in listed if p.strip() != baseline]
    if not listed:
        raise InvalidInput("others: give 1 to 4 run ids (comma-separated) to compare with the baseline")
    others = tuple(_run_id(v, "others") for v in listed)
    sort_text = (params.get("sort") or "regressions").strip()
    sort_name, _, sort_score = sort_text.partition(":")
    if sort_name not in get_args(SortKey) or (sort_name == "score") != bool(sort_score):
        raise InvalidInput("sort: one of regressions, cost, latency or score:NAME")
    flag = (params.get("filter") or "").strip() or None
    if flag is not None and flag not in FILTERS:
        raise InvalidInput("filter: one of regressed, improved (or none)")
    page_text = (params.get("page") or "1").strip()
    if not page_text.isdigit() or int(page_text) < 1:
        raise InvalidInput("page: must be a whole number from 1")
    return CompareRequest(
        baseline_id=baseline,
        other_ids=others,
        sort=cast(SortKey, sort_name),
        sort_score=sort_score or None,
        flag=cast(Any, flag),
        flag_score=(params.get("score") or "").strip() or None,
        flag_run=(params.get("run_id") or "").strip() or None,
        page=int(page_text),
        fresh=params.get("fresh") == "1",
    )


def number(value: float | None, unit: str) -> str:
    """A figure in its unit: score (3 significant digits), fraction (%), USD, ms; '—' for none."""
    if value is None or not math.isfinite(value):
        return "—"
    if unit == "fraction":
        return f"{value * 100:.1f} %"
    if unit == "USD":
        return f"${value:.3g}"
    if unit == "ms":
        return f"{value:,.0f} ms" if abs(value) >= 100 else f"{value:.3g} ms"
    return f"{value:.3g}"


def signed(value: float | None, unit: str) -> str:
    if value is None or not math.isfinite(value):
        return "—"
    if unit == "fraction":
        return f"{value * 100:+.1f} pp"
    text = number(abs(value), unit)
    return ("+" if value >= 0 else "\u2212") + text


def interval(low: float | None, high: float | None, unit: str, delta: bool = False) -> str:
    if low is None or high is None:
        return ""
    show = signed if delta else number
    return f"[{show(low, unit)}, {show(high, unit)}]"


def p_text(p: float | None) -> str:
    if p is None:
        return "—"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


@dataclass(frozen=True, slots=True)
class StatRow:
    """One run's line in a metric's table, formatted."""

    label: str
    baseline: bool
    mean: str
    mean_ci: str
    n: int
    delta: str = ""
    delta_ci: str = ""
    p: str = ""
    p_adjusted: str = ""
    verdict: str = ""
    verdict_class: str = ""  # significant, not-significant, untested


def _verdict(metric: ScoreComparison, d: DeltaStat) -> tuple[str, str]:
    direction = "higher" if (d.delta or 0) > 0 else "lower"
    if metric.kind in ("cost", "latency"):
        if d.p_value is not None and d.p_value < ALPHA:
            return f"{direction} (raw p < 0.05; not adjusted, no verdict)", "untested"
        return "no clear difference (raw p; no verdict)", "untested"
    if d.significant:
        return f"significant: {direction}", "significant"
    if d.p_value is None:
        return "not tested (no paired items)", "untested"
    return "not significant", "not-significant"


def stat_rows(metric: ScoreComparison, labels: list[str]) -> list[StatRow]:
    """The baseline's line, then one per other run with its paired delta, p-values and verdict."""
    unit = metric.unit

    def base(label: str, s: RunStat, is_baseline: bool) -> dict[str, Any]:
        return {
            "label": label,
            "baseline": is_baseline,
            "mean": number(s.mean, unit),
            "mean_ci": interval(s.ci_low, s.ci_high, unit),
            "n": s.n,
        }

    rows = [StatRow(**base(labels[0], metric.runs[0], True))]
    for label, s, d in zip(labels[1:], metric.runs[1:], metric.deltas, strict=True):
        verdict, css = _verdict(metric, d)
        rows.append(
            StatRow(
                **base(label, s, False),
                delta=signed(d.delta, unit),
                delta_ci=interval(d.ci_low, d.ci_high, unit, delta=True),
                p=p_text(d.p_value),
                p_adjusted=p_text(d.p_adjusted) if metric.kind in ("numeric", "boolean") else "not in family",
                verdict=verdict,
                verdict_class=css,
            )
        )
    return rows


@dataclass(frozen=True, slots=True)
class RunCell:
    """One run's item run(s) of one item: output, diffs, scores with flags, cost, latency, traces."""

    label: str
    baseline: bool
    output: str
    vs_baseline: TextDiff | None
    vs_expected: TextDiff | None
    scores: list[tuple[str, str, Flag | None]]  # (name, value, flag against the baseline; None: baseline)
    cost: str
    latency: str
    traces: list[ItemResult]
    errors: int


@dataclass(frozen=True, slots=True)
class ItemView:
    key: str
    expected: str | None
    cells: list[RunCell]
    regressions: int
    improvements: int


def item_view(row: ItemRow, labels: list[str], units: dict[str, str]) -> ItemView:
    """An item's cells, each run's first output diffed against the baseline's and the expected output."""
    expected_value = next((r.expected_output for rs in row.results for r in rs if r.expected_output), None)
    expected = None if expected_value is None else as_text(expected_value)
    base_out = as_text(row.results[0][0].output) if row.results[0] else None
    cells = []
    for n, (label, results) in enumerate(zip(labels, row.results, strict=True)):
        output = as_text(results[0].output) if results else ""
        scores = [
            (
                name,
                number(values[n], units[name]),
                None if n == 0 else row.flags[name][n - 1],
            )
            for name, values in row.scores.items()
        ]
        cells.append(
            RunCell(
                label=label,
                baseline=n == 0,
                output=output,
                vs_baseline=word_diff(base_out, output) if n and results and base_out is not None else None,
                vs_expected=word_diff(expected, output) if results and expected is not None else None,
                scores=scores,
                cost=number(row.cost[n], "USD"),
                latency=number(row.latency_ms[n], "ms"),
                traces=list(results),
                errors=sum(r.level == "ERROR" for r in results),
            )
        )
    return ItemView(row.item_key, expected, cells, row.regressions, row.improvements)


def _context(view: CompareView, req: CompareRequest, params: dict[str, Any]) -> dict[str, Any]:
    c = view.comparison
    labels = [e.name for e in view.experiments]
    # Item values of a boolean score are 0 or 1 (a share only with repetitions): shown as numbers.
    units = {s.name: "score" for s in c.scores}
    return {
        "view": view,
        "labels": labels,
        "score_tables": [(s, stat_rows(s, labels)) for s in c.scores],
        "other_tables": [(s, stat_rows(s, labels)) for s in (c.cost, c.latency)],
        "charts": figures.compare_charts(c, labels),
        "items": [item_view(row, labels, units) for row in view.rows],
        "req": req,
        "params": params,
        "page_url": lambda n: url("/experiments/compare", params, page=n),
        "test_note": TEST_NOTE,
        "cost_note": COST_NOTE,
    }


@get("/experiments/compare")
async def compare_page(request: Request[Any, Any, State], session: UiSession, storage: Storage) -> Template:
    """A baseline against 1-4 runs of this project: statistics, distributions and one page of items."""
    req = compare_request(request)
    view = await compare_view(storage, session.caller.project_id, req)
    params = {
        "baseline": req.baseline_id,
        "others": ",".join(req.other_ids),
        "sort": request.query_params.get("sort"),
        "filter": req.flag,
        "score": req.flag_score,
        "run_id": req.flag_run,
    }
    return page(session, "compare.html", **_context(view, req, params))


COMPARE_ROUTES = [compare_page]

"""Pure functions from analytics values and metrics rows to Plotly figures (page JSON). No I/O here."""

from __future__ import annotations

import importlib.util
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.dashboards import units
from app.dashboards.units import AVERAGE_SCORE, COST, LATENCY, SCORE, SCORES, SHARE, TOKENS, Unit, count

if TYPE_CHECKING:
    from app.analytics.overview import Overview
    from app.analytics.score_agreement import ConfusionMatrix
    from app.analytics.scores import ScoreAnalytics, ScoreSourceAnalytics
    from app.analytics.widgets import WidgetResult
    from app.evaluation.compare import Comparison, ScoreComparison

# plotly.js as the plotly package ships it, served at /static/plotly/plotly.min.js. Found without
# importing plotly: the figure code is imported on the first dashboard request, not at start-up.
_SPEC = importlib.util.find_spec("plotly")
PLOTLY_JS_DIR = Path(_SPEC.origin).with_name("package_data") if _SPEC and _SPEC.origin else Path(".")

LAYOUT = {
    "margin": {"l": 48, "r": 12, "t": 36, "b": 36},
    "height": 260,
    "legend": {"orientation": "h", "y": -0.2},
    "paper_bgcolor": "rgba(0,0,0,0)",
    "plot_bgcolor": "rgba(0,0,0,0)",
}


def safe_json(text: str | None) -> str:
    """Figure JSON safe inside a <script> element: <, > and & as JSON escapes, so a trace or model
    name such as `</script>` stays data."""
    return (text or "{}").replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _layout(title: str, *, x: Unit | None = None, y: Unit | None = None, **extra: Any) -> dict[str, Any]:
    """The layout of a figure titled `title` whose axes name their units (x, y)."""
    axes = {f"{name}axis": unit.axis() for name, unit in (("x", x), ("y", y)) if unit is not None}
    return {**LAYOUT, "title": {"text": title, "font": {"size": 14}}, **axes, **extra}


def _figure(data: list[dict[str, Any]], layout: dict[str, Any]) -> str:
    """Figure JSON from plain traces and layout. Built as dicts, not graph objects: validating graph
    objects cost ~10 ms a figure, most of a dashboard's rendering time."""
    import plotly.io as pio

    return safe_json(pio.to_json({"data": data, "layout": layout}, validate=False))


def time_lines(title: str, rows: Sequence[dict[str, Any]], series: dict[str, str], unit: Unit) -> str:
    """One line per column in `series` ({column: label}) over rows' `time`, values in `unit`."""
    times = [r["time"] for r in rows]
    data = [
        {
            "type": "scatter",
            "x": times,
            "y": [r.get(column) or 0 for r in rows],
            "mode": "lines",
            "name": label,
            "hovertemplate": unit.hover(),
        }
        for column, label in series.items()
    ]
    return _figure(data, _layout(title, y=unit))


def time_lines_by(title: str, rows: Sequence[dict[str, Any]], dimension: str, value: str, unit: Unit) -> str:
    """One line per value of `dimension` over rows' `time`, values in `unit`."""
    by: dict[str, dict[Any, Any]] = defaultdict(dict)
    times = sorted({r["time"] for r in rows})
    for r in rows:
        by[r[dimension] or "(none)"][r["time"]] = r.get(value)
    data = [
        {
            "type": "scatter",
            "x": times,
            "y": [points.get(t) for t in times],
            "mode": "lines+markers",
            "name": n,
            "hovertemplate": unit.hover(),
        }
        for n, points in sorted(by.items())
    ]
    return _figure(data, _layout(title, y=unit))


def stacked_by(
    title: str,
    rows: Sequence[dict[str, Any]],
    dimension: str,
    value: str,
    unit: Unit,
    barmode: str = "stack",
) -> str:
    """Bars over time, one series per value of `dimension`: stacked (sums) or grouped (averages)."""
    by: dict[str, dict[Any, float]] = defaultdict(dict)
    times = sorted({r["time"] for r in rows})
    for r in rows:
        by[r[dimension] or "(none)"][r["time"]] = float(r.get(value) or 0)
    data = [
        {
            "type": "bar",
            "x": times,
            "y": [points.get(t, 0) for t in times],
            "name": name,
            "hovertemplate": unit.hover(),
        }
        for name, points in sorted(by.items())
    ]
    return _figure(data, _layout(title, y=unit, barmode=barmode))


def bars(title: str, labels: Sequence[str], values: Sequence[float], unit: Unit) -> str:
    """Horizontal bars, one per label, values in `unit` along x."""
    data = [
        {
            "type": "bar",
            "x": list(values),
            "y": [label or "(none)" for label in labels],
            "orientation": "h",
            "hovertemplate": f"%{{y}}: {unit.hover('x')}<extra></extra>",
        }
    ]
    return _figure(data, _layout(title, x=unit, yaxis={"autorange": "reversed", "automargin": True}))


def histogram(title: str, buckets: Sequence[dict[str, Any]], unit: Unit, counted: Unit) -> str:
    """A histogram from the metrics layer's buckets [{lower, upper, count}] of values in `unit`,
    counting `counted`."""
    labels = [f"{unit.prefix}{b['lower']:.3g}-{b['upper']:.3g}{unit.suffix}" for b in buckets]
    data = [
        {
            "type": "bar",
            "x": labels,
            "y": [b["count"] for b in buckets],
            "hovertemplate": f"%{{x}}: {counted.hover()} {counted.title.lower()}<extra></extra>",
        }
    ]
    x_axis = {"title": {"text": unit.title}, "automargin": True}
    return _figure(data, _layout(title, y=counted, xaxis=x_axis))


def pie(title: str, labels: Sequence[str], values: Sequence[float], unit: Unit) -> str:
    """Shares of a whole, values in `unit`."""
    data = [
        {
            "type": "pie",
            "labels": [label or "(none)" for label in labels],
            "values": list(values),
            "hole": 0.4,
            "hovertemplate": f"%{{label}}: {unit.hover('value')} (%{{percent}})<extra></extra>",
        }
    ]
    return _figure(data, _layout(title))


def widget(result: WidgetResult) -> str | None:
    """A widget's figure from its metrics rows; None for charts rendered as HTML (table, number)."""
    w = result.widget
    chart, title = str(w["chart"]), str(w["title"])
    rows, dimension, column = result.rows, result.dimension, result.column
    unit = units.of_measure(w["measure"], w["aggregation"], w["view"])
    if chart == "histogram":
        return histogram(title, rows[0][column] if rows else [], unit, count(units.words(w["view"])))
    if chart in ("line", "stacked_bar"):
        if dimension is None:
            return (
                time_lines(title, rows, {column: title}, unit)
                if chart == "line"
                else stacked_by(title, [{**r, "_": title} for r in rows], "_", column, unit)
            )
        return (
            time_lines_by(title, rows, dimension, column, unit)
            if chart == "line"
            else stacked_by(title, rows, dimension, column, unit)
        )
    labels = [str(r[dimension]) if dimension else title for r in rows]
    values = [float(r[column] or 0) for r in rows]
    if chart == "bar":
        return bars(title, labels, values, unit)
    if chart == "pie":
        return pie(title, labels, values, unit)
    return None


def overview_charts(o: Overview) -> dict[str, str]:
    """The home dashboard's charts, by the key the page gives each."""
    return {
        "volume": time_lines(
            "Traces and observations",
            o.volume,
            {"traces": "traces", "observations": "observations"},
            count("Count"),
        ),
        "cost": stacked_by("Cost by model", o.by_model, "model", "total_cost_sum", COST),
        "tokens": stacked_by("Tokens by model", o.by_model, "model", "total_tokens_sum", TOKENS),
        "latency": time_lines(
            "Observation latency: median, p95 and p99",
            o.latency,
            {"p50": "median", "p95": "p95", "p99": "p99"},
            LATENCY,
        ),
        "errors": time_lines("Errors", o.errors, {"errors_sum": "errors"}, count("Errors")),
        "scores": stacked_by(
            "Numeric scores (average)", o.scores, "score_name", "value_avg", AVERAGE_SCORE, "group"
        ),
    }


def score_charts(a: ScoreAnalytics) -> dict[str, str]:
    """The score analytics page's charts: averages and shares of True over time, a histogram per
    numeric score, True/False bars per boolean and category bars per categorical score."""
    charts = {
        "over-time": time_lines_by(
            "Numeric scores: average over time", a.numeric_over_time, "score_name", "value_avg", AVERAGE_SCORE
        )
    }
    if a.boolean_over_time is not None:
        charts["true-share"] = time_lines_by(
            "Boolean scores: share True over time",
            a.boolean_over_time,
            "score_name",
            "value_avg",
            SHARE,
        )
    for h in a.histograms:
        charts[f"hist-{len(charts)}"] = histogram(f"{h.score_name}: distribution", h.buckets, SCORE, SCORES)
    for s in a.summaries:
        if s.data_type == "BOOLEAN":
            charts[f"bool-{len(charts)}"] = bars(
                f"{s.name}: True / False", ["True", "False"], [s.true_count, s.count - s.true_count], SCORES
            )
        elif s.data_type == "CATEGORICAL" and s.categories:
            charts[f"cat-{len(charts)}"] = bars(
                f"{s.name}: categories", [c for c, _ in s.categories], [n for _, n in s.categories], SCORES
            )
    return charts


def score_source_charts(a: ScoreSourceAnalytics) -> dict[str, str]:
    """Scores by source over time: the count of each source, and the average of each numeric or boolean
    score name per source (a line per name and source)."""
    counts: dict[tuple[Any, str], float] = defaultdict(float)
    for r in a.trends:
        counts[(r["time"], r["source"])] += r["count_count"]
    charts = {
        "source-count": stacked_by(
            "Scores by source",
            [{"time": t, "source": s, "n": n} for (t, s), n in counts.items()],
            "source",
            "n",
            SCORES,
        )
    }
    averaged = [
        {**r, "line": f"{r['score_name']} · {r['source']}"}
        for r in a.trends
        if r["data_type"] != "CATEGORICAL"
    ]
    if any(r["value_avg"] is not None for r in averaged):  # empty buckets stay gaps in the lines
        charts["source-average"] = time_lines_by(
            "Average by score and source", averaged, "line", "value_avg", AVERAGE_SCORE
        )
    return charts


def agreement_scatter(name_a: str, name_b: str, sample: Sequence[tuple[float, float]], pairs: int) -> str:
    """Score A against score B, one point per object (a fixed sample when there are more), and the line
    where they are equal."""
    xs, ys = [a for a, _ in sample], [b for _, b in sample]
    low, high = min([*xs, *ys], default=0.0), max([*xs, *ys], default=1.0)
    shown = f" ({len(sample):,} of {pairs:,} pairs)" if len(sample) < pairs else ""
    data = [
        {
            "type": "scatter",
            "x": xs,
            "y": ys,
            "mode": "markers",
            "marker": {"size": 5, "opacity": 0.35},
            "name": "objects",
        },
        {
            "type": "scatter",
            "x": [low, high],
            "y": [low, high],
            "mode": "lines",
            "line": {"dash": "dot", "color": "#98a2b3"},
            "name": "equal",
            "hoverinfo": "skip",
        },
    ]
    layout = _layout(
        f"{name_a} vs {name_b}{shown}",
        height=360,
        xaxis={"title": {"text": name_a}},
        yaxis={"title": {"text": name_b}},
        showlegend=False,
    )
    return _figure(data, layout)


def confusion_heatmap(name_a: str, name_b: str, matrix: ConfusionMatrix) -> str:
    """The confusion matrix as a heatmap: A's labels down, B's across, each cell's count written in it."""
    labels = list(matrix.labels)
    counts = [list(row) for row in matrix.counts]
    data = [
        {
            "type": "heatmap",
            "x": labels,
            "y": labels,
            "z": counts,
            "text": [[str(n) for n in row] for row in counts],
            "texttemplate": "%{text}",
            "colorscale": [[0, "#f8fafc"], [1, "#2f6fed"]],
            "hovertemplate": f"{name_a}: %{{y}}<br>{name_b}: %{{x}}<br>%{{z}} objects<extra></extra>",
        }
    ]
    layout = _layout(
        f"{name_a} (rows) vs {name_b} (columns)",
        height=max(260, 60 + 36 * len(labels)),
        xaxis={"title": {"text": name_b}, "type": "category", "automargin": True},
        yaxis={"title": {"text": name_a}, "type": "category", "autorange": "reversed", "automargin": True},
    )
    return _figure(data, layout)


def usage_charts(rows: Sequence[dict[str, Any]]) -> dict[str, str]:
    """Cost and tokens over time (rows of time, total_cost_sum, total_tokens_sum)."""
    return {
        "cost": time_lines("Cost", rows, {"total_cost_sum": "cost"}, COST),
        "tokens": time_lines("Tokens", rows, {"total_tokens_sum": "tokens"}, TOKENS),
    }


def _box(values: Any) -> dict[str, list[float]] | None:
    """Tukey box statistics of a float array (NaN left out): quartiles, 1.5 IQR fences clipped to the data."""
    import numpy as np

    v = values[~np.isnan(values)]
    if not v.size:
        return None
    q1, median, q3 = (float(x) for x in np.percentile(v, [25, 50, 75]))
    iqr = q3 - q1
    low, high = v[v >= q1 - 1.5 * iqr], v[v <= q3 + 1.5 * iqr]
    return {
        "q1": [q1],
        "median": [median],
        "q3": [q3],
        "lowerfence": [float(low.min())],
        "upperfence": [float(high.max())],
        "mean": [float(v.mean())],
    }


def _shares(title: str, labels: Sequence[str], metric: ScoreComparison) -> str:
    """A boolean score's share of 1s per run, with its 95 % interval as error bars."""
    means = [s.mean for s in metric.runs]
    above = [None if s.ci_high is None or s.mean is None else s.ci_high - s.mean for s in metric.runs]
    below = [None if s.ci_low is None or s.mean is None else s.mean - s.ci_low for s in metric.runs]
    data = [
        {
            "type": "bar",
            "x": list(labels),
            "y": means,
            "error_y": {"type": "data", "array": above, "arrayminus": below, "symmetric": False},
        }
    ]
    return _figure(data, _layout(title, showlegend=False, yaxis={**SHARE.axis(), "range": [0, 1]}))


def compare_charts(comparison: Comparison, labels: Sequence[str]) -> dict[str, str]:
    """The compare view's distributions per run (`labels`, baseline first), by chart key: a box per run
    of each numeric score's per-item means and of latency; a boolean score's share of 1s with its interval.
    Boxes are sent as their statistics (five numbers a run), not 10,000 points."""
    items = comparison.items
    charts: dict[str, str] = {}
    metrics = [(s, items.score_names.index(s.name)) for s in comparison.scores]
    metrics.append((comparison.latency, len(items.score_names) + 1))
    for n, (metric, row) in enumerate(metrics):
        title = f"{metric.name} per item"
        if metric.kind == "boolean":
            charts[f"score-{n}"] = _shares(f"{metric.name}: share of 1s (95 % interval)", labels, metric)
            continue
        unit = LATENCY if metric.kind == "latency" else Unit("Mean score per item")
        data = []
        for r, label in enumerate(labels):
            box = _box(items.means[row, :, r])
            if box is not None:
                data.append({"type": "box", "name": label, "x": [label], "boxmean": True, **box})
        charts[f"score-{n}"] = _figure(data, _layout(title, y=unit, showlegend=False))
    return charts

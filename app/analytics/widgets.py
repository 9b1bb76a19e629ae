"""Custom dashboard widgets: what a widget may ask for, the metrics request it runs and its result."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.errors import InvalidInput
from app.storage.clickhouse.client import ClickHouse
from app.storage.clickhouse.queries import metrics as mq
from app.storage.clickhouse.queries.common import TimeRange

CHARTS = ("line", "bar", "stacked_bar", "pie", "table", "number", "histogram")
TIME_SERIES = {"line", "stacked_bar"}
MAX_WIDGETS = 30


def validate(form: dict[str, str]) -> dict[str, Any]:
    """A widget from form fields (title, view, measure, aggregation, dimension, chart, filter_*)."""

    def enum(kind: type[Any], field: str, *, optional: bool = False) -> Any:
        value = (form.get(field) or "").strip().upper()
        if not value and optional:
            return None
        try:
            return kind(value)
        except ValueError as exc:
            raise InvalidInput(f"{field} must be one of {', '.join(m.value for m in kind)}") from exc

    chart = (form.get("chart") or "").strip().lower()
    if chart not in CHARTS:
        raise InvalidInput(f"chart must be one of {', '.join(CHARTS)}")
    widget = {
        "title": (form.get("title") or "").strip()[:200] or "Untitled",
        "view": enum(mq.View, "view").value,
        "measure": enum(mq.Measure, "measure").value,
        "aggregation": (
            mq.Aggregation.HISTOGRAM if chart == "histogram" else enum(mq.Aggregation, "aggregation")
        ).value,
        "dimension": None,
        "chart": chart,
        "filters": {},
    }
    dimension = enum(mq.Dimension, "dimension", optional=True)
    if dimension is not None and chart not in ("number", "histogram"):
        widget["dimension"] = dimension.value
    filter_dimension = enum(mq.Dimension, "filter_dimension", optional=True)
    values = [v.strip() for v in (form.get("filter_values") or "").split(",") if v.strip()]
    if filter_dimension is not None and values:
        widget["filters"] = {filter_dimension.value: values}
    request(widget, "check", TimeRange.resolve(None, None))  # refuses what the metrics layer refuses
    return widget


def request(widget: dict[str, Any], project_id: str, time: TimeRange) -> mq.MetricsRequest:
    """The metrics request behind a widget (validated: InvalidInput names the problem)."""
    series = widget["chart"] in TIME_SERIES
    req = mq.MetricsRequest(
        project_id,
        mq.View(widget["view"]),
        (mq.MetricSpec(mq.Measure(widget["measure"]), mq.Aggregation(widget["aggregation"])),),
        time,
        (mq.Dimension(widget["dimension"]),) if widget.get("dimension") else (),
        tuple(
            mq.DimensionFilter(mq.Dimension(d), tuple(v)) for d, v in (widget.get("filters") or {}).items()
        ),
        mq.Granularity.AUTO if series else None,
        series,
        500,
    )
    mq.compile_metrics(req)
    return req


@dataclass(frozen=True, slots=True)
class WidgetResult:
    """What one widget's request returned, and which row keys hold its dimension and its measure."""

    widget: dict[str, Any]
    rows: list[dict[str, Any]]
    columns: list[str]
    dimension: str | None  # the rows' key of the widget's dimension, if it has one
    column: str  # the rows' key of its measure
    served_from: str  # the rollup or the raw table

    @property
    def number(self) -> Any:
        """The value a `number` widget shows (None for other charts or no rows)."""
        return self.rows[0][self.column] if self.rows and self.widget["chart"] == "number" else None


async def run_widgets(
    ch: ClickHouse, project_id: str, widgets: list[dict[str, Any]], time: TimeRange
) -> list[WidgetResult]:
    """Each widget's metrics over `time`, in order (one query per widget)."""
    out = []
    for w in widgets:
        req = request(w, project_id, time)
        result = await mq.run_metrics(ch, req)
        dimension = req.dimensions[0].value.lower() if req.dimensions else None
        out.append(
            WidgetResult(w, result.rows, result.columns, dimension, req.metrics[0].alias, result.served_from)
        )
    return out

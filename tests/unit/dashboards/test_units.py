"""Units on figures and widgets ($ ticks, ms, tokens, counts), prices per 1M tokens, and the words pages
show for metrics names."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from app.analytics.widgets import WidgetResult
from app.dashboards import figures, units
from app.dashboards.settings_pages import ModelForm
from app.errors import InvalidInput
from app.storage.clickhouse.queries.metric_registry import Aggregation, Dimension, Measure, View


@pytest.mark.parametrize(
    ("name", "shown"),
    [("TOTAL_COST", "Total cost"), ("TRACE_NAME", "Trace name"), ("stacked_bar", "Stacked bar"),
     ("P95", "p95"), ("UNIQ", "Distinct count"), ("AVG", "Average"), ("STRING_VALUE", "Category")],
)  # fmt: skip
def test_metrics_names_read_as_words(name: str, shown: str) -> None:
    assert units.words(name) == shown


def test_every_metrics_name_has_words_without_underscores() -> None:
    for kind in (View, Measure, Aggregation, Dimension):
        for member in kind:
            assert "_" not in units.words(member.value) and units.words(member.value)[0].isalpha()


@pytest.mark.parametrize(
    ("unit", "value", "text"),
    [(units.COST, 0.015, "$0.015"), (units.COST, 1234.5, "$1,234.50"), (units.COST, 0, "$0"),
     (units.LATENCY, 450.2, "450 ms"), (units.TOKENS, 180, "180 tokens"), (units.SHARE, 0.5, "50%"),
     (units.count("Traces"), 12, "12"), (units.COST, None, "")],
)  # fmt: skip
def test_values_are_written_in_their_unit(unit: units.Unit, value: float | None, text: str) -> None:
    assert unit.text(value) == text


@pytest.mark.parametrize(
    ("measure", "aggregation", "view", "title", "prefix"),
    [("TOTAL_COST", "SUM", "OBSERVATIONS", "Cost ($)", "$"), ("LATENCY", "P95", "TRACES", "Latency (ms)", ""),
     ("TOTAL_TOKENS", "AVG", "OBSERVATIONS", "Tokens", ""), ("COUNT", "COUNT", "TRACES", "Traces", ""),
     ("USERS", "UNIQ", "OBSERVATIONS", "Distinct users", ""), ("VALUE", "AVG", "SCORES", "Score value", "")],
)  # fmt: skip
def test_a_widget_measure_has_its_unit(
    measure: str, aggregation: str, view: str, title: str, prefix: str
) -> None:
    unit = units.of_measure(measure, aggregation, view)
    assert (unit.title, unit.prefix) == (title, prefix)


def _widget(chart: str, measure: str, aggregation: str, rows: list[dict], column: str) -> dict:
    w = {"title": "w", "view": "OBSERVATIONS", "measure": measure, "aggregation": aggregation,
         "dimension": "MODEL", "chart": chart, "filters": {}}  # fmt: skip
    return json.loads(figures.widget(WidgetResult(w, rows, ["model", column], "model", column, "raw")) or "")


def test_widget_figures_put_dollars_on_cost_axes_and_hovers() -> None:
    rows = [{"time": "2025-01-01T00:00:00Z", "model": "m", "total_cost_sum": 0.5}]
    line = _widget("line", "TOTAL_COST", "SUM", rows, "total_cost_sum")
    y_axis = line["layout"]["yaxis"]
    assert y_axis["tickprefix"] == "$" and y_axis["title"]["text"] == "Cost ($)"
    assert line["data"][0]["hovertemplate"].startswith("$%{y")
    bar = _widget("bar", "TOTAL_COST", "SUM", [{"model": "", "total_cost_sum": 0.5}], "total_cost_sum")
    assert bar["layout"]["xaxis"]["tickprefix"] == "$" and bar["data"][0]["y"] == ["(none)"]
    pie = _widget("pie", "LATENCY", "P95", [{"model": "m", "latency_p95": 300}], "latency_p95")
    assert " ms" in pie["data"][0]["hovertemplate"]


def test_the_overview_names_its_units_and_no_internal_names() -> None:
    from app.analytics.overview import Overview

    overview = Overview(None, [], [], [], [], [], (), (), (), "raw")  # type: ignore[arg-type]
    charts = {k: json.loads(v) for k, v in figures.overview_charts(overview).items()}
    assert charts["cost"]["layout"]["yaxis"]["tickprefix"] == "$"
    assert "ms" in charts["latency"]["layout"]["yaxis"]["title"]["text"]
    assert charts["tokens"]["layout"]["yaxis"]["title"]["text"] == "Tokens"
    titles = " ".join(c["layout"]["title"]["text"] for c in charts.values())
    assert "bucket" not in titles and "USD" not in titles


@pytest.mark.parametrize(
    ("price", "unit", "text"),
    [("0.0000025", "TOKENS", "$2.50"), ("0.000000075", "TOKENS", "$0.075"),
     ("0.00125", "TOKENS", "$1,250.00"), ("0.04", "IMAGES", "$0.04 per image"), ("0", "TOKENS", "$0.00")],
)  # fmt: skip
def test_prices_show_per_1m_tokens(price: str, unit: str, text: str) -> None:
    assert units.price_text(Decimal(price), unit) == text
    assert units.price_text(None, unit) == ""


@pytest.mark.parametrize("typed", ["2.50", "$2.50", " $ 2.5 ", "2.500"])
def test_the_model_form_takes_dollars_per_1m_tokens_and_stores_per_token(typed: str) -> None:
    spec = ModelForm("m", "^m$", input_price=typed, output_price="1,000").spec()
    assert spec.prices == {"input": Decimal("0.0000025"), "output": Decimal("0.001")}


def test_the_model_form_names_a_price_that_is_not_a_number() -> None:
    with pytest.raises(InvalidInput, match=r"output_price must be a non-negative number \(\$ per 1M"):
        ModelForm("m", "^m$", input_price="1", output_price="two").spec()


def test_a_widget_is_described_in_words() -> None:
    w = {"view": "TRACES", "measure": "LATENCY", "aggregation": "P95", "dimension": "TRACE_NAME",
         "filters": {"ENVIRONMENT": ["prod", "dev"]}}  # fmt: skip
    assert units.describe(w) == "p95 of latency over traces by trace name · environment is prod or dev"
    assert units.describe({"view": "OBSERVATIONS", "measure": "COUNT", "aggregation": "COUNT"}) == (
        "Count of observations"
    )

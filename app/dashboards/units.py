"""What figures and widgets measure in (cost in $, latency in ms, tokens, counts), model prices as pages
show them ($ per 1M tokens), and the words pages use for the metrics layer's views, measures,
aggregations, dimensions and charts."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from app.storage.clickhouse.queries.metric_registry import Aggregation, Measure

# Where the generic rule (underscores to spaces, first letter capital) does not read well.
_WORDS = {
    "AVG": "Average",
    "MIN": "Minimum",
    "MAX": "Maximum",
    "UNIQ": "Distinct count",
    "P50": "Median (p50)",
    "P90": "p90",
    "P95": "p95",
    "P99": "p99",
    "VALUE": "Score value",
    "STRING_VALUE": "Category",
    "ENVIRONMENT": "Environment",
}


def words(name: str) -> str:
    """A metrics name (`TOTAL_COST`, `stacked_bar`, `P95`) as words on a page (`Total cost`,
    `Stacked bar`, `p95`)."""
    return _WORDS.get(name.upper()) or name.replace("_", " ").capitalize()


def choices(names: list[str]) -> list[tuple[str, str]]:
    """(value, label) pairs for a select of metrics names: the value posted, the words shown."""
    return [(n, words(n)) for n in names]


@dataclass(frozen=True, slots=True)
class Unit:
    """How values of one kind read: an axis title that names the unit, a prefix on ticks and values
    (`$`), a suffix on values (` ms`), and the d3 format of a value in a hover label."""

    title: str
    prefix: str = ""
    suffix: str = ""
    hover_format: str = ",.4~g"
    tickformat: str = ""

    def axis(self) -> dict[str, Any]:
        """Plotly axis settings: the title, the tick prefix and format."""
        axis: dict[str, Any] = {"title": {"text": self.title}, "automargin": True}
        if self.prefix:
            axis["tickprefix"] = self.prefix
        if self.tickformat:
            axis["tickformat"] = self.tickformat
        return axis

    def hover(self, variable: str = "y") -> str:
        """A hovertemplate of one value (`%{y}`, `%{x}`, `%{value}`); the series name stays beside it."""
        return f"{self.prefix}%{{{variable}:{self.hover_format}}}{self.suffix}"

    def text(self, value: Any) -> str:
        """One value as page text: `$0.015`, `450 ms`, `1,234 tokens`; empty for no value."""
        if value is None or value == "":
            return ""
        number = float(value)
        if self.prefix == "$":
            digits = f"{number:,.2f}" if abs(number) >= 1 else f"{number:.8f}".rstrip("0").rstrip(".")
        elif self.tickformat == ".0%":
            return f"{number:.0%}"
        else:
            digits = f"{number:,.0f}" if abs(number) >= 100 or number.is_integer() else f"{number:.3g}"
        return f"{self.prefix}{digits}{self.suffix}"


COST = Unit("Cost ($)", prefix="$", hover_format=",.6~f")
LATENCY = Unit("Latency (ms)", suffix=" ms", hover_format=",.0f")
TOKENS = Unit("Tokens", suffix=" tokens", hover_format=",.0f")
SCORE = Unit("Score", hover_format=",.3~g")
AVERAGE_SCORE = Unit("Average score", hover_format=",.3~g")
SHARE = Unit("Share True", hover_format=".0%", tickformat=".0%")


def count(of: str) -> Unit:
    """A count of `of` (`Traces`, `Errors`): whole numbers."""
    return Unit(of, hover_format=",.0f")


SCORES = count("Scores")


def of_measure(measure: str, aggregation: str, view: str) -> Unit:
    """The unit of a widget's values: a count for COUNT and UNIQ, else the measure's own unit."""
    m, a = Measure(measure), Aggregation(aggregation)
    if m is Measure.COUNT:
        return count(words(view))
    if a is Aggregation.UNIQ:
        return count(f"Distinct {words(measure).lower()}")
    if a is Aggregation.COUNT:
        return count(words(view))
    if m is Measure.LATENCY:
        return LATENCY
    if m in (Measure.TOTAL_COST, Measure.INPUT_COST, Measure.OUTPUT_COST):
        return COST
    if m in (Measure.TOTAL_TOKENS, Measure.INPUT_TOKENS, Measure.OUTPUT_TOKENS):
        return TOKENS
    if m is Measure.VALUE:
        return Unit("Score value", hover_format=",.3~g")
    return count(words(measure))  # ERRORS, TRACES, USERS, SESSIONS


def measured(widget: dict[str, Any]) -> str:
    """What a widget's values are, in words: `Count`, `Sum of total cost`, `p95 of latency`."""
    if widget["measure"] == Measure.COUNT:
        return "Count"
    return f"{words(str(widget['aggregation']))} of {words(str(widget['measure'])).lower()}"


def describe(widget: dict[str, Any]) -> str:
    """A widget's query in words: `p95 of latency over traces by model · environment is prod`."""
    over = "of" if widget["measure"] == Measure.COUNT else "over"
    what = f"{measured(widget)} {over} {str(widget['view']).lower()}"
    by = f" by {words(str(widget['dimension'])).lower()}" if widget.get("dimension") else ""
    filters = "".join(
        f" · {words(d).lower()} is {' or '.join(v)}" for d, v in (widget.get("filters") or {}).items()
    )
    return f"{what}{by}{filters}"


TOKENS_PER_PRICE = Decimal(1_000_000)  # pages show and take token prices per 1M tokens; stored per token


def dollars(amount: Decimal) -> str:
    """`$2.50`, `$0.075`, `$1,250.00`: cents at least, every further digit the amount has."""
    shown = f"{amount:,.2f}"
    return f"${shown if Decimal(shown.replace(',', '')) == amount else f'{amount.normalize():,f}'}"


def price_text(price: Decimal | None, unit: str) -> str:
    """A stored price per unit as pages show it: per 1M tokens for token prices (`$2.50`), else per
    unit with the unit named (`$0.04 per image`); empty for no price."""
    if price is None:
        return ""
    if unit == "TOKENS":
        return dollars(price * TOKENS_PER_PRICE)
    return f"{dollars(price)} per {unit.lower().removesuffix('s')}"

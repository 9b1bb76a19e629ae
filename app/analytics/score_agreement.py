"""Agreement between two scores given to the same objects (e.g. an LLM judge and a human reviewer):
Pearson and Spearman correlation for numbers, Cohen's kappa and a confusion matrix for categories and
booleans, and the pairs that disagree.

Every read is scoped to the request's project; one value per object and selector (the latest), one
object level per request (traces, observations or sessions, never mixed).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from app.errors import InvalidInput
from app.storage.clickhouse.client import ClickHouse
from app.storage.clickhouse.queries import score_pairs as sp
from app.storage.clickhouse.queries.common import Page, page_size
from app.storage.clickhouse.queries.score_pairs import (
    LEVELS,
    Level,
    PairRequest,
    ScorePair,
    ScoreSelector,
    pair_cursor,
)

SOURCES = ("API", "EVAL", "ANNOTATION")
NUMERIC = "NUMERIC"
LABELLED = ("BOOLEAN", "CATEGORICAL")
MAX_NAME = 255

__all__ = ["LEVELS", "Level", "PairRequest", "ScorePair", "ScoreSelector", "pair_cursor"]


@dataclass(frozen=True, slots=True)
class ConfusionMatrix:
    """counts[i][j]: objects labelled labels[i] by A and labels[j] by B (the labels either side gave)."""

    labels: tuple[str, ...]
    counts: tuple[tuple[int, ...], ...]


@dataclass(frozen=True, slots=True)
class Agreement:
    """How far two scores agree on the objects both were given to. `data_type` None: no pairs.
    NUMERIC fills pearson/spearman; BOOLEAN and CATEGORICAL fill cohens_kappa and confusion;
    observed_agreement is the share of pairs that agree (numbers: within the tolerance)."""

    pairs: int
    data_type: str | None
    pearson: float | None = None
    spearman: float | None = None
    cohens_kappa: float | None = None
    observed_agreement: float | None = None
    disagreeing: int = 0
    mean_a: float | None = None
    mean_b: float | None = None
    confusion: ConfusionMatrix | None = None
    tolerance: float = 0.0


def selector(
    name: str, source: str | None = None, config_id: str | None = None, field: str = "a"
) -> ScoreSelector:
    """A checked selector; InvalidInput names `field` (e.g. `a.source`)."""
    name = name.strip()
    if not name:
        raise InvalidInput(f"{field}.name is required")
    if len(name) > MAX_NAME:
        raise InvalidInput(f"{field}.name is limited to {MAX_NAME} characters")
    source = (source or "").strip().upper() or None
    if source is not None and source not in SOURCES:
        raise InvalidInput(f"{field}.source must be one of {', '.join(SOURCES)}")
    return ScoreSelector(name, source, (config_id or "").strip() or None)


def level(value: str | None, field: str = "level") -> Level:
    """The object level; TRACE when absent."""
    text = (value or "TRACE").strip().upper()
    for known in LEVELS:
        if text == known:
            return known
    raise InvalidInput(f"{field} must be one of {', '.join(LEVELS)}")


def tolerance(value: float | None, field: str = "tolerance") -> float:
    """How far apart two numbers may be and still agree (≥ 0; 0 when absent)."""
    if value is None:
        return 0.0
    if not math.isfinite(value) or value < 0:
        raise InvalidInput(f"{field} must be a number ≥ 0")
    return float(value)


def cohens_kappa(counts: Sequence[Sequence[int]]) -> float | None:
    """Cohen's kappa of a square confusion matrix (rows: rater A, columns: rater B, the same labels in
    the same order): (p_o - p_e) / (1 - p_e). None when undefined (no pairs, or both raters always gave
    the one same label, so chance agreement is 1)."""
    k = len(counts)
    if any(len(row) != k for row in counts):
        raise ValueError("a confusion matrix is square")
    n = sum(sum(row) for row in counts)
    if n == 0:
        return None
    observed = sum(counts[i][i] for i in range(k)) / n
    rows = [sum(row) for row in counts]
    cols = [sum(counts[i][j] for i in range(k)) for j in range(k)]
    expected = sum(rows[i] * cols[i] for i in range(k)) / (n * n)
    if math.isclose(expected, 1.0):
        return None
    return (observed - expected) / (1 - expected)


def confusion_matrix(cells: Sequence[tuple[str, str, int]]) -> ConfusionMatrix:
    """The square matrix over every label either side gave (booleans False, True; others sorted)."""
    labels = tuple(sorted({a for a, _, _ in cells} | {b for _, b, _ in cells}))
    if len(labels) > sp.MAX_LABELS:
        raise InvalidInput(f"too many categories to compare (at most {sp.MAX_LABELS})")
    index = {label: i for i, label in enumerate(labels)}
    grid = [[0] * len(labels) for _ in labels]
    for a, b, n in cells:
        grid[index[a]][index[b]] += n
    return ConfusionMatrix(labels, tuple(tuple(row) for row in grid))


def _data_type(req: PairRequest, stats: sp.PairStats) -> str | None:
    if stats.pairs == 0:
        return None
    a, b = stats.data_types_a, stats.data_types_b
    if len(a) != 1 or len(b) != 1 or a != b:
        raise InvalidInput(
            f"a ({req.a.name!r}: {', '.join(a)}) and b ({req.b.name!r}: {', '.join(b)}) must have one and "
            "the same data type to be compared; pick the scores by source or configId"
        )
    kind = a[0]
    if kind != NUMERIC and kind not in LABELLED:
        raise InvalidInput(f"{kind} scores cannot be compared (NUMERIC, BOOLEAN or CATEGORICAL only)")
    return kind


async def score_agreement(ch: ClickHouse, req: PairRequest, tol: float = 0.0) -> Agreement:
    """The agreement of the request's two scores. Mixed or text data types → InvalidInput naming the
    selectors."""
    stats = await sp.aggregate_pair_stats(ch, req, tol)
    kind = _data_type(req, stats)
    if kind is None:
        return Agreement(0, None, tolerance=tol)
    base = Agreement(
        pairs=stats.pairs,
        data_type=kind,
        observed_agreement=1 - stats.disagreeing / stats.pairs,
        disagreeing=stats.disagreeing,
        tolerance=tol,
    )
    if kind == NUMERIC:
        return replace(
            base, pearson=stats.pearson, spearman=stats.spearman, mean_a=stats.mean_a, mean_b=stats.mean_b
        )
    matrix = confusion_matrix(stats.cells)
    shares = (stats.mean_a, stats.mean_b) if kind == "BOOLEAN" else (None, None)  # the share of True
    return replace(
        base, cohens_kappa=cohens_kappa(matrix.counts), mean_a=shares[0], mean_b=shares[1], confusion=matrix
    )


async def disagreements(
    ch: ClickHouse, req: PairRequest, tol: float = 0.0, first: int | None = None, after: str | None = None
) -> Page[ScorePair]:
    """A page of the objects the two scores disagree on, newest first."""
    return await sp.list_disagreements_page(ch, req, tol, page_size(first), after)


async def pair_sample(ch: ClickHouse, req: PairRequest, limit: int = 2_000) -> list[tuple[float, float]]:
    """A fixed sample of numeric pairs (a, b) for a scatter plot."""
    return await sp.list_pair_sample(ch, req, limit)

"""An experiment's results as the comparison reads them: one row per item run (repetitions kept)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class ItemResult:
    """One run of one item: its output, scores (numeric values; booleans as 0/1), cost (USD) and latency."""

    item_key: str  # the dataset item id (local data: a hash of the input)
    trace_id: str
    observation_id: str | None  # the item's root observation
    input: Any = None
    output: Any = None
    expected_output: Any = None
    scores: dict[str, float] = field(default_factory=dict)
    # Score names whose values are booleans or categories (kept apart: McNemar, not a mean difference).
    boolean_scores: frozenset[str] = frozenset()
    total_cost: float | None = None
    latency_ms: float | None = None
    level: str = "DEFAULT"


@dataclass(frozen=True, slots=True)
class RunResults:
    """Every item run of one experiment, with its run-level scores."""

    experiment_id: str
    name: str
    items: tuple[ItemResult, ...]
    run_scores: dict[str, float] = field(default_factory=dict)

"""The per-item side of a run comparison: columns for sorting and filtering, rows built for the page shown.

Kept as columns because a compare view of 10,000 items shows one page of them: building every row as Python
objects would cost more than all the statistics together.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from app.errors import InvalidInput
from app.evaluation.results import ItemResult, RunResults

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

Flag = Literal["regressed", "improved", "same"]
REGRESSED, SAME, IMPROVED, UNPAIRED = -1, 0, 1, -2  # codes in ItemTable.flags
_LABELS: dict[int, Flag | None] = {REGRESSED: "regressed", SAME: "same", IMPROVED: "improved", UNPAIRED: None}
DEFAULT_TOLERANCE = 1e-9  # absolute: a per-item difference within it is "same" (float noise of averaging)


@dataclass(frozen=True, slots=True)
class ItemRow:
    """One item across the runs, as the compare view shows it."""

    item_key: str
    results: tuple[
        tuple[ItemResult, ...], ...
    ]  # per run (baseline first): its results (outputs, traces); () if none
    scores: dict[
        str, tuple[float | None, ...]
    ]  # per score, per run: the mean over repetitions; None if absent
    cost: tuple[float | None, ...]  # per run: mean cost over repetitions, USD
    latency_ms: tuple[float | None, ...]  # per run: mean latency over repetitions, ms
    flags: dict[
        str, tuple[Flag | None, ...]
    ]  # per score, per other run: against the baseline; None if unpaired
    regressions: int  # how many of `flags` are "regressed"
    improvements: int  # how many of `flags` are "improved"


@dataclass(frozen=True, slots=True, eq=False)  # arrays have no truth value: tables compare by identity
class ItemTable:
    """Every item of a comparison, column by column (read-only numpy arrays); `row(i)` builds one ItemRow."""

    keys: tuple[str, ...]  # item keys in table order: the baseline's order, then new items of the others
    runs: tuple[RunResults, ...]  # baseline first
    positions: tuple[npt.NDArray[np.intp], ...]  # per run: the table position of each of its results
    score_names: tuple[str, ...]
    means: npt.NDArray[
        np.float64
    ]  # metrics x items x runs, per-item means: scores, cost (USD), latency (ms); NaN
    flags: npt.NDArray[np.int8]  # scores x items x other runs: REGRESSED, SAME, IMPROVED or UNPAIRED
    regressions: npt.NDArray[np.int64]  # per item: how many flags are REGRESSED
    improvements: npt.NDArray[np.int64]  # per item: how many flags are IMPROVED

    def __len__(self) -> int:
        """Return the number of items."""
        return len(self.keys)

    def row(self, i: int) -> ItemRow:
        """Build the row of the item at table position `i`."""
        import numpy as np

        def cells(values: npt.NDArray[np.float64]) -> tuple[float | None, ...]:
            return tuple(None if np.isnan(v) else float(v) for v in values)

        results = tuple(
            tuple(run.items[k] for k in np.flatnonzero(pos == i).tolist())
            for run, pos in zip(self.runs, self.positions, strict=True)
        )
        names = self.score_names
        return ItemRow(
            item_key=self.keys[i],
            results=results,
            scores={name: cells(self.means[s, i]) for s, name in enumerate(names)},
            cost=cells(self.means[len(names), i]),
            latency_ms=cells(self.means[len(names) + 1, i]),
            flags={name: tuple(_LABELS[int(c)] for c in self.flags[s, i]) for s, name in enumerate(names)},
            regressions=int(self.regressions[i]),
            improvements=int(self.improvements[i]),
        )

    def order(
        self, *, flag: Flag | None = None, score: str | None = None, run_id: str | None = None
    ) -> list[int]:
        """Return table positions, most regressions first; with `flag`, only items flagged so.

        `score` and `run_id` narrow the flag to one score and/or one other run; ties keep table order.
        """
        import numpy as np

        keep = np.ones(len(self.keys), dtype=bool)
        if flag is not None:
            code = {"regressed": REGRESSED, "same": SAME, "improved": IMPROVED}[flag]
            flags = self.flags
            if score is not None:
                if score not in self.score_names:
                    raise InvalidInput(f"score: {score!r} is not a score of this comparison")
                flags = flags[[self.score_names.index(score)]]
            if run_id is not None:
                others = [run.experiment_id for run in self.runs[1:]]
                if run_id not in others:
                    raise InvalidInput(f"run_id: {run_id!r} is not a compared run")
                flags = flags[:, :, [others.index(run_id)]]
            keep = np.any(flags == code, axis=(0, 2))
        chosen = np.flatnonzero(keep)
        ranked = chosen[np.argsort(-self.regressions[chosen], kind="stable")]
        return [int(i) for i in ranked]


def build_item_table(
    keys: tuple[str, ...],
    runs: tuple[RunResults, ...],
    positions: tuple[npt.NDArray[np.intp], ...],
    score_names: tuple[str, ...],
    means: npt.NDArray[np.float64],
    tolerances: Mapping[str, float],
    lower_is_better: frozenset[str],
) -> ItemTable:
    """Flag each score of each item against the baseline and freeze the columns."""
    import numpy as np

    n_scores = len(score_names)
    flags = np.full((n_scores, len(keys), len(runs) - 1), UNPAIRED, dtype=np.int8)
    for s, name in enumerate(score_names):
        direction = -1.0 if name in lower_is_better else 1.0
        tolerance = tolerances.get(name, DEFAULT_TOLERANCE)
        change = (means[s, :, 1:] - means[s, :, :1]) * direction
        paired = ~np.isnan(change)
        flags[s][paired] = SAME
        flags[s][paired & (change > tolerance)] = IMPROVED
        flags[s][paired & (change < -tolerance)] = REGRESSED
    regressions = np.sum(flags == REGRESSED, axis=(0, 2))
    improvements = np.sum(flags == IMPROVED, axis=(0, 2))
    for array in (means, flags, regressions, improvements, *positions):
        array.setflags(write=False)
    return ItemTable(keys, runs, positions, score_names, means, flags, regressions, improvements)

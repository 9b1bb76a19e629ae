"""Comparison types: the statistics of experiments compared item by item against a baseline."""

from __future__ import annotations

from enum import Enum

import strawberry
from strawberry.scalars import JSON

from app.errors import InvalidInput
from app.evaluation import compare as cmp
from app.evaluation.item_table import ItemRow, ItemTable
from app.evaluation.results import ItemResult
from app.graphql.types.common import as_json
from app.graphql.types.pagination import PageInfo, position_after, position_connection
from app.storage.clickhouse.queries.common import page_size


@strawberry.enum(description="What a compared metric measures.")
class MetricKind(Enum):
    NUMERIC = "numeric"
    BOOLEAN = "boolean"
    COST = "cost"
    LATENCY = "latency"


@strawberry.enum(description="How an item's score in a run moved against the baseline.")
class ItemFlag(Enum):
    REGRESSED = "regressed"
    IMPROVED = "improved"
    SAME = "same"


@strawberry.type(
    description="One run's figure for a metric: the mean of per-item means with a 95 % interval."
)
class RunStat:
    experiment_id: str = strawberry.field(description="The run.")
    count: int = strawberry.field(description="Items with a value (repetitions averaged first).")
    repetitions: int = strawberry.field(description="Results with a value (more than count when repeated).")
    mean: float | None = strawberry.field(description="Mean, in the metric's unit; null without values.")
    ci_low: float | None = strawberry.field(description="Bootstrap 2.5th percentile; null under 2 items.")
    ci_high: float | None = strawberry.field(description="Bootstrap 97.5th percentile; null under 2 items.")

    @classmethod
    def from_value(cls, s: cmp.RunStat) -> RunStat:
        return cls(
            experiment_id=s.experiment_id,
            count=s.n,
            repetitions=s.repetitions,
            mean=s.mean,
            ci_low=s.ci_low,
            ci_high=s.ci_high,
        )


@strawberry.type(description="A run against the baseline on one metric, over the items both hold.")
class DeltaStat:
    experiment_id: str = strawberry.field(description="The run compared with the baseline.")
    paired_items: int = strawberry.field(description="Items with a value in both runs.")
    unpaired_items: int = strawberry.field(description="Items with a value in only one (left out).")
    delta: float | None = strawberry.field(description="Mean of (run - baseline) over paired items.")
    ci_low: float | None = strawberry.field(description="Paired bootstrap 2.5th percentile of the delta.")
    ci_high: float | None = strawberry.field(description="Paired bootstrap 97.5th percentile of the delta.")
    test: str | None = strawberry.field(description="The test behind the p-value (McNemar, sign flip).")
    p_value: float | None = strawberry.field(description="Two-sided p-value (0-1).")
    adjusted_p_value: float | None = strawberry.field(
        description="Holm-adjusted over the comparison's score tests; null for cost and latency."
    )
    significant: bool = strawberry.field(description="Whether the adjusted p-value is under 0.05.")
    discordant: list[int] | None = strawberry.field(
        description="Boolean scores: items that went 1 to 0, and 0 to 1 (McNemar's pairs)."
    )

    @classmethod
    def from_value(cls, d: cmp.DeltaStat) -> DeltaStat:
        return cls(
            experiment_id=d.experiment_id,
            paired_items=d.n_paired,
            unpaired_items=d.unpaired,
            delta=d.delta,
            ci_low=d.ci_low,
            ci_high=d.ci_high,
            test=d.method,
            p_value=d.p_value,
            adjusted_p_value=d.p_adjusted,
            significant=d.significant,
            discordant=list(d.discordant) if d.discordant is not None else None,
        )


@strawberry.type(description="One metric compared across runs.")
class ScoreComparison:
    name: str = strawberry.field(description="Score name, or 'cost' / 'latency'.")
    kind: MetricKind = strawberry.field(description="NUMERIC, BOOLEAN, COST or LATENCY.")
    unit: str = strawberry.field(description="score, fraction (booleans: share of 1s), USD or ms.")
    runs: list[RunStat] = strawberry.field(description="Each run's figure, baseline first.")
    deltas: list[DeltaStat] = strawberry.field(description="Each other run against the baseline, in order.")

    @classmethod
    def from_value(cls, s: cmp.ScoreComparison) -> ScoreComparison:
        return cls(
            name=s.name,
            kind=MetricKind(s.kind),
            unit=s.unit,
            runs=[RunStat.from_value(r) for r in s.runs],
            deltas=[DeltaStat.from_value(d) for d in s.deltas],
        )


@strawberry.type(description="One score of an item in one run (the mean over repetitions).")
class ComparedScore:
    name: str = strawberry.field(description="Score name.")
    value: float = strawberry.field(description="Value.")


@strawberry.type(description="How one score of an item moved in one run against the baseline.")
class ComparedFlag:
    name: str = strawberry.field(description="Score name.")
    experiment_id: str = strawberry.field(description="The run compared with the baseline.")
    flag: ItemFlag = strawberry.field(description="REGRESSED, IMPROVED or SAME.")


@strawberry.type(description="What one run did on one item.")
class ComparedItemRun:
    experiment_id: str = strawberry.field(description="The run.")
    repetitions: int = strawberry.field(description="Times the run ran the item (0: not at all).")
    output: JSON | None = strawberry.field(description="The first repetition's output.")
    outputs: list[JSON | None] = strawberry.field(description="Every repetition's output.")
    trace_ids: list[str] = strawberry.field(description="Every repetition's trace.")
    scores: list[ComparedScore] = strawberry.field(description="Scores (means over repetitions), by name.")
    total_cost: float | None = strawberry.field(description="Cost (mean over repetitions), USD.")
    latency_ms: float | None = strawberry.field(description="Latency (mean over repetitions), milliseconds.")


@strawberry.type(description="One item across the compared runs.")
class ComparedItem:
    item_key: str = strawberry.field(description="The dataset item id (local data: a hash of the input).")
    input: JSON | None = strawberry.field(description="The item's input.")
    expected_output: JSON | None = strawberry.field(description="The item's expected output.")
    runs: list[ComparedItemRun] = strawberry.field(description="Each run on the item, baseline first.")
    flags: list[ComparedFlag] = strawberry.field(
        description="Per score and other run: how it moved against the baseline (unpaired ones left out)."
    )
    regressions: int = strawberry.field(description="Flags that are REGRESSED.")
    improvements: int = strawberry.field(description="Flags that are IMPROVED.")

    @classmethod
    def from_value(cls, row: ItemRow, run_ids: tuple[str, ...]) -> ComparedItem:
        first: ItemResult | None = next((r[0] for r in row.results if r), None)
        runs = [
            ComparedItemRun(
                experiment_id=run_id,
                repetitions=len(results),
                output=as_json(results[0].output) if results else None,
                outputs=[as_json(r.output) for r in results],
                trace_ids=[r.trace_id for r in results],
                scores=[
                    ComparedScore(name=name, value=value)
                    for name, values in sorted(row.scores.items())
                    if (value := values[i]) is not None
                ],
                total_cost=row.cost[i],
                latency_ms=row.latency_ms[i],
            )
            for i, (run_id, results) in enumerate(zip(run_ids, row.results, strict=True))
        ]
        flags = [
            ComparedFlag(name=name, experiment_id=run_ids[j + 1], flag=ItemFlag(flag))
            for name, per_run in sorted(row.flags.items())
            for j, flag in enumerate(per_run)
            if flag is not None
        ]
        return cls(
            item_key=row.item_key,
            input=as_json(first.input) if first else None,
            expected_output=as_json(first.expected_output) if first else None,
            runs=runs,
            flags=flags,
            regressions=row.regressions,
            improvements=row.improvements,
        )


@strawberry.type(description="An item in a list, with its cursor.")
class ComparedItemEdge:
    node: ComparedItem = strawberry.field(description="The item.")
    cursor: str = strawberry.field(description="Pass as `after` to continue after it.")


@strawberry.type(description="A page of compared items, most regressions first.")
class ComparedItemConnection:
    edges: list[ComparedItemEdge] = strawberry.field(description="Items with cursors.")
    page_info: PageInfo = strawberry.field(description="Paging.")
    total_count: int | None = strawberry.field(description="Items matching, over every page.")


@strawberry.type(description="A compared run.")
class ComparedRun:
    experiment_id: str = strawberry.field(description="Experiment id.")
    name: str = strawberry.field(description="Run name.")
    baseline: bool = strawberry.field(description="Whether it is the baseline.")


@strawberry.type(description="Experiments compared item by item against a baseline.")
class Comparison:
    table: strawberry.Private[ItemTable]
    baseline_id: str = strawberry.field(description="The baseline experiment.")
    runs: list[ComparedRun] = strawberry.field(description="The runs, baseline first.")
    scores: list[ScoreComparison] = strawberry.field(
        description="One per score name, in name order; their tests form Holm's family."
    )
    cost: ScoreComparison = strawberry.field(description="Cost per item, USD (reported, not tested).")
    latency: ScoreComparison = strawberry.field(description="Latency per item, ms (reported, not tested).")
    resamples: int = strawberry.field(description="Bootstrap resamples behind every interval.")

    @classmethod
    def from_value(cls, c: cmp.Comparison, names: dict[str, str]) -> Comparison:
        return cls(
            table=c.items,
            baseline_id=c.baseline_id,
            runs=[
                ComparedRun(experiment_id=r, name=names.get(r, r), baseline=r == c.baseline_id)
                for r in c.run_ids
            ],
            scores=[ScoreComparison.from_value(s) for s in c.scores],
            cost=ScoreComparison.from_value(c.cost),
            latency=ScoreComparison.from_value(c.latency),
            resamples=c.resamples,
        )

    @strawberry.field(
        description="Every item of any run, most regressions first (ties: the baseline's order, then new "
        "items of the others); `flag` keeps items flagged so, on `score` and in run `experimentId` if given."
    )
    def items(
        self,
        first: int | None = None,
        after: str | None = None,
        flag: ItemFlag | None = None,
        score: str | None = None,
        experiment_id: str | None = None,
    ) -> ComparedItemConnection:
        run_ids = tuple(r.experiment_id for r in self.runs)
        if experiment_id is not None and experiment_id not in run_ids[1:]:
            raise InvalidInput(f"experimentId: {experiment_id!r} is not a compared run (the baseline aside)")
        if flag is None and (score is not None or experiment_id is not None):
            raise InvalidInput("flag: give the flag that `score` or `experimentId` narrows")
        size, offset = page_size(first), position_after(after)
        order = self.table.order(flag=None if flag is None else flag.value, score=score, run_id=experiment_id)
        rows = [self.table.row(i) for i in order[offset : offset + size]]
        return position_connection(
            ComparedItemConnection,
            ComparedItemEdge,
            rows,
            offset,
            len(order),
            lambda r: ComparedItem.from_value(r, run_ids),
        )

"""Score analytics types: scores by source (trends, distributions) and the agreement of two scores on
the same objects, with the pairs that disagree."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from app.analytics import score_agreement as sa
from app.analytics.scores import ScoreSourceAnalytics, SourceDistribution
from app.graphql.context import Context
from app.graphql.types.common import TimeRangeInput, as_json
from app.graphql.types.metrics import Granularity
from app.graphql.types.pagination import PageInfo, connection


@strawberry.enum(description="What kind of object two scores are paired on.")
class ScoredObjectLevel(Enum):
    TRACE = "TRACE"
    OBSERVATION = "OBSERVATION"
    SESSION = "SESSION"


@strawberry.input(description="Which scores to analyse by source, over which time range.")
class ScoreAnalyticsInput:
    time_range: TimeRangeInput | None = strawberry.field(
        default=None, description="Score time range (default: the last 24 hours)."
    )
    names: list[str] | None = strawberry.field(
        default=None, description="Only these score names (at most 100); none: every name."
    )


@strawberry.type(description="Scores of one name, data type and source in one time bucket.")
class ScoreTrendPoint:
    time: datetime = strawberry.field(description="Start of the bucket (UTC).")
    name: str = strawberry.field(description="Score name.")
    data_type: str = strawberry.field(description="NUMERIC, BOOLEAN or CATEGORICAL.")
    source: str = strawberry.field(description="API, EVAL or ANNOTATION.")
    count: int = strawberry.field(description="Scores in the bucket.")
    average: float | None = strawberry.field(
        description="Average value (BOOLEAN: the share of True); null for CATEGORICAL and empty buckets."
    )


@strawberry.type(description="A label and how many scores have it.")
class CategoryCount:
    label: str = strawberry.field(description="Category (BOOLEAN: True or False).")
    count: int = strawberry.field(description="Scores with this label.")


@strawberry.type(description="The distribution of one score name and data type from one source.")
class ScoreDistribution:
    name: str = strawberry.field(description="Score name.")
    data_type: str = strawberry.field(description="NUMERIC, BOOLEAN or CATEGORICAL.")
    source: str = strawberry.field(description="API, EVAL or ANNOTATION.")
    count: int = strawberry.field(description="Scores over the range.")
    average: float | None = strawberry.field(
        description="Average value (BOOLEAN: the share of True); null for CATEGORICAL."
    )
    histogram: JSON = strawberry.field(
        description="NUMERIC: buckets [{lower, upper, count}] about 10 % wide (negative values count in the "
        "first); [] otherwise."
    )
    categories: list[CategoryCount] = strawberry.field(
        description="CATEGORICAL: count per category, most frequent first; BOOLEAN: True and False."
    )

    @classmethod
    def from_value(cls, d: SourceDistribution) -> ScoreDistribution:
        return cls(
            name=d.name,
            data_type=d.data_type,
            source=d.source,
            count=d.count,
            average=d.average,
            histogram=as_json(list(d.histogram)),
            categories=[CategoryCount(label=label, count=n) for label, n in d.categories],
        )


@strawberry.type(description="Scores by source: trends over time and distributions.")
class ScoreAnalytics:
    granularity: Granularity = strawberry.field(description="The trend's bucket size.")  # type: ignore[valid-type]
    trends: list[ScoreTrendPoint] = strawberry.field(
        description="Count and average per bucket, name, data type and source: every bucket of the range "
        "for each name, data type and source that has scores (count 0 and average null where it has none)."
    )
    distributions: list[ScoreDistribution] = strawberry.field(
        description="One per name, data type and source over the whole range."
    )

    @classmethod
    def from_value(cls, a: ScoreSourceAnalytics) -> ScoreAnalytics:
        return cls(
            granularity=a.granularity,
            trends=[
                ScoreTrendPoint(
                    time=r["time"],
                    name=r["score_name"],
                    data_type=r["data_type"],
                    source=r["source"],
                    count=int(r["count_count"]),
                    average=r["value_avg"],
                )
                for r in a.trends
            ],
            distributions=[ScoreDistribution.from_value(d) for d in a.distributions],
        )


@strawberry.input(
    description="One side of a comparison: the scores of a name, optionally of one source and config."
)
class ScoreSelectorInput:
    name: str = strawberry.field(description="Score name.")
    source: str | None = strawberry.field(default=None, description="API, EVAL or ANNOTATION; null: any.")
    config_id: str | None = strawberry.field(default=None, description="Score config; null: any.")


@strawberry.input(description="Two scores to compare on the objects both were given to.")
class ScoreAgreementInput:
    a: ScoreSelectorInput = strawberry.field(description="The first score (e.g. an LLM judge).")
    b: ScoreSelectorInput = strawberry.field(description="The second score (e.g. human annotation).")
    time_range: TimeRangeInput | None = strawberry.field(
        default=None, description="Score time range (default: the last 24 hours)."
    )
    level: ScoredObjectLevel = strawberry.field(
        default=ScoredObjectLevel.TRACE, description="Pair scores of traces, observations or sessions."
    )
    tolerance: float = strawberry.field(
        default=0.0, description="NUMERIC: two values agree when at most this far apart (≥ 0)."
    )


@strawberry.type(
    description="A square confusion matrix: counts[i][j] objects labelled labels[i] by A and labels[j] by B."
)
class ConfusionMatrix:
    labels: list[str] = strawberry.field(description="Every label either side gave, in order.")
    counts: list[list[int]] = strawberry.field(description="Rows: score A's label; columns: score B's.")


@strawberry.type(description="An object scored by both A and B, and the two values.")
class ScorePair:
    trace_id: str | None = strawberry.field(description="Scored trace (TRACE and OBSERVATION levels).")
    observation_id: str | None = strawberry.field(description="Scored observation (OBSERVATION level).")
    session_id: str | None = strawberry.field(description="Scored session (SESSION level).")
    value_a: float | None = strawberry.field(description="A's value (NUMERIC, BOOLEAN).")
    value_b: float | None = strawberry.field(description="B's value (NUMERIC, BOOLEAN).")
    label_a: str | None = strawberry.field(description="A's label (CATEGORICAL, BOOLEAN).")
    label_b: str | None = strawberry.field(description="B's label (CATEGORICAL, BOOLEAN).")
    timestamp: datetime = strawberry.field(description="The later of the two scores' times (UTC).")

    @classmethod
    def from_value(cls, p: sa.ScorePair) -> ScorePair:
        return cls(
            trace_id=p.trace_id,
            observation_id=p.observation_id,
            session_id=p.session_id,
            value_a=p.value_a,
            value_b=p.value_b,
            label_a=p.label_a or None,
            label_b=p.label_b or None,
            timestamp=p.timestamp,
        )


@strawberry.type(description="An edge of a list of score pairs.")
class ScorePairEdge:
    node: ScorePair = strawberry.field(description="The pair.")
    cursor: str = strawberry.field(description="Cursor to continue after this pair.")


@strawberry.type(description="A page of score pairs.")
class ScorePairConnection:
    edges: list[ScorePairEdge] = strawberry.field(description="The pairs of this page.")
    page_info: PageInfo = strawberry.field(description="Paging.")


@strawberry.type(
    description="How far two scores agree on the objects both were given to (the latest value of each "
    "per object). NUMERIC: Pearson and Spearman; BOOLEAN and CATEGORICAL: Cohen's kappa and a confusion "
    "matrix."
)
class ScoreAgreement:
    pairs: int = strawberry.field(description="Objects scored by both.")
    data_type: str | None = strawberry.field(description="The scores' data type; null without pairs.")
    pearson: float | None = strawberry.field(description="NUMERIC: Pearson's r; null where undefined.")
    spearman: float | None = strawberry.field(
        description="NUMERIC: Spearman's rho (ties share the mean of their ranks); null where undefined."
    )
    cohens_kappa: float | None = strawberry.field(
        description="BOOLEAN, CATEGORICAL: Cohen's kappa; null where undefined (one label only)."
    )
    observed_agreement: float | None = strawberry.field(
        description="Share of pairs that agree (same label; NUMERIC: within the tolerance)."
    )
    disagreement_count: int = strawberry.field(description="Pairs that disagree.")
    mean_a: float | None = strawberry.field(description="A's average (BOOLEAN: share of True).")
    mean_b: float | None = strawberry.field(description="B's average (BOOLEAN: share of True).")
    tolerance: float = strawberry.field(description="The tolerance numbers were compared with.")
    confusion: ConfusionMatrix | None = strawberry.field(
        description="BOOLEAN, CATEGORICAL: the confusion matrix."
    )
    request: strawberry.Private[sa.PairRequest]

    @strawberry.field(description="The objects A and B disagree on, newest first.")
    async def disagreements(
        self,
        info: Info[Context, None],
        tolerance: float | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> ScorePairConnection:
        tol = self.tolerance if tolerance is None else sa.tolerance(tolerance, "disagreements.tolerance")
        page = await sa.disagreements(info.context.storage.clickhouse, self.request, tol, first, after)
        level = self.request.level
        return connection(
            ScorePairConnection, ScorePairEdge, page, ScorePair.from_value, lambda p: sa.pair_cursor(level, p)
        )

    @classmethod
    def from_value(cls, a: sa.Agreement, request: sa.PairRequest) -> ScoreAgreement:
        matrix = a.confusion
        return cls(
            pairs=a.pairs,
            data_type=a.data_type,
            pearson=a.pearson,
            spearman=a.spearman,
            cohens_kappa=a.cohens_kappa,
            observed_agreement=a.observed_agreement,
            disagreement_count=a.disagreeing,
            mean_a=a.mean_a,
            mean_b=a.mean_b,
            tolerance=a.tolerance,
            confusion=None
            if matrix is None
            else ConfusionMatrix(labels=list(matrix.labels), counts=[list(row) for row in matrix.counts]),
            request=request,
        )

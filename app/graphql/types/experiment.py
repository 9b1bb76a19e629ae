"""Experiment types: runs over a dataset (or local data), their summaries and item runs; filters, payloads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from app.errors import InvalidInput
from app.evaluation import experiments as ex
from app.evaluation.results import ItemResult
from app.graphql.context import Context
from app.graphql.types.common import as_json, selects_any
from app.graphql.types.pagination import PageInfo, resumed_connection, resumed_page
from app.storage.clickhouse.queries.common import LOOKUP_WINDOW, check_time, page_size

IO_FIELDS = {"input", "output", "expectedOutput"}
# An experiment's start is its earliest item run; a little slack keeps clock skew between spans harmless.
_ITEM_SLACK = timedelta(minutes=5)


@strawberry.type(description="The mean of one score name over an experiment's item runs.")
class ScoreMean:
    name: str = strawberry.field(description="Score name.")
    mean: float = strawberry.field(description="Mean value (booleans as 0/1).")
    count: int = strawberry.field(description="Values averaged.")


@strawberry.type(description="What an experiment did over all its item runs.")
class ExperimentSummary:
    item_count: int = strawberry.field(description="Item runs.")
    error_count: int = strawberry.field(description="Item runs at level ERROR.")
    scores: list[ScoreMean] = strawberry.field(description="Mean per score name, in name order.")
    total_cost: float = strawberry.field(description="Cost of every item run, USD.")
    avg_latency_ms: float | None = strawberry.field(description="Mean latency of an item run, milliseconds.")

    @classmethod
    def from_value(cls, s: ex.ExperimentSummary | None) -> ExperimentSummary:
        if s is None:
            return cls(item_count=0, error_count=0, scores=[], total_cost=0.0, avg_latency_ms=None)
        return cls(
            item_count=s.item_count,
            error_count=s.error_count,
            scores=[ScoreMean(name=k, mean=m, count=n) for k, (m, n) in sorted(s.scores.items())],
            total_cost=float(s.total_cost),
            avg_latency_ms=s.avg_latency_ms,
        )


@strawberry.type(description="One score value of an item run.")
class ItemScore:
    name: str = strawberry.field(description="Score name.")
    value: float = strawberry.field(description="Value (booleans as 0/1).")


@strawberry.type(description="One run of one item in an experiment: what the task returned, and its scores.")
class ExperimentItem:
    view: strawberry.Private[ex.ExperimentItemView]
    id: strawberry.ID = strawberry.field(description="The item run's root observation id.")
    trace_id: str = strawberry.field(description="The item run's trace.")
    experiment_id: str = strawberry.field(description="The experiment.")
    item_id: str | None = strawberry.field(description="The dataset item (local data: a hash of the input).")
    dataset_id: str | None = strawberry.field(description="The dataset.")
    item_version: datetime | None = strawberry.field(description="The dataset version the run used (UTC).")
    start_time: datetime = strawberry.field(description="Start (UTC).")
    end_time: datetime | None = strawberry.field(description="End (UTC).")
    level: str = strawberry.field(description="DEBUG, DEFAULT, WARNING or ERROR.")
    input: JSON | None = strawberry.field(description="The item's input.")
    output: JSON | None = strawberry.field(description="What the task returned.")
    expected_output: JSON | None = strawberry.field(description="The item's expected output.")
    item_metadata: JSON | None = strawberry.field(description="The item's metadata.")

    @classmethod
    def from_view(cls, v: ex.ExperimentItemView) -> ExperimentItem:
        return cls(
            view=v,
            id=strawberry.ID(v.id),
            trace_id=v.trace_id,
            experiment_id=v.experiment_id,
            item_id=v.item_id or None,
            dataset_id=v.dataset_id or None,
            item_version=v.item_version,
            start_time=v.start_time,
            end_time=v.end_time,
            level=v.level,
            input=as_json(v.input),
            output=as_json(v.output),
            expected_output=as_json(v.expected_output),
            item_metadata=as_json(v.item_metadata),
        )

    async def _result(self, info: Info[Context, None]) -> ItemResult | None:
        results = await info.context.loaders.results_by_experiment.load(self.experiment_id)
        if results is None:
            return None
        return next((r for r in results.items if r.observation_id == self.view.id), None)

    @strawberry.field(description="Scores of the item run, in name order.")
    async def scores(self, info: Info[Context, None]) -> list[ItemScore]:
        found = await self._result(info)
        return [ItemScore(name=k, value=v) for k, v in sorted(found.scores.items())] if found else []

    @strawberry.field(description="Cost of the item run, USD.")
    async def total_cost(self, info: Info[Context, None]) -> float | None:
        found = await self._result(info)
        return found.total_cost if found else None

    @strawberry.field(description="Latency of the item run, milliseconds.")
    def latency_ms(self) -> float | None:
        end = self.view.end_time
        return None if end is None else (end - self.view.start_time).total_seconds() * 1000


@strawberry.type(description="An item run in a list, with its cursor.")
class ExperimentItemEdge:
    node: ExperimentItem = strawberry.field(description="The item run.")
    cursor: str = strawberry.field(description="Pass as `after` to continue after it.")


@strawberry.type(description="A page of item runs, newest first.")
class ExperimentItemConnection:
    edges: list[ExperimentItemEdge] = strawberry.field(description="Item runs with cursors.")
    page_info: PageInfo = strawberry.field(description="Paging.")
    total_count: int | None = strawberry.field(description="Item runs matching, when known.")


@strawberry.type(description="An experiment: one run of a task over a dataset's items (or local data).")
class Experiment:
    view: strawberry.Private[ex.ExperimentView]
    id: strawberry.ID = strawberry.field(description="Experiment id.")
    name: str = strawberry.field(description="Run name.")
    description: str | None = strawberry.field(description="Description.")
    metadata: JSON | None = strawberry.field(description="Metadata (the run's parameters: model, prompt, …).")
    dataset_id: str | None = strawberry.field(description="The dataset it ran over (none for local data).")
    start_time: datetime = strawberry.field(description="Start of its first item run (UTC).")
    end_time: datetime | None = strawberry.field(description="End of its last item run (UTC).")
    item_count: int = strawberry.field(description="Item runs.")

    @classmethod
    def from_view(cls, v: ex.ExperimentView) -> Experiment:
        return cls(
            view=v,
            id=strawberry.ID(v.id),
            name=v.name,
            description=v.description,
            metadata=as_json(v.metadata),
            dataset_id=v.dataset_id,
            start_time=v.start_time,
            end_time=v.end_time,
            item_count=v.item_count,
        )

    @strawberry.field(description="Mean scores, errors, cost and latency over its item runs.")
    async def summary(self, info: Info[Context, None]) -> ExperimentSummary:
        return ExperimentSummary.from_value(
            await info.context.loaders.summary_by_experiment.load(str(self.id))
        )

    @strawberry.field(
        description="Its item runs, newest first, with outputs, expected outputs, scores, cost and latency."
    )
    async def items(
        self, info: Info[Context, None], first: int | None = None, after: str | None = None
    ) -> ExperimentItemConnection:
        caller = info.context.require()
        filt = ex.ExperimentItemFilter(
            start=self.view.start_time - _ITEM_SLACK, experiment_ids=(str(self.id),)
        )

        io = selects_any(info.selected_fields, IO_FIELDS)

        async def fetch(cursor: str | None, limit: int) -> tuple[list[ex.ExperimentItemView], str | None]:
            return await ex.list_experiment_items_page(
                info.context.storage, caller.project_id, filt, cursor, limit, io=io
            )

        rows, nxt = await resumed_page(fetch, after, page_size(first))
        return resumed_connection(
            ExperimentItemConnection, ExperimentItemEdge, rows, nxt is not None, ExperimentItem.from_view
        )


@strawberry.type(description="An experiment in a list, with its cursor.")
class ExperimentEdge:
    node: Experiment = strawberry.field(description="The experiment.")
    cursor: str = strawberry.field(description="Pass as `after` to continue after it.")


@strawberry.type(description="A page of experiments, newest first.")
class ExperimentConnection:
    edges: list[ExperimentEdge] = strawberry.field(description="Experiments with cursors.")
    page_info: PageInfo = strawberry.field(description="Paging.")
    total_count: int | None = strawberry.field(description="Experiments matching, when known.")


@strawberry.input(description="Which experiments to list; every field narrows the list.")
class ExperimentFilterInput:
    from_: datetime | None = strawberry.field(
        default=None, name="from", description="Started at or after (UTC); default 90 days ago."
    )
    to: datetime | None = strawberry.field(default=None, description="Started before (UTC).")
    names: list[str] | None = strawberry.field(default=None, description="Run names.")
    dataset_ids: list[str] | None = strawberry.field(default=None, description="Datasets.")


def experiment_filter(value: ExperimentFilterInput | None) -> ex.ExperimentFilter:
    """The filter asked for; bounds out of range or in the wrong order are errors naming the field."""
    start = value.from_ if value else None
    end = value.to if value else None
    if end is not None:
        end = check_time(end, "filter.to")
    start = check_time(start, "filter.from") if start else (end or datetime.now(UTC)) - LOOKUP_WINDOW
    if end is not None and start >= end:
        raise InvalidInput("filter: 'from' must be before 'to'")
    return ex.ExperimentFilter(
        start=start,
        end=end,
        names=tuple(value.names or ()) if value else (),
        dataset_ids=tuple(value.dataset_ids or ()) if value else (),
    )


@strawberry.input(description="An experiment to delete, with the record of its item runs.")
class DeleteExperimentInput:
    id: strawberry.ID = strawberry.field(description="Experiment id.")


@strawberry.type(description="What was deleted.")
class DeleteExperimentPayload:
    id: strawberry.ID = strawberry.field(description="The deleted experiment's id.")

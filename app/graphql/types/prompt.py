"""Prompt types: versions with their dependencies and per-version metrics, lists, diffs, inputs, payloads."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from app.errors import InvalidInput
from app.graphql.context import Context
from app.graphql.types import observation as o
from app.graphql.types.common import TimeRangeInput, as_json
from app.graphql.types.common import time_range as resolve_time
from app.graphql.types.pagination import PageInfo, connection
from app.prompts import service
from app.prompts.content import new_content
from app.prompts.diff import PromptDiff as DiffValue
from app.storage.clickhouse.queries import prompts as pq
from app.storage.clickhouse.queries.common import Cursor, TimeRange, page_size
from app.storage.postgres.tables import Prompt as PromptRow


@strawberry.enum(description="What a prompt holds.")
class PromptKind(Enum):
    TEXT = "text"
    CHAT = "chat"


def _window(value: TimeRangeInput | None, row: PromptRow) -> TimeRange:
    """The given range; else from the version's creation (at most 90 days back) to now."""
    if value is not None and (value.from_ is not None or value.to is not None):
        return resolve_time(value)
    return service.metrics_window(row.created_at)


@strawberry.type(description="A reference of a prompt version to another prompt (by version or label).")
class PromptReference:
    name: str = strawberry.field(description="The referenced prompt.")
    version: int | None = strawberry.field(description="Its version, when referenced by version.")
    label: str | None = strawberry.field(description="Its label, when referenced by label.")


@strawberry.type(description="The average value of one score name over a prompt version's generations.")
class ScoreAverage:
    name: str = strawberry.field(description="Score name.")
    average: float = strawberry.field(description="Average numeric value.")


@strawberry.type(description="What the generations of one prompt version did in a time range.")
class PromptVersionMetrics:
    generations: int = strawberry.field(description="Generations linked to the version.")
    latency_p50_ms: float | None = strawberry.field(description="Median latency, milliseconds.")
    latency_p95_ms: float | None = strawberry.field(description="95th percentile latency, milliseconds.")
    input_tokens: int = strawberry.field(description="Input tokens.")
    output_tokens: int = strawberry.field(description="Output tokens.")
    total_tokens: int = strawberry.field(description="All tokens.")
    total_cost: float = strawberry.field(description="Total cost, USD.")
    scores: list[ScoreAverage] = strawberry.field(
        description="Average score per name (scores on the generation or on its trace)."
    )


def _metrics(m: pq.PromptVersionMetrics | None) -> PromptVersionMetrics:
    if m is None:
        return PromptVersionMetrics(
            generations=0,
            latency_p50_ms=None,
            latency_p95_ms=None,
            input_tokens=0,
            output_tokens=0,
            total_tokens=0,
            total_cost=0.0,
            scores=[],
        )
    return PromptVersionMetrics(
        generations=m.generations,
        latency_p50_ms=m.latency_p50_ms,
        latency_p95_ms=m.latency_p95_ms,
        input_tokens=m.input_tokens,
        output_tokens=m.output_tokens,
        total_tokens=m.total_tokens,
        total_cost=float(m.total_cost),
        scores=[ScoreAverage(name=k, average=v) for k, v in sorted(m.scores.items())],
    )


@strawberry.type(description="One version of a prompt.")
class PromptVersion:
    row: strawberry.Private[PromptRow]
    id: strawberry.ID = strawberry.field(description="Version id.")
    name: str = strawberry.field(description="Prompt name ('/' separates folders).")
    version: int = strawberry.field(description="Version number (1, 2, …).")
    type: PromptKind = strawberry.field(description="TEXT or CHAT.")
    prompt: JSON = strawberry.field(
        description="Content as stored: a string, or chat messages {role, content} and placeholders."
    )
    config: JSON = strawberry.field(description="Config (model parameters, …).")
    labels: list[str] = strawberry.field(description="Labels on this version.")
    tags: list[str] = strawberry.field(description="Tags of the prompt (the same on every version).")
    commit_message: str | None = strawberry.field(description="Commit message.")
    created_by: str | None = strawberry.field(description="Author: a user's email or an API public key.")
    created_at: datetime = strawberry.field(description="Created (UTC).")
    updated_at: datetime = strawberry.field(description="Last label or tag change (UTC).")

    @classmethod
    def from_row(cls, p: PromptRow) -> PromptVersion:
        return cls(
            row=p,
            id=strawberry.ID(p.id),
            name=p.name,
            version=p.version,
            type=PromptKind(p.type),
            prompt=as_json(p.prompt),
            config=as_json(p.config),
            labels=p.labels,
            tags=p.tags,
            commit_message=p.commit_message,
            created_by=p.created_by,
            created_at=p.created_at,
            updated_at=p.updated_at,
        )

    @strawberry.field(description="The content with every referenced prompt inlined.")
    async def resolved_prompt(self, info: Info[Context, None]) -> JSON:
        return as_json((await service.resolve(info.context.storage, self.row)).prompt)

    @strawberry.field(description="What resolution inlined: {root, dependencies}; null when nothing.")
    async def resolution_graph(self, info: Info[Context, None]) -> JSON | None:
        return as_json((await service.resolve(info.context.storage, self.row)).graph)

    @strawberry.field(description="The prompts this version references.")
    async def dependencies(self, info: Info[Context, None]) -> list[PromptReference]:
        deps = await info.context.loaders.dependencies_by_prompt.load(self.row.id)
        return [
            PromptReference(name=d.child_name, version=d.child_version, label=d.child_label) for d in deps
        ]

    @strawberry.field(
        description="Metrics of the generations linked to this version (default: since it was created, "
        "at most 90 days)."
    )
    async def metrics(
        self, info: Info[Context, None], time_range: TimeRangeInput | None = None
    ) -> PromptVersionMetrics:
        caller = info.context.require()
        req = pq.PromptMetricsRequest(
            caller.project_id, self.row.name, _window(time_range, self.row), (self.row.version,)
        )
        found = await pq.aggregate_prompt_metrics(info.context.storage.clickhouse, req)
        return _metrics(found[0] if found else None)

    @strawberry.field(description="Generations linked to this version, newest first (same default window).")
    async def generations(
        self,
        info: Info[Context, None],
        time_range: TimeRangeInput | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> o.ObservationConnection:
        caller = info.context.require()
        req = pq.PromptGenerationsRequest(
            caller.project_id,
            self.row.name,
            self.row.version,
            _window(time_range, self.row),
            page_size(first),
            after,
        )
        page = await pq.list_prompt_generations(info.context.storage.clickhouse, req)
        return connection(
            o.ObservationConnection,
            o.ObservationEdge,
            page,
            o.Observation.from_view,
            lambda v: Cursor("START_TIME", int(v.start_time.timestamp() * 1_000_000), v.id).encode(),
        )


@strawberry.type(description="A prompt: every version of one name.")
class Prompt:
    name: str = strawberry.field(description="Prompt name.")
    type: PromptKind = strawberry.field(description="TEXT or CHAT.")
    tags: list[str] = strawberry.field(description="Tags.")
    labels: list[str] = strawberry.field(description="Labels over all versions.")
    versions: list[PromptVersion] = strawberry.field(description="Every version, newest first.")
    selected: PromptVersion = strawberry.field(
        description="The version asked for (by version or label; neither: the newest)."
    )


@strawberry.type(description="A prompt name in a list, with its versions and labels.")
class PromptSummary:
    name: str = strawberry.field(description="Prompt name.")
    type: PromptKind = strawberry.field(description="TEXT or CHAT.")
    versions: list[int] = strawberry.field(description="Version numbers, ascending.")
    labels: list[str] = strawberry.field(description="Labels over all versions.")
    tags: list[str] = strawberry.field(description="Tags.")
    last_updated_at: datetime = strawberry.field(description="Last change of any version (UTC).")

    @classmethod
    def from_summary(cls, s: service.PromptSummary) -> PromptSummary:
        return cls(
            name=s.name,
            type=PromptKind(s.type),
            versions=s.versions,
            labels=s.labels,
            tags=s.tags,
            last_updated_at=s.last_updated_at,
        )


@strawberry.type(description="A prompt in a list, with its cursor.")
class PromptEdge:
    node: PromptSummary = strawberry.field(description="The prompt.")
    cursor: str = strawberry.field(description="Pass as `after` to continue after it.")


@strawberry.type(description="A page of prompts, in name order.")
class PromptConnection:
    edges: list[PromptEdge] = strawberry.field(description="Prompts with cursors.")
    page_info: PageInfo = strawberry.field(description="Paging.")


@strawberry.input(description="Which prompts to list.")
class PromptFilterInput:
    name_contains: str | None = strawberry.field(default=None, description="Part of the name (folders).")
    label: str | None = strawberry.field(default=None, description="A version carries this label.")
    tag: str | None = strawberry.field(default=None, description="The prompt has this tag.")


@strawberry.type(description="What changed between two versions of a prompt (unified diff lines).")
class PromptDiff:
    from_version: int = strawberry.field(description="The older side.")
    to_version: int = strawberry.field(description="The newer side.")
    prompt: list[str] = strawberry.field(description="Diff of the content (chat: `[role]` then lines).")
    config: list[str] = strawberry.field(description="Diff of the config as pretty JSON.")
    changed: bool = strawberry.field(description="Whether anything differs.")

    @classmethod
    def from_value(cls, d: DiffValue) -> PromptDiff:
        return cls(
            from_version=d.from_version,
            to_version=d.to_version,
            prompt=d.prompt,
            config=d.config,
            changed=d.changed,
        )


@strawberry.input(description="A new version of a prompt (a new prompt when the name is new).")
class CreatePromptVersionInput:
    name: str = strawberry.field(description="Prompt name ('/' separates folders, no '|').")
    prompt: JSON = strawberry.field(description="A string (TEXT) or a list of chat messages (CHAT).")
    type: PromptKind = strawberry.field(default=PromptKind.TEXT, description="TEXT or CHAT.")
    config: JSON | None = strawberry.field(default=None, description="Config object.")
    labels: list[str] | None = strawberry.field(default=None, description="Labels to give this version.")
    tags: list[str] | None = strawberry.field(
        default=None, description="Tags for every version (omit to keep the current ones)."
    )
    commit_message: str | None = strawberry.field(default=None, description="Commit message.")

    def as_new_version(self) -> service.NewPromptVersion:
        """The version to create; InvalidInput names a `prompt` or `config` that is not the right JSON."""
        if self.config is not None and not isinstance(self.config, dict):
            raise InvalidInput("config must be a JSON object")
        return service.NewPromptVersion(
            name=self.name,
            content=new_content(self.type.value, self.prompt),
            config=self.config or {},
            labels=tuple(self.labels or ()),
            tags=tuple(self.tags) if self.tags is not None else None,
            commit_message=self.commit_message,
        )


@strawberry.type(description="The version created.")
class CreatePromptVersionPayload:
    prompt_version: PromptVersion = strawberry.field(description="The new version.")


@strawberry.input(description="The exact labels a version should carry (they move off other versions).")
class SetPromptLabelsInput:
    name: str = strawberry.field(description="Prompt name.")
    version: int = strawberry.field(description="Version.")
    labels: list[str] = strawberry.field(description="Its labels ('latest' stays where it is).")


@strawberry.type(description="The version with its new labels.")
class SetPromptLabelsPayload:
    prompt_version: PromptVersion = strawberry.field(description="The version.")


@strawberry.input(description="A version to delete.")
class DeletePromptVersionInput:
    name: str = strawberry.field(description="Prompt name.")
    version: int = strawberry.field(description="Version.")


@strawberry.type(description="What was deleted.")
class DeletePromptVersionPayload:
    name: str = strawberry.field(description="Prompt name.")
    version: int = strawberry.field(description="The deleted version.")


@strawberry.input(description="The labels only admins (and API keys) may set, move or remove.")
class SetProtectedPromptLabelsInput:
    labels: list[str] = strawberry.field(description="Protected labels (replaces the current set).")


@strawberry.type(description="The project's protected prompt labels.")
class SetProtectedPromptLabelsPayload:
    labels: list[str] = strawberry.field(description="Protected labels.")

"""Scores: the list (filters, keyset pages by time), scores of given traces/sessions/observations, and
summaries per name and data type (numbers averaged, booleans as a share of True, categories counted).

A score's latest row (by event_ts) is its state; a deletion is a latest row with is_deleted = 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, cast

from app.storage.clickhouse.client import ClickHouse
from app.storage.clickhouse.queries.common import (
    LOOKUP_WINDOW,
    PROJECT,
    Cursor,
    NumberRange,
    Page,
    Params,
    TimeRange,
    in_list,
    keyset,
    where,
)
from app.storage.clickhouse.queries.views import ScoreView, count_of, metadata, utc
from app.storage.clickhouse.query import CompiledQuery

SORT = "TIMESTAMP"
MAX_RELATED = 10_000


@dataclass(frozen=True, slots=True)
class ScoreFilter:
    ids: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    data_types: tuple[str, ...] = ()
    trace_ids: tuple[str, ...] = ()
    session_ids: tuple[str, ...] = ()
    observation_ids: tuple[str, ...] = ()
    dataset_run_ids: tuple[str, ...] = ()
    config_ids: tuple[str, ...] = ()
    queue_ids: tuple[str, ...] = ()
    author_user_ids: tuple[str, ...] = ()
    environments: tuple[str, ...] = ()
    string_values: tuple[str, ...] = ()
    user_ids: tuple[str, ...] = ()  # the scored trace's user (scores of sessions have none)
    value: NumberRange | None = None


@dataclass(frozen=True, slots=True)
class ScoreListRequest:
    project_id: str
    time: TimeRange | None  # None only when filtering by ids, trace, session or observation ids
    filter: ScoreFilter = field(default_factory=ScoreFilter)
    first: int = 50
    after: str | None = None
    descending: bool = True


_COLUMNS = (
    "id, timestamp, name, value, string_value, data_type, source, comment, trace_id, observation_id, "
    "session_id, dataset_run_id, config_id, queue_id, author_user_id, environment, metadata_names, "
    "metadata_values, created_at, event_ts, is_deleted"
)


def _traces_of_users(params: Params, time: TimeRange, user_ids: tuple[str, ...]) -> str:
    """The ids of traces whose user (folded over the trace's rows, newest wins) is one of these; a
    trace starts at most LOOKUP_WINDOW before its scores. Only traces with a row naming the user fold."""
    users = params.bind(list(user_ids), "Array(String)")
    window = where(
        [
            PROJECT,
            f"timestamp >= {params.bind(time.start - LOOKUP_WINDOW, 'DateTime64(6)')}",
            f"timestamp < {params.bind(time.end, 'DateTime64(6)')}",
        ]
    )
    return (
        f"SELECT id FROM traces WHERE {window} "
        f"AND id IN (SELECT id FROM traces WHERE {window} AND user_id IN {users}) "
        f"GROUP BY id HAVING argMaxIf(user_id, event_ts, user_id IS NOT NULL) IN {users} "
        "AND max(is_deleted) = 0"
    )


def compile_score_list(req: ScoreListRequest, max_first: int = 100, *, count: bool = False) -> CompiledQuery:
    f, params = req.filter, Params(req.project_id)
    scoped = f.ids or f.trace_ids or f.session_ids or f.observation_ids or f.dataset_run_ids
    if req.time is None and not scoped:
        raise ValueError("a score list needs a time range or ids to look up")
    preds = [PROJECT]
    if req.time is not None:
        preds.append(f"timestamp >= {params.bind(req.time.start, 'DateTime64(6)')}")
        preds.append(f"timestamp < {params.bind(req.time.end, 'DateTime64(6)')}")
    if f.user_ids:
        if req.time is None:
            raise ValueError("a score list by user needs a time range")
        preds.append(f"trace_id IN ({_traces_of_users(params, req.time, f.user_ids)})")
    for column, values in (
        ("id", f.ids),
        ("trace_id", f.trace_ids),
        ("session_id", f.session_ids),
        ("observation_id", f.observation_ids),
        ("dataset_run_id", f.dataset_run_ids),
    ):
        if values:
            preds.append(in_list(params, column, values))
    outer: list[str | None] = ["is_deleted = 0"]
    for column, values in (
        ("name", f.names),
        ("source", f.sources),
        ("data_type", f.data_types),
        ("config_id", f.config_ids),
        ("queue_id", f.queue_ids),
        ("author_user_id", f.author_user_ids),
        ("environment", f.environments),
        ("string_value", f.string_values),
    ):
        if values:
            outer.append(in_list(params, column, values))
    if f.value is not None:
        outer += f.value.predicate(params, "value")
    cursor = Cursor.decode(req.after, SORT) if req.after else None
    if not count:
        outer.append(
            keyset(params, "toUnixTimestamp64Micro(timestamp)", "Int64", "id", cursor, req.descending)
        )
    direction = "DESC" if req.descending else "ASC"
    first = min(req.first, max_first)
    body = (
        f"SELECT * FROM (SELECT {_COLUMNS} FROM scores WHERE {where(preds)} "
        f"ORDER BY event_ts DESC LIMIT 1 BY id) WHERE {where(outer)}"
    )
    if count:
        return CompiledQuery(f"SELECT count() AS total FROM ({body})", params.values, "scores.count")
    limit = params.bind(first + 1, "UInt32")
    sql = f"{body} ORDER BY timestamp {direction}, id {direction} LIMIT {limit}"
    return CompiledQuery(sql, params.values, "scores.list")


def score(row: dict[str, Any]) -> ScoreView:
    return ScoreView(
        id=str(row["id"]),
        timestamp=utc(row["timestamp"]),
        name=str(row["name"]),
        value=row["value"],
        string_value=row["string_value"],
        data_type=str(row["data_type"]),
        source=str(row["source"]),
        comment=row["comment"],
        trace_id=row["trace_id"],
        observation_id=row["observation_id"],
        session_id=row["session_id"],
        dataset_run_id=row["dataset_run_id"],
        config_id=row["config_id"],
        queue_id=row["queue_id"],
        author_user_id=row["author_user_id"],
        environment=str(row["environment"]),
        created_at=utc(row["created_at"]),
        updated_at=utc(row["event_ts"]),
        metadata=metadata(list(row["metadata_names"]), list(row["metadata_values"])),
    )


async def count_scores(ch: ClickHouse, req: ScoreListRequest) -> int:
    return count_of(await ch.query(compile_score_list(req, count=True)))


async def list_scores(ch: ClickHouse, req: ScoreListRequest, max_first: int = 100) -> Page[ScoreView]:
    rows = await ch.query(compile_score_list(req, max_first))
    items = [score(r) for r in rows[: req.first]]
    end = None
    if items:
        end = Cursor(SORT, int(items[-1].timestamp.timestamp() * 1_000_000), items[-1].id).encode()
    return Page(items, len(rows) > req.first, end)


async def scores_of(
    ch: ClickHouse, project_id: str, *, trace_ids: tuple[str, ...] = (), session_ids: tuple[str, ...] = ()
) -> list[ScoreView]:
    """Every live score of these traces or sessions (a dataloader's batch), oldest first."""
    if not trace_ids and not session_ids:
        return []
    req = ScoreListRequest(
        project_id,
        None,
        ScoreFilter(trace_ids=trace_ids, session_ids=session_ids),
        first=MAX_RELATED,
        descending=False,
    )
    rows = await ch.query(compile_score_list(req, max_first=MAX_RELATED))
    return [score(r) for r in rows[:MAX_RELATED]]


MAX_SUMMARIES = 1_000


@dataclass(frozen=True, slots=True)
class ScoreSummary:
    """The scores of one name and data type over a range, summed up as the type allows: numeric ones
    averaged, boolean ones as a share of True, categorical ones counted per category."""

    name: str
    data_type: str
    count: int
    average: float | None = None  # NUMERIC only
    true_count: int = 0  # BOOLEAN only
    categories: tuple[tuple[str, int], ...] = ()  # CATEGORICAL only, most frequent first

    @property
    def text(self) -> str:
        """The summary as one line, e.g. `avg 0.62`, `73% True (n=11)`, `good: 3, bad: 1`."""
        if self.data_type == "NUMERIC" and self.average is not None:
            return f"avg {self.average:.3g} (n={self.count})"
        if self.data_type == "BOOLEAN" and self.count:
            return f"{round(100 * self.true_count / self.count)}% True (n={self.count})"
        if self.data_type == "CATEGORICAL" and self.categories:
            return ", ".join(f"{label}: {n}" for label, n in self.categories)
        return f"{self.count} scores"


def compile_score_summaries(
    project_id: str, time: TimeRange, environment: str | None = None
) -> CompiledQuery:
    params = Params(project_id)
    preds = [
        PROJECT,
        f"timestamp >= {params.bind(time.start, 'DateTime64(6)')}",
        f"timestamp < {params.bind(time.end, 'DateTime64(6)')}",
    ]
    if environment:
        preds.append(in_list(params, "environment", (environment,)))
    sql = (
        "SELECT name, toString(data_type) AS data_type, count() AS total, "
        "avgIf(value, data_type = 'NUMERIC' AND value IS NOT NULL) AS average, "
        "countIf(data_type = 'BOOLEAN' AND value = 1) AS true_count, "
        "sumMapIf(map(assumeNotNull(coalesce(string_value, toString(value), '')), toUInt64(1)), "
        "data_type = 'CATEGORICAL') AS categories "
        "FROM (SELECT id, name, data_type, value, string_value, is_deleted FROM scores "
        f"WHERE {where(preds)} ORDER BY event_ts DESC LIMIT 1 BY id) WHERE is_deleted = 0 "
        f"GROUP BY name, data_type ORDER BY name, data_type LIMIT {params.bind(MAX_SUMMARIES, 'UInt32')}"
    )
    return CompiledQuery(sql, params.values, "scores.summaries")


async def aggregate_score_summaries(
    ch: ClickHouse, project_id: str, time: TimeRange, environment: str | None = None
) -> list[ScoreSummary]:
    """Per score name and data type over `time`: count, and the summary that type allows."""
    rows = await ch.query(compile_score_summaries(project_id, time, environment))
    out = []
    for r in rows:
        average = float(str(r["average"])) if r["average"] is not None else math.nan
        counted = cast(dict[Any, Any], r["categories"])
        categories = sorted(((str(k), int(v)) for k, v in counted.items() if v), key=lambda c: (-c[1], c[0]))
        out.append(
            ScoreSummary(
                name=str(r["name"]),
                data_type=str(r["data_type"]),
                count=int(str(r["total"])),
                average=None if math.isnan(average) else average,
                true_count=int(str(r["true_count"])),
                categories=tuple(categories),
            )
        )
    return out


# The scored traces' users (trace attributes live on the trace rows, folded newest first).
def compile_trace_users(project_id: str, trace_ids: list[str]) -> CompiledQuery:
    return CompiledQuery(
        f"SELECT id, argMaxIf(user_id, event_ts, user_id IS NOT NULL) AS user_id FROM traces "
        f"WHERE {PROJECT} AND id IN {{ids:Array(String)}} GROUP BY id LIMIT {{limit:UInt32}}",
        {"project_id": project_id, "ids": trace_ids, "limit": len(trace_ids)},
        "traces.users",
    )


async def fetch_trace_users(ch: ClickHouse, project_id: str, trace_ids: list[str]) -> dict[str, str]:
    """The user of each of these traces that has one (a page's batch)."""
    if not trace_ids:
        return {}
    rows = await ch.query(compile_trace_users(project_id, trace_ids))
    return {str(r["id"]): str(r["user_id"]) for r in rows if r["user_id"]}

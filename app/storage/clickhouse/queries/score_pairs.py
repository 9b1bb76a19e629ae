"""Pairs of scores on the same objects: two selectors (a name, optionally a source and a config), one
value per scored object and selector, paired on the object. Read as agreement statistics (count,
Pearson, Spearman, means, the cells of a confusion matrix of labels), the pairs that disagree (keyset
pages) and a sample of numeric pairs for a scatter plot.

A score's state is its latest row by event_ts (deleted when that row says so); of an object's live
scores under one selector, the latest by timestamp is its value. Objects are of one level only: a trace
(trace-level scores: no observation), an observation (trace + observation) or a session (no trace).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, assert_never, cast, get_args

from app.errors import InvalidInput
from app.storage.clickhouse.client import ClickHouse
from app.storage.clickhouse.queries.common import PROJECT, Cursor, Page, Params, TimeRange, where
from app.storage.clickhouse.queries.views import utc
from app.storage.clickhouse.query import CompiledQuery

Level = Literal["TRACE", "OBSERVATION", "SESSION"]
LEVELS: tuple[Level, ...] = get_args(Level)
MAX_LABELS = 100  # per side of a confusion matrix
MAX_CELLS = MAX_LABELS * MAX_LABELS
MAX_SAMPLE = 5_000
SORT = "DISAGREEMENT"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# The object a score is given to, as two key columns, and which scores are of that level (registry:
# the only place these expressions come from).
_KEYS: dict[Level, tuple[str, str, str]] = {
    "TRACE": ("assumeNotNull(trace_id)", "''", "trace_id IS NOT NULL AND observation_id IS NULL"),
    "OBSERVATION": (
        "assumeNotNull(trace_id)",
        "assumeNotNull(observation_id)",
        "trace_id IS NOT NULL AND observation_id IS NOT NULL",
    ),
    "SESSION": ("assumeNotNull(session_id)", "''", "session_id IS NOT NULL AND trace_id IS NULL"),
}
_LEVEL_COLUMNS: dict[Level, tuple[str, ...]] = {
    "TRACE": ("trace_id", "observation_id"),
    "OBSERVATION": ("trace_id", "observation_id"),
    "SESSION": ("session_id", "trace_id"),
}
# A score as a label: booleans True/False, categories their text (numbers have none).
_LABEL = (
    "ifNull(multiIf(data_type = 'BOOLEAN', if(value != 0, 'True', 'False'), data_type = 'NUMERIC', '', "
    "coalesce(string_value, toString(value))), '')"
)


@dataclass(frozen=True, slots=True)
class ScoreSelector:
    """Which scores make one side of the pairs: a name, and optionally a source and a score config."""

    name: str
    source: str | None = None
    config_id: str | None = None


@dataclass(frozen=True, slots=True)
class PairRequest:
    """Two selectors over one project, time range (score timestamps) and object level."""

    project_id: str
    time: TimeRange
    a: ScoreSelector
    b: ScoreSelector
    level: Level = "TRACE"


@dataclass(frozen=True, slots=True)
class PairStats:
    pairs: int
    pearson: float | None
    spearman: float | None  # Pearson's r of average ranks (ties share the mean of their ranks)
    mean_a: float | None
    mean_b: float | None
    data_types_a: tuple[str, ...]
    data_types_b: tuple[str, ...]
    disagreeing: int  # labels differ, or numbers differ by more than the tolerance
    cells: tuple[tuple[str, str, int], ...]  # (label_a, label_b, n); empty labels for numbers


@dataclass(frozen=True, slots=True)
class ScorePair:
    """One object scored under both selectors, and the two values."""

    trace_id: str | None
    observation_id: str | None
    session_id: str | None
    value_a: float | None
    value_b: float | None
    label_a: str
    label_b: str
    timestamp: datetime  # the later of the two scores' timestamps


def _selected(params: Params, selector: ScoreSelector) -> str:
    """Whether a live score (its latest row) is one of the selector's."""
    preds = ["is_deleted = 0", f"name = {params.bind(selector.name, 'String')}"]
    if selector.source is not None:
        preds.append(f"source = {params.bind(selector.source, 'String')}")
    if selector.config_id is not None:
        preds.append(f"config_id = {params.bind(selector.config_id, 'String')}")
    return where(preds)


def _pairs(params: Params, req: PairRequest) -> str:
    """One row per object scored under both selectors: each side's latest value, label and data type.

    The rows of either name in the range, deduplicated by id, then grouped by object, where each side
    takes its latest score (argMaxIf: no join). Filtering by name before deduplicating keeps the work
    to the compared scores' rows rather than every score of the range (bench/score_agreement.py, with
    as many rows of other names: a quarter less CPU time); the cost: a score re-sent with the same id
    under another name would still count under its old name here.
    """
    k1, k2, level = _KEYS[req.level]
    names = params.bind(sorted({req.a.name, req.b.name}), "Array(String)")
    window = where(
        [
            PROJECT,
            f"timestamp >= {params.bind(req.time.start, 'DateTime64(6)')}",
            f"timestamp < {params.bind(req.time.end, 'DateTime64(6)')}",
            f"name IN {names}",
        ]
    )
    # Only the columns this request reads go through the deduplication (a sort of every row).
    columns = ["timestamp", *_LEVEL_COLUMNS[req.level], "name", "value", "string_value", "data_type"]
    columns += [c for c in ("source", "config_id") if any(getattr(s, c) is not None for s in (req.a, req.b))]
    live = (
        f"SELECT {', '.join(columns)}, is_deleted FROM scores WHERE {window} "
        "ORDER BY event_ts DESC LIMIT 1 BY id"
    )
    rows = (
        f"SELECT {k1} AS k1, {k2} AS k2, timestamp AS scored_at, value, {_LABEL} AS label, "
        f"toString(data_type) AS kind, {_selected(params, req.a)} AS in_a, "
        f"{_selected(params, req.b)} AS in_b "
        f"FROM ({live}) WHERE {level} AND (in_a OR in_b)"
    )
    # One aggregate per column: cheaper than one over a tuple of them (~2/3 of the CPU time).
    sides = ", ".join(
        f"argMaxIf({column}, scored_at, in_{side}) AS {name}_{side}"
        for column, name in (("value", "value"), ("label", "label"), ("kind", "type"))
        for side in ("a", "b")
    )
    return (
        f"SELECT k1, k2, {sides}, max(scored_at) AS timestamp FROM ({rows}) "
        "GROUP BY k1, k2 HAVING countIf(in_a) > 0 AND countIf(in_b) > 0"
    )


def _disagree(params: Params, tolerance: float) -> str:
    """Numbers (both sides numeric) further apart than the tolerance; otherwise different labels."""
    tol = params.bind(tolerance, "Float64")
    return (
        f"if(type_a = 'NUMERIC' AND type_b = 'NUMERIC', "
        f"ifNull(abs(value_a - value_b) > {tol}, 1), label_a != label_b)"
    )


def compile_pair_stats(req: PairRequest, tolerance: float = 0.0) -> CompiledQuery:
    """Count, Pearson, Spearman (Pearson over average ranks, computed here: rankCorr does not average
    tied ranks the same way), means, the data types each side has, how many pairs disagree, and the
    confusion cells ([label_a, label_b] -> n; numbers have no labels), all from one scan."""
    params = Params(req.project_id)
    pairs = _pairs(params, req)
    disagree = _disagree(params, tolerance)

    def rank(column: str) -> str:
        # Ties share the mean of their ranks: (first rank + last rank) / 2, where the last rank is the
        # count of rows up to the tie's end (the default frame), so one sort per column serves both.
        return f"(rank() OVER (ORDER BY {column}) + count() OVER (ORDER BY {column})) / 2"

    sql = (
        "SELECT count() AS pairs, corr(value_a, value_b) AS pearson, corr(rank_a, rank_b) AS spearman, "
        "avg(value_a) AS mean_a, avg(value_b) AS mean_b, groupUniqArray(10)(type_a) AS types_a, "
        "groupUniqArray(10)(type_b) AS types_b, countIf(disagree) AS disagreeing, "
        "sumMap([[label_a, label_b]], [toUInt64(1)]) AS cells "
        f"FROM (SELECT value_a, value_b, label_a, label_b, type_a, type_b, {disagree} AS disagree, "
        f"{rank('value_a')} AS rank_a, {rank('value_b')} AS rank_b FROM ({pairs})) "
        f"LIMIT {params.bind(1, 'UInt32')}"
    )
    return CompiledQuery(sql, params.values, "score_pairs.stats")


def _cursor_keys(after: str) -> tuple[int, str, str]:
    cursor = Cursor.decode(after, SORT)
    try:
        keys = json.loads(cursor.id)
    except ValueError as exc:
        raise InvalidInput("after: not a cursor returned by this API") from exc
    valid_keys = isinstance(keys, list) and len(keys) == 2 and all(isinstance(k, str) for k in keys)
    if not valid_keys or not isinstance(cursor.value, int) or isinstance(cursor.value, bool):
        raise InvalidInput("after: not a cursor returned by this API")
    return cursor.value, keys[0], keys[1]


def compile_disagreements(
    req: PairRequest, tolerance: float = 0.0, first: int = 50, after: str | None = None
) -> CompiledQuery:
    """The pairs that disagree, newest first (the later score of the two), `first` + 1 rows after
    `after` (a cursor of this list)."""
    params = Params(req.project_id)
    pairs = _pairs(params, req)
    preds = [_disagree(params, tolerance)]
    if after is not None:
        micros, k1, k2 = _cursor_keys(after)
        preds.append(
            "(toUnixTimestamp64Micro(timestamp), k1, k2) < "
            f"({params.bind(micros, 'Int64')}, {params.bind(k1, 'String')}, {params.bind(k2, 'String')})"
        )
    sql = (
        "SELECT k1, k2, value_a, value_b, label_a, label_b, timestamp "
        f"FROM ({pairs}) WHERE {where(preds)} "
        f"ORDER BY timestamp DESC, k1 DESC, k2 DESC LIMIT {params.bind(first + 1, 'UInt32')}"
    )
    return CompiledQuery(sql, params.values, "score_pairs.disagreements")


def compile_pair_sample(req: PairRequest, limit: int = 2_000) -> CompiledQuery:
    """Up to `limit` numeric pairs (value_a, value_b), the same ones on every read (by key hash)."""
    params = Params(req.project_id)
    sql = (
        f"SELECT value_a, value_b FROM ({_pairs(params, req)}) "
        "WHERE value_a IS NOT NULL AND value_b IS NOT NULL "
        f"ORDER BY cityHash64(k1, k2) LIMIT {params.bind(min(limit, MAX_SAMPLE), 'UInt32')}"
    )
    return CompiledQuery(sql, params.values, "score_pairs.sample")


def _float(value: Any) -> float | None:
    if value is None:
        return None
    out = float(value)
    return None if out != out or out in (float("inf"), float("-inf")) else out  # NaN: undefined


async def aggregate_pair_stats(ch: ClickHouse, req: PairRequest, tolerance: float = 0.0) -> PairStats:
    """The pairs' statistics (Pearson and Spearman are None where undefined: fewer than 2 pairs, or a
    side that never varies); InvalidInput when the labels make more than MAX_CELLS cells."""
    [row] = await ch.query(compile_pair_stats(req, tolerance))
    pairs = int(str(row["pairs"]))
    keys, counts = cast(tuple[list[list[str]], list[int]], row["cells"])
    if len(keys) > MAX_CELLS:
        raise InvalidInput(f"too many categories to compare (at most {MAX_LABELS} per score)")
    return PairStats(
        pairs=pairs,
        pearson=_float(row["pearson"]) if pairs else None,
        spearman=_float(row["spearman"]) if pairs else None,
        mean_a=_float(row["mean_a"]) if pairs else None,
        mean_b=_float(row["mean_b"]) if pairs else None,
        data_types_a=tuple(sorted(str(t) for t in cast(list[str], row["types_a"]))),
        data_types_b=tuple(sorted(str(t) for t in cast(list[str], row["types_b"]))),
        disagreeing=int(str(row["disagreeing"])),
        cells=tuple((str(a), str(b), int(n)) for (a, b), n in zip(keys, counts, strict=True)),
    )


def _pair(level: Level, row: dict[str, Any]) -> ScorePair:
    k1, k2 = str(row["k1"]), str(row["k2"])
    if level == "TRACE":
        ids: tuple[str | None, str | None, str | None] = (k1, None, None)
    elif level == "OBSERVATION":
        ids = (k1, k2, None)
    elif level == "SESSION":
        ids = (None, None, k1)
    else:
        assert_never(level)
    return ScorePair(
        *ids,
        value_a=_float(row["value_a"]),
        value_b=_float(row["value_b"]),
        label_a=str(row["label_a"]),
        label_b=str(row["label_b"]),
        timestamp=utc(row["timestamp"]),
    )


def pair_cursor(level: Level, pair: ScorePair) -> str:
    """Where a page of disagreements that ends with `pair` continues (opaque)."""
    if level == "TRACE":
        keys = [pair.trace_id or "", ""]
    elif level == "OBSERVATION":
        keys = [pair.trace_id or "", pair.observation_id or ""]
    elif level == "SESSION":
        keys = [pair.session_id or "", ""]
    else:
        assert_never(level)
    micros = (pair.timestamp - EPOCH) // timedelta(microseconds=1)  # exact, unlike a float timestamp
    return Cursor(SORT, micros, json.dumps(keys)).encode()


async def list_disagreements_page(
    ch: ClickHouse, req: PairRequest, tolerance: float = 0.0, first: int = 50, after: str | None = None
) -> Page[ScorePair]:
    """A keyset page of the pairs that disagree, newest first."""
    rows = await ch.query(compile_disagreements(req, tolerance, first, after))
    items = [_pair(req.level, r) for r in rows[:first]]
    end = pair_cursor(req.level, items[-1]) if items else None
    return Page(items, len(rows) > first, end)


async def list_pair_sample(ch: ClickHouse, req: PairRequest, limit: int = 2_000) -> list[tuple[float, float]]:
    """A fixed sample of numeric pairs (value_a, value_b), for a scatter plot."""
    rows = await ch.query(compile_pair_sample(req, limit))
    return [(float(str(r["value_a"])), float(str(r["value_b"]))) for r in rows]

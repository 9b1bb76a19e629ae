"""Score pairs → SQL + parameters: the project predicate, one level's keys, selectors as parameters,
tolerances and cursors bound, forged cursors refused."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from app.errors import InvalidInput
from app.storage.clickhouse.queries import score_pairs as sp
from app.storage.clickhouse.queries.common import Cursor, TimeRange
from app.storage.clickhouse.query import CompiledQuery

T1 = datetime(2026, 11, 20, 10, tzinfo=UTC)
TIME = TimeRange(T1, T1 + timedelta(days=1))
P = "proj-1"
REQ = sp.PairRequest(P, TIME, sp.ScoreSelector("judge", "EVAL"), sp.ScoreSelector("human", "ANNOTATION"))
COMPILERS: list[Callable[[sp.PairRequest], CompiledQuery]] = [
    sp.compile_pair_stats,
    lambda r: sp.compile_pair_stats(r, 0.5),
    sp.compile_disagreements,
    lambda r: sp.compile_disagreements(r, 0.25, 10, sp.pair_cursor(r.level, pair())),
    sp.compile_pair_sample,
]


def pair() -> sp.ScorePair:
    return sp.ScorePair("t-1", "o-1", "s-1", 1.0, 0.0, "", "", T1)


def values(q: CompiledQuery) -> list[object]:
    return [v for k, v in q.parameters.items() if k != "project_id"]


@pytest.mark.parametrize("compile_query", COMPILERS)
@pytest.mark.parametrize("level", sp.LEVELS)
def test_every_query_is_scoped_to_the_project_and_binds_every_value(
    compile_query: Callable[[sp.PairRequest], CompiledQuery], level: sp.Level
) -> None:
    q = compile_query(sp.PairRequest(P, TIME, REQ.a, REQ.b, level))
    assert q.parameters["project_id"] == P
    assert "project_id = {project_id:String}" in q.sql
    assert q.sql.count("FROM scores") == 1  # one scan for both sides: no join
    assert re.search(r"LIMIT \{p\d+:UInt32\}$", q.sql), q.sql
    for text in ("judge", "human", "EVAL", "ANNOTATION", "t-1", "proj-1"):
        assert text not in q.sql
    assert ["human", "judge"] in values(q)  # the names scanned
    for value in ("judge", "human", "EVAL", "ANNOTATION", TIME.start, TIME.end):
        assert value in values(q), values(q)
    assert "LIMIT 1 BY id" in q.sql  # a score's latest row is its state


def test_each_level_pairs_its_own_objects_only() -> None:
    def sql(level: sp.Level) -> str:
        return sp.compile_pair_stats(sp.PairRequest(P, TIME, REQ.a, REQ.b, level)).sql

    assert "assumeNotNull(trace_id) AS k1, '' AS k2" in sql("TRACE")
    assert "trace_id IS NOT NULL AND observation_id IS NULL" in sql("TRACE")
    assert "assumeNotNull(trace_id) AS k1, assumeNotNull(observation_id) AS k2" in sql("OBSERVATION")
    assert "trace_id IS NOT NULL AND observation_id IS NOT NULL" in sql("OBSERVATION")
    assert "assumeNotNull(session_id) AS k1" in sql("SESSION")
    assert "session_id IS NOT NULL AND trace_id IS NULL" in sql("SESSION")


def test_selectors_filter_by_source_and_config_only_when_given() -> None:
    plain = sp.compile_pair_stats(sp.PairRequest(P, TIME, sp.ScoreSelector("a"), sp.ScoreSelector("b")))
    assert "source" not in plain.sql and "config_id" not in plain.sql
    configured = sp.compile_pair_stats(
        sp.PairRequest(P, TIME, sp.ScoreSelector("a", config_id="cfg-1"), sp.ScoreSelector("a", "API"))
    )
    assert "config_id = {p" in configured.sql and "source = {p" in configured.sql
    assert "cfg-1" in values(configured) and "API" in values(configured)
    assert ["a"] in values(configured)  # one name, both sides


def test_spearman_averages_tied_ranks_in_sql_not_rank_corr() -> None:
    q = sp.compile_pair_stats(REQ)
    assert "rankCorr" not in q.sql
    assert "(rank() OVER (ORDER BY value_a) + count() OVER (ORDER BY value_a)) / 2 AS rank_a" in q.sql
    assert "corr(rank_a, rank_b) AS spearman" in q.sql


def test_the_tolerance_and_page_size_are_parameters() -> None:
    q = sp.compile_disagreements(REQ, 0.75, 20)
    assert 0.75 in values(q) and 21 in values(q)
    assert "abs(value_a - value_b) > {p" in q.sql


def test_a_disagreement_cursor_continues_after_its_pair() -> None:
    after = sp.pair_cursor("TRACE", pair())
    q = sp.compile_disagreements(REQ, 0.0, 10, after)
    assert "(toUnixTimestamp64Micro(timestamp), k1, k2) < ({p" in q.sql
    micros = int(T1.timestamp()) * 1_000_000
    assert micros in values(q) and "t-1" in values(q) and "" in values(q)


@pytest.mark.parametrize(
    "after",
    [
        "not-a-cursor",
        Cursor("TIMESTAMP", 1, '["t", ""]').encode(),  # another list's cursor
        Cursor(sp.SORT, "1; DROP TABLE scores", '["t", ""]').encode(),
        Cursor(sp.SORT, 1, "t").encode(),  # keys not JSON
        Cursor(sp.SORT, 1, '["t"]').encode(),
        Cursor(sp.SORT, 1, '["t", 2]').encode(),
        Cursor(sp.SORT, True, '["t", ""]').encode(),
    ],
)
def test_a_forged_cursor_is_a_user_error(after: str) -> None:
    with pytest.raises(InvalidInput, match=r"^after: "):
        sp.compile_disagreements(REQ, 0.0, 10, after)


def test_the_sample_is_capped() -> None:
    assert sp.MAX_SAMPLE in values(sp.compile_pair_sample(REQ, 10**9))

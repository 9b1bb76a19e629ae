"""Hostile strings through every filter, sort, search, metadata key and cursor of the read queries:
they appear only among the bound parameters, never in the SQL text."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.errors import InvalidInput
from app.storage.clickhouse.queries import groups as gq
from app.storage.clickhouse.queries import metrics as mq
from app.storage.clickhouse.queries import observations as oq
from app.storage.clickhouse.queries import scores as sq
from app.storage.clickhouse.queries import traces as tq
from app.storage.clickhouse.queries.common import Cursor, MetadataFilter, TagFilter, TimeRange

HOSTILE = [
    "' OR 1=1 --",
    "x'); DROP TABLE observations; --",
    "\\' OR '1'='1",
    "{project_id:String}",
    "{p1:String}') OR project_id != '",
    "/* comment */ UNION SELECT * FROM system.users",
    "中文' \\ 注入",
    "a\x00b",
    "${ON_CLUSTER}",
    "%_\\%",
    "' || (SELECT secret FROM api_keys) || '",
]
T1 = datetime(2026, 11, 20, tzinfo=UTC)
TIME = TimeRange(T1, T1 + timedelta(hours=1))
P = "proj"


def parameter_strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [s for v in value for s in parameter_strings(v)]
    return []


def check(build: Callable[[str], Any], evil: str) -> None:
    """The SQL built around a hostile value is the SQL built around a benign one (the value changed no
    text), and the hostile value travels among the parameters."""
    hostile, benign = build(evil), build("benign")
    assert hostile.sql == benign.sql, hostile.sql
    bound = [s for v in hostile.parameters.values() for s in parameter_strings(v)]
    assert any(evil in s for s in bound), bound


def _string_tuple_fields(cls: type) -> list[str]:
    return [f.name for f in fields(cls) if "tuple[str" in str(f.type)]


@pytest.mark.parametrize("evil", HOSTILE)
def test_trace_filters(evil: str) -> None:
    base = tq.TraceListRequest(P, TIME)
    variants: list[Callable[[str], tq.TraceFilter]] = [
        lambda v, name=name: replace(tq.TraceFilter(), **{name: (v,)})  # type: ignore[misc]
        for name in _string_tuple_fields(tq.TraceFilter)
    ]
    variants += [
        lambda v: tq.TraceFilter(tags=TagFilter((v,))),
        lambda v: tq.TraceFilter(metadata=(MetadataFilter(v, "v"),)),
        lambda v: tq.TraceFilter(metadata=(MetadataFilter("k", v),)),
        lambda v: tq.TraceFilter(scores=(tq.ScoreCondition(v),)),
        lambda v: tq.TraceFilter(scores=(tq.ScoreCondition("n", string_value=v),)),
        lambda v: tq.TraceFilter(search=v * 2),  # long enough for trigrams either way
    ]
    for make in variants:
        check(lambda v, make=make: tq.compile_trace_list(replace(base, filter=make(v))), evil)


@pytest.mark.parametrize("evil", HOSTILE)
def test_observation_score_and_group_filters(evil: str) -> None:
    for name in _string_tuple_fields(oq.ObservationFilter):
        f = replace(oq.ObservationFilter(), **{name: ("x",)})
        check(
            lambda v, f=f, name=name: oq.compile_observation_list(
                oq.ObservationListRequest(P, TIME, replace(f, **{name: (v,)}))
            ),
            evil,
        )
    check(
        lambda v: oq.compile_observation_list(
            oq.ObservationListRequest(P, TIME, oq.ObservationFilter(search=v * 2))
        ),
        evil,
    )
    for name in _string_tuple_fields(sq.ScoreFilter):
        check(
            lambda v, name=name: sq.compile_score_list(
                sq.ScoreListRequest(P, TIME, replace(sq.ScoreFilter(), **{name: (v,)}))
            ),
            evil,
        )
    check(lambda v: sq.compile_score_summaries(P, TIME, v), evil)
    check(lambda v: sq.compile_trace_users(P, [v]), evil)
    for name in _string_tuple_fields(gq.GroupFilter):
        check(
            lambda v, name=name: gq.compile_group_list(
                gq.GroupListRequest(P, "user_id", TIME, replace(gq.GroupFilter(), **{name: (v,)}))
            ),
            evil,
        )


@pytest.mark.parametrize("evil", HOSTILE)
def test_metric_filters_and_cursors(evil: str) -> None:
    def metrics(v: str) -> Any:
        req = mq.MetricsRequest(
            P,
            mq.View.OBSERVATIONS,
            (mq.MetricSpec(mq.Measure.COUNT, mq.Aggregation.COUNT),),
            TIME,
            filters=(mq.DimensionFilter(mq.Dimension.NAME, (v,)),),
        )
        return mq.compile_metrics(req)[0]

    check(metrics, evil)
    for sort in tq.TraceSort:
        check(
            lambda v, sort=sort: tq.compile_trace_list(
                tq.TraceListRequest(P, TIME, sort=sort, after=Cursor(sort.value, 1, v).encode())
            ),
            evil,
        )
        with pytest.raises(InvalidInput, match="not a cursor"):  # a forged sort value: 400, not a 500
            tq.compile_trace_list(
                tq.TraceListRequest(P, TIME, sort=sort, after=Cursor(sort.value, evil, "x").encode())
            )
    with pytest.raises(InvalidInput, match="not a cursor"):
        tq.compile_trace_list(tq.TraceListRequest(P, TIME, after=evil))


@pytest.mark.parametrize("evil", HOSTILE)
def test_a_project_id_is_a_parameter_too(evil: str) -> None:
    check(lambda v: tq.compile_trace_list(tq.TraceListRequest(v, TIME)), evil)


@pytest.mark.parametrize("evil", HOSTILE)
def test_prompt_metrics_bind_the_prompt_name(evil: str) -> None:
    from app.storage.clickhouse.queries import prompts as pq

    for compile_query in (pq.compile_prompt_metrics, pq.compile_prompt_scores):
        check(lambda v, c=compile_query: c(pq.PromptMetricsRequest(P, v, TIME, (1, 2))), evil)  # type: ignore[misc]


@pytest.mark.parametrize("evil", HOSTILE)
def test_a_trace_list_with_observation_ids_binds_project_and_trace_ids(evil: str) -> None:
    listed = tq.TraceFilter(ids=(evil, "t2"))
    check(lambda v: tq.compile_trace_list(tq.TraceListRequest(v, TIME, with_observation_ids=True)), evil)
    check(
        lambda v: tq.compile_trace_list(tq.TraceListRequest(P, TIME, listed, with_observation_ids=True)), evil
    )


@pytest.mark.parametrize("evil", HOSTILE)
def test_score_pairs_bind_names_sources_configs_and_cursor_keys(evil: str) -> None:
    from app.storage.clickhouse.queries import score_pairs as sp

    selectors: list[Callable[[str], tuple[sp.ScoreSelector, sp.ScoreSelector]]] = [
        lambda v: (sp.ScoreSelector(v), sp.ScoreSelector("human")),
        lambda v: (sp.ScoreSelector("judge"), sp.ScoreSelector(v)),
        lambda v: (sp.ScoreSelector("judge", v), sp.ScoreSelector("human", "EVAL")),
        lambda v: (sp.ScoreSelector("judge", "EVAL"), sp.ScoreSelector("human", v)),
        lambda v: (sp.ScoreSelector("judge", config_id=v), sp.ScoreSelector("human", config_id="c")),
        lambda v: (sp.ScoreSelector("judge", config_id="c"), sp.ScoreSelector("human", config_id=v)),
    ]
    compilers: list[Callable[[sp.PairRequest], Any]] = [
        sp.compile_pair_stats,
        sp.compile_disagreements,
        sp.compile_pair_sample,
    ]
    for level in sp.LEVELS:
        for make in selectors:
            for compile_query in compilers:
                check(
                    lambda v, make=make, c=compile_query, level=level: c(  # type: ignore[misc]
                        sp.PairRequest(P, TIME, *make(v), level)
                    ),
                    evil,
                )
        check(
            lambda v, level=level: sp.compile_pair_stats(
                sp.PairRequest(v, TIME, sp.ScoreSelector("a"), sp.ScoreSelector("b"), level)
            ),
            evil,
        )
        plain = sp.PairRequest(P, TIME, sp.ScoreSelector("a"), sp.ScoreSelector("b"), level)
        for make_pair in (
            lambda v: sp.ScorePair(v, "o", v, 1.0, 0.0, "", "", T1),
            lambda v: sp.ScorePair("t", v, "s", 1.0, 0.0, "", "", T1),
        ):
            check(
                lambda v, make_pair=make_pair, plain=plain: sp.compile_disagreements(  # type: ignore[misc]
                    plain, 0, 5, sp.pair_cursor("OBSERVATION", make_pair(v))
                ),
                evil,
            )

"""Typed read requests → SQL + parameters, table-driven: every filter, sort and metric."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.errors import InvalidInput
from app.storage.clickhouse.queries import groups as gq
from app.storage.clickhouse.queries import metrics as mq
from app.storage.clickhouse.queries import observations as oq
from app.storage.clickhouse.queries import scores as sq
from app.storage.clickhouse.queries import traces as tq
from app.storage.clickhouse.queries.common import (
    LOOKUP_WINDOW,
    Cursor,
    MetadataFilter,
    NumberRange,
    TagFilter,
    TagMatch,
    TimeRange,
    page_size,
)
from app.storage.clickhouse.queries.views import score_label

T1 = datetime(2026, 11, 20, 10, tzinfo=UTC)
TIME = TimeRange(T1, T1 + timedelta(hours=2))
P = "proj-1"


def bound(q: Any) -> dict[str, object]:
    """Parameters other than the project."""
    return {k: v for k, v in q.parameters.items() if k != "project_id"}


def assert_bound(q: Any, fragment: str, value: object) -> None:
    """`fragment` is in the SQL with a placeholder whose parameter is `value`."""
    assert fragment in q.sql, q.sql
    assert value in bound(q).values(), bound(q)


TRACE_FILTERS = [
    (tq.TraceFilter(ids=("a",)), "id IN {p", ["a"]),
    (tq.TraceFilter(names=("chat",)), "name IN {p", ["chat"]),
    (tq.TraceFilter(user_ids=("u",)), "user_id IN {p", ["u"]),
    (tq.TraceFilter(session_ids=("s",)), "session_id IN {p", ["s"]),
    (tq.TraceFilter(environments=("prod",)), "environment IN {p", ["prod"]),
    (tq.TraceFilter(releases=("r1",)), "release IN {p", ["r1"]),
    (tq.TraceFilter(versions=("v1",)), "version IN {p", ["v1"]),
    (tq.TraceFilter(tags=TagFilter(("x", "y"), TagMatch.ALL)), "hasAll(tags, {p", ["x", "y"]),
    (tq.TraceFilter(tags=TagFilter(("x",), TagMatch.ANY)), "hasAny(tags, {p", ["x"]),
    (tq.TraceFilter(metadata=(MetadataFilter("k", "v"),)), "metadata_values[indexOf(metadata_names, {p", "v"),
    (tq.TraceFilter(metadata=(MetadataFilter("k"),)), "has(metadata_names, {p", "k"),
    (tq.TraceFilter(levels=("ERROR",)), "counts_by_level", ["ERROR"]),
    (tq.TraceFilter(types=("TOOL",)), "counts_by_type", ["TOOL"]),
    (tq.TraceFilter(models=("gpt-4o",)), "hasAny(models, {p", ["gpt-4o"]),
    (tq.TraceFilter(latency_ms=NumberRange(1, None)), "latency_ms >= {p", 1),
    (tq.TraceFilter(total_cost=NumberRange(None, 2)), "toFloat64(total_cost) <= {p", 2),
    (tq.TraceFilter(total_tokens=NumberRange(3, None)), "total_tokens >= {p", 3),
    (tq.TraceFilter(scores=(tq.ScoreCondition("q", NumberRange(0.5, None)),)), "FROM scores", "q"),
    (tq.TraceFilter(scores=(tq.ScoreCondition("label", string_value="good"),)), "string_value = {p", "good"),
    (tq.TraceFilter(search="refund"), "positionCaseInsensitiveUTF8(ifNull(input, ''), {p", "refund"),
]


@pytest.mark.parametrize(("f", "fragment", "value"), TRACE_FILTERS)
def test_every_trace_filter_binds_its_value(f: tq.TraceFilter, fragment: str, value: object) -> None:
    q = tq.compile_trace_list(tq.TraceListRequest(P, TIME, f))
    assert_bound(q, fragment, value)
    assert q.parameters["project_id"] == P and q.tag == "traces.list"


def test_trace_search_uses_trigrams_and_switches_off_direct_index_reads() -> None:
    q = tq.compile_trace_list(tq.TraceListRequest(P, TIME, tq.TraceFilter(search="Refund")))
    assert ["efu", "fun", "ref", "und"] in bound(q).values()  # lower-cased character trigrams
    assert q.settings == {"query_plan_direct_read_from_text_index": 0}
    short = tq.compile_trace_list(tq.TraceListRequest(P, TIME, tq.TraceFilter(search="退款")))
    assert "hasAllTokens" not in short.sql and "退款" in bound(short).values()  # too short for a trigram


@pytest.mark.parametrize(
    ("sort", "expr"),
    [
        (tq.TraceSort.TIMESTAMP, "toUnixTimestamp64Micro(ts)"),
        (tq.TraceSort.LATENCY, "ifNull(latency_ms, -1)"),
        (tq.TraceSort.TOTAL_COST, "toFloat64(total_cost)"),
        (tq.TraceSort.TOTAL_TOKENS, "total_tokens"),
    ],
)
def test_trace_sorts_and_keyset(sort: tq.TraceSort, expr: str) -> None:
    first = tq.compile_trace_list(tq.TraceListRequest(P, TIME, sort=sort, descending=False))
    assert f"ORDER BY {expr} ASC, id ASC" in first.sql
    after = Cursor(sort.value, 5, "t9").encode()
    nxt = tq.compile_trace_list(tq.TraceListRequest(P, TIME, sort=sort, after=after))
    assert f"({expr}, id) < ({{p" in nxt.sql and "t9" in bound(nxt).values()
    with pytest.raises(InvalidInput, match="another sort order"):
        tq.compile_trace_list(tq.TraceListRequest(P, TIME, sort=sort, after=Cursor("OTHER", 1, "x").encode()))


def test_every_list_is_bounded_by_project_and_time() -> None:
    queries = [
        tq.compile_trace_list(tq.TraceListRequest(P, TIME)),
        oq.compile_observation_list(oq.ObservationListRequest(P, TIME)),
        sq.compile_score_list(sq.ScoreListRequest(P, TIME)),
        gq.compile_group_list(gq.GroupListRequest(P, "session_id", TIME)),
        sq.compile_score_summaries(P, TIME),
    ]
    for q in queries:
        assert "project_id = {project_id:String}" in q.sql
        assert TIME.start in q.parameters.values() and TIME.end in q.parameters.values()
        assert " LIMIT {p" in q.sql
    with pytest.raises(ValueError, match="time range"):
        oq.compile_observation_list(oq.ObservationListRequest(P, None))
    with pytest.raises(ValueError, match="time range"):
        sq.compile_score_list(sq.ScoreListRequest(P, None, sq.ScoreFilter(trace_ids=("t",), user_ids=("u",))))


def test_a_score_list_by_user_reads_the_traces_of_its_window_only() -> None:
    q = sq.compile_score_list(sq.ScoreListRequest(P, TIME, sq.ScoreFilter(user_ids=("u1",))))
    users = q.sql.split("trace_id IN (", 1)[1]
    assert users.count("project_id = {project_id:String}") == 2 and users.count("timestamp < {p") == 2
    assert TIME.start - LOOKUP_WINDOW in q.parameters.values() and ["u1"] in q.parameters.values()
    assert "argMaxIf(user_id, event_ts, user_id IS NOT NULL) IN {p" in users


OBSERVATION_FILTERS = [
    (oq.ObservationFilter(trace_ids=("t",)), "trace_id IN {p", ["t"]),
    (oq.ObservationFilter(parent_ids=("p",)), "parent_observation_id IN {p", ["p"]),
    (oq.ObservationFilter(types=("GENERATION",)), "type IN {p", ["GENERATION"]),
    (oq.ObservationFilter(levels=("ERROR",)), "level IN {p", ["ERROR"]),
    (oq.ObservationFilter(models=("m",)), "provided_model_name IN {p", ["m"]),
    (oq.ObservationFilter(prompt_names=("pr",)), "prompt_name IN {p", ["pr"]),
    (oq.ObservationFilter(prompt_versions=(3,)), "prompt_version IN {p", [3]),
    (oq.ObservationFilter(trace_names=("tn",)), "trace_name IN {p", ["tn"]),
    (oq.ObservationFilter(metadata=(MetadataFilter("k", "v"),)), "indexOf(metadata_names", "v"),
    (oq.ObservationFilter(latency_ms=NumberRange(5, None)), "latency_ms >= {p", 5),
    (oq.ObservationFilter(search="abc"), "hasAllTokens(input", "abc"),
]


@pytest.mark.parametrize(("f", "fragment", "value"), OBSERVATION_FILTERS)
def test_every_observation_filter_binds_its_value(
    f: oq.ObservationFilter, fragment: str, value: object
) -> None:
    assert_bound(oq.compile_observation_list(oq.ObservationListRequest(P, TIME, f)), fragment, value)


def test_lists_read_previews_and_single_reads_full_values() -> None:
    listed = oq.compile_observation_list(oq.ObservationListRequest(P, TIME))
    assert "input_preview" in listed.sql and "metadata_values" not in listed.sql.split("FROM")[0]
    full = oq.compile_observation_list(
        oq.ObservationListRequest(P, None, oq.ObservationFilter(ids=("o",)), with_io=True)
    )
    assert ", input, output, metadata_names" in full.sql


def test_counts_drop_the_cursor_and_order() -> None:
    q = tq.compile_trace_list(
        tq.TraceListRequest(P, TIME, after=Cursor("TIMESTAMP", 1, "x").encode()), count=True
    )
    assert q.sql.startswith("SELECT count() AS total FROM (") and "ORDER BY toUnix" not in q.sql
    assert "x" not in bound(q).values()


def test_page_size_and_time_range_limits() -> None:
    assert page_size(None) == 50 and page_size(100) == 100
    for bad in (0, 101):
        with pytest.raises(InvalidInput, match="first must be between 1 and 100"):
            page_size(bad)
    with pytest.raises(InvalidInput, match="'from' must be before 'to'"):
        TimeRange.resolve(T1, T1)
    default = TimeRange.resolve(None, T1)
    assert default.end - default.start == timedelta(hours=24)
    for bad, bound in (
        (datetime(999, 12, 31, tzinfo=UTC), "from"),
        (datetime(1969, 12, 31, 23, 59, 59), "from"),
        (datetime(2300, 1, 1, tzinfo=UTC), "to"),
        (datetime.max, "to"),
    ):
        with pytest.raises(InvalidInput, match=f"^{bound}Param must lie between 1970-01-01 and 2299-12-31"):
            TimeRange.resolve(
                *((bad, None) if bound == "from" else (None, bad)), names=("fromParam", "toParam")
            )
    edges = TimeRange.resolve(datetime(1970, 1, 1), datetime(2299, 12, 31, 23, 59, 59, 999999, tzinfo=UTC))
    assert edges.start == datetime(1970, 1, 1, tzinfo=UTC)


def spec(measure: mq.Measure, aggregation: mq.Aggregation) -> mq.MetricSpec:
    return mq.MetricSpec(measure, aggregation)


@pytest.mark.parametrize(
    ("req", "served", "fragment"),
    [
        (
            mq.MetricsRequest(
                P,
                mq.View.OBSERVATIONS,
                (spec(mq.Measure.COUNT, mq.Aggregation.COUNT),),
                TIME,
                granularity=mq.Granularity.HOUR,
            ),
            "observations_hourly",
            "sum(observations)",
        ),
        (
            mq.MetricsRequest(
                P,
                mq.View.OBSERVATIONS,
                (spec(mq.Measure.TOTAL_COST, mq.Aggregation.AVG),),
                TIME,
                (mq.Dimension.MODEL,),
                granularity=None,
            ),
            "observations_hourly",
            "/ nullIf(sum(observations), 0)",
        ),
        (
            mq.MetricsRequest(
                P,
                mq.View.OBSERVATIONS,
                (spec(mq.Measure.LATENCY, mq.Aggregation.HISTOGRAM),),
                TIME,
                granularity=mq.Granularity.DAY,
            ),
            "observations_hourly",
            "sumMap(latency_buckets)",
        ),
        (
            mq.MetricsRequest(P, mq.View.OBSERVATIONS, (spec(mq.Measure.LATENCY, mq.Aggregation.P95),), TIME),
            "observations",
            "quantileExactIf(0.95)",
        ),
        (
            mq.MetricsRequest(
                P,
                mq.View.OBSERVATIONS,
                (spec(mq.Measure.COUNT, mq.Aggregation.COUNT),),
                TIME,
                (mq.Dimension.USER,),
                granularity=mq.Granularity.HOUR,
            ),
            "observations_by_dimension_hourly",
            "dimension = 'user'",
        ),
        (
            mq.MetricsRequest(
                P,
                mq.View.OBSERVATIONS,
                (spec(mq.Measure.TOTAL_COST, mq.Aggregation.SUM),),
                TIME,
                (mq.Dimension.TRACE_NAME,),
                (mq.DimensionFilter(mq.Dimension.ENVIRONMENT, ("prod",)),),
                granularity=None,
            ),
            "observations_by_dimension_hourly",
            "dimension = 'trace_name'",
        ),
        (  # the dimension rollup keeps no cost by type
            mq.MetricsRequest(
                P,
                mq.View.OBSERVATIONS,
                (spec(mq.Measure.INPUT_COST, mq.Aggregation.SUM),),
                TIME,
                (mq.Dimension.USER,),
                granularity=None,
            ),
            "observations",
            "cost_details['input']",
        ),
        (
            mq.MetricsRequest(
                P,
                mq.View.OBSERVATIONS,
                (spec(mq.Measure.COUNT, mq.Aggregation.COUNT),),
                TIME,
                (mq.Dimension.USER, mq.Dimension.MODEL),
            ),
            "observations",
            "sum(1 * sign)",
        ),
        (
            mq.MetricsRequest(
                P,
                mq.View.OBSERVATIONS,
                (spec(mq.Measure.COUNT, mq.Aggregation.COUNT),),
                TIME,
                granularity=mq.Granularity.MINUTE,
            ),
            "observations",
            "toStartOfMinute(start_time)",
        ),
        (
            mq.MetricsRequest(
                P,
                mq.View.OBSERVATIONS,
                (spec(mq.Measure.COUNT, mq.Aggregation.COUNT),),
                TimeRange(T1 + timedelta(minutes=5), T1 + timedelta(hours=2)),
            ),
            "observations",
            "sum(1 * sign)",
        ),
        (
            mq.MetricsRequest(P, mq.View.OBSERVATIONS, (spec(mq.Measure.TRACES, mq.Aggregation.UNIQ),), TIME),
            "observations",
            "uniqExactIf(trace_id",
        ),
        (
            mq.MetricsRequest(
                P, mq.View.TRACES, (spec(mq.Measure.LATENCY, mq.Aggregation.P50),), TIME, (mq.Dimension.TAG,)
            ),
            "traces",
            "arrayJoin",
        ),
        (
            mq.MetricsRequest(
                P,
                mq.View.SCORES,
                (spec(mq.Measure.VALUE, mq.Aggregation.AVG),),
                TIME,
                (mq.Dimension.SCORE_NAME,),
                (mq.DimensionFilter(mq.Dimension.SOURCE, ("API",)),),
            ),
            "scores",
            "LIMIT 1 BY id",
        ),
        (
            mq.MetricsRequest(
                P,
                mq.View.SCORES,
                (spec(mq.Measure.COUNT, mq.Aggregation.COUNT),),
                TIME,
                (mq.Dimension.SCORE_NAME, mq.Dimension.TRACE_NAME),
            ),
            "scores",
            "LEFT JOIN (SELECT trace_id, argMaxIf(ifNull(trace_name, '')",
        ),
    ],
)
def test_metrics_compile_and_choose_their_source(req: mq.MetricsRequest, served: str, fragment: str) -> None:
    q, _ = mq.compile_metrics(req)
    assert q.tag == f"metrics.{served}" and fragment in q.sql, q.sql
    assert "project_id = {project_id:String}" in q.sql


def test_every_measure_and_aggregation_of_every_view_compiles_or_is_refused_clearly() -> None:
    for view in mq.View:
        for measure in mq.Measure:
            for aggregation in mq.Aggregation:
                req = mq.MetricsRequest(P, view, (spec(measure, aggregation),), TIME)
                try:
                    q, _ = mq.compile_metrics(req)
                except InvalidInput as exc:
                    assert measure.value in str(exc) or "UNIQ" in str(exc)
                else:
                    assert spec(measure, aggregation).alias in q.sql


def test_metrics_limits() -> None:
    month = TimeRange(T1, T1 + timedelta(days=60))
    with pytest.raises(InvalidInput, match="coarser"):
        mq.compile_metrics(
            mq.MetricsRequest(
                P,
                mq.View.OBSERVATIONS,
                (spec(mq.Measure.COUNT, mq.Aggregation.COUNT),),
                month,
                granularity=mq.Granularity.MINUTE,
            )
        )
    assert mq.auto_granularity(month) is mq.Granularity.DAY
    with pytest.raises(InvalidInput, match="dimension SCORE_NAME is not available on view OBSERVATIONS"):
        mq.compile_metrics(
            mq.MetricsRequest(
                P,
                mq.View.OBSERVATIONS,
                (spec(mq.Measure.COUNT, mq.Aggregation.COUNT),),
                TIME,
                (mq.Dimension.SCORE_NAME,),
            )
        )


@pytest.mark.parametrize(
    ("data_type", "value", "string_value", "label"),
    [
        ("BOOLEAN", 1.0, None, "True"),
        ("BOOLEAN", 0.0, None, "False"),
        ("BOOLEAN", 1.0, "True", "True"),
        ("CATEGORICAL", None, "good", "good"),
        ("CATEGORICAL", 2.0, None, "2"),
        ("NUMERIC", 0.25, None, "0.25"),
        ("NUMERIC", 3.0, None, "3"),
        ("TEXT", None, "fine", "fine"),
    ],
)
def test_a_score_reads_as_its_data_type(
    data_type: str, value: float | None, string_value: str | None, label: str
) -> None:
    assert score_label(data_type, value, string_value) == label


def test_score_summaries_never_average_booleans_or_categories() -> None:
    assert sq.ScoreSummary("q", "NUMERIC", 4, average=0.45).text == "avg 0.45 (n=4)"
    assert sq.ScoreSummary("h", "BOOLEAN", 11, true_count=8).text == "73% True (n=11)"
    assert (
        sq.ScoreSummary("t", "CATEGORICAL", 4, categories=(("good", 3), ("bad", 1))).text == "good: 3, bad: 1"
    )
    assert sq.ScoreSummary("x", "TEXT", 2).text == "2 scores"
    q = sq.compile_score_summaries(P, TIME)
    assert "GROUP BY name, data_type" in q.sql and "avgIf(value, data_type = 'NUMERIC'" in q.sql

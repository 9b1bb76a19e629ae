"""Score analytics on real chDB: an LLM judge (EVAL) against human annotation (ANNOTATION) on the same
objects (correlations checked against numpy, kappa, confusion), the latest value per object, deleted
scores, other projects, levels, the disagreements, scores by source, the GraphQL fields and the pages.

Scores are written through the one score path (app.tracing.scores), as the judges and the annotation
views write them."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from html import unescape
from typing import Any

import pytest

from app.analytics import score_agreement as sa
from app.analytics.scores import score_sources
from app.errors import InvalidInput
from app.storage import Storage
from app.storage.clickhouse.queries.common import TimeRange
from app.storage.postgres.tables import Role
from app.tracing.score_configs import ScoreConfigSpec, create_config
from app.tracing.scores import NewScore, create_score, delete_score
from tests.conftest import ProjectFixture, login, make_project, make_user
from tests.integration.reads_data import gql

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC).replace(microsecond=0)
TIME = TimeRange(NOW - timedelta(days=1), NOW + timedelta(hours=1))
JUDGE = sa.ScoreSelector("judge", "EVAL")
HUMAN = sa.ScoreSelector("human", "ANNOTATION")
# Judge and reviewer on 12 traces, both with ties (the reviewer gives whole stars).
JUDGE_VALUES = [0.9, 0.8, 0.8, 0.7, 0.5, 0.5, 0.5, 0.3, 0.2, 0.2, 0.1, 0.95]
HUMAN_VALUES = [5.0, 4.0, 5.0, 4.0, 3.0, 3.0, 2.0, 2.0, 1.0, 2.0, 1.0, 4.0]


async def put(
    storage: Storage,
    project: ProjectFixture,
    name: str,
    value: float | str,
    source: str,
    minutes_ago: float = 10,
    **target: Any,
) -> str:
    """Store one score given `minutes_ago` (to trace t-0 unless `target` names another object); its id."""
    if "session_id" not in target:
        target.setdefault("trace_id", "t-0")
    score = NewScore(
        name=name, value=value, source=source, timestamp=NOW - timedelta(minutes=minutes_ago), **target
    )
    return (await create_score(storage, project.project_id, score)).id


def average_ranks(values: Any) -> Any:
    """Ranks 1..n, ties sharing the mean of the ranks they span (the numpy reference)."""
    import numpy as np

    x = np.asarray(values, dtype=float)
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(len(x))
    ranks[order] = np.arange(1, len(x) + 1)
    _, inverse = np.unique(x, return_inverse=True)
    return (np.bincount(inverse, weights=ranks) / np.bincount(inverse))[inverse]


async def test_numeric_agreement_is_pearson_and_average_rank_spearman(storage, project) -> None:  # type: ignore[no-untyped-def]
    import numpy as np

    for i, (judge, human) in enumerate(zip(JUDGE_VALUES, HUMAN_VALUES, strict=True)):
        await put(storage, project, "judge", judge, "EVAL", trace_id=f"t-{i}")
        await put(storage, project, "human", human, "ANNOTATION", trace_id=f"t-{i}")
        await put(storage, project, "judge", 100.0 - judge, "API", minutes_ago=1, trace_id=f"t-{i}")
    await put(storage, project, "judge", 0.4, "EVAL", trace_id="only-judged")  # no human score: no pair
    req = sa.PairRequest(project.project_id, TIME, JUDGE, HUMAN)
    found = await sa.score_agreement(storage.clickhouse, req, 1.0)

    a, b = np.array(JUDGE_VALUES), np.array(HUMAN_VALUES)
    spearman = float(np.corrcoef(average_ranks(a), average_ranks(b))[0, 1])
    assert found.pairs == 12 and found.data_type == "NUMERIC"
    assert found.pearson == pytest.approx(float(np.corrcoef(a, b)[0, 1]), abs=1e-12)
    assert found.spearman == pytest.approx(spearman, abs=1e-12)
    # With these ties, the 1 - 6Σd²/(n(n²-1)) shortcut (ClickHouse's rankCorr) gives another number.
    d = average_ranks(a) - average_ranks(b)
    assert abs((1 - 6 * float((d**2).sum()) / (12 * (144 - 1))) - spearman) > 1e-3
    assert found.mean_a == pytest.approx(a.mean()) and found.mean_b == pytest.approx(b.mean())
    assert found.cohens_kappa is None and found.confusion is None
    # Different scales: within a tolerance of 1 only where |judge - stars| <= 1.
    close = int((np.abs(a - b) <= 1.0).sum())
    assert found.disagreeing == 12 - close
    assert found.observed_agreement == pytest.approx(close / 12)
    # Without a source, the API scores (written later) are each trace's latest "judge" value.
    any_source = await sa.score_agreement(
        storage.clickhouse, sa.PairRequest(project.project_id, TIME, sa.ScoreSelector("judge"), HUMAN)
    )
    assert any_source.mean_a == pytest.approx(100.0 - a.mean())


async def test_the_latest_live_score_per_object_counts_and_other_projects_never_pair(
    storage, project
) -> None:  # type: ignore[no-untyped-def]
    # t-1: two judge scores; the later one counts.
    await put(storage, project, "judge", 0.1, "EVAL", minutes_ago=20, trace_id="t-1")
    await put(storage, project, "judge", 0.9, "EVAL", minutes_ago=5, trace_id="t-1")
    await put(storage, project, "human", 0.9, "ANNOTATION", trace_id="t-1")
    # t-2: one judge score written twice (same id); its newer version counts.
    first = await put(storage, project, "judge", 0.2, "EVAL", trace_id="t-2")
    await asyncio.sleep(0.01)
    await create_score(
        storage,
        project.project_id,
        NewScore(
            name="judge",
            value=0.8,
            source="EVAL",
            trace_id="t-2",
            id=first,
            timestamp=NOW - timedelta(minutes=10),
        ),
    )
    await put(storage, project, "human", 0.8, "ANNOTATION", trace_id="t-2")
    # t-3: the later human score is deleted, so the earlier one counts.
    await put(storage, project, "judge", 0.3, "EVAL", trace_id="t-3")
    await put(storage, project, "human", 0.3, "ANNOTATION", minutes_ago=20, trace_id="t-3")
    await delete_score(
        storage,
        project.project_id,
        await put(storage, project, "human", 0.0, "ANNOTATION", minutes_ago=5, trace_id="t-3"),
    )
    # t-4: its only judge score is deleted: no pair. t-5: the human score is older than the range.
    await delete_score(
        storage, project.project_id, await put(storage, project, "judge", 0.4, "EVAL", trace_id="t-4")
    )
    await put(storage, project, "human", 0.4, "ANNOTATION", trace_id="t-4")
    await put(storage, project, "judge", 0.5, "EVAL", trace_id="t-5")
    await put(storage, project, "human", 0.5, "ANNOTATION", minutes_ago=60 * 30, trace_id="t-5")
    # Another project scores the same trace ids, in disagreement.
    other = await make_project(storage)
    for i in range(1, 6):
        await put(storage, other, "judge", 1.0, "EVAL", trace_id=f"t-{i}")
        await put(storage, other, "human", 0.0, "ANNOTATION", trace_id=f"t-{i}")

    req = sa.PairRequest(project.project_id, TIME, JUDGE, HUMAN)
    found = await sa.score_agreement(storage.clickhouse, req)
    assert (found.pairs, found.disagreeing, found.observed_agreement) == (3, 0, 1.0)
    assert found.pearson == pytest.approx(1.0)
    page = await sa.disagreements(storage.clickhouse, req)
    assert page.items == [] and not page.has_next
    theirs = await sa.score_agreement(
        storage.clickhouse, sa.PairRequest(other.project_id, TIME, JUDGE, HUMAN)
    )
    assert (theirs.pairs, theirs.disagreeing) == (5, 5)


async def test_categories_and_booleans_get_kappa_and_a_confusion_matrix(storage, project) -> None:  # type: ignore[no-untyped-def]
    labels = [("good", "good")] * 6 + [("good", "bad")] * 2 + [("bad", "bad")] * 3 + [("bad", "unsure")]
    for i, (judge, human) in enumerate(labels):
        await put(storage, project, "tone", judge, "EVAL", trace_id=f"t-{i}")
        await put(storage, project, "tone", human, "ANNOTATION", trace_id=f"t-{i}")
    tone = sa.PairRequest(
        project.project_id, TIME, sa.ScoreSelector("tone", "EVAL"), sa.ScoreSelector("tone", "ANNOTATION")
    )
    found = await sa.score_agreement(storage.clickhouse, tone)
    assert found.data_type == "CATEGORICAL" and found.pairs == 12
    assert found.confusion == sa.ConfusionMatrix(("bad", "good", "unsure"), ((3, 0, 1), (2, 6, 0), (0, 0, 0)))
    # p_o = 9/12; p_e = (4*5 + 8*6 + 0*1) / 144.
    expected = (9 / 12 - 68 / 144) / (1 - 68 / 144)
    assert found.cohens_kappa == pytest.approx(expected)
    assert found.observed_agreement == pytest.approx(9 / 12) and found.disagreeing == 3
    assert found.pearson is None and found.spearman is None

    for i, (judge, human) in enumerate([(1, 1), (1, 1), (1, 0), (0, 0), (0, 0), (0, 1)]):
        await put(storage, project, "correct", judge, "EVAL", trace_id=f"b-{i}", data_type="BOOLEAN")
        await put(storage, project, "correct", human, "ANNOTATION", trace_id=f"b-{i}", data_type="BOOLEAN")
    booleans = sa.PairRequest(
        project.project_id,
        TIME,
        sa.ScoreSelector("correct", "EVAL"),
        sa.ScoreSelector("correct", "ANNOTATION"),
    )
    found = await sa.score_agreement(storage.clickhouse, booleans)
    assert found.data_type == "BOOLEAN"
    assert found.confusion == sa.ConfusionMatrix(("False", "True"), ((2, 1), (1, 2)))
    assert found.cohens_kappa == pytest.approx((4 / 6 - 0.5) / 0.5)
    assert (found.mean_a, found.mean_b) == (pytest.approx(0.5), pytest.approx(0.5))  # shares of True
    page = await sa.disagreements(storage.clickhouse, booleans)
    assert sorted((p.trace_id, p.label_a, p.label_b) for p in page.items) == [
        ("b-2", "True", "False"),
        ("b-5", "False", "True"),
    ]


async def test_mixed_or_text_data_types_are_refused_naming_the_selectors(storage, project) -> None:  # type: ignore[no-untyped-def]
    await put(storage, project, "judge", 0.5, "EVAL")
    await put(storage, project, "human", "good", "ANNOTATION")
    await put(storage, project, "note", "looks fine", "ANNOTATION", data_type="TEXT")
    await put(storage, project, "note", "also fine", "EVAL", data_type="TEXT")
    req = sa.PairRequest(project.project_id, TIME, JUDGE, HUMAN)
    with pytest.raises(InvalidInput, match=r"a \('judge': NUMERIC\) and b \('human': CATEGORICAL\)"):
        await sa.score_agreement(storage.clickhouse, req)
    notes = sa.PairRequest(
        project.project_id, TIME, sa.ScoreSelector("note", "EVAL"), sa.ScoreSelector("note", "ANNOTATION")
    )
    with pytest.raises(InvalidInput, match="TEXT scores cannot be compared"):
        await sa.score_agreement(storage.clickhouse, notes)
    nothing = await sa.score_agreement(
        storage.clickhouse, sa.PairRequest(project.project_id, TIME, sa.ScoreSelector("x"), HUMAN)
    )
    assert (nothing.pairs, nothing.data_type, nothing.observed_agreement) == (0, None, None)


async def test_levels_pair_traces_observations_and_sessions_apart(storage, project) -> None:  # type: ignore[no-untyped-def]
    await put(storage, project, "judge", 1.0, "EVAL", trace_id="t-1")
    await put(storage, project, "human", 1.0, "ANNOTATION", trace_id="t-1")
    for obs, human in (("o-1", 1.0), ("o-2", 0.0)):
        await put(storage, project, "judge", 1.0, "EVAL", trace_id="t-1", observation_id=obs)
        await put(storage, project, "human", human, "ANNOTATION", trace_id="t-1", observation_id=obs)
    await put(storage, project, "judge", 0.0, "EVAL", session_id="s-1")
    await put(storage, project, "human", 1.0, "ANNOTATION", session_id="s-1")

    async def pairs(level: sa.Level) -> tuple[int, list[tuple[Any, ...]]]:
        req = sa.PairRequest(project.project_id, TIME, JUDGE, HUMAN, level)
        found = await sa.score_agreement(storage.clickhouse, req)
        page = await sa.disagreements(storage.clickhouse, req)
        return found.pairs, [
            (p.trace_id, p.observation_id, p.session_id, p.value_a, p.value_b) for p in page.items
        ]

    assert await pairs("TRACE") == (1, [])
    assert await pairs("OBSERVATION") == (2, [("t-1", "o-2", None, 1.0, 0.0)])
    assert await pairs("SESSION") == (1, [(None, None, "s-1", 0.0, 1.0)])


async def test_disagreements_page_through_every_pair_once_newest_first(storage, project) -> None:  # type: ignore[no-untyped-def]
    for i in range(9):
        await put(storage, project, "judge", 0.5, "EVAL", minutes_ago=30 - i, trace_id=f"t-{i}")
        await put(
            storage, project, "human", 0.5 + 0.1 * i, "ANNOTATION", minutes_ago=30 - i, trace_id=f"t-{i}"
        )
    req = sa.PairRequest(project.project_id, TIME, JUDGE, HUMAN)
    seen, after = [], None
    while True:
        page = await sa.disagreements(storage.clickhouse, req, 0.25, 2, after)
        seen += [p.trace_id for p in page.items]
        if not page.has_next:
            break
        after = page.end_cursor
    assert seen == [f"t-{i}" for i in range(8, 2, -1)]  # |0.5 - (0.5 + 0.1 i)| > 0.25 from i = 3
    assert (await sa.score_agreement(storage.clickhouse, req, 0.25)).disagreeing == 6
    assert len((await sa.disagreements(storage.clickhouse, req)).items) == 8  # tolerance 0: t-0 agrees


async def test_scores_by_source_trend_and_distribute_per_name(storage, project) -> None:  # type: ignore[no-untyped-def]
    for i, value in enumerate((0.2, 0.4, 0.9)):
        await put(storage, project, "quality", value, "EVAL", trace_id=f"t-{i}")
    await put(storage, project, "quality", 1.0, "ANNOTATION", trace_id="t-0")
    for i, label in enumerate(("good", "good", "bad")):
        await put(storage, project, "tone", label, "API", trace_id=f"t-{i}")
    for i, value in enumerate((1, 1, 0, 1)):
        await put(storage, project, "correct", value, "ANNOTATION", trace_id=f"t-{i}", data_type="BOOLEAN")
    await put(storage, project, "note", "fine", "ANNOTATION", data_type="TEXT")
    found = await score_sources(storage.clickhouse, project.project_id, TIME)
    by = {(d.name, d.source): d for d in found.distributions}
    assert set(by) == {
        ("quality", "EVAL"),
        ("quality", "ANNOTATION"),
        ("tone", "API"),
        ("correct", "ANNOTATION"),
    }
    assert (by["quality", "EVAL"].count, by["quality", "EVAL"].average) == (3, pytest.approx(0.5))
    assert sum(b["count"] for b in by["quality", "EVAL"].histogram) == 3
    assert by["quality", "ANNOTATION"].average == pytest.approx(1.0)
    assert by["tone", "API"].categories == (("good", 2), ("bad", 1)) and by["tone", "API"].average is None
    assert by["correct", "ANNOTATION"].categories == (("True", 3), ("False", 1))
    # Every hour of the range for each name and source seen; the scores all lie in one of them.
    buckets = 26 if TIME.start.minute or TIME.start.second else 25
    assert found.granularity == "HOUR" and len(found.trends) == 4 * buckets
    scored = {
        (r["score_name"], r["source"]): (r["count_count"], r["value_avg"])
        for r in found.trends
        if r["count_count"]
    }
    assert scored == {
        ("quality", "EVAL"): (3, pytest.approx(0.5)),
        ("quality", "ANNOTATION"): (1, pytest.approx(1.0)),
        ("tone", "API"): (3, None),
        ("correct", "ANNOTATION"): (4, pytest.approx(0.75)),
    }
    assert all(r["value_avg"] is None for r in found.trends if not r["count_count"])
    only = await score_sources(storage.clickhouse, project.project_id, TIME, ["tone"])
    assert {d.name for d in only.distributions} == {"tone"}
    with pytest.raises(InvalidInput, match="names"):
        await score_sources(storage.clickhouse, project.project_id, TIME, [" "])


AGREEMENT = """
query($input: ScoreAgreementInput!, $first: Int, $after: String) {
  scoreAgreement(input: $input) {
    pairs dataType pearson spearman cohensKappa observedAgreement disagreementCount meanA meanB tolerance
    confusion { labels counts }
    disagreements(first: $first, after: $after) {
      edges { cursor node { traceId observationId sessionId valueA valueB labelA labelB timestamp } }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""
ANALYTICS = """
query($input: ScoreAnalyticsInput!) {
  scoreAnalytics(input: $input) {
    granularity
    trends { time name dataType source count average }
    distributions { name dataType source count average histogram categories { label count } }
  }
}
"""


async def test_graphql_fields_give_the_same_figures(client, storage, project) -> None:  # type: ignore[no-untyped-def]
    for i, (judge, human) in enumerate(zip(JUDGE_VALUES, HUMAN_VALUES, strict=True)):
        await put(storage, project, "judge", judge, "EVAL", trace_id=f"t-{i}")
        await put(storage, project, "human", human / 5, "ANNOTATION", trace_id=f"t-{i}")
    window = {"from": TIME.start.isoformat(), "to": TIME.end.isoformat()}
    selectors = {"a": {"name": "judge", "source": "EVAL"}, "b": {"name": "human", "source": "ANNOTATION"}}
    variables = {"input": {**selectors, "timeRange": window, "tolerance": 0.05}, "first": 3}
    data = (await gql(client, project, AGREEMENT, variables))["scoreAgreement"]
    req = sa.PairRequest(project.project_id, TIME, JUDGE, HUMAN)
    found = await sa.score_agreement(storage.clickhouse, req, 0.05)
    assert (data["pairs"], data["dataType"], data["disagreementCount"]) == (12, "NUMERIC", found.disagreeing)
    assert data["pearson"] == pytest.approx(found.pearson) and data["spearman"] == pytest.approx(
        found.spearman
    )
    assert data["observedAgreement"] == pytest.approx(found.observed_agreement)
    assert data["cohensKappa"] is None and data["confusion"] is None and data["tolerance"] == 0.05
    edges, walked = data["disagreements"]["edges"], []
    while True:
        walked += [e["node"]["traceId"] for e in edges]
        if not data["disagreements"]["pageInfo"]["hasNextPage"]:
            break
        variables["after"] = edges[-1]["cursor"]  # an edge's cursor continues right after it
        data = (await gql(client, project, AGREEMENT, variables))["scoreAgreement"]
        edges = data["disagreements"]["edges"]
    expected = [p.trace_id for p in (await sa.disagreements(storage.clickhouse, req, 0.05, 100)).items]
    assert walked == expected and len(walked) == found.disagreeing == 10

    analytics = await gql(client, project, ANALYTICS, {"input": {"timeRange": window, "names": ["judge"]}})
    rows = analytics["scoreAnalytics"]
    assert [(d["name"], d["source"], d["count"]) for d in rows["distributions"]] == [("judge", "EVAL", 12)]
    assert sum(b["count"] for b in rows["distributions"][0]["histogram"]) == 12
    assert {(t["name"], t["source"], t["dataType"]) for t in rows["trends"]} == {("judge", "EVAL", "NUMERIC")}

    bad = {"input": {"a": {"name": "judge", "source": "HUMAN"}, "b": {"name": "human"}}}
    r = await client.post("/api/graphql", json={"query": AGREEMENT, "variables": bad}, auth=project.auth)
    assert r.status_code == 200
    assert "input.a.source must be one of API, EVAL, ANNOTATION" in r.json()["errors"][0]["message"]
    other = await make_project(storage)  # another project's keys see none of these pairs
    assert (await gql(client, other, AGREEMENT, variables))["scoreAgreement"]["pairs"] == 0


async def test_the_agreement_page_links_to_its_disagreements_in_one_click(client, storage, project) -> None:  # type: ignore[no-untyped-def]
    labels = [("good", "good"), ("good", "bad"), ("bad", "bad"), ("bad", "good")]
    for i, (judge, human) in enumerate(labels):
        await put(storage, project, "tone", judge, "EVAL", trace_id=f"trace/{i}")
        await put(storage, project, "tone", human, "ANNOTATION", trace_id=f"trace/{i}")
    email, password = await make_user(storage, project, Role.VIEWER)  # reading needs no more
    await login(client, email, password)
    try:
        scores = await client.get("/scores?range=24h")
        assert scores.status_code == 200
        assert 'href="/scores/agreement?range=24h"' in scores.text
        assert re.search(
            r'<tr data-score="tone" data-type="CATEGORICAL" data-source="EVAL">.*?<td>4</td>', scores.text
        )
        form = await client.get("/scores/agreement?range=24h")
        assert form.status_code == 200 and '<option value="tone">' in form.text
        query = "a=tone&a_source=EVAL&b=tone&b_source=ANNOTATION&range=24h"
        r = await client.get(f"/scores/agreement?{query}")
        assert r.status_code == 200, r.text
        assert '<td data-figure="pairs">4</td>' in r.text and '<td data-figure="kappa">0.000</td>' in r.text
        assert 'data-for="chart-agreement"' in r.text and '<table class="confusion">' in r.text
        link = re.search(r'<a class="button" href="([^"]+)" data-disagreements="2">2 disagreements', r.text)
        assert link, r.text
        listed = await client.get(unescape(link[1]))
        assert listed.status_code == 200
        cells = r'<td class="value">(\w+)</td><td class="value">(\w+)</td>'
        rows = re.findall(r'<tr><td><a href="([^"]+)">([^<]+)</a></td>' + cells, listed.text)
        assert sorted(rows) == [
            ("/traces/trace%2F1", "trace/1", "good", "bad"),
            ("/traces/trace%2F3", "trace/3", "bad", "good"),
        ]
        bad = await client.get(f"/scores/agreement?{query}&level=USER")
        assert bad.status_code == 400 and "level must be one of TRACE, OBSERVATION, SESSION" in bad.text
        assert (await client.get(f"/scores/agreement/disagreements?{query}&tolerance=-1")).status_code == 400
        forged = await client.get(f"/scores/agreement/disagreements?{query}&after=bm9wZQ")
        assert forged.status_code == 400 and "not a cursor" in forged.text
    finally:
        client.cookies.clear()


async def test_a_score_config_selects_one_side(storage, project) -> None:  # type: ignore[no-untyped-def]
    config = await create_config(
        storage, project.project_id, ScoreConfigSpec(name="quality", data_type="NUMERIC")
    )
    for i in range(3):
        await put(storage, project, "quality", 0.1 * i, "EVAL", trace_id=f"t-{i}")
        await put(storage, project, "quality", 0.1 * i, "ANNOTATION", trace_id=f"t-{i}", config_id=config.id)
    req = sa.PairRequest(
        project.project_id,
        TIME,
        sa.ScoreSelector("quality", "EVAL"),
        sa.ScoreSelector("quality", config_id=config.id),
    )
    found = await sa.score_agreement(storage.clickhouse, req)
    assert (found.pairs, found.pearson, found.disagreeing) == (3, pytest.approx(1.0), 0)


async def test_generated_score_analytics_documents_get_answers_not_crashes(client, storage, project) -> None:  # type: ignore[no-untyped-def]
    from hypothesis import HealthCheck, given, settings
    from hypothesis_graphql import queries

    from tests.integration.test_graphql_fuzz import SCHEMA, assert_answered

    for i, value in enumerate((0.1, 0.5, 0.5)):
        await put(storage, project, "judge", value, "EVAL", trace_id=f"t-{i}")
        await put(storage, project, "human", 1 - value, "ANNOTATION", trace_id=f"t-{i}")
    documents: list[str] = []

    @settings(
        max_examples=80,
        database=None,
        deadline=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(queries(SCHEMA, fields=["scoreAnalytics", "scoreAgreement"]))
    def collect(document: str) -> None:
        documents.append(document)

    collect()
    assert len(documents) >= 40
    await assert_answered(client, project, documents)

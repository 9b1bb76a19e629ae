"""GraphQL: observations, sessions, users, scores, metrics (views equal raw rows) and mutations."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.storage.postgres.tables import Role
from tests.conftest import ProjectFixture, assert_aggregates_match_raw, login, make_user
from tests.integration.reads_data import TRACES, gql, seed

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("worker")]


async def test_observations_sessions_users_and_scores(client, storage, project: ProjectFixture) -> None:
    s = await seed(client, storage, project)
    data = await gql(
        client,
        project,
        """{
          observations(filter: {types: ["GENERATION"], levels: ["ERROR"]}) {
            edges { node { id model usageDetails totalCost input } } }
          all: observations(first: 100) { edges { node { id } } pageInfo { hasNextPage } }
          sessions(sort: TRACE_COUNT) { edges { node { id traceCount userIds totalTokens } } }
          users(sort: TOTAL_COST) { edges { node { id traceCount sessionCount observationCount } } }
          scores(filter: {names: ["quality"]}) { edges { node { name value traceId source } } }
        }""",
    )
    [error] = data["observations"]["edges"]
    assert error["node"]["id"] == "r-t03-gen" and error["node"]["model"] == "gpt-4o-mini"
    assert error["node"]["input"].startswith('[{"role": "user"')  # a preview in lists
    assert len(data["all"]["edges"]) == 2 * TRACES and not data["all"]["pageInfo"]["hasNextPage"]
    sessions = [e["node"] for e in data["sessions"]["edges"]]
    assert [x["traceCount"] for x in sessions] == [3, 3, 3, 3]
    assert {x["id"]: x["userIds"] for x in sessions}["session-0"] == ["user-0", "user-1", "user-2"]
    users = [e["node"] for e in data["users"]["edges"]]
    assert [u["id"] for u in users] == ["user-2", "user-1", "user-0"]  # costs 0.026, 0.022, 0.018
    assert [u["observationCount"] for u in users] == [8, 8, 8]
    scores = [e["node"] for e in data["scores"]["edges"]]
    assert sorted(x["traceId"] for x in scores) == [s.trace_ids[i] for i in (0, 3, 6, 9)]

    session = await gql(
        client,
        project,
        """{ session(id: "session-1") { traceCount traces { id input output } } }""",
    )
    turns = session["session"]["traces"]
    assert [t["id"] for t in turns] == [s.trace_ids[i] for i in (1, 5, 9)]  # in time order
    assert turns[0]["input"] == "Question number 1 about refunds" and turns[0]["output"] == "answer 1"
    user = await gql(
        client,
        project,
        '{ user(id: "user-1") { traceCount usageOverTime(granularity: DAY) { observations totalTokens } } }',
    )
    points = user["user"]["usageOverTime"]
    assert sum(p["observations"] for p in points) == 8
    assert sum(p["totalTokens"] for p in points) == sum(10 * i + 5 for i in (1, 4, 7, 10))


METRICS = """
query($q: MetricsQueryInput!) { metrics(query: $q) { columns rows servedFrom granularity } }
"""


async def test_metrics_from_the_hourly_view_equal_the_raw_rows(
    client, storage, project: ProjectFixture
) -> None:
    s = await seed(client, storage, project)
    hour = s.start.replace(minute=0, second=0)
    time = {"from": hour.isoformat(), "to": (hour + timedelta(hours=2)).isoformat()}
    metrics = [
        {"measure": "COUNT", "aggregation": "COUNT"},
        {"measure": "TOTAL_COST", "aggregation": "SUM"},
        {"measure": "TOTAL_TOKENS", "aggregation": "SUM"},
        {"measure": "LATENCY", "aggregation": "AVG"},
        {"measure": "ERRORS", "aggregation": "SUM"},
    ]
    query = {"view": "OBSERVATIONS", "metrics": metrics, "dimensions": ["TYPE", "MODEL"], "timeRange": time}
    from_view = (await gql(client, project, METRICS, {"q": {**query, "granularity": "HOUR"}}))["metrics"]
    assert from_view["servedFrom"] == "observations_hourly"
    # Minute buckets cannot come from hourly rows: the same query, read raw, summed per hour.
    raw = (await gql(client, project, METRICS, {"q": {**query, "granularity": "MINUTE"}}))["metrics"]
    assert raw["servedFrom"] == "observations"

    def totals(rows: list[dict]) -> dict:
        out: dict = {}
        for r in rows:
            key = (r["type"], r["model"])
            acc = out.setdefault(key, [0, 0.0, 0, 0.0, 0])
            acc[0] += r["count_count"]
            acc[1] += r["total_cost_sum"]
            acc[2] += r["total_tokens_sum"]
            acc[3] += (r["latency_avg"] or 0) * r["count_count"]
            acc[4] += r["errors_sum"]
        return {k: [round(v, 9) if isinstance(v, float) else v for v in acc] for k, acc in out.items()}

    assert totals(from_view["rows"]) == totals(raw["rows"])
    assert totals(from_view["rows"])[("GENERATION", "gpt-4o-mini")][:3] == [
        TRACES,
        0.066,
        sum(10 * i + 5 for i in range(TRACES)),
    ]
    assert len(from_view["rows"]) == 2 * 2  # two hours (gaps filled) times two (type, model) pairs

    p95 = {
        "view": "OBSERVATIONS",
        "metrics": [{"measure": "LATENCY", "aggregation": "P95"}],
        "timeRange": time,
        "granularity": None,
        "filters": [{"dimension": "TYPE", "values": ["GENERATION"]}],
    }
    result = (await gql(client, project, METRICS, {"q": p95}))["metrics"]
    assert result["servedFrom"] == "observations" and result["rows"][0]["latency_p95"] >= 1000
    traces = {
        "view": "TRACES",
        "metrics": [
            {"measure": "COUNT", "aggregation": "COUNT"},
            {"measure": "USERS", "aggregation": "UNIQ"},
        ],
        "dimensions": ["NAME"],
        "timeRange": time,
        "granularity": None,
    }
    rows = (await gql(client, project, METRICS, {"q": traces}))["metrics"]["rows"]
    assert {r["name"]: (r["count_count"], r["users_uniq"]) for r in rows} == {
        "chat": (6, 3),
        "search": (6, 3),
    }
    histogram = {
        "view": "SCORES",
        "metrics": [{"measure": "VALUE", "aggregation": "HISTOGRAM"}],
        "dimensions": ["SCORE_NAME"],
        "timeRange": time,
        "granularity": None,
    }
    [row] = (await gql(client, project, METRICS, {"q": histogram}))["metrics"]["rows"]
    assert sum(b["count"] for b in row["value_histogram"]) == 4


async def test_bad_metrics_queries_name_the_problem(client, project: ProjectFixture) -> None:
    bad = {"view": "SCORES", "metrics": [{"measure": "LATENCY", "aggregation": "AVG"}]}
    r = await client.post("/api/graphql", json={"query": METRICS, "variables": {"q": bad}}, auth=project.auth)
    assert r.json()["errors"][0]["message"] == "measure LATENCY is not available on view SCORES"
    fine = {
        "view": "OBSERVATIONS",
        "metrics": [{"measure": "COUNT", "aggregation": "COUNT"}],
        "granularity": "MINUTE",
        "timeRange": {"from": "2026-01-01T00:00:00Z", "to": "2026-03-01T00:00:00Z"},
    }
    r = await client.post(
        "/api/graphql", json={"query": METRICS, "variables": {"q": fine}}, auth=project.auth
    )
    assert "choose a coarser one" in r.json()["errors"][0]["message"]
    deep = "{ traces(first: 100) { edges { node { observationTree { children { observation { id } } } } } } }"
    r = await client.post("/api/graphql", json={"query": deep}, auth=project.auth)
    assert r.status_code == 200 and r.json()["errors"][0]["message"].startswith("query too expensive")


async def test_mutations_score_bookmark_share_comment_delete(
    client, storage, project: ProjectFixture
) -> None:
    s = await seed(client, storage, project)
    target, other = s.trace_ids[4], s.trace_ids[5]
    created = await gql(
        client,
        project,
        "mutation($t: String!) { createScore(input: "
        '{traceId: $t, name: "helpful", value: 1, dataType: "BOOLEAN"})'
        " { score { id name value dataType source } } }",
        {"t": target},
    )
    score = created["createScore"]["score"]
    assert (score["name"], score["value"], score["dataType"], score["source"]) == (
        "helpful",
        1.0,
        "BOOLEAN",
        "API",
    )
    r = await client.post(
        "/api/graphql",
        json={
            "query": "mutation { createScore(input: "
            '{traceId: "x", name: "n", value: 7, dataType: "BOOLEAN"}) { score { id } } }'
        },
        auth=project.auth,
    )
    assert r.json()["errors"][0]["message"] == "value must be 0 or 1 for dataType BOOLEAN"

    marked = await gql(
        client,
        project,
        "mutation($t: String!) { bookmarkTrace(input: {traceId: $t}) { trace { id bookmarked } } }",
        {"t": target},
    )
    assert marked["bookmarkTrace"]["trace"] == {"id": target, "bookmarked": True}
    listed = await gql(client, project, "{ traces(filter: {bookmarked: true}) { edges { node { id } } } }")
    assert [e["node"]["id"] for e in listed["traces"]["edges"]] == [target]
    shared = await gql(
        client,
        project,
        "mutation($t: String!) { setTracePublic(input: {traceId: $t, public: true}) { trace { public } } }",
        {"t": target},
    )
    assert shared["setTracePublic"]["trace"]["public"] is True
    comment = await gql(
        client,
        project,
        'mutation($t: String!) { createComment(input: {objectType: "TRACE", objectId: $t, content: "look"}) '
        "{ comment { objectType objectId content } } }",
        {"t": target},
    )
    assert comment["createComment"]["comment"] == {
        "objectType": "TRACE",
        "objectId": target,
        "content": "look",
    }

    deleted = await gql(
        client,
        project,
        "mutation($ids: [String!]!) { deleteTraces(input: {traceIds: $ids}) { deletedIds } }",
        {"ids": [target, other, "no-such-trace"]},
    )
    assert sorted(deleted["deleteTraces"]["deletedIds"]) == sorted([target, other])
    after = await gql(client, project, "query($t: ID!) { trace(id: $t) { id } }", {"t": target})
    assert after["trace"] is None
    remaining = await gql(client, project, "{ traces(first: 100) { edges { node { id } } } }")
    assert len(remaining["traces"]["edges"]) == TRACES - 2
    scores = await gql(
        client,
        project,
        "query($t: [String!]) { scores(filter: {traceIds: $t}) { edges { node { id } } } }",
        {"t": [target]},
    )
    assert scores["scores"]["edges"] == []
    exact = await assert_aggregates_match_raw(storage, project.project_id)
    assert exact["observations"] == 2 * (TRACES - 2)


async def test_viewers_read_but_cannot_change(client, storage, project: ProjectFixture) -> None:
    s = await seed(client, storage, project)
    email, password = await make_user(storage, project, Role.VIEWER)
    await login(client, email, password)
    headers = {"content-type": "application/json"}
    read = await client.post(
        "/api/graphql", json={"query": "{ traces(first: 1) { edges { node { id } } } }"}, headers=headers
    )
    assert read.status_code == 200 and len(read.json()["data"]["traces"]["edges"]) == 1
    change = await client.post(
        "/api/graphql",
        json={
            "query": "mutation($t: String!) { bookmarkTrace(input: {traceId: $t}) { trace { id } } }",
            "variables": {"t": s.trace_ids[0]},
        },
        headers=headers,
    )
    assert "member" in change.json()["errors"][0]["message"]
    client.cookies.clear()  # the client is shared by the session's tests

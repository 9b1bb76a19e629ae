"""GraphQL reads over data sent through the real pipeline: pages, filters, sorts, one trace, totals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from app.storage.clickhouse.query import CompiledQuery
from tests.conftest import ProjectFixture, assert_aggregates_match_raw, jobs_done, make_project
from tests.integration.reads_data import TRACES, gql, seed

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("worker")]

TRACES_PAGE = """
query($first: Int, $after: String, $filter: TraceFilterInput, $sort: TraceSortField,
      $direction: SortDirection) {
  traces(first: $first, after: $after, filter: $filter, sort: $sort, direction: $direction) {
    edges { cursor node { id name userId sessionId tags bookmarked
      totals { observationCount latencyMs totalCost totalTokens usageDetails countsByLevel } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


async def all_traces(client, project, **variables) -> list[dict]:  # type: ignore[no-untyped-def]
    """Walk every page of 5."""
    out, after = [], None
    while True:
        data = await gql(client, project, TRACES_PAGE, {"first": 5, "after": after, **variables})
        out += [e["node"] for e in data["traces"]["edges"]]
        if not data["traces"]["pageInfo"]["hasNextPage"]:
            return out
        after = data["traces"]["pageInfo"]["endCursor"]


async def ids(client, project, **variables) -> list[str]:  # type: ignore[no-untyped-def]
    return [t["id"] for t in await all_traces(client, project, **variables)]


async def test_pages_walk_every_trace_exactly_once_in_every_sort(
    client, storage, project: ProjectFixture
) -> None:
    seeded = await seed(client, storage, project)
    newest_first = await ids(client, project)
    assert newest_first == list(reversed(seeded.trace_ids))
    assert await ids(client, project, direction="ASC") == seeded.trace_ids
    by_cost = await all_traces(client, project, sort="TOTAL_COST")
    assert [t["id"] for t in by_cost] == list(reversed(seeded.trace_ids))  # cost grows with i
    assert sorted(
        t["id"] for t in await all_traces(client, project, sort="LATENCY", direction="ASC")
    ) == sorted(seeded.trace_ids)
    tokens = await all_traces(client, project, sort="TOTAL_TOKENS", direction="ASC")
    assert [t["totals"]["totalTokens"] for t in tokens] == [10 * i + 5 for i in range(TRACES)]


async def test_filters_narrow_the_list(client, storage, project: ProjectFixture) -> None:
    s = await seed(client, storage, project)
    t = s.trace_ids
    assert await ids(client, project, filter={"userIds": ["user-1"]}) == [t[10], t[7], t[4], t[1]]
    assert await ids(client, project, filter={"sessionIds": ["session-0"]}) == [t[8], t[4], t[0]]
    assert (
        await ids(
            client, project, filter={"names": ["search"], "tags": {"values": ["prod", "odd"], "match": "ALL"}}
        )
        == []
    )
    assert await ids(client, project, filter={"tags": {"values": ["odd"], "match": "ANY"}}) == t[11::-2]
    assert await ids(client, project, filter={"metadata": [{"key": "tenant", "value": "acme"}]}) == t[5::-1]
    assert await ids(client, project, filter={"levels": ["ERROR"]}) == [t[3]]
    assert (
        await ids(client, project, filter={"models": ["gpt-4o-mini"], "latencyMs": {"min": 1000}}) == t[:9:-1]
    )
    assert await ids(client, project, filter={"totalCost": {"max": 0.0025}}) == [t[2], t[1], t[0]]
    assert await ids(client, project, filter={"totalTokens": {"min": 100, "max": 105}}) == [t[10]]
    assert await ids(client, project, filter={"scores": [{"name": "quality", "value": {"min": 0.5}}]}) == [
        t[9],
        t[6],
    ]
    assert await ids(client, project, filter={"search": "退款"}) == [t[7]]  # Chinese, in any input
    assert await ids(client, project, filter={"search": "NUMBER 11"}) == [t[11]]  # any case
    assert await ids(client, project, filter={"search": "answer 5"}) == [t[5]]  # outputs too


async def test_one_trace_has_its_tree_timeline_totals_and_scores(
    client, storage, project: ProjectFixture
) -> None:
    s = await seed(client, storage, project)
    query = """
    query($id: ID!) { trace(id: $id) {
        id name input output metadata
        totals { observationCount latencyMs totalCost costDetails usageDetails countsByType countsByLevel }
        observationTree { depth offsetMs durationMs observation { id type name model input }
          children { depth offsetMs durationMs
            observation { id type usageDetails totalCost level } children { depth } } }
        timeline { depth offsetMs observation { id } }
        scores { name value }
        session { id traceCount }
        user { id traceCount }
    } }
    """
    trace = (await gql(client, project, query, {"id": s.trace_ids[3]}))["trace"]
    assert trace["name"] == "chat" and trace["input"] == "Question number 3 about refunds"
    assert trace["metadata"] == {"tenant": "acme"}
    [root] = trace["observationTree"]
    assert (root["depth"], root["offsetMs"], root["durationMs"]) == (0, 0, 350)
    [gen] = root["children"]
    assert (gen["depth"], gen["offsetMs"], gen["durationMs"]) == (1, 10, 300)
    assert gen["observation"]["usageDetails"] == {"input": 30, "output": 5, "total": 35}
    assert gen["observation"]["level"] == "ERROR"
    assert [n["observation"]["id"] for n in trace["timeline"]] == ["r-t03-root", "r-t03-gen"]
    totals = trace["totals"]
    assert totals["observationCount"] == 2 and totals["latencyMs"] == 350
    assert totals["countsByType"] == {"SPAN": 1, "GENERATION": 1}
    assert totals["countsByLevel"] == {"DEFAULT": 1, "ERROR": 1}
    assert Decimal(str(totals["totalCost"])) == Decimal("0.003")
    assert trace["scores"] == [{"name": "quality", "value": 0.3}]
    assert trace["session"] == {"id": "session-3", "traceCount": 3}
    assert trace["user"] == {"id": "user-0", "traceCount": 4}


async def test_list_totals_agree_with_raw_rows(client, storage, project: ProjectFixture) -> None:
    await seed(client, storage, project)
    listed = await all_traces(client, project)
    raw = await storage.clickhouse.query(
        CompiledQuery(
            "SELECT sum(sign) AS n, sum(toDecimal128(ifNull(total_cost, 0), 12) * sign) AS cost "
            "FROM observations WHERE project_id = {project_id:String}",
            {"project_id": project.project_id},
            "test.raw",
        )
    )
    assert sum(t["totals"]["observationCount"] for t in listed) == raw[0]["n"] == 2 * TRACES
    listed_cost = sum(Decimal(str(t["totals"]["totalCost"])) for t in listed)
    assert listed_cost == Decimal(raw[0]["cost"])
    await assert_aggregates_match_raw(storage, project.project_id)


async def test_another_project_sees_nothing(client, storage, project: ProjectFixture) -> None:
    s = await seed(client, storage, project)
    other = await make_project(storage)
    assert await ids(client, other) == []
    data = await gql(
        client,
        other,
        "query($id: ID!) { trace(id: $id) { id } observation(id: $id) { id } }",
        {"id": s.trace_ids[0]},
    )
    assert data == {"trace": None, "observation": None}
    mine = await gql(client, project, "{ traces(first: 1) { pageInfo { endCursor } } }")
    cursor = mine["traces"]["pageInfo"]["endCursor"]
    assert (await gql(client, other, TRACES_PAGE, {"after": cursor}))["traces"]["edges"] == []
    sessions = await gql(
        client, other, "{ sessions { edges { node { id } } } users { edges { node { id } } } }"
    )
    assert sessions == {"sessions": {"edges": []}, "users": {"edges": []}}


async def test_hostile_filter_values_match_nothing_and_break_nothing(
    client, storage, project: ProjectFixture
) -> None:
    from tests.unit.storage.test_query_injection import HOSTILE

    s = await seed(client, storage, project)
    for evil in HOSTILE:
        for f in (
            {"names": [evil]},
            {"userIds": [evil]},
            {"tags": {"values": [evil]}},
            {"metadata": [{"key": evil, "value": evil}]},
            {"metadata": [{"key": "tenant", "value": evil}]},
            {"scores": [{"name": evil}]},
            {"search": evil},
        ):
            assert await ids(client, project, filter=f) == [], (evil, f)
    assert len(await ids(client, project)) == len(s.trace_ids)  # nothing was dropped or changed


async def test_newest_first_pages_stay_exact_when_one_trace_has_many_updates(
    client, storage, project: ProjectFixture
) -> None:
    """The unfiltered newest-first list folds only the traces of the newest rows; a trace updated many
    times fills those rows, and the list must still walk every trace once, in order."""
    s = await seed(client, storage, project)
    newest = s.trace_ids[-1]
    at = (s.start + timedelta(minutes=TRACES - 1)).isoformat()
    updates = [
        {
            "id": f"u{i}",
            "type": "trace-create",
            "timestamp": at,
            "body": {"id": newest, "timestamp": at, "release": f"r{i}"},
        }
        for i in range(12)
    ]
    r = await client.post("/api/public/ingestion", json={"batch": updates}, auth=project.auth)
    assert r.status_code == 207
    await jobs_done(storage, project.project_id, 2)
    seen, after = [], None
    while True:
        data = await gql(client, project, TRACES_PAGE, {"first": 1, "after": after})
        seen += [e["node"]["id"] for e in data["traces"]["edges"]]
        if not data["traces"]["pageInfo"]["hasNextPage"]:
            break
        after = data["traces"]["pageInfo"]["endCursor"]
    assert seen == list(reversed(s.trace_ids))


async def test_a_user_filter_follows_the_trace_s_latest_user(
    client, storage, project: ProjectFixture
) -> None:
    s = await seed(client, storage, project)
    moved = s.trace_ids[4]  # user-1 at first
    at = (s.start + timedelta(minutes=4)).isoformat()
    event = {"id": "mv", "type": "trace-create", "timestamp": at, "body": {"id": moved, "userId": "user-9"}}
    r = await client.post("/api/public/ingestion", json={"batch": [event]}, auth=project.auth)
    assert r.status_code == 207
    await jobs_done(storage, project.project_id, 2)
    assert await ids(client, project, filter={"userIds": ["user-1"]}) == [s.trace_ids[i] for i in (10, 7, 1)]
    assert await ids(client, project, filter={"userIds": ["user-9"]}) == [moved]


async def test_a_late_update_does_not_move_an_old_trace_to_the_first_page(
    client, storage, project: ProjectFixture
) -> None:
    """The newest-first list folds its page's traces from their first rows on (looked up in
    trace_starts), not from the newest rows it read: an old trace updated just now keeps its place."""
    s = await seed(client, storage, project)
    oldest = s.trace_ids[0]
    now = datetime.now(UTC).isoformat()
    event = {
        "id": "late",
        "type": "trace-create",
        "timestamp": now,
        "body": {"id": oldest, "release": "late"},
    }
    r = await client.post("/api/public/ingestion", json={"batch": [event]}, auth=project.auth)
    assert r.status_code == 207
    await jobs_done(storage, project.project_id, 2)
    first = await gql(client, project, TRACES_PAGE, {"first": 2, "after": None})
    assert [e["node"]["id"] for e in first["traces"]["edges"]] == list(reversed(s.trace_ids))[:2]
    assert await ids(client, project) == list(reversed(s.trace_ids))
    release = "query($id: ID!) { trace(id: $id) { release timestamp } }"
    trace = (await gql(client, project, release, {"id": oldest}))["trace"]
    assert trace["release"] == "late" and trace["timestamp"].startswith(s.start.isoformat()[:16])

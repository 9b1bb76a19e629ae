"""GraphQL over evaluation: datasets with versioned items, items from traces, experiments run by the SDK,
their comparison; roles, tenant isolation and user errors that name the field."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from app.storage.postgres.tables import Role
from tests.conftest import LiveServer, ProjectFixture, login, make_project, make_user, sdk_client, wait_for
from tests.integration.reads_data import gql, seed

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("worker")]

ITEM = "id status input expectedOutput metadata sourceTraceId sourceObservationId version deleted"


async def errors(client: httpx.AsyncClient, project: ProjectFixture, query: str, **variables: Any) -> str:
    """The error messages of a document that must fail (never masked as an internal error)."""
    r = await client.post("/api/graphql", json={"query": query, "variables": variables}, auth=project.auth)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body.get("errors"), body
    text = "; ".join(e["message"] for e in body["errors"])
    assert "internal error" not in text
    return text


CREATE = "mutation($i: CreateDatasetInput!) { createDataset(input: $i) { dataset { id name itemCount } } }"
UPSERT = f"mutation($i: UpsertDatasetItemInput!) {{ upsertDatasetItem(input: $i) {{ item {{ {ITEM} }} }} }}"
ITEMS = f"""
query($name: String!, $first: Int, $after: String, $version: DateTime, $status: [DatasetItemStatus!],
      $search: String) {{
  dataset(name: $name) {{
    id itemCount
    items(first: $first, after: $after, version: $version, status: $status, search: $search) {{
      edges {{ node {{ {ITEM} }} cursor }} pageInfo {{ hasNextPage endCursor }} totalCount }}
  }}
}}
"""


async def make_dataset(
    client: httpx.AsyncClient, project: ProjectFixture, name: str, items: list[tuple[str, Any, Any]]
) -> str:
    """A dataset with items (id, input, expected output); its id."""
    created = await gql(client, project, CREATE, {"i": {"name": name, "description": "questions"}})
    for item_id, question, answer in items:
        await gql(
            client,
            project,
            UPSERT,
            {"i": {"datasetName": name, "id": item_id, "input": question, "expectedOutput": answer}},
        )
    return str(created["createDataset"]["dataset"]["id"])


async def test_datasets_and_versioned_items(client, storage, project: ProjectFixture) -> None:
    schema = {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}
    created = await gql(
        client, project, CREATE, {"i": {"name": "qa", "description": "first", "inputSchema": schema}}
    )
    dataset_id = created["createDataset"]["dataset"]["id"]
    assert created["createDataset"]["dataset"]["itemCount"] == 0
    assert "name: a dataset named 'qa' already exists" in await errors(
        client, project, CREATE, i={"name": "qa"}
    )
    assert "inputSchema" in await errors(client, project, CREATE, i={"name": "bad", "inputSchema": [1]})
    assert "inputSchema" in await errors(
        client, project, CREATE, i={"name": "bad", "inputSchema": {"type": "no-such-type"}}
    )
    for i in range(3):
        item = {"datasetName": "qa", "id": f"item-{i}", "input": {"q": f"q{i}"}, "expectedOutput": f"a{i}"}
        await gql(client, project, UPSERT, {"i": item})
    # The schema is enforced, and the error names the failing JSON path.
    bad = await errors(client, project, UPSERT, i={"datasetName": "qa", "input": {"q": 7}})
    assert bad.startswith("input.q:"), bad
    assert "dataset 'nope' not found" in await errors(
        client, project, UPSERT, i={"datasetName": "nope", "input": {"q": "x"}}
    )
    before_change = datetime.now(UTC)
    await asyncio.sleep(0.01)
    changed = await gql(
        client, project, UPSERT, {"i": {"datasetName": "qa", "id": "item-1", "expectedOutput": "A1"}}
    )
    item = changed["upsertDatasetItem"]["item"]
    assert item["input"] == {"q": "q1"} and item["expectedOutput"] == "A1"  # omitted fields keep their value

    archived = await gql(
        client,
        project,
        'mutation { archiveDatasetItem(input: {id: "item-2"}) { item { id status } } }',
    )
    assert archived["archiveDatasetItem"]["item"]["status"] == "ARCHIVED"

    data = (await gql(client, project, ITEMS, {"name": "qa"}))["dataset"]
    assert data["id"] == dataset_id and data["itemCount"] == 3  # archived items count, the list skips them
    assert [e["node"]["id"] for e in data["items"]["edges"]] == ["item-1", "item-0"]
    assert data["items"]["totalCount"] == 2
    both = (await gql(client, project, ITEMS, {"name": "qa", "status": ["ACTIVE", "ARCHIVED"]}))["dataset"]
    assert both["items"]["totalCount"] == 3
    old = (await gql(client, project, ITEMS, {"name": "qa", "version": before_change.isoformat()}))["dataset"]
    assert {e["node"]["id"]: e["node"]["expectedOutput"] for e in old["items"]["edges"]} == {
        "item-0": "a0",
        "item-1": "a1",
        "item-2": "a2",
    }
    for early in ("2000-01-01T00:00:00", "0001-01-01T00:00:00+00:00"):  # naive means UTC; before any item
        empty = (await gql(client, project, ITEMS, {"name": "qa", "version": early}))["dataset"]["items"]
        assert empty["totalCount"] == 0, early
    found = (await gql(client, project, ITEMS, {"name": "qa", "search": "q0"}))["dataset"]["items"]
    assert [e["node"]["id"] for e in found["edges"]] == ["item-0"]

    # Paging one at a time walks every item once; a cursor from the middle of a page resumes there.
    seen, after = [], None
    while True:
        page = (await gql(client, project, ITEMS, {"name": "qa", "first": 1, "after": after}))["dataset"]
        seen += [e["node"]["id"] for e in page["items"]["edges"]]
        if not page["items"]["pageInfo"]["hasNextPage"]:
            break
        after = page["items"]["pageInfo"]["endCursor"]
    assert seen == ["item-1", "item-0"]
    assert "after: not a cursor" in await errors(client, project, ITEMS, name="qa", after="garbage")
    assert "first must be between 1 and 100" in await errors(client, project, ITEMS, name="qa", first=0)

    deleted = await gql(client, project, 'mutation { deleteDatasetItem(input: {id: "item-1"}) { id } }')
    assert deleted["deleteDatasetItem"]["id"] == "item-1"
    history = await gql(client, project, f'{{ datasetItem(id: "item-0") {{ id history {{ {ITEM} }} }} }}')
    assert len(history["datasetItem"]["history"]) == 1
    gone = await gql(client, project, '{ datasetItem(id: "item-1") { id } }')
    assert gone["datasetItem"] is None
    assert "dataset item 'item-1' not found" in await errors(
        client, project, 'mutation { deleteDatasetItem(input: {id: "item-1"}) { id } }'
    )

    updated = await gql(
        client,
        project,
        "mutation($i: UpdateDatasetInput!) {"
        " updateDataset(input: $i) { dataset { description inputSchema } } }",
        {"i": {"id": dataset_id, "description": "second"}},
    )
    assert updated["updateDataset"]["dataset"] == {"description": "second", "inputSchema": schema}
    listed = await gql(client, project, "{ datasets { edges { node { name itemCount } } totalCount } }")
    assert listed["datasets"]["edges"] == [{"node": {"name": "qa", "itemCount": 2}}]
    assert "dataset: give either name or id" in await errors(client, project, "{ dataset { id } }")
    await gql(
        client, project, "mutation($id: ID!) { deleteDataset(input: {id: $id}) { id } }", {"id": dataset_id}
    )
    assert (await gql(client, project, '{ dataset(name: "qa") { id } }'))["dataset"] is None


async def test_item_history_keeps_every_version(client, storage, project: ProjectFixture) -> None:
    await make_dataset(client, project, "h", [("x", "q", "a")])
    await gql(client, project, UPSERT, {"i": {"datasetName": "h", "id": "x", "expectedOutput": "b"}})
    await gql(client, project, 'mutation { deleteDatasetItem(input: {id: "x"}) { id } }')
    await gql(client, project, UPSERT, {"i": {"datasetName": "h", "id": "x", "input": "q2"}})
    data = await gql(client, project, f'{{ datasetItem(id: "x") {{ history {{ {ITEM} }} }} }}')
    versions = data["datasetItem"]["history"]
    assert [v["deleted"] for v in versions] == [False, True, False, False]
    assert [(v["input"], v["expectedOutput"]) for i, v in enumerate(versions) if i != 1] == [
        ("q2", None),  # an item written after its deletion starts afresh
        ("q", "b"),
        ("q", "a"),
    ]
    assert versions[0]["version"] > versions[1]["version"] > versions[2]["version"] > versions[3]["version"]


async def test_add_trace_to_dataset(client, storage, project: ProjectFixture) -> None:
    s = await seed(client, storage, project)
    await make_dataset(client, project, "from-traces", [])
    add = f"mutation($i: AddTraceToDatasetInput!) {{ addTraceToDataset(input: $i) {{ item {{ {ITEM} }} }} }}"
    trace = s.trace_ids[1]
    item = (await gql(client, project, add, {"i": {"traceId": trace, "datasetName": "from-traces"}}))[
        "addTraceToDataset"
    ]["item"]
    assert item["input"] == "Question number 1 about refunds" and item["expectedOutput"] == "answer 1"
    assert item["sourceTraceId"] == trace and item["sourceObservationId"] is None
    generation = f"{trace}-gen"
    item = (
        await gql(
            client,
            project,
            add,
            {
                "i": {
                    "traceId": trace,
                    "observationId": generation,
                    "datasetName": "from-traces",
                    "itemId": "g",
                }
            },
        )
    )["addTraceToDataset"]["item"]
    assert item["id"] == "g" and item["sourceObservationId"] == generation
    assert item["input"] == [{"role": "user", "content": "Question number 1 about refunds"}]
    assert item["expectedOutput"] == {"role": "assistant", "content": "answer 1"}
    assert "traceId: trace 'nope' not found" in await errors(
        client, project, add, i={"traceId": "nope", "datasetName": "from-traces"}
    )
    other_trace = s.trace_ids[2]
    assert "observationId:" in await errors(
        client,
        project,
        add,
        i={"traceId": other_trace, "observationId": generation, "datasetName": "from-traces"},
    )
    assert "dataset 'missing' not found" in await errors(
        client, project, add, i={"traceId": trace, "datasetName": "missing"}
    )


async def test_viewers_read_and_other_projects_see_nothing(client, storage, project: ProjectFixture) -> None:
    dataset_id = await make_dataset(client, project, "mine", [("m-1", "q", "a")])
    other = await make_project(storage)
    assert (await gql(client, other, "query($id: ID!) { dataset(id: $id) { id } }", {"id": dataset_id}))[
        "dataset"
    ] is None
    assert (await gql(client, other, '{ datasetItem(id: "m-1") { id } }'))["datasetItem"] is None
    assert (await gql(client, other, "{ datasets { totalCount } }"))["datasets"]["totalCount"] == 0
    assert f"id: dataset '{dataset_id}' not found" in await errors(
        client, other, "mutation($id: ID!) { deleteDataset(input: {id: $id}) { id } }", id=dataset_id
    )
    assert "not found" in await errors(
        client,
        other,
        "mutation($i: UpdateDatasetInput!) { updateDataset(input: $i) { dataset { id } } }",
        i={"id": dataset_id, "description": "x"},
    )
    assert "dataset item 'm-1' not found" in await errors(
        client, other, 'mutation { archiveDatasetItem(input: {id: "m-1"}) { item { id } } }'
    )
    # Item ids are unique per project, not across projects.
    await make_dataset(client, other, "theirs", [("m-1", "other q", "other a")])
    mine = await gql(client, project, '{ datasetItem(id: "m-1") { input datasetName } }')
    assert mine["datasetItem"] == {"input": "q", "datasetName": "mine"}

    email, password = await make_user(storage, project, Role.VIEWER)
    await login(client, email, password)
    headers = {"content-type": "application/json"}
    try:
        read = await client.post(
            "/api/graphql", json={"query": '{ dataset(name: "mine") { itemCount } }'}, headers=headers
        )
        assert read.json()["data"]["dataset"]["itemCount"] == 1
        for mutation in (
            'mutation { createDataset(input: {name: "v"}) { dataset { id } } }',
            'mutation { upsertDatasetItem(input: {datasetName: "mine", input: 1}) { item { id } } }',
            'mutation { deleteDatasetItem(input: {id: "m-1"}) { id } }',
            'mutation { archiveDatasetItem(input: {id: "m-1"}) { item { id } } }',
            f'mutation {{ updateDataset(input: {{id: "{dataset_id}"}}) {{ dataset {{ id }} }} }}',
            f'mutation {{ deleteDataset(input: {{id: "{dataset_id}"}}) {{ id }} }}',
            'mutation { addTraceToDataset(input: {traceId: "t", datasetName: "mine"}) { item { id } } }',
            'mutation { deleteExperiment(input: {id: "e"}) { id } }',
        ):
            change = await client.post("/api/graphql", json={"query": mutation}, headers=headers)
            assert "member" in change.json()["errors"][0]["message"], mutation
    finally:
        client.cookies.clear()  # the client is shared by the session's tests
    assert (await gql(client, project, '{ dataset(name: "mine") { itemCount } }'))["dataset"][
        "itemCount"
    ] == 1


# -- experiments ------------------------------------------------------------------------------------

QUESTIONS = [("i-0", "a", "A"), ("i-1", "b", "B"), ("i-2", "c", "C"), ("i-3", "d", "D")]


def run_experiments(server: LiveServer, project: ProjectFixture, dataset: str) -> list[str]:
    """Two runs of the SDK over the dataset: `good` answers every item, `bad` the first one only."""
    from langfuse import Evaluation

    def exact(*, output: Any, expected_output: Any, **_: Any) -> Any:
        return Evaluation(name="exact", value=float(output == expected_output))

    with sdk_client(server, project) as lf:
        ds = lf.get_dataset(dataset)
        good = ds.run_experiment(
            name="exp", run_name="good", task=lambda *, item, **_: item.input.upper(), evaluators=[exact]
        )
        bad = ds.run_experiment(
            name="exp",
            run_name="bad",
            task=lambda *, item, **_: item.input.upper() if item.input == "a" else "?",
            evaluators=[exact],
        )
        lf.flush()
        return [good.experiment_id, bad.experiment_id]


EXPERIMENT = """
query($id: ID!) {
  experiment(id: $id) {
    id name datasetId itemCount
    summary { itemCount errorCount totalCost avgLatencyMs scores { name mean count } }
    items(first: 100) { edges { node { id traceId itemId input output expectedOutput totalCost latencyMs
      scores { name value } } } pageInfo { hasNextPage } }
  }
}
"""


async def run_and_wait(live_server: LiveServer, client, project: ProjectFixture) -> tuple[str, list[str]]:
    """A dataset of four questions, two SDK runs over it, waited for until every item run has its score."""
    dataset_id = await make_dataset(client, project, "quiz", QUESTIONS)
    ids = await asyncio.to_thread(run_experiments, live_server, project, "quiz")

    async def landed() -> bool:
        for run_id in ids:
            found = (await gql(client, project, EXPERIMENT, {"id": run_id}))["experiment"]
            if found is None or found["summary"]["itemCount"] < 4:
                return False
            if [s["count"] for s in found["summary"]["scores"]] != [4]:
                return False
        return True

    await wait_for(landed, timeout_s=60)
    return dataset_id, ids


COMPARE = """
fragment M on ScoreComparison { name kind unit runs { experimentId mean ciLow ciHigh count }
  deltas { experimentId pairedItems delta ciLow ciHigh pValue adjustedPValue significant test } }
query($b: ID!, $o: [ID!]!) {
  compareExperiments(baseline: $b, others: $o) {
    baselineId runs { experimentId name baseline } resamples
    scores { ...M } cost { ...M } latency { ...M }
    items { totalCount edges { node { itemKey input expectedOutput regressions improvements
      runs { experimentId repetitions output traceIds scores { name value } }
      flags { name experimentId flag } } } }
  }
}
"""


async def test_experiments_runs_and_comparison(
    live_server: LiveServer, client, storage, project: ProjectFixture
) -> None:
    dataset_id, (good, bad) = await run_and_wait(live_server, client, project)

    listed = await gql(
        client,
        project,
        "query($f: ExperimentFilterInput) {"
        " experiments(filter: $f) { edges { node { id name datasetId } } } }",
        {"f": {"datasetIds": [dataset_id]}},
    )
    assert {e["node"]["name"] for e in listed["experiments"]["edges"]} == {"good", "bad"}
    named = await gql(
        client,
        project,
        "query($f: ExperimentFilterInput) { experiments(filter: $f) { edges { node { id } } } }",
        {"f": {"names": ["bad"]}},
    )
    assert [e["node"]["id"] for e in named["experiments"]["edges"]] == [bad]
    assert "filter: 'from' must be before 'to'" in await errors(
        client,
        project,
        "query($f: ExperimentFilterInput) { experiments(filter: $f) { edges { node { id } } } }",
        f={"from": "2026-01-02T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
    )
    # Paging one at a time with edge cursors walks both runs once.
    first = await gql(
        client, project, "{ experiments(first: 1) { edges { node { id } cursor } pageInfo { hasNextPage } } }"
    )
    assert first["experiments"]["pageInfo"]["hasNextPage"]
    rest = await gql(
        client,
        project,
        "query($a: String) {"
        " experiments(first: 5, after: $a) { edges { node { id } } pageInfo { hasNextPage } } }",
        {"a": first["experiments"]["edges"][0]["cursor"]},
    )
    walked = [first["experiments"]["edges"][0]["node"]["id"]] + [
        e["node"]["id"] for e in rest["experiments"]["edges"]
    ]
    assert sorted(walked) == sorted([good, bad]) and not rest["experiments"]["pageInfo"]["hasNextPage"]

    run = (await gql(client, project, EXPERIMENT, {"id": bad}))["experiment"]
    assert run["name"] == "bad" and run["datasetId"] == dataset_id and run["itemCount"] == 4
    assert run["summary"]["scores"] == [{"name": "exact", "mean": 0.25, "count": 4}]
    assert run["summary"]["errorCount"] == 0 and run["summary"]["avgLatencyMs"] is not None
    items = {e["node"]["itemId"]: e["node"] for e in run["items"]["edges"]}
    assert sorted(items) == ["i-0", "i-1", "i-2", "i-3"]
    assert items["i-0"]["output"] == "A" and items["i-0"]["expectedOutput"] == "A"
    assert items["i-1"]["output"] == "?" and items["i-1"]["input"] == "b"
    assert items["i-0"]["scores"] == [{"name": "exact", "value": 1.0}]
    assert items["i-1"]["scores"] == [{"name": "exact", "value": 0.0}]
    assert all(len(i["traceId"]) == 32 and i["latencyMs"] is not None for i in items.values())

    runs = await gql(
        client,
        project,
        '{ dataset(name: "quiz") {'
        " runs { edges { node { id name summary { scores { name mean } } } } totalCount } } }",
    )
    by_name = {e["node"]["name"]: e["node"] for e in runs["dataset"]["runs"]["edges"]}
    assert runs["dataset"]["runs"]["totalCount"] == 2
    assert by_name["good"]["summary"]["scores"] == [{"name": "exact", "mean": 1.0}]

    compared = (await gql(client, project, COMPARE, {"b": good, "o": [bad]}))["compareExperiments"]
    assert compared["baselineId"] == good and [r["name"] for r in compared["runs"]] == ["good", "bad"]
    [exact] = compared["scores"]
    assert exact["name"] == "exact" and [r["mean"] for r in exact["runs"]] == [1.0, 0.25]
    [delta] = exact["deltas"]
    assert (
        delta["experimentId"] == bad and delta["pairedItems"] == 4 and delta["delta"] == pytest.approx(-0.75)
    )
    assert 0 <= delta["pValue"] <= 1 and delta["adjustedPValue"] >= delta["pValue"]
    assert compared["cost"]["kind"] == "COST" and compared["latency"]["unit"] == "ms"
    ranked = [e["node"] for e in compared["items"]["edges"]]
    assert [i["regressions"] for i in ranked] == [1, 1, 1, 0]  # most regressions first
    rows = {i["itemKey"]: i for i in ranked}
    assert sorted(rows) == ["i-0", "i-1", "i-2", "i-3"]
    assert rows["i-1"]["regressions"] == 1 and rows["i-1"]["flags"] == [
        {"name": "exact", "experimentId": bad, "flag": "REGRESSED"}
    ]
    assert rows["i-0"]["flags"][0]["flag"] == "SAME"
    assert [r["output"] for r in rows["i-1"]["runs"]] == ["B", "?"]

    flagged = (
        "query($b: ID!, $o: [ID!]!, $f: ItemFlag, $s: String) {"
        " compareExperiments(baseline: $b, others: $o) {"
        " items(flag: $f, score: $s) { totalCount edges { node { itemKey } } } } }"
    )
    regressed = await gql(client, project, flagged, {"b": good, "o": [bad], "f": "REGRESSED", "s": "exact"})
    found = regressed["compareExperiments"]["items"]
    assert found["totalCount"] == 3 and {e["node"]["itemKey"] for e in found["edges"]} == {
        "i-1",
        "i-2",
        "i-3",
    }
    assert "score: 'nope'" in await errors(client, project, flagged, b=good, o=[bad], f="SAME", s="nope")
    assert "flag:" in await errors(client, project, flagged, b=good, o=[bad], s="exact")

    # 2 to 5 runs in all, each once, each known.
    assert "others: compare 2 to 5 experiments" in await errors(client, project, COMPARE, b=good, o=[])
    assert "others: compare 2 to 5 experiments" in await errors(
        client, project, COMPARE, b=good, o=["a", "b", "c", "d", "e"]
    )
    assert "may appear once" in await errors(client, project, COMPARE, b=good, o=[good])
    assert "others[0]: experiment 'nope' not found" in await errors(
        client, project, COMPARE, b=good, o=["nope"]
    )

    other = await make_project(storage)
    assert (await gql(client, other, EXPERIMENT, {"id": good}))["experiment"] is None
    assert (await gql(client, other, "{ experiments { edges { node { id } } } }"))["experiments"][
        "edges"
    ] == []
    assert "baseline: experiment" in await errors(client, other, COMPARE, b=good, o=[bad])
    assert "not found" in await errors(
        client, other, "mutation($id: ID!) { deleteExperiment(input: {id: $id}) { id } }", id=good
    )

    deleted = await gql(
        client, project, "mutation($id: ID!) { deleteExperiment(input: {id: $id}) { id } }", {"id": bad}
    )
    assert deleted["deleteExperiment"]["id"] == bad
    assert (await gql(client, project, EXPERIMENT, {"id": bad}))["experiment"] is None
    assert f"id: experiment '{bad}' not found" in await errors(
        client, project, "mutation($id: ID!) { deleteExperiment(input: {id: $id}) { id } }", id=bad
    )


EVALUATION_QUERIES = ["datasets", "dataset", "datasetItem", "experiments", "experiment", "compareExperiments"]
EVALUATION_MUTATIONS = [
    "createDataset",
    "updateDataset",
    "deleteDataset",
    "upsertDatasetItem",
    "archiveDatasetItem",
    "deleteDatasetItem",
    "addTraceToDataset",
    "deleteExperiment",
]


async def test_generated_evaluation_documents_get_answers_not_crashes(
    client, storage, project: ProjectFixture
) -> None:
    from tests.integration.test_graphql_fuzz import assert_answered, generated

    await make_dataset(client, project, "a", [("0", "q", "a")])
    documents = generated(150, EVALUATION_QUERIES, EVALUATION_MUTATIONS)
    assert len(documents) >= 75
    await assert_answered(client, project, documents)

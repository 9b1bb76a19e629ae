"""Annotation queues over GraphQL: create, list, read with configs, progress, assignees and items; item
and assignment mutations; errors name the field; viewers only read; another project's ids never
resolve; scores show the queue and the author they were given by."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from app.storage import Storage
from app.storage.postgres import accounts
from app.storage.postgres.tables import Role
from app.tracing import score_configs, scores
from app.tracing.score_configs import Category, ScoreConfigSpec
from app.tracing.scores import NewScore
from tests.conftest import ProjectFixture, login, make_project, make_user
from tests.integration.reads_data import gql
from tests.integration.test_graphql_fuzz import assert_answered, generated

pytestmark = pytest.mark.integration

QUEUE_FIELDS = """id name description createdAt updatedAt assigneeIds
  scoreConfigs { id name dataType } progress { total completed pending }"""
CREATE = f"""mutation($input: CreateAnnotationQueueInput!) {{
  createAnnotationQueue(input: $input) {{ annotationQueue {{ {QUEUE_FIELDS} }} }} }}"""
UPDATE = """mutation($input: UpdateAnnotationQueueInput!) {
  updateAnnotationQueue(input: $input) { annotationQueue { id name description scoreConfigs { name } } } }"""
DELETE = """mutation($id: ID!) { deleteAnnotationQueue(input: {id: $id}) { id } }"""
ONE = f"""query($id: ID!) {{ annotationQueue(id: $id) {{ {QUEUE_FIELDS} }} }}"""
PAGE = """query($after: String) { annotationQueues(first: 1, after: $after) {
  totalCount edges { cursor node { id name progress { total } } } pageInfo { hasNextPage endCursor } } }"""
ITEM_FIELDS = """id queueId objectType objectId status completedAt completedByUserId assignedUserId
  lockedByUserId lockedUntil createdAt updatedAt"""
ADD = f"""mutation($input: AddAnnotationQueueItemsInput!) {{
  addAnnotationQueueItems(input: $input) {{ items {{ {ITEM_FIELDS} }} }} }}"""
SET_STATUS = f"""mutation($input: UpdateAnnotationQueueItemInput!) {{
  updateAnnotationQueueItem(input: $input) {{ item {{ {ITEM_FIELDS} }} }} }}"""
DELETE_ITEM = """mutation($queueId: ID!, $itemId: ID!) {
  deleteAnnotationQueueItem(input: {queueId: $queueId, itemId: $itemId}) { id } }"""
ITEMS = """query($id: ID!, $status: AnnotationItemStatus, $after: String) { annotationQueue(id: $id) {
  items(status: $status, first: 2, after: $after) {
    totalCount edges { cursor node { id objectId status } } pageInfo { hasNextPage endCursor } } } }"""
ASSIGN = """mutation($input: AnnotationQueueAssignmentInput!) {
  assignAnnotationQueue(input: $input) { queueId userId } }"""
UNASSIGN = """mutation($input: AnnotationQueueAssignmentInput!) {
  unassignAnnotationQueue(input: $input) { queueId userId } }"""


async def errors_of(
    client: httpx.AsyncClient, project: ProjectFixture | None, query: str, variables: dict[str, Any]
) -> list[str]:
    """The messages of a request that must fail (with the project's keys, or the client's session)."""
    auth = project.auth if project else None
    r = await client.post("/api/graphql", json={"query": query, "variables": variables}, auth=auth)
    body = r.json()
    assert body.get("errors"), body
    return [e["message"] for e in body["errors"]]


async def user_id(storage: Storage, project: ProjectFixture, role: Role) -> tuple[str, str, str]:
    email, password = await make_user(storage, project, role)
    user = await accounts.find_user(storage.postgres, email)
    assert user is not None
    return user.id, email, password


async def configs(storage: Storage, project_id: str) -> list[str]:
    quality = await score_configs.create_config(
        storage,
        project_id,
        ScoreConfigSpec("quality", "CATEGORICAL", (Category(0, "bad"), Category(1, "good"))),
    )
    helpful = await score_configs.create_config(storage, project_id, ScoreConfigSpec("helpful", "BOOLEAN"))
    return [helpful.id, quality.id]


async def test_queue_lifecycle_items_and_assignments(
    client: httpx.AsyncClient, storage: Storage, project: ProjectFixture
) -> None:
    config_ids = await configs(storage, project.project_id)
    made = await gql(
        client,
        project,
        CREATE,
        {"input": {"name": " review ", "description": "by hand", "scoreConfigIds": config_ids}},
    )
    queue = made["createAnnotationQueue"]["annotationQueue"]
    assert (queue["name"], queue["description"], queue["assigneeIds"]) == ("review", "by hand", [])
    assert [c["name"] for c in queue["scoreConfigs"]] == ["helpful", "quality"]
    assert queue["progress"] == {"total": 0, "completed": 0, "pending": 0}
    qid = queue["id"]

    dup = await errors_of(client, project, CREATE, {"input": {"name": "review"}})
    assert dup[0].startswith("name:"), dup
    unknown = await errors_of(client, project, CREATE, {"input": {"name": "x", "scoreConfigIds": ["nope"]}})
    assert unknown[0].startswith("scoreConfigIds:"), unknown

    added = await gql(
        client, project, ADD, {"input": {"queueId": qid, "objectType": "TRACE", "objectIds": ["a", "b", "c"]}}
    )
    items = added["addAnnotationQueueItems"]["items"]
    assert [(i["objectId"], i["objectType"], i["status"]) for i in items] == [
        ("a", "TRACE", "PENDING"),
        ("b", "TRACE", "PENDING"),
        ("c", "TRACE", "PENDING"),
    ]
    again = await gql(
        client, project, ADD, {"input": {"queueId": qid, "objectType": "TRACE", "objectIds": ["b"]}}
    )
    assert again["addAnnotationQueueItems"]["items"][0]["id"] == items[1]["id"]
    session = await gql(
        client, project, ADD, {"input": {"queueId": qid, "objectType": "SESSION", "objectIds": ["b"]}}
    )
    assert session["addAnnotationQueueItems"]["items"][0]["id"] != items[1]["id"]  # another object
    empty_id = await errors_of(
        client, project, ADD, {"input": {"queueId": qid, "objectType": "TRACE", "objectIds": [""]}}
    )
    assert "objectId" in empty_id[0]

    done = await gql(
        client,
        project,
        SET_STATUS,
        {"input": {"queueId": qid, "itemId": items[0]["id"], "status": "COMPLETED"}},
    )
    item = done["updateAnnotationQueueItem"]["item"]
    assert item["status"] == "COMPLETED" and item["completedAt"] is not None
    assert item["completedByUserId"] is None  # an API key has no user

    one = (await gql(client, project, ONE, {"id": qid}))["annotationQueue"]
    assert one["progress"] == {"total": 4, "completed": 1, "pending": 3}
    pending = (await gql(client, project, ITEMS, {"id": qid, "status": "PENDING"}))["annotationQueue"][
        "items"
    ]
    assert pending["totalCount"] == 3 and pending["pageInfo"]["hasNextPage"] is True
    rest = (
        await gql(
            client,
            project,
            ITEMS,
            {"id": qid, "status": "PENDING", "after": pending["pageInfo"]["endCursor"]},
        )
    )["annotationQueue"]["items"]
    seen = [e["node"]["id"] for e in pending["edges"] + rest["edges"]]
    assert len(seen) == len(set(seen)) == 3 and items[0]["id"] not in seen
    assert rest["pageInfo"]["hasNextPage"] is False
    completed = (await gql(client, project, ITEMS, {"id": qid, "status": "COMPLETED"}))["annotationQueue"]
    assert [e["node"]["id"] for e in completed["items"]["edges"]] == [items[0]["id"]]

    member, email, password = await user_id(storage, project, Role.MEMBER)
    viewer, _, _ = await user_id(storage, project, Role.VIEWER)
    outsider, _, _ = await user_id(storage, await make_project(storage), Role.MEMBER)
    assigned = await gql(client, project, ASSIGN, {"input": {"queueId": qid, "userId": member}})
    assert assigned["assignAnnotationQueue"] == {"queueId": qid, "userId": member}
    await gql(client, project, ASSIGN, {"input": {"queueId": qid, "userId": member}})  # idempotent
    assert (await gql(client, project, ONE, {"id": qid}))["annotationQueue"]["assigneeIds"] == [member]
    not_member = await errors_of(client, project, ASSIGN, {"input": {"queueId": qid, "userId": outsider}})
    assert "not a member" in not_member[0]
    as_viewer = await errors_of(client, project, ASSIGN, {"input": {"queueId": qid, "userId": viewer}})
    assert as_viewer[0].startswith("userId:") and "viewer" in as_viewer[0]

    # A member's session completes an item in their own name.
    await login(client, email, password)
    try:
        r = await client.post(
            "/api/graphql",
            json={
                "query": SET_STATUS,
                "variables": {"input": {"queueId": qid, "itemId": items[1]["id"], "status": "COMPLETED"}},
            },
        )
        by_member = r.json()["data"]["updateAnnotationQueueItem"]["item"]
        assert by_member["completedByUserId"] == member
    finally:
        client.cookies.clear()
    reopened = await gql(
        client,
        project,
        SET_STATUS,
        {"input": {"queueId": qid, "itemId": items[1]["id"], "status": "PENDING"}},
    )
    item = reopened["updateAnnotationQueueItem"]["item"]
    assert (item["status"], item["completedAt"], item["completedByUserId"]) == ("PENDING", None, None)

    unassigned = await gql(client, project, UNASSIGN, {"input": {"queueId": qid, "userId": member}})
    assert unassigned["unassignAnnotationQueue"] == {"queueId": qid, "userId": member}
    assert (await gql(client, project, ONE, {"id": qid}))["annotationQueue"]["assigneeIds"] == []

    gone = await gql(client, project, DELETE_ITEM, {"queueId": qid, "itemId": items[2]["id"]})
    assert gone["deleteAnnotationQueueItem"]["id"] == items[2]["id"]
    twice = await errors_of(client, project, DELETE_ITEM, {"queueId": qid, "itemId": items[2]["id"]})
    assert "not found" in twice[0]

    changed = await gql(
        client,
        project,
        UPDATE,
        {"input": {"id": qid, "name": "renamed", "description": None, "scoreConfigIds": config_ids[1:]}},
    )
    assert changed["updateAnnotationQueue"]["annotationQueue"] == {
        "id": qid,
        "name": "renamed",
        "description": None,
        "scoreConfigs": [{"name": "quality"}],
    }
    kept = await gql(client, project, UPDATE, {"input": {"id": qid, "name": "renamed again"}})
    assert kept["updateAnnotationQueue"]["annotationQueue"]["scoreConfigs"] == [{"name": "quality"}]

    await gql(client, project, CREATE, {"input": {"name": "second"}})
    first_page = (await gql(client, project, PAGE))["annotationQueues"]
    assert first_page["totalCount"] == 2 and first_page["edges"][0]["node"]["name"] == "second"
    second_page = (await gql(client, project, PAGE, {"after": first_page["pageInfo"]["endCursor"]}))[
        "annotationQueues"
    ]
    assert [e["node"]["id"] for e in second_page["edges"]] == [qid]
    assert second_page["edges"][0]["node"]["progress"] == {"total": 3}
    assert second_page["pageInfo"]["hasNextPage"] is False

    assert (await gql(client, project, DELETE, {"id": qid}))["deleteAnnotationQueue"]["id"] == qid
    assert (await gql(client, project, ONE, {"id": qid}))["annotationQueue"] is None
    missing = await errors_of(client, project, DELETE, {"id": qid})
    assert "not found" in missing[0]


async def test_viewers_read_but_cannot_change_queues(
    client: httpx.AsyncClient, storage: Storage, project: ProjectFixture
) -> None:
    queue = (await gql(client, project, CREATE, {"input": {"name": "q"}}))["createAnnotationQueue"][
        "annotationQueue"
    ]
    item = (
        await gql(
            client,
            project,
            ADD,
            {"input": {"queueId": queue["id"], "objectType": "TRACE", "objectIds": ["t"]}},
        )
    )["addAnnotationQueueItems"]["items"][0]
    member, _, _ = await user_id(storage, project, Role.MEMBER)
    _, email, password = await user_id(storage, project, Role.VIEWER)
    await login(client, email, password)
    try:
        writes = [
            (CREATE, {"input": {"name": "x"}}),
            (UPDATE, {"input": {"id": queue["id"], "name": "x"}}),
            (DELETE, {"id": queue["id"]}),
            (ADD, {"input": {"queueId": queue["id"], "objectType": "TRACE", "objectIds": ["u"]}}),
            (SET_STATUS, {"input": {"queueId": queue["id"], "itemId": item["id"], "status": "COMPLETED"}}),
            (DELETE_ITEM, {"queueId": queue["id"], "itemId": item["id"]}),
            (ASSIGN, {"input": {"queueId": queue["id"], "userId": member}}),
            (UNASSIGN, {"input": {"queueId": queue["id"], "userId": member}}),
        ]
        for query, variables in writes:
            messages = await errors_of(client, None, query, variables)
            assert "member role" in messages[0], (query, messages)
        r = await client.post("/api/graphql", json={"query": ONE, "variables": {"id": queue["id"]}})
        seen = r.json()["data"]["annotationQueue"]
        assert seen["name"] == "q" and seen["progress"]["pending"] == 1
    finally:
        client.cookies.clear()
    after = (await gql(client, project, ONE, {"id": queue["id"]}))["annotationQueue"]
    assert after["name"] == "q" and after["progress"] == {"total": 1, "completed": 0, "pending": 1}


async def test_another_projects_queue_never_resolves(
    client: httpx.AsyncClient, storage: Storage, project: ProjectFixture
) -> None:
    other = await make_project(storage)
    theirs = (await gql(client, other, CREATE, {"input": {"name": "theirs"}}))["createAnnotationQueue"][
        "annotationQueue"
    ]
    their_item = (
        await gql(
            client,
            other,
            ADD,
            {"input": {"queueId": theirs["id"], "objectType": "TRACE", "objectIds": ["t"]}},
        )
    )["addAnnotationQueueItems"]["items"][0]
    member, _, _ = await user_id(storage, project, Role.MEMBER)
    assert (await gql(client, project, ONE, {"id": theirs["id"]}))["annotationQueue"] is None
    assert (await gql(client, project, PAGE))["annotationQueues"]["totalCount"] == 0
    for query, variables in (
        (UPDATE, {"input": {"id": theirs["id"], "name": "mine"}}),
        (DELETE, {"id": theirs["id"]}),
        (ADD, {"input": {"queueId": theirs["id"], "objectType": "TRACE", "objectIds": ["u"]}}),
        (SET_STATUS, {"input": {"queueId": theirs["id"], "itemId": their_item["id"], "status": "COMPLETED"}}),
        (DELETE_ITEM, {"queueId": theirs["id"], "itemId": their_item["id"]}),
        (ASSIGN, {"input": {"queueId": theirs["id"], "userId": member}}),
        (UNASSIGN, {"input": {"queueId": theirs["id"], "userId": member}}),
    ):
        messages = await errors_of(client, project, query, variables)
        assert "not found" in messages[0], (query, messages)
    # Their configs are unknown here too.
    their_configs = await configs(storage, other.project_id)
    refused = await errors_of(
        client, project, CREATE, {"input": {"name": "x", "scoreConfigIds": their_configs}}
    )
    assert refused[0].startswith("scoreConfigIds:")
    untouched = (await gql(client, other, ONE, {"id": theirs["id"]}))["annotationQueue"]
    assert untouched["name"] == "theirs" and untouched["progress"] == {
        "total": 1,
        "completed": 0,
        "pending": 1,
    }


async def test_scores_name_their_queue_and_author(
    client: httpx.AsyncClient, storage: Storage, project: ProjectFixture
) -> None:
    config_ids = await configs(storage, project.project_id)
    queue = (await gql(client, project, CREATE, {"input": {"name": "q", "scoreConfigIds": config_ids}}))[
        "createAnnotationQueue"
    ]["annotationQueue"]
    member, _, _ = await user_id(storage, project, Role.MEMBER)
    await scores.create_score(
        storage,
        project.project_id,
        NewScore(
            name="helpful",
            value=1,
            data_type="BOOLEAN",
            trace_id="trace-q",
            config_id=config_ids[0],
            queue_id=queue["id"],
            author_user_id=member,
            source="ANNOTATION",
        ),
    )
    await scores.create_score(
        storage, project.project_id, NewScore(name="plain", value=0.5, trace_id="trace-q")
    )
    found = await gql(
        client,
        project,
        """{ scores(filter: {traceIds: ["trace-q"]}) {
          edges { node { name source queueId authorUserId } } } }""",
    )
    nodes = sorted((e["node"] for e in found["scores"]["edges"]), key=lambda n: n["name"])
    assert nodes == [
        {"name": "helpful", "source": "ANNOTATION", "queueId": queue["id"], "authorUserId": member},
        {"name": "plain", "source": "API", "queueId": None, "authorUserId": None},
    ]


async def test_generated_queue_documents_get_answers_not_crashes(
    client: httpx.AsyncClient, storage: Storage, project: ProjectFixture
) -> None:
    config_ids = await configs(storage, project.project_id)
    queue = (await gql(client, project, CREATE, {"input": {"name": "q", "scoreConfigIds": config_ids}}))[
        "createAnnotationQueue"
    ]["annotationQueue"]
    await gql(
        client, project, ADD, {"input": {"queueId": queue["id"], "objectType": "TRACE", "objectIds": ["t"]}}
    )
    documents = generated(
        60,
        query_fields=["annotationQueues", "annotationQueue"],
        mutation_fields=[
            "createAnnotationQueue",
            "updateAnnotationQueue",
            "deleteAnnotationQueue",
            "addAnnotationQueueItems",
            "updateAnnotationQueueItem",
            "deleteAnnotationQueueItem",
            "assignAnnotationQueue",
            "unassignAnnotationQueue",
        ],
    )
    assert len(documents) >= 30
    await assert_answered(client, project, documents)

"""/api/public/annotation-queues driven by the langfuse 5.2.0 SDK's own client (`api.annotation_queues`,
sync and async): every method, pages, the status filter, completion stamps, assignments, and the error
answers the SDK maps (400 → Error, 404 → NotFoundError, 401 → UnauthorizedError)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from app.storage import Storage
from app.storage.postgres import accounts
from app.storage.postgres.tables import Role
from app.tracing import score_configs
from app.tracing.score_configs import Category, ScoreConfigChange, ScoreConfigSpec
from tests.conftest import LiveServer, ProjectFixture, make_project, make_user, sdk_client

pytestmark = pytest.mark.integration


@dataclass
class Setup:
    configs: list[str]
    archived: str
    member: str
    viewer: str
    outsider: str  # a user of another organization


async def user_id(storage: Storage, project: ProjectFixture, role: Role) -> str:
    email, _ = await make_user(storage, project, role)
    user = await accounts.find_user(storage.postgres, email)
    assert user is not None
    return user.id


async def setup(storage: Storage, project: ProjectFixture) -> Setup:
    pid = project.project_id
    quality = await score_configs.create_config(
        storage, pid, ScoreConfigSpec("quality", "CATEGORICAL", (Category(0, "bad"), Category(1, "good")))
    )
    helpful = await score_configs.create_config(storage, pid, ScoreConfigSpec("helpful", "BOOLEAN"))
    old = await score_configs.create_config(storage, pid, ScoreConfigSpec("old", "NUMERIC"))
    await score_configs.update_config(storage, pid, old.id, ScoreConfigChange(is_archived=True))
    other = await make_project(storage)
    return Setup(
        configs=[helpful.id, quality.id],
        archived=old.id,
        member=await user_id(storage, project, Role.MEMBER),
        viewer=await user_id(storage, project, Role.VIEWER),
        outsider=await user_id(storage, other, Role.MEMBER),
    )


def _message(exc: Any) -> str:
    body = exc.body
    return body.get("message", "") if isinstance(body, dict) else str(body)


def sync_flow(server: LiveServer, project: ProjectFixture, s: Setup) -> dict[str, Any]:
    """Every method of the sync client, in the order a user would call them."""
    from langfuse.api import Error, NotFoundError
    from langfuse.api.annotation_queues import AnnotationQueueObjectType as Kind
    from langfuse.api.annotation_queues import AnnotationQueueStatus as Status

    out: dict[str, Any] = {}
    with sdk_client(server, project) as lf:
        api = lf.api.annotation_queues
        first = api.create_queue(name="first", score_config_ids=[])
        queue = api.create_queue(name="review", description="by hand", score_config_ids=s.configs)
        out["queue"] = queue
        out["first"] = first
        out["got"] = api.get_queue(queue.id)
        out["page1"] = api.list_queues(page=1, limit=1)
        out["page2"] = api.list_queues(page=2, limit=1)
        out["all"] = api.list_queues()
        errors: dict[str, Any] = {}
        for label, kwargs in (
            ("duplicate", {"name": "review", "score_config_ids": []}),
            ("unknown config", {"name": "other", "score_config_ids": ["nope"]}),
            ("archived config", {"name": "other", "score_config_ids": [s.archived]}),
            ("blank name", {"name": "  ", "score_config_ids": []}),
        ):
            try:
                api.create_queue(**kwargs)
            except Error as exc:
                errors[label] = _message(exc)
        out["create errors"] = errors

        trace = api.create_queue_item(queue.id, object_id="t-1", object_type=Kind.TRACE)
        obs = api.create_queue_item(queue.id, object_id="o-1", object_type=Kind.OBSERVATION)
        done = api.create_queue_item(
            queue.id, object_id="s-1", object_type=Kind.SESSION, status=Status.COMPLETED
        )
        out["items"] = (trace, obs, done)
        out["again"] = api.create_queue_item(queue.id, object_id="t-1", object_type=Kind.TRACE)
        out["pending"] = api.list_queue_items(queue.id, status=Status.PENDING)
        out["completed"] = api.list_queue_items(queue.id, status=Status.COMPLETED)
        out["items page2"] = api.list_queue_items(queue.id, page=2, limit=2)
        out["get item"] = api.get_queue_item(queue.id, obs.id)
        out["complete"] = api.update_queue_item(queue.id, trace.id, status=Status.COMPLETED)
        out["unchanged"] = api.update_queue_item(queue.id, trace.id)
        out["reopen"] = api.update_queue_item(queue.id, done.id, status=Status.PENDING)
        out["delete item"] = api.delete_queue_item(queue.id, obs.id)

        missing: dict[str, bool] = {}
        for label, call in (
            ("deleted item", lambda: api.get_queue_item(queue.id, obs.id)),
            ("delete again", lambda: api.delete_queue_item(queue.id, obs.id)),
            ("patch missing item", lambda: api.update_queue_item(queue.id, "nope", status=Status.PENDING)),
            ("queue", lambda: api.get_queue("nope")),
            ("items of missing queue", lambda: api.list_queue_items("nope")),
            ("item of missing queue", lambda: api.get_queue_item("nope", trace.id)),
            (
                "add to missing queue",
                lambda: api.create_queue_item("nope", object_id="x", object_type=Kind.TRACE),
            ),
            ("assign to missing queue", lambda: api.create_queue_assignment("nope", user_id=s.member)),
            ("unassign on missing queue", lambda: api.delete_queue_assignment("nope", user_id=s.member)),
            ("item of another queue", lambda: api.get_queue_item(first.id, trace.id)),
        ):
            try:
                call()
                missing[label] = False
            except NotFoundError:
                missing[label] = True
        out["missing"] = missing

        out["assign"] = api.create_queue_assignment(queue.id, user_id=s.member)
        out["assign again"] = api.create_queue_assignment(queue.id, user_id=s.member)
        try:
            api.create_queue_assignment(queue.id, user_id=s.outsider)
            out["outsider"] = None
        except NotFoundError as exc:
            out["outsider"] = _message(exc)
        try:
            api.create_queue_assignment(queue.id, user_id=s.viewer)
            out["viewer"] = None
        except Error as exc:
            out["viewer"] = _message(exc)
        out["unassign"] = api.delete_queue_assignment(queue.id, user_id=s.member)
        out["unassign again"] = api.delete_queue_assignment(queue.id, user_id=s.member)
    return out


async def test_the_sync_client_drives_every_method(
    live_server: LiveServer, storage: Storage, project: ProjectFixture
) -> None:
    s = await setup(storage, project)
    out = await asyncio.to_thread(sync_flow, live_server, project, s)

    queue = out["queue"]
    assert (queue.name, queue.description, queue.score_config_ids) == ("review", "by hand", s.configs)
    assert queue.created_at.tzinfo is not None and out["got"] == queue
    assert [q.id for q in out["page1"].data] == [queue.id]  # newest first
    assert [q.id for q in out["page2"].data] == [out["first"].id]
    meta = out["page1"].meta
    assert (meta.page, meta.limit, meta.total_items, meta.total_pages) == (1, 1, 2, 2)
    assert [q.id for q in out["all"].data] == [queue.id, out["first"].id]
    errors = out["create errors"]
    assert set(errors) == {"duplicate", "unknown config", "archived config", "blank name"}, errors
    assert errors["duplicate"].startswith("name:") and "review" in errors["duplicate"]
    assert errors["unknown config"].startswith("scoreConfigIds:") and "nope" in errors["unknown config"]
    assert errors["archived config"].startswith("scoreConfigIds:") and "archived" in errors["archived config"]
    assert "name" in errors["blank name"]

    trace, obs, done = out["items"]
    assert (trace.queue_id, trace.object_id, trace.object_type, trace.status) == (
        queue.id,
        "t-1",
        "TRACE",
        "PENDING",
    )
    assert trace.completed_at is None and obs.object_type == "OBSERVATION"
    assert done.object_type == "SESSION" and done.status == "COMPLETED" and done.completed_at is not None
    assert out["again"].id == trace.id  # an object is in a queue once
    assert [i.id for i in out["pending"].data] == [obs.id, trace.id]  # newest first
    assert out["pending"].meta.total_items == 2
    assert [i.id for i in out["completed"].data] == [done.id]
    assert [i.id for i in out["items page2"].data] == [trace.id]
    assert (out["items page2"].meta.total_items, out["items page2"].meta.total_pages) == (3, 2)
    assert out["get item"] == obs
    complete = out["complete"]
    assert complete.status == "COMPLETED" and complete.completed_at is not None
    assert complete.updated_at >= trace.updated_at
    assert out["unchanged"] == complete
    assert out["reopen"].status == "PENDING" and out["reopen"].completed_at is None
    deleted = out["delete item"]
    assert (deleted.success, deleted.message) == (True, "Annotation queue item deleted successfully")
    assert all(out["missing"].values()), out["missing"]

    assignment = out["assign"]
    assert (assignment.user_id, assignment.queue_id, assignment.project_id) == (
        s.member,
        queue.id,
        project.project_id,
    )
    assert out["assign again"] == assignment
    assert out["outsider"] is not None and "not a member" in out["outsider"]
    assert out["viewer"] is not None and out["viewer"].startswith("userId:") and "viewer" in out["viewer"]
    assert out["unassign"].success is True and out["unassign again"].success is True


async def test_the_async_client_and_project_scoping(
    live_server: LiveServer, storage: Storage, project: ProjectFixture
) -> None:
    from langfuse.api import Error, NotFoundError, UnauthorizedError
    from langfuse.api.annotation_queues import AnnotationQueueObjectType as Kind
    from langfuse.api.annotation_queues import AnnotationQueueStatus as Status

    s = await setup(storage, project)
    other = await make_project(storage)
    with sdk_client(live_server, project) as mine, sdk_client(live_server, other) as theirs:
        api, their_api = mine.async_api.annotation_queues, theirs.async_api.annotation_queues
        queue = await api.create_queue(name="async", score_config_ids=s.configs[:1])
        item = await api.create_queue_item(queue.id, object_id="t-9", object_type=Kind.TRACE)
        done = await api.update_queue_item(queue.id, item.id, status=Status.COMPLETED)
        assert done.completed_at is not None
        assert [i.id for i in (await api.list_queue_items(queue.id, status=Status.COMPLETED)).data] == [
            item.id
        ]
        assert (await api.create_queue_assignment(queue.id, user_id=s.member)).user_id == s.member
        assert (await api.delete_queue_assignment(queue.id, user_id=s.member)).success is True

        # The same name is free in another project; its queue and items never resolve from here.
        theirs_queue = await their_api.create_queue(name="async", score_config_ids=[])
        their_item = await their_api.create_queue_item(
            theirs_queue.id, object_id="t-9", object_type=Kind.TRACE
        )
        assert (await their_api.list_queues()).meta.total_items == 1
        for call in (
            lambda: api.get_queue(theirs_queue.id),
            lambda: api.list_queue_items(theirs_queue.id),
            lambda: api.get_queue_item(theirs_queue.id, their_item.id),
            lambda: api.get_queue_item(queue.id, their_item.id),
            lambda: api.update_queue_item(theirs_queue.id, their_item.id, status=Status.COMPLETED),
            lambda: api.delete_queue_item(theirs_queue.id, their_item.id),
            lambda: api.create_queue_item(theirs_queue.id, object_id="x", object_type=Kind.TRACE),
            lambda: api.create_queue_assignment(theirs_queue.id, user_id=s.member),
            lambda: api.delete_queue_assignment(theirs_queue.id, user_id=s.member),
        ):
            with pytest.raises(NotFoundError):
                await call()
        # Score configs of another project are unknown here.
        with pytest.raises(Error) as refused:
            await their_api.create_queue(name="borrowed", score_config_ids=[s.configs[0]])
        assert refused.value.status_code == 400 and "scoreConfigIds" in _message(refused.value)
        # Nothing of theirs changed.
        still = await their_api.get_queue_item(theirs_queue.id, their_item.id)
        assert still.status == "PENDING"

    # (Langfuse clients share their resources per public key, so the wrong secret goes in a bare client.)
    from langfuse.api import AsyncLangfuseAPI

    wrong = AsyncLangfuseAPI(base_url=live_server.base_url, username=project.public_key, password="sk-wrong")
    with pytest.raises(UnauthorizedError):
        await wrong.annotation_queues.list_queues()


async def test_a_public_key_alone_and_bad_input_are_refused(
    live_server: LiveServer, storage: Storage, project: ProjectFixture
) -> None:
    base = f"{live_server.base_url}/api/public/annotation-queues"
    async with httpx.AsyncClient(timeout=30) as http:
        queue = (await http.post(base, json={"name": "q", "scoreConfigIds": []}, auth=project.auth)).json()
        bearer = {"Authorization": f"Bearer {project.public_key}"}
        for method, url, body in (
            ("GET", base, None),
            ("POST", base, {"name": "x", "scoreConfigIds": []}),
            ("GET", f"{base}/{queue['id']}", None),
            ("POST", f"{base}/{queue['id']}/items", {"objectId": "t", "objectType": "TRACE"}),
            ("POST", f"{base}/{queue['id']}/assignments", {"userId": "u"}),
        ):
            r = await http.request(method, url, json=body, headers=bearer)
            assert r.status_code == 401, (method, url, r.text)
        listed = (await http.get(base, auth=project.auth)).json()
        assert [q["name"] for q in listed["data"]] == ["q"]  # the Bearer POST stored nothing

        items = f"{base}/{queue['id']}/items"
        cases = [
            ("GET", items + "?status=DONE", None, "status"),
            ("POST", base, {"scoreConfigIds": []}, "name"),
            ("POST", base, {"name": "y", "scoreConfigIds": "abc"}, "scoreConfigIds"),
            ("POST", base, {"name": "y", "scoreConfigIds": [1]}, "scoreConfigIds"),
            ("POST", base, {"name": "y", "description": 5, "scoreConfigIds": []}, "description"),
            ("POST", base, {"name": "x" * 256, "scoreConfigIds": []}, "name"),
            ("POST", base, [], "body"),
            ("POST", items, {"objectId": "t", "objectType": "SPAN"}, "objectType"),
            ("POST", items, {"objectType": "TRACE"}, "objectId"),
            ("POST", items, {"objectId": "x" * 513, "objectType": "TRACE"}, "objectId"),
            ("POST", items, {"objectId": "t", "objectType": "TRACE", "status": "DONE"}, "status"),
            ("POST", f"{base}/{queue['id']}/assignments", {}, "userId"),
            ("DELETE", f"{base}/{queue['id']}/assignments", {"userId": 3}, "userId"),
            ("GET", base + "?limit=0", None, "limit"),
            ("GET", base + "?page=abc", None, "page"),
        ]
        for method, url, body, field in cases:
            r = await http.request(method, url, json=body, auth=project.auth)
            assert r.status_code == 400, (method, url, body, r.text)
            assert field in r.json()["message"], (method, url, body, r.text)
        item = (
            await http.post(items, json={"objectId": "t", "objectType": "TRACE"}, auth=project.auth)
        ).json()
        r = await http.patch(f"{items}/{item['id']}", json={"status": "LATER"}, auth=project.auth)
        assert r.status_code == 400 and "status" in r.json()["message"]
        r = await http.patch(f"{items}/{item['id']}", content=b"{", auth=project.auth)
        assert r.status_code == 400 and "JSON" in r.json()["message"]


async def test_the_openapi_document_describes_the_queue_routes(client) -> None:
    doc = (await client.get("/api/public/openapi.json")).json()
    base = "/api/public/annotation-queues"
    expected = {
        base: {"get", "post"},
        base + "/{queue_id}": {"get"},
        base + "/{queue_id}/items": {"get", "post"},
        base + "/{queue_id}/items/{item_id}": {"get", "patch", "delete"},
        base + "/{queue_id}/assignments": {"post", "delete"},
    }
    for path, methods in expected.items():
        assert set(doc["paths"][path]) >= methods, path
    create = doc["paths"][base]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"]["required"] == [
        "name",
        "scoreConfigIds",
    ]
    item = doc["paths"][base + "/{queue_id}/items/{item_id}"]["get"]["responses"]["200"]
    schema = item["content"]["application/json"]["schema"]
    assert schema["properties"]["objectType"]["enum"] == ["TRACE", "OBSERVATION", "SESSION"]
    assert "404" in doc["paths"][base + "/{queue_id}/items/{item_id}"]["delete"]["responses"]
    unassign = doc["paths"][base + "/{queue_id}/assignments"]["delete"]
    assert unassign["requestBody"]["content"]["application/json"]["schema"]["required"] == ["userId"]

"""Annotation queues on the real Postgres: queues, items, assignments, and claiming items for review
(order, holds, skips, concurrent reviewers), each scoped to its project."""

from __future__ import annotations

import asyncio
import secrets
from datetime import timedelta

import pytest

from app.errors import InvalidInput, NotFound
from app.evaluation import annotation_queues as aq
from app.evaluation.annotation_queues import ItemStatus, NewQueueItem, ObjectType, QueueChange, QueueSpec
from app.storage import Storage
from app.storage.postgres import accounts
from app.storage.postgres import annotation_queues as repo
from app.storage.postgres.tables import Role
from app.tracing import score_configs
from app.tracing.score_configs import Category, ScoreConfigChange, ScoreConfigSpec
from tests.conftest import ProjectFixture, make_project, make_user

pytestmark = pytest.mark.integration

HOLD = timedelta(minutes=5)


def traces(*ids: str) -> list[NewQueueItem]:
    return [NewQueueItem(ObjectType.TRACE, i) for i in ids]


async def user_id(storage: Storage, project: ProjectFixture, role: Role = Role.MEMBER) -> str:
    email, _ = await make_user(storage, project, role)
    user = await accounts.find_user(storage.postgres, email)
    assert user is not None
    return user.id


async def config_ids(storage: Storage, project_id: str) -> list[str]:
    good = await score_configs.create_config(
        storage,
        project_id,
        ScoreConfigSpec("quality", "CATEGORICAL", (Category(0, "bad"), Category(1, "good"))),
    )
    helpful = await score_configs.create_config(storage, project_id, ScoreConfigSpec("helpful", "BOOLEAN"))
    return [good.id, helpful.id]


async def test_queues_are_created_listed_read_changed_and_deleted(
    storage: Storage, project: ProjectFixture
) -> None:
    pid = project.project_id
    configs = await config_ids(storage, pid)
    first = await aq.create_queue(
        storage, pid, QueueSpec(" review ", "by hand", (configs[1], configs[0], configs[1]))
    )
    assert (first.name, first.description, first.score_config_ids) == (
        "review",
        "by hand",
        [configs[1], configs[0]],
    )
    second = await aq.create_queue(storage, pid, QueueSpec("second"))
    rows, total = await aq.list_queues_page(storage, pid, 1, 1)
    assert [q.id for q in rows] == [second.id] and total == 2  # newest first
    rows, _ = await aq.list_queues_page(storage, pid, 2, 1)
    assert [q.id for q in rows] == [first.id]
    assert (await aq.get_queue(storage, pid, first.id)).name == "review"

    with pytest.raises(InvalidInput, match="named 'review' exists"):
        await aq.create_queue(storage, pid, QueueSpec("review"))
    with pytest.raises(InvalidInput, match="named 'review' exists"):
        await aq.update_queue(storage, pid, second.id, QueueChange(name="review"))
    with pytest.raises(InvalidInput, match="name is required"):
        await aq.create_queue(storage, pid, QueueSpec("  "))
    with pytest.raises(InvalidInput, match="no score config 'nope'"):
        await aq.create_queue(storage, pid, QueueSpec("third", score_config_ids=("nope",)))
    await score_configs.update_config(storage, pid, configs[0], ScoreConfigChange(is_archived=True))
    with pytest.raises(InvalidInput, match="'quality' is archived"):
        await aq.create_queue(storage, pid, QueueSpec("third", score_config_ids=(configs[0],)))

    changed = await aq.update_queue(
        storage, pid, second.id, QueueChange(description="d", score_config_ids=(configs[1],))
    )
    assert (changed.name, changed.description, changed.score_config_ids) == ("second", "d", [configs[1]])
    await aq.delete_queue(storage, pid, second.id)
    with pytest.raises(NotFound):
        await aq.get_queue(storage, pid, second.id)
    with pytest.raises(NotFound):
        await aq.delete_queue(storage, pid, second.id)


async def test_a_config_of_another_project_is_unknown(storage: Storage, project: ProjectFixture) -> None:
    other = await make_project(storage)
    foreign = await config_ids(storage, other.project_id)
    with pytest.raises(InvalidInput, match="no score config"):
        await aq.create_queue(storage, project.project_id, QueueSpec("q", score_config_ids=(foreign[0],)))


async def test_items_are_added_once_listed_by_status_and_paged(
    storage: Storage, project: ProjectFixture
) -> None:
    pid = project.project_id
    queue = await aq.create_queue(storage, pid, QueueSpec("items"))
    added = await aq.add_items(storage, pid, queue.id, traces("t1", "t2", "t3"))
    assert [i.object_id for i in added] == ["t1", "t2", "t3"]
    assert all(i.status == "PENDING" and i.completed_at is None and i.queue_id == queue.id for i in added)
    again = await aq.add_items(
        storage,
        pid,
        queue.id,
        [NewQueueItem(ObjectType.TRACE, "t2"), NewQueueItem(ObjectType.SESSION, "t2", ItemStatus.COMPLETED)],
    )
    assert again[0].id == added[1].id  # already there: the same item
    assert again[1].id not in {i.id for i in added} and again[1].status == "COMPLETED"
    assert again[1].completed_at is not None

    rows, total = await aq.list_items_page(storage, pid, queue.id, None, 1, 2)
    assert total == 4 and [i.object_id for i in rows] == ["t2", "t3"]  # newest first (the session, then t3)
    assert rows[0].object_type == "SESSION"
    rows, total = await aq.list_items_page(storage, pid, queue.id, ItemStatus.PENDING, 1, 10)
    assert total == 3 and [i.object_id for i in rows] == ["t3", "t2", "t1"]
    rows, total = await aq.list_items_page(storage, pid, queue.id, ItemStatus.COMPLETED, 1, 10)
    assert total == 1 and rows[0].id == again[1].id
    assert (await aq.progress(storage, pid, [queue.id, "none"])) == {
        queue.id: repo.QueueProgress(total=4, completed=1),
        "none": repo.QueueProgress(),
    }
    assert [
        i.queue_id for i in await repo.items_of_object(storage.postgres, pid, ObjectType.TRACE, "t2")
    ] == [queue.id]

    with pytest.raises(InvalidInput, match="objectId is required"):
        await aq.add_items(storage, pid, queue.id, traces(""))
    with pytest.raises(NotFound, match="annotation queue 'nope'"):
        await aq.add_items(storage, pid, "nope", traces("t9"))
    with pytest.raises(NotFound, match="annotation queue 'nope'"):
        await aq.list_items_page(storage, pid, "nope", None, 1, 10)
    with pytest.raises(InvalidInput, match="objectType must be one of TRACE, OBSERVATION, SESSION"):
        aq.object_type("DATASET")


async def test_status_changes_stamp_completion_and_items_are_deleted(
    storage: Storage, project: ProjectFixture
) -> None:
    pid = project.project_id
    queue = await aq.create_queue(storage, pid, QueueSpec("status"))
    [item] = await aq.add_items(storage, pid, queue.id, traces("t1"))
    reviewer = await user_id(storage, project)
    assert (await repo.claim_next_item(storage.postgres, pid, queue.id, reviewer, hold=HOLD)) is not None

    done = await aq.set_item_status(storage, pid, queue.id, item.id, ItemStatus.COMPLETED, reviewer)
    assert (
        done.status == "COMPLETED" and done.completed_at is not None and done.completed_by_user_id == reviewer
    )
    assert done.locked_by_user_id is None and done.locked_until is None  # completing ends the hold
    fetched = await aq.get_item(storage, pid, queue.id, item.id)
    assert fetched.completed_at == done.completed_at
    pending = await aq.set_item_status(storage, pid, queue.id, item.id, ItemStatus.PENDING)
    assert (
        pending.status == "PENDING" and pending.completed_at is None and pending.completed_by_user_id is None
    )

    with pytest.raises(NotFound, match="item 'nope'"):
        await aq.set_item_status(storage, pid, queue.id, "nope", ItemStatus.COMPLETED)
    with pytest.raises(NotFound, match="annotation queue 'nope'"):
        await aq.get_item(storage, pid, "nope", item.id)
    await aq.delete_item(storage, pid, queue.id, item.id)
    with pytest.raises(NotFound, match=f"item {item.id!r}"):
        await aq.delete_item(storage, pid, queue.id, item.id)


async def test_nothing_crosses_projects(storage: Storage, project: ProjectFixture) -> None:
    pid = project.project_id
    queue = await aq.create_queue(storage, pid, QueueSpec("mine"))
    [item] = await aq.add_items(storage, pid, queue.id, traces("t1"))
    other = await make_project(storage)
    oid = other.project_id
    outsider = await user_id(storage, other)
    await aq.create_queue(storage, oid, QueueSpec("mine"))  # names are unique per project only
    for call in (
        aq.get_queue(storage, oid, queue.id),
        aq.get_item(storage, oid, queue.id, item.id),
        aq.add_items(storage, oid, queue.id, traces("t2")),
        aq.set_item_status(storage, oid, queue.id, item.id, ItemStatus.COMPLETED),
        aq.delete_item(storage, oid, queue.id, item.id),
        aq.delete_queue(storage, oid, queue.id),
        aq.claim_next(storage, oid, queue.id, outsider),
        aq.open_item(storage, oid, queue.id, item.id, outsider),
        aq.assign_user(storage, oid, queue.id, outsider),
    ):
        with pytest.raises(NotFound):
            await call
    assert (await aq.get_item(storage, pid, queue.id, item.id)).status == "PENDING"
    rows, total = await aq.list_items_page(storage, pid, queue.id, None, 1, 10)
    assert [i.id for i in rows] == [item.id] and total == 1


async def test_only_members_who_annotate_are_assigned(storage: Storage, project: ProjectFixture) -> None:
    pid = project.project_id
    queue = await aq.create_queue(storage, pid, QueueSpec("assigned"))
    member, admin = await user_id(storage, project), await user_id(storage, project, Role.ADMIN)
    viewer = await user_id(storage, project, Role.VIEWER)
    stranger = await user_id(storage, await make_project(storage))

    first = await aq.assign_user(storage, pid, queue.id, member)
    assert (first.user_id, first.queue_id, first.project_id) == (member, queue.id, pid)
    again = await aq.assign_user(storage, pid, queue.id, member)  # idempotent
    assert again.created_at == first.created_at
    await aq.assign_user(storage, pid, queue.id, admin)
    assert await aq.assignees(storage, pid, [queue.id]) == {queue.id: [member, admin]}
    assert await repo.queues_assigned_to(storage.postgres, pid, admin) == {queue.id}

    with pytest.raises(NotFound, match="not a member"):
        await aq.assign_user(storage, pid, queue.id, stranger)
    with pytest.raises(NotFound, match="not a member"):
        await aq.assign_user(storage, pid, queue.id, "no-such-user")
    with pytest.raises(InvalidInput, match="viewers cannot annotate"):
        await aq.assign_user(storage, pid, queue.id, viewer)
    with pytest.raises(NotFound, match="annotation queue 'nope'"):
        await aq.assign_user(storage, pid, "nope", member)

    await aq.unassign_user(storage, pid, queue.id, member)
    await aq.unassign_user(storage, pid, queue.id, member)  # idempotent
    assert await aq.assignees(storage, pid, [queue.id]) == {queue.id: [admin]}
    with pytest.raises(NotFound):
        await aq.unassign_user(storage, pid, "nope", member)
    await aq.delete_queue(storage, pid, queue.id)
    assert await repo.queues_assigned_to(storage.postgres, pid, admin) == set()


async def test_a_reviewers_queues_come_first_across_pages(storage: Storage, project: ProjectFixture) -> None:
    pid = project.project_id
    made = [await aq.create_queue(storage, pid, QueueSpec(f"q{n}")) for n in range(4)]
    me, other = await user_id(storage, project), await user_id(storage, project)
    await aq.assign_user(storage, pid, made[0].id, me)  # the oldest two are mine
    await aq.assign_user(storage, pid, made[1].id, me)
    await aq.assign_user(storage, pid, made[3].id, other)

    async def names(first_for: str | None) -> list[list[str]]:
        pages = [await aq.list_queues_page(storage, pid, n, 2, first_for) for n in (1, 2)]
        assert {total for _, total in pages} == {4}
        return [[q.name for q in rows] for rows, _ in pages]

    assert await names(me) == [["q1", "q0"], ["q3", "q2"]]
    assert await names(None) == [["q3", "q2"], ["q1", "q0"]]  # newest first


async def test_review_order_holds_skips_and_resumes(storage: Storage, project: ProjectFixture) -> None:
    pid, pg = project.project_id, storage.postgres
    queue = await aq.create_queue(storage, pid, QueueSpec("review"))
    ann, bob = await user_id(storage, project), await user_id(storage, project)
    items = await aq.add_items(storage, pid, queue.id, traces("t1", "t2", "t3", "t4"))
    t1, t2, t3, t4 = (i.id for i in items)
    assert await repo.assign_items(pg, pid, queue.id, [t3], bob) == 1

    async def claim(user: str, after: str | None = None, hold: timedelta = HOLD) -> str | None:
        item = await repo.claim_next_item(pg, pid, queue.id, user, hold=hold, after_item_id=after)
        return None if item is None else item.object_id

    assert await claim(bob) == "t3"  # assigned to bob: first for him
    assert await claim(ann) == "t1"  # oldest first
    assert await claim(ann) == "t1"  # still held by ann: resumed
    assert await claim(bob, after=t3) == "t2"  # skip: t1 is held by ann, t3 is skipped
    held = await aq.get_item(storage, pid, queue.id, t3)
    assert held.locked_by_user_id is None  # bob's previous hold ended with the new claim
    assert await claim(ann, after=t1) == "t3"  # skip over t2 (bob's)
    assert await claim(ann, after=t3) == "t4"
    assert await claim(ann, after=t4) == "t1"  # wraps around to the start
    await aq.set_item_status(storage, pid, queue.id, t1, ItemStatus.COMPLETED, ann)
    assert await claim(ann, after=t1) == "t3"  # after saving: the next one, completed ones never again
    await aq.release_item(storage, pid, queue.id, t3, ann)  # ann leaves the queue
    assert await claim(bob, hold=timedelta(0)) == "t2"  # bob resumes t2, now held with no time to run
    assert await claim(ann) == "t2"  # an expired hold frees the item
    for item_id in (t2, t3, t4):
        await aq.set_item_status(storage, pid, queue.id, item_id, ItemStatus.COMPLETED, ann)
    assert await claim(ann) is None
    assert await aq.claim_next(storage, pid, queue.id, ann) is None
    with pytest.raises(NotFound):
        await aq.claim_next(storage, pid, "nope", ann)


async def test_expired_and_foreign_holds(storage: Storage, project: ProjectFixture) -> None:
    pid, pg = project.project_id, storage.postgres
    queue = await aq.create_queue(storage, pid, QueueSpec("holds"))
    ann, bob = await user_id(storage, project), await user_id(storage, project)
    [t1, t2] = await aq.add_items(storage, pid, queue.id, traces("t1", "t2"))

    opened = await aq.open_item(storage, pid, queue.id, t2.id, ann)  # opened by id, out of order
    assert opened.held and opened.item.locked_by_user_id == ann and opened.item.locked_until is not None
    by_bob = await aq.open_item(storage, pid, queue.id, t2.id, bob)
    assert not by_bob.held and by_bob.item.locked_by_user_id == ann
    claimed = await repo.claim_next_item(pg, pid, queue.id, bob, hold=timedelta(0))
    assert claimed is not None and claimed.id == t1.id  # t2 is ann's
    # bob's hold had no time to run: ann may take t1, and opening it ends her hold on t2
    assert (await aq.open_item(storage, pid, queue.id, t1.id, ann)).held
    assert (await aq.get_item(storage, pid, queue.id, t2.id)).locked_by_user_id is None
    assert (await aq.open_item(storage, pid, queue.id, t2.id, bob)).held
    await aq.set_item_status(storage, pid, queue.id, t2.id, ItemStatus.COMPLETED, bob)
    done = await aq.open_item(storage, pid, queue.id, t2.id, ann)
    assert not done.held and done.item.status == "COMPLETED"  # a completed item is shown, not held
    with pytest.raises(NotFound, match="item 'nope'"):
        await aq.open_item(storage, pid, queue.id, "nope", ann)


async def test_concurrent_reviewers_never_get_the_same_item(
    storage: Storage, project: ProjectFixture
) -> None:
    pid = project.project_id
    queue = await aq.create_queue(storage, pid, QueueSpec("busy"))
    await aq.add_items(storage, pid, queue.id, traces(*(f"t{n}" for n in range(12))))
    reviewers = [await user_id(storage, project) for _ in range(8)]
    claimed = await asyncio.gather(*(aq.claim_next(storage, pid, queue.id, r) for r in reviewers))
    ids = [i.id for i in claimed if i is not None]
    assert len(ids) == 8 and len(set(ids)) == 8
    assert {i.locked_by_user_id for i in claimed if i is not None} == set(reviewers)


async def test_bulk_add_keeps_the_order_given(storage: Storage, project: ProjectFixture) -> None:
    pid = project.project_id
    queue = await aq.create_queue(storage, pid, QueueSpec("bulk"))
    ids = [secrets.token_hex(8) for _ in range(300)]
    await aq.add_items(storage, pid, queue.id, traces(*ids))
    reviewer = await user_id(storage, project)
    seen, after = [], None
    for _ in range(5):
        item = await aq.claim_next(storage, pid, queue.id, reviewer, after)
        assert item is not None
        seen.append(item.object_id)
        after = item.id
    assert seen == ids[:5]
    with pytest.raises(InvalidInput, match="at most 1000"):
        await aq.add_items(storage, pid, queue.id, traces(*(str(n) for n in range(1001))))

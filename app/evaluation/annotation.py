"""Human annotation in the UI: the queue pages' views, what a queue item shows (its trace, observation or
session, read within the project), the choices pages offer for adding objects to queues, and saving a
reviewer's scores for an item.

Scores saved here have source ANNOTATION and name their config, their queue and their author; one score per
(queue, item, config, reviewer), so annotating an item again replaces the reviewer's scores.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from app.auth.caller import Caller
from app.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.evaluation import annotation_queues as aq
from app.evaluation.annotation_queues import ItemStatus, NewQueueItem, ObjectType, QueueProgress, QueueSpec
from app.storage import Storage
from app.storage.clickhouse.queries import groups as group_queries
from app.storage.clickhouse.queries import observations as observation_queries
from app.storage.clickhouse.queries.common import lookup_range
from app.storage.clickhouse.queries.views import ScoreView
from app.storage.clickhouse.write_rows import ScoreRow
from app.storage.postgres import accounts
from app.storage.postgres import annotation_queues as repo
from app.storage.postgres.annotation_tables import AnnotationQueue, AnnotationQueueItem
from app.storage.postgres.tables import Role, ScoreConfig
from app.tracing import scores, trace_service
from app.tracing.score_configs import fetch_configs, list_configs
from app.tracing.scores import NewScore
from app.tracing.trace_service import SessionDetail, TraceDetail

CHOICES = 100  # queues offered by the "Add to queue" forms, newest first
SCORE_IDS = uuid.UUID("9a4c8f0e-4b1e-5f3a-8d2c-6e7b1a0c5d3f")  # namespace of annotation score ids
COMMENT_MAX = 5_000


@dataclass(frozen=True, slots=True)
class AnnotationValue:
    """A reviewer's value for one of the queue's score configs, as given: a number, or text (a category's
    label, True/False, or a number typed into a form) read by the config's data type."""

    config_id: str
    value: float | str


@dataclass(frozen=True, slots=True)
class TraceTarget:
    """A trace under review, or (`observation_id`) one observation of it shown in its trace."""

    detail: TraceDetail
    observation_id: str | None = None


@dataclass(frozen=True, slots=True)
class SessionTarget:
    """A session under review, read as a conversation."""

    detail: SessionDetail


AnnotationTarget = TraceTarget | SessionTarget


@dataclass(frozen=True, slots=True)
class Person:
    """A user with a role in the project (theirs or their organization's)."""

    user_id: str
    email: str
    role: Role

    @property
    def can_annotate(self) -> bool:
        return self.role.at_least(Role.MEMBER)


@dataclass(frozen=True, slots=True)
class QueueChoices:
    """What an "Add to queue" form offers: the project's queues (newest first), the people items may be
    assigned to, and the queues the object is in already."""

    queues: list[AnnotationQueue]
    reviewers: list[Person]
    containing: list[AnnotationQueue] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class QueueSummary:
    queue: AnnotationQueue
    progress: QueueProgress
    assignees: list[Person]
    assigned_to_me: bool


@dataclass(frozen=True, slots=True)
class QueuesView:
    """A page of queues (the caller's assigned ones first), how many there are, and what the create form
    offers: the live score configs and the people who can annotate."""

    summaries: list[QueueSummary]
    total: int
    configs: list[ScoreConfig]
    people: list[Person]


@dataclass(frozen=True, slots=True)
class QueueView:
    """One queue with its configs (in the queue's order), progress, assignees, a page of its items and
    everything its forms offer."""

    queue: AnnotationQueue
    configs: list[ScoreConfig]
    progress: QueueProgress
    assignees: list[Person]
    items: list[AnnotationQueueItem]
    total_items: int
    people: dict[str, Person]
    all_configs: list[ScoreConfig]


@dataclass(frozen=True, slots=True)
class Review:
    """The annotate view of one queue for one reviewer. `item` None: nothing left for them. `held`: they
    hold the item; otherwise it is completed, or `holder` holds it. `target` None: the object could not be
    read in this project (`missing` says why). `given`: the reviewer's scores on this item by config id."""

    queue: AnnotationQueue
    configs: list[ScoreConfig]
    progress: QueueProgress
    item: AnnotationQueueItem | None = None
    held: bool = False
    holder: Person | None = None
    target: AnnotationTarget | None = None
    missing: str | None = None
    given: dict[str, ScoreView] = field(default_factory=dict)
    completed_by: Person | None = None


# -- people and choices -------------------------------------------------------------------------


async def people(storage: Storage, caller: Caller) -> list[Person]:
    """Everyone with a role in the caller's project, by email."""
    members = await accounts.list_members(storage.postgres, caller.organization_id, caller.project_id)
    return [Person(m.user.id, m.user.email, m.role) for m in members if m.role is not None]


async def queue_choices(
    storage: Storage, caller: Caller, object_type: ObjectType | None = None, object_id: str | None = None
) -> QueueChoices:
    """The "Add to queue" choices; with an object, also the queues it is in."""
    queues = await repo.list_queues(storage.postgres, caller.project_id, CHOICES)
    if not queues:
        return QueueChoices([], [])
    reviewers = [p for p in await people(storage, caller) if p.can_annotate]
    containing: list[AnnotationQueue] = []
    if object_type is not None and object_id is not None:
        items = await repo.items_of_object(storage.postgres, caller.project_id, object_type, object_id)
        in_queues = {i.queue_id for i in items}
        containing = [q for q in queues if q.id in in_queues]
    return QueueChoices(queues, reviewers, containing)


async def _reviewer(storage: Storage, project_id: str, user_id: str) -> str:
    """`user_id` when that user may annotate in the project; NotFound or InvalidInput naming them."""
    access = await accounts.fetch_project_access(storage.postgres, user_id, project_id)
    if access is None:
        raise NotFound(f"user {user_id!r} is not a member of this project")
    if not access.role.at_least(Role.MEMBER):
        raise InvalidInput(f"assignee: user {user_id!r} has the viewer role; viewers cannot annotate")
    return user_id


# -- queue pages ---------------------------------------------------------------------------------


async def queues_view(storage: Storage, caller: Caller, page: int, limit: int) -> QueuesView:
    """Page `page` (from 1) of the project's queues, newest first, those assigned to the caller first."""
    pid = caller.project_id
    rows, total = await aq.list_queues_page(storage, pid, page, limit, caller.user_id)
    ids = [q.id for q in rows]
    progress = await aq.progress(storage, pid, ids)
    assigned = await aq.assignees(storage, pid, ids)
    everyone = await people(storage, caller)
    by_id = {p.user_id: p for p in everyone}
    summaries = [
        QueueSummary(
            q,
            progress[q.id],
            [by_id[u] for u in assigned[q.id] if u in by_id],
            caller.user_id in assigned[q.id],
        )
        for q in rows
    ]
    configs = await _live_configs(storage, pid)
    return QueuesView(summaries, total, configs, [p for p in everyone if p.can_annotate])


async def _live_configs(storage: Storage, project_id: str) -> list[ScoreConfig]:
    """The project's score configs a queue may use (archived ones left out), newest first."""
    return [c for c in await list_configs(storage, project_id, 200) if not c.is_archived]


async def create_queue(
    storage: Storage, caller: Caller, spec: QueueSpec, reviewer_ids: Sequence[str] = ()
) -> AnnotationQueue:
    """A new queue with its reviewers assigned (each must be able to annotate); InvalidInput as
    app.evaluation.annotation_queues.create_queue says."""
    caller.require(Role.MEMBER)
    chosen = list(dict.fromkeys(reviewer_ids))
    for user_id in chosen:  # before the queue exists: a bad reviewer creates nothing
        await _reviewer(storage, caller.project_id, user_id)
    queue = await aq.create_queue(storage, caller.project_id, spec)
    for user_id in chosen:
        await aq.assign_user(storage, caller.project_id, queue.id, user_id)
    return queue


async def queue_view(
    storage: Storage, caller: Caller, queue_id: str, status: ItemStatus | None, page: int, limit: int
) -> QueueView:
    """One queue and page `page` of its items (newest first, of `status` when given); NotFound."""
    pid = caller.project_id
    queue = await aq.get_queue(storage, pid, queue_id)
    found = await fetch_configs(storage, pid, queue.score_config_ids)
    items, total = await aq.list_items_page(storage, pid, queue_id, status, page, limit)
    progress = (await aq.progress(storage, pid, [queue_id]))[queue_id]
    assigned = (await aq.assignees(storage, pid, [queue_id]))[queue_id]
    everyone = {p.user_id: p for p in await people(storage, caller)}
    return QueueView(
        queue,
        [found[c] for c in queue.score_config_ids if c in found],
        progress,
        [everyone[u] for u in assigned if u in everyone],
        items,
        total,
        everyone,
        await _live_configs(storage, pid),
    )


async def add_objects(
    storage: Storage,
    caller: Caller,
    queue_id: str,
    object_type: ObjectType,
    object_ids: Sequence[str],
    assignee: str | None = None,
) -> list[AnnotationQueueItem]:
    """Add objects to a queue, new items meant for `assignee` when given (someone who can annotate);
    objects already in it keep their items. InvalidInput without any object."""
    caller.require(Role.MEMBER)
    ids = list(dict.fromkeys(i.strip() for i in object_ids if i.strip()))
    if not ids:
        raise InvalidInput("object_id: choose at least one object to add")
    if assignee:
        await _reviewer(storage, caller.project_id, assignee)
    new = [NewQueueItem(object_type, i, assigned_user_id=assignee or None) for i in ids]
    return await aq.add_items(storage, caller.project_id, queue_id, new)


async def assign_items(
    storage: Storage, caller: Caller, queue_id: str, item_ids: Sequence[str], assignee: str | None
) -> int:
    """Mean these items for `assignee` (None: for anyone); how many changed. NotFound for an unknown
    queue; InvalidInput without items or for an assignee who cannot annotate."""
    caller.require(Role.MEMBER)
    if not item_ids:
        raise InvalidInput("item_id: choose at least one item")
    await aq.get_queue(storage, caller.project_id, queue_id)
    if assignee:
        await _reviewer(storage, caller.project_id, assignee)
    return await repo.assign_items(storage.postgres, caller.project_id, queue_id, item_ids, assignee or None)


# -- reviewing -----------------------------------------------------------------------------------


def _not_found(item: AnnotationQueueItem) -> NotFound:
    kind = {"TRACE": "trace", "OBSERVATION": "observation", "SESSION": "session"}[item.object_type]
    return NotFound(f"{kind} {item.object_id!r} not found in this project")


async def load_target(storage: Storage, project_id: str, item: AnnotationQueueItem) -> AnnotationTarget:
    """What an item points at, read within the project: the trace (with its tree and scores), the
    observation within its trace, or the session as a conversation. NotFound when the project has no
    such object (e.g. an id of another project's trace)."""
    try:
        match ObjectType(item.object_type):
            case ObjectType.TRACE:
                return TraceTarget(await trace_service.trace_detail(storage, project_id, item.object_id))
            case ObjectType.OBSERVATION:
                ch = storage.clickhouse
                found = await observation_queries.fetch_observation(ch, project_id, item.object_id)
                if found is None:
                    raise _not_found(item)
                detail = await trace_service.trace_detail(storage, project_id, found.trace_id)
                return TraceTarget(detail, found.id)
            case ObjectType.SESSION:
                return SessionTarget(await trace_service.session_detail(storage, project_id, item.object_id))
    except NotFound:
        raise _not_found(item) from None


def _given(
    target: AnnotationTarget, queue_id: str, item: AnnotationQueueItem, user_id: str
) -> dict[str, ScoreView]:
    """The reviewer's scores given through this queue to this item's object, by config id."""
    if isinstance(target, TraceTarget):
        candidates = [s for s in target.detail.scores if s.observation_id == target.observation_id]
    else:
        candidates = target.detail.session_scores
    mine = [
        s
        for s in candidates
        if s.queue_id == queue_id and s.author_user_id == user_id and s.config_id is not None
    ]
    return {s.config_id: s for s in sorted(mine, key=lambda s: s.timestamp) if s.config_id}


def _user(caller: Caller) -> str:
    if caller.user_id is None:
        raise Forbidden("annotating needs a logged-in user")
    return caller.user_id


async def _people_by_id(storage: Storage, caller: Caller, wanted: bool) -> dict[str, Person]:
    return {p.user_id: p for p in await people(storage, caller)} if wanted else {}


async def _target_or_why(
    storage: Storage, project_id: str, item: AnnotationQueueItem | None
) -> AnnotationTarget | str | None:
    """What the item shows, or why it cannot be read (NotFound's message); None without an item."""
    if item is None:
        return None
    try:
        return await load_target(storage, project_id, item)
    except NotFound as exc:
        return str(exc)


async def open_review(
    storage: Storage,
    caller: Caller,
    queue_id: str,
    *,
    item_id: str | None = None,
    after_item_id: str | None = None,
) -> Review:
    """The annotate view: the item asked for (held for the reviewer unless someone else holds it), else
    the reviewer's next item after `after_item_id` (or the one they hold, or their first), with what it
    shows. NotFound for an unknown queue or item. Independent reads run side by side (this is the page
    a reviewer waits for after every save)."""
    caller.require(Role.MEMBER)
    user_id, pid = _user(caller), caller.project_id
    held = True
    item: AnnotationQueueItem | None
    if item_id is not None:
        queue, hold = await asyncio.gather(
            aq.get_queue(storage, pid, queue_id), aq.open_item(storage, pid, queue_id, item_id, user_id)
        )
        item, held = hold.item, hold.held
    else:
        queue, item = await asyncio.gather(
            aq.get_queue(storage, pid, queue_id),
            aq.claim_next(storage, pid, queue_id, user_id, after_item_id=after_item_id),
        )
    held_by_other = (
        item is not None and not held and item.status == ItemStatus.PENDING.value and item.locked_by_user_id
    )
    found, progress, by_id, target = await asyncio.gather(
        fetch_configs(storage, pid, queue.score_config_ids),
        aq.progress(storage, pid, [queue_id]),
        _people_by_id(storage, caller, item is not None and (not held or bool(item.completed_by_user_id))),
        _target_or_why(storage, pid, None if held_by_other else item),
    )
    configs = [found[c] for c in queue.score_config_ids if c in found and not found[c].is_archived]
    review = Review(queue, configs, progress[queue_id])
    if item is None:
        return review
    if held_by_other and item.locked_by_user_id:
        holder = by_id.get(item.locked_by_user_id, Person(item.locked_by_user_id, "", Role.MEMBER))
        return replace(review, item=item, held=False, holder=holder)
    review = replace(
        review,
        item=item,
        held=held,
        completed_by=by_id.get(item.completed_by_user_id) if item.completed_by_user_id else None,
    )
    if isinstance(target, str) or target is None:
        return replace(review, missing=target or "not found")
    return replace(review, target=target, given=_given(target, queue_id, item, user_id))


def config_value(config: ScoreConfig, raw: float | str) -> float | str:
    """A value given for `config` as its score holds it; InvalidInput naming the config otherwise."""
    field_name = f"score.{config.name}"
    match config.data_type:
        case "NUMERIC":
            try:
                number = float(raw)
            except ValueError:
                number = math.nan
            if not math.isfinite(number):
                raise InvalidInput(f"{field_name}: {raw!r} is not a number")
            return number
        case "BOOLEAN":
            if isinstance(raw, str):
                text = raw.strip().lower()
                if text in ("true", "1", "1.0"):
                    return 1.0
                if text in ("false", "0", "0.0"):
                    return 0.0
            elif raw in (0, 1):
                return float(raw)
            raise InvalidInput(f"{field_name}: must be True or False")
        case _:  # CATEGORICAL (a label) and TEXT
            return str(raw).strip()


async def _object_ids(
    storage: Storage, project_id: str, item: AnnotationQueueItem
) -> tuple[str | None, str | None, str | None]:
    """(trace id, observation id, session id) the item's scores name; NotFound when the project has no
    such object."""
    ch = storage.clickhouse
    match ObjectType(item.object_type):
        case ObjectType.TRACE:
            if await trace_service.fetch_trace(storage, project_id, item.object_id) is None:
                raise _not_found(item)
            return item.object_id, None, None
        case ObjectType.OBSERVATION:
            found = await observation_queries.fetch_observation(ch, project_id, item.object_id)
            if found is None:
                raise _not_found(item)
            return found.trace_id, found.id, None
        case ObjectType.SESSION:
            window = lookup_range()
            group = await group_queries.fetch_group(ch, project_id, "session_id", item.object_id, window)
            if group is None:
                raise _not_found(item)
            return None, None, item.object_id


def score_id(queue_id: str, item_id: str, config_id: str, user_id: str) -> str:
    """The id of a reviewer's score for one config on one item: the same each time, so a new value
    replaces the old."""
    return str(uuid.uuid5(SCORE_IDS, f"{queue_id}/{item_id}/{config_id}/{user_id}"))


async def submit_annotation(
    storage: Storage,
    caller: Caller,
    queue_id: str,
    item_id: str,
    values: Sequence[AnnotationValue],
    comment: str | None = None,
    cleared: Sequence[str] = (),
) -> list[ScoreRow]:
    """Store the reviewer's scores for an item (source ANNOTATION, the config, the queue and the reviewer;
    `comment` on each) in one insert, then mark the item COMPLETED by them. Values left out are not
    written; the reviewer's earlier scores for the `cleared` config ids are deleted. Forbidden for
    viewers; NotFound for an unknown queue, item or object; Conflict while another reviewer holds the
    item; InvalidInput naming a value that does not fit its config."""
    caller.require(Role.MEMBER)
    user_id, pid = _user(caller), caller.project_id
    item = await aq.get_item(storage, pid, queue_id, item_id)
    now = datetime.now(UTC)
    if (
        item.locked_by_user_id not in (None, user_id)
        and item.locked_until is not None
        and item.locked_until > now
        and item.status == ItemStatus.PENDING.value
    ):
        raise Conflict("another reviewer has this item open; it is held for them for a few minutes")
    queue = await aq.get_queue(storage, pid, queue_id)
    text = (comment or "").replace("\r\n", "\n").strip() or None  # forms send textarea lines as CRLF
    if text is not None and len(text) > COMMENT_MAX:
        raise InvalidInput(f"comment: at most {COMMENT_MAX} characters")
    configs = await fetch_configs(storage, pid, [v.config_id for v in values])
    chosen: dict[str, float | str] = {}
    for v in values:
        config = configs.get(v.config_id)
        if config is None or v.config_id not in queue.score_config_ids:
            raise InvalidInput(f"score.{v.config_id}: not a score config of this queue")
        chosen[v.config_id] = config_value(config, v.value)
    if text is not None and not chosen and not cleared:  # clearing every score takes its comment too
        raise InvalidInput("comment: give at least one score to comment on")
    if unknown := [c for c in cleared if c not in queue.score_config_ids]:
        raise InvalidInput(f"score.{unknown[0]}: not a score config of this queue")
    trace_id, observation_id, session_id = await _object_ids(storage, pid, item)
    new = [
        NewScore(
            name=configs[config_id].name,
            value=value,
            data_type=configs[config_id].data_type,
            trace_id=trace_id,
            observation_id=observation_id,
            session_id=session_id,
            comment=text,
            config_id=config_id,
            queue_id=queue_id,
            author_user_id=user_id,
            source="ANNOTATION",
            id=score_id(queue_id, item_id, config_id, user_id),
        )
        for config_id, value in chosen.items()
    ]
    rows = await scores.create_scores(storage, pid, new)
    for config_id in set(cleared) - chosen.keys():
        with contextlib.suppress(NotFound):  # nothing given before
            await scores.delete_score(storage, pid, score_id(queue_id, item_id, config_id, user_id))
    await aq.set_item_status(storage, pid, queue_id, item_id, ItemStatus.COMPLETED, user_id)
    return rows


async def release(storage: Storage, caller: Caller, queue_id: str, item_id: str) -> None:
    """End the reviewer's hold on an item, so other reviewers get it at once; NotFound for an unknown
    queue or item."""
    await aq.get_item(storage, caller.project_id, queue_id, item_id)
    await aq.release_item(storage, caller.project_id, queue_id, item_id, _user(caller))

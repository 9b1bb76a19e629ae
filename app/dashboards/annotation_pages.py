"""Annotation queue pages: the queues (create, progress, assignees), one queue (items with a status filter
and pages, edit, delete, reviewers, who items are meant for), adding objects from the traces list, a trace
and a session, and the annotate view (the object beside one control per score config; save and next, skip).

Reads need a login; every write, and the annotate view (it holds items for its reviewer), needs the member
role: viewers read only. Every form carries the CSRF token.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from litestar import Request, get, post
from litestar.datastructures import State
from litestar.response import Redirect, Template

from app.auth.caller import Caller
from app.dashboards.auth_pages import safe_next
from app.dashboards.dataset_pages import whole
from app.dashboards.deps import UiSession, form_lists, page, requires_login, requires_member
from app.dashboards.display import chat, pretty
from app.dashboards.forms import Fields, FormInvalid, refused
from app.dashboards.params import prompt_url, query, url
from app.dashboards.trace_pages import trace_view
from app.errors import InvalidInput, UserError
from app.evaluation import annotation
from app.evaluation import annotation_queues as aq
from app.evaluation.annotation import AnnotationValue, SessionTarget, TraceTarget
from app.evaluation.annotation_queues import ItemStatus, QueueChange, QueueSpec
from app.storage import Storage
from app.storage.postgres.tables import Role

PAGE_SIZE = 50
STATUS_FILTERS = {"pending": ItemStatus.PENDING, "completed": ItemStatus.COMPLETED, "all": None}
SCORE_FIELD = "score."  # form fields `score.<config id>` hold the values of a queue's score configs
QUEUE_FIELDS = Fields(
    {
        "name": "Name",
        "description": "Description",
        "score_config_id": "Score configs",
        "reviewer": "Reviewers",
        "user_id": "Reviewer",
        "item_id": "Items",
        "confirm": "Confirm",
    },
    names={"scoreConfigIds": "score_config_id", "assignee": "user_id"},
    about={"user ": "user_id"},
)


def queue_path(queue_id: str, *rest: str) -> str:
    return "/".join(["/annotation-queues", quote(queue_id, safe=""), *(quote(r, safe="") for r in rest)])


def _see(path: str) -> Redirect:
    """After a form: GET `path` (303, so a reload does not post again)."""
    return Redirect(path, status_code=303)


def _one(form: dict[str, list[str]], key: str) -> str:
    values = form.get(key) or [""]
    return values[0]


def _with_query(path: str, **params: str) -> str:
    """A same-site path with `params` set in its query string (replacing any of those names; an empty
    value removes its name)."""
    parts = urlsplit(path)
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    return urlunsplit(("", "", parts.path, urlencode([*kept, *((k, v) for k, v in params.items() if v)]), ""))


# -- the queues ----------------------------------------------------------------------------------------


async def _queues_page(
    request: Request[Any, Any, State],
    session: UiSession,
    storage: Storage,
    *,
    draft: dict[str, Any] | None = None,
    exc: UserError | None = None,
) -> Template:
    number = whole(query(request).get("page"), "page")
    view = await annotation.queues_view(storage, session.caller, number, PAGE_SIZE)
    response = page(
        session,
        "annotation_queues.html",
        view=view,
        page=number,
        pages=max(1, -(-view.total // PAGE_SIZE)),
        page_url=lambda n: url("/annotation-queues", {"page": n}),
        queue_path=queue_path,
        draft=draft or {"name": "", "description": "", "configs": [], "reviewers": []},
        errors=QUEUE_FIELDS.errors(exc) if exc else {},
        can_write=session.caller.role.at_least(Role.MEMBER),
    )
    return refused(response, exc) if exc else response


@get("/annotation-queues", guards=[requires_login])
async def queues_page(request: Request[Any, Any, State], session: UiSession, storage: Storage) -> Template:
    """The project's queues (those assigned to me first) with progress and assignees; the create form."""
    return await _queues_page(request, session, storage)


@post("/annotation-queues", guards=[requires_member])
async def queue_create(
    request: Request[Any, Any, State], session: UiSession, storage: Storage
) -> Template | Redirect:
    """Create a queue with its score configs and reviewers; a refused one shows the form again."""
    form = await form_lists(request)
    configs, reviewers = form.get("score_config_id", []), form.get("reviewer", [])
    spec = QueueSpec(_one(form, "name"), _one(form, "description").strip() or None, tuple(configs))
    try:
        queue = await annotation.create_queue(storage, session.caller, spec, reviewers)
    except UserError as exc:
        draft = {
            "name": spec.name,
            "description": spec.description or "",
            "configs": configs,
            "reviewers": reviewers,
        }
        return await _queues_page(request, session, storage, draft=draft, exc=exc)
    return _see(queue_path(queue.id))


# -- one queue -------------------------------------------------------------------------------------------


@get("/annotation-queues/{queue_id:str}", guards=[requires_login])
async def queue_page(
    request: Request[Any, Any, State], session: UiSession, storage: Storage, queue_id: str
) -> Template:
    """A queue's items (`?status=pending|completed|all`, `?page=`), progress, reviewers and forms."""
    return await _queue_page(request, session, storage, queue_id)


async def _queue_page(
    request: Request[Any, Any, State],
    session: UiSession,
    storage: Storage,
    queue_id: str,
    *,
    refused_form: str | None = None,
    typed: dict[str, Any] | None = None,
    exc: UserError | None = None,
) -> Template:
    """A queue's page; after a refused form (`refused_form`: assign, edit or delete), that form as `typed`
    with the error beside its field."""
    q = query(request)
    key = q.get("status") or "all"
    if key not in STATUS_FILTERS:
        raise InvalidInput(f"status must be one of {', '.join(STATUS_FILTERS)}")
    number = whole(q.get("page"), "page")
    view = await annotation.queue_view(
        storage, session.caller, queue_id, STATUS_FILTERS[key], number, PAGE_SIZE
    )
    path = queue_path(queue_id)
    response = page(
        session,
        "annotation_queue.html",
        refused_form=refused_form,
        typed=typed or {},
        errors=QUEUE_FIELDS.errors(exc) if exc else {},
        view=view,
        status=key,
        statuses=list(STATUS_FILTERS),
        page=number,
        pages=max(1, -(-view.total_items // PAGE_SIZE)),
        page_url=lambda n: url(path, {"status": key, "page": n}),
        status_url=lambda s: url(path, {"status": s}),
        queue_path=queue_path,
        object_url=object_url,
        can_write=session.caller.role.at_least(Role.MEMBER),
        here=url(path, {"status": key, "page": number}),
        now=datetime.now(UTC),
    )
    return refused(response, exc) if exc else response


def object_url(object_type: str, object_id: str) -> str | None:
    """The page of a queued trace or session (an observation has none of its own: its trace's id is
    only known once it is read)."""
    if object_type == "SESSION":
        return f"/sessions/{quote(object_id, safe='')}"
    if object_type == "TRACE":
        return f"/traces/{quote(object_id, safe='')}"
    return None


@post("/annotation-queues/{queue_id:str}/edit", guards=[requires_member])
async def queue_edit(
    request: Request[Any, Any, State], session: UiSession, storage: Storage, queue_id: str
) -> Template | Redirect:
    """Rename a queue, change its description and its score configs."""
    form = await form_lists(request)
    change = QueueChange(
        name=_one(form, "name"),
        description=_one(form, "description").strip() or None,
        score_config_ids=tuple(form.get("score_config_id", [])),
    )
    try:
        await aq.update_queue(storage, session.caller.project_id, queue_id, change)
    except UserError as exc:
        typed = {
            "name": change.name,
            "description": change.description or "",
            "configs": change.score_config_ids,
        }
        return await _queue_page(
            request, session, storage, queue_id, refused_form="edit", typed=typed, exc=exc
        )
    return _see(queue_path(queue_id))


@post("/annotation-queues/{queue_id:str}/delete", guards=[requires_member])
async def queue_delete(
    request: Request[Any, Any, State], session: UiSession, storage: Storage, queue_id: str
) -> Template | Redirect:
    """Delete a queue with its items (the scores given through it stay), once its name is typed."""
    form = await form_lists(request)
    project_id = session.caller.project_id
    queue = await aq.get_queue(storage, project_id, queue_id)
    typed = _one(form, "confirm")
    if typed.strip() != queue.name:
        exc = FormInvalid({"confirm": f"Type the queue's name, {queue.name}, to delete it"})
        return await _queue_page(
            request, session, storage, queue_id, refused_form="delete", typed={"confirm": typed}, exc=exc
        )
    await aq.delete_queue(storage, project_id, queue_id)
    return _see("/annotation-queues")


@post("/annotation-queues/{queue_id:str}/assignees", guards=[requires_member])
async def queue_assign(
    request: Request[Any, Any, State], session: UiSession, storage: Storage, queue_id: str
) -> Template | Redirect:
    """Assign a reviewer (a member of the project who can annotate) to the queue."""
    form = await form_lists(request)
    user_id = _one(form, "user_id").strip()
    try:
        if not user_id:
            raise FormInvalid({"user_id": "Choose a reviewer"})
        await aq.assign_user(storage, session.caller.project_id, queue_id, user_id)
    except UserError as exc:
        return await _queue_page(request, session, storage, queue_id, refused_form="assign", exc=exc)
    return _see(queue_path(queue_id))


@post("/annotation-queues/{queue_id:str}/assignees/{user_id:str}/remove", guards=[requires_member])
async def queue_unassign(caller: Caller, storage: Storage, queue_id: str, user_id: str) -> Redirect:
    await aq.unassign_user(storage, caller.project_id, queue_id, user_id)
    return _see(queue_path(queue_id))


@post("/annotation-queues/{queue_id:str}/items/assign", guards=[requires_member])
async def items_assign(
    request: Request[Any, Any, State], session: UiSession, storage: Storage, queue_id: str
) -> Template | Redirect:
    """Mean the chosen items for one reviewer (they see them first), or for anyone."""
    form = await form_lists(request)
    assignee = _one(form, "user_id").strip() or None
    try:
        await annotation.assign_items(storage, session.caller, queue_id, form.get("item_id", []), assignee)
    except UserError as exc:
        return await _queue_page(request, session, storage, queue_id, refused_form="items", exc=exc)
    return _see(safe_next(_one(form, "next") or queue_path(queue_id)))


@post("/annotation-queues/{queue_id:str}/items/{item_id:str}/delete", guards=[requires_member])
async def item_delete(caller: Caller, storage: Storage, queue_id: str, item_id: str) -> Redirect:
    """Take an item out of the queue (scores given to its object stay)."""
    await aq.delete_item(storage, caller.project_id, queue_id, item_id)
    return _see(queue_path(queue_id))


@post("/annotation-queues/items", guards=[requires_member])
async def items_add(request: Request[Any, Any, State], caller: Caller, storage: Storage) -> Redirect:
    """Add objects (repeated `object_id`, of `object_type`) to the queue `queue_id`, meant for `assignee`
    when chosen; back to `next` (a same-site path) saying how many are queued, or, refused, why (beside
    the form, the queue and reviewer still chosen)."""
    form = await form_lists(request)
    queue_id = _one(form, "queue_id").strip()
    assignee = _one(form, "assignee").strip()
    back = safe_next(_one(form, "next") or "/traces")
    kind = aq.object_type(_one(form, "object_type"), "object_type")  # a form's own value: not shown there
    try:
        if not queue_id:
            raise InvalidInput("queue_id: choose a queue")
        objects = form.get("object_id", [])
        items = await annotation.add_objects(storage, caller, queue_id, kind, objects, assignee or None)
    except InvalidInput as exc:
        why = {"queue_error": str(exc), "queue_for": kind.value, "queued": ""}
        return _see(_with_query(back, queue=queue_id, assignee=assignee, **why))
    return _see(_with_query(back, queued=str(len(items)), queue=queue_id, queue_error="", assignee=""))


# -- reviewing ------------------------------------------------------------------------------------------


@get("/annotation-queues/{queue_id:str}/annotate", guards=[requires_member])
async def annotate_page(
    session: UiSession,
    storage: Storage,
    queue_id: str,
    item: str | None = None,
    after: str | None = None,
    obs: str | None = None,
    view: str | None = None,
) -> Template:
    """The annotate view: `?item=` that item (held for me unless another reviewer holds it), `?after=`
    my next item after that one (skip, or after saving), else the item I hold or my first; the object as
    people read it beside the queue's score controls. Nothing left: the queue is done for me."""
    return await _annotate(session, storage, queue_id, item, after, obs, view)


@dataclass(frozen=True, slots=True)
class Refusal:
    """A refused save of the annotate form: the values as typed (`score.<config id>` → text; the
    comment) and the error, shown beside its score."""

    typed: dict[str, str]
    comment: str
    exc: UserError


async def _annotate(
    session: UiSession,
    storage: Storage,
    queue_id: str,
    item: str | None = None,
    after: str | None = None,
    obs: str | None = None,
    view: str | None = None,
    refusal: Refusal | None = None,
) -> Template:
    caller = session.caller
    review = await annotation.open_review(
        storage, caller, queue_id, item_id=item or None, after_item_id=after or None
    )
    errors: dict[str, str] = {}
    if refusal is not None:  # each score's field is known by its config's id, name and "score.<name>"
        labels = {f"{SCORE_FIELD}{c.id}": c.name for c in review.configs}
        names = {
            alias: f"{SCORE_FIELD}{c.id}" for c in review.configs for alias in (c.name, SCORE_FIELD + c.name)
        }
        errors = Fields(labels, names).errors(refusal.exc)
    context: dict[str, Any] = {}
    target = review.target
    if isinstance(target, TraceTarget) and review.item is not None:
        selected = obs or target.observation_id
        context = trace_view(storage, target.detail, caller.project_id, selected, shared=False, view=view)
        # The tree's links keep the item open: `?item=…&obs=…`.
        tree_query = f"item={quote(review.item.id, safe='')}&"
        context |= {"prompt_url": prompt_url, "can_write": False, "tree_query": tree_query}
    elif isinstance(target, SessionTarget):
        detail = target.detail
        context = {
            "session": detail.session,
            "turns": detail.turns,
            "turn_scores": detail.turn_scores,
            "session_scores": detail.session_scores,
            "pretty": pretty,
            "chat": chat,
        }
    return page(
        session,
        "annotate.html",
        **context,
        review=review,
        queue_path=queue_path,
        object_url=object_url,
        refusal=refusal,
        errors=errors,
    )


@post("/annotation-queues/{queue_id:str}/items/{item_id:str}/annotate", guards=[requires_member])
async def item_annotate(
    request: Request[Any, Any, State], session: UiSession, storage: Storage, queue_id: str, item_id: str
) -> Redirect | Template:
    """Save my scores for the item (`score.<config id>` fields; an empty one deletes my earlier score) and
    a comment, mark it completed, and open my next item. A value that does not fit its score shows the
    item again with what was typed and the reason beside that score."""
    form = await form_lists(request)
    typed = {key: values[0] for key, values in form.items() if key.startswith(SCORE_FIELD) and values}
    values = [
        AnnotationValue(key.removeprefix(SCORE_FIELD), v.strip()) for key, v in typed.items() if v.strip()
    ]
    cleared = [key.removeprefix(SCORE_FIELD) for key, v in typed.items() if not v.strip()]
    comment = _one(form, "comment")
    try:
        await annotation.submit_annotation(
            storage, session.caller, queue_id, item_id, values, comment, cleared
        )
    except InvalidInput as exc:
        refusal = Refusal(typed, comment or "", exc)
        return refused(await _annotate(session, storage, queue_id, item_id, refusal=refusal), exc)
    return _see(_with_query(queue_path(queue_id, "annotate"), after=item_id))


@post("/annotation-queues/{queue_id:str}/items/{item_id:str}/skip", guards=[requires_member])
async def item_skip(caller: Caller, storage: Storage, queue_id: str, item_id: str) -> Redirect:
    """Leave the item for later (or for others) and open my next one."""
    await aq.get_item(storage, caller.project_id, queue_id, item_id)
    return _see(_with_query(queue_path(queue_id, "annotate"), after=item_id))


@post("/annotation-queues/{queue_id:str}/items/{item_id:str}/release", guards=[requires_member])
async def item_release(caller: Caller, storage: Storage, queue_id: str, item_id: str) -> Redirect:
    """Stop reviewing: give up my hold on the item so others get it at once; back to the queue."""
    await annotation.release(storage, caller, queue_id, item_id)
    return _see(queue_path(queue_id))


ANNOTATION_ROUTES = [
    queues_page,
    queue_create,
    queue_page,
    queue_edit,
    queue_delete,
    queue_assign,
    queue_unassign,
    items_assign,
    item_delete,
    items_add,
    annotate_page,
    item_annotate,
    item_skip,
    item_release,
]

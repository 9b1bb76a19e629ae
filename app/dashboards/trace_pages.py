"""Trace pages: the list (filters in the URL, columns, export) and one trace (tree, timeline, actions)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Annotated, Any
from urllib.parse import quote

from litestar import Request, get, post
from litestar.datastructures import State
from litestar.response import Redirect, Stream, Template

from app import __version__
from app.auth.caller import Caller
from app.auth.signing import server_secret
from app.dashboards import trace_layout as layout
from app.dashboards.deps import FORM, UiSession, form_lists, page, requires_admin, requires_member
from app.dashboards.display import chat, compact_scores, duration, is_empty, moment, plain, pretty
from app.dashboards.export import download, paged
from app.dashboards.forms import Fields, read_form, refused
from app.dashboards.params import PAGE, RANGES, FlagForm, number, prompt_url, query, time_range, url
from app.errors import InvalidInput, NotFound, UserError
from app.evaluation import annotation, datasets
from app.evaluation.annotation_queues import ObjectType
from app.storage import Storage
from app.storage.clickhouse.queries import traces as tq
from app.storage.clickhouse.queries.common import NumberRange, Page, TagFilter
from app.storage.clickhouse.queries.views import TraceView
from app.storage.postgres.tables import Role
from app.tracing import comments, media, scores, trace_service
from app.tracing.comments import NewComment
from app.tracing.scores import NewScore

TRACE_COLUMNS = ("input", "output", "scores", "user", "session", "latency", "tokens", "cost", "tags")


def _score_conditions(q: dict[str, str]) -> tuple[tq.ScoreCondition, ...]:
    """`score_name` with an optional `score_min`/`score_max`: traces with such a score in that range."""
    low, high = number(q, "score_min"), number(q, "score_max")
    name = (q.get("score_name") or "").strip()
    if not name:
        if low is not None or high is not None:
            raise InvalidInput("score_name is required with score_min or score_max")
        return ()
    return (tq.ScoreCondition(name, NumberRange(low, high)),)


def _trace_filter(q: dict[str, str]) -> tq.TraceFilter:
    def one(name: str) -> tuple[str, ...]:
        return (q[name],) if q.get(name) else ()

    return tq.TraceFilter(
        names=one("name"),
        user_ids=one("user"),
        session_ids=one("session"),
        environments=one("environment"),
        levels=one("level"),
        tags=TagFilter(tuple(q["tag"].split(","))) if q.get("tag") else None,
        scores=_score_conditions(q),
        search=q.get("search") or None,
    )


@get("/traces")
async def traces_page(request: Request[Any, Any, State], session: UiSession, storage: Storage) -> Template:
    caller, q = session.caller, query(request)
    key, time = time_range(q.get("range"), request)
    sort = q.get("sort", "TIMESTAMP")
    if sort not in tq.TraceSort.__members__:
        raise InvalidInput(f"sort must be one of {', '.join(tq.TraceSort.__members__)}")
    req = tq.TraceListRequest(
        caller.project_id,
        time,
        _trace_filter(q),
        tq.TraceSort(sort),
        q.get("order") != "asc",
        PAGE,
        q.get("after") or None,
        with_io=True,
    )
    found = await trace_service.list_traces(storage, req, bookmarked=q.get("bookmarked") == "1")
    asked = request.query_params.getall("cols", [])
    chosen = [c for c in TRACE_COLUMNS if c in asked]  # in the table's order, as the cells are
    shown = chosen or list(TRACE_COLUMNS)
    trace_scores = (
        await trace_service.scores_by_trace(storage, caller.project_id, [t.id for t in found.items])
        if "scores" in shown
        else {}
    )
    params: dict[str, Any] = {k: v for k, v in q.items() if k not in ("after", "cols", "deleted")}
    params["cols"] = chosen
    next_url = url("/traces", params, after=found.end_cursor) if found.has_next else None
    return page(
        session,
        "traces.html",
        traces=found.items,
        q=q,
        range=key,
        ranges=list(RANGES),
        sorts=list(tq.TraceSort.__members__),
        next_url=next_url,
        first_url=url("/traces", params),
        export_url=url("/traces/export", {**params, "range": key, "cols": None}),
        columns=TRACE_COLUMNS,
        shown=shown,
        scores={trace_id: compact_scores(given) for trace_id, given in trace_scores.items()},
        base_url=str(request.base_url).rstrip("/"),
        queue_choices=await annotation.queue_choices(storage, caller)
        if caller.role.at_least(Role.MEMBER)
        else None,
    )


EXPORT_COLUMNS = (
    "id",
    "timestamp",
    "name",
    "user_id",
    "session_id",
    "environment",
    "release",
    "version",
    "tags",
    "latency_ms",
    "total_cost",
    "total_tokens",
    "observation_count",
    "input",
    "output",
)
EXPORT_MAX_ROWS = 100_000
EXPORT_PAGE = 1_000


def _export_row(t: TraceView) -> dict[str, Any]:
    return {
        "id": t.id,
        "timestamp": t.timestamp.isoformat(),
        "name": t.name,
        "user_id": t.user_id,
        "session_id": t.session_id,
        "environment": t.environment,
        "release": t.release,
        "version": t.version,
        "tags": t.tags,
        "latency_ms": t.totals.latency_ms,
        "total_cost": float(t.totals.total_cost),
        "total_tokens": t.totals.total_tokens,
        "observation_count": t.totals.observation_count,
        "input": t.input,
        "output": t.output,
    }


@get("/traces/export")
async def traces_export(
    request: Request[Any, Any, State], caller: Caller, storage: Storage, format: str = "csv"
) -> Stream:
    """The filtered traces (the list's query string), streamed page by page as CSV or a JSON array."""
    q = query(request)
    _, time = time_range(q.get("range"), request)
    base = tq.TraceListRequest(caller.project_id, time, _trace_filter(q), first=EXPORT_PAGE, with_io=True)
    bookmarked = q.get("bookmarked") == "1"

    async def read(after: str | None, _: int) -> Page[TraceView]:
        return await trace_service.list_traces(storage, replace(base, after=after), bookmarked=bookmarked)

    return download(paged(read, _export_row, EXPORT_MAX_ROWS), EXPORT_COLUMNS, "traces", format)


VIEWS = ("tree", "timeline")


def trace_view(
    storage: Storage,
    detail: trace_service.TraceDetail,
    project_id: str,
    obs: str | None,
    *,
    shared: bool,
    view: str | None = None,
) -> dict[str, Any]:
    """What the trace page and its public view (`shared`: no links into the project, no forms) both
    show: the tree or the timeline (`view`), the selected observation with its media, the agent flow
    and scores."""
    view = view or "tree"
    if view not in VIEWS:
        raise InvalidInput(f"view must be one of {', '.join(VIEWS)}")
    flat = []
    stack = list(reversed(detail.roots))
    while stack:
        node = stack.pop()
        flat.append(node)
        stack.extend(reversed(node.children))
    span = max([n.offset_ms + (n.duration_ms or 0) for n in flat] + [1.0])
    selected = next((n for n in flat if n.observation.id == obs), flat[0] if flat else None)
    attachments = []
    if selected is not None:  # media the selected observation references, shown inline
        secret = server_secret(storage.settings)
        for value in (selected.observation.input, selected.observation.output):
            for content_type, media_id in media.references(value):
                link = media.content_url(secret, project_id, media_id)
                attachments.append({"type": content_type, "url": link, "id": media_id})
    return {
        "trace": detail.trace,
        "summary": layout.trace_summary(detail.observations),
        "view": view,
        "nodes": flat,
        "span_ms": span,
        "bars": layout.timeline_bars(flat, span) if view == "timeline" else [],
        "ticks": layout.axis_ticks(span) if view == "timeline" else [],
        "selected": selected,
        "scores": detail.scores,
        "attachments": attachments,
        "flow": layout.agent_flow(detail.roots),
        "first_token_ms": layout.first_token_ms,
        "pretty": pretty,
        "chat": chat,
        "is_empty": is_empty,
        "plain": plain,
        "duration": duration,
        "moment": moment,
        "shared": shared,
    }


def share_path(project_id: str, trace_id: str) -> str:
    """Where a public trace can be read without logging in."""
    return f"/public/traces/{quote(project_id, safe='')}/{quote(trace_id, safe='')}"


@get("/traces/{trace_id:str}")
async def trace_page(
    request: Request[Any, Any, State],
    session: UiSession,
    storage: Storage,
    trace_id: str,
    obs: str | None = None,
    view: str | None = None,
) -> Template:
    return await _trace(request, session, storage, trace_id, obs, view=view)


async def _trace(
    request: Request[Any, Any, State],
    session: UiSession,
    storage: Storage,
    trace_id: str,
    obs: str | None = None,
    typed: ScoreForm | CommentForm | DatasetForm | None = None,
    exc: UserError | None = None,
    view: str | None = None,
) -> Template:
    """A trace's page; after a refused score, comment or add-to-dataset form, that form as `typed` with
    its error."""
    caller = session.caller
    detail = await trace_service.trace_detail(storage, caller.project_id, trace_id)
    notes = await comments.for_object(storage, caller.project_id, "TRACE", trace_id)
    base_url = str(request.base_url).rstrip("/")
    can_write = caller.role.at_least(Role.MEMBER)
    fields = (
        SCORE_FIELDS
        if isinstance(typed, ScoreForm)
        else DATASET_FIELDS
        if isinstance(typed, DatasetForm)
        else COMMENT_FIELDS
    )
    response = page(
        session,
        "trace.html",
        score_values=typed if isinstance(typed, ScoreForm) else None,
        comment_values=typed if isinstance(typed, CommentForm) else None,
        dataset_values=typed if isinstance(typed, DatasetForm) else None,
        errors=fields.errors(exc) if exc else {},
        **trace_view(storage, detail, caller.project_id, obs, shared=False, view=view),
        comments=notes,
        prompt_url=prompt_url,
        share_url=base_url + share_path(caller.project_id, trace_id) if detail.trace.public else None,
        can_write=can_write,
        dataset_choices=(await datasets.list_datasets_page(storage, caller.project_id, 1, 100))[0]
        if can_write
        else [],
        queue_choices=await annotation.queue_choices(storage, caller, ObjectType.TRACE, trace_id)
        if can_write
        else None,
    )
    return refused(response, exc) if exc else response


@get("/public/traces/{project_id:str}/{trace_id:str}")
async def public_trace_page(
    storage: Storage, project_id: str, trace_id: str, obs: str | None = None, view: str | None = None
) -> Template:
    """A shared trace, read-only and without login; 404 (as for no trace) once it is not public."""
    detail = await trace_service.trace_detail(storage, project_id, trace_id, shared_only=True)
    return Template(
        "public_trace.html",
        context={
            **trace_view(storage, detail, project_id, obs, shared=True, view=view),
            "version": __version__,
        },
        # Not kept by caches or browsers once unshared; not indexed; the link is not sent on as referrer.
        headers={"Cache-Control": "no-store", "X-Robots-Tag": "noindex", "Referrer-Policy": "no-referrer"},
    )


@dataclass
class DatasetForm:
    """ "Add to dataset" of the trace page: a dataset chosen, or a new one named; the observation, if one."""

    dataset_id: str = ""
    new_dataset: str = ""
    observation_id: str = ""


DATASET_FIELDS = Fields(
    {"dataset_id": "Dataset", "new_dataset": "New dataset"}, names={"name": "new_dataset"}
)


async def refused_trace_form(
    request: Request[Any, Any, State],
    session: UiSession,
    storage: Storage,
    trace_id: str,
    typed: DatasetForm,
    exc: UserError,
) -> Template:
    """The trace page again after a form of it posted elsewhere was refused, with `typed` and the error."""
    return await _trace(request, session, storage, trace_id, typed.observation_id or None, typed, exc)


@dataclass
class ScoreForm:
    name: str = ""
    value: str = ""
    data_type: str = "NUMERIC"
    observation_id: str = ""
    comment: str = ""

    def score(self, trace_id: str) -> NewScore:
        """The score to add; InvalidInput names a value that is not a number where one is needed."""
        value: float | str = self.value
        if self.data_type in ("NUMERIC", "BOOLEAN"):
            try:
                value = float(self.value)
            except ValueError:
                raise InvalidInput("value must be a number for NUMERIC and BOOLEAN scores") from None
        return NewScore(
            trace_id=trace_id,
            name=self.name,
            value=value,
            data_type=self.data_type,
            source="ANNOTATION",
            observation_id=self.observation_id or None,
            comment=self.comment or None,
        )


SCORE_FIELDS = Fields(
    {"name": "Name", "value": "Value", "data_type": "Type", "comment": "Comment"},
    names={"dataType": "data_type"},
    about={"configId": "name", "score config": "name"},
)


@post("/traces/{trace_id:str}/scores", guards=[requires_member])
async def trace_add_score(
    request: Request[Any, Any, State], session: UiSession, storage: Storage, trace_id: str
) -> Template | Redirect:
    form = await read_form(request, ScoreForm)
    try:
        await scores.create_score(storage, session.caller.project_id, form.score(trace_id))
    except UserError as exc:
        return await _trace(request, session, storage, trace_id, form.observation_id or None, form, exc)
    return Redirect(f"/traces/{trace_id}")


@post("/traces/{trace_id:str}/bookmark", guards=[requires_member])
async def trace_bookmark(
    caller: Caller, storage: Storage, trace_id: str, data: Annotated[FlagForm, FORM]
) -> Redirect:
    await trace_service.set_flags(storage, caller.project_id, trace_id, bookmarked=data.value == "1")
    return Redirect(f"/traces/{trace_id}")


@post("/traces/{trace_id:str}/public", guards=[requires_member])
async def trace_public(
    caller: Caller, storage: Storage, trace_id: str, data: Annotated[FlagForm, FORM]
) -> Redirect:
    await trace_service.set_flags(storage, caller.project_id, trace_id, public=data.value == "1")
    return Redirect(f"/traces/{trace_id}")


@dataclass
class CommentForm:
    content: str = ""


COMMENT_FIELDS = Fields({"content": "Comment"})


@post("/traces/{trace_id:str}/comments", guards=[requires_member])
async def trace_comment(
    request: Request[Any, Any, State], session: UiSession, storage: Storage, trace_id: str
) -> Template | Redirect:
    form = await read_form(request, CommentForm)
    caller = session.caller
    try:
        await comments.create(
            storage, caller.project_id, NewComment("TRACE", trace_id, form.content, caller.user_id)
        )
    except UserError as exc:
        return await _trace(request, session, storage, trace_id, None, form, exc)
    return Redirect(f"/traces/{trace_id}")


def _deleted(count: int) -> Redirect:
    """Back to the list, which says how many traces were deleted (303: a reload does not post again)."""
    return Redirect(url("/traces", {"deleted": count}), status_code=303)


@post("/traces/delete", guards=[requires_admin])
async def traces_delete(request: Request[Any, Any, State], caller: Caller, storage: Storage) -> Redirect:
    """Delete the traces ticked in the list (repeated `object_id`) with their observations and scores."""
    ids = (await form_lists(request)).get("object_id", [])
    if not ids:
        raise InvalidInput("object_id: tick at least one trace to delete")
    return _deleted(len(await trace_service.delete_traces(storage, caller.project_id, ids)))


@post("/traces/{trace_id:str}/delete", guards=[requires_admin])
async def trace_delete(caller: Caller, storage: Storage, trace_id: str) -> Redirect:
    """Delete one trace with its observations and scores."""
    if not await trace_service.delete_traces(storage, caller.project_id, [trace_id]):
        raise NotFound(f"trace {trace_id!r} not found")
    return _deleted(1)


TRACE_ROUTES = [
    traces_page,
    traces_export,
    traces_delete,
    trace_page,
    public_trace_page,
    trace_add_score,
    trace_bookmark,
    trace_public,
    trace_comment,
    trace_delete,
]

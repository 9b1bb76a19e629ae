"""Custom dashboards: create, view, add/edit/move/delete widgets, delete (saved in Postgres); what a
widget shows comes from app.analytics.widgets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Request, get, post
from litestar.datastructures import State
from litestar.response import Redirect, Template

from app.analytics import widgets
from app.auth.caller import Caller
from app.dashboards import figures, units
from app.dashboards.deps import UiSession, page, requires_member
from app.dashboards.forms import Fields, FormInvalid, read_form, refused
from app.dashboards.params import RANGES, time_range
from app.errors import InvalidInput, NotFound, UserError
from app.storage import Storage
from app.storage.clickhouse.queries import metrics as mq
from app.storage.postgres import dashboards as repo
from app.storage.postgres.tables import Dashboard, Role


@dataclass
class NameForm:
    name: str = ""


NAME_FIELDS = Fields({"name": "Name"})
WIDGET_FIELDS = Fields(
    {
        "title": "Title",
        "view": "View",
        "measure": "Measure",
        "aggregation": "Aggregation",
        "dimension": "Dimension",
        "chart": "Chart",
        "filter_dimension": "Filter on",
        "filter_values": "Filter values",
    }
)


async def _dashboard(storage: Storage, project_id: str, dashboard_id: str) -> Dashboard:
    found = await repo.fetch_dashboard(storage.postgres, project_id, dashboard_id)
    if found is None:
        raise NotFound(f"dashboard {dashboard_id!r} not found")
    return found


async def _posted_widget(request: Request[Any, Any, State]) -> dict[str, str]:
    """A widget's form as typed (the first value of each field)."""
    form = await request.form()
    return {name: str(form.get(name) or "") for name in WIDGET_FIELDS.labels}


def _shown_widget(typed: dict[str, str]) -> dict[str, Any]:
    """A widget form as typed, in the shape the form shows a saved widget in."""
    values = [v.strip() for v in typed["filter_values"].split(",") if v.strip()]
    filters = {typed["filter_dimension"]: values} if typed["filter_dimension"] else {}
    return {**typed, "filters": filters}


async def _dashboards(
    session: UiSession, storage: Storage, values: NameForm | None = None, errors: dict[str, str] | None = None
) -> Template:
    rows = await repo.list_dashboards(storage.postgres, session.caller.project_id)
    can_write = session.caller.role.at_least(Role.MEMBER)
    return page(
        session,
        "dashboards.html",
        dashboards=rows,
        can_write=can_write,
        values=values or NameForm(),
        errors=errors or {},
    )


def _unit(widget: dict[str, Any]) -> units.Unit:
    return units.of_measure(widget["measure"], widget["aggregation"], widget["view"])


def _table(r: widgets.WidgetResult) -> tuple[list[str], list[list[str]]]:
    """A table widget's headers and cells in words (`Model`, `Sum of total cost`), values in their unit."""
    w = r.widget
    headers = [units.measured(w) if c == r.column else units.words(c) for c in r.columns]
    unit = _unit(w)
    cells = [[unit.text(row[c]) if c == r.column else str(row[c]) for c in r.columns] for row in r.rows]
    return headers, cells


@get("/dashboards")
async def dashboards_page(session: UiSession, storage: Storage) -> Template:
    return await _dashboards(session, storage)


@post("/dashboards", guards=[requires_member])
async def dashboard_create(
    request: Request[Any, Any, State], session: UiSession, storage: Storage
) -> Template | Redirect:
    form = await read_form(request, NameForm)
    name = form.name.strip()
    try:
        if not 1 <= len(name) <= 255:
            raise FormInvalid({"name": "Name must be 1 to 255 characters"})
        dashboard = Dashboard(project_id=session.caller.project_id, name=name)
        saved = await repo.save_dashboard(storage.postgres, dashboard)
    except UserError as exc:
        return refused(await _dashboards(session, storage, form, NAME_FIELDS.errors(exc)), exc)
    return Redirect(f"/dashboards/{saved.id}")


@get("/dashboards/{dashboard_id:str}")
async def dashboard_page(
    request: Request[Any, Any, State],
    session: UiSession,
    storage: Storage,
    dashboard_id: str,
    range: str | None = None,
) -> Template:
    board = await _dashboard(storage, session.caller.project_id, dashboard_id)
    return await _board_page(request, session, storage, board, range)


async def _board_page(
    request: Request[Any, Any, State],
    session: UiSession,
    storage: Storage,
    board: Dashboard,
    range: str | None = None,
    *,
    typed: dict[str, str] | None = None,
    exc: UserError | None = None,
    editing: int | None = None,
) -> Template:
    """A dashboard with its widgets; after a refused widget form (the widget at `editing`, or the new
    one), that form as `typed` with the error `exc` beside its field."""
    project_id = session.caller.project_id
    key, time = time_range(range, request)
    results = await widgets.run_widgets(storage.clickhouse, project_id, board.widgets, time)
    rendered = [
        {
            "index": index,
            "widget": r.widget,
            "figure": figures.widget(r),
            "table": _table(r) if r.widget["chart"] == "table" else None,
            "number": None if r.number is None else _unit(r.widget).text(r.number),
            "about": units.describe(r.widget),
        }
        for index, r in enumerate(results)
    ]
    response = page(
        session,
        "dashboard_custom.html",
        board=board,
        editing=editing,
        draft=_shown_widget(typed) if typed is not None else None,
        errors=WIDGET_FIELDS.errors(exc) if exc else {},
        widgets=rendered,
        range=key,
        ranges=list(RANGES),
        can_write=session.caller.role.at_least(Role.MEMBER),
        charts=units.choices(list(widgets.CHARTS)),
        views=units.choices([v.value for v in mq.View]),
        measures=units.choices([m.value for m in mq.Measure]),
        aggregations=units.choices([a.value for a in mq.Aggregation]),
        dimensions=units.choices([d.value for d in mq.Dimension]),
    )
    return refused(response, exc) if exc else response


@post("/dashboards/{dashboard_id:str}/widgets", guards=[requires_member])
async def widget_add(
    request: Request[Any, Any, State], session: UiSession, storage: Storage, dashboard_id: str
) -> Template | Redirect:
    board = await _dashboard(storage, session.caller.project_id, dashboard_id)
    typed, kept = await _posted_widget(request), board.widgets
    try:
        if len(kept) >= widgets.MAX_WIDGETS:
            raise InvalidInput(f"a dashboard holds at most {widgets.MAX_WIDGETS} widgets")
        board.widgets = [*kept, widgets.validate(typed)]
        await repo.save_dashboard(storage.postgres, board)
    except UserError as exc:
        board.widgets = kept
        return await _board_page(request, session, storage, board, typed=typed, exc=exc)
    return Redirect(f"/dashboards/{dashboard_id}")


@post("/dashboards/{dashboard_id:str}/widgets/{index:int}", guards=[requires_member])
async def widget_edit(
    request: Request[Any, Any, State], session: UiSession, storage: Storage, dashboard_id: str, index: int
) -> Template | Redirect:
    """Replace a widget with what its edit form says (validated like a new one)."""
    board = await _dashboard(storage, session.caller.project_id, dashboard_id)
    if not 0 <= index < len(board.widgets):
        raise NotFound(f"no widget {index} on this dashboard")
    typed, kept = await _posted_widget(request), board.widgets
    try:
        edited = widgets.validate(typed)
        board.widgets = [edited if i == index else w for i, w in enumerate(kept)]
        await repo.save_dashboard(storage.postgres, board)
    except UserError as exc:
        board.widgets = kept
        return await _board_page(request, session, storage, board, typed=typed, exc=exc, editing=index)
    return Redirect(f"/dashboards/{dashboard_id}")


@post("/dashboards/{dashboard_id:str}/widgets/{index:int}/{action:str}", guards=[requires_member])
async def widget_change(
    caller: Caller, storage: Storage, dashboard_id: str, index: int, action: str
) -> Redirect:
    """Move a widget up or down, or delete it."""
    board = await _dashboard(storage, caller.project_id, dashboard_id)
    items = list(board.widgets)
    if not 0 <= index < len(items):
        raise NotFound(f"no widget {index} on this dashboard")
    if action == "delete":
        del items[index]
    elif action in ("up", "down"):
        other = index - 1 if action == "up" else index + 1
        if 0 <= other < len(items):
            items[index], items[other] = items[other], items[index]
    else:
        raise InvalidInput("action must be up, down or delete")
    board.widgets = items
    await repo.save_dashboard(storage.postgres, board)
    return Redirect(f"/dashboards/{dashboard_id}")


@post("/dashboards/{dashboard_id:str}/delete", guards=[requires_member])
async def dashboard_delete(caller: Caller, storage: Storage, dashboard_id: str) -> Redirect:
    if not await repo.delete_dashboard(storage.postgres, caller.project_id, dashboard_id):
        raise NotFound(f"dashboard {dashboard_id!r} not found")
    return Redirect("/dashboards")


DASHBOARD_ROUTES = [
    dashboards_page,
    dashboard_create,
    dashboard_page,
    widget_add,
    widget_edit,
    widget_change,
    dashboard_delete,
]

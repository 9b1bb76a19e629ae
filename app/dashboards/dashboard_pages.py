"""Custom dashboards: create, view, add/edit/move/delete widgets, delete (saved in Postgres); what a
widget shows comes from app.analytics.widgets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.datastructures import State
from litestar.response import Redirect, Template

from app.analytics import widgets
from app.auth.caller import Caller
from app.dashboards import figures, units
from app.dashboards.deps import FORM, UiSession, page, requires_member
from app.dashboards.params import RANGES, time_range
from app.errors import InvalidInput, NotFound
from app.storage import Storage
from app.storage.clickhouse.queries import metrics as mq
from app.storage.postgres import dashboards as repo
from app.storage.postgres.tables import Dashboard, Role


@dataclass
class NameForm:
    name: str


async def _dashboard(storage: Storage, project_id: str, dashboard_id: str) -> Dashboard:
    found = await repo.fetch_dashboard(storage.postgres, project_id, dashboard_id)
    if found is None:
        raise NotFound(f"dashboard {dashboard_id!r} not found")
    return found


async def _widget_form(request: Request[Any, Any, State]) -> dict[str, Any]:
    """A widget from its posted form, validated like every widget."""
    return widgets.validate({k: str(v) for k, v in (await request.form()).items()})


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
    rows = await repo.list_dashboards(storage.postgres, session.caller.project_id)
    can_write = session.caller.role.at_least(Role.MEMBER)
    return page(session, "dashboards.html", dashboards=rows, can_write=can_write)


@post("/dashboards", guards=[requires_member])
async def dashboard_create(caller: Caller, storage: Storage, data: Annotated[NameForm, FORM]) -> Redirect:
    name = data.name.strip()
    if not 1 <= len(name) <= 255:
        raise InvalidInput("name must be 1 to 255 characters")
    saved = await repo.save_dashboard(storage.postgres, Dashboard(project_id=caller.project_id, name=name))
    return Redirect(f"/dashboards/{saved.id}")


@get("/dashboards/{dashboard_id:str}")
async def dashboard_page(
    request: Request[Any, Any, State],
    session: UiSession,
    storage: Storage,
    dashboard_id: str,
    range: str | None = None,
) -> Template:
    project_id = session.caller.project_id
    board = await _dashboard(storage, project_id, dashboard_id)
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
    return page(
        session,
        "dashboard_custom.html",
        board=board,
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


@post("/dashboards/{dashboard_id:str}/widgets", guards=[requires_member])
async def widget_add(
    request: Request[Any, Any, State], caller: Caller, storage: Storage, dashboard_id: str
) -> Redirect:
    board = await _dashboard(storage, caller.project_id, dashboard_id)
    if len(board.widgets) >= widgets.MAX_WIDGETS:
        raise InvalidInput(f"a dashboard holds at most {widgets.MAX_WIDGETS} widgets")
    board.widgets = [*board.widgets, await _widget_form(request)]
    await repo.save_dashboard(storage.postgres, board)
    return Redirect(f"/dashboards/{dashboard_id}")


@post("/dashboards/{dashboard_id:str}/widgets/{index:int}", guards=[requires_member])
async def widget_edit(
    request: Request[Any, Any, State], caller: Caller, storage: Storage, dashboard_id: str, index: int
) -> Redirect:
    """Replace a widget with what its edit form says (validated like a new one)."""
    board = await _dashboard(storage, caller.project_id, dashboard_id)
    if not 0 <= index < len(board.widgets):
        raise NotFound(f"no widget {index} on this dashboard")
    edited = await _widget_form(request)
    board.widgets = [edited if i == index else w for i, w in enumerate(board.widgets)]
    await repo.save_dashboard(storage.postgres, board)
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

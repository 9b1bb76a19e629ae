"""Custom dashboards: create, view, add/edit/move/delete widgets, delete (saved in Postgres)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.datastructures import State
from litestar.response import Redirect, Template

from app.dashboards import figures
from app.dashboards.pages import RANGES, _range
from app.dashboards.routes import FORM, _caller, _page, _storage
from app.errors import InvalidInput, NotFound
from app.storage.clickhouse.queries import metrics as mq
from app.storage.postgres import dashboards as repo
from app.storage.postgres.models import Dashboard, Role
from app.tracing import widgets


@dataclass
class NameForm:
    name: str


async def _dashboard(request: Request[Any, Any, State], project_id: str, dashboard_id: str) -> Dashboard:
    found = await repo.fetch_dashboard(_storage(request).postgres, project_id, dashboard_id)
    if found is None:
        raise NotFound(f"dashboard {dashboard_id!r} not found")
    return found


@get("/dashboards")
async def dashboards_page(request: Request[Any, Any, State]) -> Template:
    caller = await _caller(request)
    rows = await repo.list_dashboards(_storage(request).postgres, caller.project_id)
    return await _page(
        request, caller, "dashboards.html", dashboards=rows, can_write=caller.role.at_least(Role.MEMBER)
    )


@post("/dashboards")
async def dashboard_create(request: Request[Any, Any, State], data: Annotated[NameForm, FORM]) -> Redirect:
    caller = await _caller(request, Role.MEMBER)
    name = data.name.strip()
    if not 1 <= len(name) <= 255:
        raise InvalidInput("name must be 1 to 255 characters")
    saved = await repo.save_dashboard(
        _storage(request).postgres, Dashboard(project_id=caller.project_id, name=name)
    )
    return Redirect(f"/dashboards/{saved.id}")


@get("/dashboards/{dashboard_id:str}")
async def dashboard_page(
    request: Request[Any, Any, State], dashboard_id: str, range: str | None = None
) -> Template:
    caller = await _caller(request)
    board = await _dashboard(request, caller.project_id, dashboard_id)
    key, time = _range(range, request)
    rendered = []
    for index, w in enumerate(board.widgets):
        req = widgets.request(w, caller.project_id, time)
        result = await mq.run_metrics(_storage(request).clickhouse, req)
        column = req.metrics[0].alias
        dimension = req.dimensions[0].value.lower() if req.dimensions else None
        figure = figures.widget(str(w["chart"]), str(w["title"]), result.rows, dimension, column)
        total = result.rows[0][column] if result.rows and w["chart"] == "number" else None
        rendered.append(
            {
                "index": index,
                "widget": w,
                "figure": figure,
                "rows": result.rows,
                "columns": result.columns,
                "number": total,
                "served": result.served_from,
            }
        )
    return await _page(
        request,
        caller,
        "dashboard_custom.html",
        board=board,
        widgets=rendered,
        range=key,
        ranges=list(RANGES),
        can_write=caller.role.at_least(Role.MEMBER),
        charts=widgets.CHARTS,
        views=[v.value for v in mq.View],
        measures=[m.value for m in mq.Measure],
        aggregations=[a.value for a in mq.Aggregation],
        dimensions=[d.value for d in mq.Dimension],
    )


@post("/dashboards/{dashboard_id:str}/widgets")
async def widget_add(request: Request[Any, Any, State], dashboard_id: str) -> Redirect:
    caller = await _caller(request, Role.MEMBER)
    board = await _dashboard(request, caller.project_id, dashboard_id)
    if len(board.widgets) >= widgets.MAX_WIDGETS:
        raise InvalidInput(f"a dashboard holds at most {widgets.MAX_WIDGETS} widgets")
    form = {k: str(v) for k, v in (await request.form()).items()}
    board.widgets = [*board.widgets, widgets.validate(form)]
    await repo.save_dashboard(_storage(request).postgres, board)
    return Redirect(f"/dashboards/{dashboard_id}")


@post("/dashboards/{dashboard_id:str}/widgets/{index:int}")
async def widget_edit(request: Request[Any, Any, State], dashboard_id: str, index: int) -> Redirect:
    """Replace a widget with what its edit form says (validated like a new one)."""
    caller = await _caller(request, Role.MEMBER)
    board = await _dashboard(request, caller.project_id, dashboard_id)
    if not 0 <= index < len(board.widgets):
        raise NotFound(f"no widget {index} on this dashboard")
    form = {k: str(v) for k, v in (await request.form()).items()}
    board.widgets = [widgets.validate(form) if i == index else w for i, w in enumerate(board.widgets)]
    await repo.save_dashboard(_storage(request).postgres, board)
    return Redirect(f"/dashboards/{dashboard_id}")


@post("/dashboards/{dashboard_id:str}/widgets/{index:int}/{action:str}")
async def widget_change(
    request: Request[Any, Any, State], dashboard_id: str, index: int, action: str
) -> Redirect:
    """Move a widget up or down, or delete it."""
    caller = await _caller(request, Role.MEMBER)
    board = await _dashboard(request, caller.project_id, dashboard_id)
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
    await repo.save_dashboard(_storage(request).postgres, board)
    return Redirect(f"/dashboards/{dashboard_id}")


@post("/dashboards/{dashboard_id:str}/delete")
async def dashboard_delete(request: Request[Any, Any, State], dashboard_id: str) -> Redirect:
    caller = await _caller(request, Role.MEMBER)
    if not await repo.delete_dashboard(_storage(request).postgres, caller.project_id, dashboard_id):
        raise NotFound(f"dashboard {dashboard_id!r} not found")
    return Redirect("/dashboards")


CUSTOM_ROUTES = [
    dashboards_page,
    dashboard_create,
    dashboard_page,
    widget_add,
    widget_edit,
    widget_change,
    dashboard_delete,
]

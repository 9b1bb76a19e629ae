"""Langfuse UI links (`/project/{projectId}/…`, as the SDK's get_traceurl() and the API's htmlPath build
them) redirected to the matching Langhouse page, switching the session to that project."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from litestar import Request, get
from litestar.datastructures import State
from litestar.response import Redirect

from app.auth import sessions
from app.dashboards.params import prompt_url, url
from app.dashboards.trace_pages import share_path
from app.errors import NotFound, Unauthorized
from app.storage import Storage
from app.storage.postgres import accounts
from app.tracing import trace_service

# Langfuse sections with a Langhouse page of the same meaning (list pages).
SECTIONS = {
    "": "/",
    "traces": "/traces",
    "sessions": "/sessions",
    "users": "/users",
    "prompts": "/prompts",
    "datasets": "/datasets",
    "scores": "/scores",
    "dashboards": "/dashboards",
    "playground": "/playground",
}
# Sections whose next segment is one item's id, shown by `/{section}/{id}`.
ITEMS = {"traces", "sessions", "users"}
NO_PAGE = "This Langfuse link has no page in Langhouse"


def langfuse_target(rest: str, query: Mapping[str, str]) -> str | None:
    """The Langhouse path for the part of a Langfuse link after `/project/{projectId}`, or None.

    Ids are percent-encoded again, so a value never leaves its path segment; every target is a
    fixed local path, so no link can redirect off the site.
    """
    parts = [p for p in rest.split("/") if p]
    section = parts[0] if parts else ""
    if section == "prompts" and len(parts) > 1:  # prompt names may contain '/'
        version = query.get("version")
        return prompt_url("/".join(parts[1:]), version=version if (version or "").isdigit() else None)
    if section == "datasets" and len(parts) > 1:
        return _dataset_target(parts[1:])
    if section == "traces" and len(parts) == 1 and query.get("peek"):  # a trace opened over the list
        return f"/traces/{quote(query['peek'], safe='')}"
    if section in ITEMS and len(parts) == 2:
        path = f"/{section}/{quote(parts[1], safe='')}"
        return url(path, {"obs": query.get("observation")}) if section == "traces" else path
    if len(parts) <= 1:
        return SECTIONS.get(section)
    return None


def _dataset_target(parts: list[str]) -> str | None:
    """`{datasetId}[/items]`, `{datasetId}/items/{itemId}`, `{datasetId}/runs/{runId}` as Langhouse pages."""
    dataset = f"/datasets/{quote(parts[0], safe='')}"
    if len(parts) == 1 or parts[1:] == ["items"]:
        return dataset
    if parts[1:] == ["runs"]:
        return f"{dataset}/runs"
    if len(parts) == 3 and parts[1] in ("items", "runs"):
        page = "/dataset-items" if parts[1] == "items" else "/experiments"
        return f"{page}/{quote(parts[2], safe='')}"
    return None


def _trace_id(rest: str) -> str | None:
    """The trace id of a Langfuse trace link (`traces/{id}`), else None."""
    parts = [p for p in rest.split("/") if p]
    return parts[1] if len(parts) == 2 and parts[0] == "traces" else None


@get(["/project/{project_id:str}", "/project/{project_id:str}/{rest:path}"])
async def langfuse_link(
    request: Request[Any, Any, State], storage: Storage, project_id: str, rest: str = ""
) -> Redirect:
    """Open a Langfuse link: members land on the page (the session switches to the link's project),
    anyone on a publicly shared trace's read-only view, others log in first or get a 404."""
    token = request.cookies.get(sessions.COOKIE)
    query = {k: v for k, v in request.query_params.items() if isinstance(v, str)}
    found = await sessions.session_user(storage, token)
    member = (
        found is not None
        and await accounts.fetch_project_access(storage.postgres, found[0].id, project_id) is not None
    )
    if not member:
        trace_id = _trace_id(rest)
        if trace_id is not None:
            trace = await trace_service.fetch_trace(storage, project_id, trace_id)
            if trace is not None and trace.public:
                return Redirect(share_path(project_id, trace_id))
        if found is None:
            raise Unauthorized("Please log in.")
        raise NotFound("Not found, or you have no access to this project.")
    target = langfuse_target(rest, query)
    if target is None:
        raise NotFound(f"{NO_PAGE}.")
    assert found is not None and token is not None
    if found[1] != project_id:
        await sessions.switch_project(storage, token, project_id)
    return Redirect(target)


LINK_ROUTES = [langfuse_link]

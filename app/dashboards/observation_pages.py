"""The observations page: every observation (generations, spans, events, tools, …) of the project with
filters, sort and columns kept in the URL, keyset pages, and CSV/JSON export of the filter."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from litestar import Request, get
from litestar.datastructures import State
from litestar.response import Stream, Template

from app.auth.caller import Caller
from app.dashboards.deps import UiSession, page
from app.dashboards.export import download, paged
from app.dashboards.params import PAGE, RANGES, number, prompt_url, query, time_range, url
from app.errors import InvalidInput
from app.storage import Storage
from app.storage.clickhouse.queries import observations as oq
from app.storage.clickhouse.queries.common import NumberRange, Page
from app.storage.clickhouse.queries.views import ObservationView
from app.tracing.mapping import OBSERVATION_TYPES

TYPES = sorted(OBSERVATION_TYPES)
LEVELS = ("ERROR", "WARNING", "DEFAULT", "DEBUG")
# The columns one can choose (the start time, linking to the observation, is always shown).
COLUMNS = {
    "type": "Type",
    "name": "Name",
    "trace": "Trace",
    "model": "Model",
    "level": "Level",
    "latency": "Latency",
    "tokens": "Tokens",
    "cost": "Cost",
    "prompt": "Prompt",
    "user": "User",
    "session": "Session",
    "input": "Input",
    "output": "Output",
}
DEFAULT_COLUMNS = ("type", "name", "model", "level", "latency", "tokens", "cost", "input")
SORTED_BY = {"latency": "LATENCY", "tokens": "TOTAL_TOKENS", "cost": "TOTAL_COST"}
EXPORT_MAX_ROWS = 10_000
EXPORT_PAGE = 1_000


@dataclass(frozen=True, slots=True)
class Listing:
    """What the query string asks for: the range's name, the request (None while a filter value is
    wrong) and a message for each wrong value, keyed by its field."""

    range: str
    request: oq.ObservationListRequest | None
    errors: dict[str, str]


def _bound(q: dict[str, str], name: str, errors: dict[str, str], scale: float = 1) -> float | None:
    """A `name` of 0 or more (times `scale`); a message in `errors` for anything else."""
    try:
        value = number(q, name)
    except InvalidInput:
        value = -1
    if value is not None and value < 0:
        errors[name] = "Enter a number, 0 or more."
        return None
    return None if value is None else value * scale


def _range(q: dict[str, str], name: str, errors: dict[str, str], scale: float = 1) -> NumberRange | None:
    low = _bound(q, f"{name}_min", errors, scale)
    high = _bound(q, f"{name}_max", errors, scale)
    if low is not None and high is not None and low > high:
        errors[f"{name}_max"] = "Enter a number no less than the one before it."
    return None if low is None and high is None else NumberRange(low, high)


def _prompt_versions(q: dict[str, str], errors: dict[str, str]) -> tuple[int, ...]:
    text = (q.get("prompt_version") or "").strip()
    if not text:
        return ()
    if not text.isdigit() or not 1 <= int(text) < 2**32:
        errors["prompt_version"] = "Enter a version number: 1, 2, 3, …"
        return ()
    return (int(text),)


def listing(request: Request[Any, Any, State], project_id: str, first: int) -> Listing:
    """The list request of the query string, scoped to `project_id`; wrong values are collected in
    `errors` (with no request) rather than raised, so the form can show each beside its field."""
    q = query(request)
    errors: dict[str, str] = {}
    try:
        key, time = time_range(q.get("range"), request)
    except InvalidInput as exc:
        errors["from"] = str(exc)
        key, time = time_range(q.get("range"))
    sort = q.get("sort", "START_TIME")
    if sort not in oq.ObservationSort.__members__:
        raise InvalidInput(f"sort must be one of {', '.join(oq.ObservationSort.__members__)}")

    def one(name: str) -> tuple[str, ...]:
        text = (q.get(name) or "").strip()
        return (text,) if text else ()

    f = oq.ObservationFilter(
        types=one("type"),
        names=one("name"),
        models=one("model"),
        levels=one("level"),
        user_ids=one("user"),
        session_ids=one("session"),
        prompt_names=one("prompt"),
        prompt_versions=_prompt_versions(q, errors),
        latency_ms=_range(q, "latency", errors, 1000),  # asked in seconds, stored in milliseconds
        total_cost=_range(q, "cost", errors),
    )
    req = oq.ObservationListRequest(
        project_id,
        time,
        f,
        oq.ObservationSort(sort),
        q.get("order") != "asc",
        first,
        q.get("after") or None,
    )
    return Listing(key, None if errors else req, errors)


@get("/observations")
async def observations_page(
    request: Request[Any, Any, State], session: UiSession, storage: Storage
) -> Template:
    q = query(request)
    found = listing(request, session.caller.project_id, PAGE)
    result = await oq.list_observations(storage.clickhouse, found.request) if found.request else None
    chosen = [c for c in request.query_params.getall("cols", []) if c in COLUMNS]
    params: dict[str, Any] = {k: v for k, v in q.items() if k not in ("after", "cols")}
    params["cols"] = chosen
    sort = found.request.sort.value if found.request else q.get("sort", "START_TIME")
    descending = q.get("order") != "asc"

    def sort_url(key: str) -> str:
        """This view sorted by `key`: descending first, then the other way."""
        return url("/observations", params, sort=key, order="asc" if key == sort and descending else None)

    return page(
        session,
        "observations.html",
        observations=result.items if result else [],
        errors=found.errors,
        q=q,
        range=found.range,
        ranges=list(RANGES),
        types=TYPES,
        levels=LEVELS,
        columns=COLUMNS,
        shown=chosen or list(DEFAULT_COLUMNS),
        sorted_by=SORTED_BY,
        sort=sort,
        descending=descending,
        sort_url=sort_url,
        kept={k: v for k, v in params.items() if k in ("sort", "order")},  # the form keeps the sort
        next_url=url("/observations", params, after=result.end_cursor)
        if result and result.has_next
        else None,
        first_url=url("/observations", params),
        export_url=url("/observations/export", {**params, "range": found.range, "cols": None}),
        export_max=EXPORT_MAX_ROWS,
        prompt_url=prompt_url,
    )


EXPORT_COLUMNS = (
    "id",
    "trace_id",
    "parent_observation_id",
    "type",
    "name",
    "start_time",
    "end_time",
    "level",
    "status_message",
    "model",
    "latency_ms",
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "total_cost",
    "prompt_name",
    "prompt_version",
    "trace_name",
    "user_id",
    "session_id",
    "environment",
    "input",
    "output",
)


def _export_row(o: ObservationView) -> dict[str, Any]:
    return {
        "id": o.id,
        "trace_id": o.trace_id,
        "parent_observation_id": o.parent_observation_id,
        "type": o.type,
        "name": o.name,
        "start_time": o.start_time.isoformat(),
        "end_time": o.end_time.isoformat() if o.end_time else None,
        "level": o.level,
        "status_message": o.status_message,
        "model": o.model,
        "latency_ms": o.latency_ms,
        "input_tokens": o.usage_details.get("input"),
        "output_tokens": o.usage_details.get("output"),
        "total_tokens": o.total_tokens,
        "total_cost": None if o.total_cost is None else float(o.total_cost),
        "prompt_name": o.prompt_name,
        "prompt_version": o.prompt_version,
        "trace_name": o.trace_name,
        "user_id": o.user_id,
        "session_id": o.session_id,
        "environment": o.environment,
        "input": o.input,
        "output": o.output,
    }


@get("/observations/export")
async def observations_export(
    request: Request[Any, Any, State], caller: Caller, storage: Storage, format: str = "csv"
) -> Stream:
    """The page's filter and sort (its query string), up to EXPORT_MAX_ROWS observations with their whole
    input and output, streamed page by page as CSV or a JSON array."""
    found = listing(request, caller.project_id, EXPORT_PAGE)
    if found.request is None:
        name, message = next(iter(found.errors.items()))
        raise InvalidInput(f"{name}: {message}")
    base = replace(found.request, after=None, with_io=True)

    async def read(after: str | None, most: int) -> Page[ObservationView]:
        req = replace(base, first=min(EXPORT_PAGE, most), after=after)
        return await oq.list_observations(storage.clickhouse, req, max_first=EXPORT_PAGE)

    return download(paged(read, _export_row, EXPORT_MAX_ROWS), EXPORT_COLUMNS, "observations", format)


OBSERVATION_PAGE_ROUTES = [observations_page, observations_export]

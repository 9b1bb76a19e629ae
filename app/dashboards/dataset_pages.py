"""Dataset pages: the list (create, delete), one dataset (items with search, status filter, pages and
`?version=`; its experiments), and the items export.

Datasets come from app.evaluation.datasets, experiments from app.evaluation.experiments. URLs name
datasets by id (names may hold '/'); forms with JSON fields come back with inline errors and what was
typed kept.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.datastructures import State
from litestar.response import Redirect, Stream, Template

from app.auth.caller import Caller
from app.dashboards.deps import FORM, UiSession, page, requires_member
from app.dashboards.forms import FormInvalid, read_form, refused
from app.dashboards.params import query, url
from app.errors import InvalidInput, NotFound, UserError
from app.evaluation import datasets, experiments, exports
from app.evaluation.datasets import DatasetView, ItemStatus
from app.storage import Storage, json_text
from app.storage.postgres.tables import Role

PAGE_SIZE = 50
RUNS_PAGE = 20
EXPORT_PAGE = 500
STATUS_FILTERS = {
    "active": (ItemStatus.ACTIVE,),
    "archived": (ItemStatus.ARCHIVED,),
    "all": (ItemStatus.ACTIVE, ItemStatus.ARCHIVED),
}


def whole(value: str | None, name: str) -> int:
    """A page number from the query string (default 1); InvalidInput naming `name` otherwise."""
    text = (value or "").strip()
    if not text:
        return 1
    if not text.isdigit() or not 1 <= int(text) <= 1_000_000:
        raise InvalidInput(f"{name} must be a whole number of at least 1")
    return int(text)


def version_of(value: str | None) -> datetime | None:
    """`?version=` as an instant (ISO 8601, UTC unless it says otherwise)."""
    if not value:
        return None
    try:
        found = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput("version must be an ISO 8601 time, e.g. 2026-12-01T09:00:00Z") from None
    return found if found.tzinfo else found.replace(tzinfo=UTC)


def parse_json_fields(
    values: dict[str, str], names: tuple[str, ...]
) -> tuple[dict[str, Any], dict[str, str]]:
    """JSON textareas as values (empty: None) and, per field that is not JSON, an error for beside it."""
    parsed: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name in names:
        text = values.get(name, "").strip()
        if not text:
            parsed[name] = None
            continue
        try:
            parsed[name] = json_text.loads(text)
        except ValueError as exc:
            errors[name] = f"not JSON: {exc}"
    return parsed, errors


def field_of(error: UserError, names: tuple[str, ...]) -> str | None:
    """The form field a domain error names first (`input.question: …` → input), if any."""
    message = str(error)
    return next((n for n in names if message.startswith((n + ".", n + "[", n + ":", n + " "))), None)


def shown(value: Any, limit: int | None = None) -> str:
    """A JSON value for reading (strings as they are), cut to `limit` characters."""
    text = "" if value is None else value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if limit is None or len(text) <= limit else text[: limit - 1] + "…"


def pretty(value: Any) -> str:
    """A JSON value for a textarea: indented JSON (empty for none)."""
    return "" if value is None else json.dumps(value, indent=2, ensure_ascii=False)


async def dataset_or_404(storage: Storage, project_id: str, dataset_id: str) -> DatasetView:
    """The project's dataset with this id, or NotFound."""
    found = await datasets.fetch_dataset(storage, project_id, dataset_id=dataset_id)
    if found is None:
        raise NotFound(f"dataset {dataset_id!r} not found")
    return found


# --- the list ---------------------------------------------------------------------------------------


@dataclass
class DatasetDraft:
    """The create form as typed (kept when it is refused)."""

    name: str = ""
    description: str = ""
    input_schema: str = ""
    expected_output_schema: str = ""
    errors: dict[str, str] = field(default_factory=dict)


async def _list_page(
    request: Request[Any, Any, State],
    session: UiSession,
    storage: Storage,
    draft: DatasetDraft,
    status: int = 200,
) -> Template:
    project_id, q = session.caller.project_id, query(request)
    page_no = whole(q.get("page"), "page")
    found, total = await datasets.list_datasets_page(storage, project_id, page_no, PAGE_SIZE)
    counts = await datasets.item_counts(storage, project_id, [d.id for d in found])
    response = page(
        session,
        "datasets.html",
        datasets=found,
        counts=counts,
        draft=draft,
        page=page_no,
        pages=max(1, -(-total // PAGE_SIZE)),
        page_url=lambda n: url("/datasets", {"page": n}),
        can_write=session.caller.role.at_least(Role.MEMBER),
    )
    response.status_code = status
    return response


@get("/datasets")
async def datasets_page(request: Request[Any, Any, State], session: UiSession, storage: Storage) -> Template:
    """The project's datasets, newest first, with their item counts; members get the create form."""
    return await _list_page(request, session, storage, DatasetDraft())


@post("/datasets", guards=[requires_member])
async def dataset_create(
    request: Request[Any, Any, State],
    session: UiSession,
    storage: Storage,
    data: Annotated[DatasetDraft, FORM],
) -> Template | Redirect:
    """Create a dataset (optionally with JSON Schemas for inputs and expected outputs)."""
    draft = DatasetDraft(data.name, data.description, data.input_schema, data.expected_output_schema)
    names = ("input_schema", "expected_output_schema")
    values, draft.errors = parse_json_fields({n: getattr(draft, n) for n in names}, names)
    if not draft.name.strip():
        draft.errors["name"] = "name is required"
    elif await datasets.fetch_dataset(storage, session.caller.project_id, name=draft.name.strip()):
        draft.errors["name"] = f"a dataset named {draft.name.strip()!r} exists already"
    if not draft.errors:
        spec = datasets.DatasetSpec(draft.name.strip(), draft.description.strip() or None, None, **values)
        try:
            created = await datasets.upsert_dataset(storage, session.caller.project_id, spec)
        except UserError as exc:
            draft.errors[field_of(exc, (*names, "name", "description")) or "form"] = str(exc)
        else:
            return Redirect(f"/datasets/{created.id}")
    return await _list_page(request, session, storage, draft, 400)


@dataclass
class ConfirmForm:
    confirm: str = ""


@post("/datasets/{dataset_id:str}/delete", guards=[requires_member])
async def dataset_delete(
    request: Request[Any, Any, State], session: UiSession, storage: Storage, dataset_id: str
) -> Template | Redirect:
    """Delete a dataset and its items, once its name is typed to confirm."""
    form = await read_form(request, ConfirmForm)
    project_id = session.caller.project_id
    dataset = await dataset_or_404(storage, project_id, dataset_id)
    if form.confirm.strip() != dataset.name:
        exc = FormInvalid({"confirm": f"Type the dataset's name, {dataset.name}, to delete it"})
        return refused(await _dataset_page(request, session, storage, dataset_id, form, exc.errors), exc)
    await datasets.delete_dataset(storage, project_id, dataset_id)
    return Redirect("/datasets")


# --- one dataset ------------------------------------------------------------------------------------


@get("/datasets/{dataset_id:str}")
async def dataset_page(
    request: Request[Any, Any, State], session: UiSession, storage: Storage, dataset_id: str
) -> Template:
    """A dataset's items: `?search=`, `?status=active|archived|all`, `?page=`, and `?version=` for the
    items as they were at that instant."""
    return await _dataset_page(request, session, storage, dataset_id)


async def _dataset_page(
    request: Request[Any, Any, State],
    session: UiSession,
    storage: Storage,
    dataset_id: str,
    typed: ConfirmForm | None = None,
    errors: dict[str, str] | None = None,
) -> Template:
    """A dataset's items; after a refused delete, its form as `typed` with the error."""
    project_id, q = session.caller.project_id, query(request)
    dataset = await dataset_or_404(storage, project_id, dataset_id)
    status = q.get("status") or "active"
    if status not in STATUS_FILTERS:
        raise InvalidInput(f"status must be one of {', '.join(STATUS_FILTERS)}")
    page_no, version = whole(q.get("page"), "page"), version_of(q.get("version"))
    search = (q.get("search") or "").strip() or None
    item_query = datasets.ItemQuery(
        dataset.id, version=version, statuses=STATUS_FILTERS[status], search=search
    )
    items, total = await datasets.list_items_page(storage, project_id, item_query, page_no, PAGE_SIZE)
    here = f"/datasets/{dataset.id}"
    params = {k: v for k, v in q.items() if k != "page"}
    return page(
        session,
        "dataset.html",
        dataset=dataset,
        tab="items",
        items=items,
        total=total,
        q=q,
        status=status,
        statuses=list(STATUS_FILTERS),
        as_of=version,
        page=page_no,
        pages=max(1, -(-total // PAGE_SIZE)),
        page_url=lambda n: url(here, params, page=n),
        export_url=lambda fmt: url(
            f"{here}/export", {k: params.get(k) for k in ("status", "version")}, format=fmt
        ),
        shown=shown,
        pretty=pretty,
        can_write=session.caller.role.at_least(Role.MEMBER) and version is None,
        typed=typed or ConfirmForm(),
        errors=errors or {},
    )


@get("/datasets/{dataset_id:str}/runs")
async def dataset_runs_page(
    request: Request[Any, Any, State], session: UiSession, storage: Storage, dataset_id: str
) -> Template:
    """The dataset's experiments, newest first, with item count, mean scores, cost and latency."""
    project_id, q = session.caller.project_id, query(request)
    dataset = await dataset_or_404(storage, project_id, dataset_id)
    page_no = whole(q.get("page"), "page")
    runs, total = await experiments.list_dataset_experiments(
        storage, project_id, dataset.id, page_no, RUNS_PAGE
    )
    summaries = await experiments.experiment_summaries(storage, project_id, [r.id for r in runs])
    return page(
        session,
        "dataset.html",
        dataset=dataset,
        tab="runs",
        runs=runs,
        summaries=summaries,
        score_names=sorted({n for s in summaries.values() for n in s.scores}),
        page=page_no,
        pages=max(1, -(-total // RUNS_PAGE)),
        page_url=lambda n: url(f"/datasets/{dataset.id}/runs", {"page": n}),
        can_write=session.caller.role.at_least(Role.MEMBER),
    )


@get("/datasets/{dataset_id:str}/export")
async def dataset_export(
    request: Request[Any, Any, State], caller: Caller, storage: Storage, dataset_id: str
) -> Stream:
    """The dataset's items (`?status=`, `?version=` as on its page) as a CSV or JSONL download."""
    q = query(request)
    fmt = exports.export_format(q.get("format"))
    dataset = await dataset_or_404(storage, caller.project_id, dataset_id)
    status = q.get("status") or "active"
    if status not in STATUS_FILTERS:
        raise InvalidInput(f"status must be one of {', '.join(STATUS_FILTERS)}")
    item_query = datasets.ItemQuery(
        dataset.id, version=version_of(q.get("version")), statuses=STATUS_FILTERS[status]
    )
    return export_stream(
        exports.item_records(storage, caller.project_id, item_query), fmt, exports.ITEM_COLUMNS, dataset.name
    )


def export_stream(
    records: AsyncIterator[dict[str, Any]], fmt: exports.ExportFormat, columns: tuple[str, ...], name: str
) -> Stream:
    """Records as a download named after `name`, encoded a batch at a time."""

    async def chunks() -> AsyncIterator[bytes]:
        batch: list[dict[str, Any]] = []
        header = True
        async for record in records:
            batch.append(record)
            if len(batch) >= EXPORT_PAGE:
                yield _encode(batch, fmt, columns, header)
                batch, header = [], False
        if batch or header:
            yield _encode(batch, fmt, columns, header)

    filename = "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "export"
    return Stream(
        chunks(),
        media_type=exports.MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{filename}.{fmt}"'},
    )


def _encode(
    batch: list[dict[str, Any]], fmt: exports.ExportFormat, columns: tuple[str, ...], header: bool
) -> bytes:
    return "".join(exports.encode(batch, fmt, columns, header)).encode()


DATASET_ROUTES = [
    datasets_page,
    dataset_create,
    dataset_delete,
    dataset_page,
    dataset_runs_page,
    dataset_export,
]

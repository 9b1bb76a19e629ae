"""Dataset item pages: the new-item form, one item (edit, archive, delete, every version) and "add to
dataset" from a trace or an observation.

Item ids are unique per project (and may hold '/'), so an item's page is `/dataset-items/<id>` and its
actions name it in the form. Items come from app.evaluation.datasets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from litestar import Request, get, post
from litestar.datastructures import State
from litestar.response import Redirect, Template

from app.dashboards.dataset_pages import dataset_or_404, field_of, parse_json_fields, pretty, shown
from app.dashboards.deps import UiSession, page, requires_member
from app.dashboards.forms import read_form
from app.dashboards.trace_pages import DatasetForm, refused_trace_form
from app.errors import InvalidInput, NotFound, UserError
from app.evaluation import datasets
from app.evaluation.datasets import DatasetView, ItemStatus, ItemView
from app.evaluation.trace_items import TraceItemSpec, add_trace_to_dataset
from app.storage import Storage
from app.storage.postgres.tables import Role

JSON_FIELDS = ("input", "expected_output", "metadata")


def item_url(item_id: str) -> str:
    """An item's page."""
    return f"/dataset-items/{quote(item_id, safe='')}"


@dataclass
class ItemDraft:
    """The item form as typed: JSON text per field (kept, with an error beside each bad one)."""

    item_id: str = ""
    input: str = ""
    expected_output: str = ""
    metadata: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, item: ItemView) -> ItemDraft:
        return cls(item.id, pretty(item.input), pretty(item.expected_output), pretty(item.metadata))


def _form_page(
    session: UiSession,
    dataset: DatasetView,
    draft: ItemDraft,
    item: ItemView | None = None,
    history: list[ItemView] | None = None,
    status: int = 200,
) -> Template:
    response = page(
        session,
        "dataset_item.html",
        dataset=dataset,
        draft=draft,
        item=item,
        history=history or [],
        shown=shown,
        item_url=item_url,
        can_write=session.caller.role.at_least(Role.MEMBER),
    )
    response.status_code = status
    return response


async def _save(
    session: UiSession, storage: Storage, dataset: DatasetView, draft: ItemDraft, item_id: str | None
) -> ItemView | None:
    """Write the draft as the item's next version (a new item without `item_id`); None, with the errors
    put beside their fields, when it is refused."""
    values, draft.errors = parse_json_fields({n: getattr(draft, n) for n in JSON_FIELDS}, JSON_FIELDS)
    if draft.errors:
        return None
    spec = datasets.ItemSpec(dataset_name=dataset.name, id=item_id, **values)
    try:
        return await datasets.upsert_item(storage, session.caller.project_id, spec)
    except UserError as exc:
        draft.errors[field_of(exc, (*JSON_FIELDS, "id")) or "form"] = str(exc)
        return None


@get("/datasets/{dataset_id:str}/items/new", guards=[requires_member])
async def item_new(session: UiSession, storage: Storage, dataset_id: str) -> Template:
    """The form for a new item of the dataset."""
    dataset = await dataset_or_404(storage, session.caller.project_id, dataset_id)
    return _form_page(session, dataset, ItemDraft())


@post("/datasets/{dataset_id:str}/items/new", guards=[requires_member])
async def item_create(
    request: Request[Any, Any, State], session: UiSession, storage: Storage, dataset_id: str
) -> Template | Redirect:
    """Create an item; a field that is not JSON (or breaks a schema) comes back with its error."""
    data = await read_form(request, ItemDraft)
    dataset = await dataset_or_404(storage, session.caller.project_id, dataset_id)
    draft = ItemDraft("", data.input, data.expected_output, data.metadata)
    created = await _save(session, storage, dataset, draft, None)
    if created is None:
        return _form_page(session, dataset, draft, status=400)
    return Redirect(item_url(created.id))


async def _item_page(
    session: UiSession, storage: Storage, item_id: str, draft: ItemDraft | None = None, status: int = 200
) -> Template:
    project_id = session.caller.project_id
    history = await datasets.item_history(storage, project_id, item_id)
    if not history:
        raise NotFound(f"dataset item {item_id!r} not found")
    item = await datasets.fetch_item(storage, project_id, item_id)
    dataset = await dataset_or_404(storage, project_id, history[0].dataset_id)
    return _form_page(
        session, dataset, draft or (ItemDraft.of(item) if item else ItemDraft(item_id)), item, history, status
    )


@get("/dataset-items/{item_id:path}")
async def item_page(session: UiSession, storage: Storage, item_id: str) -> Template:
    """One item: its current values (a form for members), archive and delete, and every version, a
    deleted one shown as such, each linking to the dataset as it was then."""
    return await _item_page(session, storage, item_id.lstrip("/"))


async def _current(session: UiSession, storage: Storage, item_id: str) -> ItemView:
    item = await datasets.fetch_item(storage, session.caller.project_id, item_id)
    if item is None:
        raise NotFound(f"dataset item {item_id!r} not found")
    return item


@post("/dataset-items/save", guards=[requires_member])
async def item_save(
    request: Request[Any, Any, State], session: UiSession, storage: Storage
) -> Template | Redirect:
    """Save an edit as the item's next version (an empty field keeps its value)."""
    data = await read_form(request, ItemDraft)
    item = await _current(session, storage, data.item_id)
    dataset = await dataset_or_404(storage, session.caller.project_id, item.dataset_id)
    draft = ItemDraft(item.id, data.input, data.expected_output, data.metadata)
    if await _save(session, storage, dataset, draft, item.id) is None:
        return await _item_page(session, storage, item.id, draft, 400)
    return Redirect(item_url(item.id))


@dataclass
class StatusForm:
    item_id: str = ""
    status: str = ""


@post("/dataset-items/status", guards=[requires_member])
async def item_status(
    request: Request[Any, Any, State], session: UiSession, storage: Storage
) -> Template | Redirect:
    """Archive an item (it leaves runs and the default list) or make it active again."""
    data = await read_form(request, StatusForm)
    item = await _current(session, storage, data.item_id)
    if data.status not in ItemStatus.__members__:
        draft = ItemDraft.of(item)
        draft.errors = {"form": "Status must be ACTIVE or ARCHIVED"}
        return await _item_page(session, storage, item.id, draft, 400)
    spec = datasets.ItemSpec(dataset_name=item.dataset_name, id=item.id, status=ItemStatus(data.status))
    await datasets.upsert_item(storage, session.caller.project_id, spec)
    return Redirect(item_url(item.id))


@dataclass
class DeleteForm:
    item_id: str = ""
    confirm: str = ""


@post("/dataset-items/delete", guards=[requires_member])
async def item_delete(
    request: Request[Any, Any, State], session: UiSession, storage: Storage
) -> Template | Redirect:
    """Delete an item (a tombstone version: its history stays readable), once confirmed."""
    data = await read_form(request, DeleteForm)
    item = await _current(session, storage, data.item_id)
    if data.confirm != "yes":
        draft = ItemDraft.of(item)
        draft.errors = {"confirm": "Tick the box to delete the item"}
        return await _item_page(session, storage, item.id, draft, 400)
    await datasets.delete_item(storage, session.caller.project_id, item.id)
    return Redirect(f"/datasets/{item.dataset_id}")


@post("/traces/{trace_id:str}/add-to-dataset", guards=[requires_member])
async def add_to_dataset(
    request: Request[Any, Any, State], session: UiSession, storage: Storage, trace_id: str
) -> Template:
    """A new item from the trace (or the observation named): its input, its output as the expected
    output, the source ids; into the chosen dataset, or a new one named in `new_dataset`. Refused, the
    trace page again with what was chosen and typed, and the reason beside its field."""
    data = await read_form(request, DatasetForm)
    project_id = session.caller.project_id
    name = data.new_dataset.strip()
    try:
        if not name:
            if not data.dataset_id:
                raise InvalidInput("dataset_id: choose a dataset or name a new one")
            name = (await dataset_or_404(storage, project_id, data.dataset_id)).name
        spec = TraceItemSpec(
            trace_id,
            name,
            data.observation_id or None,
            create_dataset=bool(data.new_dataset.strip()),
        )
        item = await add_trace_to_dataset(storage, project_id, spec)
    except InvalidInput as exc:
        return await refused_trace_form(request, session, storage, trace_id, data, exc)
    return page(session, "dataset_added.html", item=item, item_url=item_url, trace_id=trace_id, shown=shown)


DATASET_ITEM_ROUTES = [item_new, item_create, item_page, item_save, item_status, item_delete, add_to_dataset]

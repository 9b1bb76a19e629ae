"""Importing a CSV or JSONL file into a dataset: upload → map columns (with a preview of the first rows)
→ import in the background with a progress bar (htmx polls the progress fragment) → a summary with
the bad rows by line.

The work is app.evaluation.import_run's; progress is kept in Redis (see that module for why).
"""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.datastructures import State, UploadFile
from litestar.response import Redirect, Template

from app.dashboards.dataset_pages import dataset_or_404
from app.dashboards.deps import UiSession, form_lists, page, requires_member
from app.errors import InvalidInput, NotFound, UserError
from app.evaluation import import_run, imports
from app.storage import Storage

MAX_UPLOAD_BYTES = 50 * 1024 * 1024  # larger files: `langhouse datasets import`


def _import_page(session: UiSession, template: str, status: int = 200, /, **context: Any) -> Template:
    response = page(session, template, **context)
    response.status_code = status
    return response


@get("/datasets/{dataset_id:str}/import", guards=[requires_member])
async def import_form(session: UiSession, storage: Storage, dataset_id: str) -> Template:
    """Step 1: choose a .csv or .jsonl file."""
    dataset = await dataset_or_404(storage, session.caller.project_id, dataset_id)
    return _import_page(session, "dataset_import.html", dataset=dataset, step="upload", error=None)


@post(
    "/datasets/{dataset_id:str}/import",
    guards=[requires_member],
    request_max_body_size=MAX_UPLOAD_BYTES,
)
async def import_upload(
    request: Request[Any, Any, State], session: UiSession, storage: Storage, dataset_id: str
) -> Template:
    """Step 2: keep the file and show its columns, the first rows and a mapping to choose."""
    dataset = await dataset_or_404(storage, session.caller.project_id, dataset_id)
    file = (await request.form()).get("file")
    if not isinstance(file, UploadFile):
        error = "Choose a CSV or JSONL file to upload"
        return _import_page(session, "dataset_import.html", 400, dataset=dataset, step="upload", error=error)
    try:
        upload, found = await import_run.stage_upload(
            storage, session.caller.project_id, dataset.id, file.filename or "", file.file
        )
    except UserError as exc:
        return _import_page(
            session, "dataset_import.html", 400, dataset=dataset, step="upload", error=str(exc)
        )
    finally:
        await file.close()
    return _mapping_page(session, dataset, upload, found, imports.default_mapping(found.columns))


def _mapping_page(
    session: UiSession,
    dataset: Any,
    upload: import_run.Upload,
    found: imports.Sample,
    chosen: dict[str, tuple[str, ...]],
    error: str | None = None,
) -> Template:
    return _import_page(
        session,
        "dataset_import.html",
        400 if error else 200,
        dataset=dataset,
        step="mapping",
        upload=upload,
        sample=found,
        chosen=chosen,
        fields=imports.FIELDS,
        error=error,
    )


@post("/datasets/{dataset_id:str}/import/{upload_id:str}", guards=[requires_member])
async def import_start(
    request: Request[Any, Any, State], session: UiSession, storage: Storage, dataset_id: str, upload_id: str
) -> Template | Redirect:
    """Step 3: start the import with the chosen mapping (each field: one or more columns)."""
    project_id = session.caller.project_id
    dataset = await dataset_or_404(storage, project_id, dataset_id)
    upload = await import_run.fetch_upload(storage, project_id, upload_id)
    if upload is None or upload.dataset_id != dataset.id:
        raise NotFound("this upload is gone (imported already, or older than a day); upload the file again")
    form = await form_lists(request)
    chosen = {f: tuple(c for c in form.get(f, []) if c) for f in imports.FIELDS}
    found = await import_run.sample_upload(upload)
    try:
        mapping = imports.mapping_of(chosen)
        missing = mapping.columns() - set(found.columns) if upload.format == "csv" else set()
        if missing:
            raise InvalidInput(f"mapping: no column {', '.join(sorted(missing))} in the file")
    except InvalidInput as exc:
        return _mapping_page(session, dataset, upload, found, chosen, str(exc))
    import_id = await import_run.start_import(storage, project_id, dataset, upload, mapping)
    return Redirect(f"/datasets/{dataset.id}/imports/{import_id}")


async def _progress(storage: Storage, project_id: str, import_id: str) -> import_run.ImportProgress:
    found = await import_run.load_progress(storage, project_id, import_id)
    if found is None:
        raise NotFound(f"import {import_id!r} not found (a summary is kept for a day)")
    return found


@get("/datasets/{dataset_id:str}/imports/{import_id:str}")
async def import_status_page(
    session: UiSession, storage: Storage, dataset_id: str, import_id: str
) -> Template:
    """Step 4: the progress bar, which polls until the import is done, then the summary."""
    dataset = await dataset_or_404(storage, session.caller.project_id, dataset_id)
    progress = await _progress(storage, session.caller.project_id, import_id)
    return page(session, "dataset_import_status.html", dataset=dataset, progress=progress)


@get("/datasets/{dataset_id:str}/imports/{import_id:str}/progress")
async def import_progress(session: UiSession, storage: Storage, dataset_id: str, import_id: str) -> Template:
    """The progress fragment htmx swaps in (it stops polling once the import is done or failed)."""
    progress = await _progress(storage, session.caller.project_id, import_id)
    return Template("_import_progress.html", context={"progress": progress, "dataset_id": dataset_id})


DATASET_IMPORT_ROUTES = [import_form, import_upload, import_start, import_status_page, import_progress]

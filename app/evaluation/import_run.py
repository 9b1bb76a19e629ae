"""Running a dataset import: stage an uploaded file, write its rows as items, and keep the progress.

Progress lives in Redis (app.storage.cache, one JSON value per import, kept a day): the page that polls
it may be answered by any web process, and the summary outlives the request and a page reload. The
import itself runs as a task of the process that received the file, because the staged file is on that
process's local disk (the blob store has no streaming reads, and a whole file in memory is what the
streaming parser avoids); a multi-host deployment keeps an importing browser on one host.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from itertools import islice
from pathlib import Path
from typing import IO, Literal

from app.errors import AppError, UserError
from app.evaluation import datasets, imports
from app.evaluation.imports import BadRow, ColumnMapping, Format, ParsedRow
from app.storage import Storage

log = logging.getLogger(__name__)
State = Literal["running", "done", "failed"]
KEEP_SECONDS = 24 * 3600
BAD_ROWS_KEPT = 500  # listed in the summary; every bad row is counted
BATCH = 100  # rows parsed per hop to a thread, and between progress updates
_TASKS: set[asyncio.Task[None]] = set()  # running imports (a task nobody references may be collected)


@dataclass(frozen=True, slots=True)
class Upload:
    """A file staged for import into a dataset, waiting for its column mapping."""

    upload_id: str
    dataset_id: str
    filename: str
    format: Format
    path: str
    size: int


@dataclass(frozen=True, slots=True)
class ImportProgress:
    """Where an import stands: bytes read of the file, items written, bad rows (line, reason)."""

    import_id: str
    dataset_id: str
    state: State = "running"
    bytes_read: int = 0
    total_bytes: int = 0
    imported: int = 0
    bad_count: int = 0
    bad_rows: tuple[tuple[int, str], ...] = field(default_factory=tuple)
    error: str | None = None
    started_at: float = 0.0
    finished_at: float | None = None

    @property
    def percent(self) -> int:
        """Whole percent of the file read (100 once done)."""
        if self.state != "running":
            return 100
        return min(99, self.bytes_read * 100 // self.total_bytes) if self.total_bytes else 0


STAGING = "langhouse-imports"  # the folder of staged uploads, in the system's temporary directory


def _stage_path(name: str) -> Path:
    """Where an upload is staged; staged files left a day (never imported) are removed on the way."""
    directory = Path(tempfile.gettempdir()) / STAGING
    directory.mkdir(mode=0o700, exist_ok=True)
    stale = time.time() - KEEP_SECONDS
    for path in directory.iterdir():
        with contextlib.suppress(OSError):  # another process may remove it first
            if path.stat().st_mtime < stale:
                path.unlink()
    return directory / name


def _upload_key(project_id: str, upload_id: str) -> str:
    return f"dataset-upload:{project_id}:{upload_id}"


def _progress_key(project_id: str, import_id: str) -> str:
    return f"dataset-import:{project_id}:{import_id}"


async def stage_upload(
    storage: Storage, project_id: str, dataset_id: str, filename: str, stream: IO[bytes]
) -> tuple[Upload, imports.Sample]:
    """Copy an uploaded file to local disk and read its columns and first rows; InvalidInput when the
    name is not .csv/.jsonl or the file has no header or rows. The upload is kept a day."""
    fmt = imports.detect_format(filename)
    upload_id = secrets.token_urlsafe(12)

    def copy() -> tuple[Path, int, imports.Sample]:
        path = _stage_path(f"{upload_id}.{fmt}")
        try:
            with path.open("wb") as out:
                shutil.copyfileobj(stream, out, 1024 * 1024)
            with path.open("rb") as f:
                return path, path.stat().st_size, imports.sample(f, fmt)
        except BaseException:
            path.unlink(missing_ok=True)
            raise

    path, size, found = await asyncio.to_thread(copy)
    upload = Upload(upload_id, dataset_id, filename, fmt, str(path), size)
    await storage.cache.set(_upload_key(project_id, upload_id), asdict(upload), KEEP_SECONDS)
    return upload, found


async def fetch_upload(storage: Storage, project_id: str, upload_id: str) -> Upload | None:
    """A staged upload of the project (None once imported, expired, or on another host)."""
    raw = await storage.cache.get(_upload_key(project_id, upload_id))
    if raw is None or not await asyncio.to_thread(Path(str(raw["path"])).exists):
        return None
    return Upload(**raw)  # type: ignore[arg-type]


async def sample_upload(upload: Upload) -> imports.Sample:
    """The staged file's columns and first rows again (the mapping step, after a refused mapping)."""

    def read() -> imports.Sample:
        with open(upload.path, "rb") as f:
            return imports.sample(f, upload.format)

    return await asyncio.to_thread(read)


async def load_progress(storage: Storage, project_id: str, import_id: str) -> ImportProgress | None:
    """An import's progress (None when unknown to the project or older than a day)."""
    raw = await storage.cache.get(_progress_key(project_id, import_id))
    if raw is None:
        return None
    bad = tuple((int(line), str(reason)) for line, reason in raw.pop("bad_rows", []))  # type: ignore[attr-defined]
    return ImportProgress(**raw, bad_rows=bad)  # type: ignore[arg-type]


async def _save(storage: Storage, project_id: str, progress: ImportProgress) -> None:
    await storage.cache.set(_progress_key(project_id, progress.import_id), asdict(progress), KEEP_SECONDS)


ProgressHook = Callable[[ImportProgress], Awaitable[None]]


async def import_rows(
    storage: Storage,
    project_id: str,
    dataset_name: str,
    stream: IO[bytes],
    fmt: Format,
    mapping: ColumnMapping,
    progress: ImportProgress,
    on_progress: ProgressHook | None = None,
) -> ImportProgress:
    """Write every good row of the stream as a new item of the dataset, reporting progress after each
    batch; a row the dataset refuses (its schema) becomes a bad row. InvalidInput before any row when
    the mapping does not fit the file; NotFound when the dataset is gone."""
    rows: Iterator[ParsedRow | BadRow] = imports.iter_rows(stream, fmt, mapping)
    bad: list[tuple[int, str]] = list(progress.bad_rows)
    imported, bad_count = progress.imported, progress.bad_count
    while batch := await asyncio.to_thread(lambda: list(islice(rows, BATCH))):
        good = [r for r in batch if isinstance(r, ParsedRow)]
        refused = await _write(storage, project_id, dataset_name, good)
        imported += len(good) - len(refused)
        for row in sorted([r for r in batch if isinstance(r, BadRow)] + refused, key=lambda r: r.line):
            bad_count += 1
            if len(bad) < BAD_ROWS_KEPT:
                bad.append((row.line, row.reason))
        with contextlib.suppress(OSError, ValueError):
            progress = replace(progress, bytes_read=stream.tell())
        progress = replace(progress, imported=imported, bad_count=bad_count, bad_rows=tuple(bad))
        if on_progress is not None:
            await on_progress(progress)
    return replace(progress, state="done", bytes_read=progress.total_bytes, finished_at=time.time())


def _spec(dataset_name: str, row: ParsedRow) -> datasets.ItemSpec:
    return datasets.ItemSpec(
        dataset_name=dataset_name, input=row.input, expected_output=row.expected_output, metadata=row.metadata
    )


async def _write(storage: Storage, project_id: str, dataset_name: str, rows: list[ParsedRow]) -> list[BadRow]:
    """Write the rows as new items, all at once; when the batch is refused (a row breaks the dataset's
    schema), row by row, so only the rows at fault are left out. Returns those, with the reason."""
    if not rows:
        return []
    try:
        await datasets.add_items(storage, project_id, dataset_name, [_spec(dataset_name, r) for r in rows])
        return []
    except UserError as exc:
        if exc.status == 404:  # the dataset itself is gone: no row can succeed
            raise
    refused = []
    for row in rows:
        try:
            await datasets.upsert_item(storage, project_id, _spec(dataset_name, row))
        except UserError as exc:
            if exc.status == 404:
                raise
            refused.append(BadRow(row.line, str(exc)))
    return refused


async def _run(
    storage: Storage,
    project_id: str,
    dataset_name: str,
    upload: Upload,
    mapping: ColumnMapping,
    progress: ImportProgress,
) -> None:
    async def save(p: ImportProgress) -> None:
        await _save(storage, project_id, p)

    try:
        f = await asyncio.to_thread(open, upload.path, "rb")
        try:
            done = await import_rows(
                storage, project_id, dataset_name, f, upload.format, mapping, progress, save
            )
        finally:
            f.close()
        await save(done)
    except Exception as exc:
        if not isinstance(exc, AppError):
            log.exception("dataset import %s failed", progress.import_id)
        message = str(exc) if isinstance(exc, UserError) else "the import failed; see the server log"
        await save(replace(progress, state="failed", error=message, finished_at=time.time()))
    finally:
        await asyncio.to_thread(Path(upload.path).unlink, missing_ok=True)


async def start_import(
    storage: Storage, project_id: str, dataset: datasets.DatasetView, upload: Upload, mapping: ColumnMapping
) -> str:
    """Start importing a staged upload in the background (a task of this process); returns the import
    id whose progress `load_progress` reads. The upload is used up."""
    await storage.cache.delete(_upload_key(project_id, upload.upload_id))
    progress = ImportProgress(
        import_id=secrets.token_urlsafe(12),
        dataset_id=dataset.id,
        total_bytes=upload.size,
        started_at=time.time(),
    )
    await _save(storage, project_id, progress)
    task = asyncio.create_task(_run(storage, project_id, dataset.name, upload, mapping, progress))
    _TASKS.add(task)
    task.add_done_callback(_TASKS.discard)
    return progress.import_id

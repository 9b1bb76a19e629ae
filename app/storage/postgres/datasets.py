"""Repository for datasets and their versioned items (every call is scoped to one project).

An item change runs in one transaction holding a transaction-level advisory lock on (project, item id):
it closes the current version (valid_to = now) and inserts the next one, so concurrent upserts of one item
apply one after the other. The partial unique index on (project_id, item_id) WHERE valid_to IS NULL backs
this up: a clash it still catches is a Conflict, never two current versions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Text, and_, cast, func, literal, not_, or_, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.errors import Conflict
from app.storage.postgres.engine import Postgres
from app.storage.postgres.tables import Dataset, DatasetItem, utcnow

# Builds the next version from the current one (None: the item has none, or it was deleted); raises to
# refuse the change. Runs under the item's lock.
NextVersion = Callable[[DatasetItem | None], DatasetItem]
TICK = timedelta(microseconds=1)
ANALYZE_AFTER = 1_000  # rows of one bulk insert after which the table is vacuumed and analysed


@dataclass(frozen=True, slots=True)
class ItemFilter:
    """Which versions a list reads: current ones (as_of None) or those valid at `as_of`."""

    dataset_id: str | None = None  # None: every dataset of the project
    dataset_name: str | None = None  # instead of (or as well as) the id
    as_of: datetime | None = None
    statuses: tuple[str, ...] = ("ACTIVE",)
    source_trace_id: str | None = None
    source_observation_id: str | None = None
    search: str | None = None


# -- datasets ------------------------------------------------------------------------------------


async def fetch_dataset(
    pg: Postgres, project_id: str, *, name: str | None = None, dataset_id: str | None = None
) -> Dataset | None:
    """One dataset by name or id (both given: both must match)."""
    stmt = select(Dataset).where(Dataset.project_id == project_id)
    if name is not None:
        stmt = stmt.where(Dataset.name == name)
    if dataset_id is not None:
        stmt = stmt.where(Dataset.id == dataset_id)
    async with pg.session() as s:
        return (await s.exec(stmt.limit(1))).first()


async def upsert_dataset(pg: Postgres, project_id: str, name: str, changes: dict[str, object]) -> Dataset:
    """Create the dataset `name` with `changes`, or apply them to the existing one (atomic per name)."""
    async with pg.session() as s:
        await _lock(s, "dataset", project_id, name)
        stmt = select(Dataset).where(Dataset.project_id == project_id, Dataset.name == name)
        found = (await s.exec(stmt)).first()
        now = utcnow()
        row = found or Dataset(project_id=project_id, name=name, created_at=now)
        for key, value in changes.items():
            setattr(row, key, value)
        row.updated_at = now
        s.add(row)
        await s.commit()
    return row


async def list_datasets(pg: Postgres, project_id: str, limit: int, offset: int) -> list[Dataset]:
    """A page of the project's datasets, newest first."""
    stmt = (
        select(Dataset)
        .where(Dataset.project_id == project_id)
        .order_by(col(Dataset.created_at).desc(), col(Dataset.id))
        .limit(limit)
        .offset(offset)
    )
    async with pg.session() as s:
        return list((await s.exec(stmt)).all())


async def count_datasets(pg: Postgres, project_id: str) -> int:
    stmt = select(func.count()).select_from(Dataset).where(Dataset.project_id == project_id)
    async with pg.session() as s:
        return int((await s.exec(stmt)).one())


async def delete_dataset(pg: Postgres, project_id: str, dataset_id: str) -> bool:
    """Delete a dataset with every version of its items; False when the project has no such dataset."""
    async with pg.session() as s:
        stmt = select(Dataset).where(Dataset.project_id == project_id, Dataset.id == dataset_id)
        found = (await s.exec(stmt)).first()
        if found is None:
            return False
        await s.delete(found)
        await s.commit()
    return True


# -- items ---------------------------------------------------------------------------------------


async def _lock(s: AsyncSession, kind: str, project_id: str, key: str) -> None:
    name = f"{kind}\x1f{project_id}\x1f{key}"
    await s.exec(text("SELECT pg_advisory_xact_lock(hashtextextended(:name, 0))").bindparams(name=name))  # type: ignore[call-overload]


async def _current(s: AsyncSession, project_id: str, item_id: str) -> DatasetItem | None:
    stmt = select(DatasetItem).where(
        DatasetItem.project_id == project_id,
        DatasetItem.item_id == item_id,
        col(DatasetItem.valid_to).is_(None),
    )
    return (await s.exec(stmt.with_for_update())).first()


async def _replace(
    s: AsyncSession, current: DatasetItem | None, new: DatasetItem, *, fresh: bool = False
) -> DatasetItem:
    """Close `current` and store `new` as the current version, strictly later than the one it closes
    (`fresh`: the first version of an item, created now)."""
    now = utcnow()
    if current is not None:
        now = max(now, current.valid_from + TICK)
        current.valid_to = now
        s.add(current)
        await s.flush()  # the old version stops being current before the new one is
    new.valid_from, new.valid_to = now, None
    if fresh:
        new.created_at = now
    s.add(new)
    try:
        await s.commit()
    except IntegrityError as exc:
        raise Conflict(f"dataset item {new.item_id!r} was changed concurrently; retry") from exc
    return new


async def write_item_version(pg: Postgres, project_id: str, item_id: str, build: NextVersion) -> DatasetItem:
    """Store the version `build` makes from the current one (a deleted item counts as none)."""
    async with pg.session() as s:
        await _lock(s, "dataset-item", project_id, item_id)
        current = await _current(s, project_id, item_id)
        live = None if current is None or current.is_deleted else current
        new = build(live)
        new.project_id, new.item_id = project_id, item_id
        return await _replace(s, current, new, fresh=live is None)


async def insert_new_items(pg: Postgres, rows: Sequence[DatasetItem]) -> int:
    """Store first versions of new items in one transaction; Conflict (nothing stored) when an id is
    already a current item of the project."""
    now = utcnow()
    for row in rows:
        row.valid_from = row.created_at = now
        row.valid_to = None
    async with pg.session() as s:
        s.add_all(rows)
        try:
            await s.commit()
        except IntegrityError as exc:
            raise Conflict("an item id is already in use in this project (or repeated in the batch)") from exc
    if len(rows) >= ANALYZE_AFTER:
        # Autovacuum would get there later: until then the planner lacks statistics (it sorts a large
        # dataset's items for every page instead of reading the ordered index) and index-only scans
        # of pages and counts still visit the table.
        async with pg.engine.connect() as conn:
            autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.execute(text("VACUUM (ANALYZE) dataset_items"))
    return len(rows)


async def delete_item(pg: Postgres, project_id: str, item_id: str) -> bool:
    """Write a tombstone version; False when the project has no such current item."""
    async with pg.session() as s:
        await _lock(s, "dataset-item", project_id, item_id)
        current = await _current(s, project_id, item_id)
        if current is None or current.is_deleted:
            return False
        tombstone = DatasetItem(
            project_id=project_id,
            item_id=item_id,
            dataset_id=current.dataset_id,
            status=current.status,
            input=current.input,
            expected_output=current.expected_output,
            metadata_=current.metadata_,
            source_trace_id=current.source_trace_id,
            source_observation_id=current.source_observation_id,
            is_deleted=True,
            created_at=current.created_at,
        )
        await _replace(s, current, tombstone)
    return True


async def fetch_item(pg: Postgres, project_id: str, item_id: str) -> tuple[DatasetItem, str] | None:
    """The current version of an item (any status) with its dataset's name; None when deleted."""
    stmt = (
        select(DatasetItem, Dataset.name)
        .join(Dataset, col(Dataset.id) == col(DatasetItem.dataset_id))
        .where(
            DatasetItem.project_id == project_id,
            DatasetItem.item_id == item_id,
            col(DatasetItem.valid_to).is_(None),
            col(DatasetItem.is_deleted).is_(False),
        )
    )
    async with pg.session() as s:
        row = (await s.exec(stmt)).first()
    return None if row is None else (row[0], row[1])


async def item_history(pg: Postgres, project_id: str, item_id: str) -> list[tuple[DatasetItem, str]]:
    """Every version of an item, newest first, tombstones included, each with its dataset's name."""
    stmt = (
        select(DatasetItem, Dataset.name)
        .join(Dataset, col(Dataset.id) == col(DatasetItem.dataset_id))
        .where(DatasetItem.project_id == project_id, DatasetItem.item_id == item_id)
        .order_by(col(DatasetItem.valid_from).desc())
    )
    async with pg.session() as s:
        return [(r[0], r[1]) for r in (await s.exec(stmt)).all()]


def _conditions(project_id: str, f: ItemFilter) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [
        col(DatasetItem.project_id) == project_id,
        not_(col(DatasetItem.is_deleted)),  # as the partial index says it
        col(DatasetItem.status).in_(f.statuses),
    ]
    if f.dataset_id is not None:
        where.append(col(DatasetItem.dataset_id) == f.dataset_id)
    if f.as_of is None:
        where.append(col(DatasetItem.valid_to).is_(None))
    else:
        where.append(col(DatasetItem.valid_from) <= f.as_of)
        where.append(or_(col(DatasetItem.valid_to).is_(None), col(DatasetItem.valid_to) > f.as_of))
    if f.source_trace_id is not None:
        where.append(col(DatasetItem.source_trace_id) == f.source_trace_id)
    if f.source_observation_id is not None:
        where.append(col(DatasetItem.source_observation_id) == f.source_observation_id)
    if f.search:
        needle = f.search.lower()
        texts = (DatasetItem.input, DatasetItem.expected_output, DatasetItem.metadata_)
        where.append(or_(*(func.lower(cast(c, Text)).contains(needle, autoescape=True) for c in texts)))
    return where


async def list_items_page(
    pg: Postgres, project_id: str, f: ItemFilter, limit: int, offset: int, *, known_total: int | None = None
) -> tuple[list[tuple[DatasetItem, str]], int] | None:
    """A page of item versions matching `f`, newest item first, each with its dataset's name, and how
    many match; None when `f` names a dataset the project does not have.

    An SDK pages through a whole dataset this way, so a page is one statement in one session: the named
    dataset's id is a subquery (the ordered index still applies), the page is found and the matches are
    counted in one scan over narrow rows, and only the page's rows are read whole. With `known_total`
    (the caller's cached count of the same filter, taken since the last item change) nothing is counted."""
    where = _conditions(project_id, f)
    known = select(Dataset.id).where(Dataset.project_id == project_id)
    if f.dataset_name is not None:
        known = known.where(Dataset.name == f.dataset_name)
        if f.dataset_id is not None:
            known = known.where(Dataset.id == f.dataset_id)
        where.append(col(DatasetItem.dataset_id) == known.scalar_subquery())
    elif f.dataset_id is not None:
        known = known.where(Dataset.id == f.dataset_id)
    matching = and_(*where)
    order = (col(DatasetItem.created_at).desc(), col(DatasetItem.item_id))
    # One ordered scan finds the page and counts every match (the window sees all rows before LIMIT).
    total_column = func.count().over() if known_total is None else literal(known_total)
    ids = (
        select(DatasetItem.row_id, total_column.label("total"))
        .where(matching)
        .order_by(*order)
        .limit(limit)
        .offset(offset)
        .subquery()
    )
    page = select(DatasetItem, ids.c.total).join(ids, col(DatasetItem.row_id) == ids.c.row_id)
    stmt = page.order_by(*order)
    async with pg.session() as s:
        found = list((await s.exec(stmt)).all())
        if not found and known_total is not None:
            return [], known_total
        if not found:
            named = f.dataset_id is not None or f.dataset_name is not None
            if named and (await s.exec(known.limit(1))).first() is None:
                return None
            counted = select(func.count()).select_from(DatasetItem).where(matching)
            return [], int((await s.exec(counted)).one())
        rows = [r[0] for r in found]
        if f.dataset_name is not None:
            names = {rows[0].dataset_id: f.dataset_name}  # every row is of that dataset
        else:
            stmt_names = select(Dataset.id, Dataset.name).where(
                Dataset.project_id == project_id, col(Dataset.id).in_({r.dataset_id for r in rows})
            )
            names = {i: n for i, n in (await s.exec(stmt_names)).all()}
    return [(r, names[r.dataset_id]) for r in rows], int(found[0][1])


async def item_counts(pg: Postgres, project_id: str, dataset_ids: Sequence[str]) -> dict[str, int]:
    """Current, not deleted items (any status) per dataset; datasets without items are left out."""
    if not dataset_ids:
        return {}
    stmt = (
        select(DatasetItem.dataset_id, func.count())
        .where(
            DatasetItem.project_id == project_id,
            col(DatasetItem.dataset_id).in_(list(dataset_ids)),
            col(DatasetItem.valid_to).is_(None),
            col(DatasetItem.is_deleted).is_(False),
        )
        .group_by(col(DatasetItem.dataset_id))
    )
    async with pg.session() as s:
        return {dataset_id: int(n) for dataset_id, n in (await s.exec(stmt)).all()}

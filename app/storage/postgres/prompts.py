"""Repository for prompts, their dependencies and protected labels (every call is scoped to one project).

Every change of a prompt name runs in one transaction holding a transaction-level advisory lock on
(project, name): versions are max + 1 without races, and a label moves off older versions atomically.
The unique index on (project_id, name, version) backs this up.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, case, delete, func, literal, text
from sqlalchemy.orm import defer
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import Select

from app.errors import InvalidInput, NotFound
from app.storage.postgres.engine import Postgres
from app.storage.postgres.tables import Prompt, PromptDependency, ProtectedLabel, utcnow

LATEST = "latest"
# Checks a change against the versions it touches (raises to refuse it); runs under the name's lock.
Guard = Callable[[Sequence[Prompt]], None]


@dataclass(frozen=True, slots=True)
class PromptFilter:
    """Filters of a prompt list; they apply to versions before versions are grouped by name."""

    name: str | None = None
    name_contains: str | None = None
    folder: str | None = None  # names inside this folder, at any depth ("a/b" holds "a/b/c")
    names: tuple[str, ...] = ()  # only these names (none: any)
    label: str | None = None
    tag: str | None = None
    updated_from: datetime | None = None
    updated_to: datetime | None = None


@dataclass(frozen=True, slots=True)
class PromptSummary:
    """A prompt name with its matching versions (ascending), their labels and the newest one's config."""

    name: str
    type: str
    versions: list[int]
    labels: list[str]
    tags: list[str]
    last_updated_at: datetime
    last_config: dict[str, object]


async def _lock_name(s: AsyncSession, project_id: str, name: str) -> None:
    key = f"prompt\x1f{project_id}\x1f{name}"
    await s.exec(text("SELECT pg_advisory_xact_lock(hashtextextended(:name, 0))").bindparams(name=key))  # type: ignore[call-overload]


async def _versions(s: AsyncSession, project_id: str, name: str) -> list[Prompt]:
    stmt = (
        select(Prompt)
        .where(Prompt.project_id == project_id, Prompt.name == name)
        .order_by(col(Prompt.version).desc())
    )
    return list((await s.exec(stmt)).all())


def _take_labels(versions: Sequence[Prompt], keep: Prompt, labels: set[str]) -> None:
    """Remove `labels` from every version but `keep` (labels are unique per name)."""
    now = utcnow()
    for v in versions:
        if v.id != keep.id and labels & set(v.labels):
            v.labels = [label for label in v.labels if label not in labels]
            v.updated_at = now


async def fetch_prompt(
    pg: Postgres, project_id: str, name: str, *, version: int | None = None, label: str | None = None
) -> Prompt | None:
    """One version by number, or the version carrying `label` (labels are unique per name)."""
    stmt = select(Prompt).where(Prompt.project_id == project_id, Prompt.name == name)
    if version is not None:
        stmt = stmt.where(Prompt.version == version)
    if label is not None:
        stmt = stmt.where(col(Prompt.labels).contains([label]))
    async with pg.session() as s:
        return (await s.exec(stmt.order_by(col(Prompt.version).desc()).limit(1))).first()


async def list_versions(pg: Postgres, project_id: str, name: str) -> list[Prompt]:
    """Every version of a prompt, newest first."""
    async with pg.session() as s:
        return await _versions(s, project_id, name)


async def create_version(
    pg: Postgres,
    prompt: Prompt,
    tags: list[str] | None,
    dependencies: Sequence[PromptDependency],
    guard: Guard,
) -> Prompt:
    """Store `prompt` as version max + 1 with `latest`; its labels move off older versions; `tags`
    (None: keep the current ones) apply to every version. A different type than stored → InvalidInput."""
    async with pg.session() as s:
        await _lock_name(s, prompt.project_id, prompt.name)
        versions = await _versions(s, prompt.project_id, prompt.name)
        if versions and versions[0].type != prompt.type:
            raise InvalidInput(
                f"type: prompt {prompt.name!r} is a {versions[0].type} prompt; "
                f"a new version cannot be {prompt.type} (create a prompt of another name)"
            )
        guard(versions)
        prompt.version = versions[0].version + 1 if versions else 1
        prompt.labels = sorted({*prompt.labels, LATEST})
        prompt.tags = sorted(set(tags)) if tags is not None else (versions[0].tags if versions else [])
        prompt.created_at = prompt.updated_at = utcnow()
        _take_labels(versions, prompt, set(prompt.labels))
        for v in versions:
            if v.tags != prompt.tags:
                v.tags, v.updated_at = prompt.tags, prompt.updated_at
        s.add_all(versions)
        s.add(prompt)
        await s.flush()
        for dep in dependencies:
            dep.project_id, dep.parent_id = prompt.project_id, prompt.id
            s.add(dep)
        await s.commit()
    return prompt


async def set_labels(
    pg: Postgres,
    project_id: str,
    name: str,
    version: int,
    labels: Callable[[Prompt], list[str]],
    guard: Guard,
) -> Prompt:
    """Give one version the labels `labels(current)` returns; they move off other versions."""
    async with pg.session() as s:
        await _lock_name(s, project_id, name)
        versions = await _versions(s, project_id, name)
        target = next((v for v in versions if v.version == version), None)
        if target is None:
            raise NotFound(f"Prompt not found: {name!r} version {version}")
        new = labels(target)
        guard([target])
        _take_labels(versions, target, set(new))
        target.labels, target.updated_at = sorted(set(new)), utcnow()
        s.add_all(versions)
        await s.commit()
    return target


async def delete_versions(
    pg: Postgres, project_id: str, name: str, *, version: int | None, label: str | None, guard: Guard
) -> int:
    """Delete one version, the version holding a label, or (neither) every version of a name; `latest`
    moves to the newest version left. A version another prompt references → InvalidInput naming it."""
    async with pg.session() as s:
        await _lock_name(s, project_id, name)
        versions = await _versions(s, project_id, name)
        targets = [
            v
            for v in versions
            if (version is None or v.version == version) and (label is None or label in v.labels)
        ]
        if not targets:
            raise NotFound(f"Prompt not found: {name!r}")
        guard(targets)
        await _refuse_if_referenced(s, project_id, name, targets, whole=len(targets) == len(versions))
        ids = [v.id for v in targets]
        await s.exec(delete(Prompt).where(col(Prompt.id).in_(ids)))
        left = [v for v in versions if v.id not in ids]
        if left and LATEST not in left[0].labels:
            left[0].labels, left[0].updated_at = sorted({*left[0].labels, LATEST}), utcnow()
            s.add(left[0])
        await s.commit()
    return len(targets)


async def _refuse_if_referenced(
    s: AsyncSession, project_id: str, name: str, targets: list[Prompt], *, whole: bool
) -> None:
    ids = {v.id for v in targets}
    stmt = (
        select(PromptDependency, Prompt.name, Prompt.version)
        .join(Prompt, col(Prompt.id) == col(PromptDependency.parent_id))
        .where(PromptDependency.project_id == project_id, PromptDependency.child_name == name)
    )
    versions = {v.version for v in targets}
    labels = {label for v in targets for label in v.labels}
    for dep, parent_name, parent_version in (await s.exec(stmt)).all():
        if dep.parent_id in ids:
            continue
        hit = whole or dep.child_version in versions or (dep.child_label or "") in labels
        if hit:
            ref = (
                f"version={dep.child_version}"
                if dep.child_version is not None
                else f"label={dep.child_label}"
            )
            raise InvalidInput(
                f"prompt {parent_name!r} version {parent_version} depends on {name!r} ({ref}); "
                "remove that reference first"
            )


def _filtered(project_id: str, f: PromptFilter) -> list[ColumnElement[bool]]:
    preds: list[ColumnElement[bool]] = [col(Prompt.project_id) == project_id]
    if f.name is not None:
        preds.append(col(Prompt.name) == f.name)
    if f.name_contains:
        preds.append(col(Prompt.name).contains(f.name_contains, autoescape=True))
    if f.folder:
        preds.append(col(Prompt.name).startswith(f"{f.folder}/", autoescape=True))
    if f.names:
        preds.append(col(Prompt.name).in_(f.names))
    if f.label is not None:
        preds.append(col(Prompt.labels).contains([f.label]))
    if f.tag is not None:
        preds.append(col(Prompt.tags).contains([f.tag]))
    if f.updated_from is not None:
        preds.append(col(Prompt.updated_at) >= f.updated_from)
    if f.updated_to is not None:
        preds.append(col(Prompt.updated_at) < f.updated_to)
    return preds


async def count_prompts(pg: Postgres, project_id: str, f: PromptFilter) -> int:
    """How many prompt names have a version matching the filter."""
    async with pg.session() as s:
        stmt = select(func.count(func.distinct(Prompt.name))).where(*_filtered(project_id, f))
        return int((await s.exec(stmt)).one())


async def list_prompts(
    pg: Postgres, project_id: str, f: PromptFilter, limit: int, *, offset: int = 0, after: str | None = None
) -> list[PromptSummary]:
    """Prompt names in name order (after `after`, skipping `offset`), each with its matching versions."""
    preds = _filtered(project_id, f)
    async with pg.session() as s:
        names_stmt = select(Prompt.name).where(*preds).group_by(col(Prompt.name)).order_by(col(Prompt.name))
        if after is not None:
            names_stmt = names_stmt.where(col(Prompt.name) > after)
        names = list((await s.exec(names_stmt.limit(limit).offset(offset))).all())
        rows_stmt = (
            select(Prompt)
            .options(defer(Prompt.prompt))  # type: ignore[arg-type]
            .where(*preds, col(Prompt.name).in_(names))
            .order_by(col(Prompt.name), col(Prompt.version))
        )
        rows = list((await s.exec(rows_stmt)).all()) if names else []
    grouped: dict[str, list[Prompt]] = {}
    for row in rows:
        grouped.setdefault(row.name, []).append(row)
    return [
        PromptSummary(
            name=name,
            type=group[-1].type,
            versions=[r.version for r in group],
            labels=sorted({label for r in group for label in r.labels}),
            tags=list(group[-1].tags),
            last_updated_at=max(r.updated_at for r in group),
            last_config=group[-1].config,
        )
        for name in names
        if (group := grouped.get(name))
    ]


@dataclass(frozen=True, slots=True)
class FolderEntry:
    """What a folder holds directly: a prompt, or a subfolder with how many prompts it holds in all."""

    name: str  # full path: "support/triage"
    is_folder: bool
    prompts: int


def _folder_entries(project_id: str, f: PromptFilter) -> Select[str, bool, int]:
    """(entry, is folder, how many prompts) for what `f.folder` (the root when None) holds directly."""
    prefix = f"{f.folder}/" if f.folder else ""
    rest = func.substr(col(Prompt.name), len(prefix) + 1)
    is_folder = func.strpos(rest, "/") > 0
    entry = literal(prefix) + case((is_folder, func.split_part(rest, "/", 1)), else_=rest)
    return (
        select(entry.label("entry"), is_folder.label("is_folder"), func.count(func.distinct(Prompt.name)))
        .where(*_filtered(project_id, f))
        .group_by(entry, is_folder)
    )


async def list_folder(
    pg: Postgres, project_id: str, f: PromptFilter, limit: int, offset: int = 0
) -> list[FolderEntry]:
    """The subfolders (first) and prompts directly in `f.folder`, by name, that hold a matching version."""
    stmt = _folder_entries(project_id, f).order_by(text("is_folder DESC"), text("entry"))
    async with pg.session() as s:
        rows = (await s.exec(stmt.limit(limit).offset(offset))).all()
    return [FolderEntry(str(name), bool(folder), int(count)) for name, folder, count in rows]


async def count_folder(pg: Postgres, project_id: str, f: PromptFilter) -> int:
    """How many entries `list_folder` has in all."""
    async with pg.session() as s:
        stmt = select(func.count()).select_from(_folder_entries(project_id, f).subquery())
        return int((await s.exec(stmt)).one())


async def dependencies_of(pg: Postgres, project_id: str, parent_ids: Sequence[str]) -> list[PromptDependency]:
    """The references these prompt versions make to other prompts."""
    if not parent_ids:
        return []
    async with pg.session() as s:
        stmt = select(PromptDependency).where(
            PromptDependency.project_id == project_id, col(PromptDependency.parent_id).in_(list(parent_ids))
        )
        return list((await s.exec(stmt)).all())


async def list_protected_labels(pg: Postgres, project_id: str) -> list[str]:
    async with pg.session() as s:
        stmt = (
            select(ProtectedLabel.label)
            .where(ProtectedLabel.project_id == project_id)
            .order_by(col(ProtectedLabel.label))
        )
        return list((await s.exec(stmt)).all())


async def set_protected_labels(pg: Postgres, project_id: str, labels: Sequence[str]) -> list[str]:
    """Replace the project's protected labels."""
    async with pg.session() as s:
        await s.exec(delete(ProtectedLabel).where(col(ProtectedLabel.project_id) == project_id))
        s.add_all(ProtectedLabel(project_id=project_id, label=label) for label in sorted(set(labels)))
        await s.commit()
    return sorted(set(labels))

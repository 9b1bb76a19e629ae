"""Prompt versions: rules, create, read (cached, composed), list, labels, delete, protected labels.

Writes need the member role. Protected labels (per project) may be set, moved or removed, and versions
carrying them deleted, only by admins and owners; API keys may change them too, as in Langfuse (where
protected labels restrict people in the UI while a CI pipeline holding a project key can still promote).

Reads are cached in Redis under a per-project generation that every prompt change bumps after it
commits, so a cached read never outlives a change of that prompt or of one it inlines.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta

from app.auth.caller import Caller
from app.errors import Forbidden, InvalidInput, NotFound
from app.prompts import compose
from app.prompts.content import PromptContent, content_to_langfuse
from app.prompts.diff import PromptDiff, diff_versions
from app.storage import Storage
from app.storage.clickhouse.queries.common import TimeRange
from app.storage.postgres import accounts
from app.storage.postgres import prompts as repo
from app.storage.postgres.prompts import FolderEntry as FolderEntry
from app.storage.postgres.prompts import PromptFilter as PromptFilter
from app.storage.postgres.prompts import PromptSummary as PromptSummary
from app.storage.postgres.tables import Prompt, PromptDependency, Role

LATEST, PRODUCTION, RESERVED_NAME = repo.LATEST, "production", "new"
NAME_MAX, LABEL_MAX, TAG_MAX, MAX_ITEMS = 255, 36, 255, 100
LABEL = re.compile(r"^[a-z0-9_\-.]+$")
CACHE_TTL_SECONDS = 600
METRICS_WINDOW = timedelta(days=90)


@dataclass(frozen=True, slots=True)
class NewPromptVersion:
    """A version to create: its content and config, labels to give it, and the prompt's tags (None
    keeps the tags the prompt has)."""

    name: str
    content: PromptContent
    config: dict[str, object] = field(default_factory=dict)
    labels: tuple[str, ...] = ()
    tags: tuple[str, ...] | None = None
    commit_message: str | None = None


@dataclass(frozen=True, slots=True)
class ServedPrompt:
    """A version as read by name: its content with references inlined (unless not asked for) and the
    graph of what was inlined (None: nothing was)."""

    prompt_id: str
    project_id: str
    name: str
    version: int
    type: str
    prompt: str | list[dict[str, object]]
    config: dict[str, object]
    labels: list[str]
    tags: list[str]
    commit_message: str | None
    resolution_graph: dict[str, object] | None
    created_by: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, p: Prompt, resolved: compose.Resolved | None = None) -> ServedPrompt:
        return cls(
            p.id,
            p.project_id,
            p.name,
            p.version,
            p.type,
            resolved.prompt if resolved else p.prompt,
            p.config,
            p.labels,
            p.tags,
            p.commit_message,
            resolved.graph if resolved else None,
            p.created_by,
            p.created_at,
            p.updated_at,
        )


def validate_name(name: str) -> str:
    """The name, or InvalidInput saying which rule it breaks."""
    if not name.strip():
        raise InvalidInput("name is required")
    if len(name) > NAME_MAX:
        raise InvalidInput(f"name must be at most {NAME_MAX} characters")
    if "|" in name:
        raise InvalidInput("name must not contain '|'")
    if name.startswith("/") or name.endswith("/") or "//" in name:
        raise InvalidInput(
            "name: folders are separated by single '/' and the name cannot start or end with '/'"
        )
    return name


def validate_labels(labels: Sequence[str], field: str, *, allow_latest: bool) -> list[str]:
    """The labels sorted and without repeats, or InvalidInput naming `field` (what the caller calls them)."""
    if len(labels) > MAX_ITEMS:
        raise InvalidInput(f"{field} must be a list of at most {MAX_ITEMS} labels")
    for label in labels:
        if len(label) > LABEL_MAX or not LABEL.match(label):
            raise InvalidInput(
                f"{field}: label {label!r} must be 1 to {LABEL_MAX} characters of a-z, 0-9, '_', '-' or '.'"
            )
        if label == LATEST and not allow_latest:
            raise InvalidInput(f"{field}: the 'latest' label is managed by Langhouse and cannot be set")
    return sorted(set(labels))


def validate_tags(tags: Sequence[str] | None) -> list[str] | None:
    """The tags sorted and without repeats (None stays None), or InvalidInput."""
    if tags is None:
        return None
    if len(tags) > MAX_ITEMS:
        raise InvalidInput(f"tags must be a list of at most {MAX_ITEMS} strings")
    if not all(0 < len(t) <= TAG_MAX for t in tags):
        raise InvalidInput(f"tags must be non-empty strings of at most {TAG_MAX} characters")
    return sorted(set(tags))


def validate_new_name(name: str) -> str:
    """The name of a version to create: the rules of `validate_name`, and not the reserved name."""
    if validate_name(name) == RESERVED_NAME:  # as in Langfuse: /prompts/new is the form for a new prompt
        raise InvalidInput(f"name: '{RESERVED_NAME}' is reserved; choose another name")
    return name


# --- reads ------------------------------------------------------------------------------------------


def _node(p: Prompt) -> compose.Node:
    return compose.Node(p.id, p.name, p.version, p.type, p.prompt)


def _fetcher(storage: Storage, project_id: str) -> compose.Fetch:
    async def fetch(ref: compose.Reference) -> compose.Node | None:
        found = await repo.fetch_prompt(
            storage.postgres, project_id, ref.name, version=ref.version, label=ref.label
        )
        return _node(found) if found else None

    return fetch


async def resolve(storage: Storage, p: Prompt) -> compose.Resolved:
    """The version with every prompt it references inlined (see app.prompts.compose)."""
    return await compose.resolve(_node(p), _fetcher(storage, p.project_id))


def _not_found(name: str, version: int | None, label: str | None) -> NotFound:
    which = f"version {version}" if version is not None else f"label '{label}'"
    return NotFound(f"Prompt not found: '{name}' with {which}")


async def fetch_version(
    storage: Storage, project_id: str, name: str, *, version: int | None = None, label: str | None = None
) -> Prompt:
    """One stored version (by version, else by label), or NotFound."""
    found = await repo.fetch_prompt(storage.postgres, project_id, name, version=version, label=label)
    if found is None:
        raise _not_found(name, version, label)
    return found


def metrics_window(created_at: datetime) -> TimeRange:
    """The default window of version metrics: from a version's creation (at most 90 days back) to now."""
    now = datetime.now(UTC)
    return TimeRange(max(created_at - timedelta(minutes=5), now - METRICS_WINDOW), now)


def _generation_key(project_id: str) -> str:
    return f"prompts:generation:{project_id}"


async def get_prompt(
    storage: Storage,
    project_id: str,
    name: str,
    *,
    version: int | None = None,
    label: str | None = None,
    resolve_refs: bool = True,
) -> ServedPrompt:
    """A version by version or label (neither: `production`), composed unless `resolve_refs` is false;
    served from the cache while no prompt of the project changed."""
    if version is not None and label is not None:
        raise InvalidInput("give either version or label, not both")
    if version is None and label is None:
        label = PRODUCTION
    generation, _ = await storage.cache.counter(_generation_key(project_id))
    digest = hashlib.sha256(f"{name}\x1f{version}\x1f{label}\x1f{resolve_refs}".encode()).hexdigest()
    key = f"prompt-version:{project_id}:{generation}:{digest}"
    cached = await storage.cache.get(key)
    if cached is not None:
        return _from_cache(cached)
    found = await fetch_version(storage, project_id, name, version=version, label=label)
    served = ServedPrompt.of(found, await resolve(storage, found) if resolve_refs else None)
    await storage.cache.set(key, _to_cache(served), CACHE_TTL_SECONDS)
    return served


def _to_cache(served: ServedPrompt) -> dict[str, object]:
    fields = asdict(served)
    return {
        **fields,
        "created_at": served.created_at.isoformat(),
        "updated_at": served.updated_at.isoformat(),
    }


def _from_cache(fields: dict[str, object]) -> ServedPrompt:
    times = {k: datetime.fromisoformat(str(fields[k])) for k in ("created_at", "updated_at")}
    return ServedPrompt(**{**fields, **times})  # type: ignore[arg-type]


async def list_prompts(
    storage: Storage,
    project_id: str,
    f: PromptFilter,
    limit: int,
    *,
    offset: int = 0,
    after: str | None = None,
) -> list[PromptSummary]:
    """Prompt names in name order (after `after`, skipping `offset`), each with its matching versions."""
    return await repo.list_prompts(storage.postgres, project_id, f, limit, offset=offset, after=after)


async def count_prompts(storage: Storage, project_id: str, f: PromptFilter) -> int:
    """How many prompt names have a version matching the filter."""
    return await repo.count_prompts(storage.postgres, project_id, f)


async def list_folder(
    storage: Storage, project_id: str, f: PromptFilter, limit: int, offset: int = 0
) -> tuple[list[FolderEntry], int]:
    """A page of the subfolders and prompts directly in `f.folder`, and how many entries it has in all."""
    entries = await repo.list_folder(storage.postgres, project_id, f, limit, offset)
    return entries, await repo.count_folder(storage.postgres, project_id, f)


async def list_versions(storage: Storage, project_id: str, name: str) -> list[Prompt]:
    """Every version of a prompt, newest first."""
    return await repo.list_versions(storage.postgres, project_id, name)


async def dependencies_of(storage: Storage, project_id: str, version: Prompt) -> list[PromptDependency]:
    """The references a version makes to other prompts."""
    return await repo.dependencies_of(storage.postgres, project_id, [version.id])


async def list_protected_labels(storage: Storage, project_id: str) -> list[str]:
    """The project's protected labels."""
    return await repo.list_protected_labels(storage.postgres, project_id)


async def _changed(storage: Storage, project_id: str) -> None:
    await storage.cache.bump(_generation_key(project_id))


# --- writes -----------------------------------------------------------------------------------------


async def _author(storage: Storage, caller: Caller) -> str | None:
    if caller.user_id is not None:
        user = await accounts.fetch_user(storage.postgres, caller.user_id)
        return user.email if user else caller.user_id
    keys = await accounts.list_api_keys(storage.postgres, caller.project_id)
    return next((k.public_key for k in keys if k.id == caller.api_key_id), None)


async def _guard(
    storage: Storage, caller: Caller, touched: Callable[[Sequence[Prompt]], set[str]]
) -> repo.Guard:
    """A check that refuses touching a protected label unless the caller is an admin or an API key.
    `touched(versions)` names the labels a change sets, moves or removes on those versions."""
    caller.require(Role.MEMBER)
    if caller.user_id is None or caller.role.at_least(Role.ADMIN):
        return lambda versions: None
    protected = set(await repo.list_protected_labels(storage.postgres, caller.project_id))

    def check(versions: Sequence[Prompt]) -> None:
        hit = sorted(set(touched(versions)) & protected)
        if hit:
            raise Forbidden(
                f"label {hit[0]!r} is protected: only admins and owners may set, move or remove it"
            )

    return check


async def create_prompt(storage: Storage, caller: Caller, new: NewPromptVersion) -> Prompt:
    """Store a new version (Langfuse semantics: version max + 1, `latest`, labels move, tags shared).
    References must resolve (no cycle, no missing prompt) before anything is stored."""
    name, prompt = validate_new_name(new.name), content_to_langfuse(new.content)
    labels = validate_labels(new.labels, "labels", allow_latest=True)
    tags = validate_tags(new.tags)
    guard = await _guard(storage, caller, lambda versions: set(labels) - {LATEST})
    draft = compose.Node("", name, 0, new.content.type, prompt)
    await compose.resolve(draft, _fetcher(storage, caller.project_id))
    row = Prompt(
        project_id=caller.project_id,
        name=name,
        version=0,
        type=new.content.type,
        prompt=prompt,
        config=new.config,
        labels=labels,
        commit_message=new.commit_message,
        created_by=await _author(storage, caller),
    )
    deps = [
        PromptDependency(
            project_id="", parent_id="", child_name=r.name, child_version=r.version, child_label=r.label
        )
        for r in compose.references(prompt)
    ]
    created = await repo.create_version(storage.postgres, row, tags, deps, guard)
    await _changed(storage, caller.project_id)
    return created


async def set_labels(
    storage: Storage, caller: Caller, name: str, version: int, labels: Sequence[str], *, replace: bool
) -> Prompt:
    """Give a version labels (moving them off other versions): added to its labels (the Langfuse
    PATCH), or with `replace` its whole set (`latest` stays where it is)."""
    wanted = validate_labels(labels, "labels", allow_latest=False)

    def new_labels(current: Prompt) -> list[str]:
        kept = [LATEST] if LATEST in current.labels else []
        return sorted({*wanted, *kept} if replace else {*current.labels, *wanted})

    def touched(versions: Sequence[Prompt]) -> set[str]:
        return set(versions[0].labels) ^ set(new_labels(versions[0]))

    guard = await _guard(storage, caller, touched)
    updated = await repo.set_labels(storage.postgres, caller.project_id, name, version, new_labels, guard)
    await _changed(storage, caller.project_id)
    return updated


async def delete_prompt(
    storage: Storage, caller: Caller, name: str, *, version: int | None = None, label: str | None = None
) -> int:
    """Delete one version, the version holding `label`, or every version of the name; returns how many."""
    guard = await _guard(storage, caller, lambda versions: {lab for v in versions for lab in v.labels})
    deleted = await repo.delete_versions(
        storage.postgres, caller.project_id, name, version=version, label=label, guard=guard
    )
    await _changed(storage, caller.project_id)
    return deleted


async def set_protected_labels(storage: Storage, caller: Caller, labels: Sequence[str]) -> list[str]:
    """Replace the project's protected labels (admin role; `latest` cannot be protected)."""
    caller.require(Role.ADMIN)
    return await repo.set_protected_labels(
        storage.postgres, caller.project_id, validate_labels(labels, "labels", allow_latest=False)
    )


async def diff(
    storage: Storage, project_id: str, name: str, from_version: int, to_version: int
) -> PromptDiff:
    """The line diff between two stored versions of a prompt."""
    a = await fetch_version(storage, project_id, name, version=from_version)
    b = await fetch_version(storage, project_id, name, version=to_version)
    return diff_versions(a, b)

"""Prompt versions: validation, create, read (cached, composed), list, labels, delete, protected labels.

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
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from app.auth.caller import Caller
from app.errors import Forbidden, InvalidInput, NotFound
from app.prompts import compose
from app.prompts.diff import PromptDiff, diff_versions
from app.storage import Storage
from app.storage.clickhouse.queries.common import TimeRange
from app.storage.postgres import accounts
from app.storage.postgres import prompts as repo
from app.storage.postgres.tables import Prompt, PromptDependency, Role

LATEST, PRODUCTION, RESERVED_NAME = repo.LATEST, "production", "new"
NAME_MAX, LABEL_MAX, TAG_MAX, MAX_ITEMS = 255, 36, 255, 100
LABEL = re.compile(r"^[a-z0-9_\-.]+$")
CACHE_TTL_SECONDS = 600
METRICS_WINDOW = timedelta(days=90)
PromptContent = str | list[dict[str, object]]


@dataclass(frozen=True, slots=True)
class NewPrompt:
    """A validated create request."""

    name: str
    type: str
    prompt: PromptContent
    config: dict[str, object]
    labels: list[str]
    tags: list[str] | None
    commit_message: str | None


def validate_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
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


def validate_labels(labels: Any, field: str, *, allow_latest: bool) -> list[str]:
    if labels is None:
        return []
    if not isinstance(labels, list) or len(labels) > MAX_ITEMS:
        raise InvalidInput(f"{field} must be a list of at most {MAX_ITEMS} labels")
    for label in labels:
        if not isinstance(label, str) or len(label) > LABEL_MAX or not LABEL.match(label):
            raise InvalidInput(
                f"{field}: label {label!r} must be 1 to {LABEL_MAX} characters of a-z, 0-9, '_', '-' or '.'"
            )
        if label == LATEST and not allow_latest:
            raise InvalidInput(f"{field}: the 'latest' label is managed by Langhouse and cannot be set")
    return sorted(set(labels))


def _tags(tags: Any) -> list[str] | None:
    if tags is None:
        return None
    if not isinstance(tags, list) or len(tags) > MAX_ITEMS:
        raise InvalidInput(f"tags must be a list of at most {MAX_ITEMS} strings")
    if not all(isinstance(t, str) and 0 < len(t) <= TAG_MAX for t in tags):
        raise InvalidInput(f"tags must be non-empty strings of at most {TAG_MAX} characters")
    return sorted(set(tags))


def _message(i: int, m: Any) -> dict[str, object]:
    if not isinstance(m, dict):
        raise InvalidInput(
            f"prompt[{i}] must be an object: {{role, content}} or {{type: 'placeholder', name}}"
        )
    if m.get("type") == "placeholder":
        if not isinstance(m.get("name"), str) or not m["name"]:
            raise InvalidInput(f"prompt[{i}].name is required for a placeholder")
        return {"type": "placeholder", "name": m["name"]}
    if m.get("type") not in (None, "chatmessage"):
        raise InvalidInput(f"prompt[{i}].type must be 'chatmessage' or 'placeholder'")
    if not isinstance(m.get("role"), str) or not m["role"]:
        raise InvalidInput(f"prompt[{i}].role is required (a string)")
    if not isinstance(m.get("content"), str):
        raise InvalidInput(f"prompt[{i}].content is required (a string)")
    return {"role": m["role"], "content": m["content"]}


def validate_new(body: Any) -> NewPrompt:
    """A create body (Langfuse shape) as a NewPrompt, or InvalidInput naming the field."""
    if not isinstance(body, dict):
        raise InvalidInput("body must be a JSON object")
    kind = body.get("type") or "text"
    if kind not in ("text", "chat"):
        raise InvalidInput("type must be 'text' or 'chat'")
    raw = body.get("prompt")
    prompt: PromptContent
    if kind == "text":
        if not isinstance(raw, str):
            raise InvalidInput("prompt must be a string for a text prompt")
        prompt = raw
    else:
        if not isinstance(raw, list):
            raise InvalidInput("prompt must be a list of messages for a chat prompt")
        prompt = [_message(i, m) for i, m in enumerate(raw)]
    config = body.get("config")
    if config is not None and not isinstance(config, dict):
        raise InvalidInput("config must be a JSON object")
    commit = body.get("commitMessage")
    if commit is not None and not isinstance(commit, str):
        raise InvalidInput("commitMessage must be a string")
    name = validate_name(body.get("name"))
    if name == RESERVED_NAME:  # as in Langfuse: /prompts/new is the form for a new prompt
        raise InvalidInput(f"name: '{RESERVED_NAME}' is reserved; choose another name")
    return NewPrompt(
        name=name,
        type=kind,
        prompt=prompt,
        config=config or {},
        labels=validate_labels(body.get("labels"), "labels", allow_latest=True),
        tags=_tags(body.get("tags")),
        commit_message=commit,
    )


# --- shapes -----------------------------------------------------------------------------------------


def to_api(p: Prompt, resolved: compose.Resolved | None = None) -> dict[str, Any]:
    """The Langfuse `Prompt` shape (plus id, author and times)."""
    return {
        "id": p.id,
        "projectId": p.project_id,
        "name": p.name,
        "version": p.version,
        "type": p.type,
        "prompt": resolved.prompt if resolved else p.prompt,
        "config": p.config,
        "labels": p.labels,
        "tags": p.tags,
        "commitMessage": p.commit_message,
        "resolutionGraph": resolved.graph if resolved else None,
        "createdBy": p.created_by,
        "createdAt": p.created_at.isoformat(),
        "updatedAt": p.updated_at.isoformat(),
    }


def summary_to_api(s: repo.PromptSummary) -> dict[str, Any]:
    """The Langfuse `PromptMeta` shape of a list item."""
    return {
        "name": s.name,
        "type": s.type,
        "versions": s.versions,
        "labels": s.labels,
        "tags": s.tags,
        "lastUpdatedAt": s.last_updated_at.isoformat(),
        "lastConfig": s.last_config,
    }


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
) -> dict[str, Any]:
    """The API shape of a version by version or label (neither: `production`), composed unless
    `resolve_refs` is false; served from the cache while no prompt of the project changed."""
    if version is not None and label is not None:
        raise InvalidInput("give either version or label, not both")
    if version is None and label is None:
        label = PRODUCTION
    generation, _ = await storage.cache.counter(_generation_key(project_id))
    digest = hashlib.sha256(f"{name}\x1f{version}\x1f{label}\x1f{resolve_refs}".encode()).hexdigest()
    key = f"prompt:{project_id}:{generation}:{digest}"
    cached = await storage.cache.get(key)
    if cached is not None:
        return cached
    found = await fetch_version(storage, project_id, name, version=version, label=label)
    body = to_api(found, await resolve(storage, found) if resolve_refs else None)
    await storage.cache.set(key, body, CACHE_TTL_SECONDS)
    return body


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


async def create_prompt(storage: Storage, caller: Caller, body: Any) -> Prompt:
    """Store a new version (Langfuse semantics: version max + 1, `latest`, labels move, tags shared).
    References must resolve (no cycle, no missing prompt) before anything is stored."""
    new = validate_new(body)
    guard = await _guard(storage, caller, lambda versions: set(new.labels) - {LATEST})
    draft = compose.Node("", new.name, 0, new.type, new.prompt)
    await compose.resolve(draft, _fetcher(storage, caller.project_id))
    row = Prompt(
        project_id=caller.project_id,
        name=new.name,
        version=0,
        type=new.type,
        prompt=new.prompt,
        config=new.config,
        labels=new.labels,
        commit_message=new.commit_message,
        created_by=await _author(storage, caller),
    )
    deps = [
        PromptDependency(
            project_id="", parent_id="", child_name=r.name, child_version=r.version, child_label=r.label
        )
        for r in compose.references(new.prompt)
    ]
    created = await repo.create_version(storage.postgres, row, new.tags, deps, guard)
    await _changed(storage, caller.project_id)
    return created


async def set_labels(
    storage: Storage, caller: Caller, name: str, version: int, labels: Any, *, replace: bool
) -> Prompt:
    """Give a version labels (moving them off other versions): added to its labels (the Langfuse
    PATCH), or with `replace` its whole set (`latest` stays where it is)."""
    wanted = validate_labels(labels, "newLabels" if not replace else "labels", allow_latest=False)

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


async def set_protected_labels(storage: Storage, caller: Caller, labels: Any) -> list[str]:
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

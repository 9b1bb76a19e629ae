"""Prompt management pages: the list (folders, filters, pages), one prompt (versions, content, labels,
diff, metrics per version, linked generations) and the form that creates a version.

Versions, lists and labels come from app.prompts.service, which checks roles and protected labels on
every write; metrics from the ClickHouse prompt queries. Names may contain '/' (folders), so the
detail page takes the rest of the path, and actions name the prompt in the form, never in the path.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from typing import Any

from litestar import Request, get, post
from litestar.datastructures import State
from litestar.response import Redirect, Template

from app.auth.caller import Caller
from app.dashboards import figures
from app.dashboards.deps import UiSession, form_lists, page, requires_admin, requires_member
from app.dashboards.forms import Fields, read_form, refused
from app.dashboards.params import prompt_url, query, url
from app.dashboards.playground_pages import editor_rows
from app.dashboards.units import COST, LATENCY
from app.errors import InvalidInput, NotFound, UserError
from app.playground.runs import NEW_CHAT, ROLES, content_from_form
from app.playground.template import variables_of
from app.prompts import service
from app.prompts.content import content_from_langfuse
from app.prompts.diff import PromptDiff
from app.storage import Storage, json_text
from app.storage.clickhouse.queries import prompts as pq
from app.storage.postgres.tables import Prompt, Role

PAGE_SIZE = 50
GENERATIONS_PAGE = 20
WHOLE = re.compile(r"[0-9]{1,9}")


def _whole(value: str | None, field: str) -> int | None:
    """An optional whole number ≥ 1 from the query string or a form, or InvalidInput naming `field`."""
    if value is None or not value.strip():
        return None
    if not WHOLE.fullmatch(value.strip()) or int(value) < 1:
        raise InvalidInput(f"{field} must be a whole number of at least 1")
    return int(value)


def _shown(text: str) -> int | None:
    """A version number as typed, or None when it is not one (to show a form again, never to refuse it)."""
    return int(text) if WHOLE.fullmatch(text.strip()) and int(text) >= 1 else None


def _version(text: str) -> int:
    version = _whole(text, "version")
    if version is None:
        raise InvalidInput("version is required")
    return version


def _labels(text: str) -> list[str]:
    """Labels typed as `a, b c` (labels have no spaces)."""
    return [part for part in re.split(r"[,\s]+", text) if part]


def _tags(text: str) -> list[str]:
    """Tags typed as `a, b c` (a tag may hold spaces)."""
    return [part.strip() for part in text.split(",") if part.strip()]


# --- the list ---------------------------------------------------------------------------------------


@get("/prompts")
async def prompts_page(request: Request[Any, Any, State], session: UiSession, storage: Storage) -> Template:
    """Prompts by folder (a search lists matches at any depth below it), filtered by label and tag."""
    return await _prompts(request, session, storage)


async def _prompts(
    request: Request[Any, Any, State],
    session: UiSession,
    storage: Storage,
    values: ProtectedForm | None = None,
    errors: dict[str, str] | None = None,
) -> Template:
    """The prompts list; after a refused protected-labels form, that form as typed with its error."""
    caller = session.caller
    q = query(request)
    folder = q.get("folder", "").strip("/")
    page_no = _whole(q.get("page"), "page") or 1
    f = service.PromptFilter(
        name_contains=q.get("search") or None,
        folder=folder or None,
        label=q.get("label") or None,
        tag=q.get("tag") or None,
    )
    offset = (page_no - 1) * PAGE_SIZE
    if f.name_contains:
        summaries = await service.list_prompts(storage, caller.project_id, f, PAGE_SIZE, offset=offset)
        entries = [service.FolderEntry(s.name, False, 1) for s in summaries]
        total = await service.count_prompts(storage, caller.project_id, f)
    else:
        entries, total = await service.list_folder(storage, caller.project_id, f, PAGE_SIZE, offset)
        names = tuple(e.name for e in entries if not e.is_folder)
        summaries = (
            await service.list_prompts(storage, caller.project_id, replace(f, names=names), len(names))
            if names
            else []
        )
    filters = {k: q.get(k) for k in ("search", "label", "tag")}
    parts = folder.split("/") if folder else []
    return page(
        session,
        "prompts.html",
        entries=entries,
        summaries={s.name: s for s in summaries},
        q=q,
        folder=folder,
        crumbs=[(part, "/".join(parts[: i + 1])) for i, part in enumerate(parts)],
        folder_url=lambda path: url("/prompts", filters, folder=path),
        reset_url=url("/prompts", {"folder": folder}),
        page=page_no,
        pages=max(1, -(-total // PAGE_SIZE)),
        page_url=lambda n: url("/prompts", {**q, "page": n}),
        filtered=any(filters.values()) or bool(folder),
        prompt_url=prompt_url,
        can_write=caller.role.at_least(Role.MEMBER),
        base_url=str(request.base_url).rstrip("/"),
        protected=await service.list_protected_labels(storage, caller.project_id),
        values=values,
        errors=errors or {},
    )


@dataclass
class ProtectedForm:
    labels: str = ""


LABEL_FIELDS = Fields({"labels": "Labels"})


@post("/prompt-labels/protected", guards=[requires_admin])
async def protected_labels(
    request: Request[Any, Any, State], session: UiSession, storage: Storage
) -> Template | Redirect:
    """Replace the project's protected labels (admins): only admins may set, move or remove those."""
    form = await read_form(request, ProtectedForm)
    try:
        await service.set_protected_labels(storage, session.caller, _labels(form.labels))
    except UserError as exc:
        return refused(await _prompts(request, session, storage, form, LABEL_FIELDS.errors(exc)), exc)
    return Redirect("/prompts")


# --- one prompt -------------------------------------------------------------------------------------


def _diff_lines(lines: list[str]) -> list[tuple[str, str]]:
    """(css class, line) of a unified diff: the two file headers, then hunk headers, added, removed
    and unchanged lines (a removed line may itself start with '--')."""
    return [
        ("file" if i < 2 else {"+": "add", "-": "del", "@": "hunk"}.get(line[:1], "same"), line)
        for i, line in enumerate(lines)
    ]


def _selected(versions: list[Prompt], q: dict[str, str]) -> Prompt:
    version, label = _whole(q.get("version"), "version"), q.get("label") or None
    for v in versions:
        if (version is None or v.version == version) and (label is None or label in v.labels):
            return v
    which = f"version {version}" if version is not None else f"label {label!r}"
    raise NotFound(f"prompt {versions[0].name!r} has no {which}")


async def _metrics_context(
    request: Request[Any, Any, State],
    storage: Storage,
    caller: Caller,
    name: str,
    versions: list[Prompt],
    selected: Prompt,
) -> dict[str, Any]:
    """The metrics table and charts of every version, and the selected version's generations."""
    ch = storage.clickhouse
    window = service.metrics_window(versions[-1].created_at)
    rows = await pq.aggregate_prompt_metrics(ch, pq.PromptMetricsRequest(caller.project_id, name, window))
    by_version = {m.version: m for m in rows}
    labels = [f"v{m.version}" for m in reversed(rows)]
    charts = {}
    if rows:
        charts = {
            "latency": figures.bars(
                "Median latency per version",
                labels,
                [m.latency_p50_ms or 0 for m in reversed(rows)],
                LATENCY,
            ),
            "cost": figures.bars(
                "Cost per version", labels, [float(m.total_cost) for m in reversed(rows)], COST
            ),
        }
    after = request.query_params.get("after") or None
    generations = await pq.list_prompt_generations(
        ch,
        pq.PromptGenerationsRequest(
            caller.project_id,
            name,
            selected.version,
            service.metrics_window(selected.created_at),
            GENERATIONS_PAGE,
            after,
        ),
    )
    return {
        "metrics": by_version,
        "score_names": sorted({s for m in rows for s in m.scores}),
        "charts": charts,
        "generations": generations.items,
        "next_generations": prompt_url(name, version=selected.version, after=generations.end_cursor)
        if generations.has_next
        else None,
    }


async def _detail(
    request: Request[Any, Any, State],
    session: UiSession,
    storage: Storage,
    name: str,
    exc: UserError | None = None,
    version: int | None = None,
    labels: str | None = None,
) -> Template:
    """The page of one prompt; after a refused action, with its error and the version it was about (and
    the labels as typed, when they were refused)."""
    caller, q = session.caller, query(request)
    if version is not None:
        q["version"] = str(version)
    versions = await service.list_versions(storage, caller.project_id, name)
    if not versions:
        raise NotFound(f"prompt {name!r} not found")
    selected = _selected(versions, q)
    dependencies = await service.dependencies_of(storage, caller.project_id, selected)
    resolved = (await service.resolve(storage, selected)).prompt if dependencies else None
    numbers = [v.version for v in versions]
    diff: PromptDiff | None = None
    diff_from, diff_to = _whole(q.get("from"), "from"), _whole(q.get("to"), "to")
    if diff_from is not None and diff_to is not None:
        diff = await service.diff(storage, caller.project_id, name, diff_from, diff_to)
    older = [n for n in numbers if n < selected.version]
    response = page(
        session,
        "prompt.html",
        name=name,
        versions=versions,
        selected=selected,
        variables=variables_of(content_from_langfuse(selected.type, selected.prompt)),
        config=json.dumps(selected.config, indent=2, ensure_ascii=False),
        dependencies=dependencies,
        resolved=resolved,
        diff=diff,
        diff_lines=_diff_lines,
        diff_from=diff_from or (older[0] if older else numbers[-1]),
        diff_to=diff_to or selected.version,
        protected=set(await service.list_protected_labels(storage, caller.project_id)),
        editable_labels=" ".join(label for label in selected.labels if label != service.LATEST),
        prompt_url=prompt_url,
        can_write=caller.role.at_least(Role.MEMBER),
        typed_labels=labels,
        errors=LABEL_FIELDS.errors(exc) if exc else {},
        **await _metrics_context(request, storage, caller, name, versions, selected),
    )
    return refused(response, exc) if exc else response


@get("/prompts/{name:path}")
async def prompt_page(
    request: Request[Any, Any, State], session: UiSession, storage: Storage, name: str
) -> Template:
    """One prompt: `?version=` or `?label=` selects a version (neither: the newest); `?from=&to=`
    shows the diff between two versions; `?after=` pages the selected version's generations."""
    return await _detail(request, session, storage, name.lstrip("/"))


@dataclass
class LabelsForm:
    name: str = ""
    version: str = ""
    labels: str = ""


@post("/prompt-versions/labels")
async def prompt_labels(
    request: Request[Any, Any, State], session: UiSession, storage: Storage
) -> Template | Redirect:
    """Give a version exactly these labels (they move off other versions; `latest` stays)."""
    form = await read_form(request, LabelsForm)
    version = _shown(form.version)
    try:
        await service.set_labels(
            storage, session.caller, form.name, _version(form.version), _labels(form.labels), replace=True
        )
    except UserError as exc:
        return await _detail(request, session, storage, form.name, exc, version, form.labels)
    return Redirect(prompt_url(form.name, version=version))


@post("/prompt-versions/delete")
async def prompt_delete(
    request: Request[Any, Any, State], session: UiSession, storage: Storage
) -> Template | Redirect:
    """Delete one version (`latest` moves to the newest left); the prompt goes with its last version."""
    form = await read_form(request, LabelsForm)
    version = _shown(form.version)
    try:
        await service.delete_prompt(storage, session.caller, form.name, version=_version(form.version))
    except UserError as exc:
        return await _detail(request, session, storage, form.name, exc, version)
    left = await service.list_versions(storage, session.caller.project_id, form.name)
    return Redirect(prompt_url(form.name) if left else "/prompts")


# --- the version form -------------------------------------------------------------------------------


@dataclass
class Draft:
    """What the version form shows: a stored version to start from, or what was posted (kept on error)."""

    name: str = ""
    existing: bool = False  # a new version of a stored prompt: name and type are fixed
    type: str = "text"
    text: str = ""
    rows: list[dict[str, str]] = field(default_factory=lambda: editor_rows(NEW_CHAT))
    config: str = "{}"
    labels: str = ""
    tags: str = ""
    commit_message: str = ""
    based_on: int | None = None

    @classmethod
    def of(cls, p: Prompt) -> Draft:
        content = content_from_langfuse(p.type, p.prompt)
        return cls(
            name=p.name,
            existing=True,
            type=content.type,
            text=content.text,
            rows=editor_rows(content if content.type == "chat" else NEW_CHAT),
            config=json.dumps(p.config, indent=2, ensure_ascii=False),
            tags=", ".join(p.tags),
            based_on=p.version,
        )

    @classmethod
    def posted(cls, form: dict[str, list[str]]) -> Draft:
        def one(key: str) -> str:
            return (form.get(key) or [""])[0]

        rows = [
            {"kind": kind, "role": role, "content": content}
            for kind, role, content in zip(
                form.get("msg_kind", []), form.get("msg_role", []), form.get("msg_content", []), strict=False
            )
        ]
        return cls(
            name=one("name").strip(),
            existing=one("existing") == "1",
            type="text" if one("mode") == "text" else "chat",
            text=one("text"),
            rows=rows,
            config=one("config"),
            labels=one("labels"),
            tags=one("tags"),
            commit_message=one("commit_message"),
            based_on=_shown(one("based_on")),
        )

    def new_version(self, form: dict[str, list[str]]) -> service.NewPromptVersion:
        """The version to create; InvalidInput names the field that is wrong."""
        try:
            config = json_text.loads(self.config) if self.config.strip() else {}
        except ValueError as exc:
            raise InvalidInput(f"config must be JSON: {exc}") from None
        content = content_from_form(form)
        if not isinstance(config, dict):
            raise InvalidInput("config must be a JSON object")
        return service.NewPromptVersion(
            name=self.name,
            content=content,
            config=config,
            labels=tuple(_labels(self.labels)),
            tags=tuple(_tags(self.tags)),
            commit_message=self.commit_message.strip() or None,
        )


VERSION_FIELDS = Fields(
    {
        "name": "Name",
        "prompt": "Prompt",
        "config": "Config",
        "labels": "Labels",
        "tags": "Tags",
        "commit_message": "Commit message",
    },
    about={
        "message ": "prompt",
        "msg_": "prompt",
        "at most 200 message": "prompt",
        "circular prompt": "prompt",
    },
)


def _form_page(session: UiSession, draft: Draft, errors: dict[str, str] | None = None) -> Template:
    return page(
        session, "prompt_form.html", draft=draft, roles=ROLES, errors=errors or {}, prompt_url=prompt_url
    )


@get("/prompts/new", guards=[requires_member])
async def prompt_new(request: Request[Any, Any, State], session: UiSession, storage: Storage) -> Template:
    """The form for a new prompt, or with `?name=` (and `version=`) a new version prefilled from one."""
    q = query(request)
    if not q.get("name"):
        return _form_page(session, Draft())
    version = _whole(q.get("version"), "version")
    found = await service.fetch_version(storage, session.caller.project_id, q["name"], version=version)
    return _form_page(session, Draft.of(found))


@post("/prompts/new", guards=[requires_member])
async def prompt_create(
    request: Request[Any, Any, State], session: UiSession, storage: Storage
) -> Template | Redirect:
    """Create the version; on bad input the form comes back with the error and everything typed kept."""
    form = await form_lists(request)
    draft = Draft.posted(form)
    try:
        created = await service.create_prompt(storage, session.caller, draft.new_version(form))
    except UserError as exc:
        return refused(_form_page(session, draft, VERSION_FIELDS.errors(exc)), exc)
    return Redirect(prompt_url(created.name, version=created.version))


PROMPT_PAGE_ROUTES = [
    prompts_page,
    prompt_new,
    prompt_create,
    prompt_page,
    prompt_labels,
    prompt_delete,
    protected_labels,
]

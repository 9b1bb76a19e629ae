"""The LLM playground page: open a prompt, run it against a connection (streamed), save it as a version."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

from litestar import Request, get, post
from litestar.datastructures import State
from litestar.response import Response, Stream, Template

from app.dashboards.deps import UiSession, form_lists, page, requires_login, requires_member, ui_session
from app.dashboards.figures import safe_json
from app.dashboards.forms import Fields, read_form, refused
from app.dashboards.params import prompt_url
from app.errors import InvalidInput, UserError
from app.jobs.contracts import JobQueue, store_and_enqueue
from app.playground import connections, runs
from app.playground.connections import ConnectionView
from app.playground.prompts import PlaygroundHooks, PlaygroundVersion, open_prompt, state_of
from app.playground.runs import PlaygroundState, state_from_form
from app.prompts.content import ChatMessage, PromptContent
from app.storage import Storage, json_text
from app.storage.postgres.tables import Role
from app.tracing.pipeline import legacy_batch


def _hooks(request: Request[Any, Any, State]) -> PlaygroundHooks:
    hooks: PlaygroundHooks = request.app.state.playground_hooks
    return hooks


def _target(views: list[ConnectionView], state: PlaygroundState) -> str:
    """The chosen `connection:model`: the state's, else the first connection offering its model."""
    for view in views:
        if state.model in view.models and state.connection_id in ("", view.connection_id):
            return f"{view.connection_id}:{state.model}"
    return ""


def editor_rows(content: PromptContent) -> list[dict[str, str]]:
    """Chat messages as the editor's rows (`_playground_row.html`): kind, role and content (a
    placeholder's content is its name)."""
    return [
        {"kind": "message", "role": m.role, "content": m.content}
        if isinstance(m, ChatMessage)
        else {"kind": "placeholder", "role": "", "content": m.name}
        for m in content.messages
    ]


def _inputs(state: PlaygroundState) -> dict[str, Any]:
    return {
        "variables": [(name, state.variables.get(name, "")) for name in state.variable_names],
        "placeholders": [(name, state.placeholders.get(name, "")) for name in state.placeholder_names],
    }


async def _playground_page(
    request: Request[Any, Any, State],
    session: UiSession,
    storage: Storage,
    state: PlaygroundState,
    notice: str | None = None,
    saved_url: str | None = None,
    exc: UserError | None = None,
) -> Template:
    """The playground with `state`; after a refused open or save, with the reason (and its status)."""
    caller = session.caller
    views = await connections.list_connections(storage, caller.project_id)
    response = page(
        session,
        "playground.html",
        state=state,
        rows=editor_rows(state.content),
        roles=runs.ROLES,
        connections=views,
        target=_target(views, state),
        can_run=caller.role.at_least(Role.MEMBER),
        can_save=_hooks(request).save_version is not None,
        notice=notice,
        saved_url=saved_url,
        errors=Fields({}).errors(exc) if exc else {},
        **_inputs(state),
    )
    return refused(response, exc) if exc else response


@get("/playground")
async def playground_page(
    request: Request[Any, Any, State],
    session: UiSession,
    storage: Storage,
    prompt: str | None = None,
    version: int | None = None,
    label: str | None = None,
) -> Template:
    """The playground; `?prompt=<name>&version=<n>` (or `&label=<l>`, or neither: the newest) opens a
    prompt version through the loader hook."""
    if prompt is None:
        return await _playground_page(request, session, storage, PlaygroundState())
    project_id = session.caller.project_id
    loaded = await _hooks(request).load_prompt(storage, project_id, prompt, version, label)
    if loaded is None:
        which = f" version {version}" if version else f" label {label!r}" if label else ""
        notice = f"Prompt {prompt!r}{which} could not be opened here."
        return await _playground_page(request, session, storage, PlaygroundState(), notice)
    return await _playground_page(request, session, storage, state_of(loaded))


@dataclass
class OpenForm:
    """A prompt in the Langfuse API shape, posted by another page to open it in the playground."""

    prompt_type: str = "text"
    prompt: str = ""
    config: str = ""
    prompt_name: str = ""
    prompt_version: str = ""


@post("/playground", status_code=200)
async def playground_open(
    request: Request[Any, Any, State], session: UiSession, storage: Storage
) -> Template:
    """Open a prompt another page posted (a trace's generation, a prompt version) in the playground."""
    data = await read_form(request, OpenForm)

    def parsed(text: str, field: str) -> Any:
        try:
            return json_text.loads(text) if text.strip() else None
        except ValueError as exc:
            raise InvalidInput(f"{field} must be JSON: {exc}") from None

    version = data.prompt_version.strip()
    try:
        content = data.prompt if data.prompt_type == "text" else parsed(data.prompt, "prompt")
        if version and not version.isdigit():
            raise InvalidInput("prompt_version must be a whole number")
        opened = open_prompt(
            data.prompt_type,
            content,
            parsed(data.config, "config"),
            data.prompt_name.strip() or None,
            int(version) if version else None,
        )
    except UserError as exc:
        return await _playground_page(request, session, storage, PlaygroundState(), exc=exc)
    return await _playground_page(request, session, storage, state_of(opened))


@post("/playground/inputs", status_code=200, guards=[requires_login])
async def playground_inputs(request: Request[Any, Any, State]) -> Template:
    """The variable and placeholder inputs of the prompt being edited (htmx fragment; logged-in users)."""
    return Template("_playground_inputs.html", context=_inputs(state_from_form(await form_lists(request))))


def _event(name: str, data: Any) -> str:
    return f"event: {name}\ndata: {safe_json(json.dumps(data, ensure_ascii=False))}\n\n"


@post("/playground/run", status_code=200)
async def playground_run(
    request: Request[Any, Any, State], storage: Storage, jobs: JobQueue
) -> Response[Any] | Stream:
    """Run the prompt: `delta` events with the answer's text, then `done` with usage, cost, latency
    and the trace id (or the provider's error). Bad input answers JSON `{message, error}` before."""
    try:  # not a guard: refusals here answer JSON, as bad input does
        caller = (await ui_session(request)).caller
        caller.require(Role.MEMBER)
        prepared = await runs.prepare_run(
            storage, caller.project_id, state_from_form(await form_lists(request))
        )
    except UserError as exc:
        return Response({"message": str(exc), "error": exc.code}, status_code=exc.status)

    async def events() -> AsyncIterator[str]:
        async for item in runs.execute(storage, caller.project_id, prepared):
            if isinstance(item, str):
                yield _event("delta", {"text": item})
                continue
            batch, body = legacy_batch(caller.project_id, runs.trace_events(prepared, item))
            await store_and_enqueue(storage, jobs, batch, body)
            yield _event("done", item.summary())

    headers = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", "X-Accel-Buffering": "no"}
    return Stream(events(), media_type="text/event-stream", headers=headers)


@post("/playground/save", status_code=200, guards=[requires_member])
async def playground_save(
    request: Request[Any, Any, State], session: UiSession, storage: Storage
) -> Template:
    """Save the edited prompt as a new version of `prompt_name` (with `commit_message`), through the
    save hook; the page then links to the new version."""
    caller = session.caller
    save = _hooks(request).save_version
    if save is None:
        raise InvalidInput("saving prompt versions is not available on this server yet")
    form = await form_lists(request)
    state = PlaygroundState()
    try:
        state = state_from_form(form)
        commit = (form.get("commit_message") or [""])[0].strip() or None
        new = PlaygroundVersion.of(state, caller.user_id, commit)
        number = await save(storage, caller, new)
    except UserError as exc:
        return await _playground_page(request, session, storage, state, exc=exc)
    saved = replace(state, prompt_version=number)
    notice = f"Saved as version {number} of {new.name!r}."
    return await _playground_page(
        request, session, storage, saved, notice, prompt_url(new.name, version=number)
    )


PLAYGROUND_ROUTES = [playground_page, playground_open, playground_inputs, playground_run, playground_save]

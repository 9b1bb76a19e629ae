"""The playground's prompt hooks backed by prompt storage: open a stored version, save a new one.

They join app.playground and app.prompts.service (the playground uses only app.prompts.content);
create_app uses them."""

from __future__ import annotations

from app.auth.caller import Caller
from app.errors import NotFound
from app.playground.prompts import (
    PlaygroundHooks,
    PlaygroundPrompt,
    PlaygroundVersion,
    merged_config,
    open_prompt,
)
from app.prompts import service
from app.prompts.content import content_from_langfuse
from app.storage import Storage


async def load_prompt(
    storage: Storage, project_id: str, name: str, version: int | None, label: str | None
) -> PlaygroundPrompt | None:
    """A stored version (by version, else label, else the newest) with its references inlined, so a run
    sends what the SDK's `get_prompt` would; None when there is no such version."""
    try:
        found = await service.fetch_version(storage, project_id, name, version=version, label=label)
    except NotFound:
        return None
    resolved = await service.resolve(storage, found)
    return open_prompt(found.type, resolved.prompt, found.config, found.name, found.version)


async def save_version(storage: Storage, caller: Caller, new: PlaygroundVersion) -> int:
    """Create the next version through the prompt service (roles, validation, `latest`), authored by
    the caller; the config keeps the opened version's keys the playground does not edit."""
    stored: dict[str, object] = {}
    if new.based_on_version is not None:
        try:
            base = await service.fetch_version(
                storage, caller.project_id, new.name, version=new.based_on_version
            )
            stored = base.config
        except NotFound:
            pass  # a new prompt name, or the version was deleted meanwhile
    version = service.NewPromptVersion(
        name=new.name,
        content=content_from_langfuse(new.type, new.prompt),
        config=merged_config(stored, new.config),
        commit_message=new.commit_message,
    )
    return (await service.create_prompt(storage, caller, version)).version


STORAGE_HOOKS = PlaygroundHooks(load_prompt=load_prompt, save_version=save_version)

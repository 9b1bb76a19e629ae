"""The references of many prompt versions to other prompts, in one query."""

from __future__ import annotations

from app.storage import Storage
from app.storage.postgres.prompts import dependencies_of
from app.storage.postgres.tables import PromptDependency


async def dependencies_by_prompt(
    storage: Storage, project_id: str, prompt_ids: list[str]
) -> list[list[PromptDependency]]:
    found = await dependencies_of(storage.postgres, project_id, prompt_ids)
    return [[d for d in found if d.parent_id == p] for p in prompt_ids]

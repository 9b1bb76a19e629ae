"""Mutation fields over prompts: versions, labels and the protected labels.

The role a change needs depends on the labels it touches, so app.prompts checks it (member; admin for
protected labels); only replacing the protected labels is guarded here as a whole.
"""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from app.graphql.context import Context
from app.graphql.permissions import IsAdmin
from app.graphql.types import prompt as p
from app.prompts import service


@strawberry.type
class PromptMutationMixin:
    @strawberry.mutation(description="Create a prompt version (member role; protected labels: admin).")
    async def create_prompt_version(
        self, info: Info[Context, None], input: p.CreatePromptVersionInput
    ) -> p.CreatePromptVersionPayload:
        caller = info.context.require()
        row = await service.create_prompt(info.context.storage, caller, input.as_new_version())
        return p.CreatePromptVersionPayload(prompt_version=p.PromptVersion.from_row(row))

    @strawberry.mutation(description="Set the labels of a version (member role; protected labels: admin).")
    async def set_prompt_labels(
        self, info: Info[Context, None], input: p.SetPromptLabelsInput
    ) -> p.SetPromptLabelsPayload:
        caller = info.context.require()
        row = await service.set_labels(
            info.context.storage, caller, input.name, input.version, input.labels, replace=True
        )
        return p.SetPromptLabelsPayload(prompt_version=p.PromptVersion.from_row(row))

    @strawberry.mutation(
        description="Delete a prompt version (member role; one with a protected label: admin)."
    )
    async def delete_prompt_version(
        self, info: Info[Context, None], input: p.DeletePromptVersionInput
    ) -> p.DeletePromptVersionPayload:
        caller = info.context.require()
        await service.delete_prompt(info.context.storage, caller, input.name, version=input.version)
        return p.DeletePromptVersionPayload(name=input.name, version=input.version)

    @strawberry.mutation(
        description="Replace the project's protected prompt labels (admin role).",
        permission_classes=[IsAdmin],
    )
    async def set_protected_prompt_labels(
        self, info: Info[Context, None], input: p.SetProtectedPromptLabelsInput
    ) -> p.SetProtectedPromptLabelsPayload:
        caller = info.context.require()
        labels = await service.set_protected_labels(info.context.storage, caller, input.labels)
        return p.SetProtectedPromptLabelsPayload(labels=labels)

"""Query fields over prompts: a list, one prompt with its versions, diffs and protected labels."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from app.graphql.context import Context
from app.graphql.types import prompt as p
from app.graphql.types.pagination import connection
from app.prompts import service
from app.storage.clickhouse.queries.common import Cursor, Page, page_size


def _cursor(s: service.PromptSummary) -> str:
    return Cursor("NAME", 0, s.name).encode()


@strawberry.type
class PromptQueryMixin:
    @strawberry.field(description="Prompts in name order, with their versions and labels.")
    async def prompts(
        self,
        info: Info[Context, None],
        filter: p.PromptFilterInput | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> p.PromptConnection:
        caller = info.context.require()
        size = page_size(first)
        f = service.PromptFilter(
            name_contains=filter.name_contains if filter else None,
            label=filter.label if filter else None,
            tag=filter.tag if filter else None,
        )
        last = Cursor.decode(after, "NAME").id if after else None
        rows = await service.list_prompts(info.context.storage, caller.project_id, f, size + 1, after=last)
        items = rows[:size]
        page = Page(items, len(rows) > size, _cursor(items[-1]) if items else None)
        return connection(p.PromptConnection, p.PromptEdge, page, p.PromptSummary.from_summary, _cursor)

    @strawberry.field(description="One prompt with every version; `selected` is the version asked for.")
    async def prompt(
        self, info: Info[Context, None], name: str, version: int | None = None, label: str | None = None
    ) -> p.Prompt | None:
        caller = info.context.require()
        rows = await service.list_versions(info.context.storage, caller.project_id, name)
        if not rows:
            return None
        selected = next(
            (
                r
                for r in rows
                if (version is None or r.version == version) and (label is None or label in r.labels)
            ),
            None,
        )
        if selected is None:
            return None
        versions = [p.PromptVersion.from_row(r) for r in rows]
        return p.Prompt(
            name=name,
            type=p.PromptKind(rows[0].type),
            tags=rows[0].tags,
            labels=sorted({label for r in rows for label in r.labels}),
            versions=versions,
            selected=versions[rows.index(selected)],
        )

    @strawberry.field(description="A line diff between two versions of a prompt (content and config).")
    async def prompt_diff(
        self, info: Info[Context, None], name: str, from_version: int, to_version: int
    ) -> p.PromptDiff:
        caller = info.context.require()
        found = await service.diff(info.context.storage, caller.project_id, name, from_version, to_version)
        return p.PromptDiff.from_value(found)

    @strawberry.field(description="Labels only admins (and API keys) may set, move or remove.")
    async def protected_prompt_labels(self, info: Info[Context, None]) -> list[str]:
        caller = info.context.require()
        return await service.list_protected_labels(info.context.storage, caller.project_id)

"""Compiled queries: frozen SQL text + bound parameters + tag, checked for tenancy before running."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final

from app.errors import InternalError

MAX_RESULT_ROWS: Final = 10_000
_PROJECT_PREDICATE = re.compile(r"\bproject_id\s*=\s*\{project_id:String\}")
_TAG = re.compile(r"^[a-z0-9_.]+$")


@dataclass(frozen=True, slots=True)
class CompiledQuery:
    """One read query: SQL with `{name:Type}` placeholders, its parameters and a log tag.

    A tenant query must filter `project_id = {project_id:String}` and bind `project_id`;
    anything else is refused here, before it can run (fail closed).
    """

    sql: str
    parameters: dict[str, object]
    tag: str
    tenant_free: bool = False
    settings: dict[str, object] = field(default_factory=dict)
    heavy: bool = False  # runs in the heavy-read lane (text search), apart from the light reads

    def __post_init__(self) -> None:
        if not _TAG.match(self.tag):
            raise InternalError(f"bad query tag {self.tag!r}")
        if self.tenant_free:
            return
        project_id = self.parameters.get("project_id")
        if not isinstance(project_id, str) or not project_id:
            raise InternalError(f"query {self.tag} has no project_id parameter")
        if not _PROJECT_PREDICATE.search(self.sql):
            raise InternalError(f"query {self.tag} has no project_id predicate")


def dangerous_raw_sql(sql: str, tag: str) -> CompiledQuery:
    """Wrap a module-constant, parameter-free, tenant-free statement (health checks, system tables)."""
    return CompiledQuery(sql=sql, parameters={}, tag=tag, tenant_free=True)

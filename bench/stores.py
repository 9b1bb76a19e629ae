"""Fresh embedded stores for a benchmark: a temporary data dir, migrated, with a project to fill."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

from app.auth import accounts as domain
from app.settings import Settings
from app.storage import Storage, open_storage
from app.storage.postgres.tables import Organization, Project


@contextlib.asynccontextmanager
async def bench_project() -> AsyncIterator[tuple[Settings, Storage, Organization, Project]]:
    """Settings, open storage, and the organization and project "bench"; all gone on exit."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), secret_key="bench")
        async with open_storage(settings) as storage:
            await storage.migrate()
            org = await domain.ensure_organization(storage, "bench")
            project = await domain.ensure_project(storage, org, "bench")
            yield settings, storage, org, project

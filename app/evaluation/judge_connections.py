"""LLM connections as the public API manages them: upserted by name, and deleted with the evaluators
that use them paused (a judge never silently calls a connection that is gone)."""

from __future__ import annotations

from app.evaluation import evaluators
from app.playground import connections
from app.playground.connections import ConnectionView, LlmConnectionSpec
from app.storage import Storage


async def upsert_connection(storage: Storage, project_id: str, spec: LlmConnectionSpec) -> ConnectionView:
    """Create the connection named `spec.name`, or replace the one of that name (key included)."""
    named = [
        c for c in await connections.list_connections(storage, project_id) if c.name == spec.name.strip()
    ]
    if named:
        return await connections.update_connection(storage, project_id, named[0].connection_id, spec)
    return await connections.create_connection(storage, project_id, spec)


async def delete_connection(storage: Storage, project_id: str, connection_id: str) -> list[str]:
    """Delete the connection; returns the ids of the evaluators paused because they used it."""
    view = await connections.fetch_connection(storage, project_id, connection_id)
    paused = await evaluators.pause_for_connection(storage, project_id, view.name)
    await connections.delete_connection(storage, project_id, connection_id)
    return paused

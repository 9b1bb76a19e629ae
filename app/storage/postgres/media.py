"""Repository for media records and their links (every call is scoped to one project)."""

from __future__ import annotations

from app.storage.postgres.engine import Postgres
from app.storage.postgres.tables import Media, MediaLink


async def fetch_media(pg: Postgres, project_id: str, media_id: str) -> Media | None:
    async with pg.session() as s:
        return await s.get(Media, (project_id, media_id))


async def save_media(pg: Postgres, media: Media, link: MediaLink | None = None) -> Media:
    """Insert or update a media record, and add a link to it."""
    async with pg.session() as s:
        merged = await s.merge(media)
        if link is not None:
            s.add(link)
        await s.commit()
    return merged

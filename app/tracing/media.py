"""Media: files referenced from traces (`@@@langfuseMedia:…@@@`), uploaded once per content hash into the
blob store through signed, expiring URLs: ones Langhouse serves itself, or presigned S3 PUTs when the
blob store is S3 (services mode)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import time
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from app.auth.signing import sign, verify
from app.errors import InvalidInput, NotFound
from app.storage import Storage
from app.storage.postgres import media as repo
from app.storage.postgres.tables import Media, MediaLink, utcnow

URL_SECONDS = 3600


@dataclass(frozen=True, slots=True)
class MediaAnnouncement:
    """A file an SDK is about to upload: its type, size and base64 SHA-256, and where it is used
    (a trace, optionally an observation, or a dataset item; `field` is input, output or metadata)."""

    content_type: str
    content_length: int
    sha256_hash: str
    field: str
    trace_id: str | None = None
    observation_id: str | None = None
    dataset_item_id: str | None = None


@dataclass(frozen=True, slots=True)
class UploadTicket:
    """The media id, and where to upload the bytes (None: the same bytes are stored already)."""

    media_id: str
    upload_url: str | None


@dataclass(frozen=True, slots=True)
class MediaUpload:
    """How an SDK's upload went: the storage's HTTP status, its error, duration and time."""

    upload_http_status: int
    upload_http_error: str | None = None
    upload_time_ms: int | None = None
    uploaded_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class MediaFile:
    """An uploaded file and a signed URL a browser can load until `url_expires` (Unix seconds)."""

    media_id: str
    content_type: str
    content_length: int
    uploaded_at: datetime
    url: str
    url_expires: int


ALLOWED_TYPES = frozenset(
    {
        "image/png",
        "image/jpeg",
        "image/jpg",
        "image/webp",
        "image/gif",
        "image/avif",
        "image/bmp",
        "image/tiff",
        "image/heic",
        "audio/mpeg",
        "audio/mp3",
        "audio/wav",
        "audio/ogg",
        "audio/oga",
        "audio/opus",
        "audio/aac",
        "audio/flac",
        "audio/mp4",
        "audio/webm",
        "video/mp4",
        "video/webm",
        "video/mpeg",
        "video/ogg",
        "video/quicktime",
        "application/pdf",
        "text/plain",
        "text/csv",
        "text/markdown",
        "application/json",
        "application/x-ndjson",
        "application/xml",
        "application/x-yaml",
        "application/zip",
        "application/gzip",
        "application/octet-stream",
        "application/vnd.apache.parquet",
        "image/svg+xml",
        "text/html",
        "application/msword",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/vnd.ms-excel",
    }
)
# Served inline only when a browser cannot run them as script in our origin; the rest download.
INLINE_PREFIXES = (
    "image/",
    "audio/",
    "video/",
    "application/pdf",
    "text/plain",
    "text/csv",
    "application/json",
)
UNSAFE_INLINE = frozenset({"image/svg+xml"})


def media_id_for(sha256_b64: str) -> str:
    """The id the SDKs compute: the first 22 characters of the URL-safe base64 of the SHA-256."""
    try:
        digest = base64.b64decode(sha256_b64, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput("sha256Hash must be the base64 SHA-256 of the content") from None
    if len(digest) != 32:
        raise InvalidInput("sha256Hash must be the base64 SHA-256 of the content")
    return base64.urlsafe_b64encode(digest).decode()[:22]


def _url(base_url: str, secret: str, action: str, project_id: str, media_id: str) -> tuple[str, int]:
    expires = int(time.time()) + URL_SECONDS
    signature = sign(secret, f"{action}:{project_id}:{media_id}", expires)
    query = urlencode({"expires": expires, "signature": signature})
    return f"{base_url}/api/public/media/{project_id}/{media_id}/{action.lower()}?{query}", expires


MEDIA_REFERENCE = re.compile(r"@@@langfuseMedia:type=([^|@]+)\|id=([A-Za-z0-9_-]{1,64})\|source=[^@]*@@@")


def references(text: str | None) -> list[tuple[str, str]]:
    """The (content type, media id) of every media reference in an input or output."""
    return [(m[1], m[2]) for m in MEDIA_REFERENCE.finditer(text or "")]


def content_url(secret: str, project_id: str, media_id: str) -> str:
    """A signed, expiring, same-origin URL of a media file's content (for the UI)."""
    return _url("", secret, "CONTENT", project_id, media_id)[0]


async def announce(
    storage: Storage, secret: str, project_id: str, new: MediaAnnouncement, base_url: str
) -> UploadTicket:
    """Record the file and where it is used; an upload URL unless the same bytes are stored."""
    if new.content_type not in ALLOWED_TYPES:
        raise InvalidInput(f"contentType {new.content_type!r} is not allowed")
    limit = storage.settings.media_max_bytes
    if not 0 < new.content_length <= limit:
        raise InvalidInput(f"contentLength must be between 1 and {limit} bytes")
    if not new.field:
        raise InvalidInput("field is required (input, output or metadata)")
    if not (new.trace_id or new.dataset_item_id):
        raise InvalidInput("traceId (or datasetItemId) is required")
    media_id = media_id_for(new.sha256_hash)
    existing = await repo.fetch_media(storage.postgres, project_id, media_id)
    link = MediaLink(
        project_id=project_id,
        media_id=media_id,
        trace_id=new.trace_id,
        observation_id=new.observation_id,
        dataset_item_id=new.dataset_item_id,
        field=new.field,
    )
    if (
        existing is not None
        and existing.uploaded_at is not None
        and (existing.upload_http_status or 200) < 300
    ):
        await repo.save_media(storage.postgres, existing, link)
        return UploadTicket(media_id, None)
    extension = new.content_type.split("/")[1].split("+")[0]
    media = Media(
        project_id=project_id,
        id=media_id,
        sha256_hash=new.sha256_hash,
        content_type=new.content_type,
        content_length=new.content_length,
        blob_key=f"media/{project_id}/{media_id}.{extension}",
    )
    await repo.save_media(storage.postgres, media, link)
    # Straight into S3 when the store can sign such a URL (services mode), else through Langhouse.
    url = await storage.blobs.upload_url(media.blob_key, new.content_type, new.sha256_hash, URL_SECONDS)
    return UploadTicket(media_id, url or _url(base_url, secret, "UPLOAD", project_id, media_id)[0])


async def receive(
    storage: Storage, secret: str, project_id: str, media_id: str, expires: int, signature: str, data: bytes
) -> None:
    """PUT on the signed upload URL: the bytes must have the announced length and hash."""
    verify(secret, f"UPLOAD:{project_id}:{media_id}", expires, signature)
    media = await repo.fetch_media(storage.postgres, project_id, media_id)
    if media is None:
        raise NotFound("unknown media id")
    if len(data) != media.content_length:
        raise InvalidInput(f"body has {len(data)} bytes; {media.content_length} were announced")
    if base64.b64encode(hashlib.sha256(data).digest()).decode() != media.sha256_hash:
        raise InvalidInput("body does not match the announced sha256Hash")
    await storage.blobs.put(media.blob_key, data)
    media.uploaded_at = utcnow()
    media.upload_http_status = 200
    await repo.save_media(storage.postgres, media)


async def record_upload(storage: Storage, project_id: str, media_id: str, upload: MediaUpload) -> None:
    """Record how the SDK's upload went (a success only once the bytes are stored)."""
    media = await repo.fetch_media(storage.postgres, project_id, media_id)
    if media is None:
        raise NotFound(f"no media {media_id!r}")
    if upload.upload_http_status < 300 and not await storage.blobs.exists(media.blob_key):
        raise InvalidInput("uploadHttpStatus says the upload succeeded, but no file arrived")
    media.upload_http_status = upload.upload_http_status
    media.upload_http_error = upload.upload_http_error
    media.upload_time_ms = upload.upload_time_ms
    media.uploaded_at = upload.uploaded_at or media.uploaded_at or utcnow()
    await repo.save_media(storage.postgres, media)


async def describe(storage: Storage, secret: str, project_id: str, media_id: str, base_url: str) -> MediaFile:
    """An uploaded file with a signed URL a browser can load, or NotFound."""
    media = await repo.fetch_media(storage.postgres, project_id, media_id)
    if media is None or media.uploaded_at is None or (media.upload_http_status or 200) >= 300:
        raise NotFound(f"no uploaded media {media_id!r}")
    url, expires = _url(base_url, secret, "CONTENT", project_id, media_id)
    return MediaFile(media.id, media.content_type, media.content_length, media.uploaded_at, url, expires)


async def content(
    storage: Storage, secret: str, project_id: str, media_id: str, expires: int, signature: str
) -> tuple[bytes, str, bool]:
    """The bytes behind a signed content URL, their type, and whether they may be shown inline."""
    verify(secret, f"CONTENT:{project_id}:{media_id}", expires, signature)
    media = await repo.fetch_media(storage.postgres, project_id, media_id)
    if media is None or media.uploaded_at is None:
        raise NotFound("unknown media id")
    inline = media.content_type.startswith(INLINE_PREFIXES) and media.content_type not in UNSAFE_INLINE
    return await storage.blobs.get(media.blob_key), media.content_type, inline

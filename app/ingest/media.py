"""Media routes: announce, signed upload (PUT), report (PATCH), describe, signed content (GET)."""

from __future__ import annotations

import time
from typing import Any

from litestar import Request, get, patch, post, put
from litestar.datastructures import State
from litestar.response import Response

from app.auth.signing import server_secret
from app.errors import InvalidInput
from app.http_json import ApiDoc, json_body
from app.storage import Storage
from app.tracing import media
from app.tracing.mapping import parse_time

UPLOAD_LIMIT = 200 * 1024 * 1024
ANNOUNCE = ApiDoc(
    body={
        "type": "object",
        "required": ["contentType", "contentLength", "sha256Hash", "field"],
        "description": "traceId (or datasetItemId) is required",
        "properties": {
            "traceId": {"type": ["string", "null"]},
            "observationId": {"type": ["string", "null"]},
            "datasetItemId": {"type": ["string", "null"]},
            "contentType": {"type": "string", "enum": sorted(media.ALLOWED_TYPES)},
            "contentLength": {"type": "integer", "minimum": 1},
            "sha256Hash": {"type": "string", "description": "base64 SHA-256 of the bytes"},
            "field": {"type": "string", "enum": ["input", "output", "metadata"]},
        },
    },
    answers={
        201: {
            "type": "object",
            "required": ["mediaId", "uploadUrl"],
            "properties": {"mediaId": {"type": "string"}, "uploadUrl": {"type": ["string", "null"]}},
        }
    },
)
REPORT = ApiDoc(
    body={
        "type": "object",
        "properties": {
            "uploadedAt": {"type": ["string", "null"], "format": "date-time"},
            "uploadHttpStatus": {"type": ["integer", "null"]},
            "uploadHttpError": {"type": ["string", "null"]},
            "uploadTimeMs": {"type": ["integer", "null"]},
        },
    }
)
UPLOAD = ApiDoc(
    body={"type": "string", "format": "binary"},
    body_types=("application/octet-stream",),
    answers={200: None},
    errors={403: "The URL's signature is invalid or expired."},
)
CONTENT = ApiDoc(errors={403: "The URL's signature is invalid or expired."})


def _base_url(request: Request[Any, Any, State]) -> str:
    return str(request.base_url).rstrip("/")


def _text(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    return value if isinstance(value, str) else None


def parse_announcement(body: object) -> media.MediaAnnouncement:
    """A POST /media body as a MediaAnnouncement; a value of the wrong type is refused by the rule it
    breaks (so the message names the field)."""
    if not isinstance(body, dict):
        raise InvalidInput("body must be a JSON object")
    content_type, length = body.get("contentType"), body.get("contentLength")
    if not isinstance(content_type, str):
        raise InvalidInput(f"contentType {content_type!r} is not allowed")
    return media.MediaAnnouncement(
        content_type=content_type,
        content_length=length if isinstance(length, int) and not isinstance(length, bool) else 0,
        sha256_hash=str(body.get("sha256Hash", "")),
        field=_text(body, "field") or "",
        trace_id=_text(body, "traceId"),
        observation_id=_text(body, "observationId"),
        dataset_item_id=_text(body, "datasetItemId"),
    )


def parse_upload(body: object) -> media.MediaUpload:
    """A PATCH /media/{id} body as a MediaUpload, or InvalidInput naming the field."""
    if not isinstance(body, dict):
        raise InvalidInput("body must be a JSON object")
    status, took = body.get("uploadHttpStatus"), body.get("uploadTimeMs")
    if not isinstance(status, int):
        raise InvalidInput("uploadHttpStatus is required (an HTTP status code)")
    return media.MediaUpload(
        upload_http_status=status,
        upload_http_error=_text(body, "uploadHttpError"),
        upload_time_ms=took if isinstance(took, int) else None,
        uploaded_at=parse_time(body.get("uploadedAt")),
    )


@post("/media", status_code=201, opt=ANNOUNCE.opt)
async def announce_media(request: Request[Any, Any, State]) -> dict[str, Any]:
    storage: Storage = request.app.state.storage
    new = parse_announcement(await json_body(request))
    ticket = await media.announce(
        storage, server_secret(storage.settings), request.state.caller.project_id, new, _base_url(request)
    )
    return {"mediaId": ticket.media_id, "uploadUrl": ticket.upload_url}


@patch("/media/{media_id:str}", status_code=204, opt=REPORT.opt)
async def report_upload(request: Request[Any, Any, State], media_id: str) -> None:
    storage: Storage = request.app.state.storage
    upload = parse_upload(await json_body(request))
    await media.record_upload(storage, request.state.caller.project_id, media_id, upload)


@get("/media/{media_id:str}")
async def describe_media(request: Request[Any, Any, State], media_id: str) -> dict[str, Any]:
    storage: Storage = request.app.state.storage
    project_id = request.state.caller.project_id
    found = await media.describe(
        storage, server_secret(storage.settings), project_id, media_id, _base_url(request)
    )
    return {
        "mediaId": found.media_id,
        "contentType": found.content_type,
        "contentLength": found.content_length,
        "uploadedAt": found.uploaded_at.isoformat(),
        "url": found.url,
        "urlExpiry": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(found.url_expires)),
    }


@put(
    "/media/{project_id:str}/{media_id:str}/upload",
    opt={"public": True, **UPLOAD.opt},  # authorised by the URL's signature: the SDK sends no credentials
    request_max_body_size=UPLOAD_LIMIT,
    status_code=200,
)
async def upload_media(
    request: Request[Any, Any, State], project_id: str, media_id: str, expires: int, signature: str
) -> Response[bytes]:
    storage: Storage = request.app.state.storage
    data = await request.body()
    await media.receive(
        storage, server_secret(storage.settings), project_id, media_id, expires, signature, data
    )
    return Response(b"", status_code=200)


@get("/media/{project_id:str}/{media_id:str}/content", opt={"public": True, **CONTENT.opt})
async def media_content(
    request: Request[Any, Any, State], project_id: str, media_id: str, expires: int, signature: str
) -> Response[bytes]:
    storage: Storage = request.app.state.storage
    data, content_type, inline = await media.content(
        storage, server_secret(storage.settings), project_id, media_id, expires, signature
    )
    headers = {
        "X-Content-Type-Options": "nosniff",
        "Content-Disposition": "inline" if inline else "attachment",
        "Cache-Control": "private, max-age=3600",
    }
    return Response(data, media_type=content_type if inline else "application/octet-stream", headers=headers)


MEDIA_ROUTES = [announce_media, report_upload, describe_media, upload_media, media_content]

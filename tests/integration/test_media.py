"""Media: the official SDK uploads a base64 image found in an input; the file is retrievable, deduped,
and the signed URLs refuse tampering and bad bytes."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import html
import re

import httpx
import pytest

from app.storage.clickhouse.query import CompiledQuery
from app.storage.postgres.tables import Role
from tests.conftest import LiveServer, ProjectFixture, login, make_user, wait_for

pytestmark = pytest.mark.integration

# a 1x1 PNG
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def sha(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


ANNOUNCE_PNG = {  # POST /api/public/media for the PNG above
    "traceId": "t",
    "field": "input",
    "contentType": "image/png",
    "contentLength": len(PNG),
    "sha256Hash": sha(PNG),
}


def run_sdk(server: LiveServer, project: ProjectFixture) -> str:
    from langfuse import Langfuse

    lf = Langfuse(public_key=project.public_key, secret_key=project.secret_key, base_url=server.base_url)
    try:
        data_uri = "data:image/png;base64," + base64.b64encode(PNG).decode()
        with lf.start_as_current_observation(
            as_type="span", name="vision", input={"image": data_uri}
        ) as span:
            trace_id = span.trace_id
        lf.flush()
    finally:
        lf.shutdown()
    return trace_id


async def test_sdk_uploads_media_and_it_is_retrievable(
    live_server, client, storage, project: ProjectFixture
) -> None:
    trace_id = await asyncio.to_thread(run_sdk, live_server, project)
    q = CompiledQuery(
        "SELECT input FROM observations "
        "WHERE project_id = {project_id:String} AND trace_id = {trace_id:String}",
        {"project_id": project.project_id, "trace_id": trace_id},
        "test.media",
    )

    async def stored_input() -> str | None:
        rows = await storage.clickhouse.query(q)
        return str(rows[0]["input"]) if rows else None

    text = await wait_for(stored_input)
    assert "@@@langfuseMedia:type=image/png|id=" in text and "iVBORw0KGgo" not in text  # no inline bytes
    media_id = text.split("|id=")[1].split("|")[0]
    info = (await client.get(f"/api/public/media/{media_id}", auth=project.auth)).json()
    assert (
        info["mediaId"] == media_id
        and info["contentType"] == "image/png"
        and info["contentLength"] == len(PNG)
    )
    async with httpx.AsyncClient() as browser:  # a plain GET, as an <img> tag would do
        r = await browser.get(info["url"].replace("http://testserver.local", live_server.base_url))
    assert r.status_code == 200 and r.content == PNG and r.headers["content-type"] == "image/png"

    email, password = await make_user(storage, project, Role.MEMBER)  # the trace page shows it inline
    await login(client, email, password)
    try:
        page = await client.get(f"/traces/{trace_id}")
        src = re.search(r'<img src="([^"]+)"', page.text)
        assert src, page.text
        shown = await client.get(html.unescape(src[1]))
        assert shown.status_code == 200 and shown.content == PNG
    finally:
        client.cookies.clear()


async def test_upload_dedupe_and_signature_checks(client, project: ProjectFixture) -> None:
    body = ANNOUNCE_PNG
    first = (await client.post("/api/public/media", json=body, auth=project.auth)).json()
    assert first["uploadUrl"] and len(first["mediaId"]) == 22
    url = first["uploadUrl"].replace("http://testserver.local", "")
    r = await client.put(url.replace("signature=", "signature=0"), content=PNG)
    assert r.status_code == 403 and "signature" in r.json()["message"]
    r = await client.put(url, content=PNG[:-1] + b"x")
    assert r.status_code == 400 and "sha256Hash" in r.json()["message"]
    assert (await client.put(url, content=PNG, headers={"content-type": "image/png"})).status_code == 200
    again = (await client.post("/api/public/media", json=body, auth=project.auth)).json()
    assert again == {"mediaId": first["mediaId"], "uploadUrl": None}  # same bytes: no second upload
    for bad, needle in (
        ({**body, "contentType": "application/x-msdownload"}, "contentType"),
        ({**body, "contentLength": 0}, "contentLength"),
        ({**body, "sha256Hash": "nope"}, "sha256Hash"),
        ({**body, "traceId": None}, "traceId"),
    ):
        r = await client.post("/api/public/media", json=bad, auth=project.auth)
        assert r.status_code == 400 and needle in r.json()["message"]
    assert (await client.get("/api/public/media/unknown", auth=project.auth)).status_code == 404
    r = await client.patch(
        f"/api/public/media/{first['mediaId']}",
        json={"uploadHttpStatus": 200, "uploadTimeMs": 5},
        auth=project.auth,
    )
    assert r.status_code == 204


async def test_services_mode_uploads_straight_into_s3(storage, project: ProjectFixture, tmp_path) -> None:
    import dataclasses
    import uuid
    from urllib.parse import parse_qs, urlsplit

    from moto.server import ThreadedMotoServer

    from app.errors import InvalidInput, NotFound
    from app.settings import Settings
    from app.storage.blobs import open_blob_store
    from app.tracing import media

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    # Clients reach S3 by another name than the server does (LANGHOUSE_S3_PUBLIC_ENDPOINT); without
    # one, uploads go through Langhouse as in embedded mode.
    endpoint = f"http://localhost:{port}"
    settings = Settings(
        data_dir=tmp_path,
        s3_bucket=f"media-{uuid.uuid4().hex}",
        s3_endpoint=f"http://{host}:{port}",
        s3_access_key_id="test",
        s3_secret_access_key="test",
    )
    internal = await open_blob_store(settings)
    assert await internal.upload_url("media/a.png", "image/png", sha(PNG), 60) is None
    await internal.close()
    blobs = await open_blob_store(settings.model_copy(update={"s3_public_endpoint": endpoint}))
    services = dataclasses.replace(storage, blobs=blobs)
    pid = project.project_id
    try:
        announced = media.MediaAnnouncement("image/png", len(PNG), sha(PNG), "input", trace_id="t")
        answer = await media.announce(services, "k", pid, announced, "http://langhouse.test")
        url, media_id = answer.upload_url, answer.media_id
        assert url is not None
        assert url.startswith(f"{endpoint}/") and "Signature=" in url and "langhouse.test" not in url
        with pytest.raises(InvalidInput, match="no file arrived"):  # a success reported before the upload
            await media.record_upload(services, pid, media_id, media.MediaUpload(200))
        headers = {  # what the Langfuse SDK sends with its PUT
            "Content-Type": "image/png",
            "x-ms-blob-type": "BlockBlob",
            "x-amz-checksum-sha256": sha(PNG),
        }
        async with httpx.AsyncClient() as sdk:
            assert (await sdk.put(url, content=PNG, headers=headers)).status_code == 200
        await media.record_upload(services, pid, media_id, media.MediaUpload(200, upload_time_ms=4))
        info = await media.describe(services, "k", pid, media_id, "http://langhouse.test")
        query = parse_qs(urlsplit(info.url).query)
        data, content_type, _ = await media.content(
            services, "k", pid, media_id, int(query["expires"][0]), query["signature"][0]
        )
        assert (data, content_type, info.content_length) == (PNG, "image/png", len(PNG))
        await media.record_upload(services, pid, media_id, media.MediaUpload(403))  # a later failure
        with pytest.raises(NotFound):
            await media.describe(services, "k", pid, media_id, "http://langhouse.test")
    finally:
        await blobs.close()
        server.stop()

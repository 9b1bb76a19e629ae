"""Behavioural tests for the blob stores: one suite, run against the local directory and S3 (moto)."""

from __future__ import annotations

import os
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from moto.server import ThreadedMotoServer

from app.errors import InvalidInput, NotFound, StorageError
from app.settings import Settings
from app.storage import blobs
from app.storage.blobs import BlobStore, LocalBlobStore, open_blob_store, validate_key
from app.storage.blobs_s3 import S3BlobStore

pytestmark = pytest.mark.integration

INVALID_KEYS = ["../x", "/abs", "a//b", "a/../b", "", "a b", "a/./b", "a/", "x" * 1025, "a\\b", "é"]
BINARY = bytes(range(256)) * 3 + b"\x00\xff\r\n"


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def _s3_settings(tmp_path: Path, endpoint: str, bucket: str) -> Settings:
    return Settings(
        data_dir=tmp_path,
        s3_bucket=bucket,
        s3_endpoint=endpoint,
        s3_access_key_id="test",
        s3_secret_access_key="test",
        s3_region="us-east-1",
    )


def _fresh_bucket() -> str:
    return f"blobs-{uuid.uuid4().hex}"


@pytest.fixture(params=["local", "s3"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[BlobStore]:
    if request.param == "local":
        settings = Settings(data_dir=tmp_path, s3_bucket=None)
    else:
        endpoint: str = request.getfixturevalue("moto_endpoint")
        settings = _s3_settings(tmp_path, endpoint, _fresh_bucket())
    opened = await open_blob_store(settings)
    expected = LocalBlobStore if request.param == "local" else S3BlobStore
    assert isinstance(opened, expected)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def local_store(tmp_path: Path) -> AsyncIterator[BlobStore]:
    opened = await open_blob_store(Settings(data_dir=tmp_path, s3_bucket=None))
    try:
        yield opened
    finally:
        await opened.close()


# --- shared behaviour -------------------------------------------------------------------------------


async def test_put_get_roundtrip_binary(store: BlobStore) -> None:
    await store.put("proj/2024/01/blob.bin", BINARY)
    assert await store.get("proj/2024/01/blob.bin") == BINARY


async def test_put_get_empty_blob(store: BlobStore) -> None:
    await store.put("empty", b"")
    assert await store.get("empty") == b""
    assert await store.exists("empty") is True


async def test_put_overwrites(store: BlobStore) -> None:
    await store.put("k", b"first version, longer")
    await store.put("k", b"second")
    assert await store.get("k") == b"second"
    assert await store.list_keys("") == ["k"]


async def test_exists(store: BlobStore) -> None:
    assert await store.exists("a/b.json") is False
    await store.put("a/b.json", b"{}")
    assert await store.exists("a/b.json") is True
    assert await store.exists("a/b") is False


async def test_get_missing_raises_not_found(store: BlobStore) -> None:
    with pytest.raises(NotFound, match="nope/missing"):
        await store.get("nope/missing")


async def test_key_prefix_directory_is_not_a_blob(store: BlobStore) -> None:
    await store.put("dir/child", b"x")
    assert await store.exists("dir") is False
    with pytest.raises(NotFound):
        await store.get("dir")
    await store.delete("dir")
    assert await store.get("dir/child") == b"x"


async def test_delete_then_exists_false(store: BlobStore) -> None:
    await store.put("gone/soon", b"x")
    await store.delete("gone/soon")
    assert await store.exists("gone/soon") is False
    with pytest.raises(NotFound):
        await store.get("gone/soon")
    assert await store.list_keys("gone/") == []


async def test_delete_missing_is_ok(store: BlobStore) -> None:
    await store.put("keep", b"1")
    await store.delete("never/existed")
    await store.delete("never/existed")
    assert await store.list_keys("") == ["keep"]


async def test_list_keys_prefix_sorted(store: BlobStore) -> None:
    for key in ["t/b", "t/a", "t/c/d", "t-other", "u/a", "ta"]:
        await store.put(key, key.encode())
    assert await store.list_keys("t/") == ["t/a", "t/b", "t/c/d"]
    assert await store.list_keys("t/c/") == ["t/c/d"]
    assert await store.list_keys("t") == ["t-other", "t/a", "t/b", "t/c/d", "ta"]
    assert await store.list_keys("") == ["t-other", "t/a", "t/b", "t/c/d", "ta", "u/a"]
    assert await store.list_keys("missing/") == []


async def test_list_keys_limit(store: BlobStore) -> None:
    keys = [f"many/{i:03d}" for i in range(25)]
    for key in reversed(keys):
        await store.put(key, b"x")
    assert await store.list_keys("many/", limit=10) == keys[:10]
    assert await store.list_keys("many/", limit=1) == keys[:1]
    assert await store.list_keys("many/", limit=100) == keys
    assert await store.list_keys("many/") == keys


async def test_list_keys_rejects_bad_limit(store: BlobStore) -> None:
    with pytest.raises(InvalidInput, match="limit"):
        await store.list_keys("", limit=0)


@pytest.mark.parametrize("key", INVALID_KEYS)
async def test_invalid_keys_rejected_by_every_method(store: BlobStore, key: str) -> None:
    with pytest.raises(InvalidInput, match="invalid blob key"):
        await store.put(key, b"x")
    with pytest.raises(InvalidInput):
        await store.get(key)
    with pytest.raises(InvalidInput):
        await store.exists(key)
    with pytest.raises(InvalidInput):
        await store.delete(key)
    assert await store.list_keys("") == []


@pytest.mark.parametrize("prefix", ["../", "/abs/", "a//", "a/../", "a b/", "//"])
async def test_invalid_prefix_rejected(store: BlobStore, prefix: str) -> None:
    with pytest.raises(InvalidInput, match="invalid blob key"):
        await store.list_keys(prefix)


# --- key validation ---------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["a", "a/b/c.json", "x=1/y-2/z_3.bin", "..a", "a..", ".hidden", "x" * 1024])
def test_validate_key_accepts(key: str) -> None:
    assert validate_key(key) == key


@pytest.mark.parametrize("key", INVALID_KEYS)
def test_validate_key_rejects_and_names_key(key: str) -> None:
    with pytest.raises(InvalidInput) as info:
        validate_key(key)
    assert repr(key)[:60] in str(info.value)


# --- local-only -------------------------------------------------------------------------------------


def _all_files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


async def test_local_layout_and_no_temp_files_after_put(local_store: BlobStore, tmp_path: Path) -> None:
    root = tmp_path / "blobs"
    for i in range(3):
        await local_store.put("p/one", f"v{i}".encode())
    await local_store.put("p/q/two", b"2")
    assert _all_files(root) == ["p/one", "p/q/two"]
    assert (root / "p" / "one").read_bytes() == b"v2"


async def test_local_failed_put_keeps_old_value_and_cleans_up(
    local_store: BlobStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await local_store.put("k", b"old")

    def broken_fsync(fd: int) -> None:
        raise OSError("disk on fire")

    monkeypatch.setattr(blobs.os, "fsync", broken_fsync)
    with pytest.raises(StorageError, match="'k'") as info:
        await local_store.put("k", b"new")
    assert isinstance(info.value.__cause__, OSError)
    monkeypatch.undo()
    assert await local_store.get("k") == b"old"
    assert _all_files(tmp_path / "blobs") == ["k"]


async def test_local_stray_files_are_not_listed(local_store: BlobStore, tmp_path: Path) -> None:
    await local_store.put("a/real", b"x")
    (tmp_path / "blobs" / "a" / ".real.abc.tmp~").write_bytes(b"partial")
    (tmp_path / "blobs" / "a" / "has space").write_bytes(b"foreign")
    assert await local_store.list_keys("") == ["a/real"]
    assert await local_store.list_keys("a/") == ["a/real"]


async def test_local_factory_creates_blob_dir(tmp_path: Path) -> None:
    data_dir = tmp_path / "fresh" / "data"
    opened = await open_blob_store(Settings(data_dir=data_dir, s3_bucket=None))
    try:
        assert isinstance(opened, LocalBlobStore)
        assert (data_dir / "blobs").is_dir()
        await opened.put("x", b"1")
        assert (data_dir / "blobs" / "x").read_bytes() == b"1"
    finally:
        await opened.close()


async def test_local_file_durably_written(local_store: BlobStore, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[int] = []
    real_fsync = os.fsync

    def recording_fsync(fd: int) -> None:
        synced.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(blobs.os, "fsync", recording_fsync)
    await local_store.put("d/e/f", b"x")
    # root (new "d"), d (new "d/e"), the temp file itself, then d/e after the rename
    assert len(synced) == 4


# --- S3-only ----------------------------------------------------------------------------------------


async def test_s3_reopen_existing_bucket_keeps_data(moto_endpoint: str, tmp_path: Path) -> None:
    settings = _s3_settings(tmp_path, moto_endpoint, _fresh_bucket())
    first = await open_blob_store(settings)
    try:
        await first.put("persist/me", b"hello")
    finally:
        await first.close()
    second = await open_blob_store(settings)
    try:
        assert await second.get("persist/me") == b"hello"
    finally:
        await second.close()


async def test_s3_other_errors_become_storage_error(moto_endpoint: str, tmp_path: Path) -> None:
    bucket = _fresh_bucket()
    opened = await open_blob_store(_s3_settings(tmp_path, moto_endpoint, bucket))
    try:
        # Delete the (empty) bucket behind the store's back: a missing bucket is not a missing key.
        request = urllib.request.Request(f"{moto_endpoint}/{bucket}", method="DELETE")
        with urllib.request.urlopen(request) as response:
            assert response.status == 204
        with pytest.raises(StorageError, match="'k'") as info:
            await opened.get("k")
        assert not isinstance(info.value, NotFound)
        assert info.value.__cause__ is not None
        with pytest.raises(StorageError):
            await opened.put("k", b"x")
        with pytest.raises(StorageError):
            await opened.list_keys("")
    finally:
        await opened.close()

"""Blob storage: a local directory when embedded, otherwise an S3-compatible bucket."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from pathlib import Path
from typing import Protocol

from app.errors import NotFound, StorageError
from app.settings import Settings
from app.storage.blob_keys import is_valid_key, validate_key, validate_limit, validate_prefix

# "~" can never appear in a key, so temp files never collide with or show up as blobs.
_TMP_SUFFIX = ".tmp~"


class BlobStore(Protocol):
    """Key/value store for opaque byte blobs."""

    async def put(self, key: str, data: bytes) -> None:
        """Store data under key, replacing any previous value."""
        ...

    async def get(self, key: str) -> bytes:
        """Return the bytes stored under key; raise NotFound if there are none."""
        ...

    async def exists(self, key: str) -> bool:
        """Return whether key holds a blob."""
        ...

    async def delete(self, key: str) -> None:
        """Remove key; do nothing if it is missing."""
        ...

    async def list_keys(self, prefix: str, limit: int = 1000) -> list[str]:
        """Return at most limit keys starting with prefix, sorted."""
        ...

    async def upload_url(self, key: str, content_type: str, sha256_b64: str, seconds: int) -> str | None:
        """A URL a client may PUT exactly these bytes to for `seconds`, straight into the store; None
        when the store has no such URL (uploads then go through Langhouse)."""
        ...

    async def close(self) -> None:
        """Release the store's resources."""
        ...


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalBlobStore:
    """Blobs as files under a root directory, written atomically and durably."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / validate_key(key)

    def _ensure_dir(self, directory: Path) -> None:
        if directory.is_dir():
            return
        self._ensure_dir(directory.parent)
        with contextlib.suppress(FileExistsError):
            directory.mkdir()
        _fsync_dir(directory.parent)

    def _put_sync(self, path: Path, data: bytes) -> None:
        self._ensure_dir(path.parent)
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=_TMP_SUFFIX)
        try:
            with os.fdopen(fd, "wb") as tmp:
                tmp.write(data)
                tmp.flush()
                os.fsync(tmp.fileno())
            os.replace(tmp_name, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_name)
            raise
        _fsync_dir(path.parent)

    def _list_sync(self, prefix: str, limit: int) -> list[str]:
        start = self.root / prefix.rpartition("/")[0]
        keys: list[str] = []
        for dirpath, _dirnames, filenames in os.walk(start):
            for name in filenames:
                key = Path(dirpath, name).relative_to(self.root).as_posix()
                if key.startswith(prefix) and is_valid_key(key):
                    keys.append(key)
        return sorted(keys)[:limit]

    async def put(self, key: str, data: bytes) -> None:
        """Write data to a temp file, fsync it, then atomically rename it over key."""
        path = self._path(key)
        try:
            await asyncio.to_thread(self._put_sync, path, data)
        except OSError as exc:
            raise StorageError(f"could not write blob {key!r}") from exc

    async def get(self, key: str) -> bytes:
        """Read the file for key; raise NotFound if it is missing."""
        path = self._path(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise NotFound(f"blob {key!r} not found") from exc
        except OSError as exc:
            raise StorageError(f"could not read blob {key!r}") from exc

    async def exists(self, key: str) -> bool:
        """Return whether a file exists for key."""
        path = self._path(key)
        return await asyncio.to_thread(path.is_file)

    async def delete(self, key: str) -> None:
        """Remove the file for key if present."""
        path = self._path(key)
        try:
            await asyncio.to_thread(path.unlink, missing_ok=True)
        except (IsADirectoryError, NotADirectoryError):
            return
        except OSError as exc:
            raise StorageError(f"could not delete blob {key!r}") from exc

    async def list_keys(self, prefix: str, limit: int = 1000) -> list[str]:
        """Return at most limit sorted keys under the root that start with prefix."""
        validate_prefix(prefix)
        validate_limit(limit)
        try:
            return await asyncio.to_thread(self._list_sync, prefix, limit)
        except OSError as exc:
            raise StorageError(f"could not list blobs with prefix {prefix!r}") from exc

    async def upload_url(self, key: str, content_type: str, sha256_b64: str, seconds: int) -> str | None:
        """None: clients cannot reach a local directory; they upload through Langhouse."""
        return None

    async def close(self) -> None:
        """Do nothing: a local store holds no open resources."""


async def open_blob_store(settings: Settings) -> BlobStore:
    """Open the local blob directory when embedded, otherwise the configured S3 bucket."""
    if settings.embedded_blobs:
        root = settings.data_dir / "blobs"
        await asyncio.to_thread(root.mkdir, parents=True, exist_ok=True)
        return LocalBlobStore(root)
    # Imported only when S3 is configured: botocore costs ~34 MiB of memory that embedded mode never needs.
    from app.storage.blobs_s3 import S3BlobStore

    return await S3BlobStore.open(settings)

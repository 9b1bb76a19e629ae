"""Blobs in an S3-compatible bucket through aioboto3 (its only owner); see blobs.py for the interface."""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import Any

import aioboto3
from aiobotocore.config import AioConfig
from botocore.exceptions import BotoCoreError, ClientError

from app.errors import NotFound, StorageError
from app.settings import Settings
from app.storage.blob_keys import is_valid_key, validate_key, validate_limit, validate_prefix

_MISSING_KEY_CODES = frozenset({"NoSuchKey", "404", "NotFound"})
_BUCKET_EXISTS_CODES = frozenset({"BucketAlreadyOwnedByYou", "BucketAlreadyExists"})


def _error_code(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


class S3BlobStore:
    """Blobs as objects in one S3 bucket, through a single aioboto3 client."""

    def __init__(self, client: Any, bucket: str, stack: AsyncExitStack, presigner: Any = None) -> None:
        self._client = client
        self._bucket = bucket
        self._stack = stack
        self._presigner = presigner  # signs upload URLs for the endpoint clients reach, if one is set

    @classmethod
    async def open(cls, settings: Settings) -> S3BlobStore:
        """Connect to the configured S3 endpoint and create the bucket if it does not exist."""
        if settings.s3_bucket is None:
            raise ValueError("S3BlobStore needs settings.s3_bucket")
        secret = settings.s3_secret_access_key
        session = aioboto3.Session()
        stack = AsyncExitStack()
        endpoints = [settings.s3_endpoint]
        if settings.s3_public_endpoint:
            endpoints.append(settings.s3_public_endpoint)
        try:
            clients = [
                await stack.enter_async_context(
                    session.client(
                        "s3",
                        endpoint_url=endpoint,
                        region_name=settings.s3_region,
                        aws_access_key_id=settings.s3_access_key_id,
                        aws_secret_access_key=secret.get_secret_value() if secret else None,
                        config=AioConfig(signature_version="s3v4"),  # presigned URLs too (AWS, MinIO)
                    )
                )
                for endpoint in endpoints
            ]
            store = cls(clients[0], settings.s3_bucket, stack, clients[1] if len(clients) > 1 else None)
            await store._ensure_bucket(settings.s3_region)
        except BaseException:
            await stack.aclose()
            raise
        return store

    async def _ensure_bucket(self, region: str) -> None:
        try:
            await self._client.head_bucket(Bucket=self._bucket)
            return
        except ClientError as exc:
            if _error_code(exc) not in ("404", "NoSuchBucket", "NotFound"):
                raise StorageError(f"could not access bucket {self._bucket!r}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"could not access bucket {self._bucket!r}") from exc
        kwargs: dict[str, Any] = {"Bucket": self._bucket}
        if region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
        try:
            await self._client.create_bucket(**kwargs)
        except ClientError as exc:
            if _error_code(exc) not in _BUCKET_EXISTS_CODES:
                raise StorageError(f"could not create bucket {self._bucket!r}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"could not create bucket {self._bucket!r}") from exc

    async def put(self, key: str, data: bytes) -> None:
        """Upload data as the object key."""
        validate_key(key)
        try:
            await self._client.put_object(Bucket=self._bucket, Key=key, Body=data)
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"could not write blob {key!r}") from exc

    async def get(self, key: str) -> bytes:
        """Download the object key; raise NotFound if it is missing."""
        validate_key(key)
        try:
            response = await self._client.get_object(Bucket=self._bucket, Key=key)
            async with response["Body"] as body:
                data: bytes = await body.read()
        except (ClientError, BotoCoreError) as exc:
            if _error_code(exc) in _MISSING_KEY_CODES:
                raise NotFound(f"blob {key!r} not found") from exc
            raise StorageError(f"could not read blob {key!r}") from exc
        return data

    async def exists(self, key: str) -> bool:
        """Return whether the object key exists."""
        validate_key(key)
        try:
            await self._client.head_object(Bucket=self._bucket, Key=key)
        except (ClientError, BotoCoreError) as exc:
            if _error_code(exc) in _MISSING_KEY_CODES:
                return False
            raise StorageError(f"could not check blob {key!r}") from exc
        return True

    async def delete(self, key: str) -> None:
        """Delete the object key; S3 treats a missing key as success."""
        validate_key(key)
        try:
            await self._client.delete_object(Bucket=self._bucket, Key=key)
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"could not delete blob {key!r}") from exc

    async def list_keys(self, prefix: str, limit: int = 1000) -> list[str]:
        """Return at most limit sorted keys starting with prefix, paging through list_objects_v2."""
        validate_prefix(prefix)
        validate_limit(limit)
        keys: list[str] = []
        paginator = self._client.get_paginator("list_objects_v2")
        pages = paginator.paginate(
            Bucket=self._bucket, Prefix=prefix, PaginationConfig={"PageSize": min(limit, 1000)}
        )
        try:
            async for page in pages:
                keys.extend(o["Key"] for o in page.get("Contents", ()) if is_valid_key(o["Key"]))
                if len(keys) >= limit:
                    break
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"could not list blobs with prefix {prefix!r}") from exc
        return sorted(keys)[:limit]

    async def upload_url(self, key: str, content_type: str, sha256_b64: str, seconds: int) -> str | None:
        """A presigned PUT of the object key at the public endpoint, when one is set: S3 itself takes the
        bytes and refuses any other type or SHA-256 (the Langfuse SDKs send both headers)."""
        if self._presigner is None:
            return None
        validate_key(key)
        params = {
            "Bucket": self._bucket,
            "Key": key,
            "ContentType": content_type,
            "ChecksumSHA256": sha256_b64,
        }
        url: str = await self._presigner.generate_presigned_url(
            "put_object", Params=params, ExpiresIn=seconds
        )
        return url

    async def close(self) -> None:
        """Close the S3 clients."""
        await self._stack.aclose()

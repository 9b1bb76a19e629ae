"""Project API keys: issue (secret shown once, stored hashed), revoke, and authenticate HTTP Basic or, for
browser feedback, the public key alone (`Authorization: Bearer pk-…`)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from app.auth import throttle
from app.auth.caller import Caller
from app.errors import InvalidInput, NotFound, Unauthorized
from app.storage import Storage
from app.storage.postgres import accounts
from app.storage.postgres.tables import ApiKey, Role

# API-key callers may read and write project data but not manage keys or members.
API_KEY_ROLE = Role.MEMBER
_MAX_PART = 255


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A new key pair; `secret_key` exists only here and is never stored."""

    key: ApiKey
    secret_key: str


def hash_secret(secret: str) -> str:
    """Hash a secret key. Issued secrets carry 122 random bits, so a fast hash cannot be brute-forced
    and keeps authentication under a millisecond; passwords (low entropy) use argon2 instead."""
    return hashlib.sha256(secret.encode()).hexdigest()


def display_secret(secret: str) -> str:
    return f"{secret[:6]}...{secret[-4:]}"


def _cache_key(public_key: str) -> str:
    return f"apikey:{hashlib.sha256(public_key.encode()).hexdigest()}"


async def issue_api_key(
    storage: Storage,
    project_id: str,
    note: str | None = None,
    public_key: str | None = None,
    secret_key: str | None = None,
) -> IssuedKey:
    """Create a key for a project; generated as pk-lh-…/sk-lh-… unless both parts are given."""
    if note is not None and len(note) > _MAX_PART:
        raise InvalidInput(f"note must be at most {_MAX_PART} characters")
    public_key = public_key or f"pk-lh-{secrets.token_hex(16)}"
    secret_key = secret_key or f"sk-lh-{secrets.token_hex(16)}"
    key = await accounts.create_api_key(
        storage.postgres, project_id, public_key, hash_secret(secret_key), display_secret(secret_key), note
    )
    # A cache that outlived its database (e.g. Postgres reset, Redis kept) may still hold this public key.
    await storage.cache.delete(_cache_key(public_key))
    return IssuedKey(key, secret_key)


async def revoke_api_key(storage: Storage, project_id: str, public_key: str) -> ApiKey:
    """Revoke a key of this project and drop it from the cache at once."""
    key = await accounts.revoke_api_key(storage.postgres, project_id, public_key)
    if key is None:
        raise NotFound("no API key with this public key in the project")
    await forget_cached_key(storage, public_key)
    return key


def parse_basic(header: str | None) -> tuple[str, str]:
    """Split an `Authorization: Basic …` header into (public key, secret key) or raise Unauthorized."""
    if not header:
        raise Unauthorized(
            "No authorization header. Use HTTP Basic auth with your public key as username "
            "and your secret key as password."
        )
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic" or not value:
        raise Unauthorized("Unsupported authorization scheme; use HTTP Basic auth (public key : secret key).")
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise Unauthorized(
            "Malformed Basic authorization header: not valid base64 of 'publicKey:secretKey'."
        ) from None
    public_key, sep, secret_key = decoded.partition(":")
    if not sep or not public_key or not secret_key or max(len(public_key), len(secret_key)) > _MAX_PART:
        raise Unauthorized("Malformed Basic authorization header: expected 'publicKey:secretKey'.")
    return public_key, secret_key


_INVALID = "Invalid credentials: unknown or revoked public key, or wrong secret key."


async def _load_key(storage: Storage, public_key: str) -> dict[str, object]:
    """Read a live key from Postgres as a cache entry, or raise Unauthorized."""
    key = await accounts.find_api_key(storage.postgres, public_key)
    found = (
        None
        if key is None or key.revoked_at
        else await accounts.fetch_project(storage.postgres, key.project_id)
    )
    if key is None or found is None:
        raise Unauthorized(_INVALID)
    return {
        "key_id": key.id,
        "project_id": key.project_id,
        "organization_id": found[1].id,
        "secret_hash": key.secret_hash,
    }


async def _key_entry(storage: Storage, public_key: str, client_ip: str) -> dict[str, object]:
    """The key's cache entry (read through the Redis cache), or Unauthorized, counted as a failure."""
    cache_key = _cache_key(public_key)
    entry = await storage.cache.get(cache_key)
    if entry is None:
        # Refuse a blocked key or address before Postgres is asked about it.
        await throttle.check_api_key(storage, public_key, client_ip)
        try:
            entry = await _load_key(storage, public_key)
        except Unauthorized:
            await throttle.api_key_failed(storage, public_key, client_ip)
            raise
        await storage.cache.set(cache_key, entry, storage.settings.api_key_cache_seconds)
        if await storage.cache.get(_tombstone(public_key)) is not None:
            # Revoked or rotated while we read it: drop what we cached and trust only a fresh read.
            await storage.cache.delete(cache_key)
            entry = await _load_key(storage, public_key)
    return entry


async def authenticate_basic(storage: Storage, header: str | None, client_ip: str) -> Caller:
    """Resolve Basic credentials to a project caller; the key is looked up through the Redis cache.
    Failures count per public key and per address (app.auth.throttle): past the limit, 429. A cached
    key with its right secret costs no more than the one cache read."""
    public_key, secret_key = parse_basic(header)
    entry = await _key_entry(storage, public_key, client_ip)
    if not hmac.compare_digest(hash_secret(secret_key), str(entry["secret_hash"])):
        await throttle.api_key_failed(storage, public_key, client_ip)
        raise Unauthorized(_INVALID)
    return Caller(
        project_id=str(entry["project_id"]),
        organization_id=str(entry["organization_id"]),
        role=API_KEY_ROLE,
        api_key_id=str(entry["key_id"]),
    )


def is_bearer(header: str | None) -> bool:
    """Tell whether an Authorization header uses the Bearer scheme (the browser SDK's public key)."""
    return header is not None and header.strip().partition(" ")[0].lower() == "bearer"


def parse_bearer(header: str | None) -> str:
    """The public key of an `Authorization: Bearer pk-…` header, or Unauthorized."""
    scheme, _, value = (header or "").strip().partition(" ")
    public_key = value.strip()
    if scheme.lower() != "bearer" or not public_key or len(public_key) > _MAX_PART or " " in public_key:
        raise Unauthorized("Malformed Bearer authorization header: expected 'Bearer <public key>'.")
    return public_key


async def authenticate_public_key(storage: Storage, header: str | None, client_ip: str) -> Caller:
    """Resolve `Bearer <public key>` to a caller that may only send scores (`public_key_only`, viewer
    role). Same cache entry and failure throttle as Basic: an unknown or revoked key is a counted failure."""
    public_key = parse_bearer(header)
    entry = await _key_entry(storage, public_key, client_ip)
    return Caller(
        project_id=str(entry["project_id"]),
        organization_id=str(entry["organization_id"]),
        role=Role.VIEWER,
        api_key_id=str(entry["key_id"]),
        public_key_only=True,
    )


def _tombstone(public_key: str) -> str:
    return f"{_cache_key(public_key)}:changed"


async def forget_cached_key(storage: Storage, public_key: str) -> None:
    """Drop a revoked or rotated key from the cache, leaving a tombstone that outlives any entry a
    concurrent request may be writing, so that entry is discarded too."""
    ttl = storage.settings.api_key_cache_seconds + 60
    await storage.cache.set(_tombstone(public_key), {"at": time.time()}, ttl)
    await storage.cache.delete(_cache_key(public_key))

"""A project's LLM connections: validation, the API key encrypted at rest, and the view shown to
clients (which carries a short hint of the key, never the key)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, get_args
from urllib.parse import urlsplit

from app.auth.encryption import decrypt, encrypt
from app.errors import InvalidInput, NotFound
from app.storage import Storage
from app.storage.postgres import llm_connections as repo
from app.storage.postgres.tables import LlmConnection

Provider = Literal["openai", "anthropic"]
PROVIDERS: tuple[str, ...] = get_args(Provider)
DEFAULT_BASE_URLS = {"openai": "https://api.openai.com/v1", "anthropic": "https://api.anthropic.com/v1"}
MAX_MODELS, MAX_MODEL_CHARS, MAX_KEY_CHARS, MAX_URL_CHARS = 100, 200, 4096, 2000
MAX_HEADERS, MAX_HEADER_CHARS = 20, 4096
HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}")  # an HTTP token
OWN_HEADERS = frozenset({"content-type", "content-length", "host", "transfer-encoding", "connection"})


@dataclass(frozen=True, slots=True)
class LlmConnectionSpec:
    """A connection to create or the new values of one; on update, `api_key` None keeps the stored key
    and `extra_headers` None the stored headers ({} removes them)."""

    name: str
    provider: str
    base_url: str | None
    models: list[str]
    api_key: str | None
    extra_headers: dict[str, str] | None = None


@dataclass(frozen=True, slots=True)
class ConnectionView:
    """A connection as clients see it."""

    connection_id: str
    name: str
    provider: str
    base_url: str
    models: list[str]
    api_key_hint: str
    created_at: datetime
    updated_at: datetime
    extra_header_keys: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, row: LlmConnection) -> ConnectionView:
        return cls(
            row.id,
            row.name,
            row.provider,
            row.base_url,
            list(row.models),
            row.api_key_hint,
            row.created_at,
            row.updated_at,
            list(row.extra_header_keys or []),
        )


def key_hint(api_key: str) -> str:
    """The last four characters of a long key (nothing of a short one)."""
    return f"…{api_key[-4:]}" if len(api_key) >= 12 else "…"


def split_models(text: str) -> list[str]:
    """Model names from a comma- or newline-separated list."""
    return [m.strip() for m in text.replace("\n", ",").split(",") if m.strip()]


def _base_url(provider: str, value: str | None) -> str:
    url = (value or "").strip().rstrip("/") or DEFAULT_BASE_URLS[provider]
    parts = urlsplit(url)
    if len(url) > MAX_URL_CHARS or parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidInput("baseUrl must be an http(s) URL, e.g. https://api.openai.com/v1")
    return url


def header_object(value: object) -> dict[str, str] | None:
    """Extra headers as a client sent them (None: not sent); InvalidInput unless an object of strings."""
    if value is None:
        return None
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise InvalidInput("extraHeaders: an object of header names to string values")
    return value


def split_headers(text: str) -> dict[str, str]:
    """Headers from `Name: value` lines; InvalidInput naming a line without a colon."""
    out = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        name, colon, value = line.partition(":")
        if not colon:
            raise InvalidInput(f"extraHeaders: line {number} is not `Name: value`")
        out[name.strip()] = value.strip()
    return out


def _headers(headers: dict[str, str] | None) -> dict[str, str] | None:
    if headers is None:
        return None
    if len(headers) > MAX_HEADERS:
        raise InvalidInput(f"extraHeaders: at most {MAX_HEADERS} headers")
    for name, value in headers.items():
        if not HEADER_NAME.fullmatch(name) or name.lower() in OWN_HEADERS:
            raise InvalidInput(f"extraHeaders: {name!r} is not a header name a connection may set")
        if len(value) > MAX_HEADER_CHARS or any(c in value for c in "\r\n\0"):
            raise InvalidInput(f"extraHeaders.{name}: one line of at most {MAX_HEADER_CHARS} characters")
    return headers


def _set_headers(storage: Storage, row: LlmConnection, headers: dict[str, str] | None) -> None:
    if headers is not None:
        row.extra_headers_encrypted = encrypt(storage.settings, json.dumps(headers)) if headers else None
        row.extra_header_keys = sorted(headers)


def _validated(data: LlmConnectionSpec, creating: bool) -> LlmConnectionSpec:
    name = data.name.strip()
    if not name or len(name) > 255:
        raise InvalidInput("name is required (1 to 255 characters)")
    if data.provider not in PROVIDERS:
        raise InvalidInput(f"provider must be one of {', '.join(PROVIDERS)}")
    models = list(dict.fromkeys(m.strip() for m in data.models if m.strip()))
    if not models or len(models) > MAX_MODELS or any(len(m) > MAX_MODEL_CHARS for m in models):
        raise InvalidInput(f"models must list 1 to {MAX_MODELS} model names (each at most {MAX_MODEL_CHARS})")
    key = data.api_key.strip() if data.api_key else None
    if creating and not key:
        raise InvalidInput("apiKey is required")
    if key is not None and len(key) > MAX_KEY_CHARS:
        raise InvalidInput(f"apiKey must be at most {MAX_KEY_CHARS} characters")
    url = _base_url(data.provider, data.base_url)
    return LlmConnectionSpec(name, data.provider, url, models, key, _headers(data.extra_headers))


async def list_connections(storage: Storage, project_id: str) -> list[ConnectionView]:
    return [ConnectionView.of(r) for r in await repo.list_connections(storage.postgres, project_id)]


async def _fetch(storage: Storage, project_id: str, connection_id: str) -> LlmConnection:
    row = await repo.fetch_connection(storage.postgres, project_id, connection_id)
    if row is None:
        raise NotFound(f"no LLM connection {connection_id!r} in this project")
    return row


async def fetch_connection(storage: Storage, project_id: str, connection_id: str) -> ConnectionView:
    return ConnectionView.of(await _fetch(storage, project_id, connection_id))


async def create_connection(storage: Storage, project_id: str, data: LlmConnectionSpec) -> ConnectionView:
    valid = _validated(data, creating=True)
    assert valid.api_key is not None
    row = LlmConnection(
        project_id=project_id,
        provider=valid.provider,
        name=valid.name,
        base_url=str(valid.base_url),
        models=valid.models,
        api_key_encrypted=encrypt(storage.settings, valid.api_key),
        api_key_hint=key_hint(valid.api_key),
    )
    _set_headers(storage, row, valid.extra_headers)
    return ConnectionView.of(await repo.save_connection(storage.postgres, row))


async def update_connection(
    storage: Storage, project_id: str, connection_id: str, data: LlmConnectionSpec
) -> ConnectionView:
    row = await _fetch(storage, project_id, connection_id)
    valid = _validated(data, creating=False)
    row.name, row.provider, row.base_url, row.models = (
        valid.name,
        valid.provider,
        str(valid.base_url),
        valid.models,
    )
    if valid.api_key is not None:
        row.api_key_encrypted = encrypt(storage.settings, valid.api_key)
        row.api_key_hint = key_hint(valid.api_key)
    _set_headers(storage, row, valid.extra_headers)
    return ConnectionView.of(await repo.save_connection(storage.postgres, row))


async def delete_connection(storage: Storage, project_id: str, connection_id: str) -> None:
    if not await repo.delete_connection(storage.postgres, project_id, connection_id):
        raise NotFound(f"no LLM connection {connection_id!r} in this project")


@dataclass(frozen=True, slots=True)
class Endpoint:
    """What a provider call needs: never leaves the server."""

    connection: ConnectionView
    api_key: str
    extra_headers: dict[str, str] = field(default_factory=dict)


async def endpoint(storage: Storage, project_id: str, connection_id: str) -> Endpoint:
    """A connection with its decrypted key and extra headers, for calling the provider."""
    row = await _fetch(storage, project_id, connection_id)
    headers = row.extra_headers_encrypted
    return Endpoint(
        ConnectionView.of(row),
        decrypt(storage.settings, row.api_key_encrypted),
        json.loads(decrypt(storage.settings, headers)) if headers else {},
    )

"""Expiring HMAC signatures for URLs Langhouse hands out (media upload and download)."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time

from pydantic import SecretStr

from app.errors import Forbidden, InvalidInput
from app.settings import Settings


def sign(secret: str, message: str, expires_at: int) -> str:
    return hmac.new(secret.encode(), f"{message}|{expires_at}".encode(), hashlib.sha256).hexdigest()


def verify(secret: str, message: str, expires_at: int, signature: str) -> None:
    """Raise Forbidden unless the signature is valid and not expired."""
    if expires_at < time.time():
        raise Forbidden("this link has expired; request a new one")
    # compare_digest refuses non-ASCII text (TypeError); a hex signature never has any.
    if not signature.isascii() or not hmac.compare_digest(sign(secret, message, expires_at), signature):
        raise Forbidden("invalid link signature")


def server_secret(settings: Settings) -> str:
    """LANGHOUSE_SECRET_KEY, else (embedded) one generated once into the data directory, owner-only."""
    return data_dir_secret(settings, settings.secret_key, "LANGHOUSE_SECRET_KEY", "secret_key")


def data_dir_secret(settings: Settings, configured: SecretStr | None, variable: str, filename: str) -> str:
    """The configured secret, else (embedded) a random one generated once into `<data dir>/<filename>`
    (owner-only); in services mode the variable is required, as every replica must share the value."""
    if configured is not None:
        return configured.get_secret_value()
    if not settings.uses_data_dir:
        raise InvalidInput(f"set {variable} (the same value on every replica) in services mode")
    path = settings.data_dir / filename
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(32))
    return path.read_text().strip()

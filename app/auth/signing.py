"""Expiring HMAC signatures for URLs Langhouse hands out (media upload and download)."""

from __future__ import annotations

import hashlib
import hmac
import os
import time

from app.errors import Forbidden


def sign(secret: str, message: str, expires_at: int) -> str:
    return hmac.new(secret.encode(), f"{message}|{expires_at}".encode(), hashlib.sha256).hexdigest()


def verify(secret: str, message: str, expires_at: int, signature: str) -> None:
    """Raise Forbidden unless the signature is valid and not expired."""
    if expires_at < time.time():
        raise Forbidden("this link has expired; request a new one")
    if not hmac.compare_digest(sign(secret, message, expires_at), signature):
        raise Forbidden("invalid link signature")


def server_secret(secret: str | None, data_dir: os.PathLike[str] | str | None, embedded: bool) -> str:
    """LANGHOUSE_SECRET_KEY, else (embedded) one generated once into the data directory, owner-only."""
    from pathlib import Path

    from app.errors import InvalidInput

    if secret is not None:
        return secret
    if not embedded or data_dir is None:
        raise InvalidInput("set LANGHOUSE_SECRET_KEY (the same value on every web replica) in services mode")
    path = Path(data_dir) / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        pass
    else:
        import secrets

        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(32))
    return path.read_text().strip()

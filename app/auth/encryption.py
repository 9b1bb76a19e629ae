"""Secrets at rest (LLM provider keys): Fernet (AES-128-CBC + HMAC-SHA256) under the server's encryption
key. The only importer of `cryptography`."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING

from app.auth.signing import data_dir_secret
from app.errors import InvalidInput
from app.settings import Settings

if TYPE_CHECKING:
    from cryptography.fernet import Fernet


def _fernet(settings: Settings) -> Fernet:
    """LANGHOUSE_ENCRYPTION_KEY (any long random string), else one generated once into the data dir;
    HKDF turns it into the 32-byte Fernet key. `cryptography` loads on first use (the playground's)."""
    from cryptography.fernet import Fernet
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    secret = data_dir_secret(settings, settings.encryption_key, "LANGHOUSE_ENCRYPTION_KEY", "encryption_key")
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"langhouse secrets at rest").derive(
        secret.encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt(settings: Settings, plaintext: str) -> str:
    return _fernet(settings).encrypt(plaintext.encode()).decode()


def decrypt(settings: Settings, token: str) -> str:
    """The plaintext, or InvalidInput when the server's key changed since the value was encrypted."""
    from cryptography.fernet import InvalidToken

    try:
        return _fernet(settings).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise InvalidInput(
            "a stored secret cannot be decrypted (LANGHOUSE_ENCRYPTION_KEY changed since it was saved); "
            "enter it again"
        ) from exc

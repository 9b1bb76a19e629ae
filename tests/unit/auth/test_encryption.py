"""Secrets at rest: the encryption key is generated once (embedded) or required (services)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.auth.encryption import decrypt, encrypt
from app.errors import InvalidInput
from app.settings import Settings


def test_round_trip_with_a_generated_key(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    token = encrypt(settings, "sk-provider-secret")
    assert "sk-provider-secret" not in token and token != encrypt(settings, "sk-provider-secret")
    assert decrypt(settings, token) == "sk-provider-secret"
    assert (tmp_path / "encryption_key").stat().st_mode & 0o077 == 0


def test_a_configured_key_wins_and_a_changed_key_is_a_clear_error(tmp_path: Path) -> None:
    key = "one long random value"
    token = encrypt(Settings(data_dir=tmp_path, encryption_key=key), "secret")
    assert decrypt(Settings(data_dir=tmp_path / "elsewhere", encryption_key=key), token) == "secret"
    assert not (tmp_path / "encryption_key").exists()
    with pytest.raises(InvalidInput, match="LANGHOUSE_ENCRYPTION_KEY changed"):
        decrypt(Settings(data_dir=tmp_path, encryption_key="another value"), token)


def test_services_mode_needs_an_explicit_encryption_key(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        clickhouse_url="http://ch:8123",
        database_url="postgresql://u@db/x",
        redis_url="redis://r:6379/0",
        s3_bucket="b",
    )
    with pytest.raises(InvalidInput, match="LANGHOUSE_ENCRYPTION_KEY"):
        encrypt(settings, "x")

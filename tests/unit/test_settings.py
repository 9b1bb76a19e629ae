"""Settings: embedded by default, each store switched by its own URL."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from app.settings import Settings


@pytest.fixture(autouse=True)
def no_langhouse_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for key in list(os.environ):
        if key.startswith("LANGHOUSE_"):
            monkeypatch.delenv(key)


def test_defaults_are_embedded_on_localhost_3000() -> None:
    s = Settings()
    assert (s.host, s.port, s.data_dir) == ("127.0.0.1", 3000, Path("./langhouse-data"))
    assert s.embedded_clickhouse and s.embedded_postgres and s.embedded_redis and s.embedded_blobs
    assert s.migrate_on_start and not s.init_requested


def test_each_url_switches_one_store(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANGHOUSE_DATABASE_URL", "postgresql://u@db/x")
    monkeypatch.setenv("LANGHOUSE_REDIS_URL", "")  # empty means unset
    s = Settings()
    assert not s.embedded_postgres and s.embedded_redis and s.embedded_clickhouse
    assert s.uses_data_dir and s.migrate_on_start


def test_full_services_mode_does_not_migrate_at_start_unless_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {
        "CLICKHOUSE_URL": "http://ch:8123",
        "DATABASE_URL": "postgresql://u@db/x",
        "REDIS_URL": "redis://r:6379/0",
        "S3_BUCKET": "b",
    }.items():
        monkeypatch.setenv(f"LANGHOUSE_{key}", value)
    assert not Settings().uses_data_dir and not Settings().migrate_on_start
    monkeypatch.setenv("LANGHOUSE_AUTO_MIGRATE", "true")
    assert Settings().migrate_on_start


@pytest.mark.parametrize("bad", ["a-b", "x y", "c;DROP", ""])
def test_cluster_name_must_be_an_identifier(monkeypatch: pytest.MonkeyPatch, bad: str) -> None:
    monkeypatch.setenv("LANGHOUSE_CLICKHOUSE_CLUSTER", bad)
    with pytest.raises(ValidationError, match="LANGHOUSE_CLICKHOUSE_CLUSTER"):
        Settings()


def test_any_init_variable_requests_headless_init(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANGHOUSE_INIT_USER_EMAIL", "a@b.c")
    assert Settings().init_requested


def test_port_is_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANGHOUSE_PORT", "70000")
    with pytest.raises(ValidationError, match="port"):
        Settings()

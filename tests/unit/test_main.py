"""Pure helpers of the web layer: redirect targets and the CSRF secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.auth.signing import server_secret
from app.dashboards.auth_pages import safe_next
from app.errors import InvalidInput
from app.settings import Settings


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/", "/"),
        ("/settings/api-keys?tab=1", "/settings/api-keys?tab=1"),
        ("//evil.example/x", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("/\t/evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("", "/"),
    ],
)
def test_only_local_paths_are_redirect_targets(target: str, expected: str) -> None:
    assert safe_next(target) == expected


def test_secret_key_is_generated_once_owner_only(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, secret_key=None)
    first = server_secret(settings)
    assert first == server_secret(settings) and len(first) >= 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_services_mode_needs_an_explicit_secret_key(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        secret_key=None,
        clickhouse_url="http://ch:8123",
        database_url="postgresql://u@db/x",
        redis_url="redis://r:6379/0",
        s3_bucket="b",
    )
    with pytest.raises(InvalidInput, match="LANGHOUSE_SECRET_KEY"):
        server_secret(settings)


def test_the_default_app_opens_and_saves_prompts_through_prompt_storage(tmp_path: Path) -> None:
    from app.dashboards.prompt_hooks import STORAGE_HOOKS, load_prompt, save_version
    from app.main import create_app
    from app.playground.prompts import PlaygroundHooks

    settings = Settings(data_dir=tmp_path, secret_key="k" * 32)
    hooks = create_app(settings).state.playground_hooks
    assert hooks is STORAGE_HOOKS and (hooks.load_prompt, hooks.save_version) == (load_prompt, save_version)
    assert create_app(settings, playground=PlaygroundHooks()).state.playground_hooks.save_version is None


def test_stores_given_by_the_caller_come_with_their_job_queue(tmp_path: Path) -> None:
    from app.main import create_app

    settings = Settings(data_dir=tmp_path, secret_key="k" * 32)
    with pytest.raises(ValueError, match="job queue"):
        create_app(settings, storage=object())  # type: ignore[arg-type]

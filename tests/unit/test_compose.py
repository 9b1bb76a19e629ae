"""Static checks of compose.yaml and the Dockerfile (no container engine needed)."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from app.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "compose.yaml"
DOCKERFILE = ROOT / "Dockerfile"

STORES = ("clickhouse", "postgres", "redis", "minio")
APP_SERVICES = {"web": "serve", "worker": "worker", "migrate": "migrate"}
_INTERPOLATION = re.compile(r"\$\{(\w+)(?::?[-?]([^}]*))?\}")
_LANGHOUSE_NAME = re.compile(r"\bLANGHOUSE_[A-Z0-9_]+\b")


@cache
def _compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _services() -> dict[str, Any]:
    services = _compose()["services"]
    assert isinstance(services, dict)
    return services


def _interpolate(value: object) -> str:
    """Resolve `${VAR:-default}` the way compose does with an empty environment."""
    return _INTERPOLATION.sub(lambda m: m.group(2) or "", str(value))


def _env(service: str) -> dict[str, str]:
    env = _services()[service].get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: _interpolate(value) for key, value in env.items()}


def _command(service: str) -> list[str]:
    command = _services()[service]["command"]
    return command.split() if isinstance(command, str) else list(command)


def _settings_env_names() -> set[str]:
    return {"LANGHOUSE_" + name.upper() for name in Settings.model_fields}


def test_expected_services_exist() -> None:
    assert set(STORES) | set(APP_SERVICES) <= set(_services())


@pytest.mark.parametrize("name", sorted(_services()))
def test_every_image_is_pinned(name: str) -> None:
    service = _services()[name]
    assert "image" in service or "build" in service, name
    if "image" not in service:
        return
    image = str(service["image"])
    repo, sep, tag = image.rpartition(":")
    assert sep and "/" not in tag, f"{name}: {image} has no tag"
    assert repo and tag and tag != "latest", f"{name}: {image} is not pinned"
    assert "${" not in image


def test_store_images_are_the_expected_versions() -> None:
    services = _services()
    # 26.x: the full-text index (text, ngrams tokenizer, preprocessor) of migration 0005; the same
    # engine version chDB embeds.
    assert re.fullmatch(r"clickhouse/clickhouse-server:26\.\d+\.\d+\.\d+", services["clickhouse"]["image"])
    assert re.fullmatch(r"postgres:17\.\d+", services["postgres"]["image"])
    assert re.fullmatch(r"redis:7\.4\.\d+", services["redis"]["image"])
    assert re.fullmatch(r"minio/minio:RELEASE\.\S+", services["minio"]["image"])


@pytest.mark.parametrize("store", STORES)
def test_store_has_healthcheck_and_named_volume(store: str) -> None:
    service = _services()[store]
    test = service["healthcheck"]["test"]
    assert test and test[0] in ("CMD", "CMD-SHELL") and len(test) > 1
    named_volumes = set(_compose()["volumes"])
    sources = {str(v).split(":", 1)[0] for v in service.get("volumes", [])}
    assert sources & named_volumes, f"{store} has no named volume"


def test_minio_init_creates_the_bucket_before_migrate() -> None:
    init = _services()["minio-init"]
    assert "mc mb" in " ".join(map(str, init.get("command", [])))
    assert init["depends_on"]["minio"]["condition"] == "service_healthy"
    assert _services()["migrate"]["depends_on"]["minio-init"]["condition"] == (
        "service_completed_successfully"
    )


@pytest.mark.parametrize("name", sorted(APP_SERVICES))
def test_app_service_builds_from_dockerfile(name: str) -> None:
    build = _services()[name]["build"]
    if isinstance(build, str):
        context, dockerfile = build, "Dockerfile"
    else:
        context, dockerfile = build.get("context", "."), build.get("dockerfile", "Dockerfile")
    assert (COMPOSE.parent / context / dockerfile).resolve() == DOCKERFILE


@pytest.mark.parametrize(("name", "subcommand"), sorted(APP_SERVICES.items()))
def test_app_service_command(name: str, subcommand: str) -> None:
    assert _command(name) == ["langhouse", subcommand]


@pytest.mark.parametrize("name", sorted(APP_SERVICES))
def test_app_service_wires_the_stores(name: str) -> None:
    env = _env(name)
    assert urlsplit(env["LANGHOUSE_CLICKHOUSE_URL"]).hostname == "clickhouse"
    assert urlsplit(env["LANGHOUSE_CLICKHOUSE_URL"]).port == 8123
    database = urlsplit(env["LANGHOUSE_DATABASE_URL"])
    assert database.scheme.startswith("postgresql") and database.hostname == "postgres"
    redis = urlsplit(env["LANGHOUSE_REDIS_URL"])
    assert redis.scheme == "redis" and redis.hostname == "redis"
    assert urlsplit(env["LANGHOUSE_S3_ENDPOINT"]).hostname == "minio"
    for key in ("LANGHOUSE_S3_BUCKET", "LANGHOUSE_S3_ACCESS_KEY_ID", "LANGHOUSE_S3_SECRET_ACCESS_KEY"):
        assert env.get(key), f"{name}: {key} unset"
    assert env.get("LANGHOUSE_SECRET_KEY"), f"{name}: LANGHOUSE_SECRET_KEY unset"
    assert env.get("LANGHOUSE_ENCRYPTION_KEY"), f"{name}: LANGHOUSE_ENCRYPTION_KEY unset"


def test_app_env_resolves_to_valid_settings() -> None:
    settings = Settings.model_validate(
        {key.removeprefix("LANGHOUSE_").lower(): value for key, value in _env("web").items()}
    )
    assert not settings.uses_data_dir
    assert settings.migrate_on_start is False
    assert settings.host == "0.0.0.0"
    assert settings.port == 3000


def test_s3_credentials_match_minio() -> None:
    minio = {key: _interpolate(value) for key, value in _services()["minio"]["environment"].items()}
    env = _env("web")
    assert env["LANGHOUSE_S3_ACCESS_KEY_ID"] == minio["MINIO_ROOT_USER"]
    assert env["LANGHOUSE_S3_SECRET_ACCESS_KEY"] == minio["MINIO_ROOT_PASSWORD"]


@pytest.mark.parametrize("name", ["web", "worker"])
def test_web_and_worker_wait_for_migrate(name: str) -> None:
    depends_on = _services()[name]["depends_on"]
    assert depends_on["migrate"]["condition"] == "service_completed_successfully"


def test_migrate_waits_for_healthy_stores() -> None:
    depends_on = _services()["migrate"]["depends_on"]
    for store in STORES:
        assert depends_on[store]["condition"] == "service_healthy", store


def test_web_publishes_3000_and_is_health_checked() -> None:
    web = _services()["web"]
    assert any(str(port).split(":")[-2:] == ["3000", "3000"] for port in web["ports"])
    assert _env("web")["LANGHOUSE_AUTO_MIGRATE"] == "false"
    test = " ".join(map(str, web["healthcheck"]["test"]))
    assert "python" in test and "/api/public/health" in test


def test_every_langhouse_name_is_a_setting() -> None:
    used = set(_LANGHOUSE_NAME.findall(COMPOSE.read_text(encoding="utf-8")))
    used |= set(_LANGHOUSE_NAME.findall(DOCKERFILE.read_text(encoding="utf-8")))
    assert {"LANGHOUSE_CLICKHOUSE_URL", "LANGHOUSE_SECRET_KEY"} <= used
    assert used - _settings_env_names() == set()


def test_dockerfile_base_is_pinned_and_runs_as_non_root() -> None:
    lines = [line.strip() for line in DOCKERFILE.read_text(encoding="utf-8").splitlines()]
    froms = [line.split()[1] for line in lines if line.upper().startswith("FROM ")]
    assert froms
    for image in froms:
        assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm(@sha256:[0-9a-f]{64})?", image), image
    users = [line.split()[1] for line in lines if line.upper().startswith("USER ")]
    assert users and users[-1] not in ("root", "0", "0:0")
    assert 'CMD ["langhouse", "serve"]' in lines
    assert "RUN pip install --no-cache-dir -e ." in lines

"""Settings: the only reader of the environment (`LANGHOUSE_*`)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_CLUSTER_NAME = re.compile(r"^[A-Za-z0-9_]+$")


class Settings(BaseSettings):
    """Everything Langhouse reads from its environment; unset service URLs mean embedded."""

    model_config = SettingsConfigDict(env_prefix="LANGHOUSE_", env_file=None, extra="ignore")

    data_dir: Path = Path("./langhouse-data")
    host: str = "127.0.0.1"
    port: int = Field(default=3000, ge=1, le=65535)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    secret_key: SecretStr | None = None
    encryption_key: SecretStr | None = None
    auto_migrate: bool | None = None

    clickhouse_url: str | None = None
    clickhouse_cluster: str | None = None
    database_url: str | None = None
    redis_url: str | None = None
    s3_endpoint: str | None = None
    s3_bucket: str | None = None
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None
    s3_region: str = "us-east-1"
    s3_public_endpoint: str | None = None  # set: media uploads go straight to S3 there, presigned

    init_org_name: str | None = None
    init_project_name: str | None = None
    init_project_public_key: str | None = None
    init_project_secret_key: SecretStr | None = None
    init_user_email: str | None = None
    init_user_password: SecretStr | None = None

    max_request_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    api_key_cache_seconds: int = Field(default=300, ge=0)
    session_days: int = Field(default=7, ge=1)
    login_max_failures: int = Field(default=5, ge=1)  # per email, within login_block_seconds
    login_max_failures_per_ip: int = Field(default=50, ge=1)
    login_block_seconds: int = Field(default=900, ge=1)
    # Failed API-key (Basic auth) attempts per public key / per address within api_auth_block_seconds
    api_auth_max_failures: int = Field(default=20, ge=1)
    api_auth_max_failures_per_ip: int = Field(default=100, ge=1)
    api_auth_block_seconds: int = Field(default=60, ge=1)
    invitation_days: int = Field(default=7, ge=1)
    clickhouse_max_execution_seconds: int = Field(default=30, ge=1)
    # Reads run side by side on this many threads (each with its own connection); text searches on one
    # more lane of their own, so they never hold up the light reads.
    clickhouse_read_threads: int = Field(default=4, ge=1, le=64)
    ingest_max_backlog: int = Field(default=5000, ge=1)
    ingest_mapper_processes: int = Field(default=1, ge=0, le=64)
    ingest_retry_base_seconds: float = Field(default=1.0, gt=0)
    # What a gzip/deflate request body may inflate to (413 beyond); 4x the default body limit.
    ingest_max_inflated_bytes: int = Field(default=20 * 1024 * 1024, ge=1024, le=64 * 1024 * 1024)
    # Longest stored input/output value (UTF-8 bytes); longer ones are cut with a marker, and the
    # original is kept in the blob store (metadata `langhouse.truncated` names it).
    ingest_max_value_bytes: int = Field(default=1024 * 1024, ge=1024)
    media_max_bytes: int = Field(default=100 * 1024 * 1024, ge=1)
    llm_timeout_seconds: float = Field(default=60.0, gt=0, le=600)
    # LLM-as-a-judge: a rate-limited or failing provider is retried after base * 2^(attempt-1) s (±20 %),
    # up to eval_max_attempts calls; at most eval_connection_concurrency calls run at once per connection.
    eval_retry_base_seconds: float = Field(default=30.0, gt=0, le=86_400)
    eval_max_attempts: int = Field(default=5, ge=1, le=50)
    eval_connection_concurrency: int = Field(default=32, ge=1, le=1000)
    # Annotation: an item a reviewer opens is held from other reviewers this long (renewed on each open).
    annotation_hold_seconds: int = Field(default=300, ge=5, le=3600)
    cors_allowed_origins: str = "*"  # origins that may call /api/public from a browser: "*" or a comma list
    public_key_events_per_minute: int = Field(default=60, ge=1)  # public key alone, per key + client address
    public_key_events_per_minute_per_key: int = Field(default=3000, ge=1)  # public key alone, all addresses
    # Proxies whose X-Forwarded-For names the client (comma list of addresses or networks, or "*"); the
    # client address keys the login and public-key rate limits.
    forwarded_allow_ips: str = "127.0.0.1"

    @field_validator("clickhouse_cluster")
    @classmethod
    def _cluster_is_identifier(cls, value: str | None) -> str | None:
        if value is not None and not _CLUSTER_NAME.match(value):
            raise ValueError("LANGHOUSE_CLICKHOUSE_CLUSTER must match [A-Za-z0-9_]+")
        return value

    @field_validator(
        "clickhouse_url",
        "database_url",
        "redis_url",
        "s3_bucket",
        "s3_endpoint",
        "s3_public_endpoint",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @property
    def embedded_clickhouse(self) -> bool:
        return self.clickhouse_url is None

    @property
    def embedded_postgres(self) -> bool:
        return self.database_url is None

    @property
    def embedded_redis(self) -> bool:
        return self.redis_url is None

    @property
    def embedded_blobs(self) -> bool:
        return self.s3_bucket is None

    @property
    def uses_data_dir(self) -> bool:
        """True when any store lives in the data directory."""
        return (
            self.embedded_clickhouse or self.embedded_postgres or self.embedded_redis or self.embedded_blobs
        )

    @property
    def local_url(self) -> str:
        """The server's address as a browser on this machine opens it (a wildcard bind is localhost)."""
        host = "localhost" if self.host in ("127.0.0.1", "0.0.0.0", "::") else self.host  # noqa: S104
        return f"http://{host}:{self.port}"

    @property
    def migrate_on_start(self) -> bool:
        """Apply migrations at start: default on when any store is embedded."""
        return self.uses_data_dir if self.auto_migrate is None else self.auto_migrate

    @property
    def init_requested(self) -> bool:
        return any(
            v is not None
            for v in (
                self.init_org_name,
                self.init_project_name,
                self.init_project_public_key,
                self.init_project_secret_key,
                self.init_user_email,
                self.init_user_password,
            )
        )

"""Transactional tables (sqlmodel). Alembic versions under sql/postgres/ create them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import JSON, Column, DateTime, ForeignKey, Index, String, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Field, SQLModel


def new_id() -> str:
    return uuid.uuid4().hex


def utcnow() -> datetime:
    return datetime.now(UTC)


def _ts(nullable: bool = False) -> Column[datetime]:
    return Column(DateTime(timezone=True), nullable=nullable)


class Role(StrEnum):
    """Roles ordered by power: OWNER > ADMIN > MEMBER > VIEWER."""

    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"
    VIEWER = "viewer"

    @property
    def rank(self) -> int:
        return {"viewer": 0, "member": 1, "admin": 2, "owner": 3}[self.value]

    def at_least(self, other: Role) -> bool:
        return self.rank >= other.rank


class Organization(SQLModel, table=True):
    __tablename__ = "organizations"
    id: str = Field(default_factory=new_id, primary_key=True)
    name: str = Field(sa_column=Column(String(255), nullable=False, unique=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class Project(SQLModel, table=True):
    __tablename__ = "projects"
    __table_args__ = (Index("uq_projects_org_name", "organization_id", "name", unique=True),)
    id: str = Field(default_factory=new_id, primary_key=True)
    organization_id: str = Field(foreign_key="organizations.id", index=True, ondelete="CASCADE")
    name: str = Field(sa_column=Column(String(255), nullable=False))
    retention_days: int | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class User(SQLModel, table=True):
    __tablename__ = "users"
    id: str = Field(default_factory=new_id, primary_key=True)
    email: str = Field(sa_column=Column(String(320), nullable=False, unique=True))
    name: str | None = None
    password_hash: str
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class Membership(SQLModel, table=True):
    """A user's role in an organization (project_id null) or in one project (overrides the org role)."""

    __tablename__ = "memberships"
    __table_args__ = (
        Index(
            "uq_memberships_scope",
            "user_id",
            "organization_id",
            text("coalesce(project_id, '')"),
            unique=True,
        ),
    )
    id: str = Field(default_factory=new_id, primary_key=True)
    user_id: str = Field(foreign_key="users.id", index=True, ondelete="CASCADE")
    organization_id: str = Field(foreign_key="organizations.id", ondelete="CASCADE")
    project_id: str | None = Field(default=None, foreign_key="projects.id", ondelete="CASCADE")
    role: str
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_keys"
    id: str = Field(default_factory=new_id, primary_key=True)
    project_id: str = Field(foreign_key="projects.id", index=True, ondelete="CASCADE")
    public_key: str = Field(sa_column=Column(String(255), nullable=False, unique=True))
    secret_hash: str
    display_secret: str
    note: str | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    revoked_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class ModelDefinition(SQLModel, table=True):
    """A project's model and its prices per usage type (USD per unit); built-in ones ship as data."""

    __tablename__ = "models"
    __table_args__ = (Index("ix_models_project_name", "project_id", "model_name"),)
    id: str = Field(default_factory=new_id, primary_key=True)
    project_id: str = Field(foreign_key="projects.id", ondelete="CASCADE")
    model_name: str = Field(sa_column=Column(String(255), nullable=False))
    match_pattern: str
    start_date: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    unit: str = "TOKENS"
    prices: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    tokenizer_id: str | None = None
    tokenizer_config: dict[str, object] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class ScoreConfig(SQLModel, table=True):
    """What a score of a given name may hold: its data type and range or categories."""

    __tablename__ = "score_configs"
    __table_args__ = (Index("ix_score_configs_project", "project_id", "created_at"),)
    id: str = Field(default_factory=new_id, primary_key=True)
    project_id: str = Field(foreign_key="projects.id", ondelete="CASCADE")
    name: str = Field(sa_column=Column(String(255), nullable=False))
    data_type: str
    categories: list[dict[str, object]] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    min_value: float | None = None
    max_value: float | None = None
    description: str | None = None
    is_archived: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class Media(SQLModel, table=True):
    """An uploaded (or announced) file; its id is derived from its SHA-256, so uploads dedupe."""

    __tablename__ = "media"
    project_id: str = Field(foreign_key="projects.id", ondelete="CASCADE", primary_key=True)
    id: str = Field(primary_key=True)
    sha256_hash: str
    content_type: str
    content_length: int
    blob_key: str
    uploaded_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    upload_http_status: int | None = None
    upload_http_error: str | None = None
    upload_time_ms: int | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class MediaLink(SQLModel, table=True):
    """Where a media file is referenced: a trace/observation field, or a dataset item."""

    __tablename__ = "media_links"
    __table_args__ = (Index("ix_media_links_media", "project_id", "media_id"),)
    id: str = Field(default_factory=new_id, primary_key=True)
    project_id: str = Field(foreign_key="projects.id", ondelete="CASCADE")
    media_id: str
    trace_id: str | None = None
    observation_id: str | None = None
    dataset_item_id: str | None = None
    field: str
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class TraceFlag(SQLModel, table=True):
    """What people set on a trace in Langhouse (not what was ingested): bookmarked, shared publicly."""

    __tablename__ = "trace_flags"
    __table_args__ = (Index("ix_trace_flags_bookmarked", "project_id", "bookmarked"),)
    project_id: str = Field(foreign_key="projects.id", ondelete="CASCADE", primary_key=True)
    trace_id: str = Field(primary_key=True)
    bookmarked: bool = False
    public: bool | None = None  # None: as ingested
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class Comment(SQLModel, table=True):
    """A comment on a trace, observation, session or prompt."""

    __tablename__ = "comments"
    __table_args__ = (Index("ix_comments_object", "project_id", "object_type", "object_id", "created_at"),)
    id: str = Field(default_factory=new_id, primary_key=True)
    project_id: str = Field(foreign_key="projects.id", ondelete="CASCADE")
    object_type: str
    object_id: str
    content: str
    author_user_id: str | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class Dashboard(SQLModel, table=True):
    """A custom dashboard: an ordered list of widgets (each a metrics query and a chart type)."""

    __tablename__ = "dashboards"
    __table_args__ = (Index("ix_dashboards_project", "project_id", "name"),)
    id: str = Field(default_factory=new_id, primary_key=True)
    project_id: str = Field(foreign_key="projects.id", ondelete="CASCADE")
    name: str = Field(sa_column=Column(String(255), nullable=False))
    widgets: list[dict[str, object]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class LlmConnection(SQLModel, table=True):
    """A project's connection to an LLM provider; the API key is stored encrypted, never in clear."""

    __tablename__ = "llm_connections"
    __table_args__ = (Index("uq_llm_connections_project_name", "project_id", "name", unique=True),)
    id: str = Field(default_factory=new_id, primary_key=True)
    project_id: str = Field(foreign_key="projects.id", ondelete="CASCADE")
    provider: str
    name: str = Field(sa_column=Column(String(255), nullable=False))
    base_url: str
    models: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    api_key_encrypted: str
    api_key_hint: str  # the key's last characters, for display
    # Extra HTTP headers sent with every call: the values encrypted (JSON object), the names for display.
    extra_headers_encrypted: str | None = None
    extra_header_keys: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class Prompt(SQLModel, table=True):
    """One version of a prompt. Labels are unique per (project, name); tags are the same on every version."""

    __tablename__ = "prompts"
    __table_args__ = (
        Index("uq_prompts_version", "project_id", "name", "version", unique=True),
        Index("ix_prompts_updated", "project_id", "updated_at"),
    )
    id: str = Field(default_factory=new_id, primary_key=True)
    project_id: str = Field(foreign_key="projects.id", ondelete="CASCADE")
    name: str = Field(sa_column=Column(String(255), nullable=False))
    version: int
    type: str  # text | chat
    prompt: str | list[dict[str, object]] = Field(sa_column=Column(JSON, nullable=False))
    config: dict[str, object] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    labels: list[str] = Field(default_factory=list, sa_column=Column(ARRAY(String), nullable=False))
    tags: list[str] = Field(default_factory=list, sa_column=Column(ARRAY(String), nullable=False))
    commit_message: str | None = None
    created_by: str | None = None  # the author: a user's email, or the API key's public key
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class PromptDependency(SQLModel, table=True):
    """A reference from a prompt version to another prompt by version or label (composability)."""

    __tablename__ = "prompt_dependencies"
    __table_args__ = (Index("ix_prompt_dependencies_child", "project_id", "child_name"),)
    id: str = Field(default_factory=new_id, primary_key=True)
    project_id: str = Field(foreign_key="projects.id", ondelete="CASCADE")
    parent_id: str = Field(foreign_key="prompts.id", index=True, ondelete="CASCADE")
    child_name: str = Field(sa_column=Column(String(255), nullable=False))
    child_version: int | None = None
    child_label: str | None = None


class ProtectedLabel(SQLModel, table=True):
    """A prompt label only admins (and API keys) may set, move or remove in the project."""

    __tablename__ = "prompt_protected_labels"
    project_id: str = Field(foreign_key="projects.id", ondelete="CASCADE", primary_key=True)
    label: str = Field(primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class Invitation(SQLModel, table=True):
    """An invitation of an email to a role in an organization (project_id null) or one project of it.

    Only the SHA-256 of its one-time token is stored; it is pending until accepted, revoked or expired.
    """

    __tablename__ = "invitations"
    __table_args__ = (Index("ix_invitations_org", "organization_id", "created_at"),)
    id: str = Field(default_factory=new_id, primary_key=True)
    organization_id: str = Field(foreign_key="organizations.id", ondelete="CASCADE")
    project_id: str | None = Field(default=None, foreign_key="projects.id", ondelete="CASCADE")
    email: str = Field(sa_column=Column(String(320), nullable=False))
    role: str
    token_hash: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    invited_by_user_id: str | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    accepted_user_id: str | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    expires_at: datetime = Field(sa_column=_ts())
    accepted_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    revoked_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class Dataset(SQLModel, table=True):
    """A named set of items to run experiments over; the name is unique per project."""

    __tablename__ = "datasets"
    __table_args__ = (
        Index("uq_datasets_name", "project_id", "name", unique=True),
        Index("ix_datasets_created", "project_id", "created_at"),
    )
    id: str = Field(default_factory=new_id, primary_key=True)
    project_id: str = Field(foreign_key="projects.id", ondelete="CASCADE")
    name: str = Field(sa_column=Column(String(255), nullable=False))
    description: str | None = None
    metadata_: object = Field(default=None, sa_column=Column("metadata", JSON, nullable=True))
    input_schema: dict[str, object] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    expected_output_schema: dict[str, object] | None = Field(
        default=None, sa_column=Column(JSON, nullable=True)
    )
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


CURRENT = text("valid_to IS NULL")
LIVE = text("valid_to IS NULL AND NOT is_deleted")


class DatasetItem(SQLModel, table=True):
    """One version of a dataset item: current while valid_to is null; a delete writes a tombstone version.

    An item id is unique per project across datasets: at most one current version per (project, item id).
    """

    __tablename__ = "dataset_items"
    __table_args__ = (
        Index("uq_dataset_items_current", "project_id", "item_id", unique=True, postgresql_where=CURRENT),
        Index(
            "ix_dataset_items_current_order",
            "project_id",
            "dataset_id",
            text("created_at DESC"),
            "item_id",
            postgresql_include=["status", "row_id"],
            postgresql_where=LIVE,
        ),
        Index("ix_dataset_items_history", "project_id", "item_id", "valid_from"),
        Index(
            "ix_dataset_items_as_of",
            "project_id",
            "dataset_id",
            text("created_at DESC"),
            "item_id",
            postgresql_include=["valid_from", "valid_to", "status", "is_deleted", "row_id"],
        ),
    )
    row_id: str = Field(default_factory=new_id, primary_key=True)
    project_id: str = Field(foreign_key="projects.id", ondelete="CASCADE")
    item_id: str = Field(sa_column=Column(String(255, collation="C"), nullable=False))
    dataset_id: str = Field(
        sa_column=Column(String(), ForeignKey("datasets.id", ondelete="CASCADE"), nullable=False)
    )
    status: str  # ACTIVE | ARCHIVED
    input: object = Field(default=None, sa_column=Column(JSON, nullable=True))
    expected_output: object = Field(default=None, sa_column=Column(JSON, nullable=True))
    metadata_: object = Field(default=None, sa_column=Column("metadata", JSON, nullable=True))
    source_trace_id: str | None = None
    source_observation_id: str | None = None
    valid_from: datetime = Field(default_factory=utcnow, sa_column=_ts())
    valid_to: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    is_deleted: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())  # the item's first version

"""Tables of human annotation (sqlmodel): annotation queues, their items (a trace, observation or session
to review) and the queues' assigned reviewers. Alembic version 0012 creates them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, String, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Field, SQLModel

from app.storage.postgres.tables import _ts, new_id, utcnow


class ObjectType(StrEnum):
    """What a queue item points at (Langfuse's AnnotationQueueObjectType)."""

    TRACE = "TRACE"
    OBSERVATION = "OBSERVATION"
    SESSION = "SESSION"


class ItemStatus(StrEnum):
    """Where a queue item stands (Langfuse's AnnotationQueueStatus)."""

    PENDING = "PENDING"
    COMPLETED = "COMPLETED"


class AnnotationQueue(SQLModel, table=True):
    """A named queue of objects for people to score with the queue's score configs; the name is unique
    per project."""

    __tablename__ = "annotation_queues"
    __table_args__ = (
        Index("uq_annotation_queues_name", "project_id", "name", unique=True),
        Index("ix_annotation_queues_created", "project_id", "created_at"),
    )
    id: str = Field(default_factory=new_id, primary_key=True)
    project_id: str = Field(foreign_key="projects.id", ondelete="CASCADE")
    name: str = Field(sa_column=Column(String(255), nullable=False))
    description: str | None = None
    score_config_ids: list[str] = Field(default_factory=list, sa_column=Column(ARRAY(String), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class AnnotationQueueItem(SQLModel, table=True):
    """One object to review in a queue. An object is in a queue at most once. While `locked_until` is in
    the future the reviewer `locked_by_user_id` holds it and others are given other items;
    `assigned_user_id` is the reviewer it is meant for (first in their order), if any."""

    __tablename__ = "annotation_queue_items"
    __table_args__ = (
        Index(
            "uq_annotation_queue_items_object",
            "project_id",
            "queue_id",
            "object_type",
            "object_id",
            unique=True,
        ),
        Index("ix_annotation_queue_items_list", "project_id", "queue_id", text("created_at DESC"), "id"),
        Index("ix_annotation_queue_items_status", "project_id", "queue_id", "status", "created_at"),
        Index("ix_annotation_queue_items_object", "project_id", "object_id"),
        CheckConstraint(
            "object_type IN ('TRACE', 'OBSERVATION', 'SESSION')", name="ck_annotation_queue_items_type"
        ),
        CheckConstraint("status IN ('PENDING', 'COMPLETED')", name="ck_annotation_queue_items_status"),
    )
    id: str = Field(default_factory=new_id, primary_key=True)
    project_id: str = Field(foreign_key="projects.id", ondelete="CASCADE")
    queue_id: str = Field(
        sa_column=Column(String(), ForeignKey("annotation_queues.id", ondelete="CASCADE"), nullable=False)
    )
    object_type: str  # ObjectType
    object_id: str
    status: str = ItemStatus.PENDING.value  # ItemStatus
    completed_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    completed_by_user_id: str | None = None
    assigned_user_id: str | None = None
    locked_by_user_id: str | None = None
    locked_until: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class AnnotationQueueAssignment(SQLModel, table=True):
    """A project member assigned to review a queue."""

    __tablename__ = "annotation_queue_assignments"
    __table_args__ = (Index("ix_annotation_queue_assignments_user", "project_id", "user_id"),)
    queue_id: str = Field(
        sa_column=Column(String(), ForeignKey("annotation_queues.id", ondelete="CASCADE"), primary_key=True)
    )
    user_id: str = Field(
        sa_column=Column(String(), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    )
    project_id: str = Field(foreign_key="projects.id", ondelete="CASCADE")
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())

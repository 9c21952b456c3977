"""SQLAlchemy 2 typed tables. Times are stored in UTC; every row type is a plain mapped class."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite has no time zone type)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Refuse naive datetimes; store UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; pass an aware datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Return aware UTC datetimes."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSONType = JSON().with_variant(JSONB(), "postgresql")

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with stable constraint names, so migrations are reproducible."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSONType}


class Account(Base):
    """A council social media account (a Facebook Page, an Instagram account, ...)."""

    __tablename__ = "accounts"
    __table_args__ = (UniqueConstraint("platform", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    platform: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(200))
    display_name: Mapped[str] = mapped_column(String(200))
    token_ref: Mapped[str | None] = mapped_column(String(200))
    """Name of the environment variable or secrets-file entry holding the token, never the token."""
    status: Mapped[str] = mapped_column(String(20), default="active")
    status_detail: Mapped[str | None] = mapped_column(Text)
    status_changed_at: Mapped[datetime | None]
    poll_after: Mapped[datetime | None]
    """Do not poll before this time (a platform asked us to slow down)."""
    created_at: Mapped[datetime]


class Author(Base):
    """Someone who commented on a council account."""

    __tablename__ = "authors"
    __table_args__ = (UniqueConstraint("platform", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(200))
    display_name: Mapped[str] = mapped_column(String(300))
    first_seen_at: Mapped[datetime]


class Comment(Base):
    """One public comment; its text lives in versions because authors edit."""

    __tablename__ = "comments"
    __table_args__ = (UniqueConstraint("account_id", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("authors.id"), index=True)
    external_id: Mapped[str] = mapped_column(String(200))
    parent_external_id: Mapped[str | None] = mapped_column(String(200))
    post_external_id: Mapped[str | None] = mapped_column(String(200))
    post_title: Mapped[str | None] = mapped_column(Text)
    permalink: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(index=True)
    first_seen_at: Mapped[datetime]
    deleted_at: Mapped[datetime | None]
    current_version: Mapped[int] = mapped_column(default=1)


class CommentVersion(Base):
    """The text of a comment as seen at one time; a new version when the author edits."""

    __tablename__ = "comment_versions"
    __table_args__ = (UniqueConstraint("comment_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id"))
    version: Mapped[int]
    text: Mapped[str] = mapped_column(Text)
    content_sha256: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(20))
    raw_payload: Mapped[dict[str, Any]]
    seen_at: Mapped[datetime]


class Classification(Base):
    """What the classifier and rules said about one comment version, and under which settings."""

    __tablename__ = "classifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    comment_version_id: Mapped[int] = mapped_column(ForeignKey("comment_versions.id"), index=True)
    model_name: Mapped[str] = mapped_column(String(100))
    model_version: Mapped[str] = mapped_column(String(300))
    scores: Mapped[dict[str, Any]]
    thresholds: Mapped[dict[str, Any]]
    detections: Mapped[dict[str, Any]]
    suggested_action: Mapped[str] = mapped_column(String(20))
    reason_code: Mapped[str | None] = mapped_column(String(50))
    clause: Mapped[str | None] = mapped_column(Text)
    explanation: Mapped[str] = mapped_column(Text)
    classified_at: Mapped[datetime]


class ReviewItem(Base):
    """One triage item per comment; ``version`` guards against two people deciding at once."""

    __tablename__ = "review_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id"), unique=True)
    comment_version_id: Mapped[int] = mapped_column(ForeignKey("comment_versions.id"))
    classification_id: Mapped[int | None] = mapped_column(ForeignKey("classifications.id"))
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    version: Mapped[int] = mapped_column(default=1)
    priority: Mapped[int] = mapped_column(default=0)
    slack_channel: Mapped[str | None] = mapped_column(String(50))
    slack_ts: Mapped[str | None] = mapped_column(String(50))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Decision(Base):
    """An append-only record of a decision, by a person or by the system."""

    __tablename__ = "decisions"
    __table_args__ = (
        # The digest's "first action" per comment, and its undo checks (migration 0007d).
        Index("ix_decisions_comment_id_decided_at", "comment_id", "decided_at"),
        Index("ix_decisions_action_decided_at", "action", "decided_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    review_item_id: Mapped[int] = mapped_column(ForeignKey("review_items.id"), index=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id"), index=True)
    comment_version_id: Mapped[int] = mapped_column(ForeignKey("comment_versions.id"))
    review_version: Mapped[int]
    """The review item's version the decision was taken against."""
    action: Mapped[str] = mapped_column(String(30))
    actor_kind: Mapped[str] = mapped_column(String(10))
    actor_slack_id: Mapped[str | None] = mapped_column(String(50))
    actor_name: Mapped[str] = mapped_column(String(200))
    reason_code: Mapped[str | None] = mapped_column(String(50))
    note: Mapped[str | None] = mapped_column(Text)
    classification_id: Mapped[int | None] = mapped_column(ForeignKey("classifications.id"))
    preserved_record_id: Mapped[int | None] = mapped_column(ForeignKey("preserved_records.id"))
    approved_by: Mapped[str | None] = mapped_column(String(50))
    """The second SMAT member (or the Clerk) who approved a removal that needed it."""
    undoes_decision_id: Mapped[int | None] = mapped_column(ForeignKey("decisions.id"), index=True)
    decided_at: Mapped[datetime] = mapped_column(index=True)


class DecisionOutcome(Base):
    """What the platform did about a decision; decisions stay append-only, this row moves on."""

    __tablename__ = "decision_outcomes"

    id: Mapped[int] = mapped_column(primary_key=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("decisions.id"), unique=True)
    status: Mapped[str] = mapped_column(String(20))
    """pending, done, failed (retrying), unsupported, or not_needed (e.g. approve)."""
    detail: Mapped[str | None] = mapped_column(Text)
    platform_ref: Mapped[str | None] = mapped_column(String(200))
    """What the platform created, e.g. the id of a reply."""
    attempts: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime]


class RemovalRequest(Base):
    """A removal waiting for a second SMAT member (or the Clerk) to approve it."""

    __tablename__ = "removal_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    review_item_id: Mapped[int] = mapped_column(ForeignKey("review_items.id"), index=True)
    review_version: Mapped[int]
    action: Mapped[str] = mapped_column(String(30))
    reason_code: Mapped[str] = mapped_column(String(50))
    note: Mapped[str | None] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(50))
    requested_at: Mapped[datetime]
    needs: Mapped[str] = mapped_column(String(30))
    """Who must approve: ``second_member`` or ``clerk``."""
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    resolved_by: Mapped[str | None] = mapped_column(String(50))
    resolved_at: Mapped[datetime | None]
    slack_channel: Mapped[str | None] = mapped_column(String(50))
    slack_ts: Mapped[str | None] = mapped_column(String(50))


class MemberEvent(Base):
    """A change to SMAT membership: who changed what, and whether the Clerk must review it."""

    __tablename__ = "member_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    slack_user_id: Mapped[str] = mapped_column(String(50), index=True)
    change: Mapped[str] = mapped_column(String(20))
    role: Mapped[str | None] = mapped_column(String(20))
    changed_by: Mapped[str] = mapped_column(String(50))
    changed_by_role: Mapped[str] = mapped_column(String(20))
    needs_clerk_review: Mapped[bool] = mapped_column(Boolean, default=False)
    reviewed_by: Mapped[str | None] = mapped_column(String(50))
    changed_at: Mapped[datetime]


class Member(Base):
    """A Slack user's role in the Social Media Administration Team."""

    __tablename__ = "smat_members"

    id: Mapped[int] = mapped_column(primary_key=True)
    slack_user_id: Mapped[str] = mapped_column(String(50), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    added_by: Mapped[str] = mapped_column(String(50))
    added_at: Mapped[datetime]
    removed_at: Mapped[datetime | None]


class CannedResponseVersion(Base):
    """One version of a standard reply; edits add a version, never overwrite."""

    __tablename__ = "canned_responses"
    __table_args__ = (UniqueConstraint("key", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(100))
    version: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[datetime]


class PreservedRecord(Base):
    """The original of a comment, kept before anything hides, deletes or blocks it."""

    __tablename__ = "preserved_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id"), index=True)
    comment_version_id: Mapped[int] = mapped_column(ForeignKey("comment_versions.id"))
    text: Mapped[str] = mapped_column(Text)
    author_external_id: Mapped[str] = mapped_column(String(200))
    author_display_name: Mapped[str] = mapped_column(String(300))
    permalink: Mapped[str | None] = mapped_column(Text)
    comment_created_at: Mapped[datetime]
    thread_context: Mapped[dict[str, Any]]
    raw_payload: Mapped[dict[str, Any]]
    content_sha256: Mapped[str] = mapped_column(String(64))
    retention_class: Mapped[str] = mapped_column(String(50))
    legal_hold: Mapped[bool] = mapped_column(Boolean, default=False)
    preserved_at: Mapped[datetime] = mapped_column(index=True)


class Reply(Base):
    """A public reply posted for a ``reply`` decision: the words, and the standard response used."""

    __tablename__ = "replies"

    id: Mapped[int] = mapped_column(primary_key=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("decisions.id"), unique=True)
    canned_key: Mapped[str | None] = mapped_column(String(100), index=True)
    """The standard response it started from, if any (the text may have been edited)."""
    canned_version: Mapped[int | None]
    text: Mapped[str] = mapped_column(Text)
    route: Mapped[str | None] = mapped_column(String(30))
    """What the comment was routed as: service_request, complaint, press, or none."""
    routed_to: Mapped[str | None] = mapped_column(String(200))
    """The contact (Slack channel or user) told about it."""
    created_at: Mapped[datetime]


class Escalation(Base):
    """A comment put before the Town Clerk, and what the Clerk did about it."""

    __tablename__ = "escalations"

    id: Mapped[int] = mapped_column(primary_key=True)
    review_item_id: Mapped[int] = mapped_column(ForeignKey("review_items.id"), index=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id"), index=True)
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("decisions.id"))
    """The ``escalate`` decision that opened it (none for an escalation the system raised)."""
    reason: Mapped[str] = mapped_column(String(30))
    """threat, abuse_of_staff, safeguarding, defamation_legal, press, complaint or unsure."""
    offences: Mapped[list[str]] = mapped_column(JSONType, default=list)
    """Legislation named at escalation (Biggleswade Appendix C)."""
    note: Mapped[str | None] = mapped_column(Text)
    escalated_by: Mapped[str] = mapped_column(String(50))
    """A Slack user id, or ``system`` for an automatic escalation."""
    escalated_at: Mapped[datetime] = mapped_column(index=True)
    immediate: Mapped[bool] = mapped_column(Boolean, default=False)
    """Threats and safeguarding: the Clerk is pinged at once, even outside working hours."""
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)
    """open, acknowledged or closed."""
    acknowledged_by: Mapped[str | None] = mapped_column(String(50))
    acknowledged_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(30))
    """upheld, overruled, hidden_referred_police, reported_to_platform or replied."""
    outcome_by: Mapped[str | None] = mapped_column(String(50))
    outcome_at: Mapped[datetime | None] = mapped_column(index=True)
    outcome_note: Mapped[str | None] = mapped_column(Text)
    next_reminder_at: Mapped[datetime | None] = mapped_column(index=True)
    reminders_sent: Mapped[int] = mapped_column(default=0)
    deputy_notified_at: Mapped[datetime | None]
    clerk_dm_channel: Mapped[str | None] = mapped_column(String(50))
    clerk_dm_ts: Mapped[str | None] = mapped_column(String(50))
    channel: Mapped[str | None] = mapped_column(String(50))
    channel_ts: Mapped[str | None] = mapped_column(String(50))
    updated_at: Mapped[datetime]


class IngestionWatermark(Base):
    """How far ingestion has read one stream of one account."""

    __tablename__ = "ingestion_watermarks"
    __table_args__ = (UniqueConstraint("account_id", "stream"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    stream: Mapped[str] = mapped_column(String(100))
    cursor: Mapped[str | None] = mapped_column(Text)
    """The connector's own watermark, as JSON."""
    seen_until: Mapped[datetime | None]
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    """A poll holds the lease so two polls of one account never run at once, in any process."""
    updated_at: Mapped[datetime]


class OutboxMessage(Base):
    """A pending call to Slack or a platform, written in the same transaction as its cause."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(50))
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    payload: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]

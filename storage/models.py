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
    __table_args__ = (
        UniqueConstraint("comment_id", "version"),
        # Ingest counts the comments that carry each text (repeated_text) for every batch.
        Index("ix_comment_versions_content_sha256_comment_id", "content_sha256", "comment_id"),
    )

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
    signature: Mapped[str | None] = mapped_column(String(64))
    """HMAC-SHA256 (hex) of the record's signed document (docs/records.md); None if preserved
    before records were signed."""
    signature_key_id: Mapped[str | None] = mapped_column(String(16))
    """Which key signed it: a fingerprint of the key, never the key."""


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
    route_status: Mapped[str | None] = mapped_column(String(20))
    """The note to ``routed_to``: pending, sent or failed (None when not passed on)."""
    route_detail: Mapped[str | None] = mapped_column(Text)
    """Why a note could not be delivered, in words for the card."""
    routed_at: Mapped[datetime | None]
    """When the note was delivered."""


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


class AuditEvent(Base):
    """One link of the tamper-evident log: a change to an audited row, or to the policy settings.

    Append-only (database triggers refuse UPDATE and DELETE); ``hash`` covers every other column,
    ``prev_hash`` included, so altering, inserting or removing an event breaks the chain.
    """

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_subject", "subject_table", "subject_id", "seq"),)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    """1, 2, 3, ... with no gaps."""
    occurred_at: Mapped[datetime]
    actor_kind: Mapped[str] = mapped_column(String(10))
    """``person`` or ``system``."""
    actor_id: Mapped[str | None] = mapped_column(String(50))
    """A person's Slack user id."""
    actor_name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(30))
    """created, updated, deleted, baseline (on record when the log began) or settings."""
    subject_table: Mapped[str] = mapped_column(String(50))
    subject_id: Mapped[int | None]
    reason_code: Mapped[str | None] = mapped_column(String(50))
    model: Mapped[str | None] = mapped_column(String(400))
    """The classifier (name and version) behind a suggestion or a decision taken on one."""
    thresholds: Mapped[str | None] = mapped_column(Text)
    """Canonical JSON of the thresholds in force for that suggestion."""
    payload: Mapped[str | None] = mapped_column(Text)
    """Canonical JSON snapshot of the audited row as committed (none for a deletion)."""
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class LegalHold(Base):
    """A legal hold on one comment, or on everything by one author: nothing held is purged.

    A hold is never deleted: releasing it fills the ``released_*`` columns, so the row keeps
    both events (who set it and why, who released it and why).
    """

    __tablename__ = "legal_holds"

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(10))
    """``comment`` or ``author``."""
    comment_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id"), index=True)
    """The comment held (comment scope), or the comment the author was named by (author scope)."""
    author_id: Mapped[int | None] = mapped_column(ForeignKey("authors.id"), index=True)
    """The author held (author scope only)."""
    reason: Mapped[str] = mapped_column(Text)
    set_by: Mapped[str] = mapped_column(String(200))
    """A Slack user id, or ``cli:NAME`` for a hold set from the command line."""
    set_at: Mapped[datetime]
    released_by: Mapped[str | None] = mapped_column(String(200))
    released_at: Mapped[datetime | None] = mapped_column(index=True)
    release_reason: Mapped[str | None] = mapped_column(Text)


class PurgeRun(Base):
    """One run of the retention purge: when, who started it, and how much it removed."""

    __tablename__ = "purge_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    started_by: Mapped[str] = mapped_column(String(200))
    """``scheduler`` or ``cli:NAME``."""
    status: Mapped[str] = mapped_column(String(20))
    """``running``, ``done`` or ``failed`` (what a failed run purged before failing is kept)."""
    purged: Mapped[dict[str, Any]]
    """Comments purged per retention class."""
    kept: Mapped[dict[str, Any]]
    """Expired comments kept, per reason: legal hold, block in force, platform action pending."""
    authors_anonymised: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)


class PurgedComment(Base):
    """A comment whose personal content a purge removed, under which class and action."""

    __tablename__ = "purged_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id"), unique=True)
    purge_run_id: Mapped[int] = mapped_column(ForeignKey("purge_runs.id"), index=True)
    retention_class: Mapped[str] = mapped_column(String(50))
    action: Mapped[str] = mapped_column(String(20))
    """``anonymise`` or ``delete``."""
    expired_at: Mapped[datetime]
    purged_at: Mapped[datetime]


class BlockedAuthor(Base):
    """The blocked-author register: one row per block decision, closed by its unblock."""

    __tablename__ = "blocked_authors"

    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("authors.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id"))
    reason_code: Mapped[str | None] = mapped_column(String(50))
    blocked_by: Mapped[str] = mapped_column(String(200))
    blocked_at: Mapped[datetime]
    block_decision_id: Mapped[int] = mapped_column(ForeignKey("decisions.id"), unique=True)
    review_due: Mapped[datetime] = mapped_column(index=True)
    unblocked_at: Mapped[datetime | None] = mapped_column(index=True)
    unblocked_by: Mapped[str | None] = mapped_column(String(200))
    unblock_decision_id: Mapped[int | None] = mapped_column(ForeignKey("decisions.id"))


class BlockReview(Base):
    """A review of a standing block that kept it, and the next review date it set."""

    __tablename__ = "block_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    blocked_author_id: Mapped[int] = mapped_column(ForeignKey("blocked_authors.id"), index=True)
    outcome: Mapped[str] = mapped_column(String(20))
    """``kept`` (an unblock is a decision, recorded on the register row)."""
    reviewed_by: Mapped[str] = mapped_column(String(200))
    reviewed_at: Mapped[datetime]
    previous_due: Mapped[datetime]
    next_review_due: Mapped[datetime]
    note: Mapped[str | None] = mapped_column(Text)


class SlackBatch(Base):
    """A batch card: several clean comments shown in one Slack message during a surge."""

    __tablename__ = "slack_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(100))
    """The configured channel it is posted to (a name or an id)."""
    slack_channel: Mapped[str | None] = mapped_column(String(50))
    slack_ts: Mapped[str | None] = mapped_column(String(50))
    shown_digest: Mapped[str | None] = mapped_column(String(64))
    """SHA-256 of the message last sent to Slack, so an unchanged card is not sent again."""
    posting_until: Mapped[datetime | None]
    """A worker posting the card holds this lease, so two workers never post it twice."""
    created_at: Mapped[datetime]
    posted_at: Mapped[datetime | None]


class SlackBatchItem(Base):
    """One comment in a batch card; a comment is in at most one batch, ever."""

    __tablename__ = "slack_batch_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("slack_batches.id"), index=True)
    review_item_id: Mapped[int] = mapped_column(ForeignKey("review_items.id"), unique=True)
    position: Mapped[int]
    pulled_out_by: Mapped[str | None] = mapped_column(String(50))
    """Who moved it to its own card: a Slack user id, or ``system`` (an edit flagged it)."""
    pulled_out_at: Mapped[datetime | None]

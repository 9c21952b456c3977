"""The triage card as data: everything a SMAT member sees about one comment, loaded in one place."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session, aliased

from platforms.types import Platform
from storage.models import (
    Account,
    Author,
    Classification,
    Comment,
    CommentVersion,
    Decision,
    DecisionOutcome,
    Escalation,
    PreservedRecord,
    RemovalRequest,
    Reply,
    ReviewItem,
)


@dataclass(frozen=True)
class DecisionView:
    """The latest decision on a card, with what the platform did about it."""

    id: int
    action: str
    actor_slack_id: str | None
    actor_name: str
    decided_at: datetime
    reason_code: str | None
    comment_version: int
    note: str | None = None
    approved_by: str | None = None
    outcome_status: str | None = None
    """pending, done, failed (retrying), unsupported or not_connected; None for approve."""
    outcome_detail: str | None = None
    preserved_sha256: str | None = None


@dataclass(frozen=True)
class ReplyView:
    """The latest public reply (or passing-on) on a card, and what became of it."""

    decision_id: int
    action: str
    """``reply`` (posted publicly) or ``route`` (only passed on)."""
    actor_slack_id: str | None
    actor_name: str
    decided_at: datetime
    text: str
    canned_key: str | None
    route: str | None
    routed_to: str | None
    route_status: str | None
    route_detail: str | None
    outcome_status: str | None
    outcome_detail: str | None


@dataclass(frozen=True)
class RequestView:
    """A removal waiting for approval."""

    id: int
    action: str
    reason_code: str
    note: str | None
    requested_by: str
    requested_at: datetime
    needs: str
    """``second_member`` or ``clerk``."""


@dataclass(frozen=True)
class EscalationView:
    """A comment put before the Town Clerk: why, by whom, and where it stands."""

    id: int
    review_item_id: int
    reason: str
    offences: tuple[str, ...]
    note: str | None
    escalated_by: str
    """A Slack user id, or ``system`` for an automatic escalation."""
    escalated_at: datetime
    immediate: bool
    status: str
    """open, acknowledged or closed."""
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    outcome: str | None = None
    outcome_by: str | None = None
    outcome_at: datetime | None = None
    outcome_note: str | None = None
    reminders_sent: int = 0
    deputy_notified_at: datetime | None = None
    hide_stands: bool = False
    """Whether the comment is hidden now (a hide not undone)."""

    @property
    def is_open(self) -> bool:
        """Whether the Clerk has still to decide (open or acknowledged)."""
        return self.status != "closed"


@dataclass(frozen=True)
class AuthorHistory:
    """What this author has done on this account before (strikes are warnings)."""

    earlier_comments: int = 0
    hides: int = 0
    warnings: int = 0
    blocks: int = 0


@dataclass(frozen=True)
class TriageCard:
    """One comment in triage, with the classifier's view and any decision taken."""

    review_item_id: int
    review_version: int
    status: str
    platform: Platform
    account_name: str
    post_title: str | None
    permalink: str | None
    author_name: str
    author_earlier_comments: int
    created_at: datetime
    comment_version: int
    text: str
    deleted: bool
    model_name: str | None
    scores: dict[str, float]
    thresholds: dict[str, float]
    detections: dict[str, list[str]]
    suggested_action: str
    reason_code: str | None
    clause: str | None
    explanation: str
    decision: DecisionView | None
    slack_channel: str | None
    slack_ts: str | None
    history: AuthorHistory = AuthorHistory()
    request: RequestView | None = None
    legislation: tuple[str, ...] = ()
    escalation: EscalationView | None = None
    """The latest escalation of this comment to the Town Clerk, if any."""
    reply: ReplyView | None = None
    parent_id: str | None = None
    """The platform id of the comment this one answers (None for a top-level one on Instagram)."""
    enquiry_labels: tuple[str, ...] = ()
    """What the comment looks like it is asking about (filled in by the card publisher)."""

    @property
    def flagged(self) -> bool:
        """Whether the policy suggested anything but approval."""
        return self.suggested_action != "approve"

    def top_scores(self, count: int = 3) -> list[tuple[str, float]]:
        """The highest scores, relative to each label's threshold."""
        ranked = sorted(
            self.scores.items(),
            key=lambda item: item[1] / self.thresholds.get(item[0], 1.0),
            reverse=True,
        )
        return ranked[:count]


def load_card(session: Session, review_item_id: int) -> TriageCard:
    """Load one card by review item id."""
    cards = load_cards(session, [review_item_id])
    if not cards:
        raise LookupError(f"no review item {review_item_id}")
    return cards[0]


_EARLIER = aliased(Comment)
_EARLIER_COMMENTS = (
    select(func.count(_EARLIER.id))
    .where(
        _EARLIER.author_id == Comment.author_id,
        _EARLIER.account_id == Comment.account_id,
        _EARLIER.created_at < Comment.created_at,
    )
    .correlate(Comment)
    .scalar_subquery()
)
# The statements below are built once, at import: building one costs more than running it on
# an indexed look-up, and a card is loaded on every click. Columns, not entities: a card is
# read-only, and making ORM objects of every row was most of the rest.
_CARDS = (
    select(
        ReviewItem.id,
        ReviewItem.version,
        ReviewItem.status,
        ReviewItem.slack_channel,
        ReviewItem.slack_ts,
        Comment.post_title,
        Comment.permalink,
        Comment.created_at,
        Comment.deleted_at,
        Comment.parent_external_id,
        CommentVersion.version.label("comment_version"),
        CommentVersion.text,
        Account.id.label("account_id"),
        Account.platform,
        Account.display_name.label("account_name"),
        Author.id.label("author_id"),
        Author.display_name.label("author_name"),
        Classification.id.label("classification_id"),
        Classification.model_name,
        Classification.scores,
        Classification.thresholds,
        Classification.detections,
        Classification.suggested_action,
        Classification.reason_code,
        Classification.clause,
        Classification.explanation,
        _EARLIER_COMMENTS.label("earlier_comments"),
    )
    .join(Comment, Comment.id == ReviewItem.comment_id)
    .join(CommentVersion, CommentVersion.id == ReviewItem.comment_version_id)
    .join(Account, Account.id == Comment.account_id)
    .join(Author, Author.id == Comment.author_id)
    .outerjoin(Classification, Classification.id == ReviewItem.classification_id)
)
_URGENT_AND_OLDEST_FIRST = (ReviewItem.priority.desc(), Comment.created_at, ReviewItem.id)
_CARDS_BY_ID = _CARDS.where(ReviewItem.id.in_(bindparam("ids", expanding=True))).order_by(
    *_URGENT_AND_OLDEST_FIRST
)
_PENDING_CARDS = _CARDS.where(ReviewItem.status == "pending").order_by(*_URGENT_AND_OLDEST_FIRST)


def load_cards(session: Session, review_item_ids: list[int] | None = None) -> list[TriageCard]:
    """Load cards (all pending ones when no ids are given), most urgent and oldest first."""
    if review_item_ids is None:
        rows = session.execute(_PENDING_CARDS)
    else:
        rows = session.execute(_CARDS_BY_ID, {"ids": review_item_ids})
    cards = []
    for row in rows:
        classified = row.classification_id is not None
        decided = row.status != "pending"
        cards.append(
            TriageCard(
                review_item_id=row.id,
                review_version=row.version,
                status=row.status,
                platform=Platform(row.platform),
                account_name=row.account_name,
                post_title=row.post_title,
                permalink=row.permalink,
                author_name=row.author_name,
                author_earlier_comments=row.earlier_comments or 0,
                created_at=row.created_at,
                comment_version=row.comment_version,
                text=row.text,
                deleted=row.deleted_at is not None,
                model_name=row.model_name if classified else None,
                scores=dict(row.scores) if classified else {},
                thresholds=dict(row.thresholds) if classified else {},
                detections=dict(row.detections) if classified else {},
                suggested_action=row.suggested_action if classified else "review",
                reason_code=row.reason_code if classified else None,
                clause=row.clause if classified else None,
                explanation=row.explanation if classified else "Not classified yet.",
                decision=_latest_decision(session, row.id) if decided else None,
                slack_channel=row.slack_channel,
                slack_ts=row.slack_ts,
                history=_author_history(
                    session, row.author_id, row.account_id, row.earlier_comments or 0
                ),
                request=_pending_request(session, row.id)
                if row.status == "awaiting_approval"
                else None,
                escalation=latest_escalation(session, row.id),
                reply=_latest_reply(session, row.id) if decided else None,
                parent_id=row.parent_external_id,
            )
        )
    return cards


REPLY_ACTIONS = ("reply", "route")
"""Decisions shown in the card's reply line rather than as its headline, after another one."""

_LATEST_DECISION = (
    select(
        Decision.id,
        Decision.action,
        Decision.actor_slack_id,
        Decision.actor_name,
        Decision.decided_at,
        Decision.reason_code,
        CommentVersion.version.label("comment_version"),
        Decision.note,
        Decision.approved_by,
        DecisionOutcome.status.label("outcome_status"),
        DecisionOutcome.detail.label("outcome_detail"),
        PreservedRecord.content_sha256.label("preserved_sha256"),
    )
    .join(CommentVersion, CommentVersion.id == Decision.comment_version_id)
    .outerjoin(DecisionOutcome, DecisionOutcome.decision_id == Decision.id)
    .outerjoin(PreservedRecord, PreservedRecord.id == Decision.preserved_record_id)
    .where(Decision.review_item_id == bindparam("item"))
    .order_by(Decision.id.desc())
    .limit(1)
)
# A reply after a hide is a follow-up: the hide stays the card's headline (and its Undo).
_LATEST_HEADLINE_DECISION = _LATEST_DECISION.where(Decision.action.not_in(REPLY_ACTIONS))


def _latest_decision(session: Session, review_item_id: int) -> DecisionView | None:
    ids = {"item": review_item_id}
    row = session.execute(_LATEST_HEADLINE_DECISION, ids).first()
    if row is None:
        row = session.execute(_LATEST_DECISION, ids).first()
    return DecisionView(**row._asdict()) if row is not None else None


_LATEST_REPLY = (
    select(
        Decision.id.label("decision_id"),
        Decision.action,
        Decision.actor_slack_id,
        Decision.actor_name,
        Decision.decided_at,
        Reply.text,
        Reply.canned_key,
        Reply.route,
        Reply.routed_to,
        Reply.route_status,
        Reply.route_detail,
        DecisionOutcome.status.label("outcome_status"),
        DecisionOutcome.detail.label("outcome_detail"),
    )
    .join(Reply, Reply.decision_id == Decision.id)
    .outerjoin(DecisionOutcome, DecisionOutcome.decision_id == Decision.id)
    .where(Decision.review_item_id == bindparam("item"))
    .order_by(Decision.id.desc())
    .limit(1)
)


def _latest_reply(session: Session, review_item_id: int) -> ReplyView | None:
    row = session.execute(_LATEST_REPLY, {"item": review_item_id}).first()
    return ReplyView(**row._asdict()) if row is not None else None


_PENDING_REQUEST = (
    select(
        RemovalRequest.id,
        RemovalRequest.action,
        RemovalRequest.reason_code,
        RemovalRequest.note,
        RemovalRequest.requested_by,
        RemovalRequest.requested_at,
        RemovalRequest.needs,
    )
    .where(RemovalRequest.review_item_id == bindparam("item"), RemovalRequest.status == "pending")
    .order_by(RemovalRequest.id.desc())
    .limit(1)
)


def _pending_request(session: Session, review_item_id: int) -> RequestView | None:
    row = session.execute(_PENDING_REQUEST, {"item": review_item_id}).first()
    return RequestView(**row._asdict()) if row is not None else None


_AUTHOR_ACTIONS = (
    select(Decision.action, func.count(Decision.id))
    .join(Comment, Comment.id == Decision.comment_id)
    .where(
        Comment.author_id == bindparam("author"),
        Comment.account_id == bindparam("account"),
        Decision.action.in_(("hide", "warn", "block", "unhide", "unblock")),
    )
    .group_by(Decision.action)
)


def _author_history(
    session: Session, author_id: int, account_id: int, earlier: int
) -> AuthorHistory:
    """Hides, warnings and blocks of this author's other comments on this account."""
    rows = session.execute(_AUTHOR_ACTIONS, {"author": author_id, "account": account_id})
    counts: dict[str, int] = {action: count for action, count in rows}
    return AuthorHistory(
        earlier_comments=earlier,
        hides=max(counts.get("hide", 0) - counts.get("unhide", 0), 0),
        warnings=counts.get("warn", 0),
        blocks=max(counts.get("block", 0) - counts.get("unblock", 0), 0),
    )


_LATEST_ESCALATION = (
    select(Escalation)
    .where(Escalation.review_item_id == bindparam("item"))
    .order_by(Escalation.id.desc())
    .limit(1)
)


def latest_escalation(session: Session, review_item_id: int) -> EscalationView | None:
    """The item's most recent escalation, with whether its comment is hidden now."""
    row = session.scalar(_LATEST_ESCALATION, {"item": review_item_id})
    if row is None:
        return None
    return escalation_view(session, row)


def escalation_view(session: Session, row: Escalation) -> EscalationView:
    """An escalation row as the cards show it."""
    decisions = session.execute(
        select(Decision.id, Decision.action, Decision.undoes_decision_id).where(
            Decision.review_item_id == row.review_item_id
        )
    ).all()
    undone = {undoes for _, _, undoes in decisions if undoes}
    hidden = any(action == "hide" and id_ not in undone for id_, action, _ in decisions)
    return EscalationView(
        id=row.id,
        review_item_id=row.review_item_id,
        reason=row.reason,
        offences=tuple(row.offences or ()),
        note=row.note,
        escalated_by=row.escalated_by,
        escalated_at=row.escalated_at,
        immediate=row.immediate,
        status=row.status,
        acknowledged_by=row.acknowledged_by,
        acknowledged_at=row.acknowledged_at,
        outcome=row.outcome,
        outcome_by=row.outcome_by,
        outcome_at=row.outcome_at,
        outcome_note=row.outcome_note,
        reminders_sent=row.reminders_sent,
        deputy_notified_at=row.deputy_notified_at,
        hide_stands=hidden,
    )

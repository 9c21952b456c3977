"""The triage card as data: everything a SMAT member sees about one comment, loaded in one place."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

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


def load_cards(session: Session, review_item_ids: list[int] | None = None) -> list[TriageCard]:
    """Load cards (all pending ones when no ids are given), most urgent and oldest first."""
    query = (
        select(ReviewItem, Comment, CommentVersion, Account, Author, Classification)
        .join(Comment, Comment.id == ReviewItem.comment_id)
        .join(CommentVersion, CommentVersion.id == ReviewItem.comment_version_id)
        .join(Account, Account.id == Comment.account_id)
        .join(Author, Author.id == Comment.author_id)
        .outerjoin(Classification, Classification.id == ReviewItem.classification_id)
    )
    if review_item_ids is None:
        query = query.where(ReviewItem.status == "pending")
    else:
        query = query.where(ReviewItem.id.in_(review_item_ids))
    query = query.order_by(ReviewItem.priority.desc(), Comment.created_at, ReviewItem.id)
    cards = []
    for item, comment, version, account, author, classification in session.execute(query):
        earlier = session.scalar(
            select(func.count(Comment.id)).where(
                Comment.author_id == author.id,
                Comment.account_id == account.id,
                Comment.created_at < comment.created_at,
            )
        )
        cards.append(
            TriageCard(
                review_item_id=item.id,
                review_version=item.version,
                status=item.status,
                platform=Platform(account.platform),
                account_name=account.display_name,
                post_title=comment.post_title,
                permalink=comment.permalink,
                author_name=author.display_name,
                author_earlier_comments=earlier or 0,
                created_at=comment.created_at,
                comment_version=version.version,
                text=version.text,
                deleted=comment.deleted_at is not None,
                model_name=classification.model_name if classification else None,
                scores=dict(classification.scores) if classification else {},
                thresholds=dict(classification.thresholds) if classification else {},
                detections=dict(classification.detections) if classification else {},
                suggested_action=classification.suggested_action if classification else "review",
                reason_code=classification.reason_code if classification else None,
                clause=classification.clause if classification else None,
                explanation=classification.explanation if classification else "Not classified yet.",
                decision=_latest_decision(session, item.id) if item.status != "pending" else None,
                slack_channel=item.slack_channel,
                slack_ts=item.slack_ts,
                history=_author_history(session, author.id, account.id, comment.id, earlier or 0),
                request=_pending_request(session, item.id)
                if item.status == "awaiting_approval"
                else None,
                escalation=latest_escalation(session, item.id),
                reply=_latest_reply(session, item.id) if item.status != "pending" else None,
                parent_id=comment.parent_external_id,
            )
        )
    return cards


REPLY_ACTIONS = ("reply", "route")
"""Decisions shown in the card's reply line rather than as its headline, after another one."""


def _latest_decision(session: Session, review_item_id: int) -> DecisionView | None:
    query = (
        select(Decision, CommentVersion.version, DecisionOutcome, PreservedRecord.content_sha256)
        .join(CommentVersion, CommentVersion.id == Decision.comment_version_id)
        .outerjoin(DecisionOutcome, DecisionOutcome.decision_id == Decision.id)
        .outerjoin(PreservedRecord, PreservedRecord.id == Decision.preserved_record_id)
        .where(Decision.review_item_id == review_item_id)
        .order_by(Decision.id.desc())
        .limit(1)
    )
    # A reply after a hide is a follow-up: the hide stays the card's headline (and its Undo).
    row = session.execute(query.where(Decision.action.not_in(REPLY_ACTIONS))).first()
    if row is None:
        row = session.execute(query).first()
    if row is None:
        return None
    decision, version, outcome, digest = row
    return DecisionView(
        id=decision.id,
        action=decision.action,
        actor_slack_id=decision.actor_slack_id,
        actor_name=decision.actor_name,
        decided_at=decision.decided_at,
        reason_code=decision.reason_code,
        comment_version=version,
        note=decision.note,
        approved_by=decision.approved_by,
        outcome_status=outcome.status if outcome else None,
        outcome_detail=outcome.detail if outcome else None,
        preserved_sha256=digest,
    )


def _latest_reply(session: Session, review_item_id: int) -> ReplyView | None:
    row = session.execute(
        select(Decision, Reply, DecisionOutcome)
        .join(Reply, Reply.decision_id == Decision.id)
        .outerjoin(DecisionOutcome, DecisionOutcome.decision_id == Decision.id)
        .where(Decision.review_item_id == review_item_id)
        .order_by(Decision.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    decision, reply, outcome = row
    return ReplyView(
        decision_id=decision.id,
        action=decision.action,
        actor_slack_id=decision.actor_slack_id,
        actor_name=decision.actor_name,
        decided_at=decision.decided_at,
        text=reply.text,
        canned_key=reply.canned_key,
        route=reply.route,
        routed_to=reply.routed_to,
        route_status=reply.route_status,
        route_detail=reply.route_detail,
        outcome_status=outcome.status if outcome else None,
        outcome_detail=outcome.detail if outcome else None,
    )


def _pending_request(session: Session, review_item_id: int) -> RequestView | None:
    removal = session.scalar(
        select(RemovalRequest)
        .where(RemovalRequest.review_item_id == review_item_id, RemovalRequest.status == "pending")
        .order_by(RemovalRequest.id.desc())
        .limit(1)
    )
    if removal is None:
        return None
    return RequestView(
        id=removal.id,
        action=removal.action,
        reason_code=removal.reason_code,
        note=removal.note,
        requested_by=removal.requested_by,
        requested_at=removal.requested_at,
        needs=removal.needs,
    )


def _author_history(
    session: Session, author_id: int, account_id: int, comment_id: int, earlier: int
) -> AuthorHistory:
    """Hides, warnings and blocks of this author's other comments on this account."""
    counts = dict(
        session.execute(
            select(Decision.action, func.count(Decision.id))
            .join(Comment, Comment.id == Decision.comment_id)
            .where(
                Comment.author_id == author_id,
                Comment.account_id == account_id,
                Decision.action.in_(("hide", "warn", "block", "unhide", "unblock")),
            )
            .group_by(Decision.action)
        ).all()
    )
    return AuthorHistory(
        earlier_comments=earlier,
        hides=max(counts.get("hide", 0) - counts.get("unhide", 0), 0),
        warnings=counts.get("warn", 0),
        blocks=max(counts.get("block", 0) - counts.get("unblock", 0), 0),
    )


def latest_escalation(session: Session, review_item_id: int) -> EscalationView | None:
    """The item's most recent escalation, with whether its comment is hidden now."""
    row = session.scalar(
        select(Escalation)
        .where(Escalation.review_item_id == review_item_id)
        .order_by(Escalation.id.desc())
        .limit(1)
    )
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

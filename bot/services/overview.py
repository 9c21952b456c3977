"""Read-only views of SMAT's work for the ``/smat`` command and the App Home tab.

Nothing here changes the database: every method opens a session, reads, and returns small
frozen dataclasses. Who may see them is the caller's business (SMAT members only); the text
residents wrote (author names, comments) is returned as it is, for the renderers to keep out
of ``mrkdwn``.

The age of a waiting comment is measured from when it was posted on the council's page: a
public comment there is notice served (Biggleswade Appendix A), whenever SMAT Bot saw it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.services.members import MemberDirectory, MemberInfo
from config.settings import Permission
from platforms.types import Platform
from storage.db import reading
from storage.models import (
    Account,
    Author,
    Classification,
    Comment,
    CommentVersion,
    Decision,
    DecisionOutcome,
    Escalation,
    RemovalRequest,
    ReviewItem,
)

PENDING, AWAITING = "pending", "awaiting_approval"
WAITING = (PENDING, AWAITING)
"""Review item statuses that still wait for a person."""
UNCLASSIFIED = "review"
"""What an item not classified yet counts as: flagged, for a person to look at."""
AUTHOR_LIMIT = 10
"""At most this many authors are shown for one search."""
_HISTORY_ACTIONS = ("hide", "unhide", "warn", "block", "unblock")


@dataclass(frozen=True)
class QueueSummary:
    """How much waits for SMAT, and for how long."""

    pending: int
    awaiting_approval: int
    """Removals waiting for a second SMAT member or the Clerk."""
    by_suggestion: dict[str, int]
    """Pending items by the policy's suggested action (``approve`` means clean)."""
    oldest_pending_posted_at: datetime | None
    """When the oldest pending comment was posted (notice served since then)."""
    open_requests: int
    oldest_request_at: datetime | None
    open_escalations: int = 0
    """Escalations still with the Town Clerk (open or acknowledged)."""
    unacknowledged_escalations: int = 0

    @property
    def flagged(self) -> int:
        """Pending items the policy suggested anything but approval for."""
        return sum(n for action, n in self.by_suggestion.items() if action != "approve")

    @property
    def clean(self) -> int:
        """Pending items the policy suggested approving."""
        return self.by_suggestion.get("approve", 0)

    @property
    def waiting(self) -> int:
        """Everything that waits for a person: pending and awaiting approval."""
        return self.pending + self.awaiting_approval


@dataclass(frozen=True)
class WaitingItem:
    """A comment still waiting for a decision."""

    review_item_id: int
    status: str
    platform: Platform
    account_name: str
    author_name: str
    text: str
    posted_at: datetime
    suggested_action: str
    reason_code: str | None
    permalink: str | None


@dataclass(frozen=True)
class OpenRequest:
    """A removal waiting for approval, and what it is about."""

    id: int
    review_item_id: int
    action: str
    reason_code: str
    requested_by: str
    requested_at: datetime
    needs: str
    """``second_member`` or ``clerk``."""
    platform: Platform
    account_name: str
    author_name: str


@dataclass(frozen=True)
class OpenEscalation:
    """An escalation still with the Town Clerk, and the comment it is about."""

    id: int
    review_item_id: int
    reason: str
    immediate: bool
    escalated_by: str
    escalated_at: datetime
    status: str
    """open (not acknowledged yet) or acknowledged."""
    acknowledged_by: str | None
    reminders_sent: int
    deputy_notified: bool
    platform: Platform
    account_name: str
    author_name: str
    text: str
    permalink: str | None


@dataclass(frozen=True)
class RecentDecision:
    """One decision a person took, with what it was about and what the platform did."""

    id: int
    action: str
    decided_at: datetime
    reason_code: str | None
    approved_by: str | None
    platform: Platform
    account_name: str
    author_name: str
    text: str
    outcome_status: str | None


@dataclass(frozen=True)
class LatestDecision:
    """The most recent decision on an author's comments on one account."""

    action: str
    actor_slack_id: str | None
    actor_name: str
    decided_at: datetime
    reason_code: str | None


@dataclass(frozen=True)
class AccountHistory:
    """What one author has done on one council account, and what SMAT did about it."""

    account_name: str
    comments: int
    last_comment_at: datetime
    hides: int
    """Hides still standing (a hide that was undone does not count)."""
    warnings: int
    """Strikes: warnings posted to the author."""
    blocks: int
    """Blocks (mutes on X) still standing."""
    latest_decision: LatestDecision | None


@dataclass(frozen=True)
class AuthorOverview:
    """A commenter on one platform and their history on each council account there."""

    author_id: int
    platform: Platform
    display_name: str
    first_seen_at: datetime
    accounts: tuple[AccountHistory, ...]


@dataclass(frozen=True)
class AuthorSearch:
    """Authors whose display name contains the search text."""

    text: str
    matched: int
    """How many authors matched in all; at most ``AUTHOR_LIMIT`` are in ``authors``."""
    authors: tuple[AuthorOverview, ...]


class Overview:
    """Read-only queries over the queue, removal requests, decisions and authors."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def queue(self) -> QueueSummary:
        """Counts of what waits, flagged versus clean, and the oldest ages."""
        with reading(self._sessions) as session:
            statuses = dict(
                session.execute(
                    select(ReviewItem.status, func.count(ReviewItem.id))
                    .where(ReviewItem.status.in_(WAITING))
                    .group_by(ReviewItem.status)
                ).all()
            )
            suggestion = func.coalesce(Classification.suggested_action, UNCLASSIFIED)
            by_suggestion = {
                str(action): int(count)
                for action, count in session.execute(
                    select(suggestion, func.count(ReviewItem.id))
                    .outerjoin(Classification, Classification.id == ReviewItem.classification_id)
                    .where(ReviewItem.status == PENDING)
                    .group_by(suggestion)
                ).all()
            }
            oldest_pending = session.scalar(
                select(Comment.created_at)
                .join(ReviewItem, ReviewItem.comment_id == Comment.id)
                .where(ReviewItem.status == PENDING)
                .order_by(Comment.created_at, ReviewItem.id)
                .limit(1)
            )
            open_requests = session.scalar(
                select(func.count(RemovalRequest.id)).where(RemovalRequest.status == PENDING)
            )
            oldest_request = session.scalar(
                select(RemovalRequest.requested_at)
                .where(RemovalRequest.status == PENDING)
                .order_by(RemovalRequest.requested_at, RemovalRequest.id)
                .limit(1)
            )
            escalations = dict(
                session.execute(
                    select(Escalation.status, func.count(Escalation.id))
                    .where(Escalation.status != "closed")
                    .group_by(Escalation.status)
                ).all()
            )
        return QueueSummary(
            open_escalations=int(sum(escalations.values())),
            unacknowledged_escalations=int(escalations.get("open", 0)),
            pending=int(statuses.get(PENDING, 0)),
            awaiting_approval=int(statuses.get(AWAITING, 0)),
            by_suggestion=by_suggestion,
            oldest_pending_posted_at=oldest_pending,
            open_requests=int(open_requests or 0),
            oldest_request_at=oldest_request,
        )

    def waiting_longest(self, limit: int = 5) -> list[WaitingItem]:
        """The comments waiting for a decision (pending or awaiting approval), oldest first."""
        with reading(self._sessions) as session:
            rows = session.execute(
                select(ReviewItem, Comment, CommentVersion, Account, Author, Classification)
                .join(Comment, Comment.id == ReviewItem.comment_id)
                .join(CommentVersion, CommentVersion.id == ReviewItem.comment_version_id)
                .join(Account, Account.id == Comment.account_id)
                .join(Author, Author.id == Comment.author_id)
                .outerjoin(Classification, Classification.id == ReviewItem.classification_id)
                .where(ReviewItem.status.in_(WAITING))
                .order_by(Comment.created_at, ReviewItem.id)
                .limit(limit)
            ).all()
            return [
                WaitingItem(
                    review_item_id=item.id,
                    status=item.status,
                    platform=Platform(account.platform),
                    account_name=account.display_name,
                    author_name=author.display_name,
                    text=version.text,
                    posted_at=comment.created_at,
                    suggested_action=(
                        classification.suggested_action if classification else UNCLASSIFIED
                    ),
                    reason_code=classification.reason_code if classification else None,
                    permalink=comment.permalink,
                )
                for item, comment, version, account, author, classification in rows
            ]

    def open_requests(self, limit: int = 10) -> list[OpenRequest]:
        """Removals waiting for approval, oldest first."""
        with reading(self._sessions) as session:
            rows = session.execute(
                select(RemovalRequest, Account, Author)
                .join(ReviewItem, ReviewItem.id == RemovalRequest.review_item_id)
                .join(Comment, Comment.id == ReviewItem.comment_id)
                .join(Account, Account.id == Comment.account_id)
                .join(Author, Author.id == Comment.author_id)
                .where(RemovalRequest.status == PENDING)
                .order_by(RemovalRequest.requested_at, RemovalRequest.id)
                .limit(limit)
            ).all()
            return [
                OpenRequest(
                    id=request.id,
                    review_item_id=request.review_item_id,
                    action=request.action,
                    reason_code=request.reason_code,
                    requested_by=request.requested_by,
                    requested_at=request.requested_at,
                    needs=request.needs,
                    platform=Platform(account.platform),
                    account_name=account.display_name,
                    author_name=author.display_name,
                )
                for request, account, author in rows
            ]

    def open_escalations(self, limit: int = 10) -> list[OpenEscalation]:
        """Escalations still with the Clerk: not acknowledged first, then oldest first."""
        with reading(self._sessions) as session:
            rows = session.execute(
                select(Escalation, Comment, CommentVersion.text, Account, Author)
                .join(ReviewItem, ReviewItem.id == Escalation.review_item_id)
                .join(Comment, Comment.id == Escalation.comment_id)
                .join(CommentVersion, CommentVersion.id == ReviewItem.comment_version_id)
                .join(Account, Account.id == Comment.account_id)
                .join(Author, Author.id == Comment.author_id)
                .where(Escalation.status != "closed")
                .order_by(
                    (Escalation.status == "acknowledged"),
                    Escalation.escalated_at,
                    Escalation.id,
                )
                .limit(limit)
            ).all()
            return [
                OpenEscalation(
                    id=escalation.id,
                    review_item_id=escalation.review_item_id,
                    reason=escalation.reason,
                    immediate=escalation.immediate,
                    escalated_by=escalation.escalated_by,
                    escalated_at=escalation.escalated_at,
                    status=escalation.status,
                    acknowledged_by=escalation.acknowledged_by,
                    reminders_sent=escalation.reminders_sent,
                    deputy_notified=escalation.deputy_notified_at is not None,
                    platform=Platform(account.platform),
                    account_name=account.display_name,
                    author_name=author.display_name,
                    text=text,
                    permalink=comment.permalink,
                )
                for escalation, comment, text, account, author in rows
            ]

    def decisions_by(self, slack_user_id: str, limit: int = 10) -> list[RecentDecision]:
        """The person's own most recent decisions, newest first."""
        with reading(self._sessions) as session:
            rows = session.execute(
                select(Decision, CommentVersion.text, Account, Author, DecisionOutcome.status)
                .join(Comment, Comment.id == Decision.comment_id)
                .join(CommentVersion, CommentVersion.id == Decision.comment_version_id)
                .join(Account, Account.id == Comment.account_id)
                .join(Author, Author.id == Comment.author_id)
                .outerjoin(DecisionOutcome, DecisionOutcome.decision_id == Decision.id)
                .where(Decision.actor_slack_id == slack_user_id)
                .order_by(Decision.decided_at.desc(), Decision.id.desc())
                .limit(limit)
            ).all()
            return [
                RecentDecision(
                    id=decision.id,
                    action=decision.action,
                    decided_at=decision.decided_at,
                    reason_code=decision.reason_code,
                    approved_by=decision.approved_by,
                    platform=Platform(account.platform),
                    account_name=account.display_name,
                    author_name=author.display_name,
                    text=text,
                    outcome_status=outcome,
                )
                for decision, text, account, author, outcome in rows
            ]

    def find_authors(self, text: str, limit: int = AUTHOR_LIMIT) -> AuthorSearch:
        """Authors whose display name contains ``text`` (any case), closest matches first.

        An exact name comes first, then names starting with the text, then the rest, each in
        name order. ASCII search text is narrowed down in SQL; other text is compared in Python
        on every author, because SQLite's ``lower()`` only folds ASCII (and PostgreSQL's
        depends on the database's locale), so both databases give the same answer.
        """
        needle = text.strip().lower()
        if not needle:
            return AuthorSearch(text=text, matched=0, authors=())
        with reading(self._sessions) as session:
            query = select(Author.id, Author.display_name)
            if needle.isascii():
                query = query.where(
                    func.lower(Author.display_name).contains(needle, autoescape=True)
                )
            matches = []
            for author_id, name in session.execute(query.execution_options(yield_per=1000)):
                lowered = name.lower()
                if needle in lowered:
                    rank = 0 if lowered == needle else 1 if lowered.startswith(needle) else 2
                    matches.append((rank, lowered, author_id))
            matches.sort()
            chosen = [author_id for _, _, author_id in matches[:limit]]
            authors = _author_overviews(session, chosen)
        return AuthorSearch(text=text, matched=len(matches), authors=tuple(authors))


def _author_overviews(session: Session, author_ids: list[int]) -> list[AuthorOverview]:
    """Each author's history on each account, in the order of ``author_ids``."""
    if not author_ids:
        return []
    authors = {a.id: a for a in session.scalars(select(Author).where(Author.id.in_(author_ids)))}
    comments = session.execute(
        select(
            Comment.author_id,
            Comment.account_id,
            func.count(Comment.id),
            func.max(Comment.created_at),
        )
        .where(Comment.author_id.in_(author_ids))
        .group_by(Comment.author_id, Comment.account_id)
    ).all()
    actions: dict[tuple[int, int], dict[str, int]] = {}
    for author_id, account_id, action, count in session.execute(
        select(Comment.author_id, Comment.account_id, Decision.action, func.count(Decision.id))
        .join(Comment, Comment.id == Decision.comment_id)
        .where(Comment.author_id.in_(author_ids), Decision.action.in_(_HISTORY_ACTIONS))
        .group_by(Comment.author_id, Comment.account_id, Decision.action)
    ):
        actions.setdefault((author_id, account_id), {})[action] = count
    latest_ids = session.scalars(
        select(func.max(Decision.id))
        .join(Comment, Comment.id == Decision.comment_id)
        .where(Comment.author_id.in_(author_ids))
        .group_by(Comment.author_id, Comment.account_id)
    ).all()
    latest = _decisions_by_key(session, latest_ids)
    account_ids = {account_id for _, account_id, _, _ in comments}
    account_names = dict(
        session.execute(
            select(Account.id, Account.display_name).where(Account.id.in_(account_ids))
        ).all()
    )
    histories: dict[int, list[AccountHistory]] = {}
    for author_id, account_id, count, last_at in comments:
        counts = actions.get((author_id, account_id), {})
        histories.setdefault(author_id, []).append(
            AccountHistory(
                account_name=account_names.get(account_id, "?"),
                comments=int(count),
                last_comment_at=last_at,
                hides=max(counts.get("hide", 0) - counts.get("unhide", 0), 0),
                warnings=counts.get("warn", 0),
                blocks=max(counts.get("block", 0) - counts.get("unblock", 0), 0),
                latest_decision=latest.get((author_id, account_id)),
            )
        )
    overviews = []
    for author_id in author_ids:
        author = authors[author_id]
        accounts = sorted(
            histories.get(author_id, []), key=lambda h: (-h.comments, h.account_name.lower())
        )
        overviews.append(
            AuthorOverview(
                author_id=author.id,
                platform=Platform(author.platform),
                display_name=author.display_name,
                first_seen_at=author.first_seen_at,
                accounts=tuple(accounts),
            )
        )
    return overviews


def _decisions_by_key(
    session: Session, decision_ids: Iterable[int | None]
) -> dict[tuple[int, int], LatestDecision]:
    """The given decisions, keyed by their comment's (author id, account id)."""
    ids = [i for i in decision_ids if i is not None]
    if not ids:
        return {}
    rows = session.execute(
        select(Decision, Comment.author_id, Comment.account_id)
        .join(Comment, Comment.id == Decision.comment_id)
        .where(Decision.id.in_(ids))
    ).all()
    return {
        (author_id, account_id): LatestDecision(
            action=decision.action,
            actor_slack_id=decision.actor_slack_id,
            actor_name=decision.actor_name,
            decided_at=decision.decided_at,
            reason_code=decision.reason_code,
        )
        for decision, author_id, account_id in rows
    }


def member_who_may_view(members: MemberDirectory, slack_user_id: str) -> MemberInfo | None:
    """The active SMAT member (any role with the ``view`` permission), or None for anyone else."""
    member = members.find(slack_user_id)
    if member is None or Permission.VIEW not in members.permissions(member.role):
        return None
    return member

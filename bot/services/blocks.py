"""The blocked-author register: who is blocked, on which account, why, since when, review date.

A row is written in the same transaction as each ``block`` decision (``ReviewService`` calls
:meth:`BlockRegister.record`), and closed by the ``unblock`` decision that undoes it: the
register is never edited by hand. Every block has a review date; a daily job queues a reminder
to the Clerk for each review that has fallen due (one per block per due date). The Clerk either
keeps the block — a logged review that sets the next date — or unblocks, which is an ordinary
``unblock`` decision, checked and recorded like any other.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock
from bot.rendering import escape_mrkdwn
from bot.services.members import MemberDirectory
from bot.services.outbox import enqueue
from config.settings import BlockRegisterSettings, Permission
from platforms.base import Action as PlatformAction
from platforms.capabilities import platform_action
from platforms.types import Platform
from storage.db import reading
from storage.models import (
    Account,
    Author,
    BlockedAuthor,
    BlockReview,
    Comment,
    Decision,
    DecisionOutcome,
    ReviewItem,
)

log = logging.getLogger(__name__)

REVIEW_ROLES = frozenset({"clerk", "deputy"})
REMINDER_KIND = "slack.block_review"
NOTE_MAX = 2000


class BlockRefused(Exception):
    """Nothing was changed; ``message`` is safe to show the person who asked."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True)
class BlockEntry:
    """One block in the register, with what people need to review it."""

    id: int
    author_id: int
    author_name: str
    platform: Platform
    account_name: str
    comment_id: int
    review_item_id: int
    reason_code: str | None
    blocked_by: str
    blocked_at: datetime
    review_due: datetime
    block_decision_id: int
    platform_outcome: str | None
    unblocked_at: datetime | None = None
    unblocked_by: str | None = None
    unblock_decision_id: int | None = None
    last_reviewed_by: str | None = None
    last_reviewed_at: datetime | None = None

    @property
    def in_force(self) -> bool:
        """Whether the block still stands."""
        return self.unblocked_at is None

    def due(self, now: datetime) -> bool:
        """Whether its review has fallen due."""
        return self.in_force and self.review_due <= now


@dataclass(frozen=True)
class UnblockTarget:
    """What an unblock decision from the register is taken against."""

    entry: BlockEntry
    review_item_id: int
    review_version: int
    platform_can_unblock: bool


class BlockRegister:
    """Keeps the register in step with block and unblock decisions, and runs its reviews."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        members: MemberDirectory,
        settings: BlockRegisterSettings,
        clock: Clock,
    ) -> None:
        self._sessions = sessions
        self._members = members
        self._settings = settings
        self._clock = clock

    # ------------------------------------------------------------------ kept by decisions

    def record(self, session: Session, decision: Decision, now: datetime) -> None:
        """Open or close a register row for a block or unblock decision (in its transaction)."""
        actor = decision.actor_slack_id or decision.actor_name
        if decision.action == "block":
            comment = session.get_one(Comment, decision.comment_id)
            session.add(
                BlockedAuthor(
                    author_id=comment.author_id,
                    account_id=comment.account_id,
                    comment_id=comment.id,
                    reason_code=decision.reason_code,
                    blocked_by=actor,
                    blocked_at=decision.decided_at,
                    block_decision_id=decision.id,
                    review_due=now + timedelta(days=self._settings.review_after_days),
                )
            )
        elif decision.action == "unblock" and decision.undoes_decision_id is not None:
            row = session.scalar(
                select(BlockedAuthor).where(
                    BlockedAuthor.block_decision_id == decision.undoes_decision_id
                )
            )
            if row is None:
                log.warning("unblock decision %d undoes no block in the register", decision.id)
                return
            row.unblocked_at = decision.decided_at
            row.unblocked_by = actor
            row.unblock_decision_id = decision.id
        session.flush()

    # ------------------------------------------------------------------ reading

    def entries(
        self, *, due_only: bool = False, include_unblocked: bool = False
    ) -> list[BlockEntry]:
        """The register: blocks in force (or all), soonest review first."""
        now = self._clock()
        with reading(self._sessions) as session:
            query = _entry_query()
            if not include_unblocked or due_only:
                query = query.where(BlockedAuthor.unblocked_at.is_(None))
            if due_only:
                query = query.where(BlockedAuthor.review_due <= now)
            query = query.order_by(BlockedAuthor.review_due, BlockedAuthor.id)
            return [
                _entry(session, blocked, author, account, item_id, outcome)
                for blocked, author, account, item_id, outcome in session.execute(query)
            ]

    def entry(self, block_id: int) -> BlockEntry | None:
        """One register row, if it exists."""
        with reading(self._sessions) as session:
            row = session.execute(_entry_query().where(BlockedAuthor.id == block_id)).first()
            if row is None:
                return None
            blocked, author, account, item_id, outcome = row
            return _entry(session, blocked, author, account, item_id, outcome)

    # ------------------------------------------------------------------ reviews

    def queue_due_reminders(self) -> int:
        """Queue a reminder to the Clerk for each block whose review is due; return how many."""
        now = self._clock()
        with self._sessions.begin() as session:
            due = session.scalars(
                select(BlockedAuthor)
                .where(BlockedAuthor.unblocked_at.is_(None), BlockedAuthor.review_due <= now)
                .order_by(BlockedAuthor.review_due, BlockedAuthor.id)
            ).all()
            for row in due:
                enqueue(
                    session,
                    kind=REMINDER_KIND,
                    key=reminder_key(row.id, row.review_due.date()),
                    payload={"blocked_author_id": row.id, "review_due": row.review_due.isoformat()},
                    priority=40,
                    now=now,
                )
        if due:
            log.info("block reviews due: %d", len(due))
        return len(due)

    def keep_blocked(
        self,
        block_id: int,
        actor_slack_id: str,
        *,
        expected_due: date | None = None,
        note: str | None = None,
    ) -> BlockEntry:
        """Keep a block after review: log the review and set the next review date."""
        member = self._members.find(actor_slack_id)
        if member is None or member.role not in REVIEW_ROLES:
            log.warning(
                "refused block review %d by %s: not the Clerk or Deputy", block_id, actor_slack_id
            )
            raise BlockRefused(
                "Sorry — only the Town Clerk and the Deputy Clerk review blocks. Nothing was "
                "changed.",
                code="not_allowed",
            )
        if note is not None and len(note) > NOTE_MAX:
            raise BlockRefused(f"Keep the note to {NOTE_MAX:,} characters.", code="note_long")
        now = self._clock()
        with self._sessions.begin() as session:
            row = session.get(BlockedAuthor, block_id, with_for_update=True)
            if row is None:
                raise BlockRefused("That block is not in the register.", code="unknown_block")
            if row.unblocked_at is not None:
                raise BlockRefused(
                    f"Already unblocked by {_who(row.unblocked_by)} on "
                    f"{row.unblocked_at:%-d %b %Y}.",
                    code="already_unblocked",
                )
            if expected_due is not None and row.review_due.date() != expected_due:
                last = _last_review(session, row.id)
                by = f" by {_who(last.reviewed_by)}" if last is not None else ""
                raise BlockRefused(
                    f"This review was already done{by}: the next review is due on "
                    f"{row.review_due:%-d %b %Y}.",
                    code="already_reviewed",
                )
            next_due = now + timedelta(days=self._settings.review_after_days)
            session.add(
                BlockReview(
                    blocked_author_id=row.id,
                    outcome="kept",
                    reviewed_by=actor_slack_id,
                    reviewed_at=now,
                    previous_due=row.review_due,
                    next_review_due=next_due,
                    note=(note or "").strip() or None,
                )
            )
            row.review_due = next_due
            session.flush()
            log.info(
                "block %d kept after review by %s; next review %s", row.id, actor_slack_id, next_due
            )
        entry = self.entry(block_id)
        assert entry is not None
        return entry

    def unblock_target(self, block_id: int, actor_slack_id: str) -> UnblockTarget:
        """The card an unblock from the register decides on; refuse if the person may not."""
        member = self._members.find(actor_slack_id)
        if member is None or Permission.DECIDE not in self._members.permissions(member.role):
            log.warning(
                "refused unblock of block %d by %s: may not decide", block_id, actor_slack_id
            )
            raise BlockRefused(
                "Only SMAT members can decide on comments. Ask the Town Clerk if you need access.",
                code="not_allowed",
            )
        entry = self.entry(block_id)
        if entry is None:
            raise BlockRefused("That block is not in the register.", code="unknown_block")
        if not entry.in_force:
            raise BlockRefused(
                f"Already unblocked by {_who(entry.unblocked_by)} on "
                f"{entry.unblocked_at:%-d %b %Y}.",
                code="already_unblocked",
            )
        with reading(self._sessions) as session:
            item = session.get_one(ReviewItem, entry.review_item_id)
            version = item.version
        return UnblockTarget(
            entry,
            entry.review_item_id,
            version,
            platform_action(entry.platform, PlatformAction.UNBLOCK) is not None,
        )


def reminder_key(block_id: int, due: date) -> str:
    """The outbox idempotency key of a block's review reminder for one due date."""
    return f"{REMINDER_KIND}:{block_id}:{due.isoformat()}"


def _entry_query() -> Select[BlockedAuthor, Author, Account, int, str]:
    return (
        select(BlockedAuthor, Author, Account, ReviewItem.id, DecisionOutcome.status)
        .join(Author, Author.id == BlockedAuthor.author_id)
        .join(Account, Account.id == BlockedAuthor.account_id)
        .join(ReviewItem, ReviewItem.comment_id == BlockedAuthor.comment_id)
        .outerjoin(DecisionOutcome, DecisionOutcome.decision_id == BlockedAuthor.block_decision_id)
    )


def _entry(
    session: Session,
    row: BlockedAuthor,
    author: Author,
    account: Account,
    review_item_id: int,
    outcome: str | None,
) -> BlockEntry:
    last = _last_review(session, row.id)
    return BlockEntry(
        id=row.id,
        author_id=author.id,
        author_name=author.display_name,
        platform=Platform(account.platform),
        account_name=account.display_name,
        comment_id=row.comment_id,
        review_item_id=review_item_id,
        reason_code=row.reason_code,
        blocked_by=row.blocked_by,
        blocked_at=row.blocked_at,
        review_due=row.review_due,
        block_decision_id=row.block_decision_id,
        platform_outcome=outcome,
        unblocked_at=row.unblocked_at,
        unblocked_by=row.unblocked_by,
        unblock_decision_id=row.unblock_decision_id,
        last_reviewed_by=last.reviewed_by if last else None,
        last_reviewed_at=last.reviewed_at if last else None,
    )


def _last_review(session: Session, block_id: int) -> BlockReview | None:
    return session.scalar(
        select(BlockReview)
        .where(BlockReview.blocked_author_id == block_id)
        .order_by(BlockReview.id.desc())
        .limit(1)
    )


def _who(actor: str | None) -> str:
    if actor and actor[:1] in ("U", "W") and actor.isalnum():
        return f"<@{actor}>"
    return escape_mrkdwn(actor) if actor else "someone"

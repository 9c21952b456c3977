"""Batch cards in a surge: when clean comments pile up faster than Slack can show them, group them.

Policy (pure): a clean comment (the classifier suggested approving it) normally gets its own
card. When more clean comments than ``batch_backlog`` are waiting for their own card in a
channel, the oldest are grouped ``batch_size`` to a batch card instead. Flagged comments are
never batched. A comment is in at most one batch, ever (a unique constraint): once moved out
to its own card it is never batched again, so every comment ends up exactly once either on its
own card or in one batch card.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    String,
    bindparam,
    cast,
    exists,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock
from bot.services.outbox import RetryLater
from config.settings import SurgeSettings
from storage.models import (
    Classification,
    OutboxMessage,
    ReviewItem,
    SlackBatch,
    SlackBatchItem,
)

log = logging.getLogger(__name__)

CLEAN = "approve"
"""The suggestion that makes a comment clean: only these are ever batched."""
SYSTEM = "system"
RETRY_SECONDS = 2.0
"""Who moved a comment out of its batch when an edit made the classifier flag it."""


def should_batch(waiting: int, settings: SurgeSettings) -> bool:
    """Whether clean comments waiting for their own card are too many to post one by one."""
    return waiting > settings.batch_backlog


def pick_batch(anchor: int, candidates: Sequence[int], size: int) -> list[int]:
    """The anchor (the comment being delivered) and the oldest other candidates, up to ``size``."""
    others = [item for item in sorted(set(candidates)) if item != anchor]
    return [anchor, *others[: size - 1]]


@dataclass(frozen=True)
class Membership:
    """Where a review item stands with batches."""

    batch_id: int
    pulled_out: bool


def _unbatched_clean_pending() -> list[ColumnElement[bool]]:
    """Conditions for a clean comment still waiting for its own card and in no batch."""
    return [
        ReviewItem.status == "pending",
        ReviewItem.slack_ts.is_(None),
        Classification.suggested_action == CLEAN,
        ~exists().where(SlackBatchItem.review_item_id == ReviewItem.id),
    ]


def _being_delivered() -> ColumnElement[bool]:
    """A worker is delivering the comment's card right now (it may be posting it on its own)."""
    key_prefix = literal("slack.sync_card:") + cast(ReviewItem.id, String) + literal(":")
    return exists().where(
        OutboxMessage.status == "in_progress",
        OutboxMessage.kind == "slack.sync_card",
        OutboxMessage.idempotency_key.startswith(key_prefix),
    )


_MEMBERSHIP = select(SlackBatchItem.batch_id, SlackBatchItem.pulled_out_at).where(
    SlackBatchItem.review_item_id == bindparam("item")
)
"""Built once: every card update asks whether its comment is in a batch."""


class Batcher:
    """Forms batches and answers which batch a comment is in (database side of the policy)."""

    def __init__(self, sessions: sessionmaker[Session], settings: SurgeSettings, clock: Clock):
        self._sessions = sessions
        self._settings = settings
        self._clock = clock

    @property
    def settings(self) -> SurgeSettings:
        """The surge settings in force."""
        return self._settings

    def membership(self, session: Session, review_item_id: int) -> Membership | None:
        """The item's batch, if it was ever put in one."""
        row = session.execute(_MEMBERSHIP, {"item": review_item_id}).first()
        if row is None:
            return None
        return Membership(batch_id=row[0], pulled_out=row[1] is not None)

    def waiting(self, session: Session) -> int:
        """How many clean comments are waiting for their own card and are in no batch."""
        return (
            session.scalar(
                select(func.count(ReviewItem.id))
                .join(Classification, Classification.id == ReviewItem.classification_id)
                .where(*_unbatched_clean_pending())
            )
            or 0
        )

    def batch_for(self, anchor: int, channel: str) -> int | None:
        """Batch the anchor with the oldest waiting clean comments if the backlog calls for it.

        Returns the batch id, or None when the anchor should be posted on its own card.
        """
        for _ in range(3):
            try:
                return self._try_batch(anchor, channel)
            except IntegrityError:
                # Another worker batched some of the same comments at the same moment; their
                # batch is committed now, so looking again settles it.
                log.info("concurrent batching around review item %d; looking again", anchor)
        # Never guess: posting it on its own now might show it twice. Look again shortly.
        raise RetryLater("batching is busy; trying again", RETRY_SECONDS)

    def _try_batch(self, anchor: int, channel: str) -> int | None:
        now = self._clock()
        with self._sessions.begin() as session:
            # Lock the anchor first, then look: a batch that took it while we waited for the
            # lock is committed by now, and a fresh statement sees it (READ COMMITTED).
            session.execute(select(ReviewItem.id).where(ReviewItem.id == anchor).with_for_update())
            existing = self.membership(session, anchor)
            if existing is not None:
                return None if existing.pulled_out else existing.batch_id
            if not self._eligible(session, anchor):
                return None
            if not should_batch(self.waiting(session), self._settings):
                return None
            # SKIP LOCKED (PostgreSQL): comments another worker is batching or deciding right
            # now are left to it. SQLite takes the whole database's write lock instead.
            candidates = session.scalars(
                select(ReviewItem.id)
                .join(Classification, Classification.id == ReviewItem.classification_id)
                .where(*_unbatched_clean_pending(), ReviewItem.id != anchor, ~_being_delivered())
                .order_by(ReviewItem.id)
                .limit(self._settings.batch_size - 1)
                .with_for_update(of=ReviewItem, skip_locked=True)
            ).all()
            chosen = pick_batch(anchor, candidates, self._settings.batch_size)
            return self._create(session, chosen, channel, now)

    def _eligible(self, session: Session, anchor: int) -> bool:
        """Whether the (locked) anchor is clean, pending, in no batch and has no card of its own."""
        found = session.scalar(
            select(ReviewItem.id)
            .join(Classification, Classification.id == ReviewItem.classification_id)
            .where(ReviewItem.id == anchor, *_unbatched_clean_pending())
        )
        return found is not None

    @staticmethod
    def _create(session: Session, items: list[int], channel: str, now: datetime) -> int:
        batch = SlackBatch(channel=channel, created_at=now)
        session.add(batch)
        session.flush()
        for position, item_id in enumerate(items):
            session.add(
                SlackBatchItem(batch_id=batch.id, review_item_id=item_id, position=position)
            )
        if len(items) > 1:
            Batcher._settle_queued(session, items[1:], batch.id, now)
        session.flush()
        log.info("batched %d clean comment(s) into batch card %d", len(items), batch.id)
        return batch.id

    @staticmethod
    def _settle_queued(session: Session, others: list[int], batch_id: int, now: datetime) -> None:
        # The others' queued card messages would only redraw this batch card, which the
        # anchor's delivery draws from the state committed here; later changes queue anew.
        session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.kind == "slack.sync_card",
                OutboxMessage.status == "pending",
                or_(
                    *(
                        OutboxMessage.idempotency_key.startswith(f"slack.sync_card:{i}:")
                        for i in others
                    )
                ),
            )
            .values(status="done", completed_at=now, last_error=f"shown on batch card {batch_id}")
            .execution_options(synchronize_session=False)
        )

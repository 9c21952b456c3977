"""Decisions from a batch card: Approve all (one decision per comment) and Review separately.

Approve all is not a decision of its own: each comment still waiting is approved through
:class:`ReviewService` with its own version check, exactly as its own card's Approve would be,
so a comment someone decided (or its author edited) since the card was drawn is skipped and
reported, never decided twice. Review separately moves one comment to its own card.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock
from bot.rendering import mention
from bot.services.batch_publisher import move_to_own_card
from bot.services.members import MemberDirectory
from bot.services.outbox import OutboxDispatcher
from bot.services.review import NOT_A_MEMBER, Action, DecisionRequest, Refused, ReviewService
from config.settings import Permission
from storage.db import reading
from storage.models import ReviewItem, SlackBatchItem

log = logging.getLogger(__name__)

DELIVERY_PASSES = 3


@dataclass
class ApproveAllOutcome:
    """What Approve all did: the comments approved, and those skipped with the reason."""

    approved: list[int] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)

    def summary(self) -> str | None:
        """A message for the person who clicked, when something was skipped (else None)."""
        if not self.skipped:
            return None
        approved = len(self.approved)
        lines = [
            f"Approved {approved} comment{'' if approved == 1 else 's'}; "
            f"skipped {len(self.skipped)}:"
        ]
        lines += [f"• comment {position}: {reason}" for position, reason in self.skipped]
        return "\n".join(lines)


class BatchReview:
    """What the batch card's listeners call."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        members: MemberDirectory,
        review: ReviewService,
        outbox: OutboxDispatcher,
        clock: Clock,
    ) -> None:
        self._sessions = sessions
        self._members = members
        self._review = review
        self._outbox = outbox
        self._clock = clock

    def approve_all(
        self, batch_id: int, shown: Sequence[tuple[int, int]], actor_slack_id: str
    ) -> ApproveAllOutcome:
        """Approve each comment the card showed as waiting, at the version it showed.

        ``shown`` is untrusted (it comes from the button): comments not in this batch are
        ignored. Raises Refused when the person may not decide or the batch does not exist.
        """
        self._require_decider(actor_slack_id, "approve all", batch_id)
        members = self._members_of(batch_id)
        versions = dict(shown)
        outcome = ApproveAllOutcome()
        try:
            for position, (item_id, pulled_out) in enumerate(members, start=1):
                if item_id not in versions:
                    continue  # not waiting when the card was drawn
                if pulled_out:
                    outcome.skipped.append((position, "moved to its own card"))
                    continue
                request = DecisionRequest(
                    review_item_id=item_id,
                    expected_version=versions[item_id],
                    action=Action.APPROVE,
                    actor_slack_id=actor_slack_id,
                )
                try:
                    self._review.decide(request)
                except Refused as refusal:
                    if refusal.code == "not_allowed":
                        raise  # removed from SMAT half-way: stop, say so
                    outcome.skipped.append((position, refusal.message))
                else:
                    outcome.approved.append(item_id)
        finally:
            self._deliver(batch_id, [item_id for item_id, _ in members])
        log.info(
            "approve all on batch %d by %s: %d approved, %d skipped",
            batch_id,
            actor_slack_id,
            len(outcome.approved),
            len(outcome.skipped),
        )
        return outcome

    def separate(self, batch_id: int, review_item_id: int, actor_slack_id: str) -> None:
        """Move one comment out of the batch card onto its own card."""
        self._require_decider(actor_slack_id, "review separately", batch_id)
        now = self._clock()
        try:
            with self._sessions.begin() as session:
                membership = session.scalar(
                    select(SlackBatchItem)
                    .where(
                        SlackBatchItem.batch_id == batch_id,
                        SlackBatchItem.review_item_id == review_item_id,
                    )
                    .with_for_update()
                )
                if membership is None:
                    raise Refused("That comment is not in this batch card.", code="unknown_item")
                if membership.pulled_out_at is not None:
                    who = mention(membership.pulled_out_by, membership.pulled_out_by or "someone")
                    raise Refused(
                        f"Already moved to its own card by {who}.", code="already_handled"
                    )
                status = session.scalar(
                    select(ReviewItem.status).where(ReviewItem.id == review_item_id)
                )
                if status != "pending":
                    raise Refused(
                        "That comment has already been decided; its line on the card says how.",
                        code="already_handled",
                    )
                move_to_own_card(session, membership, actor_slack_id, now, post_card=True)
        finally:
            self._deliver(batch_id, [review_item_id])

    def batch_of(self, review_item_id: int) -> int | None:
        """The batch a comment is in, if any (for tests and the queue views)."""
        with reading(self._sessions) as session:
            return session.scalar(
                select(SlackBatchItem.batch_id).where(
                    SlackBatchItem.review_item_id == review_item_id
                )
            )

    def _members_of(self, batch_id: int) -> list[tuple[int, bool]]:
        with reading(self._sessions) as session:
            rows = session.execute(
                select(SlackBatchItem.review_item_id, SlackBatchItem.pulled_out_at)
                .where(SlackBatchItem.batch_id == batch_id)
                .order_by(SlackBatchItem.position)
            ).all()
        if not rows:
            raise Refused("That batch card no longer exists.", code="unknown_batch")
        return [(item_id, pulled_at is not None) for item_id, pulled_at in rows]

    def _require_decider(self, actor_slack_id: str, what: str, batch_id: int) -> None:
        member = self._members.find(actor_slack_id)
        if member is None or Permission.DECIDE not in self._members.permissions(member.role):
            log.warning(
                "refused %s on batch %d by %s: not a deciding SMAT member",
                what,
                batch_id,
                actor_slack_id,
            )
            raise NOT_A_MEMBER

    def _deliver(self, batch_id: int, item_ids: Sequence[int]) -> None:
        """Bring this batch's cards up to date now (only theirs: not the whole backlog)."""
        prefixes = [f"slack.sync_card:{item_id}:" for item_id in item_ids]
        prefixes.append(f"slack.sync_batch:{batch_id}:")
        for _ in range(DELIVERY_PASSES):
            report = self._outbox.deliver_due(limit=50, key_prefixes=prefixes)
            if report.delivered == 0 and report.retrying == 0:
                return

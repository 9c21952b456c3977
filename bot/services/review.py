"""Decisions on review items: who may decide, and exactly one decision per card version.

A decision is data first: it is recorded together with the outbox message that will update the
Slack card, in one transaction. A second or stale click finds the item's version moved on and is
refused with who got there first.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock
from bot.services.members import MemberDirectory
from bot.services.outbox import enqueue
from config.settings import Permission
from storage.models import Decision, ReviewItem

log = logging.getLogger(__name__)


class Action(StrEnum):
    """What a SMAT member can decide about a comment."""

    APPROVE = "approve"


@dataclass(frozen=True)
class DecisionRequest:
    """A person's decision as parsed from a Slack click or form, before it is checked."""

    review_item_id: int
    expected_version: int
    action: Action
    actor_slack_id: str
    reason_code: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class Recorded:
    """The decision was recorded."""

    decision_id: int
    review_item_id: int


class Refused(Exception):
    """The decision was not recorded; ``message`` is safe to show the person who asked."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class ReviewService:
    """Checks the clicker's role and records one decision per review item version."""

    def __init__(
        self, sessions: sessionmaker[Session], members: MemberDirectory, clock: Clock
    ) -> None:
        self._sessions = sessions
        self._members = members
        self._clock = clock

    def decide(self, request: DecisionRequest) -> Recorded:
        """Record the decision or raise Refused (not allowed, already handled, out of date)."""
        member = self._members.find(request.actor_slack_id)
        if member is None or Permission.DECIDE not in self._members.permissions(member.role):
            log.warning(
                "refused %s on review item %d by %s: not a deciding SMAT member",
                request.action,
                request.review_item_id,
                request.actor_slack_id,
            )
            raise Refused(
                "Only SMAT members can decide on comments. Ask the Town Clerk if you need access.",
                code="not_allowed",
            )
        now = self._clock()
        with self._sessions.begin() as session:
            item = session.get(ReviewItem, request.review_item_id)
            if item is None:
                raise Refused("That comment is no longer in the queue.", code="unknown_item")
            claimed = session.execute(
                update(ReviewItem)
                .where(
                    ReviewItem.id == item.id,
                    ReviewItem.version == request.expected_version,
                    ReviewItem.status == "pending",
                )
                .values(status="decided", version=ReviewItem.version + 1, updated_at=now)
                .execution_options(synchronize_session=False)
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                raise self._why_not(session, item.id, request.expected_version)
            session.refresh(item)
            decision = Decision(
                review_item_id=item.id,
                comment_id=item.comment_id,
                comment_version_id=item.comment_version_id,
                review_version=request.expected_version,
                action=request.action.value,
                actor_kind="member",
                actor_slack_id=member.slack_user_id,
                actor_name=member.display_name or member.slack_user_id,
                reason_code=request.reason_code,
                note=request.note,
                classification_id=item.classification_id,
                decided_at=now,
            )
            session.add(decision)
            session.flush()
            enqueue(
                session,
                kind="slack.sync_card",
                key=f"slack.sync_card:{item.id}:{item.version}",
                payload={"review_item_id": item.id},
                priority=100,  # a person is looking at this card right now
                now=now,
            )
            return Recorded(decision.id, item.id)

    def _why_not(self, session: Session, item_id: int, expected_version: int) -> Refused:
        item = session.get_one(ReviewItem, item_id, populate_existing=True)
        if item.status != "pending":
            last = session.scalar(
                select(Decision)
                .where(Decision.review_item_id == item_id)
                .order_by(Decision.id.desc())
                .limit(1)
            )
            if last is not None:
                who = f"<@{last.actor_slack_id}>" if last.actor_slack_id else last.actor_name
                return Refused(f"Already handled by {who} ({last.action}).", code="already_handled")
        return Refused(
            "This card was out of date (the comment changed since it was posted); "
            "it has been refreshed — please look again.",
            code="stale",
        )

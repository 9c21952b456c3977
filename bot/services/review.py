"""Decisions on review items: who may decide what, and exactly one decision per card version.

A decision is data first. It is recorded in one transaction with everything that must follow
from it: the preserved original (before any removal), the outbox message that will carry it
out on the platform, and the one that will update the Slack card. A second or stale click finds
the item's version moved on and is refused with who got there first.

Two removals wait for a second person (a ``RemovalRequest``): hiding a comment the policy
suggested approving needs another SMAT member (criticism is not removed by one click), and
deleting needs the Clerk (hiding is preferred: it keeps the public record).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import bindparam, event, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot import metrics
from bot.clock import Clock
from bot.records.signing import SigningKey
from bot.services.blocks import BlockRegister
from bot.services.members import MemberDirectory, MemberInfo
from bot.services.outbox import enqueue
from bot.services.preservation import preserve
from config.settings import ConfigError, Permission, PolicySettings
from storage.db import reading
from storage.models import (
    Classification,
    Comment,
    CommentVersion,
    Decision,
    DecisionOutcome,
    Member,
    RemovalRequest,
    ReviewItem,
)

log = logging.getLogger(__name__)


class Action(StrEnum):
    """What a SMAT member can decide about a comment."""

    APPROVE = "approve"
    HIDE = "hide"
    DELETE = "delete"
    BLOCK = "block"
    WARN = "warn"
    UNHIDE = "unhide"
    UNBLOCK = "unblock"
    ESCALATE = "escalate"
    REPLY = "reply"
    ROUTE = "route"


REMOVALS = frozenset({Action.HIDE, Action.DELETE, Action.BLOCK})
"""Decisions that take something off the public page: the original is preserved first."""
NEEDS_REASON = REMOVALS | {Action.WARN}
UNDOES = {Action.UNHIDE: Action.HIDE, Action.UNBLOCK: Action.BLOCK}
ON_PLATFORM = frozenset(Action) - {Action.APPROVE, Action.ESCALATE, Action.ROUTE}
"""Decisions the executor carries out on the platform (a warning is a public reply)."""
REPLIES = frozenset({Action.WARN, Action.REPLY})
"""Decisions that post a public reply: never posted twice, so never retried blind."""

PENDING, AWAITING, DECIDED = "pending", "awaiting_approval", "decided"
ALLOWED_FROM = {
    Action.APPROVE: (PENDING,),
    Action.HIDE: (PENDING, DECIDED),  # e.g. after a warning or a block
    Action.DELETE: (PENDING, DECIDED),  # e.g. delete what is already hidden, if necessary
    Action.BLOCK: (PENDING, DECIDED),  # block the author of a comment already hidden
    Action.WARN: (PENDING, DECIDED),  # the warning usually follows a removal
    Action.UNHIDE: (DECIDED,),
    Action.UNBLOCK: (DECIDED,),
    Action.ESCALATE: (PENDING, DECIDED),  # e.g. hide first, then put it before the Clerk
    # Answering a pending enquiry settles the card; after a decision it is a follow-up.
    Action.REPLY: (PENDING, DECIDED),
    Action.ROUTE: (PENDING, DECIDED),  # passed on without a public reply
}


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
    """The decision was recorded (and, for platform actions, queued for the executor)."""

    decision_id: int
    review_item_id: int
    queued: tuple[str, ...] = ()
    """Outbox keys of what it queued: the card update, then the platform action if any."""


@dataclass(frozen=True)
class Requested:
    """The removal waits for approval: by a second SMAT member, or by the Clerk."""

    request_id: int
    review_item_id: int
    needs: str
    queued: tuple[str, ...] = ()
    """Outbox key of the card update it queued."""


def card_update_key(item: ReviewItem) -> str:
    """The outbox key of the card update for the item as it is now (one per version)."""
    return f"slack.sync_card:{item.id}:{item.version}"


def platform_action_key(decision_id: int) -> str:
    """The outbox key of carrying a decision out on the platform."""
    return f"platform.execute:{decision_id}"


class Refused(Exception):
    """The decision was not recorded; ``message`` is safe to show the person who asked."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


NOT_A_MEMBER = Refused(
    "Only SMAT members can decide on comments. Ask the Town Clerk if you need access.",
    code="not_allowed",
)


_CLAIM_ITEM = (
    update(ReviewItem)
    .where(
        ReviewItem.id == bindparam("item"),
        ReviewItem.version == bindparam("expected"),
        ReviewItem.status.in_(bindparam("statuses", expanding=True)),
    )
    .values(version=ReviewItem.version + 1, updated_at=bindparam("now"))
    .returning(ReviewItem)
)
"""Built once (every decision claims its item): the item, moved on a version, or no row."""


class ReviewService:
    """Checks roles and versions, and records decisions, removal requests and their outcomes."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        members: MemberDirectory,
        policy: PolicySettings,
        clock: Clock,
        blocks: BlockRegister | None = None,
        *,
        signing_key: Callable[[], SigningKey],
    ) -> None:
        self._sessions = sessions
        self._members = members
        self._policy = policy
        self._clock = clock
        self._signing_key = signing_key
        self._blocks = blocks

    def decide(
        self,
        request: DecisionRequest,
        *,
        attach: Callable[[Session, Decision], None] | None = None,
    ) -> Recorded | Requested:
        """Record the decision, or open a removal request; raise Refused when it may not happen.

        ``attach`` adds rows that belong to a recorded decision (a reply's words) in its
        transaction, before the executor can see it.
        """
        now = self._clock()
        with self._sessions.begin() as session:
            # Who it is, read in this transaction: one connection per decision, not two.
            member = self._member_with(session, request.actor_slack_id, Permission.DECIDE, request)
            if (
                request.action in NEEDS_REASON
                and request.reason_code not in self._policy.reason_codes
            ):
                raise Refused("Pick the policy reason for this decision.", code="reason_required")
            item = self._claim(
                session,
                request.review_item_id,
                request.expected_version,
                ALLOWED_FROM[request.action],
            )
            if request.action is Action.HIDE and self._removal_in_force(session, item):
                raise Refused("This comment is already hidden.", code="not_applicable")
            needs = self._approval_needed(session, item, request.action)
            if needs is not None:
                removal = RemovalRequest(
                    review_item_id=item.id,
                    review_version=item.version,
                    action=request.action.value,
                    reason_code=request.reason_code or "",
                    note=request.note,
                    requested_by=member.slack_user_id,
                    requested_at=now,
                    needs=needs,
                    status="pending",
                )
                session.add(removal)
                item.status = AWAITING
                session.flush()
                self._sync_card(session, item, now)
                return Requested(removal.id, item.id, needs, queued=(card_update_key(item),))
            undone = self._undone_decision(session, item, request.action)
            decision = self._record(
                session,
                item,
                request.action,
                member,
                request.reason_code,
                request.note,
                now,
                undoes=undone,
            )
            if attach is not None:
                attach(session, decision)
            return Recorded(decision.id, item.id, _queued_by(decision, item))

    def resolve(self, request_id: int, actor_slack_id: str, *, approve: bool) -> Recorded | None:
        """Approve (recording the removal) or decline a pending removal request."""
        member = self._members.find(actor_slack_id)
        if member is None or Permission.APPROVE_REMOVAL not in self._members.permissions(
            member.role
        ):
            log.warning(
                "refused removal approval %d by %s: not allowed", request_id, actor_slack_id
            )
            raise NOT_A_MEMBER
        now = self._clock()
        stale = False
        with self._sessions.begin() as session:
            removal = session.get(RemovalRequest, request_id, with_for_update=True)
            if removal is None:
                raise Refused("That removal request no longer exists.", code="unknown_request")
            self._check_resolver(removal, member, approve=approve)
            if removal.status == "superseded":
                raise Refused(
                    "This removal request is out of date (the comment changed since it was "
                    "asked for); please look at the card again.",
                    code="stale",
                )
            if removal.status != "pending":
                raise Refused(
                    f"Already {removal.status} by <@{removal.resolved_by}>.",
                    code="already_handled",
                )
            item = session.get_one(ReviewItem, removal.review_item_id, with_for_update=True)
            removal.resolved_by = member.slack_user_id
            removal.resolved_at = now
            if item.status != AWAITING or item.version != removal.review_version:
                # The comment was edited (or the item moved on) since the removal was asked
                # for: approving now would remove text nobody looked at.
                removal.status = "superseded"
                self._sync_card(session, item, now)
                stale = True
            elif not approve:
                removal.status = "declined"
                # Back to where it was: a Delete asked for after a Hide leaves it hidden.
                earlier = session.scalar(
                    select(Decision.id).where(Decision.review_item_id == item.id).limit(1)
                )
                item.status = DECIDED if earlier is not None else PENDING
                item.version += 1
                item.updated_at = now
                self._sync_card(session, item, now)
                return None
            else:
                removal.status = "approved"
                item.status = PENDING  # _record moves it on, as if decided directly
                item.version += 1  # the card update after approval is a new one, not a repeat
                decision = self._record(
                    session,
                    item,
                    Action(removal.action),
                    self._requester(session, removal.requested_by),
                    removal.reason_code,
                    removal.note,
                    now,
                    approved_by=member.slack_user_id,
                )
                return Recorded(decision.id, item.id, _queued_by(decision, item))
        assert stale
        raise Refused(
            "This removal request is out of date (the comment changed since it was asked "
            "for); please look at the card again.",
            code="stale",
        )

    def request_item(self, request_id: int) -> int | None:
        """The review item a removal request is about, if the request exists."""
        with reading(self._sessions) as session:
            return session.scalar(
                select(RemovalRequest.review_item_id).where(RemovalRequest.id == request_id)
            )

    def record_within(
        self,
        session: Session,
        member: MemberInfo,
        review_item_id: int,
        expected_version: int,
        action: Action,
        *,
        reason_code: str | None = None,
        note: str | None = None,
        statuses: tuple[str, ...] | None = None,
    ) -> Decision:
        """Record a decision inside the caller's transaction, with no second approval.

        For decisions another service takes as part of its own work (an escalation, the Town
        Clerk's answer to one): the caller has checked who may take them. The item's version
        is claimed as for any decision, so a stale or second click is refused the same way.
        """
        if action in NEEDS_REASON and reason_code not in self._policy.reason_codes:
            raise Refused("Pick the policy reason for this decision.", code="reason_required")
        item = self._claim(
            session, review_item_id, expected_version, statuses or ALLOWED_FROM[action]
        )
        undone = self._undone_decision(session, item, action)
        return self._record(
            session, item, action, member, reason_code, note, self._clock(), undoes=undone
        )

    def hide_stands(self, session: Session, review_item_id: int) -> bool:
        """Whether a hide of this item's comment stands (not undone), read in ``session``."""
        return self._removal_in_force(session, session.get_one(ReviewItem, review_item_id))

    @staticmethod
    def _check_resolver(removal: RemovalRequest, member: MemberInfo, *, approve: bool) -> None:
        withdrawing = not approve and removal.requested_by == member.slack_user_id
        if removal.needs == "clerk" and member.role not in ("clerk", "deputy") and not withdrawing:
            raise Refused("Deleting a comment needs the Town Clerk's approval.", code="clerk_only")
        if approve and removal.requested_by == member.slack_user_id:
            raise Refused(
                "A second SMAT member must approve this removal, not the person who asked for it.",
                code="same_person",
            )

    @staticmethod
    def _requester(session: Session, slack_user_id: str) -> MemberInfo:
        # Read in this transaction: a second connection would wait on the write lock this
        # one holds (SQLite).
        row = session.scalar(select(Member).where(Member.slack_user_id == slack_user_id))
        if row is None:
            return MemberInfo(slack_user_id, "smat", slack_user_id)
        return MemberInfo(slack_user_id, row.role, row.display_name or slack_user_id)

    def _member_with(
        self,
        session: Session,
        slack_user_id: str,
        permission: Permission,
        request: DecisionRequest,
    ) -> MemberInfo:
        member = self._members.find_in(session, slack_user_id)
        if member is None or permission not in self._members.permissions(member.role):
            log.warning(
                "refused %s on review item %d by %s: not a deciding SMAT member",
                request.action,
                request.review_item_id,
                slack_user_id,
            )
            raise NOT_A_MEMBER
        return member

    def _claim(
        self, session: Session, item_id: int, expected_version: int, statuses: tuple[str, ...]
    ) -> ReviewItem:
        """Move the item's version on, or raise Refused saying who got there first."""
        item = session.scalar(
            _CLAIM_ITEM,
            {
                "item": item_id,
                "expected": expected_version,
                "statuses": list(statuses),
                "now": self._clock(),
            },
        )
        if item is None:
            raise self._why_not(session, item_id, expected_version, statuses)
        return item

    def _approval_needed(self, session: Session, item: ReviewItem, action: Action) -> str | None:
        if action is Action.DELETE:
            return "clerk"
        if action in (Action.HIDE, Action.BLOCK):
            # Removing a comment (or its author) the policy did not suggest removing needs a
            # second SMAT member: criticism is never removed by one click.
            suggested = session.scalar(
                select(Classification.suggested_action).where(
                    Classification.id == item.classification_id
                )
            )
            if suggested not in ("hide", "escalate") and not self._removal_in_force(session, item):
                return "second_member"
        return None

    @staticmethod
    def _removal_in_force(session: Session, item: ReviewItem) -> bool:
        """Whether a hide of this comment stands (a block after a hide is a follow-up)."""
        decisions = session.scalars(
            select(Decision).where(Decision.review_item_id == item.id)
        ).all()
        undone = {d.undoes_decision_id for d in decisions}
        return any(d.action == "hide" and d.id not in undone for d in decisions)

    def _undone_decision(self, session: Session, item: ReviewItem, action: Action) -> int | None:
        if action not in UNDOES:
            return None
        target = UNDOES[action]
        decisions = session.scalars(
            select(Decision).where(Decision.review_item_id == item.id).order_by(Decision.id.desc())
        ).all()
        undone = {d.undoes_decision_id for d in decisions if d.undoes_decision_id}
        for decision in decisions:
            if decision.action == target.value and decision.id not in undone:
                return decision.id
        raise Refused(
            f"There is no {target.value} to undo on this comment.", code="nothing_to_undo"
        )

    def _record(
        self,
        session: Session,
        item: ReviewItem,
        action: Action,
        member: MemberInfo,
        reason_code: str | None,
        note: str | None,
        now: datetime,
        *,
        approved_by: str | None = None,
        undoes: int | None = None,
    ) -> Decision:
        preserved_id = None
        if action in REMOVALS:
            comment = session.get_one(Comment, item.comment_id)
            version = session.get_one(CommentVersion, item.comment_version_id)
            preserved_id = preserve(session, comment, version, now, self._records_key()).id
        decision = Decision(
            review_item_id=item.id,
            comment_id=item.comment_id,
            comment_version_id=item.comment_version_id,
            review_version=item.version - 1,
            action=action.value,
            actor_kind="member",
            actor_slack_id=member.slack_user_id,
            actor_name=member.display_name or member.slack_user_id,
            reason_code=reason_code,
            note=note,
            classification_id=item.classification_id,
            preserved_record_id=preserved_id,
            approved_by=approved_by,
            undoes_decision_id=undoes,
            decided_at=now,
        )
        session.add(decision)
        # Counted once it is committed: a decision rolled back was never taken.
        counter = metrics.DECISIONS.labels(action.value)
        event.listen(session, "after_commit", lambda _session: counter.inc(), once=True)
        item.status = DECIDED
        item.updated_at = now
        session.flush()
        if self._blocks is not None and action in (Action.BLOCK, Action.UNBLOCK):
            self._blocks.record(session, decision, now)  # the blocked-author register
        if action in ON_PLATFORM:
            session.add(
                DecisionOutcome(
                    decision_id=decision.id, status="pending", attempts=0, updated_at=now
                )
            )
            enqueue(
                session,
                kind="platform.execute",
                key=platform_action_key(decision.id),
                payload={"decision_id": decision.id},
                priority=95,
                now=now,
            )
        self._sync_card(session, item, now)
        return decision

    def _records_key(self) -> SigningKey:
        """The key preserved records are signed with; no removal without a signed original."""
        try:
            return self._signing_key()
        except ConfigError as exc:
            log.error("cannot sign preserved records, so removals are refused: %s", exc)
            raise Refused(
                "Removals are paused: the original cannot be preserved and signed because "
                "the records signing key is not set up (records.signing_key). Please tell "
                "whoever runs SMAT Bot.",
                code="records_key",
            ) from None

    def _sync_card(self, session: Session, item: ReviewItem, now: datetime) -> None:
        enqueue(
            session,
            kind="slack.sync_card",
            key=card_update_key(item),
            payload={"review_item_id": item.id},
            priority=100,  # a person is looking at this card right now
            now=now,
        )

    def _why_not(
        self, session: Session, item_id: int, expected_version: int, statuses: tuple[str, ...]
    ) -> Refused:
        item = session.get(ReviewItem, item_id, populate_existing=True)
        if item is None:
            return Refused("That comment is no longer in the queue.", code="unknown_item")
        if item.version == expected_version and item.status not in statuses:
            if item.status == AWAITING:
                return Refused(
                    "A removal of this comment is waiting for approval.", code="awaiting_approval"
                )
            return Refused("That cannot be done to this comment now.", code="not_applicable")
        if item.status != PENDING:
            last = session.scalar(
                select(Decision)
                .where(Decision.review_item_id == item_id)
                .order_by(Decision.id.desc())
                .limit(1)
            )
            if last is not None and last.review_version >= expected_version:
                who = f"<@{last.actor_slack_id}>" if last.actor_slack_id else last.actor_name
                return Refused(f"Already handled by {who} ({last.action}).", code="already_handled")
        return Refused(
            "This card was out of date (the comment or its status changed since it was "
            "posted); please look at the card again.",
            code="stale",
        )


def _queued_by(decision: Decision, item: ReviewItem) -> tuple[str, ...]:
    """The outbox keys ``_record`` queued for this decision, most urgent first."""
    card = card_update_key(item)
    if Action(decision.action) in ON_PLATFORM:
        return (card, platform_action_key(decision.id))
    return (card,)

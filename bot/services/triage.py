"""The triage desk: records a decision and brings the Slack card up to date straight away.

``TriageDesk`` is what the Slack listeners call to decide; ``DecisionForms`` is what they call
before that, to open a decision modal: who may open one, the card it is about (at the version
the person clicked) and the warning a Warn would post.
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot import metrics
from bot.cards import TriageCard, load_card
from bot.logs import log_context
from bot.rendering import escape_mrkdwn
from bot.services.executor import WARNING_RESPONSE, UnfilledPlaceholder, fill_template
from bot.services.members import MemberDirectory
from bot.services.outbox import OutboxDispatcher
from bot.services.review import (
    ALLOWED_FROM,
    AWAITING,
    NOT_A_MEMBER,
    UNDOES,
    Action,
    DecisionRequest,
    Recorded,
    Refused,
    Requested,
    ReviewService,
    platform_action_key,
)
from config.settings import Permission, Settings
from storage.db import reading
from storage.models import CannedResponseVersion, Decision

log = logging.getLogger(__name__)

MAX_DELIVERY_PASSES = 5
"""A decision's delivery pass queues the outcome's card update; a few passes deliver it too."""


class TriageDesk:
    """What Slack listeners call: decide, then deliver the resulting card update."""

    def __init__(self, review: ReviewService, outbox: OutboxDispatcher) -> None:
        self._review = review
        self._outbox = outbox

    def decide(self, request: DecisionRequest) -> Recorded | Requested:
        """Record a decision and update its card; raise Refused (after refreshing a stale card)."""
        outcome: Recorded | Requested | None = None
        try:
            with log_context(review_item_id=request.review_item_id):
                outcome = self._review.decide(request)
            return outcome
        except Refused as refusal:
            metrics.DECISIONS_REFUSED.labels(refusal.code).inc()
            raise
        finally:
            # Whether or not it was recorded, the card should show the truth now: the update a
            # decision queued, the platform action, or the refresh an out-of-date card needs.
            self._deliver(request.review_item_id, outcome)

    def resolve(self, request_id: int, actor_slack_id: str, *, approve: bool) -> Recorded | None:
        """Approve or decline a removal request, then deliver what follows."""
        outcome = None
        try:
            outcome = self._review.resolve(request_id, actor_slack_id, approve=approve)
            return outcome
        finally:
            item_id = outcome.review_item_id if outcome else self._review.request_item(request_id)
            if item_id is not None:
                self._deliver(item_id, outcome)

    def _deliver(self, item_id: int, outcome: Recorded | Requested | None) -> None:
        # Only this card's messages, not the whole outbox: a listener thread must not be
        # tied up by a backlog (the background dispatcher delivers the rest).
        prefixes = [f"slack.sync_card:{item_id}:"]
        if outcome is not None:
            # What the decision queued is known by key: claimed at once, no queue look-up.
            self._outbox.deliver_now(outcome.queued)
            if not isinstance(outcome, Recorded):
                return
            action_key = platform_action_key(outcome.decision_id)
            if action_key not in outcome.queued:
                return  # nothing was carried out, so nothing else was queued
            prefixes.append(action_key)
        # Carrying a decision out queues the card update that shows its result, and a refused
        # click may have queued a refresh of a stale card; a few passes deliver those too.
        # Failures are rescheduled into the future, so this stops.
        for _ in range(MAX_DELIVERY_PASSES):
            report = self._outbox.deliver_due(limit=10, key_prefixes=prefixes)
            if report.delivered == 0 and report.retrying == 0:
                return


class DecisionForms:
    """What a listener needs before a decision: the role check, the card, the warning text."""

    def __init__(
        self, sessions: sessionmaker[Session], members: MemberDirectory, settings: Settings
    ) -> None:
        self._sessions = sessions
        self._members = members
        self._settings = settings

    def require_decider(self, actor_slack_id: str, what: str, review_item_id: int) -> None:
        """Raise Refused (and log it) unless the person is a SMAT member who may decide."""
        member = self._members.find(actor_slack_id)
        if member is None or Permission.DECIDE not in self._members.permissions(member.role):
            log.warning(
                "refused %s on review item %d by %s: not a deciding SMAT member",
                what,
                review_item_id,
                actor_slack_id,
            )
            raise NOT_A_MEMBER

    def card_for(
        self, review_item_id: int, expected_version: int, action: Action, actor_slack_id: str
    ) -> TriageCard:
        """The card to open a modal for, if the person may decide and it is still as they saw it.

        The decision itself is checked again when the modal is submitted (a submission can be
        forged, and the card can move on while the modal is open).
        """
        self.require_decider(actor_slack_id, f"opening {action}", review_item_id)
        with reading(self._sessions) as session:
            try:
                card = load_card(session, review_item_id)
            except LookupError:
                raise Refused(
                    "That comment is no longer in the queue.", code="unknown_item"
                ) from None
            allowed = ALLOWED_FROM[action]
            if card.review_version == expected_version and card.status in allowed:
                return card
            raise _why_not(session, card, expected_version)

    def undo_action(self, review_item_id: int) -> Action:
        """Unhide or unblock: whichever reverses the item's latest hide or block not yet undone."""
        with reading(self._sessions) as session:
            decisions = session.scalars(
                select(Decision)
                .where(Decision.review_item_id == review_item_id)
                .order_by(Decision.id.desc())
            ).all()
        undone = {d.undoes_decision_id for d in decisions if d.undoes_decision_id}
        reverse = {target.value: undo for undo, target in UNDOES.items()}
        for decision in decisions:
            if decision.action in reverse and decision.id not in undone:
                return reverse[decision.action]
        raise Refused("There is no hide or block to undo on this comment.", code="nothing_to_undo")

    def warning_preview(self, card: TriageCard) -> str:
        """The public reply a Warn would post, filled in as the executor will fill it."""
        with reading(self._sessions) as session:
            body = session.scalar(
                select(CannedResponseVersion.body)
                .where(CannedResponseVersion.key == WARNING_RESPONSE)
                .order_by(CannedResponseVersion.version.desc())
                .limit(1)
            )
        if body is None:
            return (
                f"No warning can be posted: there is no canned response {WARNING_RESPONSE!r}. "
                "Ask whoever configures SMAT Bot to add one."
            )
        council = self._settings.council
        try:
            return fill_template(
                body,
                {
                    "council_name": council.name,
                    "council_email": council.email,
                    "council_phone": council.phone,
                    "council_website": council.website,
                    "author_name": card.author_name,
                },
            )
        except UnfilledPlaceholder as exc:
            return (
                f"No warning can be posted until the configuration is completed ({exc}). "
                "Ask whoever configures SMAT Bot to fill it in."
            )

    @property
    def settings(self) -> Settings:
        """The settings the modals are built from (reason codes)."""
        return self._settings


def _why_not(session: Session, card: TriageCard, expected_version: int) -> Refused:
    """Why a card can no longer be acted on as the person saw it (as ReviewService says it)."""
    if card.review_version == expected_version:
        if card.status == AWAITING:
            return Refused(
                "A removal of this comment is waiting for approval.", code="awaiting_approval"
            )
        return Refused("That cannot be done to this comment now.", code="not_applicable")
    last = session.scalar(
        select(Decision)
        .where(Decision.review_item_id == card.review_item_id)
        .order_by(Decision.id.desc())
        .limit(1)
    )
    if card.status != "pending" and last is not None and last.review_version >= expected_version:
        who = f"<@{last.actor_slack_id}>" if last.actor_slack_id else escape_mrkdwn(last.actor_name)
        return Refused(f"Already handled by {who} ({last.action}).", code="already_handled")
    return Refused(
        "This card was out of date (the comment or its status changed since it was posted); "
        "please look at the card again.",
        code="stale",
    )


__all__ = ["DecisionForms", "Refused", "Requested", "TriageDesk"]

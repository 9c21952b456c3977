"""Escalations to the Town Clerk: raising one, the Clerk's answer, and the reminders.

An escalation is recorded in one transaction with everything that follows from it: the
``escalate`` decision (when a SMAT member raised it), the ``Escalation`` row with its reminder
schedule, and the outbox messages that post the Clerk's card (a DM and the escalation channel)
and refresh the triage card. Threats and safeguarding are *immediate*: the Clerk is pinged at
once, day or night. Anything else reaches the Clerk's DM in working hours.

Only the Clerk and the Deputy Clerk act on an escalation. Every outcome closes it and is
recorded; upholding or referring to the police hides the comment through the normal decision
path (the original preserved first), with no second approval, and overruling unhides or
approves it. The Clerk's click is checked against the card's version, and a second click on a
closed escalation is refused with who handled it.

``send_reminders`` is the scheduler's job: it sends the Clerk's DM when it becomes due, reminds
the Clerk every so often until someone acknowledges, and pings the Deputy Clerk once when the
Clerk has not acknowledged in time.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.cards import EscalationView, TriageCard, escalation_view, load_card
from bot.clock import Clock
from bot.escalation_timing import EscalationTiming
from bot.escalation_words import OUTCOMES, REASONS, SYSTEM
from bot.services.members import MemberDirectory, MemberInfo
from bot.services.outbox import enqueue
from bot.services.review import (
    DECIDED,
    NOT_A_MEMBER,
    PENDING,
    Action,
    Refused,
    ReviewService,
)
from config.settings import Permission, Settings
from storage.db import reading
from storage.models import Classification, Escalation, Member, PreservedRecord, ReviewItem

log = logging.getLogger(__name__)

CLERK_ROLES = frozenset({"clerk", "deputy"})
OPEN, ACKNOWLEDGED, CLOSED = "open", "acknowledged", "closed"
HIDING_OUTCOMES = frozenset({"upheld", "hidden_referred_police"})
CLERK_OUTCOMES = frozenset(
    {"upheld", "overruled", "hidden_referred_police", "reported_to_platform"}
)
"""What the Clerk's buttons record (``replied`` is recorded by the reply itself)."""
MAX_NOTE = 2000
CARD_KIND = "slack.escalation_card"
REMINDER_KIND = "slack.escalation_reminder"
DEPUTY_KIND = "slack.escalation_deputy"

NOT_THE_CLERK = (
    "Only the Town Clerk and the Deputy Clerk can act on escalations. Nothing was changed."
)
STALE = (
    "This card was out of date (the comment or its triage changed since it was drawn); it has "
    "been refreshed — please look again."
)


@dataclass(frozen=True)
class EscalationRequest:
    """A SMAT member's escalation as parsed from the Escalate… form, before it is checked."""

    review_item_id: int
    expected_version: int
    actor_slack_id: str
    reason: str
    offences: tuple[str, ...] = ()
    """Keys of ``escalation.offences``."""
    note: str | None = None


@dataclass(frozen=True)
class Escalated:
    """The escalation was recorded; the Clerk is pinged at ``clerk_due``."""

    escalation_id: int
    review_item_id: int
    decision_id: int | None
    immediate: bool
    clerk_due: datetime


@dataclass(frozen=True)
class OutcomeRequest:
    """The Clerk's answer to an escalation, as parsed from the outcome form."""

    escalation_id: int
    expected_version: int
    outcome: str
    actor_slack_id: str
    reason_code: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class Handled:
    """An escalation was acknowledged or closed; ``decision_id`` if a decision followed."""

    escalation_id: int
    review_item_id: int
    decision_id: int | None = None


@dataclass
class ReminderReport:
    """What one run of the reminder job queued."""

    clerk_cards: int = 0
    reminders: int = 0
    deputies: int = 0


class EscalationService:
    """Raises escalations, records the Clerk's answers, and keeps the reminders going."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        members: MemberDirectory,
        review: ReviewService,
        settings: Settings,
        clock: Clock,
    ) -> None:
        self._sessions = sessions
        self._members = members
        self._review = review
        self._settings = settings
        self._clock = clock
        self.timing = self.timing_for(settings)

    @staticmethod
    def timing_for(settings: Settings) -> EscalationTiming:
        """The reminder schedule for these settings (working hours in the council's zone)."""
        return EscalationTiming.from_settings(settings.escalation, settings.council.tz)

    # ------------------------------------------------------------------ raising

    def escalate(self, request: EscalationRequest) -> Escalated:
        """Record a SMAT member's escalation; raise Refused when it may not happen."""
        member = self._members.find(request.actor_slack_id)
        if member is None or Permission.DECIDE not in self._members.permissions(member.role):
            log.warning(
                "refused escalation of review item %d by %s: not a deciding SMAT member",
                request.review_item_id,
                request.actor_slack_id,
            )
            raise NOT_A_MEMBER
        if request.reason not in REASONS:
            raise Refused("Pick why this goes to the Clerk.", code="reason_required")
        offences = self._settings.escalation.offences
        if any(key not in offences for key in request.offences):
            raise Refused("Pick offences from the list.", code="unknown_offence")
        if request.note is not None and len(request.note) > MAX_NOTE:
            raise Refused(f"Keep the note to {MAX_NOTE:,} characters.", code="note_too_long")
        with self._sessions.begin() as session:
            already = self._open_escalation(session, request.review_item_id)
            if already is not None:
                raise _already_escalated(already)
            decision = self._review.record_within(
                session,
                member,
                request.review_item_id,
                request.expected_version,
                Action.ESCALATE,
                note=request.note,
            )
            row = self._open(
                session,
                review_item_id=decision.review_item_id,
                comment_id=decision.comment_id,
                decision_id=decision.id,
                reason=request.reason,
                offences=[offences[key].name for key in dict.fromkeys(request.offences)],
                note=request.note,
                escalated_by=member.slack_user_id,
                now=decision.decided_at,
            )
            log.info(
                "review item %d escalated to the Clerk by %s (%s%s)",
                row.review_item_id,
                member.slack_user_id,
                row.reason,
                ", immediate" if row.immediate else "",
            )
            return Escalated(
                row.id,
                row.review_item_id,
                decision.id,
                row.immediate,
                self.timing.clerk_due(row.escalated_at, immediate=row.immediate),
            )

    def open_automatic(
        self, session: Session, item: ReviewItem, classification: Classification, now: datetime
    ) -> int | None:
        """Escalate by itself when the policy suggests it (inside ingest's transaction).

        Only a suggestion to escalate for a reason code listed in
        ``escalation.reason_for_code`` does; an escalation already open is left as it is.
        """
        if classification.suggested_action != Action.ESCALATE.value:
            return None
        code = classification.reason_code or ""
        reason = self._settings.escalation.reason_for_code.get(code)
        if reason is None or self._open_escalation(session, item.id) is not None:
            return None
        legislation = self._settings.policy.reason_codes[code].legislation
        row = self._open(
            session,
            review_item_id=item.id,
            comment_id=item.comment_id,
            decision_id=None,
            reason=reason,
            offences=list(legislation),
            note=classification.explanation[:MAX_NOTE],
            escalated_by=SYSTEM,
            now=now,
            sync_triage=False,  # ingest queues the triage card's update itself
        )
        log.info("review item %d escalated automatically (%s)", item.id, reason)
        return row.id

    def _open(
        self,
        session: Session,
        *,
        review_item_id: int,
        comment_id: int,
        decision_id: int | None,
        reason: str,
        offences: list[str],
        note: str | None,
        escalated_by: str,
        now: datetime,
        sync_triage: bool = True,
    ) -> Escalation:
        immediate = self.timing.is_immediate(reason)
        row = Escalation(
            review_item_id=review_item_id,
            comment_id=comment_id,
            decision_id=decision_id,
            reason=reason,
            offences=offences,
            note=note,
            escalated_by=escalated_by,
            escalated_at=now,
            immediate=immediate,
            status=OPEN,
            next_reminder_at=self.timing.next_reminder(now, immediate=immediate),
            reminders_sent=0,
            updated_at=now,
        )
        session.add(row)
        session.flush()
        self._sync(session, row, "opened", now, triage=sync_triage)
        return row

    # ------------------------------------------------------------------ the Clerk's answer

    def require_clerk(self, actor_slack_id: str, what: str, escalation_id: int) -> MemberInfo:
        """The Clerk or the Deputy Clerk; anyone else is refused (and the attempt logged)."""
        member = self._members.find(actor_slack_id)
        if member is None or member.role not in CLERK_ROLES:
            log.warning(
                "refused %s on escalation %d by %s: not the Clerk or the Deputy Clerk",
                what,
                escalation_id,
                actor_slack_id,
            )
            raise Refused(NOT_THE_CLERK, code="clerk_only")
        return member

    def acknowledge(self, escalation_id: int, actor_slack_id: str) -> Handled:
        """The Clerk (or the Deputy) has seen it: reminders stop."""
        member = self.require_clerk(actor_slack_id, "acknowledge", escalation_id)
        now = self._clock()
        with self._sessions.begin() as session:
            row = self._locked(session, escalation_id)
            if row.status == ACKNOWLEDGED:
                raise Refused(
                    f"Already acknowledged by <@{row.acknowledged_by}>"
                    f"{self._at(row.acknowledged_at)}.",
                    code="already_acknowledged",
                )
            self._acknowledge(row, member, now)
            self._sync(session, row, "ack", now)
            log.info("escalation %d acknowledged by %s", row.id, member.slack_user_id)
            return Handled(row.id, row.review_item_id)

    def decide(self, request: OutcomeRequest) -> Handled:
        """Record the Clerk's outcome, with the hide, unhide or approval it calls for."""
        member = self.require_clerk(request.actor_slack_id, request.outcome, request.escalation_id)
        if request.outcome not in CLERK_OUTCOMES:
            raise Refused("That is not something the Clerk can do here.", code="unknown_outcome")
        if request.outcome in HIDING_OUTCOMES and (
            request.reason_code not in self._settings.policy.reason_codes
        ):
            raise Refused("Pick the policy reason for this decision.", code="reason_required")
        if request.note is not None and len(request.note) > MAX_NOTE:
            raise Refused(f"Keep the note to {MAX_NOTE:,} characters.", code="note_too_long")
        now = self._clock()
        try:
            with self._sessions.begin() as session:
                row = self._locked(session, request.escalation_id)
                decision_id = self._carry_out(session, row, member, request)
                if request.outcome == "hidden_referred_police":
                    # Kept until the hold is lifted, whatever the retention period says.
                    session.execute(
                        update(PreservedRecord)
                        .where(PreservedRecord.comment_id == row.comment_id)
                        .values(legal_hold=True)
                    )
                self._acknowledge(row, member, now)
                row.status = CLOSED
                row.outcome = request.outcome
                row.outcome_by = member.slack_user_id
                row.outcome_at = now
                row.outcome_note = request.note
                self._sync(session, row, "closed", now)
                log.info(
                    "escalation %d closed as %s by %s",
                    row.id,
                    request.outcome,
                    member.slack_user_id,
                )
                return Handled(row.id, row.review_item_id, decision_id)
        except Refused as refusal:
            if refusal.code == "stale":
                self.refresh(request.escalation_id, request.expected_version)
            raise

    def close_with_reply(
        self, session: Session, review_item_id: int, actor_slack_id: str, now: datetime
    ) -> int | None:
        """Close the item's open escalation as ``replied`` when the Clerk or Deputy replies.

        Called inside the reply decision's own transaction; a reply by anyone else leaves the
        escalation with the Clerk. Returns the escalation closed, if any.
        """
        # Read in the caller's transaction: on SQLite a second connection would wait on the
        # write lock the reply's transaction already holds.
        found = session.scalar(
            select(Member).where(Member.slack_user_id == actor_slack_id, Member.active.is_(True))
        )
        if found is None or found.role not in CLERK_ROLES:
            return None
        member = MemberInfo(found.slack_user_id, found.role, found.display_name or actor_slack_id)
        row = self._open_escalation(session, review_item_id)
        if row is None:
            return None
        self._acknowledge(row, member, now)
        row.status = CLOSED
        row.outcome = "replied"
        row.outcome_by = member.slack_user_id
        row.outcome_at = now
        self._sync(session, row, "closed", now)
        log.info("escalation %d closed as replied by %s", row.id, member.slack_user_id)
        return row.id

    def _carry_out(
        self, session: Session, row: Escalation, member: MemberInfo, request: OutcomeRequest
    ) -> int | None:
        """The decision the outcome calls for, if any; refuse if the card is out of date."""
        if request.outcome == "reported_to_platform":
            return None  # done on the platform by hand; nothing changes on the comment here
        hidden = self._review.hide_stands(session, row.review_item_id)
        if request.outcome in HIDING_OUTCOMES:
            action, reason = (None if hidden else Action.HIDE), request.reason_code
        else:  # overruled: the comment stays up
            action, reason = (Action.UNHIDE if hidden else Action.APPROVE), None
        if action is None:
            item = session.get_one(ReviewItem, row.review_item_id, with_for_update=True)
            if item.version != request.expected_version:
                raise Refused(STALE, code="stale")
            return None
        try:
            decision = self._review.record_within(
                session,
                member,
                row.review_item_id,
                request.expected_version,
                action,
                reason_code=reason,
                note=request.note,
                statuses=(DECIDED,) if action is Action.UNHIDE else (PENDING, DECIDED),
            )
        except Refused as refusal:
            if refusal.code in ("stale", "already_handled"):
                # Someone decided on the triage card since the Clerk's card was drawn.
                raise Refused(STALE, code="stale") from None
            raise
        return decision.id

    @staticmethod
    def _acknowledge(row: Escalation, member: MemberInfo, now: datetime) -> None:
        if row.acknowledged_by is None:
            row.acknowledged_by = member.slack_user_id
            row.acknowledged_at = now
        row.status = ACKNOWLEDGED
        row.next_reminder_at = None
        row.updated_at = now

    def _locked(self, session: Session, escalation_id: int) -> Escalation:
        row = session.get(Escalation, escalation_id, with_for_update=True)
        if row is None:
            raise Refused("That escalation no longer exists.", code="unknown_escalation")
        if row.status == CLOSED:
            word = OUTCOMES.get(row.outcome or "", (row.outcome or "closed", ""))[0].lower()
            raise Refused(
                f"Already handled by <@{row.outcome_by}> ({word}{self._at(row.outcome_at)}).",
                code="already_handled",
            )
        return row

    def refresh(self, escalation_id: int, version: int) -> None:
        """Queue a redraw of the Clerk's card after a click on an out-of-date one."""
        now = self._clock()
        with self._sessions.begin() as session:
            row = session.get(Escalation, escalation_id)
            if row is not None:
                self._sync(session, row, f"refresh:{version}:{now.timestamp():.0f}", now)

    # ------------------------------------------------------------------ reminders

    def send_reminders(self, now: datetime | None = None) -> ReminderReport:
        """Queue the Clerk's DMs now due, reminders due, and Deputy pings (the scheduler's job)."""
        now = now or self._clock()
        report = ReminderReport()
        with self._sessions.begin() as session:
            rows = session.scalars(
                select(Escalation)
                .where(Escalation.status == OPEN)
                .order_by(Escalation.id)
                .with_for_update()
            ).all()
            for row in rows:
                self._remind(session, row, now, report)
        return report

    def _remind(
        self, session: Session, row: Escalation, now: datetime, report: ReminderReport
    ) -> None:
        timing = self.timing
        if row.clerk_dm_ts is None and now >= timing.clerk_due(
            row.escalated_at, immediate=row.immediate
        ):
            # Queued once (the key is fixed): the card handler posts the DM when it is due.
            enqueue(
                session,
                kind=CARD_KIND,
                key=f"escalation.card:{row.id}:dm",
                payload={"escalation_id": row.id},
                priority=100,
                now=now,
            )
            report.clerk_cards += 1
        changed = []
        if row.next_reminder_at is not None and row.next_reminder_at <= now:
            row.reminders_sent += 1
            row.next_reminder_at = timing.next_reminder(now, immediate=row.immediate)
            enqueue(
                session,
                kind=REMINDER_KIND,
                key=f"escalation.remind:{row.id}:{row.reminders_sent}",
                payload={"escalation_id": row.id, "number": row.reminders_sent},
                priority=100,
                now=now,
            )
            changed.append(f"remind{row.reminders_sent}")
            report.reminders += 1
        if row.deputy_notified_at is None and now >= timing.deputy_due(
            row.escalated_at, immediate=row.immediate
        ):
            row.deputy_notified_at = now
            enqueue(
                session,
                kind=DEPUTY_KIND,
                key=f"escalation.deputy:{row.id}",
                payload={"escalation_id": row.id},
                priority=100,
                now=now,
            )
            changed.append("deputy")
            report.deputies += 1
        if changed:
            row.updated_at = now
            self._sync(session, row, "-".join(changed), now)

    # ------------------------------------------------------------------ reading

    def card(self, escalation_id: int) -> tuple[TriageCard, EscalationView]:
        """The comment's card and the escalation, for the Clerk's forms."""
        with reading(self._sessions) as session:
            row = session.get(Escalation, escalation_id)
            if row is None:
                raise Refused("That escalation no longer exists.", code="unknown_escalation")
            return load_card(session, row.review_item_id), escalation_view(session, row)

    def review_item_of(self, escalation_id: int) -> int | None:
        """The review item an escalation is about, if it exists."""
        with reading(self._sessions) as session:
            return session.scalar(
                select(Escalation.review_item_id).where(Escalation.id == escalation_id)
            )

    def open_escalation_of(self, review_item_id: int) -> EscalationView | None:
        """The item's escalation that is still with the Clerk, if any."""
        with reading(self._sessions) as session:
            row = self._open_escalation(session, review_item_id)
            return escalation_view(session, row) if row is not None else None

    # ------------------------------------------------------------------ helpers

    @staticmethod
    def _open_escalation(session: Session, review_item_id: int) -> Escalation | None:
        return session.scalar(
            select(Escalation)
            .where(Escalation.review_item_id == review_item_id, Escalation.status != CLOSED)
            .order_by(Escalation.id.desc())
            .limit(1)
        )

    @staticmethod
    def _sync(
        session: Session, row: Escalation, event: str, now: datetime, *, triage: bool = True
    ) -> None:
        """Queue updates of the Clerk's card and the triage card for one change."""
        enqueue(
            session,
            kind=CARD_KIND,
            key=f"escalation.card:{row.id}:{event}",
            payload={"escalation_id": row.id},
            priority=100,
            now=now,
        )
        if not triage:
            return
        enqueue(
            session,
            kind="slack.sync_card",
            key=f"slack.sync_card:{row.review_item_id}:escalation:{row.id}:{event}",
            payload={"review_item_id": row.review_item_id},
            priority=90,
            now=now,
        )

    def _at(self, moment: datetime | None) -> str:
        if moment is None:
            return ""
        return moment.astimezone(self._settings.council.tz).strftime(" at %H:%M on %-d %b")


def _already_escalated(row: Escalation) -> Refused:
    who = "SMAT Bot (automatically)" if row.escalated_by == SYSTEM else f"<@{row.escalated_by}>"
    return Refused(
        f"This comment is already with the Town Clerk (escalated by {who}).",
        code="already_escalated",
    )


def delivery_prefixes(
    review_item_id: int, escalation_id: int | None, decision_id: int | None
) -> Sequence[str]:
    """The outbox keys that belong to one escalation action (for a listener to deliver)."""
    prefixes = [f"slack.sync_card:{review_item_id}:"]
    if escalation_id is not None:
        prefixes.append(f"escalation.card:{escalation_id}:")
    if decision_id is not None:
        prefixes.append(f"platform.execute:{decision_id}")
    return prefixes

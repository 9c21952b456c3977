"""What the Slack listeners call for escalations: act, then deliver the resulting messages.

Like the triage desk, it delivers only the messages that belong to this escalation (the Clerk's
card, the triage card, a platform action that followed), so the person sees the result at once;
the background dispatcher delivers the rest.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.cards import EscalationView, TriageCard
from bot.escalation_words import OUTCOMES
from bot.services.escalation import (
    STALE,
    Escalated,
    EscalationRequest,
    EscalationService,
    Handled,
    OutcomeRequest,
    delivery_prefixes,
)
from bot.services.outbox import OutboxDispatcher
from bot.services.review import Refused

MAX_DELIVERY_PASSES = 5


class EscalationDesk:
    """Escalate, acknowledge and decide, each followed by delivering its Slack updates."""

    def __init__(self, service: EscalationService, outbox: OutboxDispatcher) -> None:
        self.service = service
        self._outbox = outbox

    def escalate(self, request: EscalationRequest) -> Escalated:
        """Record an escalation and post the Clerk's card; raise Refused when it may not happen."""
        escalated: Escalated | None = None
        try:
            escalated = self.service.escalate(request)
            return escalated
        finally:
            self._deliver(
                delivery_prefixes(
                    request.review_item_id,
                    escalated.escalation_id if escalated else None,
                    None,
                )
            )

    def acknowledge(self, escalation_id: int, actor_slack_id: str) -> Handled:
        """Acknowledge an escalation and update its cards."""
        handled = self.service.acknowledge(escalation_id, actor_slack_id)
        self._deliver(delivery_prefixes(handled.review_item_id, escalation_id, None))
        return handled

    def decide(self, request: OutcomeRequest) -> Handled:
        """Record the Clerk's outcome and deliver what follows (or the refreshed card)."""
        handled: Handled | None = None
        try:
            handled = self.service.decide(request)
            return handled
        finally:
            item_id = (
                handled.review_item_id
                if handled
                else self.service.review_item_of(request.escalation_id)
            )
            if item_id is not None:
                self._deliver(
                    delivery_prefixes(
                        item_id, request.escalation_id, handled.decision_id if handled else None
                    )
                )

    def form_for(
        self, escalation_id: int, expected_version: int, actor_slack_id: str, outcome: str
    ) -> tuple[TriageCard, EscalationView]:
        """The card and escalation to open the Clerk's form on, if it is still as they saw it."""
        self.service.require_clerk(actor_slack_id, f"opening {outcome}", escalation_id)
        card, escalation = self.service.card(escalation_id)
        if not escalation.is_open:
            raise handled_refusal(escalation)
        if card.review_version != expected_version:
            self.service.refresh(escalation_id, expected_version)
            self._deliver(delivery_prefixes(card.review_item_id, escalation_id, None))
            raise Refused(STALE, code="stale")
        return card, escalation

    def _deliver(self, prefixes: Sequence[str]) -> None:
        for _ in range(MAX_DELIVERY_PASSES):
            report = self._outbox.deliver_due(limit=10, key_prefixes=prefixes)
            if report.delivered == 0 and report.retrying == 0:
                return


def handled_refusal(escalation: EscalationView) -> Refused:
    """The refusal for a click on a closed escalation: who handled it, and how."""
    word = OUTCOMES.get(escalation.outcome or "", (escalation.outcome or "closed", ""))[0]
    return Refused(
        f"Already handled by <@{escalation.outcome_by}> ({word.lower()}).",
        code="already_handled",
    )

"""The triage desk: records a decision and brings the Slack card up to date straight away."""

from __future__ import annotations

from bot.services.outbox import OutboxDispatcher
from bot.services.review import DecisionRequest, Recorded, Refused, ReviewService


class TriageDesk:
    """What Slack listeners call: decide, then deliver the resulting card update."""

    def __init__(self, review: ReviewService, outbox: OutboxDispatcher) -> None:
        self._review = review
        self._outbox = outbox

    def decide(self, request: DecisionRequest) -> Recorded:
        """Record a decision and update its card; raise Refused (after refreshing a stale card)."""
        try:
            recorded = self._review.decide(request)
        finally:
            # Whether or not it was recorded, the card should show the truth now: the update a
            # decision queued, or the refresh an out-of-date card needs.
            self._outbox.deliver_due()
        return recorded


__all__ = ["Refused", "TriageDesk"]

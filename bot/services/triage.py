"""The triage desk: records a decision and brings the Slack card up to date straight away."""

from __future__ import annotations

from bot.services.outbox import OutboxDispatcher
from bot.services.review import DecisionRequest, Recorded, Refused, Requested, ReviewService


class TriageDesk:
    """What Slack listeners call: decide, then deliver the resulting card update."""

    def __init__(self, review: ReviewService, outbox: OutboxDispatcher) -> None:
        self._review = review
        self._outbox = outbox

    def decide(self, request: DecisionRequest) -> Recorded | Requested:
        """Record a decision and update its card; raise Refused (after refreshing a stale card)."""
        try:
            return self._review.decide(request)
        finally:
            # Whether or not it was recorded, the card should show the truth now: the update a
            # decision queued, the platform action, or the refresh an out-of-date card needs.
            self._outbox.deliver_due()

    def resolve(self, request_id: int, actor_slack_id: str, *, approve: bool) -> Recorded | None:
        """Approve or decline a removal request, then deliver what follows."""
        try:
            return self._review.resolve(request_id, actor_slack_id, approve=approve)
        finally:
            self._outbox.deliver_due()


__all__ = ["Refused", "Requested", "TriageDesk"]

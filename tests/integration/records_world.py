"""A council's records for retention tests: one comment per retention class, held and unheld."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from bot.container import Container, build
from bot.services.review import Action, DecisionRequest, Recorded
from storage.models import Comment, DecisionOutcome, Escalation, ReviewItem
from tests.conftest import MakeSettings
from tests.fakes.classifier import KeywordClassifier
from tests.fakes.clock import FakeClock
from tests.integration.helpers import incoming

CLERK, DEPUTY, SMAT1, SMAT2, VIEWER = "U0CLERK", "U0DEPUTY", "U0SMAT1", "U0SMAT2", "U0VIEWER"
MEMBERS = [
    {"slack_user_id": CLERK, "role": "clerk", "name": "Town Clerk"},
    {"slack_user_id": DEPUTY, "role": "deputy", "name": "Deputy Clerk"},
    {"slack_user_id": SMAT1, "role": "smat", "name": "Jo"},
    {"slack_user_id": SMAT2, "role": "smat", "name": "Sam"},
    {"slack_user_id": VIEWER, "role": "viewer", "name": "Vic"},
]
ACCOUNT = {
    "name": "fb-main",
    "platform": "facebook",
    "id": "ExampleTownCouncil",
    "display_name": "Example Town Council",
    "token": "env:FB_TOKEN",
}
COUNCIL = {
    "name": "Example Town Council",
    "email": "hello@example.gov.uk",
    "phone": "01234 567890",
}

# external id -> (author, text): one author each, so author anonymisation is visible.
COMMENTS = {
    "approved": ("Ann Approved", "Lovely lights this year, thank you"),
    "approved_held": ("Bea Held", "When is the switch-on this year?"),
    "removed": ("Cal Removed", "You stupid useless idiot"),
    "removed_held": ("Dee Authorheld", "You are all useless"),
    "criminal": ("Eve Evidence", "I will smash your windows"),
    "disciplinary_held": ("Fay Escalated", "The clerk is a useless cow"),
    "blocked": ("Gus Blocked", "Stupid idiots the lot of you"),
    "pending": ("Hal Pending", "Is the market on Sunday?"),
    "in_flight": ("Ida Inflight", "Useless idiots"),
}


@dataclass
class World:
    """The container, its clock, and comment ids by name."""

    container: Container
    clock: FakeClock
    ids: dict[str, int]

    def item(self, name: str) -> ReviewItem:
        with self.container.sessions() as session:
            return session.scalars(
                select(ReviewItem).where(ReviewItem.comment_id == self.ids[name])
            ).one()

    def decide(self, name: str, action: Action, user: str = SMAT1, **kw: Any) -> int:
        item = self.item(name)
        outcome = self.container.review.decide(
            DecisionRequest(item.id, item.version, action, user, **kw)
        )
        assert isinstance(outcome, Recorded), outcome
        return outcome.decision_id


def build_world(
    make_settings: MakeSettings, *, start: datetime | None = None, **overrides: Any
) -> World:
    """Ingest every comment; decide all but ``pending``; mark platform actions carried out."""
    clock = FakeClock(start)
    settings = make_settings(members=MEMBERS, accounts=[ACCOUNT], council=COUNCIL, **overrides)
    container = build(settings, classifier=KeywordClassifier(), clock=clock)
    container.ingest().ingest(
        [incoming(name, text, author=author) for name, (author, text) in COMMENTS.items()]
    )
    with container.sessions() as session:
        ids = {c.external_id: c.id for c in session.scalars(select(Comment))}
    world = World(container, clock, ids)
    world.decide("approved", Action.APPROVE)
    world.decide("approved_held", Action.APPROVE)
    world.decide("removed", Action.HIDE, reason_code="bullying_or_harassment")
    world.decide("removed_held", Action.HIDE, reason_code="bullying_or_harassment")
    world.decide("criminal", Action.HIDE, reason_code="violent_or_threatening")
    world.decide("disciplinary_held", Action.HIDE, reason_code="bullying_or_harassment")
    world.decide("blocked", Action.BLOCK, reason_code="bullying_or_harassment")
    in_flight = world.decide("in_flight", Action.HIDE, reason_code="bullying_or_harassment")
    with container.sessions.begin() as session:
        # The Clerk dealt with an escalation about abuse of staff, and closed it.
        item = session.scalars(
            select(ReviewItem).where(ReviewItem.comment_id == ids["disciplinary_held"])
        ).one()
        session.add(
            Escalation(
                review_item_id=item.id,
                comment_id=ids["disciplinary_held"],
                reason="abuse_of_staff",
                offences=[],
                escalated_by=SMAT1,
                escalated_at=clock(),
                status="closed",
                outcome="upheld",
                outcome_by=CLERK,
                outcome_at=clock(),
                reminders_sent=0,
                updated_at=clock(),
            )
        )
        # The Clerk has dealt with the threats SMAT Bot escalated by itself at ingest.
        session.execute(
            update(Escalation)
            .where(Escalation.status != "closed")
            .values(
                status="closed",
                outcome="upheld",
                outcome_by=CLERK,
                outcome_at=clock(),
                acknowledged_by=CLERK,
                acknowledged_at=clock(),
                next_reminder_at=None,
                updated_at=clock(),
            )
        )
        # The platform carried out every action except one, still being retried.
        session.execute(
            update(DecisionOutcome)
            .where(DecisionOutcome.decision_id != in_flight)
            .values(status="done")
        )
    return world

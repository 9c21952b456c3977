"""Replies below Slack, on SQLite and PostgreSQL: recording, ordering on Instagram, the library."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from bot.container import Container, build
from bot.services.canned_responses import ResponseRefused
from bot.services.executor import Executor
from bot.services.outbox import OutboxDispatcher
from bot.services.replies import ReplyForm, ReplyService
from bot.services.review import Action, DecisionRequest, Recorded, Refused
from bot.services.triage import DecisionForms
from handlers.replies import response_library
from platforms.base import Action as PlatformAction
from platforms.errors import RateLimited, Transient
from platforms.types import Platform
from storage.models import CannedResponseVersion, Decision, DecisionOutcome, Reply, ReviewItem
from tests.conftest import MakeSettings
from tests.fakes.classifier import KeywordClassifier
from tests.fakes.clock import FakeClock
from tests.fakes.connector import FakeConnector
from tests.integration.helpers import incoming

MEMBERS = [
    {"slack_user_id": "U0CLERK", "role": "clerk", "name": "Town Clerk"},
    {"slack_user_id": "U0SMAT1", "role": "smat", "name": "Jo"},
    {"slack_user_id": "U0VIEW", "role": "viewer", "name": "Viewer"},
]
COUNCIL = {"name": "Example Town Council", "email": "hello@example.gov.uk", "phone": "01234"}
ITEM = 1


class Bench:
    """A container whose outbox carries decisions out through a fake connector."""

    def __init__(self, container: Container, connector: FakeConnector) -> None:
        self.container = container
        self.connector = connector
        executor = Executor(
            container.sessions,
            container.settings,
            lambda _: connector,
            container.accounts,
            container.clock,
        )
        self.outbox = OutboxDispatcher(
            container.sessions,
            {
                "platform.execute": executor.execute,
                "slack.sync_card": lambda payload: None,
                "slack.route_note": lambda payload: None,
            },
            container.clock,
        )
        self.replies = ReplyService(
            container.sessions,
            container.review,
            self.outbox,
            DecisionForms(container.sessions, container.members, container.settings),
            response_library(container),
            container.settings,
            container.clock,
        )

    @property
    def clock(self) -> FakeClock:
        clock = self.container.clock
        assert isinstance(clock, FakeClock)
        return clock

    def version(self) -> int:
        with self.container.sessions() as session:
            return session.get_one(ReviewItem, ITEM).version

    def reply(self, text: str | None, user: str = "U0SMAT1", **kw: Any) -> Recorded:
        form = ReplyForm(
            review_item_id=ITEM,
            expected_version=self.version(),
            actor_slack_id=user,
            canned_key=kw.pop("canned_key", None),
            canned_version=kw.pop("canned_version", None),
            text=text,
            route=kw.pop("route", None),
            route_only=kw.pop("route_only", False),
        )
        return self.replies.reply(form)

    def outcome(self, decision_id: int) -> DecisionOutcome:
        with self.container.sessions() as session:
            return session.scalars(
                select(DecisionOutcome).where(DecisionOutcome.decision_id == decision_id)
            ).one()


def _bench(make_settings: MakeSettings, platform: Platform, text: str) -> Bench:
    account = {
        "name": "main",
        "platform": platform.value,
        "id": "ExampleTownCouncil",
        "display_name": "Example Town Council",
        "token": "env:SOME_TOKEN",
    }
    settings = make_settings(
        members=MEMBERS,
        accounts=[account],
        council=COUNCIL,
        routing={"complaint": {"contact": "#complaints"}},
    )
    container = build(settings, classifier=KeywordClassifier(), clock=FakeClock())
    container.ingest().ingest([incoming("c1", text, platform=platform)])
    return Bench(container, FakeConnector(platform))


@pytest.fixture
def facebook(make_settings: MakeSettings) -> Bench:
    return _bench(make_settings, Platform.FACEBOOK, "Who do I contact about the allotments?")


def test_a_reply_is_recorded_with_its_words_and_posted_once(facebook: Bench) -> None:
    recorded = facebook.reply(
        "Please e-mail {council_email}, {author_name}.",
        canned_key="contact_council",
        canned_version=1,
    )
    with facebook.container.sessions() as session:
        decision = session.get_one(Decision, recorded.decision_id)
        reply = session.scalars(select(Reply)).one()
        item = session.get_one(ReviewItem, ITEM)
    assert (decision.action, item.status) == ("reply", "decided")
    assert (reply.text, reply.canned_key, reply.canned_version) == (
        "Please e-mail hello@example.gov.uk, Margaret H.",
        "contact_council",
        1,
    )
    assert facebook.connector.performed == [(PlatformAction.REPLY, "c1")]
    assert facebook.outcome(recorded.decision_id).status == "done"


def test_a_forged_response_version_is_not_recorded(facebook: Bench) -> None:
    facebook.reply("Thanks, {author_name}.", canned_key="contact_council", canned_version=99)
    with facebook.container.sessions() as session:
        reply = session.scalars(select(Reply)).one()
    assert (reply.canned_key, reply.canned_version) == (None, None)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("See {planning_url}", "unfilled_placeholder"),
        ("Call {council_website}", "unfilled_placeholder"),  # not configured here
        ("   ", "empty"),
    ],
)
def test_a_reply_that_cannot_be_posted_records_nothing(
    facebook: Bench, text: str, code: str
) -> None:
    with pytest.raises(Refused) as refused:
        facebook.reply(text)
    assert refused.value.code == code
    with facebook.container.sessions() as session:
        assert session.scalars(select(Decision)).all() == []
        assert session.scalars(select(Reply)).all() == []
    assert facebook.connector.performed == []


def test_only_deciding_members_may_reply(facebook: Bench) -> None:
    for user in ("U0VIEW", "U0NOBODY"):
        with pytest.raises(Refused):
            facebook.reply("Thank you.", user=user)
    assert facebook.connector.performed == []


def test_a_reply_interrupted_mid_call_is_not_posted_again(facebook: Bench) -> None:
    original = facebook.connector.perform

    def timing_out(action: PlatformAction, comment: Any, *, text: str | None = None) -> Any:
        raise Transient("facebook", "read timed out")

    facebook.connector.perform = timing_out  # type: ignore[method-assign]
    recorded = facebook.reply("Thank you, {author_name}.")
    facebook.connector.perform = original  # type: ignore[method-assign]
    facebook.clock.advance(hours=1)
    facebook.outbox.deliver_due()
    assert facebook.connector.performed == []
    assert facebook.outcome(recorded.decision_id).status == "unknown"


def test_on_instagram_the_reply_goes_out_before_the_hide(make_settings: MakeSettings) -> None:
    bench = _bench(make_settings, Platform.INSTAGRAM, "You stupid useless idiot, fix the bins")
    original = bench.connector.perform
    limited = [True]

    def rate_limited_once(action: PlatformAction, comment: Any, *, text: str | None = None) -> Any:
        if limited:
            limited.pop()
            raise RateLimited("instagram", "slow down", 10)
        return original(action, comment, text=text)

    bench.connector.perform = rate_limited_once  # type: ignore[method-assign]
    reply = bench.reply("Please contact {council_email} about the bins.")
    hide = bench.container.review.decide(
        DecisionRequest(ITEM, bench.version(), Action.HIDE, "U0SMAT1", "bullying_or_harassment")
    )
    assert isinstance(hide, Recorded)
    bench.outbox.deliver_due()
    assert bench.connector.performed == [], "the hide waits for the reply (rate limited)"

    bench.clock.advance(minutes=2)
    for _ in range(3):
        bench.outbox.deliver_due()
    assert bench.connector.performed == [
        (PlatformAction.REPLY, "c1"),
        (PlatformAction.HIDE, "c1"),
    ]
    assert bench.outcome(reply.decision_id).status == "done"
    assert bench.outcome(hide.decision_id).status == "done"

    # Once hidden, Instagram refuses replies: the form says so and only offers passing it on.
    data = bench.replies.form_data(ITEM, bench.version(), "U0SMAT1")
    assert data.post_blocked is not None
    assert "does not allow replies to hidden comments" in data.post_blocked
    with pytest.raises(Refused) as refused:
        bench.reply("Another reply")
    assert refused.value.code == "cannot_reply"
    passed_on = bench.reply(None, route="complaint", route_only=True)
    with bench.container.sessions() as session:
        assert session.get_one(Decision, passed_on.decision_id).action == "route"


def test_the_library_keeps_every_version(facebook: Bench) -> None:
    library = facebook.replies.library
    assert library.get("highways") is not None
    with pytest.raises(ResponseRefused):
        library.save("U0SMAT1", "highways", "T", "B", expected_version=1)
    saved = library.save("U0CLERK", "highways", "Roads", "Ask {highways_url}", expected_version=1)
    assert saved.version == 2
    with pytest.raises(ResponseRefused) as stale:
        library.save("U0CLERK", "highways", "Roads", "Other", expected_version=1)
    assert stale.value.field == "body"
    with pytest.raises(ResponseRefused) as unknown:
        library.save("U0CLERK", "highways", "Roads", "See {nowhere}", expected_version=2)
    assert "Unknown placeholder {nowhere}" in unknown.value.message
    assert [v.version for v in library.history("highways")] == [2, 1]
    assert library.get("highways", 1) is not None
    assert {r.key: r.version for r in library.latest()}["highways"] == 2
    with facebook.container.sessions() as session:
        rows = session.scalars(
            select(CannedResponseVersion).where(CannedResponseVersion.key == "highways")
        ).all()
    assert sorted((r.version, r.created_by) for r in rows) == [(1, "config"), (2, "U0CLERK")]

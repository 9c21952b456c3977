"""Legal holds and block reviews from Slack, end to end: the real Bolt app over HTTP.

Signed ``/smat`` commands, reminder button clicks and the unblock form's submission go to the
bot in HTTP mode (waitress); it talks to the fake Slack Web API. The bot's time is a FakeClock
(Slack's request signatures use real time, as Slack's do).
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from bot import ui_ids
from bot.records_messages import UNBLOCK_NOTE_BLOCK, UNBLOCK_NOTE_INPUT
from bot.slack_app import create_slack_app
from bot.web import create_wsgi_app
from storage.models import BlockedAuthor, BlockReview, Decision, LegalHold
from tests.conftest import SIGNING_SECRET, MakeSettings, slack_overrides
from tests.fakes.fake_slack import RESPONSE_URL_METHOD, FakeSlack
from tests.fakes.slack_requests import (
    block_actions_payload,
    encode_form,
    form_body,
    post_signed,
    slash_command_form,
    view_submission_payload,
)
from tests.fakes.wsgi_server import serve_wsgi
from tests.integration.records_world import CLERK, DEPUTY, SMAT1, VIEWER, World, build_world

_names = itertools.count(1)


def wait_until(check: Callable[[], Any], what: str, timeout: float = 5.0) -> Any:
    """Poll until ``check()`` is truthy: listeners run after the ack, in Bolt's threads."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


@dataclass
class Bot:
    url: str
    world: World
    slack: FakeSlack
    http: httpx.Client

    def slash(self, user: str, text: str) -> str:
        """Send ``/smat TEXT`` as ``user``; return the private answer's text."""
        name = f"records-{next(_names)}"
        form = slash_command_form(
            command="/smat", user_id=user, text=text, response_url=self.slack.response_url(name)
        )
        response = post_signed(
            self.http, f"{self.url}/slack/events", encode_form(form), SIGNING_SECRET
        )
        assert response.status_code == 200, response.text

        def answer() -> dict[str, Any] | None:
            for call in self.slack.calls(RESPONSE_URL_METHOD):
                if call.path.endswith(f"/response/{name}"):
                    return call.params
            return None

        params = wait_until(answer, f"an answer to /smat {text}")
        assert params["response_type"] == "ephemeral"
        return str(params["text"])

    def reminder(self, user: str = CLERK) -> dict[str, Any]:
        channel = self.slack.dm_channel_id(user)
        return wait_until(lambda: self.slack.messages(channel), "a reminder DM")[-1]

    def click(self, user: str, action_id: str, message: dict[str, Any], dm_of: str = CLERK) -> str:
        channel = self.slack.dm_channel_id(dm_of)
        value = next(
            e["value"]
            for b in message["blocks"]
            for e in b.get("elements", [])
            if e.get("action_id") == action_id
        )
        name = f"click-{next(_names)}"
        payload = block_actions_payload(
            user_id=user,
            action_id=action_id,
            value=value,
            channel_id=channel,
            message_ts=message["ts"],
            response_url=self.slack.response_url(name, channel=channel, ts=message["ts"]),
        )
        response = post_signed(
            self.http, f"{self.url}/slack/events", form_body(payload), SIGNING_SECRET
        )
        assert response.status_code == 200, response.text
        return name

    def submit(self, user: str, view: dict[str, Any], note: str | None) -> None:
        values = {UNBLOCK_NOTE_BLOCK: {UNBLOCK_NOTE_INPUT: note}} if note else {}
        payload = view_submission_payload(
            user_id=user,
            callback_id=view["callback_id"],
            private_metadata=view["private_metadata"],
            values=values,  # type: ignore[arg-type]
        )
        response = post_signed(
            self.http, f"{self.url}/slack/events", form_body(payload), SIGNING_SECRET
        )
        assert response.status_code == 200, response.text

    def ephemeral_to(self, user: str, containing: str) -> str:
        def found() -> str | None:
            for call in self.slack.calls("chat.postEphemeral"):
                text = str(call.params.get("text", ""))
                if call.params.get("user") == user and containing in text:
                    return text
            return None

        return str(wait_until(found, f"an ephemeral to {user} with {containing!r}"))

    def holds(self) -> list[LegalHold]:
        with self.world.container.sessions() as session:
            return list(session.scalars(select(LegalHold).order_by(LegalHold.id)))


@pytest.fixture
def bot(make_settings: MakeSettings, fake_slack: FakeSlack) -> Iterator[Bot]:
    world = build_world(make_settings, slack=slack_overrides(fake_slack)["slack"])
    world.container.outbox.deliver_due()  # the cards, as they would be by now
    app = create_wsgi_app(create_slack_app(world.container), world.container.sessions)
    with serve_wsgi(app) as url, httpx.Client(timeout=10) as http:
        yield Bot(url, world, fake_slack, http)


def test_the_clerk_sets_and_releases_a_hold_and_others_are_refused(bot: Bot) -> None:
    comment = bot.world.ids["removed"]
    refused = bot.slash(SMAT1, f"hold {comment} I would like to keep this")
    assert "only the Town Clerk and the Deputy Clerk" in refused
    assert bot.holds() == []

    answer = bot.slash(CLERK, f"hold {comment} Police request PC 1234 & <case>")
    assert f"set on comment {comment}" in answer
    assert "Police request PC 1234 &amp; &lt;case&gt;" in answer  # shown, never as markup
    [hold] = bot.holds()
    assert (hold.set_by, hold.reason, hold.scope) == (
        CLERK,
        "Police request PC 1234 & <case>",
        "comment",
    )

    listing = bot.slash(VIEWER, "holds")
    assert f"comment {comment}" in listing

    assert "only the Town Clerk" in bot.slash(SMAT1, f"release {comment}")
    assert "released: Case closed" in bot.slash(DEPUTY, f"release {comment} Case closed")
    [hold] = bot.holds()
    assert (hold.released_by, hold.release_reason) == (DEPUTY, "Case closed")
    assert "No legal holds" in bot.slash(VIEWER, "holds")


def test_hold_problems_are_named(bot: Bot) -> None:
    assert "reason for the hold" in bot.slash(CLERK, "hold 1")
    assert "No comment '424242'" in bot.slash(CLERK, "hold 424242 Some matter")
    assert "not on legal hold" in bot.slash(CLERK, "release 1")


def test_blocks_lists_the_register_for_smat_members_only(bot: Bot) -> None:
    answer = bot.slash(VIEWER, "blocks")
    assert "Blocked authors (1)" in answer
    assert "No block reviews are due." in bot.slash(VIEWER, "blocks due")
    assert "only SMAT members" in bot.slash("U0STRANGER", "blocks")


def test_the_clerk_keeps_a_block_from_the_reminder(bot: Bot) -> None:
    container = bot.world.container
    bot.world.clock.advance(days=183)
    container.blocks.queue_due_reminders()
    container.outbox.deliver_due()
    reminder = bot.reminder()

    bot.click(SMAT1, ui_ids.KEEP_BLOCKED, reminder)
    bot.ephemeral_to(SMAT1, "only the Town Clerk and the Deputy Clerk review blocks")
    bot.click(CLERK, ui_ids.KEEP_BLOCKED, reminder)

    def kept() -> str | None:
        message = bot.slack.message(bot.slack.dm_channel_id(CLERK), reminder["ts"])
        return message["text"] if message and "Kept blocked" in message["text"] else None

    text = wait_until(kept, "the reminder rewritten")
    assert "Next review" in text
    with container.sessions() as session:
        review = session.scalars(select(BlockReview)).one()
        row = session.scalars(select(BlockedAuthor)).one()
    assert review.reviewed_by == CLERK
    assert row.review_due == review.next_review_due
    # A second click on the old reminder is told it was already done.
    bot.click(DEPUTY, ui_ids.KEEP_BLOCKED, reminder)
    bot.ephemeral_to(DEPUTY, "already done")


def test_unblock_from_the_reminder_is_a_decision_like_any_other(bot: Bot) -> None:
    container = bot.world.container
    bot.world.clock.advance(days=183)
    container.blocks.queue_due_reminders()
    container.outbox.deliver_due()
    reminder = bot.reminder()

    bot.click(VIEWER, ui_ids.UNBLOCK_FROM_REVIEW, reminder)
    bot.ephemeral_to(VIEWER, "Only SMAT members can decide")
    assert bot.slack.calls("views.open") == []

    bot.click(CLERK, ui_ids.UNBLOCK_FROM_REVIEW, reminder)
    [opened] = bot.slack.wait_for("views.open")
    view = opened.params["view"]
    view = json.loads(view) if isinstance(view, str) else view
    assert view["callback_id"] == ui_ids.UNBLOCK_MODAL

    bot.submit(VIEWER, view, "forged")  # a forged submission is refused by the decision
    wait_until(
        lambda: any(
            "Only SMAT members can decide" in m.get("text", "")
            for m in bot.slack.messages(bot.slack.dm_channel_id(VIEWER))
        ),
        "the refusal, by DM",
    )
    bot.submit(CLERK, view, "Apologised in writing")

    def unblock() -> Decision | None:
        with container.sessions() as session:
            return session.scalars(select(Decision).where(Decision.action == "unblock")).first()

    decision = wait_until(unblock, "the unblock decision")
    assert (decision.actor_slack_id, decision.note) == (
        CLERK,
        "Block review: Apologised in writing",
    )
    with container.sessions() as session:
        row = session.scalars(select(BlockedAuthor)).one()
        decisions = session.scalars(select(Decision).where(Decision.action == "unblock")).all()
    assert row.unblock_decision_id == decision.id
    assert len(decisions) == 1  # the forged submission decided nothing
    wait_until(
        lambda: (
            "Unblocked by"
            in (bot.slack.message(bot.slack.dm_channel_id(CLERK), reminder["ts"]) or {}).get(
                "text", ""
            )
        ),
        "the reminder rewritten",
    )

"""A surge end to end: 500 comments against a fake Slack that takes one message a second.

The fake Slack answers 429 to any chat.postMessage that comes sooner than one second after the
last one in the same channel, measured on the same FakeClock that the bot's pacer sleeps on,
so the whole surge takes simulated minutes and no real ones. Approve all and Review separately
are then clicked over HTTP through the real Bolt app with signed requests.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from bot import ui_ids
from bot.container import Container, build
from bot.services.pacing import ChannelPacer
from bot.slack_app import create_slack_app
from bot.web import create_wsgi_app
from config.settings import Settings, deep_merge
from platforms.types import IncomingComment, Platform, Source
from storage.models import Decision, ReviewItem, SlackBatch, SlackBatchItem
from tests.conftest import SIGNING_SECRET, slack_overrides
from tests.fakes.classifier import KeywordClassifier
from tests.fakes.clock import FakeClock
from tests.fakes.fake_slack import FakeSlack, RecordedCall
from tests.fakes.slack_requests import block_actions_payload, form_body, post_signed
from tests.fakes.wsgi_server import serve_wsgi

SMAT1, OUTSIDER = "U0SMAT1", "U0OUTSIDER"
COMMENTS, FLAGGED_EVERY = 500, 10  # 50 flagged comments spread through the surge
BACKLOG, BATCH = 30, 10
CREATED = datetime(2026, 11, 16, 8, 0, tzinfo=UTC)


def fake_sleep(clock: FakeClock) -> Callable[[float], None]:
    """Sleeping moves the fake clock on (rounded up to the microsecond, never short)."""

    def sleep(seconds: float) -> None:
        clock.advance(microseconds=math.ceil(seconds * 1_000_000))

    return sleep


def wait_until(check: Callable[[], Any], what: str, timeout: float = 10.0) -> Any:
    """Poll until ``check()`` is truthy (listeners run after the ack, in Bolt's threads)."""
    deadline = time.monotonic() + timeout
    while not (result := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)
    return result


def surge() -> list[IncomingComment]:
    """500 comments on the lights switch-on post; every tenth is abusive."""
    comments = []
    for n in range(COMMENTS):
        flagged = n % FLAGGED_EVERY == FLAGGED_EVERY - 1
        text = (
            f"You useless idiots, number {n}"
            if flagged
            else f"Lovely lights this year, well done everyone (comment {n})"
        )
        comments.append(
            IncomingComment(
                platform=Platform.FACEBOOK,
                account="ExampleTownCouncil",
                external_id=f"c{n}",
                author_id=f"a{n % 97}",
                author_name=f"Resident {n % 97}",
                text=text,
                created_at=CREATED + timedelta(seconds=n),
                source=Source.WEBHOOK,
                permalink=f"https://www.facebook.com/ExampleTownCouncil/posts/1?comment_id=c{n}",
                post_title="Christmas lights switch-on",
                raw={"id": f"c{n}", "message": text},
            )
        )
    return comments


@dataclass
class SurgeBot:
    url: str
    container: Container
    slack: FakeSlack
    clock: FakeClock
    http: httpx.Client
    triage: str

    def deliver_everything(self) -> int:
        """Run delivery passes (as the scheduler would) until the outbox is empty."""
        passes = 0
        while self.container.outbox.pending_count():
            passes += 1
            assert passes < 50, "the outbox did not drain"
            report = self.container.outbox.deliver_due()
            if report.delivered == 0:
                self.clock.advance(seconds=1)  # everything due later: let time pass
        return passes

    def batch(self, batch_id: int) -> dict[str, Any]:
        with self.container.sessions() as session:
            ts = session.get_one(SlackBatch, batch_id).slack_ts
        assert ts is not None
        message = self.slack.message(self.triage, ts)
        assert message is not None
        return message

    def batch_showing(self, batch_id: int, words: str) -> dict[str, Any] | None:
        message = self.batch(batch_id)
        return message if words in json.dumps(message) else None

    def click(self, user: str, batch_id: int, action_id: str, value: str) -> None:
        message = self.batch(batch_id)
        payload = block_actions_payload(
            user_id=user,
            action_id=action_id,
            value=value,
            channel_id=self.triage,
            message_ts=message["ts"],
            response_url=self.slack.response_url(f"batch-{batch_id}"),
        )
        response = post_signed(
            self.http, f"{self.url}/slack/events", form_body(payload), SIGNING_SECRET
        )
        assert response.status_code == 200, response.text

    def decisions(self) -> list[Decision]:
        with self.container.sessions() as session:
            return list(session.scalars(select(Decision).order_by(Decision.id)))

    def ephemerals(self, user: str) -> list[str]:
        return [
            str(c.params["text"])
            for c in self.slack.calls("chat.postEphemeral")
            if c.params.get("user") == user
        ]


def _settings(database_url: str, slack: FakeSlack) -> Settings:
    overrides = slack_overrides(slack, (SMAT1, "smat"))
    overrides |= {
        "database_url": database_url,
        "council": {"name": "Example Town Council"},
        # Strict: this fake Slack allows no burst at all.
        "surge": {"posts_per_second": 1.0, "burst": 1, "batch_backlog": BACKLOG},
    }
    return Settings(**deep_merge({}, overrides))


@pytest.fixture
def bot(tmp_path: Path, fake_slack: FakeSlack) -> Iterator[SurgeBot]:
    clock = FakeClock()
    fake_slack.enforce_channel_rate(1.0, clock=clock)
    settings = _settings(f"sqlite:///{tmp_path / 'smat.db'}", fake_slack)
    pacer = ChannelPacer(1.0, 1, clock=clock, sleep=fake_sleep(clock))
    container = build(settings, classifier=KeywordClassifier(), clock=clock, pacer=pacer)
    app = create_slack_app(container)
    with (
        serve_wsgi(create_wsgi_app(app, container.sessions)) as url,
        httpx.Client(timeout=10) as http,
    ):
        yield SurgeBot(
            url, container, fake_slack, clock, http, fake_slack.channel_id("#smat-triage")
        )
    container.engine.dispose()


def _action(message: dict[str, Any] | RecordedCall, action_id: str) -> dict[str, Any] | None:
    blocks = message.params["blocks"] if isinstance(message, RecordedCall) else message["blocks"]
    for block in blocks:
        elements = list(block.get("elements", []))
        if "accessory" in block:
            elements.append(block["accessory"])
        for element in elements:
            if element.get("action_id") == action_id:
                return dict(element)
    return None


def _lines(message: dict[str, Any]) -> list[int]:
    """Review item ids shown on a batch card, in order."""
    return [
        int(block["block_id"].split(":")[1])
        for block in message["blocks"]
        if str(block.get("block_id", "")).startswith("batch_line:")
    ]


def _surge(bot: SurgeBot) -> tuple[list[RecordedCall], float]:
    started = bot.clock.now
    report = bot.container.ingest().ingest(surge())
    assert report.new == COMMENTS
    bot.deliver_everything()
    return bot.slack.calls("chat.postMessage"), (bot.clock.now - started).total_seconds()


def test_a_surge_reaches_slack_at_its_pace_flagged_first_and_nothing_is_lost(
    bot: SurgeBot,
) -> None:
    posts, seconds = _surge(bot)

    # No 429 storm: the pacer kept to one message a second, so Slack never refused one.
    assert bot.slack.calls("chat.postMessage", ok=False) == []
    assert all(call.ok for call in posts)

    with bot.container.sessions() as session:
        items = {item.id: item for item in session.scalars(select(ReviewItem))}
        members = list(session.scalars(select(SlackBatchItem)))
        batches = list(session.scalars(select(SlackBatch)))
    flagged = {i for i, item in items.items() if item.priority > 0}
    assert len(items) == COMMENTS
    assert len(flagged) == COMMENTS // FLAGGED_EVERY

    # Flagged comments first, each on its own card, before any batch card.
    kinds = ["batch" if _action(call, ui_ids.BATCH_APPROVE_ALL) else "own" for call in posts]
    first_batch = kinds.index("batch")
    assert first_batch == len(flagged)
    own_ts = {item.slack_ts: i for i, item in items.items() if item.slack_ts}
    messages = bot.slack.messages(bot.triage)  # in posting order
    assert {own_ts[m["ts"]] for m in messages[:first_batch]} == flagged

    # Every comment is in Slack exactly once: on its own card or on one line of a batch card.
    shown: list[int] = []
    for message in messages:
        ids = _lines(message)
        shown += ids if ids else [own_ts[message["ts"]]]
    assert sorted(shown) == sorted(items), "each comment shown exactly once"
    assert not flagged & {m.review_item_id for m in members}, "flagged comments are never batched"
    assert all(len(_lines(bot.batch(b.id))) == BATCH for b in batches)

    # How many messages, and how long it took: 50 flagged cards, then clean comments ten to a
    # card while more than 30 waited, then the last 30 on their own cards; one a second.
    clean = COMMENTS - len(flagged)
    batch_cards = math.ceil((clean - BACKLOG) / BATCH)
    expected = len(flagged) + batch_cards + (clean - batch_cards * BATCH)
    assert (len(batches), len(posts)) == (batch_cards, expected) == (42, 122)
    assert seconds == expected - 1  # exactly one second between posts: Slack's pace
    print(f"\nsurge of {COMMENTS}: {len(posts)} messages in {seconds:.0f} simulated seconds")


def test_approve_all_is_for_members_and_records_one_decision_per_comment(bot: SurgeBot) -> None:
    _surge(bot)
    with bot.container.sessions() as session:
        first, second = session.scalars(select(SlackBatch.id).order_by(SlackBatch.id).limit(2))
    card = bot.batch(first)
    approve = _action(card, ui_ids.BATCH_APPROVE_ALL)
    assert approve is not None
    assert approve["text"]["text"] == f"Approve all ({BATCH})"

    # Someone outside SMAT is refused, privately, and nothing is recorded.
    bot.click(OUTSIDER, first, ui_ids.BATCH_APPROVE_ALL, approve["value"])
    refusal = wait_until(lambda: bot.ephemerals(OUTSIDER), "the refusal")
    assert "Only SMAT members" in refusal[0]
    assert bot.decisions() == []

    # A member: one approve decision per comment, and the card says who approved what.
    bot.click(SMAT1, first, ui_ids.BATCH_APPROVE_ALL, approve["value"])
    wait_until(lambda: len(bot.decisions()) == BATCH, "ten decisions")
    decisions = bot.decisions()
    assert {d.review_item_id for d in decisions} == set(_lines(card))
    assert {(d.action, d.actor_slack_id) for d in decisions} == {("approve", SMAT1)}
    updated = wait_until(lambda: bot.batch_showing(first, "checked together"), "the new card")
    assert _action(updated, ui_ids.BATCH_APPROVE_ALL) is None
    text = json.dumps(updated["blocks"])
    assert text.count(f"Approved by <@{SMAT1}>") == BATCH
    assert f"{BATCH} approved" in text

    # The same (now stale) button again: nothing is decided twice, and the member is told.
    bot.click(SMAT1, first, ui_ids.BATCH_APPROVE_ALL, approve["value"])
    told = wait_until(lambda: bot.ephemerals(SMAT1), "the skipped report")
    assert f"Approved 0 comments; skipped {BATCH}" in told[0]
    assert len(bot.decisions()) == BATCH

    # Review separately: the comment gets its own card; Approve all then leaves it alone.
    card = bot.batch(second)
    third = _lines(card)[2]
    separate = next(
        b["accessory"] for b in card["blocks"] if b.get("block_id") == f"batch_line:{third}"
    )
    posts_before = len(bot.slack.calls("chat.postMessage"))
    bot.click(SMAT1, second, ui_ids.BATCH_SEPARATE, separate["value"])
    wait_until(
        lambda: len(bot.slack.calls("chat.postMessage", ok=True)) > posts_before, "its own card"
    )
    own = bot.slack.calls("chat.postMessage")[-1]
    assert _action(own, ui_ids.APPROVE) is not None  # a normal triage card
    moved = wait_until(lambda: bot.batch_showing(second, "Moved to its own card"), "the move")
    approve = _action(moved, ui_ids.BATCH_APPROVE_ALL)
    assert approve is not None
    assert approve["text"]["text"] == f"Approve all ({BATCH - 1})"
    bot.click(SMAT1, second, ui_ids.BATCH_APPROVE_ALL, approve["value"])
    wait_until(lambda: len(bot.decisions()) == 2 * BATCH - 1, "nine more decisions")
    with bot.container.sessions() as session:
        assert session.get_one(ReviewItem, third).status == "pending"
    assert bot.slack.calls("chat.postMessage", ok=False) == []


def test_a_surge_of_threats_reaches_the_escalation_channel_at_its_pace(bot: SurgeBot) -> None:
    threats = [
        replace(comment, text=f"I will kill you all, number {n}")
        for n, comment in enumerate(surge()[:20])
    ]
    assert bot.container.ingest().ingest(threats).new == len(threats)
    bot.deliver_everything()

    # Escalation messages share the pacer with the triage cards: Slack never refused one.
    assert bot.slack.calls("chat.postMessage", ok=False) == []
    channel = bot.slack.channel_id(bot.container.settings.slack.channels.escalation)
    assert len(bot.slack.messages(channel)) == len(threats)

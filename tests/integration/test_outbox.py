"""The outbox delivers cards to Slack through rate limits and outages, losing nothing."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from sqlalchemy import select

from bot.container import Container, build
from bot.services.outbox import Message, enqueue, enqueue_many
from storage.models import OutboxMessage, ReviewItem
from tests.conftest import MakeSettings, slack_overrides
from tests.fakes.classifier import KeywordClassifier
from tests.fakes.clock import FakeClock
from tests.fakes.fake_slack import FakeSlack
from tests.integration.helpers import incoming


def _container(make_settings: MakeSettings, fake_slack: FakeSlack, clock: FakeClock) -> Container:
    settings = make_settings(**slack_overrides(fake_slack, ("U0SMAT1", "smat")))
    container = build(settings, classifier=KeywordClassifier(), clock=clock)
    container.ingest().ingest(
        [incoming("clean", "Lovely lights"), incoming("abuse", "you stupid idiot")]
    )
    return container


def _outbox(container: Container) -> list[OutboxMessage]:
    with container.sessions() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_cards_are_posted_flagged_first_and_remembered(
    make_settings: MakeSettings, fake_slack: FakeSlack
) -> None:
    container = _container(make_settings, fake_slack, FakeClock())
    report = container.outbox.deliver_due()
    assert (report.delivered, report.retrying) == (2, 0)
    posts = fake_slack.calls("chat.postMessage")
    assert "suggested hide" in posts[0].params["text"]  # the flagged one went first
    with container.sessions() as session:
        assert all(item.slack_ts for item in session.scalars(select(ReviewItem)))
    assert container.outbox.deliver_due().delivered == 0  # nothing is posted twice
    assert len(fake_slack.calls("chat.postMessage")) == 2


def test_a_rate_limit_is_honoured_then_delivery_resumes(
    make_settings: MakeSettings, fake_slack: FakeSlack
) -> None:
    clock = FakeClock()
    container = _container(make_settings, fake_slack, clock)
    fake_slack.fail("chat.postMessage", times=1, status=429, retry_after=7)
    report = container.outbox.deliver_due()
    # Slack's limit is per channel: the other card waits too rather than earn a second 429.
    assert (report.delivered, report.retrying) == (0, 2)
    waiting = [m for m in _outbox(container) if m.status == "pending"]
    assert len(waiting) == 2
    assert all(m.next_attempt_at == clock.now + timedelta(seconds=7) for m in waiting)
    errors = sorted(m.last_error or "" for m in waiting)
    assert errors == ["Slack rate limit", "pacing posts to #smat-triage"]
    clock.advance(seconds=6)
    assert container.outbox.deliver_due().delivered == 0  # not yet
    clock.advance(seconds=1)
    assert container.outbox.deliver_due().delivered == 2
    assert [m.status for m in _outbox(container)] == ["done", "done"]
    assert len(fake_slack.calls("chat.postMessage", ok=False)) == 1


def test_slack_down_keeps_messages_queued_until_it_returns(
    make_settings: MakeSettings, fake_slack: FakeSlack
) -> None:
    clock = FakeClock()
    container = _container(make_settings, fake_slack, clock)
    fake_slack.down(True)
    for _ in range(3):
        report = container.outbox.deliver_due()
        assert report.delivered == 0
        clock.advance(minutes=20)  # past the longest back-off
    assert container.outbox.pending_count() == 2
    assert all(m.attempts == 3 for m in _outbox(container))
    fake_slack.down(False)
    assert container.outbox.deliver_due().delivered == 2
    assert container.outbox.pending_count() == 0


def test_a_claimed_message_is_not_delivered_twice(
    make_settings: MakeSettings, fake_slack: FakeSlack
) -> None:
    clock = FakeClock()
    container = _container(make_settings, fake_slack, clock)
    first_id = _outbox(container)[0].id
    assert container.outbox._claim(first_id) is not None
    assert container.outbox._claim(first_id) is None  # leased to the first worker
    clock.advance(minutes=3)  # the first worker died; its lease expired
    assert container.outbox._claim(first_id) is not None


def _queued(container: Container, kind: str) -> list[tuple[str, dict[str, object]]]:
    return [(m.idempotency_key, m.payload) for m in _outbox(container) if m.kind == kind]


def test_a_batch_skips_keys_already_queued_and_repeats_within_it(
    make_settings: MakeSettings, fake_slack: FakeSlack
) -> None:
    clock = FakeClock()
    container = _container(make_settings, fake_slack, clock)
    with container.sessions.begin() as session:
        enqueue(session, kind="test", key="a", payload={"n": 1}, priority=0, now=clock.now)
    with container.sessions.begin() as session:
        # "b" is queued one at a time in the same transaction, not yet flushed.
        enqueue(session, kind="test", key="b", payload={"n": 2}, priority=0, now=clock.now)
        enqueue_many(
            session,
            [
                Message("test", "a", {"n": 3}, 0),
                Message("test", "b", {"n": 4}, 0),
                Message("test", "c", {"n": 5}, 7),
                Message("test", "c", {"n": 6}, 0),
                Message("test", "d", {"n": 7}, 0),
            ],
            clock.now,
        )
        enqueue_many(session, [], clock.now)
    assert _queued(container, "test") == [
        ("a", {"n": 1}),
        ("b", {"n": 2}),
        ("c", {"n": 5}),
        ("d", {"n": 7}),
    ]
    with container.sessions() as session:
        c = session.scalars(select(OutboxMessage).where(OutboxMessage.idempotency_key == "c")).one()
    assert (c.status, c.priority, c.attempts, c.next_attempt_at) == ("pending", 7, 0, clock.now)


def test_a_batch_waits_for_and_skips_a_key_another_transaction_is_queueing(
    make_settings: MakeSettings, fake_slack: FakeSlack
) -> None:
    clock = FakeClock()
    container = _container(make_settings, fake_slack, clock)
    first_holds_the_key = threading.Event()
    errors: list[BaseException] = []

    def other() -> None:
        try:
            first_holds_the_key.wait(10)
            with container.sessions.begin() as session:
                enqueue_many(session, [Message("test", "k", {"by": "other"}, 0)], clock.now)
                enqueue_many(session, [Message("test", "other", {"by": "other"}, 0)], clock.now)
        except BaseException as exc:  # reported below, in the test's own thread
            errors.append(exc)

    thread = threading.Thread(target=other)
    thread.start()
    with container.sessions.begin() as session:
        enqueue_many(session, [Message("test", "k", {"by": "first"}, 0)], clock.now)
        first_holds_the_key.set()
        time.sleep(0.3)  # the other transaction now waits for this one
    thread.join(10)
    assert errors == []
    assert sorted(_queued(container, "test")) == [
        ("k", {"by": "first"}),
        ("other", {"by": "other"}),
    ]

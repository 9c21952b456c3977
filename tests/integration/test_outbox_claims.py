"""A worker slower than its lease cannot undo the work of the worker that took over."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.container import build
from storage.models import OutboxMessage
from tests.conftest import MakeSettings, slack_overrides
from tests.fakes.classifier import KeywordClassifier
from tests.fakes.clock import FakeClock
from tests.fakes.fake_slack import FakeSlack
from tests.integration.helpers import incoming


def test_a_late_failure_does_not_put_a_delivered_message_back(
    make_settings: MakeSettings, fake_slack: FakeSlack
) -> None:
    clock = FakeClock()
    settings = make_settings(**slack_overrides(fake_slack, ("U0SMAT1", "smat")))
    container = build(settings, classifier=KeywordClassifier(), clock=clock)
    container.ingest().ingest([incoming("c1", "Lovely lights")])
    outbox = container.outbox
    with container.sessions() as session:
        message_id = session.scalars(select(OutboxMessage.id)).one()

    slow = outbox._claim(message_id)  # the first worker stalls for longer than its lease
    assert slow is not None
    clock.advance(minutes=3)
    assert outbox.deliver_due().delivered == 1  # a second worker takes over and delivers
    outbox._reschedule(slow, timedelta(seconds=5), "TimeoutError: the first worker's late failure")

    with container.sessions() as session:
        message = session.get_one(OutboxMessage, message_id)
    assert (message.status, message.attempts) == ("done", 2)
    assert outbox.pending_count() == 0
    assert len(fake_slack.calls("chat.postMessage")) == 1

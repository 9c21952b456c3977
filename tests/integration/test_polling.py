"""Polling: watermarks, back-off, expired tokens, one poll per account at a time, no duplicates."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from bot.container import Container, build
from bot.services.polling import Poller
from platforms.errors import AuthExpired, RateLimited, Transient
from platforms.types import Source
from storage.models import Account, Comment, OutboxMessage
from tests.conftest import MakeSettings
from tests.fakes.classifier import KeywordClassifier
from tests.fakes.clock import FakeClock
from tests.fakes.connector import FakeConnector
from tests.integration.helpers import incoming

ACCOUNT: dict[str, Any] = {
    "name": "fb-main",
    "platform": "facebook",
    "id": "ExampleTownCouncil",
    "display_name": "Example Town Council",
    "token": "env:FB_TOKEN",
}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def connector() -> FakeConnector:
    return FakeConnector()


@pytest.fixture
def container(make_settings: MakeSettings, clock: FakeClock) -> Container:
    return build(make_settings(accounts=[ACCOUNT]), classifier=KeywordClassifier(), clock=clock)


def _poller(container: Container, connector: FakeConnector) -> Poller:
    return Poller(
        container.sessions,
        container.accounts,
        lambda _: connector,
        container.ingest,
        container.clock,
    )


def _count(container: Container, model: type) -> int:
    with container.sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def _account(container: Container) -> Account:
    with container.sessions() as session:
        return session.scalars(select(Account).where(Account.name == "fb-main")).one()


def test_each_poll_resumes_from_the_stored_watermark(
    container: Container, connector: FakeConnector
) -> None:
    poller = _poller(container, connector)
    account = container.account("fb-main")
    connector.publish(incoming("c1", "Lovely lights", source=Source.POLL))
    first = poller.poll(account)
    connector.publish(incoming("c2", "When is the switch-on?", source=Source.POLL))
    second = poller.poll(account)
    assert (first.new, second.new, second.fetched) == (1, 1, 1)
    assert connector.watermarks_seen == [{}, {"count": 1}]
    assert _count(container, Comment) == 2


def test_a_crash_before_the_watermark_is_saved_duplicates_nothing(
    container: Container, connector: FakeConnector
) -> None:
    account = container.account("fb-main")
    connector.publish(incoming("c1", "Lovely lights", source=Source.POLL))
    # Stored but the watermark never saved: the next poll sees the same comment again.
    container.ingest().store(connector.fetch_new({}).comments)
    outcome = _poller(container, connector).poll(account)
    assert (outcome.fetched, outcome.new) == (1, 0)
    assert _count(container, Comment) == 1


def test_a_rate_limit_backs_off_for_as_long_as_asked(
    container: Container, connector: FakeConnector, clock: FakeClock
) -> None:
    poller = _poller(container, connector)
    account = container.account("fb-main")
    connector.fail_next(RateLimited("facebook", "too many calls", retry_after=300))
    assert poller.poll(account).error
    assert "backing off" in (poller.poll(account).skipped or "")
    clock.advance(seconds=301)
    assert poller.poll(account).skipped is None


def test_an_expired_token_flags_the_account_and_tells_slack_once(
    container: Container, connector: FakeConnector, clock: FakeClock
) -> None:
    poller = _poller(container, connector)
    account = container.account("fb-main")
    for _ in range(3):
        connector.fail_next(AuthExpired("facebook", "token expired (190/463)"))
        assert poller.poll(account).error
        assert "backing off" in (poller.poll(account).skipped or "")  # not retried at once
        clock.advance(minutes=16)
    row = _account(container)
    assert row.status == "needs_attention"
    assert row.status_detail == "token expired (190/463)"
    with container.sessions() as session:
        alerts = session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "slack.account_alert")
        ).all()
    assert len(alerts) == 1
    assert poller.poll(account).error is None  # the token works again
    assert _account(container).status == "active"


def test_a_missing_token_flags_the_account(container: Container) -> None:
    outcome = container.poller().poll(container.account("fb-main"))
    assert outcome.error is not None
    assert "env:FB_TOKEN" in outcome.error
    assert _account(container).status == "needs_attention"


def test_transient_failures_back_off_briefly(
    container: Container, connector: FakeConnector, clock: FakeClock
) -> None:
    poller = _poller(container, connector)
    account = container.account("fb-main")
    connector.fail_next(Transient("facebook", "HTTP 502"))
    assert poller.poll(account).error
    clock.advance(minutes=3)
    assert poller.poll(account).error is None


def test_two_polls_of_one_account_never_overlap(
    container: Container, connector: FakeConnector
) -> None:
    account = container.account("fb-main")
    holder = _poller(container, connector)
    account_id = _account(container).id
    assert holder._take_lease(account_id, container.clock()) == {}
    outcome = _poller(container, connector).poll(account)
    assert outcome.skipped == "another poll of this account is running"
    holder._release_lease(account_id)
    assert _poller(container, connector).poll(account).skipped is None


def test_accounts_from_the_config_adopt_rows_an_import_created(
    make_settings: MakeSettings, clock: FakeClock
) -> None:
    unregistered = build(make_settings(), classifier=KeywordClassifier(), clock=clock)
    unregistered.ingest().ingest([incoming("c1", "Hello")])
    registered = build(
        make_settings(accounts=[ACCOUNT]), classifier=KeywordClassifier(), clock=clock
    )
    with registered.sessions() as session:
        accounts = session.scalars(select(Account)).all()
    assert [(a.name, a.status) for a in accounts] == [("fb-main", "active")]


def test_pending_comments_are_rechecked_for_edits_and_deletions(
    container: Container, connector: FakeConnector
) -> None:
    poller = _poller(container, connector)
    account = container.account("fb-main")
    connector.publish(
        incoming("c1", "Lovely lights", source=Source.POLL),
        incoming("c2", "When is the switch-on?", source=Source.POLL),
    )
    poller.poll(account)
    connector.edit("c1", "Lovely lights, you stupid idiots")
    connector.delete("c2")
    outcome = poller.poll(account)
    assert (outcome.fetched, outcome.edited, outcome.deleted) == (0, 1, 1)
    with container.sessions() as session:
        comments = {c.external_id: c for c in session.scalars(select(Comment))}
        kinds = session.scalars(select(OutboxMessage.idempotency_key)).all()
    assert comments["c1"].current_version == 2
    assert comments["c2"].deleted_at is not None
    assert any(key.endswith(":deleted") for key in kinds)
    # A deleted comment is not fetched again on later polls.
    again = poller.poll(account)
    assert again.deleted == 0


def test_a_rate_limit_during_recheck_does_not_fail_the_poll(
    container: Container, connector: FakeConnector
) -> None:
    poller = _poller(container, connector)
    account = container.account("fb-main")
    connector.publish(incoming("c1", "Lovely lights", source=Source.POLL))
    poller.poll(account)
    connector.fetch_comment_errors.append(RateLimited("facebook", "slow down", retry_after=60))
    outcome = poller.poll(account)
    assert outcome.error is None
    assert outcome.edited == 0


def test_a_connector_near_its_usage_limit_slows_polling_down(
    container: Container, connector: FakeConnector, clock: FakeClock
) -> None:
    poller = _poller(container, connector)
    account = container.account("fb-main")
    connector.near_limit = True
    assert poller.poll(account).error is None
    assert "backing off" in (poller.poll(account).skipped or "")
    clock.advance(minutes=account.poll_minutes + 1)
    assert poller.poll(account).skipped is None


def test_an_unexpected_error_backs_off_and_keeps_the_watermark(
    container: Container, connector: FakeConnector, clock: FakeClock
) -> None:
    poller = _poller(container, connector)
    account = container.account("fb-main")
    connector.publish(incoming("c1", "Lovely lights", source=Source.POLL))
    connector.errors.append(KeyError("unexpected payload shape"))  # type: ignore[arg-type]
    outcome = poller.poll(account)
    assert outcome.error == "unexpected error: KeyError"
    clock.advance(minutes=3)
    assert poller.poll(account).new == 1  # nothing was lost: the watermark had not moved

"""Decision flows and the executor, below Slack: removals, approvals, undo, warnings, outcomes."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from bot.container import Container, build
from bot.services.executor import Executor, UnfilledPlaceholder, fill_template
from bot.services.outbox import RetryLater
from bot.services.review import Action, DecisionRequest, Recorded, Refused, Requested
from platforms.base import Action as PlatformAction
from platforms.errors import RateLimited, Transient
from platforms.types import Platform
from storage.models import Decision, DecisionOutcome, OutboxMessage, PreservedRecord, ReviewItem
from tests.conftest import MakeSettings
from tests.fakes.classifier import KeywordClassifier
from tests.fakes.clock import FakeClock
from tests.fakes.connector import FakeConnector
from tests.integration.helpers import incoming

MEMBERS = [
    {"slack_user_id": "U0CLERK", "role": "clerk", "name": "Town Clerk"},
    {"slack_user_id": "U0SMAT1", "role": "smat", "name": "Jo"},
    {"slack_user_id": "U0SMAT2", "role": "smat", "name": "Sam"},
]
ACCOUNT = {
    "name": "fb-main",
    "platform": "facebook",
    "id": "ExampleTownCouncil",
    "display_name": "Example Town Council",
    "token": "env:FB_TOKEN",
}
ABUSE, CRITICISM = 1, 2  # review item ids


@pytest.fixture
def container(make_settings: MakeSettings) -> Container:
    settings = make_settings(
        members=MEMBERS,
        accounts=[ACCOUNT],
        council={
            "name": "Example Town Council",
            "email": "hello@example.gov.uk",
            "phone": "01234 567890",
        },
    )
    container = build(settings, classifier=KeywordClassifier(), clock=FakeClock())
    container.ingest().ingest(
        [
            incoming("c1", "You stupid useless idiot"),
            incoming("c2", "The council wasted our money on the lights again."),
        ]
    )
    return container


@pytest.fixture
def connector() -> FakeConnector:
    fake = FakeConnector(Platform.FACEBOOK)
    return fake


def _executor(container: Container, connector: FakeConnector) -> Executor:
    return Executor(
        container.sessions,
        container.settings,
        lambda _: connector,
        container.accounts,
        container.clock,
    )


def _run_executor(container: Container, connector: FakeConnector) -> None:
    executor = _executor(container, connector)
    with container.sessions() as session:
        payloads = [
            m.payload
            for m in session.scalars(
                select(OutboxMessage).where(OutboxMessage.kind == "platform.execute")
            )
        ]
    for payload in payloads:
        executor.execute(payload)


def _decide(
    container: Container, item: int, action: Action, user: str = "U0SMAT1", **kw: Any
) -> Recorded | Requested:
    with container.sessions() as session:
        version = session.get_one(ReviewItem, item).version
    return container.review.decide(DecisionRequest(item, version, action, user, **kw))


def _outcome(container: Container, decision_id: int) -> DecisionOutcome:
    with container.sessions() as session:
        return session.scalars(
            select(DecisionOutcome).where(DecisionOutcome.decision_id == decision_id)
        ).one()


def test_hiding_a_flagged_comment_preserves_it_first_then_hides_it(
    container: Container, connector: FakeConnector
) -> None:
    connector.publish(incoming("c1", "You stupid useless idiot"))
    recorded = _decide(container, ABUSE, Action.HIDE, reason_code="bullying_or_harassment")
    assert isinstance(recorded, Recorded)
    with container.sessions() as session:
        decision = session.get_one(Decision, recorded.decision_id)
        record = session.get_one(PreservedRecord, decision.preserved_record_id)
    assert record.text == "You stupid useless idiot"
    assert len(record.content_sha256) == 64
    assert record.thread_context["post_title"] == "Christmas lights switch-on"
    _run_executor(container, connector)
    assert connector.performed == [(PlatformAction.HIDE, "c1")]
    assert _outcome(container, recorded.decision_id).status == "done"


def test_a_removal_needs_a_reason(container: Container) -> None:
    with pytest.raises(Refused) as refused:
        _decide(container, ABUSE, Action.HIDE)
    assert refused.value.code == "reason_required"


def test_hiding_criticism_needs_a_second_member(container: Container) -> None:
    requested = _decide(container, CRITICISM, Action.HIDE, reason_code="false_or_misleading")
    assert isinstance(requested, Requested)
    assert requested.needs == "second_member"
    with pytest.raises(Refused) as own:
        container.review.resolve(requested.request_id, "U0SMAT1", approve=True)
    assert own.value.code == "same_person"
    with pytest.raises(Refused) as busy:
        _decide(container, CRITICISM, Action.APPROVE, user="U0SMAT2")
    assert busy.value.code in ("awaiting_approval", "stale")
    recorded = container.review.resolve(requested.request_id, "U0SMAT2", approve=True)
    assert recorded is not None
    with container.sessions() as session:
        decision = session.get_one(Decision, recorded.decision_id)
    assert (decision.action, decision.actor_slack_id, decision.approved_by) == (
        "hide",
        "U0SMAT1",
        "U0SMAT2",
    )
    with pytest.raises(Refused) as again:
        container.review.resolve(requested.request_id, "U0CLERK", approve=True)
    assert again.value.code == "already_handled"


def test_a_declined_removal_returns_the_comment_to_the_queue(container: Container) -> None:
    requested = _decide(container, CRITICISM, Action.HIDE, reason_code="false_or_misleading")
    assert isinstance(requested, Requested)
    assert container.review.resolve(requested.request_id, "U0SMAT2", approve=False) is None
    with container.sessions() as session:
        assert session.get_one(ReviewItem, CRITICISM).status == "pending"
        assert session.scalars(select(Decision)).all() == []
    assert isinstance(_decide(container, CRITICISM, Action.APPROVE), Recorded)


def test_deleting_needs_the_clerk(container: Container, connector: FakeConnector) -> None:
    requested = _decide(container, ABUSE, Action.DELETE, reason_code="bullying_or_harassment")
    assert isinstance(requested, Requested)
    assert requested.needs == "clerk"
    with pytest.raises(Refused) as refused:
        container.review.resolve(requested.request_id, "U0SMAT2", approve=True)
    assert refused.value.code == "clerk_only"
    assert container.review.resolve(requested.request_id, "U0CLERK", approve=True) is not None
    connector.publish(incoming("c1", "You stupid useless idiot"))
    _run_executor(container, connector)
    assert connector.performed == [(PlatformAction.DELETE, "c1")]


def test_undo_reverses_the_latest_hide_once(container: Container, connector: FakeConnector) -> None:
    hidden = _decide(container, ABUSE, Action.HIDE, reason_code="bullying_or_harassment")
    _run_executor(container, connector)  # hidden on the platform
    undone = _decide(container, ABUSE, Action.UNHIDE)
    assert isinstance(hidden, Recorded)
    assert isinstance(undone, Recorded)
    with container.sessions() as session:
        assert (
            session.get_one(Decision, undone.decision_id).undoes_decision_id == hidden.decision_id
        )
    with pytest.raises(Refused) as again:
        _decide(container, ABUSE, Action.UNHIDE)
    assert again.value.code == "nothing_to_undo"
    _run_executor(container, connector)
    assert connector.performed == [(PlatformAction.HIDE, "c1"), (PlatformAction.UNHIDE, "c1")]


def test_a_warning_posts_the_filled_canned_reply(
    container: Container, connector: FakeConnector
) -> None:
    recorded = _decide(container, ABUSE, Action.WARN, reason_code="bullying_or_harassment")
    assert isinstance(recorded, Recorded)
    sent: list[str | None] = []
    original = connector.perform

    def capture(action: PlatformAction, comment: Any, *, text: str | None = None) -> Any:
        sent.append(text)
        return original(action, comment, text=text)

    connector.perform = capture  # type: ignore[method-assign]
    _run_executor(container, connector)
    assert connector.performed == [(PlatformAction.REPLY, "c1")]
    assert sent[0] is not None
    assert "Example Town Council" in sent[0]
    assert "{" not in sent[0]


def test_an_unfilled_placeholder_is_never_sent() -> None:
    with pytest.raises(UnfilledPlaceholder, match=r"\{council_email\}"):
        fill_template("Write to {council_email}", {"council_email": None})
    assert fill_template("Hi {name}", {"name": "Jo"}) == "Hi Jo"


def test_a_platform_failure_is_retried_and_shown(
    container: Container, connector: FakeConnector
) -> None:
    recorded = _decide(container, ABUSE, Action.HIDE, reason_code="bullying_or_harassment")
    assert isinstance(recorded, Recorded)
    executor = _executor(container, connector)
    original = connector.perform
    failures: list[Exception] = [
        Transient("facebook", "HTTP 502"),
        RateLimited("facebook", "slow", 60),
    ]

    def flaky(action: PlatformAction, comment: Any, *, text: str | None = None) -> Any:
        if failures:
            raise failures.pop(0)
        return original(action, comment, text=text)

    connector.perform = flaky  # type: ignore[method-assign]
    payload = {"decision_id": recorded.decision_id}
    with pytest.raises(Transient):
        executor.execute(payload)
    assert "retrying" in (_outcome(container, recorded.decision_id).detail or "")
    with pytest.raises(RetryLater):
        executor.execute(payload)
    executor.execute(payload)
    executor.execute(payload)  # a repeat delivery after success does nothing more
    assert connector.performed == [(PlatformAction.HIDE, "c1")]
    outcome = _outcome(container, recorded.decision_id)
    assert (outcome.status, outcome.attempts) == ("done", 3)


def test_an_account_not_in_the_register_is_done_by_hand(make_settings: MakeSettings) -> None:
    container = build(
        make_settings(members=MEMBERS), classifier=KeywordClassifier(), clock=FakeClock()
    )
    container.ingest().ingest([incoming("c1", "You stupid useless idiot")])
    recorded = _decide(container, ABUSE, Action.HIDE, reason_code="bullying_or_harassment")
    assert isinstance(recorded, Recorded)
    connector = FakeConnector()
    _run_executor(container, connector)
    assert connector.performed == []
    outcome = _outcome(container, recorded.decision_id)
    assert outcome.status == "not_connected"
    assert "by hand" in (outcome.detail or "")


def test_blocking_on_instagram_is_reported_unsupported(make_settings: MakeSettings) -> None:
    account = {**ACCOUNT, "name": "ig-main", "platform": "instagram"}
    container = build(
        make_settings(members=MEMBERS, accounts=[account]),
        classifier=KeywordClassifier(),
        clock=FakeClock(),
    )
    container.ingest().ingest(
        [incoming("c1", "You stupid useless idiot", platform=Platform.INSTAGRAM)]
    )
    recorded = _decide(container, ABUSE, Action.BLOCK, reason_code="bullying_or_harassment")
    assert isinstance(recorded, Recorded)
    connector = FakeConnector(Platform.INSTAGRAM)
    _run_executor(container, connector)
    assert connector.performed == []
    assert _outcome(container, recorded.decision_id).status == "unsupported"


def test_an_edit_supersedes_a_removal_request(container: Container) -> None:
    requested = _decide(container, CRITICISM, Action.HIDE, reason_code="false_or_misleading")
    assert isinstance(requested, Requested)
    container.ingest().ingest(
        [incoming("c2", "The council wasted our money on the lights again. EDIT: and the tree.")]
    )
    with pytest.raises(Refused) as stale:
        container.review.resolve(requested.request_id, "U0SMAT2", approve=True)
    assert stale.value.code in ("stale", "already_handled")
    with container.sessions() as session:
        assert session.scalars(select(Decision)).all() == []
        assert session.get_one(ReviewItem, CRITICISM).status == "pending"


def test_the_requester_may_withdraw_a_delete_request(container: Container) -> None:
    requested = _decide(container, ABUSE, Action.DELETE, reason_code="bullying_or_harassment")
    assert isinstance(requested, Requested)
    assert container.review.resolve(requested.request_id, "U0SMAT1", approve=False) is None
    with container.sessions() as session:
        assert session.get_one(ReviewItem, ABUSE).status == "pending"


def test_approving_a_request_moves_the_card_on(container: Container) -> None:
    requested = _decide(container, CRITICISM, Action.HIDE, reason_code="false_or_misleading")
    assert isinstance(requested, Requested)
    with container.sessions() as session:
        awaiting_version = session.get_one(ReviewItem, CRITICISM).version
    recorded = container.review.resolve(requested.request_id, "U0SMAT2", approve=True)
    assert recorded is not None
    with container.sessions() as session:
        item = session.get_one(ReviewItem, CRITICISM)
        decision = session.get_one(Decision, recorded.decision_id)
        keys = session.scalars(select(OutboxMessage.idempotency_key)).all()
    assert item.version == awaiting_version + 1
    assert decision.review_version == awaiting_version
    assert f"slack.sync_card:{CRITICISM}:{item.version}" in keys


def test_a_hide_undone_before_it_ran_is_never_carried_out(
    container: Container, connector: FakeConnector
) -> None:
    hidden = _decide(container, ABUSE, Action.HIDE, reason_code="bullying_or_harassment")
    undone = _decide(container, ABUSE, Action.UNHIDE)
    assert isinstance(hidden, Recorded)
    assert isinstance(undone, Recorded)
    _run_executor(container, connector)
    assert connector.performed == []
    assert _outcome(container, hidden.decision_id).status == "not_needed"
    assert _outcome(container, undone.decision_id).status == "not_needed"


def test_hiding_criticism_with_a_link_still_needs_a_second_member(container: Container) -> None:
    container.ingest().ingest(
        [incoming("c3", "The minutes are wrong, see www.example.org/minutes")]
    )
    with container.sessions() as session:
        item = session.scalars(select(ReviewItem).order_by(ReviewItem.id.desc())).first()
        assert item is not None
        item_id = item.id
    assert isinstance(_decide(container, item_id, Action.HIDE, reason_code="spam"), Requested)
    assert isinstance(
        _decide(container, CRITICISM, Action.BLOCK, reason_code="bullying_or_harassment"), Requested
    )


def test_declining_a_delete_of_a_hidden_comment_leaves_it_hidden(container: Container) -> None:
    _decide(container, ABUSE, Action.HIDE, reason_code="bullying_or_harassment")
    requested = _decide(container, ABUSE, Action.DELETE, reason_code="bullying_or_harassment")
    assert isinstance(requested, Requested)
    container.review.resolve(requested.request_id, "U0CLERK", approve=False)
    with container.sessions() as session:
        assert session.get_one(ReviewItem, ABUSE).status == "decided"
    with pytest.raises(Refused):
        _decide(container, ABUSE, Action.HIDE, reason_code="bullying_or_harassment")


def test_a_warning_interrupted_mid_call_is_not_posted_again(
    container: Container, connector: FakeConnector
) -> None:
    recorded = _decide(container, ABUSE, Action.WARN, reason_code="bullying_or_harassment")
    assert isinstance(recorded, Recorded)
    original = connector.perform
    calls: list[PlatformAction] = []

    def timing_out(action: PlatformAction, comment: Any, *, text: str | None = None) -> Any:
        calls.append(action)
        raise Transient("facebook", "read timed out")

    connector.perform = timing_out  # type: ignore[method-assign]
    executor = _executor(container, connector)
    executor.execute({"decision_id": recorded.decision_id})
    connector.perform = original  # type: ignore[method-assign]
    executor.execute({"decision_id": recorded.decision_id})
    assert calls == [PlatformAction.REPLY]
    assert connector.performed == []
    outcome = _outcome(container, recorded.decision_id)
    assert outcome.status == "unknown"
    assert "not known whether the reply was posted" in (outcome.detail or "")

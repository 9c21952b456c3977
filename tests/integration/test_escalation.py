"""Escalations below Slack, on SQLite and PostgreSQL: raising, the Clerk's answers, reminders."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.container import Container, build
from bot.services.escalation import EscalationRequest, EscalationService, OutcomeRequest
from bot.services.review import Action, DecisionRequest, Refused
from storage.models import (
    Decision,
    Escalation,
    OutboxMessage,
    PreservedRecord,
    RemovalRequest,
    ReviewItem,
)
from tests.conftest import MakeSettings
from tests.fakes.classifier import KeywordClassifier
from tests.fakes.clock import FakeClock
from tests.integration.helpers import incoming

CLERK, DEPUTY, SMAT, VIEWER = "U0CLERK", "U0DEPUTY", "U0SMAT1", "U0VIEWER"
MEMBERS = [
    {"slack_user_id": CLERK, "role": "clerk", "name": "Town Clerk"},
    {"slack_user_id": DEPUTY, "role": "deputy", "name": "Deputy Clerk"},
    {"slack_user_id": SMAT, "role": "smat", "name": "Jo"},
    {"slack_user_id": VIEWER, "role": "viewer", "name": "Viv"},
]
ABUSE, CRITICISM = 1, 2  # review item ids
MONDAY_9 = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)  # GMT: 09:00 in London


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(MONDAY_9)


@pytest.fixture
def container(make_settings: MakeSettings, clock: FakeClock) -> Container:
    settings = make_settings(members=MEMBERS, council={"name": "Example Town Council"})
    container = build(settings, classifier=KeywordClassifier(), clock=clock)
    container.ingest().ingest(
        [
            incoming("c1", "You stupid useless idiot"),
            incoming("c2", "The council wasted our money on the lights again."),
        ]
    )
    return container


def service(container: Container) -> EscalationService:
    return container.escalations()


def version(container: Container, item_id: int) -> int:
    with container.sessions() as session:
        return session.get_one(ReviewItem, item_id).version


def escalate(
    container: Container,
    item_id: int = ABUSE,
    reason: str = "press",
    actor: str = SMAT,
    offences: tuple[str, ...] = (),
) -> int:
    escalated = service(container).escalate(
        EscalationRequest(item_id, version(container, item_id), actor, reason, offences, "A note")
    )
    return escalated.escalation_id


def row(container: Container, escalation_id: int) -> Escalation:
    with container.sessions() as session:
        return session.get_one(Escalation, escalation_id)


def keys(container: Container, prefix: str) -> list[str]:
    with container.sessions() as session:
        return sorted(
            session.scalars(
                select(OutboxMessage.idempotency_key).where(
                    OutboxMessage.idempotency_key.startswith(prefix)
                )
            )
        )


def decide(
    container: Container,
    escalation_id: int,
    outcome: str,
    actor: str = CLERK,
    reason_code: str | None = "bullying_or_harassment",
    expected: int | None = None,
) -> None:
    item_id = row(container, escalation_id).review_item_id
    service(container).decide(
        OutcomeRequest(
            escalation_id,
            expected if expected is not None else version(container, item_id),
            outcome,
            actor,
            reason_code,
            "Clerk's note",
        )
    )


# ---------------------------------------------------------------------- raising


def test_an_escalation_is_a_decision_an_escalation_and_its_messages(
    container: Container,
) -> None:
    escalation_id = escalate(container, offences=("malicious_communications_s1", "harassment_s2"))

    esc = row(container, escalation_id)
    assert (esc.reason, esc.escalated_by, esc.status, esc.immediate) == (
        "press",
        SMAT,
        "open",
        False,
    )
    assert esc.offences == [
        "Malicious Communications Act 1988, s1",
        "Protection from Harassment Act 1997, s2",
    ]
    with container.sessions() as session:
        decision = session.get_one(Decision, esc.decision_id)
        assert (decision.action, decision.actor_slack_id, decision.note) == (
            "escalate",
            SMAT,
            "A note",
        )
        assert session.get_one(ReviewItem, ABUSE).status == "decided"
    assert keys(container, "escalation.card:") == [f"escalation.card:{escalation_id}:opened"]
    assert keys(container, "platform.execute:") == [], "an escalation is not a platform action"
    assert esc.next_reminder_at == datetime(2026, 11, 16, 11, 0, tzinfo=UTC)


def test_a_second_escalation_and_a_stale_click_are_refused(container: Container) -> None:
    escalate(container)
    with pytest.raises(Refused, match="already with the Town Clerk"):
        escalate(container, actor=CLERK)
    # A click on a card someone has decided on since is refused with who did.
    container.review.decide(DecisionRequest(CRITICISM, 1, Action.APPROVE, SMAT))
    with pytest.raises(Refused, match="Already handled by <@U0SMAT1> \\(approve\\)"):
        service(container).escalate(EscalationRequest(CRITICISM, 1, CLERK, "press"))
    with container.sessions() as session:
        assert len(session.scalars(select(Escalation)).all()) == 1


@pytest.mark.parametrize("actor", [VIEWER, "U0STRANGER"])
def test_only_deciding_members_escalate(
    container: Container, actor: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING), pytest.raises(Refused, match="Only SMAT members"):
        escalate(container, actor=actor)
    assert f"refused escalation of review item 1 by {actor}" in caplog.text
    with container.sessions() as session:
        assert session.scalars(select(Escalation)).all() == []


def test_bad_reasons_and_offences_are_refused(container: Container) -> None:
    with pytest.raises(Refused, match="Pick why"):
        escalate(container, reason="boredom")
    with pytest.raises(Refused, match="offences from the list"):
        escalate(container, offences=("treason",))


# ---------------------------------------------------------------------- reminders


def test_reminders_every_two_working_hours_and_the_deputy_after_four(
    container: Container, clock: FakeClock
) -> None:
    clock.advance(hours=1)  # Monday 10:00
    escalation_id = escalate(container)
    assert service(container).send_reminders().reminders == 0
    # The Clerk's DM goes at once in working hours.
    assert f"escalation.card:{escalation_id}:dm" in keys(container, "escalation.card:")

    clock.advance(hours=1, minutes=59)
    report = service(container).send_reminders()
    assert (report.reminders, report.deputies) == (0, 0)
    clock.advance(minutes=1)  # 12:00
    assert service(container).send_reminders().reminders == 1
    assert service(container).send_reminders().reminders == 0, "once per due time"
    clock.advance(hours=2)  # 14:00: second reminder, and the Deputy
    report = service(container).send_reminders()
    assert (report.reminders, report.deputies) == (1, 1)
    clock.advance(hours=2)
    assert service(container).send_reminders().deputies == 0, "the Deputy is pinged once"
    assert keys(container, "escalation.remind:") == [
        f"escalation.remind:{escalation_id}:{n}" for n in (1, 2, 3)
    ]
    assert keys(container, "escalation.deputy:") == [f"escalation.deputy:{escalation_id}"]

    service(container).acknowledge(escalation_id, DEPUTY)
    clock.advance(hours=8)
    assert service(container).send_reminders().reminders == 0
    esc = row(container, escalation_id)
    assert (esc.status, esc.acknowledged_by, esc.reminders_sent) == ("acknowledged", DEPUTY, 3)


def test_an_ordinary_escalation_at_night_waits_for_the_office(
    container: Container, clock: FakeClock
) -> None:
    clock.now = datetime(2026, 11, 16, 18, 0, tzinfo=UTC)  # Monday 18:00
    escalation_id = escalate(container, reason="complaint")
    for hour in range(15):  # through the night, to Tuesday 08:00
        clock.now = datetime(2026, 11, 16, 18, 0, tzinfo=UTC) + timedelta(hours=hour)
        report = service(container).send_reminders()
        assert (report.clerk_cards, report.reminders, report.deputies) == (0, 0, 0)
    clock.now = datetime(2026, 11, 17, 8, 59, tzinfo=UTC)
    assert service(container).send_reminders().clerk_cards == 0
    clock.now = datetime(2026, 11, 17, 9, 0, tzinfo=UTC)
    assert service(container).send_reminders().clerk_cards == 1
    assert f"escalation.card:{escalation_id}:dm" in keys(container, "escalation.card:")
    clock.now = datetime(2026, 11, 17, 11, 0, tzinfo=UTC)
    assert service(container).send_reminders().reminders == 1
    clock.now = datetime(2026, 11, 17, 13, 0, tzinfo=UTC)
    assert service(container).send_reminders().deputies == 1


def test_a_threat_at_night_goes_at_once_with_the_short_deputy_fallback(
    container: Container, clock: FakeClock
) -> None:
    clock.now = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)  # Saturday 02:00
    escalation_id = escalate(container, reason="threat")
    assert row(container, escalation_id).immediate
    assert service(container).send_reminders().clerk_cards == 1
    clock.advance(minutes=29)
    report = service(container).send_reminders()
    assert (report.reminders, report.deputies) == (0, 0)
    clock.advance(minutes=1)
    report = service(container).send_reminders()
    assert (report.reminders, report.deputies) == (1, 1)
    clock.advance(minutes=30)
    assert service(container).send_reminders().reminders == 1


# ---------------------------------------------------------------------- the Clerk's answers


def test_upholding_hides_as_the_clerk_without_a_second_member(container: Container) -> None:
    escalation_id = escalate(container, item_id=CRITICISM)  # the policy suggested approving
    decide(container, escalation_id, "upheld")
    with container.sessions() as session:
        decisions = session.scalars(select(Decision).order_by(Decision.id)).all()
        assert [(d.action, d.actor_slack_id) for d in decisions] == [
            ("escalate", SMAT),
            ("hide", CLERK),
        ]
        hide = decisions[-1]
        assert hide.reason_code == "bullying_or_harassment"
        assert hide.preserved_record_id is not None
        assert session.scalars(select(RemovalRequest)).all() == []
    assert keys(container, "platform.execute:") == [f"platform.execute:{hide.id}"]
    esc = row(container, escalation_id)
    assert (esc.status, esc.outcome, esc.outcome_by, esc.acknowledged_by) == (
        "closed",
        "upheld",
        CLERK,
        CLERK,
    )
    assert esc.outcome_note == "Clerk's note"
    assert esc.next_reminder_at is None
    with pytest.raises(Refused, match="Already handled by <@U0CLERK> \\(upheld"):
        decide(container, escalation_id, "overruled", actor=DEPUTY)
    with pytest.raises(Refused, match="Already handled"):
        service(container).acknowledge(escalation_id, CLERK)


def test_overruling_unhides_or_approves(container: Container) -> None:
    first = escalate(container)
    decide(container, first, "upheld")
    second = escalate(container)  # escalated again after the hide
    decide(container, second, "overruled", actor=DEPUTY, reason_code=None)
    third = escalate(container, item_id=CRITICISM)
    decide(container, third, "overruled", reason_code=None)
    with container.sessions() as session:
        actions = [
            (d.review_item_id, d.action, d.actor_slack_id)
            for d in session.scalars(select(Decision).order_by(Decision.id))
        ]
    assert actions == [
        (ABUSE, "escalate", SMAT),
        (ABUSE, "hide", CLERK),
        (ABUSE, "escalate", SMAT),
        (ABUSE, "unhide", DEPUTY),
        (CRITICISM, "escalate", SMAT),
        (CRITICISM, "approve", CLERK),
    ]


def test_referring_to_the_police_hides_and_puts_the_original_on_legal_hold(
    container: Container,
) -> None:
    escalation_id = escalate(container, reason="threat")
    decide(container, escalation_id, "hidden_referred_police")
    with container.sessions() as session:
        records = session.scalars(select(PreservedRecord)).all()
        assert len(records) == 1
        assert records[0].legal_hold
        assert session.scalar(select(Decision.action).order_by(Decision.id.desc())) == "hide"
    assert row(container, escalation_id).outcome == "hidden_referred_police"


def test_reporting_to_the_platform_changes_nothing_on_the_comment(container: Container) -> None:
    escalation_id = escalate(container)
    decide(container, escalation_id, "reported_to_platform", reason_code=None, expected=999)
    with container.sessions() as session:
        assert [d.action for d in session.scalars(select(Decision))] == ["escalate"]
    assert row(container, escalation_id).outcome == "reported_to_platform"


@pytest.mark.parametrize("actor", [SMAT, VIEWER, "U0STRANGER"])
def test_only_the_clerk_and_deputy_answer(
    container: Container, actor: str, caplog: pytest.LogCaptureFixture
) -> None:
    escalation_id = escalate(container)
    with caplog.at_level(logging.WARNING):
        with pytest.raises(Refused, match="Only the Town Clerk and the Deputy Clerk"):
            decide(container, escalation_id, "upheld", actor=actor)
        with pytest.raises(Refused, match="Only the Town Clerk and the Deputy Clerk"):
            service(container).acknowledge(escalation_id, actor)
    assert f"refused upheld on escalation {escalation_id} by {actor}" in caplog.text
    assert f"refused acknowledge on escalation {escalation_id} by {actor}" in caplog.text
    assert row(container, escalation_id).status == "open"


def test_a_clerk_click_on_an_out_of_date_card_is_refused_and_refreshed(
    container: Container,
) -> None:
    escalation_id = escalate(container)
    stale = version(container, ABUSE)
    # A SMAT member hides it from the triage card meanwhile.
    container.review.decide(
        DecisionRequest(ABUSE, stale, Action.HIDE, SMAT, "bullying_or_harassment")
    )
    with pytest.raises(Refused, match="out of date"):
        decide(container, escalation_id, "overruled", reason_code=None, expected=stale)
    assert any(":refresh:" in key for key in keys(container, "escalation.card:"))
    assert row(container, escalation_id).status == "open"
    decide(container, escalation_id, "overruled", reason_code=None)  # on the fresh card
    with container.sessions() as session:
        assert session.scalar(select(Decision.action).order_by(Decision.id.desc())) == "unhide"


def test_acknowledging_twice_says_who_did(container: Container) -> None:
    escalation_id = escalate(container)
    service(container).acknowledge(escalation_id, CLERK)
    with pytest.raises(Refused, match="Already acknowledged by <@U0CLERK> at 09:00"):
        service(container).acknowledge(escalation_id, DEPUTY)


# ---------------------------------------------------------------------- automatic


def test_a_threat_is_escalated_by_itself_at_ingest_once(container: Container) -> None:
    container.ingest().ingest([incoming("c3", "I will smash your face in")])
    with container.sessions() as session:
        [esc] = session.scalars(select(Escalation)).all()
        assert (esc.escalated_by, esc.reason, esc.immediate, esc.decision_id) == (
            "system",
            "threat",
            True,
            None,
        )
        assert "Malicious Communications Act 1988, s1" in esc.offences
        assert session.get_one(ReviewItem, esc.review_item_id).status == "pending"
    # An edit that is still a threat does not open a second escalation.
    container.ingest().ingest([incoming("c3", "I will smash your face in, I mean it")])
    with container.sessions() as session:
        assert len(session.scalars(select(Escalation)).all()) == 1
    # A SMAT member's Escalate… is refused while it is open.
    with pytest.raises(Refused, match=r"already with the Town Clerk .*automatically"):
        escalate(container, item_id=esc.review_item_id)


# ---------------------------------------------------------------------- wiring


def test_the_scheduler_runs_the_reminder_job(container: Container, clock: FakeClock) -> None:
    from bot import scheduler

    escalation_id = escalate(container)
    running = scheduler.start_scheduler(container)
    try:
        assert running.get_job("escalation-reminders", jobstore="volatile") is not None
        clock.advance(hours=2)
        scheduler.escalation_reminders_job()
    finally:
        running.shutdown(wait=False)
    assert keys(container, "escalation.remind:") == [f"escalation.remind:{escalation_id}:1"]


def test_the_executor_never_takes_an_escalation_to_the_platform(container: Container) -> None:
    from bot.services.executor import Executor
    from storage.models import DecisionOutcome

    escalation_id = escalate(container)
    decision_id = row(container, escalation_id).decision_id

    def no_connector(_: object) -> object:
        raise AssertionError("the platform must not be called for an escalation")

    Executor(
        container.sessions,
        container.settings,
        no_connector,  # type: ignore[arg-type]
        container.accounts,
        container.clock,
    ).execute({"decision_id": decision_id})
    with container.sessions() as session:
        outcome = session.scalar(
            select(DecisionOutcome).where(DecisionOutcome.decision_id == decision_id)
        )
        assert outcome is not None
        assert outcome.status == "not_needed"


def test_a_reply_by_the_clerk_closes_the_escalation_as_replied(
    container: Container, clock: FakeClock
) -> None:
    escalation_id = escalate(container, reason="complaint")
    with container.sessions.begin() as session:
        assert service(container).close_with_reply(session, ABUSE, SMAT, clock()) is None
    assert row(container, escalation_id).status == "open"
    with container.sessions.begin() as session:
        closed = service(container).close_with_reply(session, ABUSE, CLERK, clock())
    assert closed == escalation_id
    esc = row(container, escalation_id)
    assert (esc.status, esc.outcome, esc.outcome_by) == ("closed", "replied", CLERK)
    assert f"escalation.card:{escalation_id}:closed" in keys(container, "escalation.card:")


def test_the_clerk_posting_a_reply_from_slack_closes_the_escalation(container: Container) -> None:
    from bot.services.replies import ReplyForm
    from handlers.replies import reply_service

    escalation_id = escalate(container, reason="complaint")
    replies = reply_service(container)
    replies.reply(
        ReplyForm(
            review_item_id=ABUSE,
            expected_version=version(container, ABUSE),
            actor_slack_id=CLERK,
            canned_key=None,
            canned_version=None,
            text="Thank you: the Town Clerk will write to you about this.",
            route=None,
            route_only=False,
        )
    )
    esc = row(container, escalation_id)
    assert (esc.status, esc.outcome, esc.outcome_by) == ("closed", "replied", CLERK)

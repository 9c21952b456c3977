"""SMAT membership managed by the Clerk and the Deputy: every rule, on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.container import Container, build
from bot.services.members import MembershipChange, MembershipRefused
from config.settings import Permission
from storage.models import Member, MemberEvent
from tests.conftest import MakeSettings
from tests.fakes.classifier import KeywordClassifier
from tests.fakes.clock import FakeClock

CLERK = "U0CLERK"
DEPUTY = "U0DEPUTY"
SMAT = "U0SMAT1"
VIEWER = "U0VIEWER"
NEWCOMER = "U0NEW"
STRANGER = "U0STRANGER"

MEMBERS = [
    {"slack_user_id": CLERK, "role": "clerk", "name": "Clare Clerk"},
    {"slack_user_id": DEPUTY, "role": "deputy", "name": "Dee Deputy"},
    {"slack_user_id": SMAT, "role": "smat", "name": "Jo"},
    {"slack_user_id": VIEWER, "role": "viewer", "name": "Viv"},
]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def container(make_settings: MakeSettings, clock: FakeClock) -> Container:
    return build(make_settings(members=MEMBERS), classifier=KeywordClassifier(), clock=clock)


def _member(container: Container, slack_user_id: str) -> Member | None:
    with container.sessions() as session:
        return session.scalar(select(Member).where(Member.slack_user_id == slack_user_id))


def _events(container: Container) -> list[MemberEvent]:
    with container.sessions() as session:
        return list(session.scalars(select(MemberEvent).order_by(MemberEvent.id)))


def _snapshot(container: Container) -> list[tuple[str, str, bool]]:
    with container.sessions() as session:
        rows = session.scalars(select(Member).order_by(Member.slack_user_id))
        return [(m.slack_user_id, m.role, m.active) for m in rows]


def _refused(container: Container, call: object, code: str) -> MembershipRefused:
    """Assert the call was refused with ``code`` and changed nothing at all."""
    before = (_snapshot(container), len(_events(container)))
    assert callable(call)
    with pytest.raises(MembershipRefused) as refused:
        call()
    assert refused.value.code == code
    assert (_snapshot(container), len(_events(container))) == before
    return refused.value


# --- adding, changing roles, removing, re-adding ------------------------------------------------


def test_the_clerk_adds_a_member_and_the_change_is_logged(
    container: Container, clock: FakeClock
) -> None:
    clock.advance(hours=1)
    change = container.members.add(CLERK, NEWCOMER, "smat", "Sam New")

    assert change == MembershipChange(
        event_id=change.event_id,
        change="add",
        target_slack_id=NEWCOMER,
        target_name="Sam New",
        role="smat",
        previous_role=None,
        actor_slack_id=CLERK,
        actor_role="clerk",
        needs_clerk_review=False,
        changed_at=clock.now,
    )
    member = _member(container, NEWCOMER)
    assert member is not None
    assert (member.role, member.active, member.added_by, member.added_at, member.removed_at) == (
        "smat",
        True,
        CLERK,
        clock.now,
        None,
    )
    assert member.display_name == "Sam New"
    [event] = _events(container)
    assert (
        event.id,
        event.slack_user_id,
        event.change,
        event.role,
        event.changed_by,
        event.changed_by_role,
        event.needs_clerk_review,
        event.reviewed_by,
        event.changed_at,
    ) == (change.event_id, NEWCOMER, "add", "smat", CLERK, "clerk", False, None, clock.now)
    found = container.members.find(NEWCOMER)
    assert found is not None
    assert Permission.DECIDE in container.members.permissions(found.role)


def test_a_role_change_is_logged_with_the_previous_role(container: Container) -> None:
    change = container.members.add(CLERK, SMAT, "VIEWER")  # roles are case-insensitive
    assert (change.change, change.role, change.previous_role) == ("role_change", "viewer", "smat")
    member = _member(container, SMAT)
    assert member is not None
    assert (member.role, member.active, member.display_name) == ("viewer", True, "Jo")
    [event] = _events(container)
    assert (event.change, event.role, event.slack_user_id) == ("role_change", "viewer", SMAT)


def test_removing_revokes_access_but_keeps_the_record(
    container: Container, clock: FakeClock
) -> None:
    clock.advance(days=2)
    change = container.members.remove(CLERK, SMAT)
    assert (change.change, change.role, change.previous_role) == ("remove", None, "smat")
    assert container.members.find(SMAT) is None
    member = _member(container, SMAT)
    assert member is not None, "removal keeps the history"
    assert (member.active, member.removed_at, member.role) == (False, clock.now, "smat")
    [event] = _events(container)
    assert (event.change, event.role, event.changed_by, event.slack_user_id) == (
        "remove",
        None,
        CLERK,
        SMAT,
    )
    listed = [record.slack_user_id for record in container.members.list(CLERK)]
    assert SMAT not in listed


def test_re_adding_a_former_member_reactivates_the_same_record(
    container: Container, clock: FakeClock
) -> None:
    original = _member(container, SMAT)
    assert original is not None
    container.members.remove(CLERK, SMAT)
    clock.advance(days=30)
    change = container.members.add(DEPUTY, SMAT, "viewer", "Jo Returns")
    assert (change.change, change.previous_role, change.role) == ("reactivate", None, "viewer")
    member = _member(container, SMAT)
    assert member is not None
    assert member.id == original.id
    assert (member.active, member.removed_at, member.role, member.display_name) == (
        True,
        None,
        "viewer",
        "Jo Returns",
    )
    assert (member.added_by, member.added_at) == (DEPUTY, clock.now)
    assert [(e.change, e.role) for e in _events(container)] == [
        ("remove", None),
        ("reactivate", "viewer"),
    ]


def test_a_removed_member_can_no_longer_manage_or_decide(container: Container) -> None:
    container.members.remove(CLERK, DEPUTY)
    assert container.members.find(DEPUTY) is None
    _refused(container, lambda: container.members.add(DEPUTY, NEWCOMER, "smat"), "not_allowed")


def test_a_clerk_appoints_another_clerk_who_can_then_manage(container: Container) -> None:
    change = container.members.add(CLERK, DEPUTY, "clerk")
    assert (change.change, change.previous_role, change.role) == ("role_change", "deputy", "clerk")
    # The new Clerk's own changes are not flagged for review.
    assert not container.members.add(DEPUTY, NEWCOMER, "smat").needs_clerk_review


# --- the Deputy's changes are flagged for the Clerk ---------------------------------------------


def test_a_deputy_change_is_flagged_until_the_clerk_reviews_it(container: Container) -> None:
    added = container.members.add(DEPUTY, NEWCOMER, "smat")
    removed = container.members.remove(DEPUTY, VIEWER)
    container.members.add(CLERK, SMAT, "viewer")  # the Clerk's own change: not flagged
    assert added.needs_clerk_review
    assert removed.needs_clerk_review
    assert [(e.change, e.changed_by_role, e.needs_clerk_review) for e in _events(container)] == [
        ("add", "deputy", True),
        ("remove", "deputy", True),
        ("role_change", "clerk", False),
    ]

    waiting = container.members.events_needing_review()
    assert [e.id for e in waiting] == [added.event_id, removed.event_id]
    assert container.members.events_needing_review(DEPUTY) == waiting
    assert waiting[0].slack_user_id == NEWCOMER
    assert (waiting[0].changed_by, waiting[0].reviewed_by) == (DEPUTY, None)

    reviewed = container.members.mark_reviewed(CLERK, added.event_id)
    assert reviewed.reviewed_by == CLERK
    assert [e.id for e in container.members.events_needing_review()] == [removed.event_id]
    with container.sessions() as session:
        event = session.get_one(MemberEvent, added.event_id)
        assert (event.reviewed_by, event.needs_clerk_review) == (CLERK, True)

    again = _refused(
        container,
        lambda: container.members.mark_reviewed(CLERK, added.event_id),
        "already_reviewed",
    )
    assert f"<@{CLERK}>" in again.message


def test_only_a_clerk_marks_a_change_reviewed(container: Container) -> None:
    flagged = container.members.add(DEPUTY, NEWCOMER, "smat")
    unflagged = container.members.add(CLERK, SMAT, "viewer")
    _refused(
        container, lambda: container.members.mark_reviewed(DEPUTY, flagged.event_id), "clerk_only"
    )
    _refused(
        container, lambda: container.members.mark_reviewed(SMAT, flagged.event_id), "not_allowed"
    )
    _refused(
        container,
        lambda: container.members.mark_reviewed(CLERK, unflagged.event_id),
        "unknown_event",
    )
    _refused(container, lambda: container.members.mark_reviewed(CLERK, 9999), "unknown_event")
    _refused(container, lambda: container.members.events_needing_review(VIEWER), "not_allowed")


# --- safety rules --------------------------------------------------------------------------------


@pytest.mark.parametrize("actor", [CLERK, DEPUTY])
def test_nobody_can_remove_themselves(container: Container, actor: str) -> None:
    refusal = _refused(container, lambda: container.members.remove(actor, actor), "self")
    assert "cannot remove yourself" in refusal.message


def test_only_a_clerk_can_appoint_change_or_remove_a_clerk(container: Container) -> None:
    members = container.members
    _refused(container, lambda: members.add(DEPUTY, NEWCOMER, "clerk"), "clerk_only")
    _refused(container, lambda: members.add(DEPUTY, SMAT, "clerk"), "clerk_only")
    _refused(container, lambda: members.add(DEPUTY, DEPUTY, "clerk"), "clerk_only")
    _refused(container, lambda: members.add(DEPUTY, CLERK, "smat"), "clerk_only")
    _refused(container, lambda: members.remove(DEPUTY, CLERK), "clerk_only")


def test_the_last_clerk_cannot_be_demoted(container: Container) -> None:
    refusal = _refused(
        container, lambda: container.members.add(CLERK, CLERK, "deputy"), "last_clerk"
    )
    assert "last Clerk" in refusal.message


def test_a_clerk_may_step_down_when_another_clerk_remains(container: Container) -> None:
    container.members.add(CLERK, DEPUTY, "clerk")
    change = container.members.add(CLERK, CLERK, "deputy")
    assert (change.change, change.previous_role, change.role) == ("role_change", "clerk", "deputy")
    assert container.members.clerk_ids() == [DEPUTY]
    # ...and the remaining Clerk is now the last one.
    _refused(container, lambda: container.members.add(DEPUTY, DEPUTY, "smat"), "last_clerk")
    _refused(container, lambda: container.members.remove(CLERK, DEPUTY), "clerk_only")


def test_a_clerk_removes_another_clerk(container: Container) -> None:
    container.members.add(CLERK, NEWCOMER, "clerk")
    container.members.remove(NEWCOMER, CLERK)
    assert container.members.clerk_ids() == [NEWCOMER]
    _refused(container, lambda: container.members.add(NEWCOMER, NEWCOMER, "smat"), "last_clerk")


def test_two_clerks_removing_each_other_at_once_leave_one_clerk(container: Container) -> None:
    container.members.add(CLERK, NEWCOMER, "clerk")
    barrier = threading.Barrier(2)
    outcomes: dict[str, object] = {}

    def remove(actor: str, target: str) -> None:
        barrier.wait()
        try:
            outcomes[actor] = container.members.remove(actor, target).change
        except MembershipRefused as refusal:
            outcomes[actor] = refusal.code

    threads = [
        threading.Thread(target=remove, args=(CLERK, NEWCOMER)),
        threading.Thread(target=remove, args=(NEWCOMER, CLERK)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(map(str, outcomes.values())) == ["not_allowed", "remove"]
    assert len(container.members.clerk_ids()) == 1
    assert [e.change for e in _events(container)] == ["add", "remove"]


# --- refusals ------------------------------------------------------------------------------------


@pytest.mark.parametrize("actor", [SMAT, VIEWER, STRANGER])
def test_anyone_else_is_refused_politely_nothing_changes_and_it_is_logged(
    container: Container, actor: str, caplog: pytest.LogCaptureFixture
) -> None:
    members = container.members
    with caplog.at_level(logging.WARNING, logger="bot.services.members"):
        for attempt in (
            lambda: members.add(actor, NEWCOMER, "smat"),
            lambda: members.add(actor, actor, "deputy"),
            lambda: members.remove(actor, VIEWER if actor != VIEWER else SMAT),
            lambda: members.list(actor),
        ):
            refusal = _refused(container, attempt, "not_allowed")
            assert refusal.message.startswith("Sorry")
            assert "only the Town Clerk and the Deputy Clerk" in refusal.message
            assert "Nothing was changed" in refusal.message
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 4
    assert all(actor in message and "refused" in message for message in warnings)
    assert _events(container) == []


def test_an_unknown_role_is_refused(container: Container) -> None:
    refusal = _refused(
        container, lambda: container.members.add(CLERK, NEWCOMER, "admin"), "unknown_role"
    )
    assert "clerk, deputy, smat, viewer" in refusal.message


def test_adding_someone_in_the_role_they_hold_changes_nothing(container: Container) -> None:
    refusal = _refused(container, lambda: container.members.add(CLERK, SMAT, "smat"), "unchanged")
    assert f"<@{SMAT}>" in refusal.message


def test_removing_someone_who_is_not_a_member_changes_nothing(container: Container) -> None:
    _refused(container, lambda: container.members.remove(CLERK, STRANGER), "not_a_member")
    container.members.remove(CLERK, SMAT)
    _refused(container, lambda: container.members.remove(CLERK, SMAT), "not_a_member")


# --- the list ------------------------------------------------------------------------------------


def test_the_list_shows_role_and_when_and_by_whom_added(
    container: Container, clock: FakeClock
) -> None:
    seeded_at = clock.now
    clock.advance(hours=3)
    container.members.add(DEPUTY, NEWCOMER, "smat", "Sam")
    records = container.members.list(DEPUTY)
    assert [(r.slack_user_id, r.role, r.added_by) for r in records] == [
        (CLERK, "clerk", "config"),
        (DEPUTY, "deputy", "config"),
        (SMAT, "smat", "config"),
        (NEWCOMER, "smat", DEPUTY),
        (VIEWER, "viewer", "config"),
    ]
    assert records[0].added_at == seeded_at
    assert records[3].added_at == seeded_at + timedelta(hours=3)
    assert records[3].display_name == "Sam"
    assert records[0].added_at.tzinfo is not None


def test_seeds_do_not_overrule_the_clerk_after_first_start(
    make_settings: MakeSettings, clock: FakeClock
) -> None:
    settings = make_settings(members=MEMBERS)
    first = build(settings, classifier=KeywordClassifier(), clock=clock)
    first.members.remove(CLERK, SMAT)
    again = build(settings, classifier=KeywordClassifier(), clock=clock)
    assert again.members.find(SMAT) is None
    with again.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Member)) == len(MEMBERS)

"""The read-only overview queries on SQLite and PostgreSQL: queue, requests, decisions, authors."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.container import Container, build
from bot.services.overview import AccountHistory, Overview, member_who_may_view
from bot.services.review import Action, DecisionRequest, Recorded, Requested
from platforms.types import Platform
from storage.models import Comment, Decision, ReviewItem
from tests.conftest import MakeSettings
from tests.fakes.classifier import KeywordClassifier
from tests.fakes.clock import FakeClock
from tests.integration.helpers import incoming

CLERK, SMAT1, SMAT2, VIEWER = "U0CLERK", "U0SMAT1", "U0SMAT2", "U0VIEWER"
MEMBERS = [
    {"slack_user_id": CLERK, "role": "clerk", "name": "Town Clerk"},
    {"slack_user_id": SMAT1, "role": "smat", "name": "Jo"},
    {"slack_user_id": SMAT2, "role": "smat", "name": "Sam"},
    {"slack_user_id": VIEWER, "role": "viewer", "name": "Viv"},
]
ACCOUNTS = [
    {
        "name": "fb-main",
        "platform": "facebook",
        "id": "ExampleTownCouncil",
        "display_name": "Example Town Council",
        "token": "env:FB_TOKEN",
    },
    {
        "name": "fb-events",
        "platform": "facebook",
        "id": "ExampleTownEvents",
        "display_name": "Example Town Events",
        "token": "env:FB_TOKEN",
    },
]
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
REASON = "bullying_or_harassment"


def _at(day: int, hour: int) -> datetime:
    return datetime(2026, 11, day, hour, 0, tzinfo=UTC)


COMMENTS = [
    # external id, author, text, account, posted
    ("c1", "Kev R", "You stupid useless idiot", "ExampleTownCouncil", _at(17, 8)),
    ("c2", "Margaret H", "The council wasted our money again.", "ExampleTownCouncil", _at(18, 9)),
    ("c3", "Kev R", "Useless council, idiot clerk", "ExampleTownEvents", _at(19, 10)),
    ("c4", "Åsa Lindqvist", "When is the bin collection?", "ExampleTownCouncil", _at(19, 11)),
    ("c5", "KEVIN Smith", "Thanks for the lights", "ExampleTownCouncil", _at(20, 9)),
    ("c6", "100% Real_Name", "Lovely photo of the market", "ExampleTownEvents", _at(20, 10)),
]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def container(make_settings: MakeSettings, clock: FakeClock) -> Container:
    settings = make_settings(members=MEMBERS, accounts=ACCOUNTS)
    container = build(settings, classifier=KeywordClassifier(), clock=clock)
    container.ingest().ingest(
        replace(incoming(ext, text, author=author, account=account), created_at=posted)
        for ext, author, text, account, posted in COMMENTS
    )
    return container


@pytest.fixture
def overview(container: Container) -> Overview:
    return Overview(container.sessions)


def _item(container: Container, external_id: str) -> int:
    with container.sessions() as session:
        return session.scalars(
            select(ReviewItem.id)
            .join(Comment, Comment.id == ReviewItem.comment_id)
            .where(Comment.external_id == external_id)
        ).one()


def _decide(
    container: Container, external_id: str, action: Action, user: str = SMAT1, **kw: Any
) -> Recorded | Requested:
    item = _item(container, external_id)
    with container.sessions() as session:
        version = session.get_one(ReviewItem, item).version
    return container.review.decide(DecisionRequest(item, version, action, user, **kw))


# --- the queue ----------------------------------------------------------------------------------


def test_the_queue_counts_what_waits_and_how_old_it_is(
    container: Container, overview: Overview, clock: FakeClock
) -> None:
    summary = overview.queue()
    assert (summary.pending, summary.awaiting_approval, summary.open_requests) == (6, 0, 0)
    assert summary.flagged == 2, "c1 and c3 break the policy"
    assert summary.clean == 4
    assert summary.by_suggestion["approve"] == 4
    assert summary.oldest_pending_posted_at == _at(17, 8)
    assert summary.oldest_request_at is None

    assert isinstance(_decide(container, "c1", Action.HIDE, reason_code=REASON), Recorded)
    clock.advance(minutes=5)
    requested = _decide(container, "c2", Action.HIDE, reason_code="false_or_misleading")
    assert isinstance(requested, Requested), "hiding criticism needs a second member"

    summary = overview.queue()
    assert (summary.pending, summary.awaiting_approval, summary.open_requests) == (4, 1, 1)
    assert (summary.flagged, summary.clean) == (1, 3)
    assert summary.waiting == 5
    assert summary.oldest_pending_posted_at == _at(19, 10), "c3 is now the oldest pending"
    assert summary.oldest_request_at == NOW + timedelta(minutes=5)


def test_an_empty_queue(make_settings: MakeSettings) -> None:
    container = build(make_settings(), classifier=KeywordClassifier(), clock=FakeClock(NOW))
    summary = Overview(container.sessions).queue()
    assert (summary.pending, summary.awaiting_approval, summary.flagged, summary.clean) == (
        0,
        0,
        0,
        0,
    )
    assert summary.oldest_pending_posted_at is None
    assert Overview(container.sessions).waiting_longest() == []
    assert Overview(container.sessions).open_requests() == []


def test_the_items_waiting_longest_come_oldest_first(
    container: Container, overview: Overview
) -> None:
    _decide(container, "c1", Action.HIDE, reason_code=REASON)
    _decide(container, "c2", Action.HIDE, reason_code="false_or_misleading")
    waiting = overview.waiting_longest(5)
    assert [w.text for w in waiting] == [
        "The council wasted our money again.",
        "Useless council, idiot clerk",
        "When is the bin collection?",
        "Thanks for the lights",
        "Lovely photo of the market",
    ]
    first, second = waiting[:2]
    assert first.status == "awaiting_approval"
    assert (first.platform, first.account_name, first.author_name) == (
        Platform.FACEBOOK,
        "Example Town Council",
        "Margaret H",
    )
    assert first.posted_at == _at(18, 9)
    assert first.permalink is not None
    assert first.permalink.startswith("https://")
    assert (second.status, second.suggested_action, second.reason_code) == (
        "pending",
        "hide",
        REASON,
    )
    assert second.account_name == "Example Town Events"
    assert len(overview.waiting_longest(2)) == 2


def test_open_removal_requests(container: Container, overview: Overview) -> None:
    _decide(container, "c2", Action.HIDE, reason_code="false_or_misleading")
    [request] = overview.open_requests()
    assert (request.action, request.needs, request.requested_by) == (
        "hide",
        "second_member",
        SMAT1,
    )
    assert (request.author_name, request.account_name, request.platform) == (
        "Margaret H",
        "Example Town Council",
        Platform.FACEBOOK,
    )
    container.review.resolve(request.id, SMAT2, approve=False)
    assert overview.open_requests() == []
    assert overview.queue().open_requests == 0


def test_a_persons_own_decisions_newest_first(
    container: Container, overview: Overview, clock: FakeClock
) -> None:
    _decide(container, "c1", Action.HIDE, reason_code=REASON)
    clock.advance(minutes=10)
    _decide(container, "c1", Action.WARN, reason_code=REASON)
    clock.advance(minutes=10)
    _decide(container, "c4", Action.APPROVE, user=SMAT2)
    mine = overview.decisions_by(SMAT1)
    assert [(d.action, d.decided_at) for d in mine] == [
        ("warn", NOW + timedelta(minutes=10)),
        ("hide", NOW),
    ]
    assert (mine[0].author_name, mine[0].text, mine[0].account_name) == (
        "Kev R",
        "You stupid useless idiot",
        "Example Town Council",
    )
    assert mine[0].outcome_status == "pending", "not carried out on Facebook yet"
    assert mine[0].reason_code == REASON
    assert [d.action for d in overview.decisions_by(SMAT2)] == ["approve"]
    assert overview.decisions_by(VIEWER) == []
    assert len(overview.decisions_by(SMAT1, limit=1)) == 1


# --- authors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("kev", ["Kev R", "KEVIN Smith"]),
        ("KEV R", ["Kev R"]),
        ("smith", ["KEVIN Smith"]),
        ("in sm", ["KEVIN Smith"]),
        ("åsa", ["Åsa Lindqvist"]),
        ("ÅSA LIND", ["Åsa Lindqvist"]),
        ("%", ["100% Real_Name"]),
        ("_", ["100% Real_Name"]),
        ("nobody", []),
        ("   ", []),
    ],
)
def test_authors_are_found_by_part_of_their_name_in_any_case(
    overview: Overview, text: str, names: list[str]
) -> None:
    found = overview.find_authors(text)
    assert [a.display_name for a in found.authors] == names
    assert found.matched == len(names)


def test_an_exact_name_comes_first_and_at_most_ten_are_shown(
    container: Container, overview: Overview
) -> None:
    container.ingest().ingest(
        incoming(f"r{i}", "Hello", author=f"Kev {chr(ord('a') + i)}") for i in range(12)
    )
    found = overview.find_authors("kev")
    assert found.matched == 14
    assert len(found.authors) == 10
    assert [a.display_name for a in found.authors[:3]] == ["Kev a", "Kev b", "Kev c"]
    exact = overview.find_authors("Kev R")
    assert exact.authors[0].display_name == "Kev R"
    assert len(overview.find_authors("kev", limit=3).authors) == 3


def test_an_authors_history_on_each_account(
    container: Container, overview: Overview, clock: FakeClock
) -> None:
    _decide(container, "c1", Action.HIDE, reason_code=REASON)
    clock.advance(minutes=1)
    _decide(container, "c1", Action.WARN, reason_code=REASON)
    clock.advance(minutes=1)
    _decide(container, "c3", Action.BLOCK, reason_code=REASON, user=SMAT2)

    [kev] = overview.find_authors("Kev R").authors
    assert (kev.platform, kev.display_name) == (Platform.FACEBOOK, "Kev R")
    main, events = kev.accounts
    assert _counts(main) == ("Example Town Council", 1, 1, 1, 0)
    assert main.last_comment_at == _at(17, 8)
    assert main.latest_decision is not None
    assert (main.latest_decision.action, main.latest_decision.actor_slack_id) == ("warn", SMAT1)
    assert main.latest_decision.actor_name == "Jo"
    assert main.latest_decision.decided_at == NOW + timedelta(minutes=1)
    assert _counts(events) == ("Example Town Events", 1, 0, 0, 1)
    assert events.latest_decision is not None
    assert (events.latest_decision.action, events.latest_decision.actor_slack_id) == (
        "block",
        SMAT2,
    )

    # Undoing the hide takes it off the count; the warning (a strike) stays.
    clock.advance(minutes=1)
    _decide(container, "c1", Action.UNHIDE)
    [kev] = overview.find_authors("Kev R").authors
    main = kev.accounts[0]
    assert _counts(main) == ("Example Town Council", 1, 0, 1, 0)
    assert main.latest_decision is not None
    assert main.latest_decision.action == "unhide"

    [margaret] = overview.find_authors("margaret").authors
    assert [(_counts(h), h.latest_decision) for h in margaret.accounts] == [
        (("Example Town Council", 1, 0, 0, 0), None)
    ]
    with container.sessions() as session:
        assert session.scalar(select(func.count(Decision.id))) == 4, "nothing else was written"


def test_an_author_with_many_comments_lists_their_busiest_account_first(
    container: Container, overview: Overview
) -> None:
    container.ingest().ingest(
        incoming(f"e{i}", f"Another one {i}", author="Kev R", account="ExampleTownEvents")
        for i in range(3)
    )
    [kev] = overview.find_authors("kev r").authors
    assert [(h.account_name, h.comments) for h in kev.accounts] == [
        ("Example Town Events", 4),
        ("Example Town Council", 1),
    ]


def test_the_same_name_on_two_platforms_is_two_authors(
    container: Container, overview: Overview
) -> None:
    container.ingest().ingest(
        [incoming("ig1", "Nice", author="Kev R", platform=Platform.INSTAGRAM, account="ig")]
    )
    found = overview.find_authors("Kev R")
    assert sorted(a.platform for a in found.authors) == [Platform.FACEBOOK, Platform.INSTAGRAM]
    instagram = next(a for a in found.authors if a.platform is Platform.INSTAGRAM)
    assert [h.account_name for h in instagram.accounts] == ["ig"], "an unregistered account"


def _counts(history: AccountHistory) -> tuple[str, int, int, int, int]:
    return (
        history.account_name,
        history.comments,
        history.hides,
        history.warnings,
        history.blocks,
    )


# --- who may look -------------------------------------------------------------------------------


def test_every_smat_role_may_view_and_nobody_else(container: Container) -> None:
    members = container.members
    for user, role in ((CLERK, "clerk"), (SMAT1, "smat"), (VIEWER, "viewer")):
        member = member_who_may_view(members, user)
        assert member is not None
        assert member.role == role
    assert member_who_may_view(members, "U0STRANGER") is None
    members.remove(CLERK, VIEWER)
    assert member_who_may_view(members, VIEWER) is None, "a removed member may no longer look"

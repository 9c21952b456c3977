"""`/smat members ...` end to end: signed slash commands to the real Bolt app over HTTP.

The bot runs in HTTP mode (waitress) against the fake Slack Web API; its answers arrive at the
command's response_url on the fake, and the Clerk's DM through conversations.open and
chat.postMessage.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from bot.container import Container, build
from bot.slack_app import create_slack_app
from bot.web import create_wsgi_app
from handlers.commands import (
    AddMember,
    CommandProblem,
    ListMembers,
    RemoveMember,
    ReviewChanges,
    ShowHelp,
    parse_smat_command,
)
from storage.models import Member, MemberEvent
from tests.conftest import SIGNING_SECRET, MakeSettings, slack_overrides
from tests.fakes.classifier import KeywordClassifier
from tests.fakes.fake_slack import RESPONSE_URL_METHOD, FakeSlack, RecordedCall
from tests.fakes.slack_requests import encode_form, post_signed, slash_command_form
from tests.fakes.wsgi_server import serve_wsgi

CLERK = "U0CLERK"
DEPUTY = "U0DEPUTY"
SMAT = "U0SMAT1"
VIEWER = "U0VIEWER"
NEWCOMER = "U0NEW"
STRANGER = "U0STRANGER"
EVERYONE = ((CLERK, "clerk"), (DEPUTY, "deputy"), (SMAT, "smat"), (VIEWER, "viewer"))

_names = itertools.count(1)


@contextmanager
def _serve(
    make_settings: MakeSettings, fake_slack: FakeSlack, members: tuple[tuple[str, str], ...]
) -> Iterator[tuple[str, Container]]:
    settings = make_settings(**slack_overrides(fake_slack, *members))
    container = build(settings, classifier=KeywordClassifier())
    with serve_wsgi(create_wsgi_app(create_slack_app(container), container.sessions)) as url:
        yield url, container


@pytest.fixture
def bot(make_settings: MakeSettings, fake_slack: FakeSlack) -> Iterator[tuple[str, Container]]:
    with _serve(make_settings, fake_slack, EVERYONE) as running:
        yield running


class Slash:
    """Sends signed /smat commands as a given user and collects the bot's private answer."""

    def __init__(self, base_url: str, fake_slack: FakeSlack) -> None:
        self.base_url = base_url
        self.slack = fake_slack
        self.http = httpx.Client(timeout=10)

    def send(
        self, user: str, text: str, *, secret: str = SIGNING_SECRET
    ) -> tuple[httpx.Response, str]:
        name = f"smat-{next(_names)}"
        form = slash_command_form(
            command="/smat", user_id=user, text=text, response_url=self.slack.response_url(name)
        )
        started = time.monotonic()
        response = post_signed(
            self.http, f"{self.base_url}/slack/events", encode_form(form), secret
        )
        assert time.monotonic() - started < 3, "Slack needs the ack within 3 seconds"
        return response, name

    def answer(self, name: str, timeout: float = 5.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for call in self.slack.calls(RESPONSE_URL_METHOD):
                if call.path.endswith(f"/response/{name}"):
                    return call.params
            time.sleep(0.02)
        raise AssertionError(f"no answer at response_url {name}")

    def run(self, user: str, text: str) -> str:
        """Send the command; return the ephemeral answer's text."""
        response, name = self.send(user, text)
        assert response.status_code == 200, response.text
        assert response.text == "", "the ack carries no text; the answer goes to response_url"
        answer = self.answer(name)
        assert answer["response_type"] == "ephemeral"
        return str(answer["text"])


@pytest.fixture
def slash(bot: tuple[str, Container], fake_slack: FakeSlack) -> Iterator[Slash]:
    sender = Slash(bot[0], fake_slack)
    yield sender
    sender.http.close()


def _members(container: Container) -> dict[str, tuple[str, bool]]:
    with container.sessions() as session:
        return {m.slack_user_id: (m.role, m.active) for m in session.scalars(select(Member))}


def _events(container: Container) -> list[MemberEvent]:
    with container.sessions() as session:
        return list(session.scalars(select(MemberEvent).order_by(MemberEvent.id)))


def _dms(fake_slack: FakeSlack, user: str) -> list[RecordedCall]:
    channel = fake_slack.dm_channel_id(user)
    return [c for c in fake_slack.calls("chat.postMessage") if c.params["channel"] == channel]


# --- the Clerk manages membership -----------------------------------------------------------------


def test_the_clerk_adds_a_member(
    bot: tuple[str, Container], slash: Slash, fake_slack: FakeSlack
) -> None:
    _, container = bot
    text = slash.run(CLERK, f"members add <@{NEWCOMER}|sam> smat")
    assert text.startswith(f"Added <@{NEWCOMER}> to SMAT as *smat*.")
    assert _members(container)[NEWCOMER] == ("smat", True)
    [event] = _events(container)
    assert (event.slack_user_id, event.change, event.role) == (NEWCOMER, "add", "smat")
    assert (event.changed_by, event.changed_by_role, event.needs_clerk_review) == (
        CLERK,
        "clerk",
        False,
    )
    assert f"change {event.id}" in text
    assert fake_slack.calls("conversations.open") == [], "the Clerk's own change needs no review"
    with container.sessions() as session:
        member = session.scalar(select(Member).where(Member.slack_user_id == NEWCOMER))
        assert member is not None
        assert member.display_name == "sam"


def test_a_bare_member_id_and_as_are_understood(bot: tuple[str, Container], slash: Slash) -> None:
    _, container = bot
    slash.run(CLERK, f"MEMBERS Add {NEWCOMER} as Viewer")
    assert _members(container)[NEWCOMER] == ("viewer", True)


def test_the_clerk_changes_a_role_and_removes_a_member(
    bot: tuple[str, Container], slash: Slash
) -> None:
    _, container = bot
    changed = slash.run(CLERK, f"members add <@{SMAT}|jo> viewer")
    assert changed.startswith(f"<@{SMAT}> is now *viewer* (was smat).")
    removed = slash.run(CLERK, f"members remove <@{VIEWER}|viv>")
    assert removed.startswith(f"Removed <@{VIEWER}> from SMAT (was viewer)")
    members = _members(container)
    assert members[SMAT] == ("viewer", True)
    assert members[VIEWER] == ("viewer", False), "removal keeps the record, inactive"
    assert [(e.change, e.slack_user_id) for e in _events(container)] == [
        ("role_change", SMAT),
        ("remove", VIEWER),
    ]


def test_the_list_shows_roles_and_who_added_whom(bot: tuple[str, Container], slash: Slash) -> None:
    slash.run(DEPUTY, f"members add <@{NEWCOMER}|sam> smat")
    text = slash.run(CLERK, "members list")
    lines = text.splitlines()
    assert lines[0] == "*SMAT members (5)*"
    assert lines[1].startswith(f"• <@{CLERK}> (u0clerk) — *clerk* · added ")
    assert lines[1].endswith("from the configuration")
    newcomer = next(line for line in lines if f"<@{NEWCOMER}>" in line)
    assert "*smat*" in newcomer
    assert newcomer.endswith(f"by <@{DEPUTY}>")
    assert "1 change(s) by the Deputy Clerk await the Clerk's review" in text


# --- the Deputy's changes go to the Clerk ------------------------------------------------------


def test_a_deputy_change_is_flagged_and_the_clerk_is_told_by_dm(
    bot: tuple[str, Container], slash: Slash, fake_slack: FakeSlack
) -> None:
    _, container = bot
    text = slash.run(DEPUTY, f"members add <@{NEWCOMER}|sam> smat")
    assert "the Clerk has been asked to review it" in text
    [event] = _events(container)
    assert (event.changed_by, event.changed_by_role, event.needs_clerk_review) == (
        DEPUTY,
        "deputy",
        True,
    )

    opened = fake_slack.wait_for("conversations.open")
    assert opened[0].params["users"] == CLERK
    fake_slack.wait_for("chat.postMessage")
    [dm] = _dms(fake_slack, CLERK)
    assert dm.params["text"].startswith(
        f":eyes: Deputy <@{DEPUTY}> added <@{NEWCOMER}> (sam) as *smat* — please review."
    )
    assert f"/smat members review {event.id}" in dm.params["text"]
    assert fake_slack.messages(fake_slack.dm_channel_id(CLERK))

    # The Clerk sees what waits for review and marks it reviewed.
    waiting = slash.run(CLERK, "members review")
    assert f"*{event.id}*" in waiting
    assert f"<@{DEPUTY}> (deputy) added <@{NEWCOMER}> as smat" in waiting
    done = slash.run(CLERK, f"members review {event.id}")
    assert done.startswith(f"Marked change {event.id}")
    with container.sessions() as session:
        assert session.get_one(MemberEvent, event.id).reviewed_by == CLERK
    assert "No membership changes are waiting" in slash.run(CLERK, "members review")
    assert "Only the Clerk can mark" in slash.run(DEPUTY, f"members review {event.id}")


def test_untrusted_names_are_escaped_in_the_clerk_dm_and_the_list(
    bot: tuple[str, Container], slash: Slash, fake_slack: FakeSlack
) -> None:
    _, container = bot
    # Slack escapes &, < and > inside the name it sends with a mention.
    slash.run(DEPUTY, f"members add <@{NEWCOMER}|&lt;!channel&gt; &amp; co> smat")
    with container.sessions() as session:
        member = session.scalar(select(Member).where(Member.slack_user_id == NEWCOMER))
        assert member is not None
        assert member.display_name == "<!channel> & co"
    fake_slack.wait_for("chat.postMessage")
    [dm] = _dms(fake_slack, CLERK)
    assert "(&lt;!channel&gt; &amp; co)" in dm.params["text"]
    assert "<!channel>" not in dm.params["text"]
    listing = slash.run(CLERK, "members list")
    assert "(&lt;!channel&gt; &amp; co)" in listing
    assert "<!channel>" not in listing


def test_with_no_clerk_enrolled_the_deputy_change_goes_to_the_escalation_channel(
    make_settings: MakeSettings, fake_slack: FakeSlack
) -> None:
    with _serve(make_settings, fake_slack, ((DEPUTY, "deputy"),)) as (base_url, container):
        slash = Slash(base_url, fake_slack)
        try:
            slash.run(DEPUTY, f"members remove <@{DEPUTY}>")  # refused: not themselves
            slash.run(DEPUTY, f"members add <@{NEWCOMER}|sam> smat")
        finally:
            slash.http.close()
        [post] = fake_slack.wait_for("chat.postMessage")
        assert post.params["channel"] == "#smat-escalations"
        assert post.params["text"].startswith("No Clerk is enrolled in SMAT")
        assert f"Deputy <@{DEPUTY}> added <@{NEWCOMER}> (sam) as *smat*" in post.params["text"]
        assert fake_slack.calls("conversations.open") == []
        assert [e.needs_clerk_review for e in _events(container)] == [True]


# --- refusals and bad input --------------------------------------------------------------------


@pytest.mark.parametrize("user", [STRANGER, VIEWER, SMAT])
def test_anyone_else_is_refused_politely_and_nothing_changes(
    bot: tuple[str, Container], slash: Slash, user: str, caplog: pytest.LogCaptureFixture
) -> None:
    _, container = bot
    before = _members(container)
    with caplog.at_level(logging.WARNING):
        for command in (
            f"members add <@{NEWCOMER}|sam> smat",
            f"members remove <@{CLERK}|clare>",
            "members list",
        ):
            text = slash.run(user, command)
            assert text.startswith("Sorry — only the Town Clerk and the Deputy Clerk")
            assert "Nothing was changed" in text
    assert _members(container) == before
    assert _events(container) == []
    refusals = [
        m for m in (r.getMessage() for r in caplog.records) if "refused a membership change" in m
    ]
    assert len(refusals) == 3
    assert all(user in message for message in refusals)
    assert not any(SIGNING_SECRET in r.getMessage() for r in caplog.records)


def test_the_safety_rules_answer_in_slack(bot: tuple[str, Container], slash: Slash) -> None:
    _, container = bot
    before = _members(container)
    assert "cannot remove yourself" in slash.run(CLERK, f"members remove <@{CLERK}|clare>")
    assert "Only the Clerk can appoint" in slash.run(DEPUTY, f"members add <@{SMAT}|jo> clerk")
    assert "Only the Clerk can remove a Clerk" in slash.run(
        DEPUTY, f"members remove <@{CLERK}|clare>"
    )
    assert "last Clerk" in slash.run(CLERK, f"members add <@{CLERK}|clare> deputy")
    assert _members(container) == before
    assert _events(container) == []


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("members add @jo smat", "I couldn't tell who '@jo' is"),
        ("members add jo.smith smat", "I couldn't tell who 'jo.smith' is"),
        ("members add <#C0TRIAGE|smat-triage> smat", "is a channel, not a person"),
        ("members add <!subteam^S0SMAT|@smat> smat", "is a group or special mention"),
        ("members add <!here> smat", "is a group or special mention"),
        (f"members add <@{NEWCOMER}|sam> admin", "'admin' is not a SMAT role"),
        (f"members add <@{NEWCOMER}|sam>", "Please say who and which role"),
        ("members remove", "Please say who"),
        (f"members remove <@{NEWCOMER}|sam> now", "I didn't expect 'now' there"),
        ("members add &lt;script&gt; smat", "I couldn't tell who '&lt;script&gt;' is"),
        ("members review twelve", "'twelve' is not a change number"),
    ],
)
def test_bad_input_is_named_and_nothing_changes(
    bot: tuple[str, Container], slash: Slash, text: str, problem: str
) -> None:
    _, container = bot
    before = _members(container)
    answer = slash.run(CLERK, text)
    assert problem in answer
    assert _members(container) == before
    assert _events(container) == []


@pytest.mark.parametrize("text", ["", "help", "members"])
def test_help(slash: Slash, text: str) -> None:
    answer = slash.run(STRANGER, text)
    assert answer.startswith("*SMAT Bot — `/smat` commands*")
    assert "/smat members add @person ROLE" in answer


@pytest.mark.parametrize(
    ("text", "named"),
    [("frobnicate", "`/smat frobnicate`"), ("members promote", "`/smat members promote`")],
)
def test_unknown_subcommands_answer_the_help(slash: Slash, text: str, named: str) -> None:
    answer = slash.run(CLERK, text)
    assert answer.startswith(f"I don't know {named}.")
    assert "*SMAT Bot — `/smat` commands*" in answer


def test_a_forged_signature_gets_401_and_changes_nothing(
    bot: tuple[str, Container], slash: Slash, fake_slack: FakeSlack
) -> None:
    _, container = bot
    forged, _ = slash.send(
        CLERK, f"members add <@{NEWCOMER}|sam> clerk", secret="not-the-signing-secret"
    )
    stale_form = slash_command_form(
        command="/smat",
        user_id=CLERK,
        text=f"members remove <@{SMAT}|jo>",
        response_url=fake_slack.response_url("stale"),
    )
    stale = post_signed(
        slash.http,
        f"{slash.base_url}/slack/events",
        encode_form(stale_form),
        SIGNING_SECRET,
        timestamp=int(time.time()) - 400,
    )
    assert forged.status_code == 401
    assert stale.status_code == 401
    time.sleep(0.3)  # give any (wrongly) accepted listener time to act before checking
    assert NEWCOMER not in _members(container)
    assert _members(container)[SMAT] == ("smat", True)
    assert _events(container) == []
    assert fake_slack.calls(RESPONSE_URL_METHOD) == []


# --- the parser on its own ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("", ShowHelp()),
        ("  HELP ", ShowHelp()),
        ("members list", ListMembers()),
        ("members add <@U012AB3CD|jo.smith> smat", AddMember("U012AB3CD", "jo.smith", "smat")),
        ("members add <@U012AB3CD> deputy", AddMember("U012AB3CD", "", "deputy")),
        ("members add <@U012AB3CD|Jo Smith> smat", AddMember("U012AB3CD", "Jo Smith", "smat")),
        ("members add W012AB3CD as CLERK", AddMember("W012AB3CD", "", "clerk")),
        ("members revoke <@U012AB3CD|jo>", RemoveMember("U012AB3CD")),
        ("members review", ReviewChanges()),
        ("members review #7", ReviewChanges(7)),
    ],
)
def test_parse_smat_command(text: str, parsed: object) -> None:
    assert parse_smat_command(text) == parsed


@pytest.mark.parametrize(
    "text",
    [
        "members add <@u012ab3cd|jo> smat",  # ids are upper case
        "members add <@U012AB3CD|jo> smat extra",
        "members review 0",
        "members review ٣",  # a non-ASCII digit
        "members list everything",
    ],
)
def test_parse_smat_command_problems(text: str) -> None:
    with pytest.raises(CommandProblem):
        parse_smat_command(text)

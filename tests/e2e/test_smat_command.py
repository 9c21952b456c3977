"""`/smat queue`, `/smat author`, `/smat accounts` and help, end to end over signed HTTP.

The bot runs in HTTP mode (waitress) against the fake Slack Web API; each answer arrives at the
command's response_url on the fake, privately (ephemeral), with blocks where it lists things.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from bot.container import Container, build
from bot.home import NOT_A_MEMBER_TEXT
from bot.services.review import Action, DecisionRequest
from bot.slack_app import create_slack_app
from bot.web import create_wsgi_app
from handlers.commands import (
    CommandProblem,
    FindAuthor,
    ShowAccounts,
    ShowQueue,
    parse_smat_command,
)
from storage.models import Comment, ReviewItem
from tests.conftest import SIGNING_SECRET, MakeSettings, slack_overrides
from tests.fakes.classifier import KeywordClassifier
from tests.fakes.clock import FakeClock
from tests.fakes.fake_slack import RESPONSE_URL_METHOD, FakeSlack
from tests.fakes.slack_requests import encode_form, post_signed, slash_command_form
from tests.fakes.wsgi_server import serve_wsgi
from tests.integration.helpers import incoming

CLERK, DEPUTY, SMAT, VIEWER = "U0CLERK", "U0DEPUTY", "U0SMAT1", "U0VIEWER"
STRANGER = "U0STRANGER"
EVERYONE = ((CLERK, "clerk"), (DEPUTY, "deputy"), (SMAT, "smat"), (VIEWER, "viewer"))
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
REASON = "bullying_or_harassment"
HOSTILE_NAME = "<!channel> Kev <https://evil.example|click me> *boss* :skull:"
HOSTILE_TEXT = "<!here> you useless idiot <@U0CLERK> <https://evil.example|read this>"
MARKERS = ("<!channel>", "<!here>", "<@U0CLERK>", "evil.example", ":skull:")
ACCOUNTS = [
    {
        "name": "fb-main",
        "platform": "facebook",
        "id": "ExampleTownCouncil",
        "display_name": "Example Town Council",
        "token": "env:FB_TOKEN",
    },
    {
        "name": "yt-main",
        "platform": "youtube",
        "id": "UCexampletown",
        "display_name": "Example Town on YouTube",
        "token": "env:YT_TOKEN",
    },
]
COMMENTS = [
    # external id, author, text, posted this long before NOW
    ("c1", "Kev R", "You stupid useless idiot", timedelta(days=3, hours=2)),
    ("c2", "Margaret H", "The council wasted our money again.", timedelta(days=1)),
    ("c3", HOSTILE_NAME, HOSTILE_TEXT, timedelta(hours=5)),
    ("c4", "Åsa Lindqvist", "When is the bin collection?", timedelta(hours=1)),
]

_names = itertools.count(1)


@pytest.fixture
def bot(make_settings: MakeSettings, fake_slack: FakeSlack) -> Iterator[tuple[str, Container]]:
    settings = make_settings(**slack_overrides(fake_slack, *EVERYONE), accounts=ACCOUNTS)
    container = build(settings, classifier=KeywordClassifier(), clock=FakeClock(NOW))
    container.ingest().ingest(
        replace(incoming(ext, text, author=author), created_at=NOW - ago)
        for ext, author, text, ago in COMMENTS
    )
    container.ingest().ingest(
        [replace(incoming("i1", "Seen in an import", account="SomeOtherPage"), created_at=NOW)]
    )
    with serve_wsgi(create_wsgi_app(create_slack_app(container), container.sessions)) as url:
        yield url, container


class Slash:
    """Sends signed /smat commands as a given user and collects the bot's private answer."""

    def __init__(self, base_url: str, fake_slack: FakeSlack) -> None:
        self.base_url = base_url
        self.slack = fake_slack
        self.http = httpx.Client(timeout=10)

    def run(self, user: str, text: str) -> dict[str, Any]:
        """Send the command; return the ephemeral answer (text, and blocks if any)."""
        name = f"smat-{next(_names)}"
        form = slash_command_form(
            command="/smat", user_id=user, text=text, response_url=self.slack.response_url(name)
        )
        started = time.monotonic()
        response = post_signed(
            self.http, f"{self.base_url}/slack/events", encode_form(form), SIGNING_SECRET
        )
        assert time.monotonic() - started < 3, "Slack needs the ack within 3 seconds"
        assert response.status_code == 200, response.text
        assert response.text == "", "the ack carries no text; the answer goes to response_url"
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            for call in self.slack.calls(RESPONSE_URL_METHOD):
                if call.path.endswith(f"/response/{name}"):
                    answer = call.params
                    assert answer["response_type"] == "ephemeral"
                    assert answer["unfurl_links"] is False
                    return answer
            time.sleep(0.02)
        raise AssertionError(f"no answer at response_url {name}")


@pytest.fixture
def slash(bot: tuple[str, Container], fake_slack: FakeSlack) -> Iterator[Slash]:
    sender = Slash(bot[0], fake_slack)
    yield sender
    sender.http.close()


def _texts(blocks: list[dict[str, Any]], kind: str) -> list[str]:
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == kind and isinstance(node.get("text"), str):
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(blocks)
    return found


def _assert_inert(answer: dict[str, Any]) -> None:
    for text in [answer["text"], *_texts(answer.get("blocks", []), "mrkdwn")]:
        for marker in MARKERS:
            assert marker not in text, (marker, text)


def _decide(container: Container, external_id: str, action: Action, **kw: Any) -> None:
    with container.sessions() as session:
        item = session.scalars(
            select(ReviewItem)
            .join(Comment, Comment.id == ReviewItem.comment_id)
            .where(Comment.external_id == external_id)
        ).one()
        item_id, version = item.id, item.version
    container.review.decide(DecisionRequest(item_id, version, action, SMAT, **kw))


# --- the queue ----------------------------------------------------------------------------------


@pytest.mark.parametrize("user", [CLERK, SMAT, VIEWER])
def test_any_smat_member_sees_the_queue_privately(slash: Slash, user: str) -> None:
    answer = slash.run(user, "queue")
    text = answer["text"]
    lines = text.splitlines()
    assert lines[0] == "*Waiting for SMAT: 5*"
    assert lines[1] == "• *5 pending* — 2 flagged (2 to hide), 3 clean"
    assert lines[2].startswith(
        ":rotating_light: The oldest pending comment was posted *3 days 2 hours ago* "
        "(17 Nov 2026, 10:00)."
    )
    assert "notice served" in lines[2]
    blocks = answer["blocks"]
    assert blocks[0]["text"] == {"type": "mrkdwn", "text": text, "verbatim": True}
    _assert_inert(answer)
    everything = str(blocks) + text
    assert "Kev R" not in everything, "the queue answer names no resident"


def test_the_queue_shows_removals_awaiting_approval(
    bot: tuple[str, Container], slash: Slash
) -> None:
    _, container = bot
    _decide(container, "c1", Action.HIDE, reason_code=REASON)
    _decide(container, "c2", Action.HIDE, reason_code="false_or_misleading")
    text = slash.run(VIEWER, "QUEUE")["text"]
    assert "*Waiting for SMAT: 4*" in text
    assert "• *3 pending* — 1 flagged (1 to hide), 2 clean" in text
    assert "• *1 awaiting approval* — removals waiting for a second SMAT member" in text
    assert "oldest asked under a minute ago" in text
    assert ":hourglass_flowing_sand: The oldest pending comment was posted *5 hours ago*" in text


# --- authors ------------------------------------------------------------------------------------


def test_an_authors_history_on_each_account(bot: tuple[str, Container], slash: Slash) -> None:
    _, container = bot
    _decide(container, "c1", Action.HIDE, reason_code=REASON)
    _decide(container, "c1", Action.WARN, reason_code=REASON)
    answer = slash.run(VIEWER, "author kev r")
    assert answer["text"] == "1 commenter match."
    blocks = answer["blocks"]
    assert {"type": "plain_text", "text": "Kev R · Facebook", "emoji": False} in _objects(blocks)
    [line] = [t for t in _texts(blocks, "mrkdwn") if t.startswith("1 comment ")]
    assert "· 1 hide · 1 warning (strikes) · 0 blocks · " in line
    assert f"latest: *Warned* by <@{SMAT}>" in line
    assert "— Bullying or harassment" in line
    assert "Example Town Council:" in _texts(blocks, "plain_text")


def test_a_hostile_author_name_stays_plain_text(slash: Slash) -> None:
    answer = slash.run(SMAT, "author kev")
    assert answer["text"] == "2 commenters match."
    plain_texts = _texts(answer["blocks"], "plain_text")
    assert f"{HOSTILE_NAME} · Facebook" in plain_texts, "shown exactly as written, inert"
    _assert_inert(answer)


def test_the_search_text_is_unescaped_before_searching(slash: Slash) -> None:
    # Slack escapes &, < and > in the command text (should_escape: true).
    answer = slash.run(SMAT, "author &lt;!channel&gt; kev")
    assert answer["text"] == "1 commenter match."
    assert "Searched for: <!channel> kev" in _texts(answer["blocks"], "plain_text")
    _assert_inert(answer)


def test_non_ascii_names_are_found_in_any_case(slash: Slash) -> None:
    answer = slash.run(SMAT, "author ÅSA")
    assert {"type": "plain_text", "text": "Åsa Lindqvist · Facebook", "emoji": False} in (
        _objects(answer["blocks"])
    )


def test_no_match_says_so(slash: Slash) -> None:
    answer = slash.run(SMAT, "author nobody-by-this-name")
    assert answer["text"] == "No commenter's name contains that text."


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (f"author <@{CLERK}|clare>", "cannot be @-mentioned"),
        ("history <@U0KEV|kev>", "`/smat author NAME`"),
        ("history", "`/smat author NAME`"),
        ("author", "at least two letters"),
        ("author k", "at least two letters"),
        ("author " + "x" * 101, "100 characters at most"),
        ("queue now", "I didn't expect 'now' there"),
        ("accounts everything", "I didn't expect 'everything' there"),
    ],
)
def test_what_cannot_be_searched_is_explained(slash: Slash, text: str, problem: str) -> None:
    answer = slash.run(SMAT, text)
    assert problem in answer["text"]
    assert "blocks" not in answer


# --- accounts -----------------------------------------------------------------------------------


def test_the_account_register_and_its_status(bot: tuple[str, Container], slash: Slash) -> None:
    _, container = bot
    container.accounts.mark_needs_attention(
        "yt-main", "YouTube: the token <b>expired</b>", notify_channel=False
    )
    answer = slash.run(VIEWER, "accounts")
    assert answer["text"] == "Council accounts (3): 1 need(s) attention"
    rows = [b["elements"] for b in answer["blocks"][1:]]
    by_name = {row[1]["text"].split(" · ")[0]: row for row in rows}
    assert set(by_name) == {"Example Town Council", "Example Town on YouTube", "SomeOtherPage"}
    main = by_name["Example Town Council"]
    assert main[0]["text"] == ":large_green_circle: *active*"
    assert main[1]["text"] == (
        "Example Town Council · Facebook · fb-main (id ExampleTownCouncil) · token env:FB_TOKEN"
    )
    youtube = by_name["Example Town on YouTube"]
    assert youtube[0]["text"] == ":warning: *needs attention*"
    assert youtube[2] == {
        "type": "plain_text",
        "text": "YouTube: the token <b>expired</b>",
        "emoji": False,
    }
    imported = by_name["SomeOtherPage"]
    assert imported[0]["text"] == ":grey_question: *unregistered*"
    assert imported[-1]["text"] == "_not in the configuration; seen in an import_"
    assert slash.run(VIEWER, "accounts list")["text"] == answer["text"]


# --- who may ask --------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["queue", "author kev", "accounts"])
def test_anyone_outside_smat_is_refused_politely(
    slash: Slash, text: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        answer = slash.run(STRANGER, text)
    assert answer["text"] == NOT_A_MEMBER_TEXT
    assert "ask the Town Clerk" in answer["text"]
    assert "blocks" not in answer
    assert any(
        STRANGER in r.getMessage() and "not a SMAT member" in r.getMessage() for r in caplog.records
    )


def test_a_removed_member_is_refused(bot: tuple[str, Container], slash: Slash) -> None:
    assert slash.run(CLERK, f"members remove <@{VIEWER}|viv>")["text"].startswith("Removed")
    assert slash.run(VIEWER, "queue")["text"] == NOT_A_MEMBER_TEXT


# --- help, and membership still works ----------------------------------------------------------


def test_help_lists_every_command(slash: Slash) -> None:
    text = slash.run(STRANGER, "help")["text"]
    assert text.startswith("*SMAT Bot — `/smat` commands*")
    for command in (
        "/smat queue",
        "/smat author NAME",
        "/smat accounts",
        "/smat members list",
        "/smat members add @person ROLE",
        "/smat help",
    ):
        assert f"`{command}`" in text
    assert "*Home* tab" in text


def test_membership_commands_still_work(slash: Slash) -> None:
    assert slash.run(CLERK, "members list")["text"].startswith("*SMAT members (4)*")
    assert slash.run(SMAT, "members list")["text"].startswith(
        "Sorry — only the Town Clerk and the Deputy Clerk"
    )


# --- the parser ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("queue", ShowQueue()),
        (" Queue ", ShowQueue()),
        ("accounts", ShowAccounts()),
        ("accounts list", ShowAccounts()),
        ("author kev", FindAuthor("kev")),
        ("AUTHOR  Kev  R ", FindAuthor("Kev R")),
        ("authors margaret", FindAuthor("margaret")),
        ("author &amp; co", FindAuthor("& co")),
        ("author &lt;script&gt;", FindAuthor("<script>")),
    ],
)
def test_parse_overview_commands(text: str, parsed: object) -> None:
    assert parse_smat_command(text) == parsed


@pytest.mark.parametrize(
    "text",
    ["author", "author x", "author <@U012AB3CD>", "author <!here>", "history kev", "queue 5"],
)
def test_parse_overview_command_problems(text: str) -> None:
    with pytest.raises(CommandProblem):
        parse_smat_command(text)


def _objects(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") in ("plain_text", "mrkdwn"):
                found.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(blocks)
    return found

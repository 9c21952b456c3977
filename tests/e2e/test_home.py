"""The App Home tab end to end: a signed ``app_home_opened`` event → ``views.publish``.

The real Bolt app runs in HTTP mode (waitress); Slack's Events API delivery is posted to
/slack/events as signed JSON, and the view arrives at the fake Slack Web API.
"""

from __future__ import annotations

import itertools
import json
import logging
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from slack_sdk.models.views import View
from sqlalchemy import select

from bot.container import Container, build
from bot.services.review import Action, DecisionRequest
from bot.slack_app import create_slack_app
from bot.web import create_wsgi_app
from storage.models import Comment, ReviewItem
from tests.conftest import SIGNING_SECRET, MakeSettings, slack_overrides
from tests.fakes.classifier import KeywordClassifier
from tests.fakes.clock import FakeClock
from tests.fakes.fake_slack import FakeSlack
from tests.fakes.slack_requests import (
    DEFAULT_APP_ID,
    DEFAULT_TEAM_ID,
    JSON_CONTENT_TYPE,
    post_signed,
)
from tests.fakes.wsgi_server import serve_wsgi
from tests.integration.helpers import incoming

CLERK, SMAT, VIEWER, STRANGER = "U0CLERK", "U0SMAT1", "U0VIEWER", "U0STRANGER"
EVERYONE = ((CLERK, "clerk"), (SMAT, "smat"), ("U0SMAT2", "smat"), (VIEWER, "viewer"))
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
REASON = "bullying_or_harassment"
HOSTILE_NAME = "<!channel> Kev <https://evil.example|click me> :skull:"
HOSTILE_TEXT = "<!here> you useless idiot <@U0CLERK> *boss* <https://evil.example|read>"
MARKERS = ("<!channel>", "<!here>", "<@U0CLERK>", "evil.example", ":skull:")

_event_ids = itertools.count(1)


@pytest.fixture
def bot(make_settings: MakeSettings, fake_slack: FakeSlack) -> Iterator[tuple[str, Container]]:
    settings = make_settings(**slack_overrides(fake_slack, *EVERYONE))
    container = build(settings, classifier=KeywordClassifier(), clock=FakeClock(NOW))
    comments = [
        ("c1", "Kev R", "You stupid useless idiot", timedelta(days=4)),
        ("c2", "Margaret H", "The council wasted our money again.", timedelta(days=2)),
        ("c3", HOSTILE_NAME, HOSTILE_TEXT, timedelta(hours=30)),
        *[(f"n{i}", f"Resident {i}", f"Thanks {i}", timedelta(hours=i)) for i in range(1, 9)],
    ]
    container.ingest().ingest(
        replace(incoming(ext, text, author=author), created_at=NOW - ago)
        for ext, author, text, ago in comments
    )
    with serve_wsgi(create_wsgi_app(create_slack_app(container), container.sessions)) as url:
        yield url, container


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as client:
        yield client


def home_opened_body(user: str, tab: str = "home") -> bytes:
    """An Events API delivery of ``app_home_opened``, as Slack posts it."""
    return json.dumps(
        {
            "token": "legacy-verification-token",
            "team_id": DEFAULT_TEAM_ID,
            "api_app_id": DEFAULT_APP_ID,
            "event": {
                "type": "app_home_opened",
                "user": user,
                "channel": "D0SMATBOT1",
                "tab": tab,
                "event_ts": f"{time.time():.6f}",
            },
            "type": "event_callback",
            "event_id": f"Ev0HOME{next(_event_ids):04d}",
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": DEFAULT_TEAM_ID,
                    "user_id": "U0SMATBOT",
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
        }
    ).encode()


def open_home(
    http: httpx.Client, base_url: str, user: str, *, tab: str = "home", secret: str = SIGNING_SECRET
) -> httpx.Response:
    return post_signed(
        http,
        f"{base_url}/slack/events",
        home_opened_body(user, tab),
        secret,
        content_type=JSON_CONTENT_TYPE,
    )


def published_view(fake_slack: FakeSlack, user: str) -> dict[str, Any]:
    """The view the bot published for ``user`` (waits for the listener, which runs after ack)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        for call in fake_slack.calls("views.publish"):
            if call.params.get("user_id") == user:
                view = call.params["view"]
                assert isinstance(view, dict)
                return view
        time.sleep(0.02)
    raise AssertionError(f"no views.publish for {user}: {fake_slack.calls()}")


def _texts(node: Any, kind: str | None = None) -> list[str]:
    found: list[str] = []
    if isinstance(node, dict):
        is_text = node.get("type") in ("plain_text", "mrkdwn") and isinstance(node.get("text"), str)
        if is_text and (kind is None or node["type"] == kind):
            found.append(node["text"])
        for value in node.values():
            found += _texts(value, kind)
    elif isinstance(node, list):
        for value in node:
            found += _texts(value, kind)
    return found


def _decide(container: Container, external_id: str, action: Action, user: str, **kw: Any) -> None:
    with container.sessions() as session:
        item = session.scalars(
            select(ReviewItem)
            .join(Comment, Comment.id == ReviewItem.comment_id)
            .where(Comment.external_id == external_id)
        ).one()
        item_id, version = item.id, item.version
    container.review.decide(DecisionRequest(item_id, version, action, user, **kw))


def test_a_member_opening_the_home_tab_gets_the_queue_published(
    bot: tuple[str, Container], http: httpx.Client, fake_slack: FakeSlack
) -> None:
    base_url, container = bot
    _decide(container, "c1", Action.HIDE, SMAT, reason_code=REASON)
    _decide(container, "c2", Action.HIDE, SMAT, reason_code="false_or_misleading")

    started = time.monotonic()
    response = open_home(http, base_url, SMAT)
    assert time.monotonic() - started < 3
    assert response.status_code == 200, response.text

    view = published_view(fake_slack, SMAT)
    assert view["type"] == "home"
    assert len(view["blocks"]) <= 100
    View(**view).to_dict()  # within Slack's limits
    [call] = fake_slack.calls("views.publish")
    assert call.params["user_id"] == SMAT
    assert fake_slack.home_view(SMAT) is not None

    mrkdwn = "\n".join(_texts(view, "mrkdwn"))
    plain = _texts(view, "plain_text")
    assert "You are *smat* in SMAT" in mrkdwn
    assert "*Waiting for SMAT: 10*" in mrkdwn
    assert "• *9 pending* — 1 flagged (1 to hide), 8 clean" in mrkdwn
    assert "• *1 awaiting approval*" in mrkdwn
    # The five waiting longest: c2 (awaiting approval), c3, then the residents' thanks.
    waiting = [t for t in plain if ": “" in t and not t.startswith("Facebook · ")]
    assert waiting == [
        "Margaret H: “The council wasted our money again.”",
        f"{HOSTILE_NAME}: “{HOSTILE_TEXT}”",
        "Resident 8: “Thanks 8”",
        "Resident 7: “Thanks 7”",
        "Resident 6: “Thanks 6”",
    ]
    assert ":warning: waiting *2 days* · awaiting approval · suggested *APPROVE*" in mrkdwn
    assert "*Hide* asked by <@U0SMAT1>" in mrkdwn
    assert "_you asked: someone else approves_" in mrkdwn
    assert ":no_entry_sign: *Hidden* 20 Nov 2026, 12:00 — Bullying or harassment" in mrkdwn
    assert "Facebook · ExampleTownCouncil · Kev R: “You stupid useless idiot”" in plain
    for text in _texts(view, "mrkdwn"):
        for marker in MARKERS:
            assert marker not in text, (marker, text)


def test_each_member_sees_their_own_decisions(
    bot: tuple[str, Container], http: httpx.Client, fake_slack: FakeSlack
) -> None:
    base_url, container = bot
    _decide(container, "c1", Action.HIDE, SMAT, reason_code=REASON)
    assert open_home(http, base_url, VIEWER).status_code == 200
    view = published_view(fake_slack, VIEWER)
    text = "\n".join(_texts(view))
    assert "You are *viewer* in SMAT" in text
    assert "You have not decided on any comment yet." in text
    assert "*Hidden*" not in text


def test_someone_outside_smat_gets_the_short_view(
    bot: tuple[str, Container], http: httpx.Client, fake_slack: FakeSlack
) -> None:
    base_url, _ = bot
    assert open_home(http, base_url, STRANGER).status_code == 200
    view = published_view(fake_slack, STRANGER)
    text = "\n".join(_texts(view))
    assert "*ask the Town Clerk*" in text
    assert "Waiting" not in text
    assert "Kev R" not in text
    assert "Margaret" not in text
    assert len(view["blocks"]) == 2


def test_opening_the_messages_tab_publishes_nothing(
    bot: tuple[str, Container], http: httpx.Client, fake_slack: FakeSlack
) -> None:
    base_url, _ = bot
    assert open_home(http, base_url, SMAT, tab="messages").status_code == 200
    assert open_home(http, base_url, CLERK).status_code == 200
    published_view(fake_slack, CLERK)  # the later event was handled, so the first one was too
    assert [c.params["user_id"] for c in fake_slack.calls("views.publish")] == [CLERK]


def test_a_forged_event_gets_401_and_publishes_nothing(
    bot: tuple[str, Container], http: httpx.Client, fake_slack: FakeSlack
) -> None:
    base_url, _ = bot
    assert open_home(http, base_url, SMAT, secret="not-the-secret").status_code == 401
    time.sleep(0.3)
    assert fake_slack.calls("views.publish") == []


def test_a_failed_publish_is_logged_and_the_next_one_works(
    bot: tuple[str, Container],
    http: httpx.Client,
    fake_slack: FakeSlack,
    caplog: pytest.LogCaptureFixture,
) -> None:
    base_url, _ = bot
    fake_slack.fail("views.publish", error="internal_error")
    with caplog.at_level(logging.WARNING, logger="handlers.home"):
        assert open_home(http, base_url, SMAT).status_code == 200
        fake_slack.wait_for("views.publish")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not caplog.records:
            time.sleep(0.02)
    assert any(
        "could not publish the Home tab" in r.getMessage() and "internal_error" in r.getMessage()
        for r in caplog.records
    )
    assert open_home(http, base_url, SMAT).status_code == 200
    fake_slack.wait_for("views.publish", count=2)
    assert fake_slack.home_view(SMAT) is not None

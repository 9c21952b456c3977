"""The Home tab and /smat answers as pure Block Kit: limits, ages, and resident text kept inert."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from slack_sdk.models.blocks import Block as SdkBlock
from slack_sdk.models.views import View

from bot import ui_ids
from bot.home import (
    MAX_HOME_BLOCKS,
    MAX_MESSAGE_BLOCKS,
    NOT_A_MEMBER_TEXT,
    accounts_message,
    age_icon,
    author_message,
    describe_age,
    home_view,
    one_line,
    queue_message,
    queue_text,
    stranger_home_view,
    unavailable_home_view,
)
from bot.services.accounts import AccountStatus
from bot.services.overview import (
    AccountHistory,
    AuthorOverview,
    AuthorSearch,
    LatestDecision,
    OpenRequest,
    QueueSummary,
    RecentDecision,
    WaitingItem,
)
from platforms.types import Platform

TZ = ZoneInfo("Europe/London")
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
LABELS = {"bullying_or_harassment": "Bullying or harassment"}
HOSTILE = (
    "<!channel> <@U0CLERK> <#C0GENERAL> <!subteam^S0SMAT> <https://evil.example|innocent> "
    "*bold* _it_ ~strike~ `code` &amp; &lt; :skull: \n> quoted\n"
)
MARKERS = ("<!channel>", "<@U0CLERK>", "<#C0", "<!subteam", "evil.example", "innocent", ":skull:")
"""Bits of HOSTILE that must never reach a mrkdwn object."""


# --- helpers ------------------------------------------------------------------------------------


def _text_objects(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if node.get("type") in ("plain_text", "mrkdwn") and isinstance(node.get("text"), str):
            yield node
        for value in node.values():
            yield from _text_objects(value)
    elif isinstance(node, list):
        for value in node:
            yield from _text_objects(value)


def assert_inert(blocks: list[dict[str, Any]], *markers: str) -> None:
    """No marker in any mrkdwn object; every plain_text object shows emoji codes literally."""
    objects = list(_text_objects(blocks))
    assert objects
    for obj in objects:
        if obj["type"] == "mrkdwn":
            assert obj.get("verbatim") is True, obj
            for marker in markers:
                assert marker not in obj["text"], (marker, obj["text"])
        else:
            assert obj.get("emoji") is False, obj


def assert_valid_home(view: dict[str, Any]) -> None:
    assert view["type"] == "home"
    assert 1 <= len(view["blocks"]) <= MAX_HOME_BLOCKS
    View(**view).to_dict()  # slack_sdk checks Slack's limits and raises on any breach


def assert_valid_message(blocks: list[dict[str, Any]]) -> None:
    assert 1 <= len(blocks) <= MAX_MESSAGE_BLOCKS
    for block in SdkBlock.parse_all(blocks):
        block.to_dict()


def _summary(**overrides: Any) -> QueueSummary:
    values: dict[str, Any] = {
        "pending": 7,
        "awaiting_approval": 2,
        "by_suggestion": {"hide": 3, "escalate": 1, "approve": 3},
        "oldest_pending_posted_at": NOW - timedelta(days=2, hours=3),
        "open_requests": 2,
        "oldest_request_at": NOW - timedelta(hours=5),
    }
    values.update(overrides)
    return QueueSummary(**values)


def _waiting(n: int, *, name: str = "Kev R", text: str = "You useless lot") -> list[WaitingItem]:
    return [
        WaitingItem(
            review_item_id=i + 1,
            status="awaiting_approval" if i == 0 else "pending",
            platform=list(Platform)[i % 4],
            account_name="Example Town Council",
            author_name=name,
            text=text,
            posted_at=NOW - timedelta(hours=100 - i),
            suggested_action="hide",
            reason_code="bullying_or_harassment",
            permalink=f"https://www.facebook.com/x/posts/1?comment_id={i}",
        )
        for i in range(n)
    ]


def _requests(n: int, *, name: str = "Margaret H", by: str = "U0SMAT1") -> list[OpenRequest]:
    return [
        OpenRequest(
            id=i + 1,
            review_item_id=i + 1,
            action="block" if i % 2 else "hide",
            reason_code="bullying_or_harassment",
            requested_by=by,
            requested_at=NOW - timedelta(minutes=30 + i),
            needs="second_member" if i % 2 else "clerk",
            platform=Platform.X if i % 2 else Platform.FACEBOOK,
            account_name="Example Town Council",
            author_name=name,
        )
        for i in range(n)
    ]


def _decisions(n: int, *, name: str = "Kev R", text: str = "idiot") -> list[RecentDecision]:
    return [
        RecentDecision(
            id=i + 1,
            action=("hide", "approve", "warn", "block")[i % 4],
            decided_at=NOW - timedelta(hours=i),
            reason_code=None if i % 4 == 1 else "bullying_or_harassment",
            approved_by="U0SMAT2" if i == 0 else None,
            platform=Platform.X if i % 4 == 3 else Platform.FACEBOOK,
            account_name="Example Town Council",
            author_name=name,
            text=text,
            outcome_status=None if i % 4 == 1 else "done",
        )
        for i in range(n)
    ]


def _home(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "council_name": "Example Town Council",
        "viewer_id": "U0SMAT1",
        "viewer_role": "smat",
        "summary": _summary(),
        "waiting": _waiting(5),
        "requests": _requests(2),
        "decisions": _decisions(10),
        "reason_labels": LABELS,
        "tz": TZ,
        "now": NOW,
    }
    values.update(overrides)
    return home_view(**values)


def _joined(blocks: list[dict[str, Any]], kind: str | None = None) -> str:
    return "\n".join(
        obj["text"] for obj in _text_objects(blocks) if kind is None or obj["type"] == kind
    )


# --- small pieces -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("age", "words"),
    [
        (timedelta(seconds=-30), "under a minute"),
        (timedelta(seconds=59), "under a minute"),
        (timedelta(minutes=1), "1 minute"),
        (timedelta(minutes=45), "45 minutes"),
        (timedelta(hours=1), "1 hour"),
        (timedelta(hours=5, minutes=10), "5 hours 10 minutes"),
        (timedelta(hours=23, minutes=59), "23 hours 59 minutes"),
        (timedelta(days=1), "1 day"),
        (timedelta(days=3, hours=2, minutes=40), "3 days 2 hours"),
        (timedelta(days=40), "40 days"),
    ],
)
def test_describe_age(age: timedelta, words: str) -> None:
    assert describe_age(age) == words


def test_ages_get_louder_the_longer_a_comment_waits() -> None:
    assert age_icon(timedelta(hours=2)) == ":hourglass_flowing_sand:"
    assert age_icon(timedelta(hours=24)) == ":warning:"
    assert age_icon(timedelta(days=3)) == ":rotating_light:"


def test_one_line_collapses_whitespace_and_cuts_long_text() -> None:
    assert one_line("  a\n\n b\t c  ", 50) == "a b c"
    cut = one_line("x" * 500, 80)
    assert len(cut) == 80
    assert cut.endswith("…")


# --- the queue ----------------------------------------------------------------------------------


def test_the_queue_counts_pending_flagged_clean_and_the_oldest_age() -> None:
    text = queue_text(_summary(), TZ, NOW)
    lines = text.splitlines()
    assert lines[0] == "*Waiting for SMAT: 9*"
    assert lines[1] == "• *7 pending* — 4 flagged (1 to escalate, 3 to hide), 3 clean"
    assert lines[2].startswith("• *2 awaiting approval* — removals waiting for a second SMAT")
    assert lines[2].endswith("oldest asked 5 hours ago")
    assert lines[3].startswith(":warning: The oldest pending comment was posted *2 days 3 hours")
    assert "(18 Nov 2026, 09:00)" in lines[3]
    assert "notice served" in lines[3]


def test_an_empty_queue_says_so() -> None:
    empty = _summary(
        pending=0,
        awaiting_approval=0,
        by_suggestion={},
        oldest_pending_posted_at=None,
        open_requests=0,
        oldest_request_at=None,
    )
    assert "Nothing is waiting" in queue_text(empty, TZ, NOW)
    message = queue_message(empty, TZ, NOW)
    assert_valid_message(message.blocks)


def test_a_very_old_comment_raises_the_alarm_and_the_message_is_valid() -> None:
    old = _summary(oldest_pending_posted_at=NOW - timedelta(days=9))
    message = queue_message(old, TZ, NOW)
    assert ":rotating_light: The oldest pending comment was posted *9 days ago*" in message.text
    assert_valid_message(message.blocks)
    assert_inert(message.blocks)


# --- the Home tab -------------------------------------------------------------------------------


def test_the_home_tab_shows_the_queue_the_oldest_requests_and_own_decisions() -> None:
    view = _home()
    assert_valid_home(view)
    blocks = view["blocks"]
    headers = [b["text"]["text"] for b in blocks if b["type"] == "header"]
    assert headers == [
        "SMAT Bot · Example Town Council",
        "Waiting longest",
        "Removal requests awaiting approval",
        "Your recent decisions",
    ]
    mrkdwn_text = _joined(blocks, "mrkdwn")
    assert "You are *smat* in SMAT" in mrkdwn_text
    assert "*Waiting for SMAT: 9*" in mrkdwn_text
    assert ":rotating_light: waiting *4 days 4 hours* · awaiting approval · suggested *HIDE*" in (
        mrkdwn_text
    )
    assert "— Bullying or harassment" in mrkdwn_text
    assert "*Hide* asked by <@U0SMAT1> 30 minutes ago — needs the Town Clerk" in mrkdwn_text
    assert "*Mute* asked by <@U0SMAT1> 31 minutes ago — needs a second SMAT member" in mrkdwn_text
    assert "_you asked: someone else approves_" in mrkdwn_text
    assert ":no_entry_sign: *Hidden* 20 Nov 2026, 12:00 — Bullying or harassment" in mrkdwn_text
    assert "approved by <@U0SMAT2>" in mrkdwn_text
    assert ":mute: *Muted*" in mrkdwn_text, "SMAT's Block is a mute on X"
    plain_text = _joined(blocks, "plain_text")
    assert "Kev R: “You useless lot”" in plain_text
    assert "Facebook · Example Town Council" in plain_text
    buttons = [b["accessory"] for b in blocks if "accessory" in b]
    assert len(buttons) == 5
    assert {b["action_id"] for b in buttons} == {ui_ids.OPEN_PERMALINK}
    assert all(b["url"].startswith("https://") for b in buttons)


def test_the_home_tab_stays_within_slacks_limits_whatever_the_data() -> None:
    huge = "x" * 10_000
    view = _home(
        council_name="C" * 500,
        summary=_summary(open_requests=300),
        waiting=_waiting(50, name=huge, text=huge),
        requests=_requests(300, name=huge),
        decisions=_decisions(300, name=huge, text=huge),
    )
    assert_valid_home(view)
    blocks = view["blocks"]
    assert len(blocks) <= MAX_HOME_BLOCKS
    assert sum(1 for b in blocks if "accessory" in b) == 5, "the 5 waiting longest"
    assert "…and 290 more" in _joined(blocks, "mrkdwn")
    for obj in _text_objects(blocks):
        assert len(obj["text"]) <= 3000


def test_the_home_tab_when_nothing_waits() -> None:
    view = _home(
        summary=_summary(
            pending=0,
            awaiting_approval=0,
            by_suggestion={},
            oldest_pending_posted_at=None,
            open_requests=0,
            oldest_request_at=None,
        ),
        waiting=[],
        requests=[],
        decisions=[],
        viewer_role="viewer",
    )
    assert_valid_home(view)
    text = _joined(view["blocks"])
    assert "Nothing is waiting" in text
    assert "No comment is waiting for a decision." in text
    assert "No removal is waiting for approval." in text
    assert "You have not decided on any comment yet." in text
    assert "You are *viewer* in SMAT" in text


def test_resident_text_on_the_home_tab_is_inert() -> None:
    view = _home(
        council_name=HOSTILE,
        waiting=_waiting(5, name=HOSTILE, text=HOSTILE),
        requests=_requests(3, name=HOSTILE),
        decisions=_decisions(10, name=HOSTILE, text=HOSTILE),
    )
    assert_valid_home(view)
    assert_inert(view["blocks"], *MARKERS)
    plain_text = _joined(view["blocks"], "plain_text")
    assert "<!channel> <@U0CLERK>" in plain_text, "shown literally, as written"
    for obj in _text_objects(view["blocks"]):
        assert "\n" not in obj["text"] or obj["type"] == "mrkdwn", "resident text on one line"


def test_a_permalink_that_is_not_https_gets_no_button() -> None:
    [item] = _waiting(1)
    odd = WaitingItem(**{**item.__dict__, "permalink": "javascript:alert(1)"})
    view = _home(waiting=[odd])
    assert not any("accessory" in b for b in view["blocks"])


def test_outsiders_see_a_short_view_that_says_to_ask_the_town_clerk() -> None:
    view = stranger_home_view("Example <!channel> Council")
    assert_valid_home(view)
    text = _joined(view["blocks"])
    assert "*ask the Town Clerk*" in text
    assert "Example &lt;!channel&gt; Council" in text
    assert "Waiting" not in text
    assert len(view["blocks"]) == 2
    assert_valid_home(unavailable_home_view())


# --- authors ------------------------------------------------------------------------------------


def _author(i: int, *, name: str = "Kev R", accounts: int = 2) -> AuthorOverview:
    return AuthorOverview(
        author_id=i,
        platform=Platform.X if i % 2 else Platform.FACEBOOK,
        display_name=name,
        first_seen_at=NOW - timedelta(days=30),
        accounts=tuple(
            AccountHistory(
                account_name=f"Account {a}",
                comments=3,
                last_comment_at=NOW - timedelta(days=1),
                hides=1,
                warnings=2,
                blocks=1 if a == 0 else 0,
                latest_decision=LatestDecision(
                    action="block",
                    actor_slack_id="U0SMAT1",
                    actor_name="Jo",
                    decided_at=NOW - timedelta(hours=2),
                    reason_code="bullying_or_harassment",
                )
                if a == 0
                else None,
            )
            for a in range(accounts)
        ),
    )


def test_an_author_shows_their_history_on_each_account() -> None:
    message = author_message(AuthorSearch(text="kev", matched=1, authors=(_author(0),)), LABELS, TZ)
    assert message.text == "1 commenter match."
    assert_valid_message(message.blocks)
    context = message.blocks[-1]
    assert context["type"] == "context"
    elements = context["elements"]
    assert [e["type"] for e in elements] == ["plain_text", "mrkdwn", "plain_text", "mrkdwn"]
    assert elements[0]["text"] == "Account 0:"
    assert elements[1]["text"] == (
        "3 comments (latest 19 Nov 2026, 12:00) · 1 hide · 2 warnings (strikes) · 1 block · "
        "latest: *Blocked* by <@U0SMAT1> 20 Nov 2026, 10:00 — Bullying or harassment"
    )
    assert elements[3]["text"].endswith("0 blocks · no decision yet")
    assert {"type": "plain_text", "text": "Kev R · Facebook", "emoji": False} in [
        b.get("text") for b in message.blocks
    ]


def test_on_x_a_block_is_a_mute() -> None:
    message = author_message(AuthorSearch(text="kev", matched=1, authors=(_author(1),)), LABELS, TZ)
    line = message.blocks[-1]["elements"][1]["text"]
    assert "1 mute ·" in line
    assert "latest: *Muted* by <@U0SMAT1>" in line


def test_ten_authors_with_many_accounts_fit_in_one_message() -> None:
    authors = tuple(_author(i, name="N" * 300, accounts=7) for i in range(10))
    message = author_message(AuthorSearch(text="n", matched=37, authors=authors), LABELS, TZ)
    assert_valid_message(message.blocks)
    assert message.text == (
        "37 commenters match; showing the 10 closest. Add more of the name to narrow it down."
    )
    assert "…and 3 more accounts" in _joined(message.blocks, "mrkdwn")


def test_no_author_found() -> None:
    message = author_message(AuthorSearch(text="zz", matched=0, authors=()), LABELS, TZ)
    assert message.text == "No commenter's name contains that text."
    assert_valid_message(message.blocks)
    assert "Searched for: zz" in _joined(message.blocks, "plain_text")


def test_author_names_and_the_search_text_are_inert() -> None:
    message = author_message(
        AuthorSearch(text=HOSTILE, matched=1, authors=(_author(0, name=HOSTILE),)), LABELS, TZ
    )
    assert_valid_message(message.blocks)
    assert_inert(message.blocks, *MARKERS)
    assert not any(marker in message.text for marker in MARKERS)


# --- accounts -----------------------------------------------------------------------------------


def _status(i: int, **overrides: Any) -> AccountStatus:
    values: dict[str, Any] = {
        "name": f"fb-{i}",
        "platform": "facebook",
        "external_id": f"Page{i}",
        "display_name": f"Page {i}",
        "status": "active",
        "status_detail": None,
        "configured": True,
        "token_ref": "env:FB_TOKEN",
    }
    values.update(overrides)
    return AccountStatus(**values)


def test_the_account_register() -> None:
    message = accounts_message(
        [
            _status(1),
            _status(
                2,
                status="needs_attention",
                status_detail="Facebook: the token expired",
                platform="instagram",
            ),
            _status(3, status="unregistered", configured=False, token_ref=None, platform="odd"),
        ]
    )
    assert message.text == "Council accounts (3): 1 need(s) attention"
    assert_valid_message(message.blocks)
    first, second, third = message.blocks[1:]
    assert first["elements"][0]["text"] == ":large_green_circle: *active*"
    assert first["elements"][1]["text"] == (
        "Page 1 · Facebook · fb-1 (id Page1) · token env:FB_TOKEN"
    )
    assert second["elements"][0]["text"] == ":warning: *needs attention*"
    assert second["elements"][2] == {
        "type": "plain_text",
        "text": "Facebook: the token expired",
        "emoji": False,
    }
    assert "token —" in third["elements"][1]["text"]
    assert "· odd ·" in third["elements"][1]["text"]
    assert third["elements"][-1]["text"] == "_not in the configuration; seen in an import_"


def test_many_accounts_fit_and_hostile_names_are_inert() -> None:
    statuses = [_status(i, display_name=HOSTILE, status_detail=HOSTILE) for i in range(60)]
    message = accounts_message(statuses)
    assert_valid_message(message.blocks)
    assert_inert(message.blocks, *MARKERS)
    assert "…and 20 more: `smat-bot accounts list`" in _joined(message.blocks, "mrkdwn")


def test_no_accounts_yet() -> None:
    message = accounts_message([])
    assert message.text.startswith("No accounts yet")
    assert_valid_message(message.blocks)


def test_the_refusal_names_the_town_clerk() -> None:
    assert "ask the Town Clerk" in NOT_A_MEMBER_TEXT

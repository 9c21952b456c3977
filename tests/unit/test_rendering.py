"""Block Kit rendering: pure functions from a TriageCard to a Slack message, tested without Slack.

The rule that matters most: nothing a resident wrote (comment, author name, post title) is ever
put in a ``mrkdwn`` object, so ``<!channel>`` or a disguised link in a comment stays inert.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from slack_sdk.models.blocks import Block

from bot import ui_ids
from bot.cards import AuthorHistory, DecisionView, RequestView, TriageCard
from bot.rendering import (
    ACTION_APPROVE,
    MAX_TEXT,
    SlackMessage,
    button_value,
    escape_mrkdwn,
    ordinal,
    render_card,
)
from platforms.types import Platform

LONDON = ZoneInfo("Europe/London")
REASON_LABELS = {
    "bullying_or_harassment": "Bullying or harassment",
    "violent_or_threatening": "Violent or threatening",
    "personal_data": "Discloses personal data",
}
PERMALINK = "https://www.facebook.com/ExampleTownCouncil/posts/9001?comment_id=1002&ref=x"

# Resident-written markers: unusual enough that nothing of ours contains them by accident.
AUTHOR = "Quentin Zebedee"
POST_TITLE = "Xylophone Appeal"
COMMENT = "the marmalade quokka committee is a disgrace"

HOSTILE_PIECES = ("<!channel>", "<@U123>", "<https://evil.example|bank>", "&amp;", "*bold*")
HOSTILE_COMMENT = "Hey " + " ".join(HOSTILE_PIECES) + " :rotating_light: _x_ ~y~ `z`"


def make_card(**changes: Any) -> TriageCard:
    """A pending card for a flagged Facebook comment; change any field by keyword."""
    card = TriageCard(
        review_item_id=7,
        review_version=2,
        status="pending",
        platform=Platform.FACEBOOK,
        account_name="Example Town Council",
        post_title=POST_TITLE,
        permalink=PERMALINK,
        author_name=AUTHOR,
        author_earlier_comments=2,
        created_at=datetime(2026, 7, 1, 10, 0, tzinfo=UTC),
        comment_version=1,
        text=COMMENT,
        deleted=False,
        model_name="detoxify-unbiased",
        scores={"toxicity": 0.97, "insult": 0.94, "obscene": 0.20, "threat": 0.02},
        thresholds={"toxicity": 0.80, "insult": 0.60, "obscene": 0.80, "threat": 0.60},
        detections={"phone_number": ["+447700900123"]},
        suggested_action="hide",
        reason_code="bullying_or_harassment",
        clause="Biggleswade 6.5",
        explanation="Above threshold: insult 0.94 ≥ 0.60, toxicity 0.97 ≥ 0.80.",
        decision=None,
        slack_channel=None,
        slack_ts=None,
    )
    return dataclasses.replace(card, **changes)


def clean_card(**changes: Any) -> TriageCard:
    fields: dict[str, Any] = {
        "scores": {"toxicity": 0.05, "insult": 0.02},
        "detections": {},
        "suggested_action": "approve",
        "reason_code": None,
        "clause": None,
        "explanation": "No policy reason applies.",
    }
    return make_card(**{**fields, **changes})


def decision(**changes: Any) -> DecisionView:
    view = DecisionView(
        id=1,
        action="approve",
        actor_slack_id="U0SMAT1",
        actor_name="Jo Smat",
        decided_at=datetime(2026, 7, 1, 10, 4, tzinfo=UTC),
        reason_code=None,
        comment_version=1,
    )
    return dataclasses.replace(view, **changes)


def decided_card(**changes: Any) -> TriageCard:
    return make_card(**{"status": "decided", "decision": decision(), **changes})


def removal_request(**changes: Any) -> RequestView:
    view = RequestView(
        id=31,
        action="hide",
        reason_code="bullying_or_harassment",
        note=None,
        requested_by="U0SMAT2",
        requested_at=datetime(2026, 7, 1, 10, 30, tzinfo=UTC),
        needs="second_member",
    )
    return dataclasses.replace(view, **changes)


def awaiting_card(**changes: Any) -> TriageCard:
    return clean_card(**{"status": "awaiting_approval", "request": removal_request(), **changes})


def hidden(**changes: Any) -> DecisionView:
    fields: dict[str, Any] = {
        "action": "hide",
        "reason_code": "bullying_or_harassment",
        "outcome_status": "done",
        "preserved_sha256": "3f9a" + "0" * 60,
    }
    return decision(**{**fields, **changes})


def render(card: TriageCard, tz: ZoneInfo = LONDON) -> SlackMessage:
    return render_card(card, reason_labels=REASON_LABELS, tz=tz)


def text_objects(node: Any) -> Iterator[dict[str, Any]]:
    """Every text composition object anywhere in a block tree."""
    if isinstance(node, dict):
        if node.get("type") in ("plain_text", "mrkdwn") and "text" in node:
            yield node
        for value in node.values():
            yield from text_objects(value)
    elif isinstance(node, list):
        for item in node:
            yield from text_objects(item)


def mrkdwn_texts(message: SlackMessage) -> list[str]:
    return [obj["text"] for obj in text_objects(message.blocks) if obj["type"] == "mrkdwn"]


def plain_texts(message: SlackMessage) -> list[str]:
    return [obj["text"] for obj in text_objects(message.blocks) if obj["type"] == "plain_text"]


def all_mrkdwn(message: SlackMessage) -> str:
    return "\n".join(mrkdwn_texts(message))


def blocks_of_type(message: SlackMessage, kind: str) -> list[dict[str, Any]]:
    return [block for block in message.blocks if block["type"] == kind]


def buttons(message: SlackMessage) -> list[dict[str, Any]]:
    return [
        element for block in blocks_of_type(message, "actions") for element in block["elements"]
    ]


CARDS = {
    "flagged": make_card(),
    "escalate": make_card(suggested_action="escalate", reason_code="violent_or_threatening"),
    "review": make_card(suggested_action="review", reason_code=None, clause=None),
    "clean": clean_card(),
    "decided": decided_card(),
    "decided by system": decided_card(
        decision=decision(
            action="hide", actor_slack_id=None, actor_name="SMAT Bot", reason_code="spam"
        )
    ),
    "long": make_card(text="x" * 5000),
    "long clean": clean_card(text="y" * 5000),
    "no permalink": make_card(permalink=None, text="z" * 4000),
    "long names": make_card(author_name="A" * 3000, post_title="T" * 3000, account_name="C" * 500),
    "edited": make_card(comment_version=3),
    "empty text": clean_card(text=""),
    "awaiting second member": awaiting_card(),
    "awaiting clerk": awaiting_card(
        request=removal_request(action="delete", needs="clerk", note="Needs to go <soon>")
    ),
    "hidden": decided_card(decision=hidden(approved_by="U0SMAT2", note="see thread")),
    "blocked on x": decided_card(platform=Platform.X, decision=hidden(action="block")),
    "warned": decided_card(decision=hidden(action="warn", outcome_status="pending")),
    "long awaiting": awaiting_card(text="w" * 5000, author_name="B" * 3000),
    "long hidden": decided_card(
        text="v" * 5000, decision=hidden(note="n" * 3000, outcome_detail="d" * 5000)
    ),
}


# --- resident text is never markup ------------------------------------------------------------


@pytest.mark.parametrize(
    "card",
    [
        CARDS[name]
        for name in (
            "flagged",
            "escalate",
            "review",
            "clean",
            "decided",
            "awaiting second member",
            "awaiting clerk",
            "hidden",
            "blocked on x",
        )
    ],
    ids=str,
)
def test_resident_text_appears_only_in_plain_text(card: TriageCard) -> None:
    message = render(card)

    for written in (AUTHOR, POST_TITLE, COMMENT):
        assert any(written in text for text in plain_texts(message)), f"{written!r} not shown"
        assert not any(written in text for text in mrkdwn_texts(message)), f"{written!r} in mrkdwn"


@pytest.mark.parametrize(
    "base", ["flagged", "clean", "decided", "long", "awaiting clerk", "hidden", "warned"]
)
def test_hostile_markup_in_resident_text_never_reaches_mrkdwn(base: str) -> None:
    card = dataclasses.replace(
        CARDS[base],
        text=HOSTILE_COMMENT + (" pad" * 1000 if base == "long" else ""),
        author_name="<!here> Kev & <@U999>",
        post_title="<!everyone> *Lights*",
        permalink="https://www.facebook.com/p/1",  # no & of its own to escape
    )
    message = render(card)

    mrkdwn = all_mrkdwn(message)
    for piece in (*HOSTILE_PIECES, "<!here>", "<@U999>", "<!everyone>", "*Lights*", "Kev"):
        assert piece not in mrkdwn
    # ...and the comment is still shown, literally, with emoji codes left alone.
    shown = [obj for obj in text_objects(message.blocks) if HOSTILE_COMMENT[:40] in obj["text"]]
    assert shown, "the comment is not shown at all"
    assert all(obj["type"] == "plain_text" and obj["emoji"] is False for obj in shown)
    assert HOSTILE_COMMENT in shown[0]["text"] or base == "long"


def test_our_mrkdwn_escapes_configured_words() -> None:
    card = make_card(
        reason_code="odd",
        clause="Policy <A> & B",
        model_name="model <v1>",
        explanation="Score <high> & rising",
    )
    message = render_card(card, reason_labels={"odd": "Odd <reason>"}, tz=LONDON)

    mrkdwn = all_mrkdwn(message)
    assert "Odd &lt;reason&gt;" in mrkdwn
    assert "Policy &lt;A&gt; &amp; B" in mrkdwn
    assert "model &lt;v1&gt;" in mrkdwn
    assert "Score &lt;high&gt; &amp; rising" in mrkdwn
    assert "<A>" not in mrkdwn
    assert "<reason>" not in mrkdwn


# --- the notification text --------------------------------------------------------------------


@pytest.mark.parametrize("base", ["flagged", "clean", "decided", "awaiting clerk", "hidden"])
def test_fallback_text_escapes_the_author_name(base: str) -> None:
    card = dataclasses.replace(CARDS[base], author_name="Kev <@U123> & <!channel>")

    text = render(card).text

    assert "Kev &lt;@U123&gt; &amp; &lt;!channel&gt;" in text
    assert "<" not in text
    assert ">" not in text
    assert "Facebook" in text


def test_fallback_text_of_flagged_card_says_what_is_suggested() -> None:
    assert render(make_card(suggested_action="escalate")).text.endswith("suggested escalate")


def test_fallback_text_of_decided_card_escapes_the_actor_name() -> None:
    card = decided_card(decision=decision(actor_slack_id=None, actor_name="Jo <!channel> & Co"))

    text = render(card).text

    assert "<!channel>" not in text
    assert "Jo &lt;!channel&gt; &amp; Co" in text


# --- escape_mrkdwn ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("", ""),
        ("plain words", "plain words"),
        ("&", "&amp;"),
        ("<", "&lt;"),
        (">", "&gt;"),
        ("<!channel>", "&lt;!channel&gt;"),
        ("a & b < c > d", "a &amp; b &lt; c &gt; d"),
        # & is escaped first: an entity already in the text is shown as typed, not decoded,
        # and the entities we add are not escaped a second time.
        ("&lt;", "&amp;lt;"),
        ("&amp;", "&amp;amp;"),
        ("<&>", "&lt;&amp;&gt;"),
        ("*bold* _it_ ~s~", "*bold* _it_ ~s~"),
    ],
)
def test_escape_mrkdwn(raw: str, escaped: str) -> None:
    assert escape_mrkdwn(raw) == escaped


# --- long comments ----------------------------------------------------------------------------


def test_long_comment_is_truncated_with_note_and_permalink() -> None:
    message = render(make_card(text="x" * 5000))

    body = [text for text in plain_texts(message) if text.startswith("xxx")]
    assert len(body) == 1
    assert len(body[0]) < 3000
    assert len(body[0]) <= MAX_TEXT
    assert body[0].endswith("…")
    note = next(text for text in mrkdwn_texts(message) if "Shown in part" in text)
    assert "5,000 characters" in note
    assert f"<{escape_mrkdwn(PERMALINK)}|" in note  # & in the URL escaped inside the link
    for obj in text_objects(message.blocks):
        assert len(obj["text"]) <= 3000


def test_long_comment_without_permalink_still_gets_the_note() -> None:
    message = render(make_card(text="z" * 4000, permalink=None))

    note = next(text for text in mrkdwn_texts(message) if "Shown in part" in text)
    assert "4,000 characters" in note
    assert "<" not in note


def test_comment_at_the_limit_is_shown_whole_without_note() -> None:
    message = render(make_card(text="q" * MAX_TEXT))

    assert "q" * MAX_TEXT in plain_texts(message)
    assert "Shown in part" not in all_mrkdwn(message)


def test_empty_comment_still_gives_a_non_empty_text_object() -> None:
    message = render(clean_card(text=""))
    assert all(obj["text"] for obj in text_objects(message.blocks))


# --- the flagged card -------------------------------------------------------------------------


def test_flagged_card_shows_suggestion_reason_clause_and_top_scores() -> None:
    message = render(make_card())
    mrkdwn = all_mrkdwn(message)

    assert "*Suggested: HIDE*" in mrkdwn
    assert "Bullying or harassment" in mrkdwn
    assert "(Biggleswade 6.5)" in mrkdwn
    # Top three relative to threshold: insult 1.57x, toxicity 1.21x, obscene 0.25x.
    assert "insult 0.94, toxicity 0.97, obscene 0.20" in mrkdwn
    assert "threat 0.02" not in mrkdwn
    assert "Detected: phone number" in mrkdwn
    assert "+447700900123" not in mrkdwn  # the kind, not the personal data itself
    assert "Above threshold: insult 0.94" in mrkdwn
    assert "detoxify-unbiased" in mrkdwn
    assert message.blocks[0]["elements"][0]["text"] == ":red_circle:"


@pytest.mark.parametrize(
    ("action", "icon"),
    [
        ("escalate", ":rotating_light:"),
        ("hide", ":red_circle:"),
        ("review", ":large_orange_circle:"),
    ],
)
def test_flagged_card_icon_follows_the_suggestion(action: str, icon: str) -> None:
    message = render(make_card(suggested_action=action))
    assert message.blocks[0]["elements"][0] == {"type": "mrkdwn", "text": icon, "verbatim": True}
    assert f"*Suggested: {action.upper()}*" in all_mrkdwn(message)


def test_unknown_reason_code_is_shown_by_its_code() -> None:
    message = render(make_card(reason_code="brand_new_code"))
    assert "brand_new_code" in all_mrkdwn(message)


@pytest.mark.parametrize("card", [CARDS["flagged"], CARDS["clean"]], ids=["flagged", "clean"])
def test_approve_button_carries_item_and_version(card: TriageCard) -> None:
    message = render(card)

    (actions,) = blocks_of_type(message, "actions")
    assert actions["block_id"] == "triage:7:2"
    approve = next(b for b in buttons(message) if b.get("action_id") == ACTION_APPROVE)
    assert approve["type"] == "button"
    assert approve["text"]["text"] == "Approve"
    assert json.loads(approve["value"]) == {"item": 7, "version": 2}
    assert approve["value"] == button_value(card)


def test_button_value_tracks_the_card_version() -> None:
    card = make_card(review_item_id=123456, review_version=9)
    assert json.loads(button_value(card)) == {"item": 123456, "version": 9}


def test_view_button_links_to_the_https_permalink() -> None:
    view = [b for b in buttons(render(make_card())) if "url" in b]
    assert len(view) == 1
    assert view[0]["url"] == PERMALINK
    assert view[0]["text"]["text"] == "View on Facebook ↗"


@pytest.mark.parametrize("permalink", [None, "", "http://insecure.test/x", "javascript:alert(1)"])
def test_no_view_button_without_an_https_permalink(permalink: str | None) -> None:
    message = render(make_card(permalink=permalink))
    assert [b for b in buttons(message) if "url" in b] == []
    assert any(b.get("action_id") == ACTION_APPROVE for b in buttons(message))


@pytest.mark.parametrize(
    ("platform", "name"),
    [
        (Platform.FACEBOOK, "Facebook"),
        (Platform.INSTAGRAM, "Instagram"),
        (Platform.YOUTUBE, "YouTube"),
        (Platform.X, "X"),
    ],
)
def test_platform_is_named(platform: Platform, name: str) -> None:
    message = render(make_card(platform=platform))
    assert plain_texts(message)[0].startswith(f"{name} · Example Town Council")
    assert message.text.startswith(f"{name} comment from")


def test_author_history_and_edits_are_shown() -> None:
    first = " ".join(plain_texts(render(make_card(author_earlier_comments=0))))
    assert "first comment here" in first
    edited = " ".join(plain_texts(render(make_card(comment_version=3))))
    assert "3rd comment here · 0 earlier hides · 0 warnings" in edited
    assert "edited (version 3)" in edited


# --- the clean card ---------------------------------------------------------------------------


def test_clean_card_is_compact_and_still_has_approve() -> None:
    clean = render(clean_card())
    flagged = render(make_card())

    assert len(clean.blocks) < len(flagged.blocks)
    assert any(b.get("action_id") == ACTION_APPROVE for b in buttons(clean))
    assert "Suggested" not in all_mrkdwn(clean)
    assert clean.blocks[0]["elements"][0]["text"] == ":white_circle:"
    assert clean.text == f"Facebook comment from {AUTHOR}"


# --- the decided card -------------------------------------------------------------------------


def test_approved_card_shows_who_and_offers_a_reply_or_escalate() -> None:
    message = render(decided_card())

    headline = message.blocks[0]["text"]
    assert headline["type"] == "mrkdwn"
    assert ":white_check_mark:" in headline["text"]
    assert "Approved* by <@U0SMAT1>" in headline["text"]
    assert "Approved by <@U0SMAT1>" in headline["text"].replace("*", "")
    assert "at 11:04 on 1 Jul 2026" in headline["text"]  # decided 10:04Z, shown in BST
    # An approved comment may still deserve an answer, or go to the Clerk.
    assert [b["action_id"] for b in buttons(message)] == [ui_ids.REPLY, ui_ids.ESCALATE]
    assert "decided on version 1" in all_mrkdwn(message)
    assert message.text.startswith("Approved by Jo Smat")


def test_decision_without_slack_user_names_the_actor_escaped() -> None:
    card = decided_card(
        decision=decision(
            action="hide",
            actor_slack_id=None,
            actor_name="SMAT Bot <auto>",
            reason_code="personal_data",
        )
    )
    headline = render(card).blocks[0]["text"]["text"]

    assert "*Hidden* by SMAT Bot &lt;auto&gt;" in headline
    assert "Discloses personal data" in headline


def test_pending_card_ignores_a_stale_decision() -> None:
    message = render(make_card(status="pending", decision=decision()))
    assert blocks_of_type(message, "actions") != []


# --- Slack's own limits -----------------------------------------------------------------------


@pytest.mark.parametrize("card", list(CARDS.values()), ids=list(CARDS))
def test_every_block_validates_against_slack_sdk(card: TriageCard) -> None:
    message = render(card)

    assert 0 < len(message.blocks) <= 50
    for block in message.blocks:
        parsed = Block.parse(block)
        assert parsed is not None, f"unknown block type {block.get('type')!r}"
        parsed.validate_json()
    for obj in text_objects(message.blocks):
        assert 0 < len(obj["text"]) <= 3000
    for button in buttons(message):
        assert len(button.get("value", "")) <= 2000
        assert len(button.get("url", "")) <= 3000
        assert len(button["action_id"]) <= 255
    for block in message.blocks:
        assert len(block.get("block_id", "")) <= 255
        assert len(block.get("elements", [])) <= 10
    assert len(message.text) <= 40_000


def test_slack_sdk_validation_is_not_a_no_op() -> None:
    too_long = {"type": "section", "text": {"type": "plain_text", "text": "x" * 3001}}
    with pytest.raises(Exception, match="3000"):
        Block.parse(too_long).validate_json()  # type: ignore[union-attr]


# --- time -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("created_at", "shown"),
    [
        (datetime(2026, 7, 1, 10, 0, tzinfo=UTC), "1 Jul 2026, 11:00"),  # BST
        (datetime(2026, 12, 1, 10, 0, tzinfo=UTC), "1 Dec 2026, 10:00"),  # GMT
        (datetime(2026, 7, 1, 23, 30, tzinfo=UTC), "2 Jul 2026, 00:30"),  # next day in London
    ],
)
@pytest.mark.parametrize("make", [make_card, clean_card], ids=["flagged", "clean"])
def test_times_are_shown_in_london(created_at: datetime, shown: str, make: Any) -> None:
    texts = " ".join(plain_texts(render(make(created_at=created_at))))
    assert shown in texts


def test_time_zone_is_the_one_passed_in() -> None:
    texts = " ".join(plain_texts(render(make_card(), tz=ZoneInfo("UTC"))))
    assert "1 Jul 2026, 10:00" in texts
    assert "11:00" not in texts


# --- the pending card's buttons, by platform --------------------------------------------------

PENDING_BUTTONS = {
    Platform.FACEBOOK: [
        (ui_ids.APPROVE, "Approve"),
        (ui_ids.HIDE, "Hide…"),
        (ui_ids.WARN, "Warn…"),
        (ui_ids.BLOCK, "Block…"),
        (ui_ids.DELETE, "Delete…"),
        (ui_ids.REPLY, "Reply…"),
        (ui_ids.ESCALATE, "Escalate…"),
        (ui_ids.OPEN_PERMALINK, "View on Facebook ↗"),
    ],
    Platform.INSTAGRAM: [  # Instagram has no block API
        (ui_ids.APPROVE, "Approve"),
        (ui_ids.HIDE, "Hide…"),
        (ui_ids.WARN, "Warn…"),
        (ui_ids.DELETE, "Delete…"),
        (ui_ids.REPLY, "Reply…"),
        (ui_ids.ESCALATE, "Escalate…"),
        (ui_ids.OPEN_PERMALINK, "View on Instagram ↗"),
    ],
    Platform.YOUTUBE: [
        (ui_ids.APPROVE, "Approve"),
        (ui_ids.HIDE, "Hide…"),
        (ui_ids.WARN, "Warn…"),
        (ui_ids.BLOCK, "Block…"),
        (ui_ids.DELETE, "Delete…"),
        (ui_ids.REPLY, "Reply…"),
        (ui_ids.ESCALATE, "Escalate…"),
        (ui_ids.OPEN_PERMALINK, "View on YouTube ↗"),
    ],
    Platform.X: [  # X: Block mutes; no delete by API
        (ui_ids.APPROVE, "Approve"),
        (ui_ids.HIDE, "Hide…"),
        (ui_ids.WARN, "Warn…"),
        (ui_ids.BLOCK, "Mute…"),
        (ui_ids.REPLY, "Reply…"),
        (ui_ids.ESCALATE, "Escalate…"),
        (ui_ids.OPEN_PERMALINK, "View on X ↗"),
    ],
}


def button_set(message: SlackMessage) -> list[tuple[str, str]]:
    return [(b["action_id"], b["text"]["text"]) for b in buttons(message)]


@pytest.mark.parametrize("platform", list(Platform))
@pytest.mark.parametrize("make", [make_card, clean_card], ids=["flagged", "clean"])
def test_pending_buttons_follow_the_platforms_capabilities(platform: Platform, make: Any) -> None:
    card = make(platform=platform)
    message = render(card)

    assert button_set(message) == PENDING_BUTTONS[platform]
    for button in buttons(message):
        if button["action_id"] == ui_ids.OPEN_PERMALINK:
            assert button["url"] == PERMALINK
            assert "value" not in button
        else:
            assert button["value"] == button_value(card)
    styles = {b["action_id"]: b.get("style") for b in buttons(message)}
    assert styles[ui_ids.APPROVE] == "primary"
    assert styles.get(ui_ids.DELETE, "danger") == "danger"
    assert styles[ui_ids.HIDE] is None


def test_author_line_shows_history_as_in_the_design() -> None:
    card = make_card(history=AuthorHistory(earlier_comments=2, hides=1, warnings=0))
    line = plain_texts(render(card))[1]

    assert line.startswith(f"{AUTHOR} (3rd comment here · 1 earlier hide · 0 warnings)")


def test_author_line_counts_strikes_and_says_blocked_or_muted() -> None:
    history = AuthorHistory(earlier_comments=11, hides=3, warnings=2, blocks=1)
    line = plain_texts(render(make_card(author_earlier_comments=11, history=history)))[1]
    assert "12th comment here · 3 earlier hides · 2 warnings · blocked" in line
    on_x = plain_texts(render(make_card(platform=Platform.X, history=history)))[1]
    assert "· muted" in on_x


def test_first_comment_has_no_history_counts() -> None:
    line = plain_texts(render(make_card(author_earlier_comments=0)))[1]
    assert "(first comment here)" in line


@pytest.mark.parametrize(
    ("number", "word"),
    [
        (1, "1st"),
        (2, "2nd"),
        (3, "3rd"),
        (4, "4th"),
        (11, "11th"),
        (12, "12th"),
        (13, "13th"),
        (21, "21st"),
        (22, "22nd"),
        (101, "101st"),
        (111, "111th"),
        (112, "112th"),
    ],
)
def test_ordinal(number: int, word: str) -> None:
    assert ordinal(number) == word


def test_escalation_shows_legislation_once() -> None:
    laws = ("Malicious Communications Act 1988, s1", "Protection from Harassment Act 1997, s4")
    explained = make_card(
        suggested_action="escalate",
        explanation="Threat 0.9. Possible offence: " + "; ".join(laws) + ".",
        legislation=laws,
    )
    mrkdwn = all_mrkdwn(render(explained))
    assert mrkdwn.count("Malicious Communications Act 1988, s1") == 1

    unexplained = make_card(suggested_action="escalate", legislation=laws)
    assert "Possible offence: Malicious Communications Act 1988, s1; Protection" in all_mrkdwn(
        render(unexplained)
    )


def test_clause_for_another_reason_comes_from_reason_clauses() -> None:
    card = decided_card(decision=hidden(reason_code="personal_data"))
    without = render(card).blocks[0]["text"]["text"]
    assert "Discloses personal data" in without
    assert "Biggleswade 6.5" not in without  # the card's clause belongs to its own reason

    message = render_card(
        card,
        reason_labels=REASON_LABELS,
        tz=LONDON,
        reason_clauses={"personal_data": "St Helens 9.7 <DPA>"},
    )
    assert (
        "Discloses personal data (St Helens 9.7 &lt;DPA&gt;)" in message.blocks[0]["text"]["text"]
    )


# --- the card awaiting approval ---------------------------------------------------------------


def test_awaiting_second_member_card() -> None:
    card = awaiting_card(request=removal_request(note="Resident <!channel> rang *twice*"))
    message = render(card)
    mrkdwn = all_mrkdwn(message)

    headline = message.blocks[0]["text"]["text"]
    assert headline.startswith(":hourglass_flowing_sand: *Hide requested* by <@U0SMAT2>")
    assert "at 11:30 on 1 Jul 2026" in headline
    assert "Bullying or harassment" in headline
    assert "Needs a second SMAT member" in mrkdwn
    assert "criticism is never removed by one click" in mrkdwn
    assert "Town Clerk" not in mrkdwn
    assert "Note: Resident <!channel> rang *twice*" in plain_texts(message)
    assert "<!channel>" not in mrkdwn
    assert COMMENT in plain_texts(message)
    assert message.text == f"Hide of a Facebook comment from {AUTHOR} needs a second SMAT member"


def test_awaiting_clerk_card_and_its_delete_confirmation() -> None:
    card = awaiting_card(
        platform=Platform.YOUTUBE,
        reason_code="bullying_or_harassment",
        clause="Biggleswade 6.5",
        request=removal_request(action="delete", needs="clerk"),
    )
    message = render(card)

    assert "*Delete requested* by <@U0SMAT2>" in message.blocks[0]["text"]["text"]
    assert "Bullying or harassment (Biggleswade 6.5)" in message.blocks[0]["text"]["text"]
    assert "Needs the Town Clerk" in all_mrkdwn(message)
    approve = buttons(message)[0]
    assert approve["confirm"]["style"] == "danger"
    assert "cannot be restored" in approve["confirm"]["text"]["text"]
    assert message.text.endswith("needs the Town Clerk")


@pytest.mark.parametrize("platform", list(Platform))
@pytest.mark.parametrize("action", ["hide", "delete"])
def test_awaiting_card_has_only_approve_removal_and_decline(
    platform: Platform, action: str
) -> None:
    needs = "clerk" if action == "delete" else "second_member"
    card = awaiting_card(
        platform=platform, request=removal_request(id=31, action=action, needs=needs)
    )
    message = render(card)

    assert [(b["action_id"], b["text"]["text"]) for b in buttons(message)] == [
        (ui_ids.APPROVE_REMOVAL, "Approve removal"),
        (ui_ids.DECLINE_REMOVAL, "Decline"),
    ]
    assert all(json.loads(b["value"]) == {"request": 31} for b in buttons(message))
    (actions,) = blocks_of_type(message, "actions")
    assert actions["block_id"] == "request:7:2:31"


def test_awaiting_card_with_a_malformed_requester_escapes_it() -> None:
    message = render(awaiting_card(request=removal_request(requested_by="<!channel>")))
    assert "<!channel>" not in all_mrkdwn(message)
    assert "&lt;!channel&gt;" in message.blocks[0]["text"]["text"]


def test_awaiting_status_without_a_request_falls_back_to_the_pending_card() -> None:
    message = render(awaiting_card(request=None))
    assert (ui_ids.APPROVE, "Approve") in button_set(message)


# --- the decided card -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "platform", "word"),
    [
        ("approve", Platform.FACEBOOK, "Approved"),
        ("hide", Platform.FACEBOOK, "Hidden"),
        ("delete", Platform.YOUTUBE, "Deleted"),
        ("block", Platform.FACEBOOK, "Blocked"),
        ("block", Platform.X, "Muted"),
        ("warn", Platform.INSTAGRAM, "Warned"),
        ("unhide", Platform.FACEBOOK, "Unhidden"),
        ("unblock", Platform.FACEBOOK, "Unblocked"),
        ("unblock", Platform.X, "Unmuted"),
    ],
)
def test_decided_headline_per_action(action: str, platform: Platform, word: str) -> None:
    card = decided_card(platform=platform, decision=hidden(action=action))
    message = render(card)
    headline = message.blocks[0]["text"]["text"]

    assert f"*{word}* by <@U0SMAT1> at 11:04 on 1 Jul 2026" in headline
    assert headline.endswith("— Bullying or harassment (Biggleswade 6.5)")
    assert message.text.startswith(f"{word} by Jo Smat: {platform.display_name} comment")


def test_decided_card_names_the_approver() -> None:
    headline = render(decided_card(decision=hidden(approved_by="U0SMAT2"))).blocks[0]["text"]
    assert headline["text"].endswith("· approved by <@U0SMAT2>")


def test_decided_card_shows_the_preserved_original_and_platform_result() -> None:
    message = render(decided_card(decision=hidden()))
    status = message.blocks[1]["elements"][0]["text"]

    assert status == (
        "Original preserved (sha256 3f9a0000…) · :white_check_mark: Facebook confirmed hidden"
    )


@pytest.mark.parametrize(
    ("platform", "action", "status", "detail", "line"),
    [
        (Platform.FACEBOOK, "hide", "done", "", ":white_check_mark: Facebook confirmed hidden"),
        (Platform.X, "block", "done", "muted", ":white_check_mark: X confirmed muted (muted)"),
        (Platform.FACEBOOK, "warn", "done", None, ":white_check_mark: Facebook: warning posted"),
        (
            Platform.FACEBOOK,
            "delete",
            "done",
            "already deleted",
            ":white_check_mark: Facebook confirmed deleted (already deleted)",
        ),
        (Platform.FACEBOOK, "hide", "pending", None, ":hourglass: sending to Facebook…"),
        (
            Platform.FACEBOOK,
            "hide",
            "failed",
            "HTTP 503 — retrying",
            ":warning: Facebook failed: HTTP 503 — retrying",
        ),
        (Platform.YOUTUBE, "hide", "failed", None, ":warning: YouTube failed — retrying"),
        (
            Platform.INSTAGRAM,
            "block",
            "unsupported",
            "Instagram has no way to block through its API",
            ":information_source: Instagram cannot block — do it in the app",
        ),
        (
            Platform.FACEBOOK,
            "hide",
            "not_connected",
            "this account is not connected",
            ":information_source: not connected: do it on Facebook by hand",
        ),
    ],
)
def test_platform_result_line(
    platform: Platform, action: str, status: str, detail: str | None, line: str
) -> None:
    card = decided_card(
        platform=platform,
        decision=hidden(
            action=action, outcome_status=status, outcome_detail=detail, preserved_sha256=None
        ),
    )
    assert render(card).blocks[1]["elements"][0]["text"] == line


def test_approve_has_no_result_line() -> None:
    message = render(decided_card(decision=decision(outcome_status="done")))
    assert "confirmed" not in all_mrkdwn(message)


def test_platform_detail_is_escaped() -> None:
    card = decided_card(
        decision=hidden(outcome_status="failed", outcome_detail="<!channel> said <@U1> & no")
    )
    mrkdwn = all_mrkdwn(render(card))
    assert "<!channel>" not in mrkdwn
    assert "&lt;!channel&gt; said &lt;@U1&gt; &amp; no" in mrkdwn


def test_decision_note_is_plain_text() -> None:
    message = render(decided_card(decision=hidden(note="<@U123> *asked* &amp;")))
    assert "Note: <@U123> *asked* &amp;" in plain_texts(message)
    assert "<@U123>" not in all_mrkdwn(message)


REPLY = (ui_ids.REPLY, "Reply…")
FOLLOW_UPS = [
    (
        "hide",
        Platform.FACEBOOK,
        [
            (ui_ids.UNDO, "Undo"),
            (ui_ids.WARN, "Warn…"),
            (ui_ids.BLOCK, "Block…"),
            (ui_ids.DELETE, "Delete…"),
            REPLY,
            (ui_ids.ESCALATE, "Escalate…"),
        ],
    ),
    # Instagram refuses replies to hidden comments: no Warn… or Reply… once hidden.
    (
        "hide",
        Platform.INSTAGRAM,
        [(ui_ids.UNDO, "Undo"), (ui_ids.DELETE, "Delete…"), (ui_ids.ESCALATE, "Escalate…")],
    ),
    (
        "hide",
        Platform.YOUTUBE,
        [
            (ui_ids.UNDO, "Undo"),
            (ui_ids.WARN, "Warn…"),
            (ui_ids.BLOCK, "Block…"),
            (ui_ids.DELETE, "Delete…"),
            REPLY,
            (ui_ids.ESCALATE, "Escalate…"),
        ],
    ),
    (
        "hide",
        Platform.X,
        [
            (ui_ids.UNDO, "Undo"),
            (ui_ids.WARN, "Warn…"),
            (ui_ids.BLOCK, "Mute…"),
            REPLY,
            (ui_ids.ESCALATE, "Escalate…"),
        ],
    ),
    ("block", Platform.FACEBOOK, [(ui_ids.UNDO, "Undo"), REPLY, (ui_ids.ESCALATE, "Escalate…")]),
    (
        "block",
        Platform.YOUTUBE,
        [REPLY, (ui_ids.ESCALATE, "Escalate…")],
    ),  # YouTube has no unban by API
    ("block", Platform.X, [(ui_ids.UNDO, "Undo"), REPLY, (ui_ids.ESCALATE, "Escalate…")]),  # unmute
    ("warn", Platform.FACEBOOK, [(ui_ids.BLOCK, "Block…"), REPLY, (ui_ids.ESCALATE, "Escalate…")]),
    ("warn", Platform.X, [(ui_ids.BLOCK, "Mute…"), REPLY, (ui_ids.ESCALATE, "Escalate…")]),
    ("warn", Platform.INSTAGRAM, [REPLY, (ui_ids.ESCALATE, "Escalate…")]),
    ("approve", Platform.FACEBOOK, [REPLY, (ui_ids.ESCALATE, "Escalate…")]),
    ("delete", Platform.FACEBOOK, [(ui_ids.ESCALATE, "Escalate…")]),
    ("delete", Platform.YOUTUBE, [(ui_ids.ESCALATE, "Escalate…")]),
    ("unhide", Platform.FACEBOOK, [REPLY, (ui_ids.ESCALATE, "Escalate…")]),
    ("unblock", Platform.FACEBOOK, [REPLY, (ui_ids.ESCALATE, "Escalate…")]),
    ("reply", Platform.FACEBOOK, [(ui_ids.HIDE, "Hide…"), REPLY, (ui_ids.ESCALATE, "Escalate…")]),
    ("route", Platform.INSTAGRAM, [(ui_ids.HIDE, "Hide…"), REPLY, (ui_ids.ESCALATE, "Escalate…")]),
]


@pytest.mark.parametrize(("action", "platform", "expected"), FOLLOW_UPS)
def test_follow_up_buttons(
    action: str, platform: Platform, expected: list[tuple[str, str]]
) -> None:
    card = decided_card(platform=platform, review_version=3, decision=hidden(action=action))
    message = render(card)

    assert button_set(message) == expected
    assert all(json.loads(b["value"]) == {"item": 7, "version": 3} for b in buttons(message))
    if expected:
        (actions,) = blocks_of_type(message, "actions")
        assert actions["block_id"] == "decided:7:3"
    else:
        assert blocks_of_type(message, "actions") == []


@pytest.mark.parametrize(
    ("action", "platform", "verb"),
    [
        ("hide", Platform.FACEBOOK, "unhide"),
        ("block", Platform.FACEBOOK, "unblock"),
        ("block", Platform.X, "unmute"),
    ],
)
def test_undo_asks_for_confirmation(action: str, platform: Platform, verb: str) -> None:
    message = render(decided_card(platform=platform, decision=hidden(action=action)))
    undo = next(b for b in buttons(message) if b["action_id"] == ui_ids.UNDO)
    confirm = undo["confirm"]

    assert verb in confirm["title"]["text"]
    assert confirm["confirm"]["text"] == verb.title()
    assert len(confirm["title"]["text"]) <= 100
    assert len(confirm["text"]["text"]) <= 300
    assert len(confirm["confirm"]["text"]) <= 30
    assert len(confirm["deny"]["text"]) <= 30


def test_no_undo_where_the_platform_could_not_do_it() -> None:
    card = decided_card(decision=hidden(action="hide", outcome_status="unsupported"))
    assert ui_ids.UNDO not in [b["action_id"] for b in buttons(render(card))]


def test_no_block_follow_up_for_an_author_already_blocked() -> None:
    card = decided_card(decision=hidden(), history=AuthorHistory(blocks=1))
    assert ui_ids.BLOCK not in [b["action_id"] for b in buttons(render(card))]


def test_decided_author_line_counts_what_is_on_record() -> None:
    card = decided_card(decision=hidden(), history=AuthorHistory(earlier_comments=2, hides=1))
    assert "3rd comment here · 1 hide · 0 warnings on record" in " ".join(plain_texts(render(card)))


# --- block ids --------------------------------------------------------------------------------


@pytest.mark.parametrize("card", list(CARDS.values()), ids=list(CARDS))
def test_block_ids_are_unique_and_carry_the_card_version(card: TriageCard) -> None:
    message = render(card)
    ids = [block["block_id"] for block in message.blocks if "block_id" in block]

    assert len(ids) == len(set(ids))
    for block_id in ids:
        assert f":{card.review_item_id}:{card.review_version}" in block_id
    newer = render(dataclasses.replace(card, review_version=card.review_version + 1))
    newer_ids = {block["block_id"] for block in newer.blocks if "block_id" in block}
    assert not newer_ids & set(ids)

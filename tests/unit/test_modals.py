"""The decision modals: pure functions from a TriageCard to a Slack view, tested without Slack.

What matters: each modal says what will happen and who else must agree (a second SMAT member
for criticism, the Town Clerk for a delete, a warning before a block), asks for a policy reason
within Slack's limits, carries its card in ``private_metadata`` that parses back exactly, and
never puts anything a resident wrote into ``mrkdwn``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot import ui_ids
from bot.cards import AuthorHistory, TriageCard
from bot.modals import (
    BLOCK_NOW,
    WARN_FIRST,
    block_modal,
    delete_modal,
    hide_modal,
    modal_metadata,
    warn_modal,
)
from config.settings import ReasonCode
from platforms.types import Platform
from tests.unit.test_rendering import (
    AUTHOR,
    COMMENT,
    HOSTILE_COMMENT,
    HOSTILE_PIECES,
    clean_card,
    decided_card,
    hidden,
    make_card,
)

DEFAULTS = Path(__file__).resolve().parents[2] / "config" / "defaults.yaml"
REASONS: dict[str, ReasonCode] = {
    code: ReasonCode(**fields)
    for code, fields in yaml.safe_load(DEFAULTS.read_text())["policy"]["reason_codes"].items()
}
CHANNEL, TS = "C0TRIAGE", "1763285400.000100"
WARNING = "We have removed a comment that broke the Example Town Council social media policy."

Modal = Callable[..., dict[str, Any]]


def warn(card: TriageCard, **kwargs: Any) -> dict[str, Any]:
    return warn_modal(card, warning_preview=WARNING, **kwargs)


MODALS: dict[str, tuple[Modal, str]] = {
    "hide": (hide_modal, ui_ids.HIDE_MODAL),
    "delete": (delete_modal, ui_ids.DELETE_MODAL),
    "block": (block_modal, ui_ids.BLOCK_MODAL),
    "warn": (warn, ui_ids.WARN_MODAL),
}


def open_modal(
    kind: str,
    card: TriageCard | None = None,
    reasons: Mapping[str, ReasonCode] = REASONS,
    channel: str = CHANNEL,
    ts: str = TS,
) -> dict[str, Any]:
    build, _ = MODALS[kind]
    return build(card or make_card(), reason_codes=reasons, channel=channel, ts=ts)


def text_objects(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if node.get("type") in ("plain_text", "mrkdwn") and "text" in node:
            yield node
        for value in node.values():
            yield from text_objects(value)
    elif isinstance(node, list):
        for item in node:
            yield from text_objects(item)


def mrkdwn_of(view: dict[str, Any]) -> str:
    return "\n".join(o["text"] for o in text_objects(view) if o["type"] == "mrkdwn")


def plain_of(view: dict[str, Any]) -> list[str]:
    return [o["text"] for o in text_objects(view) if o["type"] == "plain_text"]


def block(view: dict[str, Any], block_id: str) -> dict[str, Any]:
    return next(b for b in view["blocks"] if b.get("block_id") == block_id)


def has_block(view: dict[str, Any], block_id: str) -> bool:
    return any(b.get("block_id") == block_id for b in view["blocks"])


CARDS = {
    "flagged": make_card(),
    "clean": clean_card(),
    "youtube": make_card(platform=Platform.YOUTUBE),
    "x": make_card(platform=Platform.X),
    "instagram": make_card(platform=Platform.INSTAGRAM),
    "warned author": make_card(history=AuthorHistory(earlier_comments=4, hides=2, warnings=1)),
    "hidden": decided_card(decision=hidden()),
    "long": make_card(text="x" * 9000, author_name="A" * 3000, account_name="C" * 500),
    "empty": clean_card(text=""),
}


# --- every modal is a valid Slack view --------------------------------------------------------


@pytest.mark.parametrize("card", list(CARDS.values()), ids=list(CARDS))
@pytest.mark.parametrize("kind", list(MODALS))
def test_modal_validates_and_respects_slacks_limits(kind: str, card: TriageCard) -> None:
    view = open_modal(kind, card)

    View(**view).validate_json()  # titles ≤ 24, private_metadata ≤ 3000, 1 to 100 blocks
    for each in view["blocks"]:
        parsed = Block.parse(each)
        assert parsed is not None
        parsed.validate_json()
    assert view["type"] == "modal"
    assert view["callback_id"] == MODALS[kind][1]
    for key in ("title", "submit", "close"):
        assert view[key]["type"] == "plain_text"
        assert 0 < len(view[key]["text"]) <= 24
    assert len(view["blocks"]) <= 100
    for obj in text_objects(view["blocks"]):
        assert 0 < len(obj["text"]) <= 3000
    ids = [b["block_id"] for b in view["blocks"] if "block_id" in b]
    assert len(ids) == len(set(ids))
    assert len(json.dumps(view)) < 250_000


def test_slack_sdk_view_validation_is_not_a_no_op() -> None:
    view = open_modal("hide")
    view["title"] = {"type": "plain_text", "text": "x" * 25}
    with pytest.raises(Exception, match="24"):
        View(**view).validate_json()


# --- the reason and the note ------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(MODALS))
def test_reason_select_lists_the_policy_reasons(kind: str) -> None:
    view = open_modal(kind)
    reason = block(view, ui_ids.REASON_BLOCK)

    assert reason["type"] == "input"
    assert not reason.get("optional", False)
    element = reason["element"]
    assert element["type"] == "static_select"
    assert element["action_id"] == ui_ids.REASON_INPUT
    options = element["options"]
    assert [option["value"] for option in options] == list(REASONS)
    first = REASONS["defamatory"]
    assert options[0]["text"]["text"] == f"{first.label} — {first.clause}"
    assert all(option["text"]["type"] == "plain_text" for option in options)
    assert all(len(option["text"]["text"]) <= 75 for option in options)
    assert element["initial_option"]["value"] == "bullying_or_harassment"
    assert element["initial_option"] in options


def test_a_clause_too_long_for_an_option_is_shortened_not_dropped() -> None:
    text = next(
        o["text"]["text"]
        for o in block(open_modal("hide"), ui_ids.REASON_BLOCK)["element"]["options"]
        if o["value"] == "spam"
    )
    assert text.startswith("Spam or advertising — Biggleswade 6.5 (content")
    assert text.endswith("…")
    assert len(text) == 75


def test_at_most_a_hundred_reasons_and_each_option_fits() -> None:
    many = {
        f"code_{n}": ReasonCode(label=f"Reason {n} " + "l" * 90, clause="c" * 200)
        for n in range(150)
    }
    options = block(open_modal("hide", reasons=many), ui_ids.REASON_BLOCK)["element"]["options"]

    assert len(options) == 100
    assert all(len(option["text"]["text"]) <= 75 for option in options)
    assert all(len(option["value"]) <= 150 for option in options)


@pytest.mark.parametrize("code", [None, "no_such_code"])
def test_no_preselected_reason_without_a_known_suggestion(code: str | None) -> None:
    view = open_modal("hide", make_card(reason_code=code))
    assert "initial_option" not in block(view, ui_ids.REASON_BLOCK)["element"]


def test_a_follow_up_preselects_the_reason_already_decided() -> None:
    card = decided_card(reason_code="spam", decision=hidden(reason_code="personal_data"))
    view = open_modal("warn", card)
    assert block(view, ui_ids.REASON_BLOCK)["element"]["initial_option"]["value"] == "personal_data"


def test_no_reason_codes_is_an_error_not_an_empty_select() -> None:
    with pytest.raises(ValueError, match="reason"):
        open_modal("hide", reasons={})


@pytest.mark.parametrize("kind", list(MODALS))
def test_note_is_optional_multiline_plain_text(kind: str) -> None:
    note = block(open_modal(kind), ui_ids.NOTE_BLOCK)

    assert note["type"] == "input"
    assert note["optional"] is True
    assert note["element"] == {
        "type": "plain_text_input",
        "action_id": ui_ids.NOTE_INPUT,
        "multiline": True,
        "max_length": 2000,
    }


@pytest.mark.parametrize("kind", list(MODALS))
def test_comment_is_quoted_as_plain_text_and_truncated(kind: str) -> None:
    view = open_modal(kind, make_card(text="q" * 9000))
    quoted = [o for o in text_objects(view) if o["text"].startswith("qqq")]

    assert len(quoted) == 1
    assert quoted[0]["type"] == "plain_text"
    assert quoted[0]["emoji"] is False
    assert len(quoted[0]["text"]) <= 2000
    assert quoted[0]["text"].endswith("…")
    assert COMMENT in plain_of(open_modal(kind))


# --- private_metadata -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(MODALS))
def test_metadata_round_trips(kind: str) -> None:
    card = make_card(review_item_id=4242, review_version=17)
    view = open_modal(kind, card, channel="C0OTHER", ts="1763285400.999999")

    assert view["private_metadata"] == (
        '{"item":4242,"version":17,"channel":"C0OTHER","ts":"1763285400.999999"}'
    )
    assert modal_metadata(view) == {
        "item": 4242,
        "version": 17,
        "channel": "C0OTHER",
        "ts": "1763285400.999999",
    }
    # ...and the same from the view Slack sends back on submission (extra keys around it).
    submitted = {**view, "id": "V123", "hash": "abc", "state": {"values": {}}}
    assert modal_metadata(submitted)["item"] == 4242


GOOD = {"item": 7, "version": 2, "channel": "C0TRIAGE", "ts": "1.2"}


def dumped(**changes: Any) -> str:
    data = {**GOOD, **changes}
    return json.dumps({k: v for k, v in data.items() if v is not ...})


@pytest.mark.parametrize(
    "view",
    [
        {},
        {"private_metadata": None},
        {"private_metadata": ""},
        {"private_metadata": 42},
        {"private_metadata": "not json"},
        {"private_metadata": "{"},
        {"private_metadata": "[1, 2]"},
        {"private_metadata": '"just a string"'},
        {"private_metadata": "null"},
        {"private_metadata": "[" * 5000 + "]" * 5000},
        {"private_metadata": dumped(item=...)},
        {"private_metadata": dumped(version=...)},
        {"private_metadata": dumped(channel=...)},
        {"private_metadata": dumped(ts=...)},
        {"private_metadata": dumped(extra=1)},
        {"private_metadata": dumped(item="7")},
        {"private_metadata": dumped(item=7.0)},
        {"private_metadata": dumped(item=True)},
        {"private_metadata": dumped(item=0)},
        {"private_metadata": dumped(item=-1)},
        {"private_metadata": dumped(item=None)},
        {"private_metadata": dumped(version="2")},
        {"private_metadata": dumped(version=-1)},
        {"private_metadata": dumped(version=False)},
        {"private_metadata": dumped(channel="")},
        {"private_metadata": dumped(channel=7)},
        {"private_metadata": dumped(channel="C1 C2")},
        {"private_metadata": dumped(channel="C" * 300)},
        {"private_metadata": dumped(ts="")},
        {"private_metadata": dumped(ts=["1.2"])},
        {"private_metadata": dumped(ts="1.2\n")},
        {"private_metadata": "x" * 3001},
    ],
    ids=lambda view: repr(view)[:60],
)
def test_malformed_metadata_is_a_value_error(view: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"private_metadata|view"):
        modal_metadata(view)


@pytest.mark.parametrize("view", [None, "string", ["list"], 42])
def test_a_view_that_is_not_an_object_is_a_value_error(view: Any) -> None:
    with pytest.raises(ValueError, match=r"private_metadata|view"):
        modal_metadata(view)


def test_well_formed_metadata_is_returned_as_it_was() -> None:
    assert modal_metadata({"private_metadata": dumped()}) == GOOD


# --- hide -------------------------------------------------------------------------------------


def test_hide_of_an_unflagged_comment_needs_a_second_member() -> None:
    view = open_modal("hide", clean_card())
    said = mrkdwn_of(view)

    assert "A second SMAT member must approve" in said
    assert "Criticism" in said
    assert "not removed by one click" in said
    assert "preserved first" in said
    assert view["submit"]["text"] == "Ask a second member"


def test_hide_of_an_unclassified_comment_needs_a_second_member() -> None:
    card = make_card(suggested_action="review", model_name=None, scores={}, thresholds={})
    view = open_modal("hide", card)
    assert "A second SMAT member must approve" in mrkdwn_of(view)


@pytest.mark.parametrize("suggested", ["hide", "review", "escalate"])
def test_hide_of_a_flagged_comment_is_one_step(suggested: str) -> None:
    view = open_modal("hide", make_card(suggested_action=suggested))
    said = mrkdwn_of(view)

    assert "second SMAT member" not in said
    assert "preserved first" in said
    assert view["submit"]["text"] == "Hide"


# --- delete -----------------------------------------------------------------------------------


@pytest.mark.parametrize("platform", list(Platform))
def test_delete_prefers_hiding_and_needs_the_clerk(platform: Platform) -> None:
    view = open_modal("delete", make_card(platform=platform))
    said = mrkdwn_of(view)

    assert "Hiding is preferred" in said
    assert "keeps" in said or "kept" in said
    assert '"Do not delete public records unless necessary"' in said
    assert "Biggleswade Appendix A" in said
    assert "Town Clerk must approve" in said
    assert "preserved first" in said
    assert view["submit"]["text"] == "Ask the Clerk"


def test_delete_on_youtube_is_permanent() -> None:
    said = mrkdwn_of(open_modal("delete", make_card(platform=Platform.YOUTUBE)))
    assert "On YouTube deletion is permanent" in said
    assert "cannot be restored" in said


def test_delete_on_facebook_has_no_undo_but_no_youtube_warning() -> None:
    said = mrkdwn_of(open_modal("delete"))
    assert "no Undo" in said
    assert "YouTube" not in said


def test_delete_on_x_is_done_by_hand() -> None:
    said = mrkdwn_of(open_modal("delete", make_card(platform=Platform.X)))
    assert "by hand" in said


# --- block ------------------------------------------------------------------------------------


def test_block_without_a_warning_on_record_proposes_warning_first() -> None:
    card = make_card(history=AuthorHistory(earlier_comments=2, hides=1, warnings=0))
    view = open_modal("block", card)

    choice = block(view, ui_ids.CHOICE_BLOCK)
    element = choice["element"]
    assert element["type"] == "radio_buttons"
    assert element["action_id"] == ui_ids.CHOICE_INPUT
    assert [o["value"] for o in element["options"]] == [WARN_FIRST, BLOCK_NOW]
    assert element["initial_option"]["value"] == WARN_FIRST
    assert element["initial_option"]["text"]["text"] == "Warn first (policy: warn before blocking)"
    assert element["options"][1]["text"]["text"] == "Block now"
    for option in element["options"]:
        assert len(option["text"]["text"]) <= 75
        assert len(option.get("description", {}).get("text", "")) <= 75
    assert "No warning on record" in mrkdwn_of(view)
    assert view["submit"]["text"] == "Continue"
    assert view["title"]["text"] == "Block author"


def test_block_shows_the_authors_history() -> None:
    card = make_card(
        author_earlier_comments=4, history=AuthorHistory(earlier_comments=4, hides=2, warnings=1)
    )
    view = open_modal("block", card)
    shown = plain_of(view)

    assert "Earlier comments here: 4" in shown
    assert "Hides: 2" in shown
    assert "Warnings (strikes): 1" in shown
    assert "Blocks in force: 0" in shown
    assert not has_block(view, ui_ids.CHOICE_BLOCK)
    assert "1 warning (strikes) on record" in mrkdwn_of(view)
    assert view["submit"]["text"] == "Block"


def test_block_of_an_author_already_blocked_says_so() -> None:
    view = open_modal("block", make_card(history=AuthorHistory(warnings=2, blocks=1)))
    assert "already blocked" in mrkdwn_of(view)


def test_block_on_x_mutes() -> None:
    view = open_modal("block", make_card(platform=Platform.X))

    assert view["title"]["text"] == "Mute author"
    assert "X has no block" in mrkdwn_of(view)
    assert "mutes the author" in mrkdwn_of(view)
    options = block(view, ui_ids.CHOICE_BLOCK)["element"]["options"]
    assert options[1]["text"]["text"] == "Mute now"
    assert "Mutes in force: 0" in plain_of(view)
    assert "warn before muting" in mrkdwn_of(view)
    muted = open_modal("block", make_card(platform=Platform.X, history=AuthorHistory(blocks=1)))
    assert "already muted" in mrkdwn_of(muted)


def test_block_on_instagram_says_it_cannot() -> None:
    said = mrkdwn_of(open_modal("block", make_card(platform=Platform.INSTAGRAM)))
    assert "Instagram cannot block" in said


def test_block_on_youtube_cannot_be_undone_from_slack() -> None:
    said = mrkdwn_of(open_modal("block", make_card(platform=Platform.YOUTUBE)))
    assert "cannot undo a block on YouTube" in said


# --- warn -------------------------------------------------------------------------------------


def test_warn_shows_the_public_reply_and_the_first_strike() -> None:
    view = open_modal("warn", make_card(history=AuthorHistory()))
    said = mrkdwn_of(view)

    assert WARNING in plain_of(view)
    assert "posted publicly" in said
    assert "under the council's account" in said
    assert "*1 strike*" in said
    assert view["submit"]["text"] == "Post warning"


def test_warn_counts_strikes_and_notes_a_repeat_offence() -> None:
    view = open_modal("warn", make_card(history=AuthorHistory(warnings=2)))
    said = mrkdwn_of(view)
    assert "*3 strikes*" in said
    assert "repeat offence" in said


def test_warning_preview_is_plain_text() -> None:
    card = make_card(author_name="Kev <!channel>")
    view = warn_modal(
        card,
        reason_codes=REASONS,
        channel=CHANNEL,
        ts=TS,
        warning_preview="Dear Kev <!channel> <https://evil.example|bank> &amp; *bold*",
    )
    assert "Dear Kev <!channel> <https://evil.example|bank> &amp; *bold*" in plain_of(view)
    assert "<!channel>" not in mrkdwn_of(view)
    assert "evil" not in mrkdwn_of(view)


# --- hostile resident text --------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(MODALS))
def test_hostile_resident_text_never_reaches_mrkdwn(kind: str) -> None:
    card = dataclasses.replace(
        make_card(),
        text=HOSTILE_COMMENT,
        author_name="<!here> Kev & <@U999>",
        account_name="<!everyone> Council",
        post_title="<https://evil.example|Lights> *now*",
    )
    view = open_modal(kind, card)
    said = mrkdwn_of(view)

    for piece in (*HOSTILE_PIECES, "<!here>", "<@U999>", "<!everyone>", "Kev", "evil"):
        assert piece not in said
    assert HOSTILE_COMMENT in plain_of(view)
    assert any("<!here> Kev & <@U999>" in text for text in plain_of(view))
    for obj in text_objects(view):
        if obj["type"] == "plain_text" and HOSTILE_COMMENT in obj["text"]:
            assert obj["emoji"] is False


@pytest.mark.parametrize("kind", list(MODALS))
def test_resident_markers_appear_only_in_plain_text(kind: str) -> None:
    view = open_modal(kind)
    for written in (AUTHOR, COMMENT):
        assert any(written in text for text in plain_of(view))
        assert written not in mrkdwn_of(view)


@pytest.mark.parametrize("kind", list(MODALS))
def test_every_mrkdwn_object_is_verbatim(kind: str) -> None:
    for obj in text_objects(open_modal(kind)):
        if obj["type"] == "mrkdwn":
            assert obj["verbatim"] is True

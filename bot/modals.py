"""Block Kit modals for SMAT's decisions: pure functions from a TriageCard to a Slack view.

Each modal quotes the comment (as ``plain_text``), says what will happen and who else must
agree, asks for the policy reason (the classifier's suggestion pre-selected) and an optional
note, and carries which card it is about in ``private_metadata``::

    {"item": <review item id>, "version": <card version>, "channel": "C…", "ts": "…"}

Nothing a resident wrote is put in ``mrkdwn``; our own wording escapes what it interpolates.
The listeners read the submitted values with the ids in ``bot.ui_ids`` and must treat them,
and ``private_metadata``, as untrusted: ``modal_metadata`` parses and checks the latter.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from bot import ui_ids
from bot.cards import TriageCard
from bot.rendering import (
    block_word,
    can,
    counted,
    escape_mrkdwn,
    mrkdwn,
    mutes_instead,
    plain,
)
from config.settings import ReasonCode
from platforms.base import Action as PlatformAction
from platforms.types import Platform

Block = dict[str, Any]

MAX_OPTIONS = 100
"""Slack's limit on the options of a select menu."""
OPTION_TEXT = 75
"""Slack's limit on an option's text."""
MAX_NOTE = 2000
QUOTE_LIMIT = 2000
MAX_METADATA = 3000
METADATA_KEYS = frozenset({"item", "version", "channel", "ts"})

WARN_FIRST, BLOCK_NOW = "warn_first", "block_now"
"""The block modal's choice when the author has no warning on record."""

PRESERVED = (
    ":floppy_disk: The original (text, author, time, link and the platform's own record of "
    "it) is preserved first, with a content hash, so the public record is kept."
)


# --- shared pieces ----------------------------------------------------------------------------


def _done(word: str) -> str:
    """``blocked`` / ``muted``."""
    return {"Mute": "muted"}.get(word, word.lower() + "ed")


def _doing(word: str) -> str:
    """``blocking`` / ``muting``."""
    return {"Mute": "muting"}.get(word, word.lower() + "ing")


def _metadata(card: TriageCard, channel: str, ts: str) -> str:
    return json.dumps(
        {"item": card.review_item_id, "version": card.review_version, "channel": channel, "ts": ts},
        separators=(",", ":"),
    )


def _option(text: str, value: str) -> dict[str, Any]:
    return {"text": plain(text, OPTION_TEXT), "value": value}


def _reason_option(code: str, reason: ReasonCode) -> dict[str, Any]:
    label = reason.label
    room = OPTION_TEXT - len(label) - len(" — ")
    if room < 8:  # a very long label: the clause will not fit usefully
        return _option(label, code)
    clause = reason.clause if len(reason.clause) <= room else reason.clause[: room - 1] + "…"
    return _option(f"{label} — {clause}", code)


def _preselected_reason(card: TriageCard) -> str | None:
    """The reason of the decision a follow-up builds on, else the classifier's suggestion."""
    decision = card.decision
    if card.status != "pending" and decision is not None and decision.reason_code:
        return decision.reason_code
    return card.reason_code


def _reason_block(card: TriageCard, reason_codes: Mapping[str, ReasonCode]) -> Block:
    if not reason_codes:
        raise ValueError("no policy reason codes are configured")
    options = [
        _reason_option(code, reason) for code, reason in list(reason_codes.items())[:MAX_OPTIONS]
    ]
    element: dict[str, Any] = {
        "type": "static_select",
        "action_id": ui_ids.REASON_INPUT,
        "placeholder": plain("Choose the policy reason", 150),
        "options": options,
    }
    wanted = _preselected_reason(card)
    initial = next((option for option in options if option["value"] == wanted), None)
    if initial is not None:
        element["initial_option"] = initial
    return {
        "type": "input",
        "block_id": ui_ids.REASON_BLOCK,
        "label": plain("Policy reason", 2000),
        "hint": plain("Only the policy's reasons; never opinion or criticism.", 2000),
        "element": element,
    }


def _note_block() -> Block:
    return {
        "type": "input",
        "block_id": ui_ids.NOTE_BLOCK,
        "optional": True,
        "label": plain("Note (optional)", 2000),
        "hint": plain("Kept in the decision log and shown on the card.", 2000),
        "element": {
            "type": "plain_text_input",
            "action_id": ui_ids.NOTE_INPUT,
            "multiline": True,
            "max_length": MAX_NOTE,
        },
    }


def _quote(card: TriageCard) -> list[Block]:
    where = f"{card.author_name} on {card.platform.display_name} · {card.account_name} wrote:"
    return [
        {"type": "context", "elements": [plain(where, 2000)]},
        {"type": "section", "text": plain(card.text, QUOTE_LIMIT)},
    ]


def _say(text: str) -> Block:
    return {"type": "section", "text": mrkdwn(text)}


def _small(text: str) -> Block:
    return {"type": "context", "elements": [mrkdwn(text)]}


def _modal(
    callback_id: str,
    title: str,
    submit: str,
    card: TriageCard,
    channel: str,
    ts: str,
    blocks: list[Block],
) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": callback_id,
        "title": plain(title, 24),
        "submit": plain(submit, 24),
        "close": plain("Cancel", 24),
        "private_metadata": _metadata(card, channel, ts),
        "blocks": blocks,
    }


def _history(card: TriageCard) -> Block:
    """The author's record on this account, as plain_text fields."""
    history = card.history
    earlier = card.author_earlier_comments
    block_name = "Mutes" if mutes_instead(card.platform) else "Blocks"
    return {
        "type": "section",
        "fields": [
            plain(f"Earlier comments here: {earlier}", 2000),
            plain(f"Hides: {history.hides}", 2000),
            plain(f"Warnings (strikes): {history.warnings}", 2000),
            plain(f"{block_name} in force: {history.blocks}", 2000),
        ],
    }


# --- the modals -------------------------------------------------------------------------------


def hide_modal(
    card: TriageCard, *, reason_codes: Mapping[str, ReasonCode], channel: str, ts: str
) -> dict[str, Any]:
    """The modal behind Hide…: a reason and a note; an unflagged comment needs a second member."""
    name = card.platform.display_name
    # As the review service decides: the policy suggested approving, or never classified it.
    second = card.suggested_action == "approve" or card.model_name is None
    blocks = _quote(card)
    if second:
        blocks.append(
            _say(
                ":busts_in_silhouette: *A second SMAT member must approve this hide.* The policy "
                "did not flag this comment. Criticism of the council, however sharp or unpopular, "
                "is not removed by one click (Biggleswade 6.5 and Appendix A): your request is "
                "posted on the card for another member to approve or decline."
            )
        )
    else:
        blocks.append(
            _say(
                f"Hiding takes the comment off the council's public page on {name}. "
                "It can be undone from the card."
            )
        )
    blocks.append(_small(PRESERVED))
    blocks += [_reason_block(card, reason_codes), _note_block()]
    submit = "Ask a second member" if second else "Hide"
    return _modal(ui_ids.HIDE_MODAL, "Hide comment", submit, card, channel, ts, blocks)


def delete_modal(
    card: TriageCard, *, reason_codes: Mapping[str, ReasonCode], channel: str, ts: str
) -> dict[str, Any]:
    """The modal behind Delete…: hiding is preferred; the Town Clerk must approve."""
    name = card.platform.display_name
    blocks = _quote(card)
    blocks.append(
        _say(
            ":warning: *Hiding is preferred.* A hidden comment is off the public page but the "
            "public record is kept; delete only when it is necessary (Biggleswade Appendix A: "
            '"Do not delete public records unless necessary").'
        )
    )
    blocks.append(
        _say(
            ":scales: *The Town Clerk must approve.* Your request is posted on the card; nothing "
            "is deleted until the Clerk (or the Deputy Clerk) approves it."
        )
    )
    if card.platform is Platform.YOUTUBE:
        permanence = (
            ":no_entry: *On YouTube deletion is permanent:* the comment cannot be restored."
        )
    else:
        permanence = f":no_entry: A deleted comment cannot be restored on {name}: there is no Undo."
    if not can(card.platform, PlatformAction.DELETE):
        permanence = (
            f":information_source: {name} offers no way to delete it through its API: once "
            f"approved, the deletion has to be done on {name} by hand."
        )
    blocks.append(_small(permanence))
    blocks.append(_small(PRESERVED))
    blocks += [_reason_block(card, reason_codes), _note_block()]
    return _modal(ui_ids.DELETE_MODAL, "Delete comment", "Ask the Clerk", card, channel, ts, blocks)


def block_modal(
    card: TriageCard, *, reason_codes: Mapping[str, ReasonCode], channel: str, ts: str
) -> dict[str, Any]:
    """The modal behind Block… (Mute… on X): the author's record, and warn first if none."""
    platform = card.platform
    name = platform.display_name
    word = block_word(platform)  # Block / Mute
    history = card.history
    blocks = _quote(card)
    blocks.append(_small("What this author has done on this account before:"))
    blocks.append(_history(card))
    if mutes_instead(platform):
        blocks.append(
            _say(
                ":mute: *X has no block for the council's account, so this mutes the author:* "
                "the council's account stops seeing their posts and replies. They can still "
                "reply and others can still see it, so hide offending replies as well."
            )
        )
    elif not can(platform, PlatformAction.BLOCK):
        blocks.append(
            _say(
                f":information_source: *{name} cannot block through its API:* the decision is "
                f"recorded here, and the block must be done in the {name} app by hand."
            )
        )
    elif not can(platform, PlatformAction.UNBLOCK):
        blocks.append(
            _small(
                f":information_source: SMAT Bot cannot undo a block on {name}; unblocking is "
                f"done on {name} itself."
            )
        )
    if history.blocks:
        blocks.append(
            _small(f":information_source: This author is already {_done(word)} on this account.")
        )
    warn_first = history.warnings == 0
    if warn_first:
        blocks.append(
            _say(
                ":warning: *No warning on record.* The council's policy is to warn before "
                f"{_doing(word)} (Biggleswade Appendix A). Warning first posts the council's "
                "standard warning under this comment and counts as strike 1."
            )
        )
        warn_option = {
            "text": plain("Warn first (policy: warn before blocking)", OPTION_TEXT),
            "value": WARN_FIRST,
        }
        blocks.append(
            {
                "type": "input",
                "block_id": ui_ids.CHOICE_BLOCK,
                "label": plain("What should happen?", 2000),
                "element": {
                    "type": "radio_buttons",
                    "action_id": ui_ids.CHOICE_INPUT,
                    "initial_option": warn_option,
                    "options": [
                        warn_option,
                        {
                            "text": plain(f"{word} now", OPTION_TEXT),
                            "value": BLOCK_NOW,
                            "description": plain(
                                "Only for serious abuse: say why in the note.", OPTION_TEXT
                            ),
                        },
                    ],
                },
            }
        )
    else:
        blocks.append(
            _small(
                f"{counted(history.warnings, 'warning')} (strikes) on record: the policy's "
                f"warning has been given, so {_doing(word)} follows it."
            )
        )
    blocks.append(_small(PRESERVED))
    blocks += [_reason_block(card, reason_codes), _note_block()]
    title = f"{word} author"
    submit = "Continue" if warn_first else word
    return _modal(ui_ids.BLOCK_MODAL, title, submit, card, channel, ts, blocks)


def warn_modal(
    card: TriageCard,
    *,
    reason_codes: Mapping[str, ReasonCode],
    channel: str,
    ts: str,
    warning_preview: str,
) -> dict[str, Any]:
    """The modal behind Warn…: the public reply that will be posted, and the strike it adds."""
    name = card.platform.display_name
    strikes = card.history.warnings + 1
    blocks = _quote(card)
    blocks.append(
        _say(
            f":loudspeaker: *This reply will be posted publicly on {escape_mrkdwn(name)}, under "
            "the council's account,* in answer to the comment:"
        )
    )
    blocks.append({"type": "section", "text": plain(warning_preview, QUOTE_LIMIT)})
    after = f"After this warning the author has *{counted(strikes, 'strike')}* on this account"
    if strikes >= 2:
        after += (
            f" — a repeat offence: the policy allows {_doing(block_word(card.platform))} "
            "them (Biggleswade Appendix A)."
        )
    else:
        after += " (their first warning)."
    blocks.append(_small(f":triangular_flag_on_post: {after}"))
    blocks += [_reason_block(card, reason_codes), _note_block()]
    return _modal(ui_ids.WARN_MODAL, "Warn author", "Post warning", card, channel, ts, blocks)


# --- reading a submission back ----------------------------------------------------------------


def modal_metadata(view: Mapping[str, Any]) -> dict[str, Any]:
    """Parse a submitted view's ``private_metadata``; ValueError on anything malformed.

    Returns ``{"item": int, "version": int, "channel": str, "ts": str}``.
    """
    if not isinstance(view, Mapping):
        raise ValueError("the view is not an object")
    raw = view.get("private_metadata")
    if not isinstance(raw, str) or not raw:
        raise ValueError("the view has no private_metadata")
    if len(raw) > MAX_METADATA:
        raise ValueError("private_metadata is too long")
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, RecursionError) as error:
        raise ValueError("private_metadata is not JSON") from error
    if not isinstance(data, dict) or set(data) != METADATA_KEYS:
        raise ValueError("private_metadata has the wrong fields")
    item, version = data["item"], data["version"]
    if type(item) is not int or item < 1:
        raise ValueError("private_metadata item is not a review item id")
    if type(version) is not int or version < 0:
        raise ValueError("private_metadata version is not a version number")
    for key in ("channel", "ts"):
        value = data[key]
        if not isinstance(value, str) or not value or len(value) > 255 or not value.isprintable():
            raise ValueError(f"private_metadata {key} is not a Slack {key}")
        if any(ch.isspace() for ch in value):
            raise ValueError(f"private_metadata {key} is not a Slack {key}")
    return {"item": item, "version": version, "channel": data["channel"], "ts": data["ts"]}

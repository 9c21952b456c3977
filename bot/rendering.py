"""Block Kit rendering: pure functions from a TriageCard to a Slack message.

Nothing a resident wrote (comment text, names, post titles) is ever put in ``mrkdwn``: it goes
into ``plain_text`` objects, which Slack shows literally, so ``<!channel>`` or a disguised link
stays inert. Our own ``mrkdwn`` still escapes anything interpolated into it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

from bot.cards import TriageCard

Block = dict[str, Any]

MAX_TEXT = 2800
"""Slack allows 3000 characters in a text object; leave room for the truncation note."""

ACTION_APPROVE = "smat_approve"

SUGGESTION_ICON = {
    "escalate": ":rotating_light:",
    "hide": ":red_circle:",
    "review": ":large_orange_circle:",
    "approve": ":white_circle:",
}
DECISION_WORDS = {"approve": ("Approved", ":white_check_mark:")}


@dataclass(frozen=True)
class SlackMessage:
    """What chat.postMessage / chat.update send: a notification text and the blocks."""

    text: str
    blocks: list[Block]


def escape_mrkdwn(text: str) -> str:
    """Escape Slack's three control characters (``&`` first) so text cannot become markup."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def plain(text: str, limit: int = MAX_TEXT) -> dict[str, Any]:
    """A plain_text object: shown literally, emoji codes not expanded, cut to Slack's limit."""
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return {"type": "plain_text", "text": text or " ", "emoji": False}


def mrkdwn(text: str) -> dict[str, Any]:
    """A mrkdwn object for our own wording; verbatim stops Slack auto-linking names and URLs."""
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def button_value(card: TriageCard) -> str:
    """What a card's buttons carry: which review item, at which version."""
    return json.dumps({"item": card.review_item_id, "version": card.review_version})


def render_card(card: TriageCard, *, reason_labels: Mapping[str, str], tz: tzinfo) -> SlackMessage:
    """Render a card for the triage channel: flagged ones in full, clean ones compact."""
    if card.status != "pending" and card.decision is not None:
        return _render_decided(card, reason_labels, tz)
    if card.flagged:
        return _render_flagged(card, reason_labels, tz)
    return _render_clean(card, tz)


def _where(card: TriageCard) -> str:
    where = f"{card.platform.display_name} · {card.account_name}"
    if card.post_title:
        where += f' · on "{card.post_title}"'
    return where


def _when(card: TriageCard, tz: tzinfo) -> str:
    return card.created_at.astimezone(tz).strftime("%-d %b %Y, %H:%M")


def _author_line(card: TriageCard, tz: tzinfo) -> str:
    earlier = card.author_earlier_comments
    history = "first comment here" if earlier == 0 else f"{earlier} earlier comment(s) here"
    edited = f" · edited (version {card.comment_version})" if card.comment_version > 1 else ""
    return f"{card.author_name} ({history}) · {_when(card, tz)}{edited}"


def _body(card: TriageCard) -> list[Block]:
    text = card.text
    blocks: list[Block] = [{"type": "section", "text": plain(text)}]
    if card.deleted:
        blocks.append(
            {
                "type": "context",
                "elements": [mrkdwn(":wastebasket: Deleted by its author on the platform.")],
            }
        )
    if len(text) > MAX_TEXT:
        note = f"Shown in part: the comment is {len(text):,} characters."
        if card.permalink:
            note += f" <{escape_mrkdwn(card.permalink)}|Read it all>"
        blocks.append({"type": "context", "elements": [mrkdwn(note)]})
    return blocks


def _scores_line(card: TriageCard) -> str:
    return ", ".join(f"{label} {score:.2f}" for label, score in card.top_scores())


def _suggestion_line(card: TriageCard, reason_labels: Mapping[str, str]) -> str:
    line = f"*Suggested: {card.suggested_action.upper()}*"
    if card.reason_code:
        label = reason_labels.get(card.reason_code, card.reason_code)
        line += f" — {escape_mrkdwn(label)}"
        if card.clause:
            line += f" ({escape_mrkdwn(card.clause)})"
    if card.scores:
        line += f"; {escape_mrkdwn(_scores_line(card))}"
    return line


def _detections_line(card: TriageCard) -> str | None:
    if not card.detections:
        return None
    kinds = ", ".join(kind.replace("_", " ") for kind in card.detections)
    return f"Detected: {escape_mrkdwn(kinds)}"


def _actions(card: TriageCard) -> Block:
    elements: list[dict[str, Any]] = [
        {
            "type": "button",
            "action_id": ACTION_APPROVE,
            "text": plain("Approve"),
            "style": "primary",
            "value": button_value(card),
        }
    ]
    if card.permalink and card.permalink.startswith("https://"):
        elements.append(
            {
                "type": "button",
                "action_id": "smat_open_permalink",
                "text": plain(f"View on {card.platform.display_name} ↗"),
                "url": card.permalink[:3000],
            }
        )
    return {
        "type": "actions",
        "block_id": f"triage:{card.review_item_id}:{card.review_version}",
        "elements": elements,
    }


def _render_flagged(card: TriageCard, reason_labels: Mapping[str, str], tz: tzinfo) -> SlackMessage:
    icon = SUGGESTION_ICON.get(card.suggested_action, ":white_circle:")
    blocks: list[Block] = [
        {"type": "context", "elements": [mrkdwn(icon), plain(_where(card), 2000)]},
        {"type": "context", "elements": [plain(_author_line(card, tz), 2000)]},
        *_body(card),
        {"type": "section", "text": mrkdwn(_suggestion_line(card, reason_labels))},
    ]
    details = [line for line in (_detections_line(card),) if line]
    details.append(escape_mrkdwn(card.explanation))
    if card.model_name:
        details.append(f"Model: {escape_mrkdwn(card.model_name)}")
    blocks.append({"type": "context", "elements": [mrkdwn(" · ".join(details))]})
    blocks.append(_actions(card))
    text = (
        f"{card.platform.display_name} comment from {escape_mrkdwn(card.author_name)}"
        f" — suggested {card.suggested_action}"
    )
    return SlackMessage(text, blocks)


def _render_clean(card: TriageCard, tz: tzinfo) -> SlackMessage:
    blocks: list[Block] = [
        {
            "type": "context",
            "elements": [
                mrkdwn(":white_circle:"),
                plain(f"{_where(card)} · {_author_line(card, tz)}", 2000),
            ],
        },
        *_body(card),
        _actions(card),
    ]
    text = f"{card.platform.display_name} comment from {escape_mrkdwn(card.author_name)}"
    return SlackMessage(text, blocks)


def _render_decided(card: TriageCard, reason_labels: Mapping[str, str], tz: tzinfo) -> SlackMessage:
    assert card.decision is not None
    decision = card.decision
    word, icon = DECISION_WORDS.get(
        decision.action, (decision.action.title(), ":ballot_box_with_check:")
    )
    who = (
        f"<@{decision.actor_slack_id}>"
        if decision.actor_slack_id
        else escape_mrkdwn(decision.actor_name)
    )
    when = decision.decided_at.astimezone(tz).strftime("%-d %b %Y, %H:%M")
    headline = f"{icon} *{word}* by {who} at {when}"
    if decision.reason_code:
        headline += (
            f" — {escape_mrkdwn(reason_labels.get(decision.reason_code, decision.reason_code))}"
        )
    blocks: list[Block] = [
        {"type": "section", "text": mrkdwn(headline)},
        {
            "type": "context",
            "elements": [plain(f"{_where(card)} · {_author_line(card, tz)}", 2000)],
        },
        *_body(card),
    ]
    if card.scores:
        blocks.append(
            {
                "type": "context",
                "elements": [
                    mrkdwn(
                        f"Suggested {escape_mrkdwn(card.suggested_action)}; "
                        f"{escape_mrkdwn(_scores_line(card))} · "
                        f"decided on version {decision.comment_version}"
                    )
                ],
            }
        )
    text = (
        f"{word} by {escape_mrkdwn(decision.actor_name)}: {card.platform.display_name} "
        f"comment from {escape_mrkdwn(card.author_name)}"
    )
    return SlackMessage(text, blocks)

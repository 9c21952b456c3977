"""Block Kit for the Town Clerk: the escalation card, reminders and the Deputy's ping.

The same card goes to the Clerk's DM and the escalation channel and is kept in step in both.
It shows the comment (as ``plain_text``: residents' words are never markup), who escalated it
and why, the offences named with what each is about, the note, where the comment stands, and
the Clerk's buttons. Our own wording is ``mrkdwn`` with everything interpolated escaped.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, tzinfo
from typing import Any

from bot import ui_ids
from bot.cards import EscalationView, TriageCard
from bot.escalation_words import OUTCOMES, reason_label
from bot.rendering import (
    MAX_TEXT,
    Block,
    SlackMessage,
    counted,
    escalated_by,
    escape_mrkdwn,
    history_line,
    mention,
    mrkdwn,
    plain,
    reason_text,
)

CLERK_BUTTONS = (
    (ui_ids.ESCALATION_UPHOLD, "Uphold…", "primary"),
    (ui_ids.ESCALATION_OVERRULE, "Overrule…", None),
    (ui_ids.ESCALATION_POLICE, "Hide and refer to police…", "danger"),
    (ui_ids.ESCALATION_REPORT, "Report to the platform…", None),
)


def outcome_value(escalation: EscalationView, card: TriageCard) -> str:
    """What the Clerk's outcome buttons carry: the escalation, at the card's version."""
    return json.dumps({"escalation": escalation.id, "version": card.review_version})


def ack_value(escalation: EscalationView) -> str:
    """What Acknowledge carries."""
    return json.dumps({"escalation": escalation.id})


def _at(moment: datetime, tz: tzinfo) -> str:
    return moment.astimezone(tz).strftime("at %H:%M on %-d %b %Y")


def _button(action_id: str, label: str, value: str, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "action_id": action_id,
        "text": plain(label, 75),
        "value": value,
    }
    if style:
        button["style"] = style
    return button


def _headline(escalation: EscalationView, tz: tzinfo) -> str:
    reason = escape_mrkdwn(reason_label(escalation.reason))
    if escalation.outcome:
        word, icon = OUTCOMES.get(escalation.outcome, (escalation.outcome, ":scales:"))
        who = mention(escalation.outcome_by, escalation.outcome_by or "")
        when = f" {_at(escalation.outcome_at, tz)}" if escalation.outcome_at else ""
        return f"{icon} *{escape_mrkdwn(word)}* by {who}{when} — escalated for: {reason}"
    immediate = " · :zap: *Immediate*" if escalation.immediate else ""
    return f":rotating_light: *Escalation to the Town Clerk* — {reason}{immediate}"


def status_line(escalation: EscalationView, tz: tzinfo) -> str:
    """Who escalated and when, and whether the Clerk has acknowledged it."""
    line = f"Escalated by {escalated_by(escalation)} {_at(escalation.escalated_at, tz)}"
    if escalation.acknowledged_by:
        who = mention(escalation.acknowledged_by, escalation.acknowledged_by)
        when = f" {_at(escalation.acknowledged_at, tz)}" if escalation.acknowledged_at else ""
        line += f" · :eyes: acknowledged by {who}{when}"
    elif escalation.is_open:
        line += " · :hourglass: *waiting for the Clerk to acknowledge*"
        if escalation.reminders_sent:
            line += f" ({counted(escalation.reminders_sent, 'reminder')} sent)"
    if escalation.deputy_notified_at and not escalation.acknowledged_by:
        line += f" · Deputy Clerk pinged {_at(escalation.deputy_notified_at, tz)}"
    return line


def _offences_block(escalation: EscalationView, about: Mapping[str, str]) -> Block | None:
    if not escalation.offences:
        return None
    lines = ["*Possible offences:*"]
    for name in escalation.offences:
        detail = about.get(name)
        lines.append(f"• {escape_mrkdwn(name)}" + (f" — {escape_mrkdwn(detail)}" if detail else ""))
    return {"type": "section", "text": mrkdwn("\n".join(lines))}


def _comment_state(card: TriageCard, escalation: EscalationView) -> str:
    name = card.platform.display_name
    if card.deleted:
        return f":wastebasket: Deleted by its author on {name}."
    if escalation.hide_stands:
        return f":no_entry_sign: Hidden on {name} now; the original is preserved."
    return f":eye: Still visible on {name}."


def _where(card: TriageCard, tz: tzinfo) -> str:
    where = f"{card.platform.display_name} · {card.account_name}"
    if card.post_title:
        where += f' · on "{card.post_title}"'
    posted = card.created_at.astimezone(tz).strftime("%-d %b %Y, %H:%M")
    return f"{where} · {card.author_name} ({history_line(card)}) · {posted}"


def clerk_buttons(card: TriageCard, escalation: EscalationView) -> list[dict[str, Any]]:
    """Acknowledge (until acknowledged), the outcomes (while open), Reply, Evidence pack, View."""
    elements: list[dict[str, Any]] = []
    if escalation.status == "open":
        elements.append(_button(ui_ids.ESCALATION_ACK, "Acknowledge", ack_value(escalation)))
    if escalation.is_open:
        value = outcome_value(escalation, card)
        elements += [_button(action, label, value, style) for action, label, style in CLERK_BUTTONS]
    item_value = json.dumps({"item": card.review_item_id, "version": card.review_version})
    elements.append(_button(ui_ids.REPLY, "Reply…", item_value))
    elements.append(
        _button(ui_ids.EVIDENCE_PACK, "Evidence pack", json.dumps({"item": card.review_item_id}))
    )
    if card.permalink and card.permalink.startswith("https://"):
        elements.append(
            {
                "type": "button",
                "action_id": ui_ids.OPEN_PERMALINK,
                "text": plain(f"View on {card.platform.display_name} ↗", 75),
                "url": card.permalink[:3000],
            }
        )
    return elements


def render_clerk_card(
    card: TriageCard,
    escalation: EscalationView,
    *,
    offence_about: Mapping[str, str],
    reason_labels: Mapping[str, str],
    reason_clauses: Mapping[str, str],
    tz: tzinfo,
) -> SlackMessage:
    """The Clerk's card for an escalation, as it stands."""
    blocks: list[Block] = [
        {"type": "section", "text": mrkdwn(_headline(escalation, tz))},
        {"type": "context", "elements": [mrkdwn(status_line(escalation, tz))]},
    ]
    offences = _offences_block(escalation, offence_about)
    if offences:
        blocks.append(offences)
    if escalation.note:
        blocks.append({"type": "context", "elements": [plain(f"Note: {escalation.note}", 2000)]})
    if escalation.outcome_note:
        blocks.append(
            {
                "type": "context",
                "elements": [plain(f"Clerk's note: {escalation.outcome_note}", 2000)],
            }
        )
    blocks.append({"type": "context", "elements": [plain(_where(card, tz), 2000)]})
    blocks.append({"type": "section", "text": plain(card.text, MAX_TEXT)})
    suggestion = f"Suggested: {escape_mrkdwn(card.suggested_action.upper())}"
    reason = reason_text(card.reason_code, card, reason_labels, reason_clauses)
    if reason:
        suggestion += f" — {reason}"
    if card.scores:
        top = ", ".join(f"{label} {score:.2f}" for label, score in card.top_scores())
        suggestion += f"; {escape_mrkdwn(top)}"
    blocks.append(
        {
            "type": "context",
            "elements": [mrkdwn(f"{suggestion} · {_comment_state(card, escalation)}")],
        }
    )
    blocks.append(
        {
            "type": "actions",
            "block_id": f"escalation:{escalation.id}:{card.review_version}",
            "elements": clerk_buttons(card, escalation),
        }
    )
    word = "Escalation" if escalation.is_open else "Escalation closed"
    text = (
        f"{word}: {escape_mrkdwn(reason_label(escalation.reason))} — "
        f"{card.platform.display_name} comment from {escape_mrkdwn(card.author_name)}"
    )
    return SlackMessage(text, blocks)


def _where_card(channel: str | None, fallback: str) -> str:
    if channel and channel[:1] in ("C", "G") and channel.isalnum():
        return f"<#{channel}>"
    return escape_mrkdwn(fallback)


def reminder_message(
    escalation: EscalationView,
    number: int,
    waited: str,
    *,
    channel: str | None,
    channel_name: str,
) -> SlackMessage:
    """A reminder to the Clerk: which escalation, how long it has waited, and Acknowledge."""
    text = (
        f":bell: Reminder {number}: an escalation "
        f"({escape_mrkdwn(reason_label(escalation.reason))}) has waited {escape_mrkdwn(waited)} "
        f"for the Clerk. Its card is above in this conversation and in "
        f"{_where_card(channel, channel_name)}; acknowledge it to stop the reminders."
    )
    return SlackMessage(
        text,
        [
            {"type": "section", "text": mrkdwn(text)},
            {
                "type": "actions",
                "block_id": f"reminder:{escalation.id}:{number}",
                "elements": [
                    _button(ui_ids.ESCALATION_ACK, "Acknowledge", ack_value(escalation), "primary")
                ],
            },
        ],
    )


def deputy_message(
    escalation: EscalationView, tz: tzinfo, *, channel: str | None, channel_name: str
) -> SlackMessage:
    """The Deputy Clerk's ping when the Clerk has not acknowledged in time."""
    text = (
        ":rotating_light: The Town Clerk has not acknowledged an escalation "
        f"({escape_mrkdwn(reason_label(escalation.reason))}) raised by "
        f"{escalated_by(escalation)} {_at(escalation.escalated_at, tz)}. As Deputy Clerk, "
        f"please look at it: the card with the Clerk's buttons is in "
        f"{_where_card(channel, channel_name)}."
    )
    return SlackMessage(
        text,
        [
            {"type": "section", "text": mrkdwn(text)},
            {
                "type": "actions",
                "block_id": f"deputy:{escalation.id}",
                "elements": [
                    _button(ui_ids.ESCALATION_ACK, "Acknowledge", ack_value(escalation), "primary")
                ],
            },
        ],
    )

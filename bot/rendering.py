"""Block Kit rendering: pure functions from a TriageCard to a Slack message.

Nothing a resident wrote (comment text, names, post titles) is ever put in ``mrkdwn``: it goes
into ``plain_text`` objects, which Slack shows literally, so ``<!channel>`` or a disguised link
stays inert. Our own ``mrkdwn`` still escapes anything interpolated into it.

A card has three states (DESIGN §6):

- **pending**: flagged comments in full, clean ones compact, with the buttons the platform
  really supports (Approve, Hide…, Warn…, Block… or Mute… on X, Delete…, View on …);
- **awaiting approval**: a removal waits for a second SMAT member or the Town Clerk, with
  Approve removal / Decline and nothing else;
- **decided**: who did what, when and why, what the platform said, the preserved original,
  and the follow-ups that still make sense (Undo, Warn…, Block…).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from bot import ui_ids
from bot.cards import DecisionView, EscalationView, ReplyView, RequestView, TriageCard
from bot.escalation_words import OUTCOMES, SYSTEM, reason_label
from platforms.base import Action as PlatformAction
from platforms.capabilities import REPLIES_REFUSED_WHEN_HIDDEN, platform_action
from platforms.types import Platform

Block = dict[str, Any]

MAX_TEXT = 2800
"""Slack allows 3000 characters in a text object; leave room for the truncation note."""

ACTION_APPROVE = ui_ids.APPROVE

SUGGESTION_ICON = {
    "escalate": ":rotating_light:",
    "hide": ":red_circle:",
    "review": ":large_orange_circle:",
    "approve": ":white_circle:",
}

DECISION_WORDS = {
    # action: (headline word, icon, past participle for the platform result line)
    "approve": ("Approved", ":white_check_mark:", "approved"),
    "hide": ("Hidden", ":no_entry_sign:", "hidden"),
    "delete": ("Deleted", ":wastebasket:", "deleted"),
    "block": ("Blocked", ":no_pedestrians:", "blocked"),
    "warn": ("Warned", ":warning:", "posted the warning"),
    "unhide": ("Unhidden", ":leftwards_arrow_with_hook:", "unhidden"),
    "unblock": ("Unblocked", ":leftwards_arrow_with_hook:", "unblocked"),
    "escalate": ("Escalated to the Town Clerk", ":rotating_light:", "escalated"),
    "reply": ("Replied", ":speech_balloon:", "posted the reply"),
    "route": ("Passed on", ":incoming_envelope:", "passed on"),
}
MUTE_WORDS = {
    "block": ("Muted", ":mute:", "muted"),
    "unblock": ("Unmuted", ":leftwards_arrow_with_hook:", "unmuted"),
}
"""On X SMAT's Block mutes the author (X offers no block to a council account)."""

PLATFORM_VERB = {"warn": "reply", "reply": "reply"}
"""What the platform is asked to do, where the word differs from SMAT's action."""

NEEDS_WORDS = {
    "second_member": (
        ":busts_in_silhouette: *Needs a second SMAT member* to approve (not the person who "
        "asked): the policy did not flag this comment, and criticism is never removed by one "
        "click."
    ),
    "clerk": (
        ":scales: *Needs the Town Clerk* (or the Deputy Clerk) to approve: hiding is preferred "
        "because it keeps the public record."
    ),
}

_SLACK_ID = re.compile(r"^[UW][A-Z0-9]{2,30}$")


@dataclass(frozen=True)
class SlackMessage:
    """What chat.postMessage / chat.update send: a notification text and the blocks."""

    text: str
    blocks: list[Block]


# --- text objects -----------------------------------------------------------------------------


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


def mention(slack_id: str | None, fallback: str) -> str:
    """``<@U…>`` for a well-formed Slack user id, else the fallback name, escaped."""
    if slack_id and _SLACK_ID.match(slack_id):
        return f"<@{slack_id}>"
    return escape_mrkdwn(fallback or slack_id or "someone")


def button_value(card: TriageCard) -> str:
    """What a card's buttons carry: which review item, at which version."""
    return json.dumps({"item": card.review_item_id, "version": card.review_version})


def request_value(request: RequestView) -> str:
    """What the Approve removal / Decline buttons carry: which removal request."""
    return json.dumps({"request": request.id})


# --- what the platform can do -----------------------------------------------------------------


def can(platform: Platform, wanted: PlatformAction) -> bool:
    """Whether SMAT can do ``wanted`` on this platform (Block counts as Mute on X)."""
    return platform_action(platform, wanted) is not None


def mutes_instead(platform: Platform) -> bool:
    """Whether SMAT's Block is a mute on this platform (X)."""
    return platform_action(platform, PlatformAction.BLOCK) is PlatformAction.MUTE


def block_word(platform: Platform) -> str:
    """``Block`` or, where the platform only mutes, ``Mute``."""
    return "Mute" if mutes_instead(platform) else "Block"


# --- shared pieces ----------------------------------------------------------------------------


def ordinal(number: int) -> str:
    """The ordinal of a number: 1st, 2nd, 3rd, 4th, 11th, 21st."""
    if 10 <= number % 100 <= 20:
        suffix = "th"
    else:
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def counted(number: int, singular: str, plural: str | None = None) -> str:
    """``1 warning``, ``0 warnings``."""
    return f"{number} {singular if number == 1 else (plural or singular + 's')}"


def history_line(card: TriageCard) -> str:
    """``3rd comment here · 1 earlier hide · 0 warnings`` (warnings are strikes).

    Once the card is decided the counts include its own decision, so they are "on record"
    rather than "earlier".
    """
    history = card.history
    earlier = card.author_earlier_comments
    parts = ["first comment here" if earlier == 0 else f"{ordinal(earlier + 1)} comment here"]
    if earlier or history.hides or history.warnings or history.blocks:
        decided = card.status == "decided"
        parts.append(counted(history.hides, "hide" if decided else "earlier hide"))
        parts.append(counted(history.warnings, "warning") + (" on record" if decided else ""))
    if history.blocks:
        parts.append("muted" if mutes_instead(card.platform) else "blocked")
    return " · ".join(parts)


def reason_text(
    code: str | None,
    card: TriageCard,
    reason_labels: Mapping[str, str],
    reason_clauses: Mapping[str, str] | None,
) -> str | None:
    """``Label (clause)`` for a reason code, escaped for mrkdwn; None without a code."""
    if not code:
        return None
    label = escape_mrkdwn(reason_labels.get(code, code))
    clause = (reason_clauses or {}).get(code) or (card.clause if code == card.reason_code else None)
    return f"{label} ({escape_mrkdwn(clause)})" if clause else label


def _where(card: TriageCard) -> str:
    where = f"{card.platform.display_name} · {card.account_name}"
    if card.post_title:
        where += f' · on "{card.post_title}"'
    return where


def _time(moment: datetime, tz: tzinfo) -> str:
    return moment.astimezone(tz).strftime("%-d %b %Y, %H:%M")


def _at(moment: datetime, tz: tzinfo) -> str:
    local = moment.astimezone(tz)
    return local.strftime("at %H:%M on %-d %b %Y")


def _author_line(card: TriageCard, tz: tzinfo) -> str:
    edited = f" · edited (version {card.comment_version})" if card.comment_version > 1 else ""
    return f"{card.author_name} ({history_line(card)}) · {_time(card.created_at, tz)}{edited}"


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


def _suggestion_line(
    card: TriageCard, reason_labels: Mapping[str, str], reason_clauses: Mapping[str, str] | None
) -> str:
    line = f"*Suggested: {card.suggested_action.upper()}*"
    reason = reason_text(card.reason_code, card, reason_labels, reason_clauses)
    if reason:
        line += f" — {reason}"
    if card.scores:
        line += f"; {escape_mrkdwn(_scores_line(card))}"
    return line


def _detections_line(card: TriageCard) -> str | None:
    if not card.detections:
        return None
    kinds = ", ".join(kind.replace("_", " ") for kind in card.detections)
    return f"Detected: {escape_mrkdwn(kinds)}"


def _details(card: TriageCard) -> Block:
    details = [line for line in (_detections_line(card),) if line]
    details.append(escape_mrkdwn(card.explanation))
    missing = [law for law in card.legislation if law not in card.explanation]
    if missing:
        details.append("Possible offence: " + escape_mrkdwn("; ".join(missing)))
    if card.model_name:
        details.append(f"Model: {escape_mrkdwn(card.model_name)}")
    return {"type": "context", "elements": [mrkdwn(" · ".join(details))]}


def _button(
    action_id: str, label: str, value: str, style: str | None = None, **extra: Any
) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "action_id": action_id,
        "text": plain(label, 75),
        "value": value,
    }
    if style:
        button["style"] = style
    button.update(extra)
    return button


def _view_button(card: TriageCard) -> dict[str, Any] | None:
    if not (card.permalink and card.permalink.startswith("https://")):
        return None
    return {
        "type": "button",
        "action_id": ui_ids.OPEN_PERMALINK,
        "text": plain(f"View on {card.platform.display_name} ↗", 75),
        "url": card.permalink[:3000],
    }


def _actions_block(prefix: str, card: TriageCard, elements: list[dict[str, Any]]) -> Block:
    return {
        "type": "actions",
        "block_id": f"{prefix}:{card.review_item_id}:{card.review_version}",
        "elements": elements,
    }


# --- render -----------------------------------------------------------------------------------


def render_card(
    card: TriageCard,
    *,
    reason_labels: Mapping[str, str],
    tz: tzinfo,
    reason_clauses: Mapping[str, str] | None = None,
) -> SlackMessage:
    """Render a card for the triage channel in its current state.

    ``reason_labels`` maps policy reason codes to labels; ``reason_clauses`` (optional) to the
    policy clause, which is otherwise known only for the classifier's own suggested reason.
    """
    if card.status == "awaiting_approval" and card.request is not None:
        message = _render_awaiting(card, card.request, reason_labels, reason_clauses, tz)
    elif card.status != "pending" and card.decision is not None:
        message = _render_decided(card, card.decision, reason_labels, reason_clauses, tz)
    elif card.flagged:
        message = _render_flagged(card, reason_labels, reason_clauses, tz)
    else:
        message = _render_clean(card, tz)
    if card.escalation is not None:
        message = _with_escalation_line(message, card.escalation, tz)
    return message


def pending_buttons(card: TriageCard) -> list[dict[str, Any]]:
    """Approve, Hide…, Warn…, Block…/Mute…, Delete…, View on …: what this platform allows."""
    value = button_value(card)
    platform = card.platform
    elements = [
        _button(ui_ids.APPROVE, "Approve", value, "primary"),
        _button(ui_ids.HIDE, "Hide…", value),
    ]
    replyable = can(platform, PlatformAction.REPLY) and not card.deleted
    if replyable and card.enquiry_labels:
        elements.insert(1, _button(ui_ids.REPLY, "Reply…", value))  # an enquiry: answer it
    if can(platform, PlatformAction.REPLY):
        elements.append(_button(ui_ids.WARN, "Warn…", value))
    if can(platform, PlatformAction.BLOCK):
        elements.append(_button(ui_ids.BLOCK, f"{block_word(platform)}…", value))
    if can(platform, PlatformAction.DELETE):
        elements.append(_button(ui_ids.DELETE, "Delete…", value, "danger"))
    if replyable and not card.enquiry_labels:
        elements.append(_button(ui_ids.REPLY, "Reply…", value))
    if may_escalate(card):
        elements.append(_button(ui_ids.ESCALATE, "Escalate…", value))
    view = _view_button(card)
    if view:
        elements.append(view)
    return elements


def may_escalate(card: TriageCard) -> bool:
    """Whether the card offers Escalate…: not while an escalation is with the Clerk."""
    return card.escalation is None or not card.escalation.is_open


def _render_flagged(
    card: TriageCard,
    reason_labels: Mapping[str, str],
    reason_clauses: Mapping[str, str] | None,
    tz: tzinfo,
) -> SlackMessage:
    icon = SUGGESTION_ICON.get(card.suggested_action, ":white_circle:")
    blocks: list[Block] = [
        {"type": "context", "elements": [mrkdwn(icon), plain(_where(card), 2000)]},
        {"type": "context", "elements": [plain(_author_line(card, tz), 2000)]},
        *_body(card),
        {
            "type": "section",
            "text": mrkdwn(_suggestion_line(card, reason_labels, reason_clauses)),
        },
        _details(card),
        *enquiry_blocks(card),
        _actions_block("triage", card, pending_buttons(card)),
    ]
    text = (
        f"{card.platform.display_name} comment from {escape_mrkdwn(card.author_name)}"
        f" — suggested {escape_mrkdwn(card.suggested_action)}"
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
        *enquiry_blocks(card),
        _actions_block("triage", card, pending_buttons(card)),
    ]
    text = f"{card.platform.display_name} comment from {escape_mrkdwn(card.author_name)}"
    return SlackMessage(text, blocks)


def _action_words(action: str, platform: Platform) -> tuple[str, str, str]:
    if mutes_instead(platform) and action in MUTE_WORDS:
        return MUTE_WORDS[action]
    return DECISION_WORDS.get(action, (action.title(), ":ballot_box_with_check:", action))


def _render_awaiting(
    card: TriageCard,
    request: RequestView,
    reason_labels: Mapping[str, str],
    reason_clauses: Mapping[str, str] | None,
    tz: tzinfo,
) -> SlackMessage:
    what = {"hide": "Hide", "delete": "Delete", "block": block_word(card.platform)}.get(
        request.action, request.action.title()
    )
    who = mention(request.requested_by, request.requested_by)
    headline = (
        f":hourglass_flowing_sand: *{escape_mrkdwn(what)} requested* by {who} "
        f"{_at(request.requested_at, tz)}"
    )
    reason = reason_text(request.reason_code, card, reason_labels, reason_clauses)
    if reason:
        headline += f" — {reason}"
    needs = NEEDS_WORDS.get(request.needs, f"Needs approval ({escape_mrkdwn(request.needs)}).")
    blocks: list[Block] = [
        {"type": "section", "text": mrkdwn(headline)},
        {"type": "context", "elements": [mrkdwn(needs)]},
    ]
    if request.note:
        blocks.append({"type": "context", "elements": [plain(f"Note: {request.note}", 2000)]})
    blocks += [
        {
            "type": "context",
            "elements": [plain(f"{_where(card)} · {_author_line(card, tz)}", 2000)],
        },
        *_body(card),
        {
            "type": "context",
            "elements": [mrkdwn(_suggestion_line(card, reason_labels, reason_clauses))],
        },
    ]
    value = request_value(request)
    approve = _button(ui_ids.APPROVE_REMOVAL, "Approve removal", value, "primary")
    if request.action == "delete":
        approve["confirm"] = {
            "title": plain("Delete this comment?", 100),
            "text": plain(
                f"SMAT Bot will delete the comment on {card.platform.display_name}. "
                "There is no Undo for a delete"
                + (
                    " and on YouTube it cannot be restored."
                    if card.platform is Platform.YOUTUBE
                    else "."
                )
                + " The original has been kept.",
                300,
            ),
            "confirm": plain("Delete", 30),
            "deny": plain("Cancel", 30),
            "style": "danger",
        }
    elements = [approve, _button(ui_ids.DECLINE_REMOVAL, "Decline", value)]
    blocks.append(
        {
            "type": "actions",
            "block_id": f"request:{card.review_item_id}:{card.review_version}:{request.id}",
            "elements": elements,
        }
    )
    needs_whom = "the Town Clerk" if request.needs == "clerk" else "a second SMAT member"
    text = (
        f"{what} of a {card.platform.display_name} comment from "
        f"{escape_mrkdwn(card.author_name)} needs {needs_whom}"
    )
    return SlackMessage(text, blocks)


def result_line(card: TriageCard, decision: DecisionView) -> str | None:
    """What the platform did: confirmed, sending, failed (retrying), cannot, not connected."""
    status = decision.outcome_status
    if status is None or decision.action == "approve":
        return None
    if decision.action == "reply":
        return reply_result(card, status, decision.outcome_detail)
    name = card.platform.display_name
    _, _, done_word = _action_words(decision.action, card.platform)
    detail = (decision.outcome_detail or "").strip()
    if status == "done":
        line = (
            f":white_check_mark: {name}: warning posted"
            if decision.action == "warn"
            else f":white_check_mark: {name}: reply posted"
            if decision.action == "reply"
            else f":white_check_mark: {name} confirmed {done_word}"
        )
        if detail and detail not in (f"{name} confirmed", "replied"):
            line += f" ({escape_mrkdwn(detail[:300])})"
        return line
    if status == "pending":
        return f":hourglass: sending to {name}…"
    if status == "failed":
        if not detail:
            return f":warning: {name} failed — retrying"
        return f":warning: {name} failed: {escape_mrkdwn(detail[:500])}"
    if status == "unsupported":
        verb = PLATFORM_VERB.get(decision.action, escape_mrkdwn(decision.action))
        if decision.action in ("block", "unblock") and mutes_instead(card.platform):
            verb = "mute" if decision.action == "block" else "unmute"
        return f":information_source: {name} cannot {verb} — do it in the app"
    if status == "not_connected":
        return f":information_source: not connected: do it on {name} by hand"
    if status == "unknown":
        return f":grey_question: not known whether {name} posted it — check on {name}"
    if status == "not_needed":
        return f":information_source: nothing to do on {name} ({escape_mrkdwn(detail or '')})"
    return f":grey_question: {name}: {escape_mrkdwn(status)}"


def followup_buttons(card: TriageCard, decision: DecisionView) -> list[dict[str, Any]]:
    """What may follow a decision: Undo, then Warn…, Block… and Delete… after a hide."""
    platform = card.platform
    value = button_value(card)
    action = decision.action
    elements: list[dict[str, Any]] = []
    undo_of = {"hide": PlatformAction.UNHIDE, "block": PlatformAction.UNBLOCK}.get(action)
    if undo_of and can(platform, undo_of) and decision.outcome_status != "unsupported":
        word = _action_words(action, platform)[0].lower()  # hidden, blocked, muted
        verb = {"hide": "unhide", "block": "unmute" if mutes_instead(platform) else "unblock"}[
            action
        ]
        target = "the comment" if action == "hide" else "the author"
        undo = _button(ui_ids.UNDO, "Undo", value)
        undo["confirm"] = {
            "title": plain(f"Undo: {verb} {target}?", 100),
            "text": plain(
                f"SMAT Bot will {verb} {target} on {platform.display_name}, as it was before it "
                f"was {word}. Both decisions stay in the log, and so does the preserved original.",
                300,
            ),
            "confirm": plain(verb.title(), 30),
            "deny": plain("Keep it", 30),
        }
        elements.append(undo)
    if (
        action == "hide"
        and can(platform, PlatformAction.REPLY)
        and platform not in REPLIES_REFUSED_WHEN_HIDDEN  # Instagram: no replies once hidden
    ):
        elements.append(_button(ui_ids.WARN, "Warn…", value))
    if (
        action in ("hide", "warn")
        and can(platform, PlatformAction.BLOCK)
        and not card.history.blocks
    ):
        elements.append(_button(ui_ids.BLOCK, f"{block_word(platform)}…", value))
    if action == "hide" and can(platform, PlatformAction.DELETE):
        # Rarely needed (hiding keeps the public record), and the Clerk must approve it.
        elements.append(_button(ui_ids.DELETE, "Delete…", value, "danger"))
    if action == "escalate" and not (card.escalation and card.escalation.hide_stands):
        # A threat may need taking down before the Clerk has answered.
        elements.append(_button(ui_ids.HIDE, "Hide…", value))
    if action in ("reply", "route"):
        elements.append(_button(ui_ids.HIDE, "Hide…", value))
    if reply_allowed(card, decision):
        elements.append(_button(ui_ids.REPLY, "Reply…", value))
    if may_escalate(card):
        elements.append(_button(ui_ids.ESCALATE, "Escalate…", value))
    return elements


def _render_decided(
    card: TriageCard,
    decision: DecisionView,
    reason_labels: Mapping[str, str],
    reason_clauses: Mapping[str, str] | None,
    tz: tzinfo,
) -> SlackMessage:
    word, icon, _ = _action_words(decision.action, card.platform)
    who = mention(decision.actor_slack_id, decision.actor_name)
    headline = f"{icon} *{escape_mrkdwn(word)}* by {who} {_at(decision.decided_at, tz)}"
    reason = reason_text(decision.reason_code, card, reason_labels, reason_clauses)
    if reason:
        headline += f" — {reason}"
    if decision.approved_by:
        headline += f" · approved by {mention(decision.approved_by, decision.approved_by)}"
    blocks: list[Block] = [{"type": "section", "text": mrkdwn(headline)}]
    status = []
    if decision.preserved_sha256:
        status.append(
            f"Original preserved (sha256 {escape_mrkdwn(decision.preserved_sha256[:8])}…)"
        )
    result = result_line(card, decision)
    if result:
        status.append(result)
    if status:
        blocks.append({"type": "context", "elements": [mrkdwn(" · ".join(status))]})
    if decision.note:
        blocks.append({"type": "context", "elements": [plain(f"Note: {decision.note}", 2000)]})
    blocks += reply_blocks(card, decision, tz)
    blocks += [
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
    followups = followup_buttons(card, decision)
    if followups:
        blocks.append(_actions_block("decided", card, followups))
    text = (
        f"{word} by {escape_mrkdwn(decision.actor_name)}: {card.platform.display_name} "
        f"comment from {escape_mrkdwn(card.author_name)}"
    )
    return SlackMessage(text, blocks)


# --- escalations ------------------------------------------------------------------------------


def escalated_by(escalation: EscalationView) -> str:
    """Who escalated, for mrkdwn: a mention, or SMAT Bot itself."""
    if escalation.escalated_by == SYSTEM:
        return "SMAT Bot (automatically)"
    return mention(escalation.escalated_by, escalation.escalated_by)


def escalation_line(escalation: EscalationView, tz: tzinfo) -> str:
    """Where an escalation stands, in one line of our own mrkdwn."""
    reason = escape_mrkdwn(reason_label(escalation.reason))
    if escalation.outcome:
        word, icon = OUTCOMES.get(escalation.outcome, (escalation.outcome, ":scales:"))
        who = mention(escalation.outcome_by, escalation.outcome_by or "")
        when = _at(escalation.outcome_at, tz) if escalation.outcome_at else ""
        return f"{icon} *{escape_mrkdwn(word)}* by the Clerk ({who}) {when} — escalation: {reason}"
    line = (
        f":rotating_light: *With the Town Clerk* — {reason}"
        f"{' (immediate)' if escalation.immediate else ''} · escalated by "
        f"{escalated_by(escalation)} {_at(escalation.escalated_at, tz)}"
    )
    if escalation.acknowledged_by:
        ack_at = _at(escalation.acknowledged_at, tz) if escalation.acknowledged_at else ""
        line += (
            f" · acknowledged by {mention(escalation.acknowledged_by, escalation.acknowledged_by)}"
            f" {ack_at}"
        )
    else:
        line += " · waiting for acknowledgement"
        if escalation.reminders_sent:
            line += f" ({counted(escalation.reminders_sent, 'reminder')} sent)"
        if escalation.deputy_notified_at:
            line += " · Deputy Clerk pinged"
    return line


def _with_escalation_line(
    message: SlackMessage, escalation: EscalationView, tz: tzinfo
) -> SlackMessage:
    """The card with its escalation's line just above the buttons."""
    line: Block = {"type": "context", "elements": [mrkdwn(escalation_line(escalation, tz))]}
    blocks = list(message.blocks)
    at = len(blocks) - 1 if blocks and blocks[-1]["type"] == "actions" else len(blocks)
    blocks.insert(at, line)
    return SlackMessage(message.text, blocks)


# --- replies and routing ----------------------------------------------------------------------

ROUTE_WORDS = {
    "service_request": "a service request",
    "complaint": "a complaint",
    "press": "a press enquiry",
}


def enquiry_blocks(card: TriageCard) -> list[Block]:
    """On a pending card: what the comment looks like it asks, so Reply… is the obvious move."""
    if not card.enquiry_labels or not can(card.platform, PlatformAction.REPLY):
        return []
    topics = ", ".join(card.enquiry_labels)
    return [
        {
            "type": "context",
            "elements": [
                mrkdwn(
                    f":speech_balloon: Looks like an enquiry: *{escape_mrkdwn(topics)}* — "
                    "Reply… offers the standard response first."
                )
            ],
        }
    ]


def reply_allowed(card: TriageCard, decision: DecisionView) -> bool:
    """Whether a Reply… button makes sense after this decision on this platform."""
    if not can(card.platform, PlatformAction.REPLY) or card.deleted:
        return False
    if decision.action == "delete":
        return False
    return not (decision.action == "hide" and card.platform in REPLIES_REFUSED_WHEN_HIDDEN)


def contact_text(contact: str | None) -> str:
    """A routing contact in our mrkdwn: ``<@U…>``, ``<#C…>`` or an escaped ``#name``."""
    if not contact:
        return "nobody"
    if _SLACK_ID.match(contact):
        return f"<@{contact}>"
    if re.match(r"^[CG][A-Z0-9]{2,30}$", contact):
        return f"<#{contact}>"
    return escape_mrkdwn(contact)


def reply_result(card: TriageCard, status: str | None, detail: str | None) -> str | None:
    """What the platform did with a reply."""
    name = card.platform.display_name
    detail = (detail or "").strip()
    if status is None:
        return None
    if status == "done":
        return f":white_check_mark: {name}: reply posted"
    if status in ("pending", "sending"):
        return f":hourglass: posting the reply on {name}…"
    if status == "failed":
        why = f": {escape_mrkdwn(detail[:500])}" if detail else " — retrying"
        return f":warning: {name} did not post the reply{why}"
    if status == "unknown":
        return f":grey_question: not known whether {name} posted the reply — check on {name}"
    if status == "unsupported":
        return f":information_source: {name} cannot reply — do it in the app"
    if status == "not_connected":
        return f":information_source: not connected: reply on {name} by hand"
    return f":grey_question: {name}: {escape_mrkdwn(status)}"


def route_result(reply: ReplyView) -> str | None:
    """Where the enquiry was passed on, and whether the note arrived."""
    if not reply.route:
        return None
    kind = ROUTE_WORDS.get(reply.route, escape_mrkdwn(reply.route))
    line = f":incoming_envelope: Passed on as {kind} to {contact_text(reply.routed_to)}"
    if reply.route_status == "sent":
        return line + " — note sent"
    if reply.route_status == "failed":
        detail = escape_mrkdwn((reply.route_detail or "")[:300])
        kind_to = f"Passed on as {kind} to {contact_text(reply.routed_to)}"
        return f":warning: {kind_to}, but the note was not delivered: {detail}"
    return line + " — sending the note…"


def reply_blocks(card: TriageCard, decision: DecisionView, tz: tzinfo) -> list[Block]:
    """The latest reply or passing-on on a decided card: who, the words, and what became of it."""
    reply = card.reply
    if reply is None:
        return []
    lines = []
    if reply.decision_id != decision.id:  # a follow-up: the headline is another decision
        word = "Replied" if reply.action == "reply" else "Passed on"
        icon = ":speech_balloon:" if reply.action == "reply" else ":incoming_envelope:"
        who = mention(reply.actor_slack_id, reply.actor_name)
        lines.append(f"{icon} *{word}* by {who} {_at(reply.decided_at, tz)}")
        result = reply_result(card, reply.outcome_status, reply.outcome_detail)
        if result and reply.action == "reply":
            lines.append(result)
    routed = route_result(reply)
    if routed:
        lines.append(routed)
    blocks: list[Block] = []
    if lines:
        blocks.append({"type": "context", "elements": [mrkdwn(" · ".join(lines))]})
    if reply.text:
        blocks.append({"type": "context", "elements": [plain(f"Reply: {reply.text}", 2000)]})
    return blocks

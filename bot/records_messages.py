"""Slack messages for the records: the blocked-author register, its review reminders, legal holds.

Pure functions of domain objects. Residents' names are ``plain_text`` only, or escaped; our own
wording is ``mrkdwn``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime, tzinfo
from typing import Any

from bot import ui_ids
from bot.rendering import Block, SlackMessage, escape_mrkdwn, mention, mrkdwn, plain
from bot.services.blocks import BlockEntry, UnblockTarget
from bot.services.legal_holds import AUTHOR, HoldInfo
from platforms.base import Action as PlatformAction
from platforms.capabilities import platform_action

MAX_LISTED = 40
"""Entries shown in one Slack answer (a message holds at most 50 blocks)."""
NAME_LIMIT = 80
NOTE_MAX = 2000
UNBLOCK_NOTE_BLOCK, UNBLOCK_NOTE_INPUT = "unblock_note", "unblock_note"


def day(moment: datetime, tz: tzinfo) -> str:
    """``17 May 2027`` in the council's time zone."""
    local = moment.astimezone(tz)
    return f"{local.day} {local:%b %Y}"


def actor_text(actor: str | None) -> str:
    """A Slack mention for a Slack user id, else the recorded name (``cli:NAME``), escaped."""
    if actor and actor.startswith("cli:"):
        return escape_mrkdwn(actor.removeprefix("cli:")) + " (command line)"
    return mention(actor, actor or "someone")


def block_word(entry: BlockEntry) -> str:
    """``blocked``, or ``muted`` where the platform mutes instead (X)."""
    muted = platform_action(entry.platform, PlatformAction.BLOCK) is PlatformAction.MUTE
    return "muted" if muted else "blocked"


def _reason(entry: BlockEntry, reason_labels: Mapping[str, str]) -> str:
    if not entry.reason_code:
        return "no reason recorded"
    return escape_mrkdwn(reason_labels.get(entry.reason_code, entry.reason_code))


def _name(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= NAME_LIMIT else text[: NAME_LIMIT - 1] + "…"


def review_value(entry: BlockEntry) -> str:
    """What the reminder's buttons carry: which block, for which due date."""
    return json.dumps({"block": entry.id, "due": entry.review_due.date().isoformat()})


def review_reminder(
    entry: BlockEntry, reason_labels: Mapping[str, str], tz: tzinfo, *, preface: str = ""
) -> SlackMessage:
    """The Clerk's reminder that a block's review has fallen due, with Keep blocked / Unblock…."""
    word = block_word(entry)
    text = f"A {word} author's review is due ({day(entry.review_due, tz)})."
    facts = (
        f"*{word.capitalize()} on* {escape_mrkdwn(entry.platform.display_name)} · "
        f"{escape_mrkdwn(entry.account_name)} since {day(entry.blocked_at, tz)} by "
        f"{actor_text(entry.blocked_by)} — {_reason(entry, reason_labels)}. "
        f"Comment {entry.comment_id}; register entry {entry.id}."
    )
    if entry.last_reviewed_at is not None:
        facts += (
            f" Last reviewed {day(entry.last_reviewed_at, tz)} by "
            f"{actor_text(entry.last_reviewed_by)}."
        )
    blocks: list[Block] = []
    if preface:
        blocks.append({"type": "context", "elements": [mrkdwn(escape_mrkdwn(preface))]})
    blocks += [
        {
            "type": "section",
            "text": mrkdwn(f":calendar: *Block review due {day(entry.review_due, tz)}*"),
        },
        {"type": "section", "text": plain(_name(entry.author_name))},
        {"type": "context", "elements": [mrkdwn(facts)]},
        {
            "type": "actions",
            "block_id": f"block_review:{entry.id}",
            "elements": [
                {
                    "type": "button",
                    "action_id": ui_ids.KEEP_BLOCKED,
                    "text": plain(f"Keep {word}", 75),
                    "value": review_value(entry),
                    "style": "primary",
                },
                {
                    "type": "button",
                    "action_id": ui_ids.UNBLOCK_FROM_REVIEW,
                    "text": plain("Unmute…" if word == "muted" else "Unblock…", 75),
                    "value": review_value(entry),
                },
            ],
        },
        {
            "type": "context",
            "elements": [
                mrkdwn(
                    "Keeping it sets the next review; unblocking is a decision like any other, "
                    "recorded on the comment's card."
                )
            ],
        },
    ]
    return SlackMessage(text, blocks)


def review_done(text: str) -> SlackMessage:
    """What a reminder becomes once it has been dealt with (no buttons left to click)."""
    return SlackMessage(text, [{"type": "section", "text": mrkdwn(text)}])


def kept_text(entry: BlockEntry, actor_slack_id: str, tz: tzinfo) -> str:
    """The reminder after Keep blocked."""
    return (
        f":lock: Kept {block_word(entry)} by {mention(actor_slack_id, actor_slack_id)} on "
        f"{day(entry.last_reviewed_at or entry.review_due, tz)}. Next review: "
        f"{day(entry.review_due, tz)} (register entry {entry.id})."
    )


def unblock_modal(
    target: UnblockTarget, reason_labels: Mapping[str, str], tz: tzinfo, channel: str, ts: str
) -> dict[str, Any]:
    """The form behind Unblock…: confirm, with an optional note for the record."""
    entry = target.entry
    word = "unmute" if block_word(entry) == "muted" else "unblock"
    blocks: list[Block] = [
        {"type": "section", "text": plain(_name(entry.author_name))},
        {
            "type": "context",
            "elements": [
                mrkdwn(
                    f"{block_word(entry).capitalize()} on "
                    f"{escape_mrkdwn(entry.platform.display_name)} · "
                    f"{escape_mrkdwn(entry.account_name)} since {day(entry.blocked_at, tz)} — "
                    f"{_reason(entry, reason_labels)}."
                )
            ],
        },
        {
            "type": "section",
            "text": mrkdwn(
                f"This records an *{word}* decision on comment {entry.comment_id}, like Undo on "
                "its card, and asks the platform to carry it out."
            ),
        },
    ]
    if not target.platform_can_unblock:
        blocks.append(
            {
                "type": "context",
                "elements": [
                    mrkdwn(
                        f":information_source: {escape_mrkdwn(entry.platform.display_name)} "
                        "offers no way to undo this through its API: after confirming, lift it "
                        "on the platform by hand (YouTube Studio for YouTube)."
                    )
                ],
            }
        )
    blocks.append(
        {
            "type": "input",
            "block_id": UNBLOCK_NOTE_BLOCK,
            "optional": True,
            "label": plain("Why (for the record)", 75),
            "element": {
                "type": "plain_text_input",
                "action_id": UNBLOCK_NOTE_INPUT,
                "multiline": True,
                "max_length": NOTE_MAX,
            },
        }
    )
    metadata = {
        "block": entry.id,
        "item": target.review_item_id,
        "version": target.review_version,
        "channel": channel,
        "ts": ts,
    }
    return {
        "type": "modal",
        "callback_id": ui_ids.UNBLOCK_MODAL,
        "title": plain(f"{word.capitalize()} author", 24),
        "submit": plain(word.capitalize(), 24),
        "close": plain("Cancel", 24),
        "private_metadata": json.dumps(metadata),
        "blocks": blocks,
    }


def register_message(
    entries: Sequence[BlockEntry],
    reason_labels: Mapping[str, str],
    tz: tzinfo,
    now: datetime,
    *,
    due_only: bool,
) -> SlackMessage:
    """The answer to ``/smat blocks``: each block in force, soonest review first."""
    if not entries:
        text = "No block reviews are due." if due_only else "No authors are blocked."
        return SlackMessage(text, [{"type": "section", "text": mrkdwn(text)}])
    due = sum(1 for entry in entries if entry.due(now))
    title = f"Blocked authors ({len(entries)})" if not due_only else f"Block reviews due ({due})"
    text = title + (f"; {due} review(s) due." if due and not due_only else ".")
    blocks: list[Block] = [{"type": "section", "text": mrkdwn(f"*{escape_mrkdwn(text)}*")}]
    for entry in entries[:MAX_LISTED]:
        flag = ":calendar: *review due*" if entry.due(now) else "review"
        outcome = (
            f" · platform: {escape_mrkdwn(entry.platform_outcome)}"
            if entry.platform_outcome and entry.platform_outcome != "done"
            else ""
        )
        blocks.append(
            {
                "type": "context",
                "elements": [
                    plain(_name(entry.author_name)),
                    mrkdwn(
                        f"#{entry.id} · {block_word(entry)} on "
                        f"{escape_mrkdwn(entry.platform.display_name)} · "
                        f"{escape_mrkdwn(entry.account_name)} since {day(entry.blocked_at, tz)} "
                        f"by {actor_text(entry.blocked_by)} — {_reason(entry, reason_labels)} · "
                        f"comment {entry.comment_id} · {flag} {day(entry.review_due, tz)}"
                        f"{outcome}"
                    ),
                ],
            }
        )
    if len(entries) > MAX_LISTED:
        blocks.append(
            {
                "type": "context",
                "elements": [
                    mrkdwn(
                        f"…and {len(entries) - MAX_LISTED} more: `smat-bot blocks list` shows "
                        "them all."
                    )
                ],
            }
        )
    return SlackMessage(text, blocks)


def hold_target(info: HoldInfo) -> str:
    """``comment 12`` or ``everything by the author of comment 12``."""
    if info.scope == AUTHOR:
        return f"everything by the author of comment {info.comment_id}"
    return f"comment {info.comment_id}"


def hold_set_text(info: HoldInfo, tz: tzinfo) -> str:
    """What the person who set a hold is told."""
    return (
        f":lock: Legal hold {info.id} set on {hold_target(info)} "
        f"({day(info.set_at, tz)}): {escape_mrkdwn(info.reason)}. Nothing it covers will be "
        "purged until the hold is released."
    )


def hold_released_text(info: HoldInfo, tz: tzinfo) -> str:
    """What the person who released a hold is told."""
    why = f": {escape_mrkdwn(info.release_reason)}" if info.release_reason else ""
    return (
        f":unlock: Legal hold {info.id} on {hold_target(info)} released"
        f"{why}. It was set by {actor_text(info.set_by)} on {day(info.set_at, tz)}; both are "
        "kept in the record. Normal retention applies again from the next purge."
    )


def holds_text(holds: Sequence[HoldInfo], tz: tzinfo) -> str:
    """The answer to ``/smat holds``."""
    if not holds:
        return "No legal holds are in force."
    lines = [f"*Legal holds in force ({len(holds)})*"]
    for info in holds[:MAX_LISTED]:
        lines.append(
            f"• *{info.id}* · {hold_target(info)} · set {day(info.set_at, tz)} by "
            f"{actor_text(info.set_by)}: {escape_mrkdwn(_name(info.reason))}"
        )
    if len(holds) > MAX_LISTED:
        lines.append(f"…and {len(holds) - MAX_LISTED} more: `smat-bot hold list` shows them all.")
    return "\n".join(lines)


def parse_due(value: object) -> date:
    """A button's ISO due date; ValueError if it is not one."""
    if not isinstance(value, str) or len(value) != 10:
        raise ValueError("due is not an ISO date")
    return date.fromisoformat(value)

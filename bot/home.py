"""Block Kit for the App Home tab and the ``/smat`` answers: pure functions of overview data.

Author names and comment text are written by residents: they only ever go into ``plain_text``
objects, on one line and cut short, so ``<!channel>``, a disguised link or ``*markup*`` stays
inert. Account names go into ``plain_text`` too (an import can bring an account we did not
configure). Our own wording is ``mrkdwn`` with everything interpolated into it escaped.

A comment's age counts from when it was posted: a public comment on a council page is notice
served, so the longer it waits the louder its icon.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, tzinfo
from typing import Any

from bot import ui_ids
from bot.escalation_words import SYSTEM, reason_label
from bot.rendering import (
    DECISION_WORDS,
    MUTE_WORDS,
    Block,
    SlackMessage,
    counted,
    escape_mrkdwn,
    mention,
    mrkdwn,
    mutes_instead,
    plain,
)
from bot.services.accounts import AccountStatus
from bot.services.overview import (
    AccountHistory,
    AuthorOverview,
    AuthorSearch,
    LatestDecision,
    OpenEscalation,
    OpenRequest,
    QueueSummary,
    RecentDecision,
    WaitingItem,
)
from platforms.types import Platform

MAX_HOME_BLOCKS = 100
MAX_MESSAGE_BLOCKS = 50
HEADER_LIMIT = 150
NAME_LIMIT = 80
"""Author and account names are cut to this many characters."""
EXCERPT_LIMIT = 200
"""Comment text shown in a list is cut to this many characters."""
SHORT_EXCERPT_LIMIT = 80
AGE_WARNING = timedelta(hours=24)
AGE_ALARM = timedelta(days=3)
ACCOUNTS_SHOWN = 40
ACCOUNTS_PER_AUTHOR = 5
"""Accounts shown per author (a context block holds 10 elements: a name and a line each)."""

NOT_A_MEMBER_TEXT = (
    "Sorry — only SMAT members can see the queue, authors' histories and the account register. "
    "If you should be in SMAT, ask the Town Clerk."
)
STATUS_WORDS = {"pending": "pending", "awaiting_approval": "awaiting approval"}
SUGGESTION_WORDS = {
    "escalate": "to escalate",
    "hide": "to hide",
    "review": "to review",
    "approve": "clean",
}
NEEDS_WHOM = {"clerk": "the Town Clerk", "second_member": "a second SMAT member"}
REQUEST_WORDS = {"hide": "Hide", "delete": "Delete", "block": "Block"}
OUTCOME_WORDS = {
    "done": "done on the platform",
    "pending": "sending to the platform",
    "failed": "platform failed, retrying",
    "unsupported": "do it in the platform's app",
    "not_connected": "not connected: do it by hand",
}
ACCOUNT_ICONS = {
    "active": ":large_green_circle:",
    "needs_attention": ":warning:",
    "unregistered": ":grey_question:",
}

_SPACE = re.compile(r"\s+")


# --- small pieces -------------------------------------------------------------------------------


def one_line(text: str, limit: int) -> str:
    """Untrusted text on one line (runs of spaces and newlines become one space), cut short."""
    text = _SPACE.sub(" ", text).strip()
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def describe_age(age: timedelta) -> str:
    """``under a minute``, ``45 minutes``, ``5 hours 10 minutes``, ``3 days 2 hours``."""
    minutes = max(int(age.total_seconds() // 60), 0)
    if minutes < 1:
        return "under a minute"
    if minutes < 60:
        return counted(minutes, "minute")
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return counted(hours, "hour") + (f" {counted(minutes, 'minute')}" if minutes else "")
    days, hours = divmod(hours, 24)
    return counted(days, "day") + (f" {counted(hours, 'hour')}" if hours else "")


def age_icon(age: timedelta) -> str:
    """Quiet while fresh, a warning after a day, an alarm after three days."""
    if age >= AGE_ALARM:
        return ":rotating_light:"
    if age >= AGE_WARNING:
        return ":warning:"
    return ":hourglass_flowing_sand:"


def when(moment: datetime, tz: tzinfo) -> str:
    """``16 Nov 2026, 10:34`` in the council's time zone."""
    local = moment.astimezone(tz)
    return f"{local.day} {local:%b %Y, %H:%M}"


def _decision_word(action: str, platform: Platform | None) -> tuple[str, str]:
    if platform is not None and mutes_instead(platform) and action in MUTE_WORDS:
        word, icon, _ = MUTE_WORDS[action]
    else:
        word, icon, _ = DECISION_WORDS.get(
            action, (action.title(), ":ballot_box_with_check:", action)
        )
    return escape_mrkdwn(word), icon


def _reason(code: str | None, reason_labels: Mapping[str, str]) -> str:
    if not code:
        return ""
    return f" — {escape_mrkdwn(reason_labels.get(code, code))}"


def _header(text: str) -> Block:
    return {"type": "header", "text": plain(text, HEADER_LIMIT)}


def _context(*elements: dict[str, Any]) -> Block:
    return {"type": "context", "elements": list(elements)}


def _where(platform: Platform, account_name: str) -> str:
    return f"{platform.display_name} · {one_line(account_name, NAME_LIMIT)}"


def _quote(text: str, limit: int) -> str:
    excerpt = one_line(text, limit)
    return f"“{excerpt}”" if excerpt else "(no text)"


# --- the queue ----------------------------------------------------------------------------------


def queue_text(summary: QueueSummary, tz: tzinfo, now: datetime) -> str:
    """The queue in a few lines of our own mrkdwn (no resident text in it)."""
    if not summary.waiting:
        done = ":white_check_mark: *Nothing is waiting*: every comment has been triaged."
        escalations = _escalations_line(summary)
        return f"{done}\n{escalations}" if escalations else done
    lines = [f"*Waiting for SMAT: {summary.waiting}*"]
    flagged = [
        f"{count} {escape_mrkdwn(SUGGESTION_WORDS.get(action, action))}"
        for action, count in sorted(summary.by_suggestion.items(), key=_suggestion_order)
        if action != "approve" and count
    ]
    detail = f"{summary.flagged} flagged"
    if flagged:
        detail += f" ({', '.join(flagged)})"
    lines.append(f"• *{summary.pending} pending* — {detail}, {summary.clean} clean")
    if summary.awaiting_approval or summary.open_requests:
        line = (
            f"• *{summary.awaiting_approval} awaiting approval* — removals waiting for a second "
            "SMAT member or the Town Clerk"
        )
        if summary.oldest_request_at is not None:
            line += f"; oldest asked {describe_age(now - summary.oldest_request_at)} ago"
        lines.append(line)
    escalations = _escalations_line(summary)
    if escalations:
        lines.append(escalations)
    if summary.oldest_pending_posted_at is not None:
        age = now - summary.oldest_pending_posted_at
        lines.append(
            f"{age_icon(age)} The oldest pending comment was posted "
            f"*{describe_age(age)} ago* ({when(summary.oldest_pending_posted_at, tz)}). "
            "A public comment on a council page is notice served: the oldest first, please."
        )
    return "\n".join(lines)


def _escalations_line(summary: QueueSummary) -> str | None:
    """``• *2 escalations with the Town Clerk* — 1 not acknowledged yet``, if any are open."""
    if not summary.open_escalations:
        return None
    line = f"• *{counted(summary.open_escalations, 'escalation')} with the Town Clerk*"
    if summary.unacknowledged_escalations:
        line += f" — {summary.unacknowledged_escalations} not acknowledged yet"
    return line


def _suggestion_order(item: tuple[str, int]) -> tuple[int, str]:
    order = list(SUGGESTION_WORDS)
    action = item[0]
    return (order.index(action) if action in order else len(order), action)


def queue_message(summary: QueueSummary, tz: tzinfo, now: datetime) -> SlackMessage:
    """The answer to ``/smat queue``."""
    text = queue_text(summary, tz, now)
    blocks: list[Block] = [
        {"type": "section", "text": mrkdwn(text)},
        _context(
            mrkdwn(
                "The comments waiting longest are on SMAT Bot's *Home* tab; each one's card is "
                "in the triage channel."
            )
        ),
    ]
    return SlackMessage(text, blocks)


# --- the Home tab -------------------------------------------------------------------------------


def home_view(
    *,
    council_name: str,
    viewer_id: str,
    viewer_role: str,
    summary: QueueSummary,
    waiting: Sequence[WaitingItem],
    requests: Sequence[OpenRequest],
    decisions: Sequence[RecentDecision],
    reason_labels: Mapping[str, str],
    tz: tzinfo,
    now: datetime,
    waiting_shown: int = 5,
    requests_shown: int = 10,
    decisions_shown: int = 10,
    escalations: Sequence[OpenEscalation] = (),
) -> dict[str, Any]:
    """The Home tab a SMAT member sees: the queue, what waits longest, requests, own decisions."""
    blocks: list[Block] = [
        _header(f"SMAT Bot · {one_line(council_name, 100)}"),
        _context(
            mrkdwn(
                f"You are *{escape_mrkdwn(viewer_role)}* in SMAT · updated {when(now, tz)} · "
                "`/smat help` lists the commands"
            )
        ),
        {"type": "section", "text": mrkdwn(queue_text(summary, tz, now))},
    ]
    if escalations or viewer_role in ("clerk", "deputy"):
        blocks += escalation_blocks(
            escalations, summary.open_escalations, viewer_role=viewer_role, now=now
        )
    blocks += [
        {"type": "divider"},
        _header("Waiting longest"),
    ]
    if waiting:
        for item in waiting[:waiting_shown]:
            blocks += _waiting_blocks(item, reason_labels, now)
    else:
        blocks.append(_context(mrkdwn("No comment is waiting for a decision.")))

    blocks += [{"type": "divider"}, _header("Removal requests awaiting approval")]
    if requests:
        for request in requests[:requests_shown]:
            blocks.append(_request_block(request, viewer_id, reason_labels, now))
        more = max(summary.open_requests, len(requests)) - min(len(requests), requests_shown)
        if more > 0:
            blocks.append(
                _context(mrkdwn(f"…and {more} more: their cards are in the triage channel."))
            )
    else:
        blocks.append(_context(mrkdwn("No removal is waiting for approval.")))

    blocks += [{"type": "divider"}, _header("Your recent decisions")]
    if decisions:
        for decision in decisions[:decisions_shown]:
            blocks.append(_decision_block(decision, reason_labels, tz))
    else:
        blocks.append(_context(mrkdwn("You have not decided on any comment yet.")))
    blocks.append(
        _context(
            mrkdwn(
                "Names and comments are shown exactly as their authors wrote them, never as "
                "Slack formatting."
            )
        )
    )
    return {"type": "home", "blocks": blocks[:MAX_HOME_BLOCKS]}


def escalation_blocks(
    escalations: Sequence[OpenEscalation], total: int, *, viewer_role: str, now: datetime
) -> list[Block]:
    """The escalations still with the Town Clerk, not acknowledged first."""
    blocks: list[Block] = [{"type": "divider"}, _header("Escalations with the Town Clerk")]
    if not escalations:
        blocks.append(_context(mrkdwn("No escalation is open.")))
        return blocks
    for escalation in escalations:
        blocks.append(_escalation_block(escalation, now))
    more = max(total, len(escalations)) - len(escalations)
    if more > 0:
        blocks.append(_context(mrkdwn(f"…and {more} more in the escalation channel.")))
    if viewer_role in ("clerk", "deputy"):
        blocks.append(
            _context(
                mrkdwn(
                    "Each card, with your buttons, is in the escalation channel (and the Clerk's "
                    "DM): acknowledge it to stop the reminders."
                )
            )
        )
    return blocks


def _escalation_block(escalation: OpenEscalation, now: datetime) -> Block:
    who = (
        "SMAT Bot (automatically)"
        if escalation.escalated_by == SYSTEM
        else mention(escalation.escalated_by, escalation.escalated_by)
    )
    line = f":rotating_light: *{escape_mrkdwn(reason_label(escalation.reason))}*"
    if escalation.immediate:
        line += " (immediate)"
    line += f" · escalated by {who} {describe_age(now - escalation.escalated_at)} ago"
    if escalation.acknowledged_by:
        line += (
            f" · :eyes: acknowledged by "
            f"{mention(escalation.acknowledged_by, escalation.acknowledged_by)}"
        )
    else:
        line += " · :hourglass: *not acknowledged*"
        if escalation.reminders_sent:
            line += f" ({counted(escalation.reminders_sent, 'reminder')} sent)"
        if escalation.deputy_notified:
            line += " · Deputy Clerk pinged"
    about = (
        f"{_where(escalation.platform, escalation.account_name)} · "
        f"{one_line(escalation.author_name, NAME_LIMIT)}: "
        f"{_quote(escalation.text, SHORT_EXCERPT_LIMIT)}"
    )
    return _context(mrkdwn(line), plain(about))


def escalations_message(
    escalations: Sequence[OpenEscalation], total: int, now: datetime
) -> SlackMessage:
    """The answer to ``/smat escalations``."""
    if not escalations:
        text = "No escalation is with the Town Clerk."
        return SlackMessage(text, [{"type": "section", "text": mrkdwn(text)}])
    text = f"{counted(total, 'escalation')} with the Town Clerk"
    blocks: list[Block] = [{"type": "section", "text": mrkdwn(f"*{escape_mrkdwn(text)}*")}]
    blocks += [_escalation_block(escalation, now) for escalation in escalations]
    if total > len(escalations):
        blocks.append(
            _context(mrkdwn(f"…and {total - len(escalations)} more in the escalation channel."))
        )
    return SlackMessage(text, blocks[:MAX_MESSAGE_BLOCKS])


def _waiting_blocks(
    item: WaitingItem, reason_labels: Mapping[str, str], now: datetime
) -> list[Block]:
    section: Block = {
        "type": "section",
        "text": plain(
            f"{one_line(item.author_name, NAME_LIMIT)}: {_quote(item.text, EXCERPT_LIMIT)}"
        ),
    }
    if item.permalink and item.permalink.startswith("https://"):
        section["accessory"] = {
            "type": "button",
            "action_id": ui_ids.OPEN_PERMALINK,
            "text": plain(f"View on {item.platform.display_name} ↗", 75),
            "url": item.permalink[:3000],
        }
    age = now - item.posted_at
    status = STATUS_WORDS.get(item.status, item.status)
    line = (
        f"{age_icon(age)} waiting *{describe_age(age)}* · {escape_mrkdwn(status)} · "
        f"suggested *{escape_mrkdwn(item.suggested_action.upper())}*"
        f"{_reason(item.reason_code, reason_labels)}"
    )
    return [section, _context(mrkdwn(line), plain(_where(item.platform, item.account_name)))]


def _request_block(
    request: OpenRequest, viewer_id: str, reason_labels: Mapping[str, str], now: datetime
) -> Block:
    what = REQUEST_WORDS.get(request.action, request.action.title())
    if request.action == "block" and mutes_instead(request.platform):
        what = "Mute"
    whom = NEEDS_WHOM.get(request.needs, request.needs)
    line = (
        f"*{escape_mrkdwn(what)}* asked by {mention(request.requested_by, request.requested_by)} "
        f"{describe_age(now - request.requested_at)} ago — needs {escape_mrkdwn(whom)}"
        f"{_reason(request.reason_code, reason_labels)}"
    )
    if request.requested_by == viewer_id:
        line += " · _you asked: someone else approves_"
    where = (
        f"{_where(request.platform, request.account_name)} · "
        f"{one_line(request.author_name, NAME_LIMIT)}"
    )
    return _context(mrkdwn(line), plain(where))


def _decision_block(
    decision: RecentDecision, reason_labels: Mapping[str, str], tz: tzinfo
) -> Block:
    word, icon = _decision_word(decision.action, decision.platform)
    line = f"{icon} *{word}* {when(decision.decided_at, tz)}"
    line += _reason(decision.reason_code, reason_labels)
    if decision.approved_by:
        line += f" · approved by {mention(decision.approved_by, decision.approved_by)}"
    if decision.outcome_status and decision.action != "approve":
        outcome = OUTCOME_WORDS.get(decision.outcome_status, decision.outcome_status)
        line += f" · {escape_mrkdwn(outcome)}"
    about = (
        f"{_where(decision.platform, decision.account_name)} · "
        f"{one_line(decision.author_name, NAME_LIMIT)}: "
        f"{_quote(decision.text, SHORT_EXCERPT_LIMIT)}"
    )
    return _context(mrkdwn(line), plain(about))


def stranger_home_view(council_name: str) -> dict[str, Any]:
    """What anyone outside SMAT sees on the Home tab: what this is, and whom to ask."""
    return {
        "type": "home",
        "blocks": [
            _header("SMAT Bot"),
            {
                "type": "section",
                "text": mrkdwn(
                    f"SMAT Bot helps {escape_mrkdwn(one_line(council_name, 200))}'s Social Media "
                    "Administration Team moderate public comments on the council's accounts.\n"
                    "Only SMAT members can see the queue here. If you should be in SMAT, "
                    "*ask the Town Clerk*."
                ),
            },
        ],
    }


def unavailable_home_view() -> dict[str, Any]:
    """The Home tab when the records could not be read just now."""
    return {
        "type": "home",
        "blocks": [
            _header("SMAT Bot"),
            {
                "type": "section",
                "text": mrkdwn(
                    ":warning: The records could not be read just now. Open this tab again in a "
                    "minute; if it keeps happening, tell whoever looks after SMAT Bot."
                ),
            },
        ],
    }


# --- authors ------------------------------------------------------------------------------------


def author_message(
    search: AuthorSearch, reason_labels: Mapping[str, str], tz: tzinfo
) -> SlackMessage:
    """The answer to ``/smat author TEXT``: each author's history on each account."""
    searched = plain(f"Searched for: {one_line(search.text, NAME_LIMIT)}")
    if not search.authors:
        text = "No commenter's name contains that text."
        return SlackMessage(
            text,
            [
                {"type": "section", "text": mrkdwn(f"{text} Try a shorter part of the name.")},
                _context(
                    searched,
                    mrkdwn("Names are searched as they appear on the platform, in any case."),
                ),
            ],
        )
    shown = len(search.authors)
    text = f"{counted(search.matched, 'commenter')} match"
    if search.matched > shown:
        text += f"; showing the {shown} closest. Add more of the name to narrow it down"
    text += "."
    blocks: list[Block] = [
        {"type": "section", "text": mrkdwn(f"*{escape_mrkdwn(text)}*")},
        _context(searched, mrkdwn("Hides and blocks count only while they stand.")),
    ]
    for author in search.authors:
        blocks += _author_blocks(author, reason_labels, tz)
    return SlackMessage(text, blocks[:MAX_MESSAGE_BLOCKS])


def _author_blocks(
    author: AuthorOverview, reason_labels: Mapping[str, str], tz: tzinfo
) -> list[Block]:
    blocks: list[Block] = [
        {"type": "divider"},
        {
            "type": "section",
            "text": plain(
                f"{one_line(author.display_name, NAME_LIMIT)} · {author.platform.display_name}"
            ),
        },
    ]
    accounts = author.accounts
    shown = (
        accounts if len(accounts) <= ACCOUNTS_PER_AUTHOR else accounts[: ACCOUNTS_PER_AUTHOR - 1]
    )
    elements: list[dict[str, Any]] = []
    for history in shown:
        elements.append(plain(f"{one_line(history.account_name, NAME_LIMIT)}:"))
        elements.append(mrkdwn(_history_line(history, author.platform, reason_labels, tz)))
    if len(shown) < len(accounts):
        elements.append(mrkdwn(f"…and {counted(len(accounts) - len(shown), 'more account')}"))
    if not elements:
        elements.append(mrkdwn("No comments on record."))
    blocks.append({"type": "context", "elements": elements})
    return blocks


def _history_line(
    history: AccountHistory, platform: Platform, reason_labels: Mapping[str, str], tz: tzinfo
) -> str:
    parts = [
        counted(history.comments, "comment") + f" (latest {when(history.last_comment_at, tz)})",
        counted(history.hides, "hide"),
        counted(history.warnings, "warning") + " (strikes)",
        counted(history.blocks, "mute" if mutes_instead(platform) else "block"),
    ]
    latest = _latest_line(history.latest_decision, platform, reason_labels, tz)
    parts.append(latest)
    return " · ".join(parts)


def _latest_line(
    latest: LatestDecision | None,
    platform: Platform,
    reason_labels: Mapping[str, str],
    tz: tzinfo,
) -> str:
    if latest is None:
        return "no decision yet"
    word, _ = _decision_word(latest.action, platform)
    who = mention(latest.actor_slack_id, one_line(latest.actor_name, NAME_LIMIT))
    return (
        f"latest: *{word}* by {who} {when(latest.decided_at, tz)}"
        f"{_reason(latest.reason_code, reason_labels)}"
    )


# --- accounts -----------------------------------------------------------------------------------


def accounts_message(statuses: Sequence[AccountStatus]) -> SlackMessage:
    """The answer to ``/smat accounts``: the account register and each account's status."""
    if not statuses:
        text = (
            "No accounts yet: whoever runs SMAT Bot adds them under `accounts:` in its "
            "configuration."
        )
        return SlackMessage(text, [{"type": "section", "text": mrkdwn(text)}])
    attention = sum(1 for status in statuses if status.status == "needs_attention")
    text = f"Council accounts ({len(statuses)})"
    if attention:
        text += f": {attention} need(s) attention"
    blocks: list[Block] = [{"type": "section", "text": mrkdwn(f"*{escape_mrkdwn(text)}*")}]
    for status in statuses[:ACCOUNTS_SHOWN]:
        blocks.append(_account_block(status))
    if len(statuses) > ACCOUNTS_SHOWN:
        blocks.append(
            _context(
                mrkdwn(
                    f"…and {len(statuses) - ACCOUNTS_SHOWN} more: `smat-bot accounts list` "
                    "shows them all."
                )
            )
        )
    return SlackMessage(text, blocks[:MAX_MESSAGE_BLOCKS])


def _account_block(status: AccountStatus) -> Block:
    icon = ACCOUNT_ICONS.get(status.status, ":white_circle:")
    elements: list[dict[str, Any]] = [
        mrkdwn(f"{icon} *{escape_mrkdwn(status.status.replace('_', ' '))}*"),
        plain(
            " · ".join(
                [
                    one_line(status.display_name, NAME_LIMIT),
                    _platform_name(status.platform),
                    f"{one_line(status.name, NAME_LIMIT)} (id {one_line(status.external_id, 100)})",
                    f"token {one_line(status.token_ref or '—', 100)}",
                ]
            )
        ),
    ]
    if status.status_detail:
        elements.append(plain(one_line(status.status_detail, 500)))
    if not status.configured:
        elements.append(mrkdwn("_not in the configuration; seen in an import_"))
    return _context(*elements)


def _platform_name(value: str) -> str:
    try:
        return Platform(value).display_name
    except ValueError:
        return one_line(value, 20)

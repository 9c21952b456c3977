"""``/smat hold``, ``/smat release``, ``/smat holds`` and ``/smat blocks``: records from Slack.

``hold`` and ``release`` are for the Town Clerk and the Deputy Clerk (the service checks the
role and refuses anyone else, logging the attempt); ``holds`` and ``blocks`` answer any SMAT
member. The text is parsed here into small typed commands; a problem with it is answered
with a message naming it, and nothing is changed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.container import Container
from bot.records_messages import (
    hold_released_text,
    hold_set_text,
    holds_text,
    register_message,
)
from bot.rendering import SlackMessage, escape_mrkdwn, mrkdwn
from bot.services.legal_holds import AUTHOR, COMMENT, HoldActor, HoldRefused
from bot.services.overview import member_who_may_view

WORDS = frozenset({"hold", "release", "holds", "blocks"})
"""The first words of the ``/smat`` commands handled here."""

NOT_A_MEMBER = "Sorry — only SMAT members can see this. Ask the Town Clerk if you need access."
HOLD_USAGE = "`/smat hold COMMENT REASON…` (or `/smat hold author COMMENT REASON…`)"
RELEASE_USAGE = "`/smat release COMMENT [REASON…]` (or `/smat release author COMMENT`)"
HELP_LINES = (
    "For the Clerk and the Deputy Clerk (legal holds):",
    "• `/smat hold COMMENT REASON…` — keep a comment out of the retention purge (COMMENT is "
    "SMAT Bot's comment number, the platform's comment id or its link); "
    "`/smat hold author COMMENT REASON…` holds everything by that comment's author",
    "• `/smat release COMMENT [REASON…]` — release it (`/smat release author COMMENT` for an "
    "author's hold); the hold's history is kept",
    "For every SMAT member:",
    "• `/smat holds` — the legal holds in force",
    "• `/smat blocks` — the blocked-author register; `/smat blocks due` — reviews that are due",
)

_LINK = re.compile(r"^<([^|>]+)(?:\|[^>]*)?>$")
_ECHO_LIMIT = 80


@dataclass(frozen=True)
class SetHold:
    """``/smat hold [author] COMMENT REASON…``."""

    scope: str
    target: str
    reason: str


@dataclass(frozen=True)
class ReleaseHold:
    """``/smat release [author] COMMENT [REASON…]``."""

    scope: str
    target: str
    reason: str | None


@dataclass(frozen=True)
class ListHolds:
    """``/smat holds``."""


@dataclass(frozen=True)
class ListBlocks:
    """``/smat blocks [due]``."""

    due_only: bool = False


@dataclass(frozen=True)
class RecordsProblem:
    """The text could not be used; ``message`` is escaped, ready to show."""

    message: str


RecordsCommand = SetHold | ReleaseHold | ListHolds | ListBlocks | RecordsProblem
RECORDS_TYPES = (SetHold, ReleaseHold, ListHolds, ListBlocks, RecordsProblem)


def parse_records_command(text: str) -> RecordsCommand:
    """Read ``/smat hold|release|holds|blocks …``; a RecordsProblem says what is wrong."""
    first, rest = _split(text)
    first = first.lower()
    if first in ("holds", "blocks"):
        words = rest.split()
        if first == "blocks" and [w.lower() for w in words] in (["due"], ["--due"]):
            return ListBlocks(due_only=True)
        if words:
            usage = "`/smat holds`" if first == "holds" else "`/smat blocks [due]`"
            return RecordsProblem(f"I didn't expect '{_echo(rest)}' there. Usage: {usage}.")
        return ListHolds() if first == "holds" else ListBlocks()
    scope = COMMENT
    word, after = _split(rest)
    if word.lower() == "author":
        scope = AUTHOR
        word, after = _split(after)
    usage = HOLD_USAGE if first == "hold" else RELEASE_USAGE
    if not word:
        return RecordsProblem(f"Please say which comment: {usage}.")
    target = _target(word)
    reason = _unescape(after).strip()
    if first == "hold":
        if not reason:
            return RecordsProblem(
                f"Please give the reason for the hold (the matter or case it is for): {usage}."
            )
        return SetHold(scope, target, reason)
    return ReleaseHold(scope, target, reason or None)


def answer_records_command(
    container: Container, user_id: str, command: RecordsCommand
) -> SlackMessage:
    """Carry out a parsed command for this Slack user and say what happened."""
    tz = container.settings.council.tz
    if isinstance(command, RecordsProblem):
        return _text(command.message)
    if isinstance(command, SetHold | ReleaseHold):
        try:
            if isinstance(command, SetHold):
                info = container.holds.set(
                    command.target, command.reason, HoldActor.slack(user_id), scope=command.scope
                )
                return _text(hold_set_text(info, tz))
            info = container.holds.release(
                command.target, HoldActor.slack(user_id), scope=command.scope, reason=command.reason
            )
            return _text(hold_released_text(info, tz))
        except HoldRefused as refusal:
            return _text(escape_mrkdwn(refusal.message))
    if member_who_may_view(container.members, user_id) is None:
        return _text(NOT_A_MEMBER)
    if isinstance(command, ListHolds):
        return _text(holds_text(container.holds.active(), tz))
    labels = {code: reason.label for code, reason in container.settings.policy.reason_codes.items()}
    entries = container.blocks.entries(due_only=command.due_only)
    return register_message(entries, labels, tz, container.clock(), due_only=command.due_only)


def _split(text: str) -> tuple[str, str]:
    parts = text.strip().split(None, 1)
    if not parts:
        return "", ""
    return parts[0], parts[1] if len(parts) > 1 else ""


def _target(word: str) -> str:
    """A comment reference as typed: Slack wraps links in ``<…>``."""
    link = _LINK.match(word)
    return _unescape(link.group(1) if link else word)


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _echo(text: str) -> str:
    text = _unescape(text)
    if len(text) > _ECHO_LIMIT:
        text = text[: _ECHO_LIMIT - 1] + "…"
    return escape_mrkdwn(text).replace("`", "'")


def _text(text: str) -> SlackMessage:
    return SlackMessage(text, [{"type": "section", "text": mrkdwn(text)}])

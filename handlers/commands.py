"""The ``/smat`` slash command: the queue, authors, accounts and SMAT membership, from Slack.

``/smat queue``, ``/smat author TEXT`` and ``/smat accounts`` answer any SMAT member (the viewer
role included); ``/smat members add @person ROLE``, ``/smat members remove @person``,
``/smat members list`` and ``/smat members review [ID]`` are for the Clerk and the Deputy;
``/smat help`` is for anyone. The listener acks at once (Slack allows three seconds), parses the
text into a small typed command, calls a service and answers the person privately through the
command's ``response_url``. A change made by the Deputy Clerk is also sent to the Clerk(s) by
DM — or to the escalation channel when no Clerk is enrolled.

Residents who comment are not Slack users, so an author is found by part of the name they
comment under (``/smat author kev``), never by an @-mention; what they wrote is shown as
``plain_text`` only (see bot/home.py).

The manifest sets ``should_escape: true``, so Slack sends a picked user as ``<@U123|name>``
and escapes ``&``, ``<`` and ``>`` in the rest of the text.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy.exc import SQLAlchemyError

from bot.container import Container
from bot.home import (
    NOT_A_MEMBER_TEXT,
    accounts_message,
    author_message,
    escalations_message,
    queue_message,
)
from bot.rendering import Block, SlackMessage, escape_mrkdwn
from bot.services.members import (
    ADD,
    REACTIVATE,
    REMOVE,
    ROLE_CHANGE,
    ROLES,
    MemberDirectory,
    MemberEventInfo,
    MemberRecord,
    MembershipChange,
    MembershipRefused,
)
from bot.services.overview import Overview, member_who_may_view
from handlers import records_commands
from handlers.replies import response_library
from handlers.responses import HELP_LINES as RESPONSES_HELP
from handlers.responses import (
    EditResponse,
    ListResponses,
    ResponseHistory,
    ResponsesCommand,
    ResponsesUsage,
    ShowResponse,
    answer_responses,
    parse_responses_command,
)

log = logging.getLogger(__name__)

COMMAND = "/smat"

_MENTION = re.compile(r"^<@([UW][A-Z0-9]{2,})(?:\|([^>]*))?>$")
_BARE_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_MENTION_ANYWHERE = re.compile(r"<[@!#]")
_WORD = re.compile(r"<[^>]*>|\S+")
"""A word, or a whole ``<...>`` mention (Slack escapes ``>`` inside it, so it cannot end early)."""
_ECHO_LIMIT = 80
AUTHOR_TEXT_MIN = 2
AUTHOR_TEXT_MAX = 100

HELP = "\n".join(
    [
        "*SMAT Bot — `/smat` commands*",
        "For every SMAT member:",
        "• `/smat queue` — how many comments wait (pending, awaiting approval, flagged and "
        "clean) and how long the oldest has waited",
        "• `/smat author NAME` — commenters whose name contains NAME (up to 10): on each "
        "account, their comments, hides, warnings (strikes), blocks and the latest decision",
        "• `/smat accounts` — the council's accounts and their status",
        "• `/smat escalations` — escalations still with the Town Clerk, and whether they "
        "have been acknowledged",
        "• SMAT Bot's *Home* tab — the queue, the comments waiting longest, removals awaiting "
        "approval and your own recent decisions",
        *RESPONSES_HELP,
        "For the Clerk and the Deputy Clerk:",
        "• `/smat members list` — who is in SMAT: each member's role, and when and by whom "
        "they were added",
        "• `/smat members add @person ROLE` — add someone to SMAT, or change their role",
        "• `/smat members remove @person` — revoke someone's access (their history is kept)",
        "• `/smat members review` — changes made by the Deputy Clerk that await the Clerk's "
        "review; `/smat members review ID` marks one as reviewed",
        "• `/smat help` — this help",
        *records_commands.HELP_LINES,
        "Roles: *clerk* and *deputy* (manage membership and decide), *smat* (decide on "
        "comments), *viewer* (see only).",
        "Only the Clerk and the Deputy Clerk can manage membership, and only a Clerk can appoint "
        "or remove a Clerk. Every change is logged; the Deputy's changes are flagged for the "
        "Clerk's review.",
    ]
)


# --------------------------------------------------------------------------- parsing


@dataclass(frozen=True)
class ShowQueue:
    """``/smat queue``."""


@dataclass(frozen=True)
class FindAuthor:
    """``/smat author TEXT``: commenters whose display name contains ``text``."""

    text: str


@dataclass(frozen=True)
class ShowAccounts:
    """``/smat accounts``."""


@dataclass(frozen=True)
class ShowEscalations:
    """``/smat escalations``."""


@dataclass(frozen=True)
class ShowHelp:
    """``/smat help``, or anything we did not understand (``problem`` says what)."""

    problem: str = ""


@dataclass(frozen=True)
class AddMember:
    """``/smat members add @person ROLE``."""

    target: str
    name: str
    role: str


@dataclass(frozen=True)
class RemoveMember:
    """``/smat members remove @person``."""

    target: str


@dataclass(frozen=True)
class ListMembers:
    """``/smat members list``."""


@dataclass(frozen=True)
class ReviewChanges:
    """``/smat members review`` (list) or ``/smat members review ID`` (mark reviewed)."""

    event_id: int | None = None


MemberCommand = AddMember | RemoveMember | ListMembers | ReviewChanges
OverviewCommand = ShowQueue | FindAuthor | ShowAccounts | ShowEscalations
SmatCommand = (
    ShowHelp | MemberCommand | OverviewCommand | ResponsesCommand | records_commands.RecordsCommand
)
_WORDS: dict[type[OverviewCommand], str] = {
    ShowQueue: "queue",
    FindAuthor: "author",
    ShowAccounts: "accounts",
    ShowEscalations: "escalations",
}


class CommandProblem(ValueError):
    """The command's text could not be used; ``message`` is escaped, ready to show."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def parse_smat_command(text: str) -> SmatCommand:
    """Read the text after ``/smat``; raise CommandProblem naming what is wrong with it."""
    words = _WORD.findall(text)
    if not words or words[0].lower() in ("help", "?"):
        return ShowHelp()
    first = words[0].lower()
    if first == "queue":
        _no_more(words[1:], 0, "/smat queue")
        return ShowQueue()
    if first == "accounts":
        if words[1:2] and words[1].lower() == "list":
            words = words[1:]
        _no_more(words[1:], 0, "/smat accounts")
        return ShowAccounts()
    if first in ("escalations", "escalation"):
        _no_more(words[1:], 0, "/smat escalations")
        return ShowEscalations()
    if first in ("author", "authors"):
        return FindAuthor(_author_text(text))
    if first in records_commands.WORDS:
        return records_commands.parse_records_command(text)
    if first == "history":
        raise CommandProblem(
            "Residents who comment are not Slack users, so they cannot be @-mentioned. "
            "Find them by part of the name they comment under: `/smat author NAME`."
        )
    if first in ("responses", "response"):
        try:
            return parse_responses_command(words[1:])
        except ResponsesUsage as problem:
            raise CommandProblem(problem.message) from None
    if first != "members":
        return ShowHelp(f"I don't know `/smat {_echo(words[0])}`.")
    if len(words) == 1:
        return ShowHelp()
    action, args = words[1].lower(), words[2:]
    if action == "list":
        _no_more(args, 0, "/smat members list")
        return ListMembers()
    if action == "add":
        if args[2:3] and args[1].lower() == "as":  # "add @jo as smat" reads naturally too
            args = [args[0], *args[2:]]
        if len(args) < 2:
            raise CommandProblem(
                "Please say who and which role: `/smat members add @person ROLE` "
                f"(ROLE is one of {', '.join(ROLES)})."
            )
        _no_more(args, 2, "/smat members add @person ROLE")
        target, name = parse_user(args[0])
        return AddMember(target, name, parse_role(args[1]))
    if action in ("remove", "revoke"):
        if not args:
            raise CommandProblem("Please say who: `/smat members remove @person`.")
        _no_more(args, 1, "/smat members remove @person")
        return RemoveMember(parse_user(args[0])[0])
    if action == "review":
        _no_more(args, 1, "/smat members review [ID]")
        if not args:
            return ReviewChanges()
        number = args[0].lstrip("#")
        if not number.isascii() or not number.isdigit() or int(number) <= 0:
            raise CommandProblem(
                f"'{_echo(args[0])}' is not a change number; `/smat members review` lists them."
            )
        return ReviewChanges(int(number))
    return ShowHelp(f"I don't know `/smat members {_echo(words[1])}`.")


def _author_text(text: str) -> str:
    """The search text after ``author``, as typed (Slack's escaping undone)."""
    parts = text.strip().split(None, 1)
    raw = parts[1].strip() if len(parts) > 1 else ""
    if _MENTION_ANYWHERE.search(raw):
        raise CommandProblem(
            "Residents who comment are not Slack users, so they cannot be @-mentioned. "
            "Type part of the name they comment under instead: `/smat author NAME`."
        )
    search = " ".join(_unescape(raw).split())  # a doubled space typed by accident
    if len(search) < AUTHOR_TEXT_MIN:
        raise CommandProblem(
            "Please give at least two letters of the commenter's name: `/smat author NAME`."
        )
    if len(search) > AUTHOR_TEXT_MAX:
        raise CommandProblem(
            f"That is longer than any name I search for ({AUTHOR_TEXT_MAX} characters at most)."
        )
    return search


def parse_user(word: str) -> tuple[str, str]:
    """A Slack user id (and the name Slack sent with it) from ``<@U123|name>`` or ``U123``."""
    mention = _MENTION.match(word)
    if mention:
        return mention.group(1), _unescape(mention.group(2) or "")
    if _BARE_ID.match(word):
        return word, ""
    if word.startswith("<#"):
        raise CommandProblem(
            f"'{_echo(word)}' is a channel, not a person. Mention one person with @."
        )
    if word.startswith("<!"):
        raise CommandProblem(
            f"'{_echo(word)}' is a group or special mention, not a person. "
            "Add people one at a time, mentioning each with @."
        )
    raise CommandProblem(
        f"I couldn't tell who '{_echo(word)}' is. Type @ and pick the person from Slack's list "
        "(or give their member ID, like U012AB3CD, from their profile → ⋮ → Copy member ID)."
    )


def parse_role(word: str) -> str:
    """One of the SMAT roles, case-insensitively."""
    role = word.lower()
    if role not in ROLES:
        raise CommandProblem(
            f"'{_echo(word)}' is not a SMAT role. The roles are: {', '.join(ROLES)}."
        )
    return role


def _no_more(args: list[str], allowed: int, usage: str) -> None:
    if len(args) > allowed:
        extra = " ".join(args[allowed:])
        raise CommandProblem(f"I didn't expect '{_echo(extra)}' there. Usage: `{usage}`.")


def _unescape(text: str) -> str:
    """Undo Slack's escaping of the command text (``&`` last)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _echo(text: str) -> str:
    """Untrusted text from the command, made safe and short to quote back."""
    text = _unescape(text)
    if len(text) > _ECHO_LIMIT:
        text = text[: _ECHO_LIMIT - 1] + "…"
    return escape_mrkdwn(text).replace("`", "'")


# --------------------------------------------------------------------------- listener


def register(app: App, container: Container) -> None:
    """Attach the ``/smat`` command listener to the Bolt app."""
    members = container.members
    settings = container.settings
    overview = Overview(container.sessions)
    escalation_channel = settings.slack.channels.escalation
    tz = settings.council.tz
    reason_labels = {code: reason.label for code, reason in settings.policy.reason_codes.items()}
    library = response_library(container)

    def answer_overview(user_id: str, parsed: OverviewCommand) -> SlackMessage:
        if member_who_may_view(members, user_id) is None:
            log.warning("refused /smat %s to %s: not a SMAT member", _WORDS[type(parsed)], user_id)
            return SlackMessage(NOT_A_MEMBER_TEXT, [])
        if isinstance(parsed, ShowQueue):
            return queue_message(overview.queue(), tz, container.clock())
        if isinstance(parsed, FindAuthor):
            return author_message(overview.find_authors(parsed.text), reason_labels, tz)
        if isinstance(parsed, ShowEscalations):
            return escalations_message(
                overview.open_escalations(20), overview.queue().open_escalations, container.clock()
            )
        configured = {account.name for account in settings.accounts}
        return accounts_message(container.accounts.statuses(configured))

    @app.command(COMMAND)
    def smat(ack: Ack, command: dict[str, Any], respond: Respond, client: WebClient) -> None:
        ack()  # within Slack's 3 seconds, before any database work
        user_id = command.get("user_id")
        if not isinstance(user_id, str) or not user_id:
            log.warning("ignored a /smat command without a user id")
            return
        try:
            parsed = parse_smat_command(str(command.get("text") or ""))
        except CommandProblem as problem:
            _answer(respond, problem.message)
            return
        if isinstance(parsed, ListResponses | ShowResponse | ResponseHistory | EditResponse):
            try:
                answer = answer_responses(
                    parsed,
                    user_id=user_id,
                    trigger_id=command.get("trigger_id"),
                    library=library,
                    members=members,
                    client=client,
                    tz=tz,
                )
            except SQLAlchemyError:
                log.exception("/smat responses could not read or save the library")
                answer = "Sorry — something went wrong and nothing was changed. Please try again."
            if answer:
                _answer(respond, answer)
            return
        if isinstance(parsed, records_commands.RECORDS_TYPES):
            try:
                message = records_commands.answer_records_command(container, user_id, parsed)
            except SQLAlchemyError:
                log.exception("/smat %s failed on the database", type(parsed).__name__)
                message = SlackMessage(
                    "Sorry — something went wrong and nothing was changed. Please try again in "
                    "a minute; if it keeps happening, tell whoever looks after SMAT Bot.",
                    [],
                )
            _answer(respond, message.text, message.blocks)
            return
        if isinstance(parsed, ShowQueue | FindAuthor | ShowAccounts | ShowEscalations):
            try:
                message = answer_overview(user_id, parsed)
            except SQLAlchemyError:
                log.exception("/smat could not read the records")
                message = SlackMessage(
                    "Sorry — something went wrong reading the records. Please try again in a "
                    "minute; if it keeps happening, tell whoever looks after SMAT Bot.",
                    [],
                )
            _answer(respond, message.text, message.blocks)
            return
        change: MembershipChange | None = None
        try:
            if isinstance(parsed, ShowHelp):
                text = f"{parsed.problem}\n\n{HELP}" if parsed.problem else HELP
            elif isinstance(parsed, ListMembers):
                records = members.list(user_id)  # refuses anyone who may not manage members
                text = render_member_list(records, len(members.events_needing_review()), tz)
            elif isinstance(parsed, ReviewChanges):
                text = _review(members, user_id, parsed.event_id, tz)
            else:
                if isinstance(parsed, AddMember):
                    change = members.add(user_id, parsed.target, parsed.role, parsed.name)
                else:
                    change = members.remove(user_id, parsed.target)
                text = render_change(change)
        except MembershipRefused as refusal:
            text = refusal.message
        except SQLAlchemyError:
            log.exception("/smat failed on the database; nothing was changed")
            text = (
                "Sorry — something went wrong and nothing was changed. Please try again in a "
                "minute; if it keeps happening, tell whoever looks after SMAT Bot."
            )
        _answer(respond, text)
        if change is not None and change.needs_clerk_review:
            notify_clerks(client, members.clerk_ids(), change, escalation_channel)


def _answer(respond: Respond, text: str, blocks: list[Block] | None = None) -> None:
    try:
        respond(
            text=text,
            blocks=blocks or None,
            response_type="ephemeral",
            unfurl_links=False,
            unfurl_media=False,
        )
    except (SlackClientError, OSError) as exc:
        log.warning("could not answer a /smat command: %s", type(exc).__name__)


def _review(members: MemberDirectory, user_id: str, event_id: int | None, tz: tzinfo) -> str:
    if event_id is not None:
        event = members.mark_reviewed(user_id, event_id)
        return f"Marked change {event.id} ({_describe_event(event)}) as reviewed. Thank you."
    events = members.events_needing_review(user_id)
    if not events:
        return "No membership changes are waiting for the Clerk's review."
    lines = [f"*Membership changes by the Deputy Clerk awaiting review ({len(events)})*"]
    lines += [
        f"• *{event.id}* · {_when(event.changed_at, tz)} — {_describe_event(event)}"
        for event in events
    ]
    lines.append("Mark one as reviewed with `/smat members review ID` (the Clerk only).")
    return "\n".join(lines)


# --------------------------------------------------------------------------- rendering


def render_member_list(records: list[MemberRecord], waiting_review: int, tz: tzinfo) -> str:
    """The membership list: each member's role, and when and by whom they were added."""
    if not records:
        return "SMAT has no members yet."
    lines = [f"*SMAT members ({len(records)})*"]
    for record in records:
        name = f" ({escape_mrkdwn(record.display_name)})" if record.display_name else ""
        by = (
            "from the configuration"
            if record.added_by == "config"
            else f"by {_mention(record.added_by)}"
        )
        lines.append(
            f"• {_mention(record.slack_user_id)}{name} — *{record.role}* · "
            f"added {_when(record.added_at, tz)} {by}"
        )
    if waiting_review:
        lines.append(
            f"_{waiting_review} change(s) by the Deputy Clerk await the Clerk's review: "
            "`/smat members review`._"
        )
    return "\n".join(lines)


def render_change(change: MembershipChange) -> str:
    """What the person who made a change is told."""
    who = _mention(change.target_slack_id)
    if change.change == ADD:
        text = f"Added {who} to SMAT as *{change.role}*."
    elif change.change == REACTIVATE:
        text = f"Re-added {who} to SMAT as *{change.role}*."
    elif change.change == ROLE_CHANGE:
        text = f"{who} is now *{change.role}* (was {change.previous_role})."
    else:
        text = f"Removed {who} from SMAT (was {change.previous_role}); their record is kept."
    text += f" Logged as change {change.event_id}."
    if change.needs_clerk_review:
        text += " As you are the Deputy Clerk, the Clerk has been asked to review it."
    return text


def render_review_request(change: MembershipChange, *, preface: str = "") -> str:
    """The message asking the Clerk to review a change the Deputy made."""
    who = _mention(change.target_slack_id)
    if change.target_name:
        who += f" ({escape_mrkdwn(change.target_name)})"
    if change.change == ADD:
        what = f"added {who} as *{change.role}*"
    elif change.change == REACTIVATE:
        what = f"re-added {who} as *{change.role}*"
    elif change.change == ROLE_CHANGE:
        what = f"changed {who} from {change.previous_role} to *{change.role}*"
    else:
        what = f"removed {who} (was {change.previous_role})"
    text = (
        f":eyes: Deputy {_mention(change.actor_slack_id)} {what} — please review. "
        f"When you have, `/smat members review {change.event_id}`."
    )
    return f"{preface} {text}" if preface else text


def notify_clerks(
    client: WebClient, clerk_ids: list[str], change: MembershipChange, escalation_channel: str
) -> None:
    """DM each Clerk about the Deputy's change; with no Clerk reachable, post to escalation."""
    text = render_review_request(change)
    reached = 0
    for clerk in clerk_ids:
        try:
            opened = client.conversations_open(users=clerk)
            channel = opened["channel"]["id"]
            client.chat_postMessage(
                channel=channel, text=text, unfurl_links=False, unfurl_media=False
            )
            reached += 1
        except (SlackClientError, OSError, KeyError, TypeError) as exc:
            log.warning(
                "could not DM Clerk %s about membership change %d: %s",
                clerk,
                change.event_id,
                _slack_error(exc),
            )
    if reached:
        return
    try:
        client.chat_postMessage(
            channel=escalation_channel,
            text=render_review_request(
                change,
                preface=(
                    "The Clerk could not be reached by DM, so this is posted here."
                    if clerk_ids
                    else "No Clerk is enrolled in SMAT, so this is posted here."
                ),
            ),
            unfurl_links=False,
            unfurl_media=False,
        )
    except (SlackClientError, OSError) as exc:
        log.error(
            "could not tell anyone about membership change %d (flagged for review): %s",
            change.event_id,
            _slack_error(exc),
        )


def _describe_event(event: MemberEventInfo) -> str:
    who = _mention(event.slack_user_id)
    by = f"{_mention(event.changed_by)} ({event.changed_by_role})"
    if event.change == ADD:
        return f"{by} added {who} as {event.role}"
    if event.change == REACTIVATE:
        return f"{by} re-added {who} as {event.role}"
    if event.change == ROLE_CHANGE:
        return f"{by} changed {who}'s role to {event.role}"
    if event.change == REMOVE:
        return f"{by} removed {who}"
    return f"{by}: {escape_mrkdwn(event.change)} {who}"


def _mention(slack_user_id: str) -> str:
    if _BARE_ID.match(slack_user_id):
        return f"<@{slack_user_id}>"
    return escape_mrkdwn(slack_user_id)


def _when(moment: datetime, tz: tzinfo) -> str:
    local = moment.astimezone(tz)
    return f"{local.day} {local:%b %Y %H:%M}"


def _slack_error(exc: Exception) -> str:
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error"))
    return type(exc).__name__

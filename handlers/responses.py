"""``/smat responses``: the library of standard replies, seen and edited from Slack.

Any SMAT member can list the responses, read one and see its history; the Clerk and the Deputy
Clerk (the ``edit_responses`` permission) add and edit them in a form. Every save is a new
version with who and when; nothing is overwritten.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import tzinfo

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.home import NOT_A_MEMBER_TEXT
from bot.rendering import escape_mrkdwn
from bot.reply_modal import response_modal
from bot.services.canned_responses import (
    KEY_PATTERN,
    ResponseLibrary,
    ResponseRefused,
    ResponseVersion,
)
from bot.services.members import MemberDirectory
from bot.services.overview import member_who_may_view

log = logging.getLogger(__name__)

HELP_LINES = (
    "• `/smat responses` — the council's standard replies; `/smat responses show NAME` reads "
    "one, `/smat responses history NAME` lists its versions",
    "• `/smat responses edit NAME` / `/smat responses add` — change or add a standard reply "
    "(the Clerk and the Deputy Clerk; every save is a new version)",
)
USAGE = (
    "Usage: `/smat responses`, `/smat responses show NAME`, `/smat responses history NAME`, "
    "`/smat responses edit NAME` or `/smat responses add`."
)
PREVIEW = 160
_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


class ResponsesUsage(ValueError):
    """The ``/smat responses`` text could not be used; ``message`` is safe to show."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class ListResponses:
    """``/smat responses``."""


@dataclass(frozen=True)
class ShowResponse:
    """``/smat responses show NAME``."""

    key: str


@dataclass(frozen=True)
class ResponseHistory:
    """``/smat responses history NAME``."""

    key: str


@dataclass(frozen=True)
class EditResponse:
    """``/smat responses edit NAME`` (``key`` None: ``add`` a new one)."""

    key: str | None


ResponsesCommand = ListResponses | ShowResponse | ResponseHistory | EditResponse


def parse_responses_command(words: list[str]) -> ResponsesCommand:
    """Read the words after ``/smat responses``; raise ResponsesUsage saying what is wrong."""
    if not words or words[0].lower() == "list":
        if len(words) > 1:
            raise ResponsesUsage(USAGE)
        return ListResponses()
    action = words[0].lower()
    if action in ("add", "new"):
        if len(words) > 1:
            raise ResponsesUsage("`/smat responses add` takes no name: the form asks for one.")
        return EditResponse(None)
    if action not in ("show", "history", "edit"):
        raise ResponsesUsage(USAGE)
    if len(words) != 2:
        raise ResponsesUsage(f"Please name one response: `/smat responses {action} NAME`.")
    key = words[1].lower()
    if not KEY_PATTERN.match(key):
        raise ResponsesUsage(
            f"'{escape_mrkdwn(words[1][:60])}' is not a response name; `/smat responses` "
            "lists them."
        )
    if action == "show":
        return ShowResponse(key)
    if action == "history":
        return ResponseHistory(key)
    return EditResponse(key)


def answer_responses(
    parsed: ResponsesCommand,
    *,
    user_id: str,
    trigger_id: str | None,
    library: ResponseLibrary,
    members: MemberDirectory,
    client: WebClient,
    tz: tzinfo,
) -> str | None:
    """Carry out a ``/smat responses`` command; the text to answer with (None: a form opened)."""
    if isinstance(parsed, EditResponse):
        try:
            library.require_editor(user_id)
        except ResponseRefused as refusal:
            return refusal.message
        current = None
        if parsed.key is not None:
            current = library.get(parsed.key)
            if current is None:
                return (
                    f"There is no standard response called `{parsed.key}`. "
                    "`/smat responses` lists them; `/smat responses add` adds one."
                )
        if not trigger_id:
            return "The form could not be opened (Slack sent no trigger). Please try again."
        try:
            client.views_open(
                trigger_id=trigger_id,
                view=response_modal(current, sorted(library.known_variables)),
            )
        except (SlackApiError, SlackClientError) as exc:
            log.warning("could not open the response editor for %s: %s", user_id, exc)
            return "The form could not be opened in time. Please run the command again."
        return None
    if member_who_may_view(members, user_id) is None:
        return NOT_A_MEMBER_TEXT
    if isinstance(parsed, ListResponses):
        return render_list(library.latest(), tz)
    if isinstance(parsed, ShowResponse):
        found = library.get(parsed.key)
        if found is None:
            return f"There is no standard response called `{parsed.key}`."
        return render_one(found, tz)
    versions = library.history(parsed.key)
    if not versions:
        return f"There is no standard response called `{parsed.key}`."
    return render_history(versions, tz)


def render_list(responses: list[ResponseVersion], tz: tzinfo) -> str:
    """Every standard response: name, title, version, and who changed it last."""
    if not responses:
        return "There are no standard responses yet. The Clerk can add one: `/smat responses add`."
    lines = [f"*Standard responses ({len(responses)})*"]
    for response in responses:
        lines.append(
            f"• `{response.key}` — {escape_mrkdwn(response.title)} · version {response.version}, "
            f"{_by(response, tz)}"
        )
    lines.append(
        "Read one with `/smat responses show NAME`. Use them from any card's *Reply…* button."
    )
    return "\n".join(lines)


def render_one(response: ResponseVersion, tz: tzinfo) -> str:
    """One response in full (as written, placeholders and all)."""
    body = escape_mrkdwn(response.body).replace("\n", "\n>")
    return (
        f"*{escape_mrkdwn(response.title)}* (`{response.key}`, version {response.version}, "
        f"{_by(response, tz)})\n>{body}"
    )


def render_history(versions: list[ResponseVersion], tz: tzinfo) -> str:
    """Every version of a response, newest first, with who saved it and when."""
    lines = [f"*History of `{versions[0].key}`* ({len(versions)} versions, newest first)"]
    for version in versions:
        body = version.body if len(version.body) <= PREVIEW else version.body[: PREVIEW - 1] + "…"
        lines.append(
            f"• *Version {version.version}* · {_by(version, tz)} — "
            f"{escape_mrkdwn(version.title)}: _{escape_mrkdwn(body)}_"
        )
    return "\n".join(lines)


def _by(response: ResponseVersion, tz: tzinfo) -> str:
    local = response.created_at.astimezone(tz)
    when = f"{local.day} {local:%b %Y %H:%M}"
    if response.created_by == "config":
        return f"from the configuration, {when}"
    who = (
        f"<@{response.created_by}>"
        if _ID.match(response.created_by)
        else escape_mrkdwn(response.created_by)
    )
    return f"by {who}, {when}"

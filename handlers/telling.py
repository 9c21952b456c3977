"""Answering one person privately, including when their click or form could not be read.

Replies are ephemeral in the card's channel, or a DM when that is not possible; they contain
only our own wording. A malformed payload may still say plainly who sent it, so that person
hears that nothing was changed instead of seeing nothing happen.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from handlers.payloads import PayloadError, submitter

log = logging.getLogger(__name__)

UNREADABLE_BUTTON = (
    "Sorry, that button could not be read, so nothing was changed. "
    "Please use the buttons on the card as it is now."
)
UNREADABLE_FORM = (
    "Sorry, that form could not be read, so nothing was changed. "
    "Please use the buttons on the card again."
)
MODAL_NOT_OPENED = "The form could not be opened in time. Please click the button again."


def tell(client: WebClient, user_id: str, channel_id: str | None, text: str) -> None:
    """Tell one person something privately: ephemerally in the channel, else by DM."""
    if channel_id:
        try:
            client.chat_postEphemeral(channel=channel_id, user=user_id, text=text)
            return
        except (SlackApiError, SlackClientError) as exc:
            # Not in the channel, the channel gone, or a forged channel id: a DM still works.
            log.info(
                "ephemeral reply to %s in %r failed (%s); sending a DM",
                user_id,
                channel_id[:40],
                exc,
            )
    try:
        opened = client.conversations_open(users=user_id)
        dm = opened["channel"]["id"]
        client.chat_postMessage(channel=dm, text=text, unfurl_links=False, unfurl_media=False)
    except (SlackApiError, SlackClientError, KeyError, TypeError) as exc:
        log.warning("could not tell %s %r: %s", user_id, text, exc)


def refuse_unreadable_click(
    client: WebClient, body: Mapping[str, Any], what: str, exc: PayloadError
) -> None:
    """Log a malformed button click and, when it says who (and where), tell the clicker."""
    log.warning("ignored a malformed %s: %s", what, exc)
    user_id = submitter(body)
    if user_id:
        container = body.get("container")
        channel_id = container.get("channel_id") if isinstance(container, Mapping) else None
        tell(
            client, user_id, channel_id if isinstance(channel_id, str) else None, UNREADABLE_BUTTON
        )


def refuse_unreadable_form(
    client: WebClient, body: Mapping[str, Any], what: str, exc: PayloadError
) -> None:
    """Log a malformed form submission and, when it says who sent it, tell them by DM."""
    log.warning("ignored a malformed %s: %s", what, exc)
    user_id = submitter(body)
    if user_id:
        tell(client, user_id, None, UNREADABLE_FORM)

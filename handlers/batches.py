"""Listeners for batch cards: Approve all and Review separately.

Both ack first, parse the click into our own types (the value is untrusted), check the
clicker's role in the service, and tell the clicker privately when something was refused or
skipped. The batch card itself is brought up to date by the service.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot import ui_ids
from bot.services.batch_review import BatchReview
from bot.services.review import Refused
from handlers.payloads import PayloadError, parse_batch_click
from handlers.views import tell

if TYPE_CHECKING:
    from bot.container import Container

log = logging.getLogger(__name__)

UNREADABLE = (
    "Sorry, that button could not be read, so nothing was changed. "
    "Please use the buttons on the card as it is now."
)


def register(app: App, container: Container) -> None:
    """Attach the batch card listeners to the Bolt app."""
    batches = BatchReview(
        container.sessions, container.members, container.review, container.outbox, container.clock
    )

    @app.action(ui_ids.BATCH_APPROVE_ALL)
    def approve_all(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()  # within Slack's 3 seconds; ten decisions follow
        try:
            click = parse_batch_click(body)
        except PayloadError as exc:
            _unreadable(client, body, exc)
            return
        try:
            outcome = batches.approve_all(click.batch_id, click.items, click.user_id)
        except Refused as refusal:
            tell(client, click.user_id, click.channel_id, refusal.message)
            return
        summary = outcome.summary()
        if summary:
            tell(client, click.user_id, click.channel_id, summary)

    @app.action(ui_ids.BATCH_SEPARATE)
    def separate(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        try:
            click = parse_batch_click(body)
        except PayloadError as exc:
            _unreadable(client, body, exc)
            return
        if click.review_item_id is None:  # parse_batch_click guarantees it; be explicit
            return
        try:
            batches.separate(click.batch_id, click.review_item_id, click.user_id)
        except Refused as refusal:
            tell(client, click.user_id, click.channel_id, refusal.message)


def _unreadable(client: WebClient, body: dict[str, Any], exc: PayloadError) -> None:
    """Log a malformed click and, when it says who, tell the clicker privately."""
    log.warning("ignored a malformed batch card click: %s", exc)
    user = body.get("user")
    container = body.get("container")
    user_id = user.get("id") if isinstance(user, dict) else None
    channel_id = container.get("channel_id") if isinstance(container, dict) else None
    if isinstance(user_id, str) and user_id:
        tell(client, user_id, channel_id if isinstance(channel_id, str) else None, UNREADABLE)

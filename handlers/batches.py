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
from handlers.telling import refuse_unreadable_click, tell

if TYPE_CHECKING:
    from bot.container import Container

log = logging.getLogger(__name__)


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
            refuse_unreadable_click(client, body, "batch card click", exc)
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
            refuse_unreadable_click(client, body, "batch card click", exc)
            return
        if click.review_item_id is None:  # parse_batch_click guarantees it; be explicit
            return
        try:
            batches.separate(click.batch_id, click.review_item_id, click.user_id)
        except Refused as refusal:
            tell(client, click.user_id, click.channel_id, refusal.message)

"""Listeners for the triage card's buttons: ack, parse, call a service, tell the clicker."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.rendering import ACTION_APPROVE
from bot.services.review import Action, DecisionRequest, Refused
from bot.services.triage import TriageDesk
from handlers.payloads import PayloadError, parse_button_click

log = logging.getLogger(__name__)


def register(app: App, desk: TriageDesk) -> None:
    """Attach the card button listeners to the Bolt app."""

    @app.action(ACTION_APPROVE)
    def approve(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()  # within Slack's 3 seconds, before any database or platform work
        try:
            click = parse_button_click(body)
        except PayloadError as exc:
            log.warning("ignored a malformed approve click: %s", exc)
            return
        request = DecisionRequest(
            review_item_id=click.review_item_id,
            expected_version=click.review_version,
            action=Action.APPROVE,
            actor_slack_id=click.user_id,
        )
        try:
            desk.decide(request)
        except Refused as refusal:
            client.chat_postEphemeral(
                channel=click.channel_id, user=click.user_id, text=refusal.message
            )

    @app.action("smat_open_permalink")
    def open_permalink(ack: Ack) -> None:
        ack()  # a link button: Slack opens the URL itself, but still expects an ack

"""Listeners for the triage card's buttons: ack, parse, call a service, tell the clicker.

Approve and Undo decide at once. Hide…, Delete…, Block… and Warn… open a modal (the form's
submission is handled in ``handlers.views``): the clicker's role is checked first, so a
non-member is told no and nothing opens, and ``views.open`` is called straight away because
Slack's trigger_id lasts three seconds. Approve removal and Decline resolve a removal request.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot import modals, ui_ids
from bot.cards import TriageCard
from bot.services.review import Action, DecisionRequest, Refused
from bot.services.triage import DecisionForms, TriageDesk
from handlers import views
from handlers.payloads import (
    PayloadError,
    parse_button_click,
    parse_modal_button,
    parse_request_click,
)
from handlers.telling import MODAL_NOT_OPENED, refuse_unreadable_click, tell

if TYPE_CHECKING:
    from bot.container import Container

log = logging.getLogger(__name__)

ModalBuilder = Callable[[TriageCard, str, str], dict[str, Any]]
"""Builds a modal for a card whose message is at (channel, ts)."""

MODAL_BUTTON_ACTIONS = {
    ui_ids.HIDE: Action.HIDE,
    ui_ids.DELETE: Action.DELETE,
    ui_ids.BLOCK: Action.BLOCK,
    ui_ids.WARN: Action.WARN,
}


def register(app: App, container: Container) -> None:
    """Attach the card button and decision modal listeners to the Bolt app."""
    desk: TriageDesk = container.desk
    forms = DecisionForms(container.sessions, container.members, container.settings)
    reason_codes = container.settings.policy.reason_codes

    builders: dict[str, ModalBuilder] = {
        ui_ids.HIDE: lambda card, channel, ts: modals.hide_modal(
            card, reason_codes=reason_codes, channel=channel, ts=ts
        ),
        ui_ids.DELETE: lambda card, channel, ts: modals.delete_modal(
            card, reason_codes=reason_codes, channel=channel, ts=ts
        ),
        ui_ids.BLOCK: lambda card, channel, ts: modals.block_modal(
            card, reason_codes=reason_codes, channel=channel, ts=ts
        ),
        ui_ids.WARN: lambda card, channel, ts: modals.warn_modal(
            card,
            reason_codes=reason_codes,
            channel=channel,
            ts=ts,
            warning_preview=forms.warning_preview(card),
        ),
    }

    @app.action(ui_ids.APPROVE)
    def approve(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()  # within Slack's 3 seconds, before any database or platform work
        try:
            click = parse_button_click(body)
        except PayloadError as exc:
            refuse_unreadable_click(client, body, "approve click", exc)
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
            tell(client, click.user_id, click.channel_id, refusal.message)

    def open_modal(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        try:
            press = parse_modal_button(body)
        except PayloadError as exc:
            refuse_unreadable_click(client, body, "modal button click", exc)
            return
        click = press.click
        action = MODAL_BUTTON_ACTIONS.get(click.action_id)
        build = builders.get(click.action_id)
        if action is None or build is None:
            log.warning("ignored a click on unknown button %r", click.action_id[:60])
            return
        try:
            # The role check comes first: a non-member sees a refusal and no form opens.
            card = forms.card_for(click.review_item_id, click.review_version, action, click.user_id)
            view = build(card, click.channel_id, click.message_ts)
        except Refused as refusal:
            tell(client, click.user_id, click.channel_id, refusal.message)
            return
        try:
            client.views_open(trigger_id=press.trigger_id, view=view)
        except (SlackApiError, SlackClientError) as exc:
            # Most often expired_trigger_id: more than three seconds passed since the click.
            log.warning("could not open the %s modal for %s: %s", action, click.user_id, exc)
            tell(client, click.user_id, click.channel_id, MODAL_NOT_OPENED)

    for action_id in MODAL_BUTTON_ACTIONS:
        app.action(action_id)(open_modal)

    @app.action(ui_ids.UNDO)
    def undo(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        try:
            click = parse_button_click(body)
        except PayloadError as exc:
            refuse_unreadable_click(client, body, "undo click", exc)
            return
        try:
            forms.require_decider(click.user_id, "undo", click.review_item_id)
            action = forms.undo_action(click.review_item_id)
            desk.decide(
                DecisionRequest(
                    review_item_id=click.review_item_id,
                    expected_version=click.review_version,
                    action=action,
                    actor_slack_id=click.user_id,
                )
            )
        except Refused as refusal:
            tell(client, click.user_id, click.channel_id, refusal.message)

    def resolve(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        try:
            click = parse_request_click(body)
        except PayloadError as exc:
            refuse_unreadable_click(client, body, "removal request click", exc)
            return
        approve = click.action_id == ui_ids.APPROVE_REMOVAL
        try:
            desk.resolve(click.request_id, click.user_id, approve=approve)
        except Refused as refusal:
            tell(client, click.user_id, click.channel_id, refusal.message)

    app.action(ui_ids.APPROVE_REMOVAL)(resolve)
    app.action(ui_ids.DECLINE_REMOVAL)(resolve)

    @app.action(ui_ids.OPEN_PERMALINK)
    def open_permalink(ack: Ack) -> None:
        ack()  # a link button: Slack opens the URL itself, but still expects an ack

    views.register(app, desk, forms)

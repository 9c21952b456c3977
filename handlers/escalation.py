"""Listeners for escalations: Escalate… on the triage card, and the Clerk's buttons and form.

Escalate… checks the clicker may decide before the form opens; its submission is checked again
by the service. The Clerk's buttons (Acknowledge, Uphold…, Overrule…, Hide and refer to
police…, Report to the platform…) work in the Clerk's DM, the escalation channel and on
reminders; each checks the clicker is the Clerk or the Deputy Clerk, on the click and again on
the form's submission. Everyone else is told no privately, and the attempt is logged.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot import ui_ids
from bot.escalation_modals import OUTCOME_BUTTONS, escalate_modal, outcome_modal
from bot.escalation_words import OUTCOMES
from bot.services.escalation import Escalated, EscalationRequest, OutcomeRequest
from bot.services.escalation_desk import EscalationDesk
from bot.services.review import Action, Refused
from bot.services.triage import DecisionForms
from handlers.escalation_payloads import (
    parse_escalate_submission,
    parse_escalation_click,
    parse_outcome_submission,
)
from handlers.payloads import PayloadError, parse_modal_button
from handlers.telling import (
    MODAL_NOT_OPENED,
    refuse_unreadable_click,
    refuse_unreadable_form,
    tell,
)

if TYPE_CHECKING:
    from bot.container import Container

log = logging.getLogger(__name__)

OUTCOME_DONE = {
    "upheld": "Upheld. The comment is hidden (or stays hidden); the escalation is closed.",
    "overruled": "Overruled. The comment stays up; the escalation is closed.",
    "hidden_referred_police": (
        "Recorded: hidden and referred to the police. The preserved original is on legal hold."
    ),
    "reported_to_platform": "Recorded: reported to the platform. The escalation is closed.",
}


def register(app: App, container: Container) -> None:
    """Attach the Escalate… and Clerk listeners to the Bolt app."""
    desk = EscalationDesk(container.escalations(), container.outbox)
    forms = DecisionForms(container.sessions, container.members, container.settings)
    settings = container.settings
    tz = settings.council.tz

    @app.action(ui_ids.ESCALATE)
    def open_escalate(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        try:
            press = parse_modal_button(body)
        except PayloadError as exc:
            refuse_unreadable_click(client, body, "escalate click", exc)
            return
        click = press.click
        try:
            # The role check comes first: a non-member sees a refusal and no form opens.
            card = forms.card_for(
                click.review_item_id, click.review_version, Action.ESCALATE, click.user_id
            )
            already = desk.service.open_escalation_of(card.review_item_id)
            if already is not None:
                raise Refused(
                    "This comment is already with the Town Clerk; the card shows where it stands.",
                    code="already_escalated",
                )
            view = escalate_modal(
                card,
                settings=settings.escalation,
                reason_codes=settings.policy.reason_codes,
                channel=click.channel_id,
                ts=click.message_ts,
            )
        except Refused as refusal:
            tell(client, click.user_id, click.channel_id, refusal.message)
            return
        _open(client, press.trigger_id, view, click.user_id, click.channel_id)

    @app.view(ui_ids.ESCALATE_MODAL)
    def submit_escalation(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        try:
            submission = parse_escalate_submission(body)
        except PayloadError as exc:
            ack()
            refuse_unreadable_form(client, body, "escalation form", exc)
            return
        errors = submission.field_errors()
        if any(key not in settings.escalation.offences for key in submission.offences):
            errors[ui_ids.OFFENCES_BLOCK] = "Pick offences from the list"
        if errors:
            ack(response_action="errors", errors=errors)
            return
        ack()
        assert submission.reason is not None  # field_errors() checked it
        try:
            escalated = desk.escalate(
                EscalationRequest(
                    review_item_id=submission.review_item_id,
                    expected_version=submission.review_version,
                    actor_slack_id=submission.user_id,
                    reason=submission.reason,
                    offences=submission.offences,
                    note=submission.note,
                )
            )
        except Refused as refusal:
            tell(client, submission.user_id, submission.channel_id, refusal.message)
            return
        tell(
            client,
            submission.user_id,
            submission.channel_id,
            escalated_message(escalated, container.clock(), tz),
        )

    @app.action(ui_ids.ESCALATION_ACK)
    def acknowledge(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        try:
            click = parse_escalation_click(body)
        except PayloadError as exc:
            refuse_unreadable_click(client, body, "acknowledge click", exc)
            return
        try:
            desk.acknowledge(click.escalation_id, click.user_id)
        except Refused as refusal:
            tell(client, click.user_id, click.channel_id, refusal.message)
            return
        tell(
            client,
            click.user_id,
            click.channel_id,
            "Acknowledged: the reminders have stopped. Use the card's buttons when you have "
            "decided.",
        )

    def open_outcome(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        try:
            click = parse_escalation_click(body)
            if click.review_version is None or click.trigger_id is None:
                raise PayloadError("an outcome button without a version or trigger")
        except PayloadError as exc:
            refuse_unreadable_click(client, body, "Clerk's button click", exc)
            return
        outcome = OUTCOME_BUTTONS.get(click.action_id)
        if outcome is None:
            log.warning("ignored a click on unknown button %r", click.action_id[:60])
            return
        try:
            card, escalation = desk.form_for(
                click.escalation_id, click.review_version, click.user_id, outcome
            )
        except Refused as refusal:
            tell(client, click.user_id, click.channel_id, refusal.message)
            return
        view = outcome_modal(
            card,
            escalation,
            outcome,
            reason_codes=settings.policy.reason_codes,
            tz=tz,
            channel=click.channel_id,
            ts=click.message_ts,
        )
        _open(client, click.trigger_id, view, click.user_id, click.channel_id)

    for action_id in OUTCOME_BUTTONS:
        app.action(action_id)(open_outcome)

    @app.view(ui_ids.ESCALATION_OUTCOME_MODAL)
    def submit_outcome(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        try:
            submission = parse_outcome_submission(body)
        except PayloadError as exc:
            ack()
            refuse_unreadable_form(client, body, "escalation form", exc)
            return
        errors = submission.field_errors()
        if (
            submission.reason_code is not None
            and submission.reason_code not in settings.policy.reason_codes
        ):
            errors[ui_ids.REASON_BLOCK] = "Pick one of the policy's reasons"
        if errors:
            ack(response_action="errors", errors=errors)
            return
        ack()
        try:
            desk.decide(
                OutcomeRequest(
                    escalation_id=submission.escalation_id,
                    expected_version=submission.review_version,
                    outcome=submission.outcome,
                    actor_slack_id=submission.user_id,
                    reason_code=submission.reason_code if submission.asks_reason else None,
                    note=submission.note,
                )
            )
        except Refused as refusal:
            tell(client, submission.user_id, submission.channel_id, refusal.message)
            return
        tell(
            client,
            submission.user_id,
            submission.channel_id,
            OUTCOME_DONE.get(submission.outcome, f"Recorded: {OUTCOMES[submission.outcome][0]}."),
        )


def escalated_message(escalated: Escalated, now: datetime, tz: Any) -> str:
    """What the person who escalated is told: when the Clerk gets it."""
    if escalated.immediate:
        return (
            ":rotating_light: Escalated to the Town Clerk *now* (threats and safeguarding go at "
            "once, even at night). The Deputy Clerk is pinged if the Clerk does not acknowledge "
            "it soon."
        )
    if escalated.clerk_due <= now:
        return (
            "Escalated to the Town Clerk: sent to the Clerk now, with reminders until they "
            "acknowledge it."
        )
    due = escalated.clerk_due.astimezone(tz).strftime("%H:%M on %A %-d %b")
    return (
        "Escalated to the Town Clerk. It is in the escalation channel now; the Clerk's DM goes "
        f"out when the office opens, at {due}."
    )


def _open(
    client: WebClient, trigger_id: str, view: dict[str, Any], user_id: str, channel_id: str
) -> None:
    try:
        client.views_open(trigger_id=trigger_id, view=view)
    except (SlackApiError, SlackClientError) as exc:
        log.warning("could not open the %s form for %s: %s", view["callback_id"], user_id, exc)
        tell(client, user_id, channel_id, MODAL_NOT_OPENED)

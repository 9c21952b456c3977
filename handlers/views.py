"""Listeners for the decision modals' submissions: check the form, ack, decide, tell the person.

A ``view_submission`` can be forged by anyone in the workspace, naming any review item in its
``private_metadata``: nothing here trusts it. The form is checked at the edge (a missing
reason is shown next to the field); who may decide, and whether the card is still as the
person saw it, is the service's to say. Replies are ephemeral, in the card's channel, or a DM
when that is not possible; they contain only our own wording and ``<@U…>`` mentions.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot import ui_ids
from bot.modals import WARN_FIRST
from bot.services.review import Action, DecisionRequest, Refused, Requested
from bot.services.triage import DecisionForms, TriageDesk
from handlers.payloads import (
    MODAL_CALLBACKS,
    ModalSubmission,
    PayloadError,
    parse_view_submission,
)
from handlers.telling import refuse_unreadable_form, tell

log = logging.getLogger(__name__)

MODAL_ACTIONS = {
    ui_ids.HIDE_MODAL: Action.HIDE,
    ui_ids.DELETE_MODAL: Action.DELETE,
    ui_ids.BLOCK_MODAL: Action.BLOCK,
    ui_ids.WARN_MODAL: Action.WARN,
}
WAITING_FOR = {
    "second_member": "a second SMAT member to approve it on the card",
    "clerk": "the Town Clerk (or the Deputy Clerk) to approve it on the card",
}


def decision_action(submission: ModalSubmission) -> Action:
    """What the submitted modal decides: the block modal's "warn first" is a warning."""
    action = MODAL_ACTIONS[submission.callback_id]
    if action is Action.BLOCK and submission.choice == WARN_FIRST:
        return Action.WARN
    return action


def awaiting_message(action: Action, requested: Requested) -> str:
    """What to tell someone whose removal now waits for another person's approval."""
    waiting = WAITING_FOR.get(requested.needs, "another SMAT member to approve it")
    return f"Your request to {action.value} this comment is waiting for {waiting}."


def register(app: App, desk: TriageDesk, forms: DecisionForms) -> None:
    """Attach the decision modals' submission listeners to the Bolt app."""
    reason_codes = forms.settings.policy.reason_codes

    def submit(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        try:
            submission = parse_view_submission(body)
        except PayloadError as exc:
            ack()  # close the form: nothing in it can be acted on
            refuse_unreadable_form(client, body, "view submission", exc)
            return
        errors = submission.field_errors()
        if submission.reason_code is not None and submission.reason_code not in reason_codes:
            errors[ui_ids.REASON_BLOCK] = "Pick one of the policy's reasons"
        if errors:
            ack(response_action="errors", errors=errors)
            return
        ack()  # within Slack's 3 seconds: the decision and platform call come after
        action = decision_action(submission)
        request = DecisionRequest(
            review_item_id=submission.review_item_id,
            expected_version=submission.review_version,
            action=action,
            actor_slack_id=submission.user_id,
            reason_code=submission.reason_code,
            note=submission.note,
        )
        try:
            outcome = desk.decide(request)
        except Refused as refusal:
            tell(client, submission.user_id, submission.channel_id, refusal.message)
            return
        if isinstance(outcome, Requested):
            tell(
                client,
                submission.user_id,
                submission.channel_id,
                awaiting_message(action, outcome),
            )

    for callback_id in sorted(MODAL_CALLBACKS):
        app.view(callback_id)(submit)

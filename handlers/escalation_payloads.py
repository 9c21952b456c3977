"""Escalation payloads parsed into small typed objects at the edge (all of it untrusted)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot import ui_ids
from bot.escalation_modals import outcome_metadata
from bot.escalation_words import REASONS
from bot.modals import modal_metadata
from handlers.payloads import (
    MAX_NOTE,
    PayloadError,
    form_field,
    input_value,
    positive_int,
    required_text,
    selected_value,
    state_values,
)

MAX_OFFENCES = 100


@dataclass(frozen=True)
class EscalationClick:
    """A click on one of the Clerk's buttons (or Acknowledge on a reminder)."""

    user_id: str
    channel_id: str
    message_ts: str
    action_id: str
    escalation_id: int
    review_version: int | None
    """The card's version for the outcome buttons; None for Acknowledge."""
    trigger_id: str | None


def parse_escalation_click(body: dict[str, Any]) -> EscalationClick:
    """Read who clicked which escalation button; raise PayloadError if it is not ours."""
    try:
        action = body["actions"][0]
        value = json.loads(action["value"])
        if not isinstance(value, dict):
            raise TypeError("the button value is not an object")
        container = body["container"]
        version = value.get("version")
        trigger = body.get("trigger_id")
        return EscalationClick(
            user_id=required_text(body["user"]["id"], "user id"),
            channel_id=required_text(container["channel_id"], "channel id"),
            message_ts=required_text(container["message_ts"], "message ts"),
            action_id=required_text(action["action_id"], "action id"),
            escalation_id=positive_int(value["escalation"], "escalation"),
            review_version=None if version is None else positive_int(version, "version"),
            trigger_id=required_text(trigger, "trigger id") if trigger is not None else None,
        )
    except (KeyError, IndexError, TypeError, ValueError, RecursionError) as exc:
        raise PayloadError(f"unexpected button payload: {type(exc).__name__}: {exc}") from None


@dataclass(frozen=True)
class EscalateSubmission:
    """A submitted Escalate… form: which card, why, which offences, and the note."""

    user_id: str
    review_item_id: int
    review_version: int
    channel_id: str
    message_ts: str
    reason: str | None
    offences: tuple[str, ...]
    note: str | None

    def field_errors(self) -> dict[str, str]:
        """Errors to show next to the form's fields (block id -> message); empty when fine."""
        errors: dict[str, str] = {}
        if self.reason not in REASONS:
            errors[ui_ids.ESCALATION_REASON_BLOCK] = "Pick why this goes to the Clerk"
        if self.note is not None and len(self.note) > MAX_NOTE:
            errors[ui_ids.NOTE_BLOCK] = f"Keep the note to {MAX_NOTE:,} characters"
        return errors


def parse_escalate_submission(body: dict[str, Any]) -> EscalateSubmission:
    """Read an Escalate… submission; raise PayloadError if it is not shaped like ours."""
    try:
        view = body["view"]
        if view["callback_id"] != ui_ids.ESCALATE_MODAL:
            raise ValueError("not the escalation form")
        metadata = modal_metadata(view)
        if metadata["version"] < 1:
            raise ValueError("private_metadata version is not a version number")
        values = state_values(view)
        return EscalateSubmission(
            user_id=required_text(body["user"]["id"], "user id"),
            review_item_id=metadata["item"],
            review_version=metadata["version"],
            channel_id=metadata["channel"],
            message_ts=metadata["ts"],
            reason=selected_value(
                values, ui_ids.ESCALATION_REASON_BLOCK, ui_ids.ESCALATION_REASON_INPUT
            ),
            offences=_multi_selected(values, ui_ids.OFFENCES_BLOCK, ui_ids.OFFENCES_INPUT),
            note=input_value(values, ui_ids.NOTE_BLOCK, ui_ids.NOTE_INPUT),
        )
    except (KeyError, IndexError, TypeError, ValueError, RecursionError) as exc:
        raise PayloadError(f"unexpected view submission: {type(exc).__name__}: {exc}") from None


@dataclass(frozen=True)
class OutcomeSubmission:
    """A submitted Clerk's outcome form."""

    user_id: str
    escalation_id: int
    review_version: int
    outcome: str
    channel_id: str
    message_ts: str
    reason_code: str | None
    note: str | None
    asks_reason: bool
    """Whether the form asked for a policy reason (the hiding outcomes)."""

    def field_errors(self) -> dict[str, str]:
        """Errors to show next to the form's fields (block id -> message); empty when fine."""
        errors: dict[str, str] = {}
        if self.asks_reason and self.reason_code is None:
            errors[ui_ids.REASON_BLOCK] = "Pick a reason"
        if self.note is not None and len(self.note) > MAX_NOTE:
            errors[ui_ids.NOTE_BLOCK] = f"Keep the note to {MAX_NOTE:,} characters"
        return errors


def parse_outcome_submission(body: dict[str, Any]) -> OutcomeSubmission:
    """Read the Clerk's outcome form; raise PayloadError if it is not shaped like ours."""
    try:
        view = body["view"]
        if view["callback_id"] != ui_ids.ESCALATION_OUTCOME_MODAL:
            raise ValueError("not the Clerk's form")
        metadata = outcome_metadata(view)
        values = state_values(view)
        outcome = metadata["outcome"]
        return OutcomeSubmission(
            user_id=required_text(body["user"]["id"], "user id"),
            escalation_id=metadata["escalation"],
            review_version=metadata["version"],
            outcome=outcome,
            channel_id=metadata["channel"],
            message_ts=metadata["ts"],
            reason_code=selected_value(values, ui_ids.REASON_BLOCK, ui_ids.REASON_INPUT),
            note=input_value(values, ui_ids.NOTE_BLOCK, ui_ids.NOTE_INPUT),
            asks_reason=outcome in ("upheld", "hidden_referred_police"),
        )
    except (KeyError, IndexError, TypeError, ValueError, RecursionError) as exc:
        raise PayloadError(f"unexpected view submission: {type(exc).__name__}: {exc}") from None


# --- reading fields ---------------------------------------------------------------------------


def _option_value(option: object, what: str) -> str:
    if not isinstance(option, Mapping):
        raise TypeError(f"{what} option is not an object")
    return required_text(option.get("value"), f"{what} value")


def _multi_selected(values: Mapping[str, Any], block_id: str, action_id: str) -> tuple[str, ...]:
    field = form_field(values, block_id, action_id)
    options = field.get("selected_options") if field is not None else None
    if options is None:
        return ()
    if not isinstance(options, list) or len(options) > MAX_OFFENCES:
        raise TypeError(f"{block_id} options are not a short list")
    return tuple(dict.fromkeys(_option_value(option, block_id) for option in options))

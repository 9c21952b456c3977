"""Slack payloads parsed into small typed objects at the edge; nothing inside sees raw dicts."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot import ui_ids
from bot.modals import BLOCK_NOW, WARN_FIRST, modal_metadata

MAX_NOTE = 2000
"""The note input's ``max_length``; a forged submission may carry more."""
BLOCK_CHOICES = frozenset({WARN_FIRST, BLOCK_NOW})
MODAL_CALLBACKS = frozenset(
    {ui_ids.HIDE_MODAL, ui_ids.DELETE_MODAL, ui_ids.BLOCK_MODAL, ui_ids.WARN_MODAL}
)


class PayloadError(ValueError):
    """A Slack payload is not shaped as our buttons and forms produce it."""


@dataclass(frozen=True)
class ButtonClick:
    """A click on one of a triage card's buttons."""

    user_id: str
    channel_id: str
    message_ts: str
    action_id: str
    review_item_id: int
    review_version: int


def parse_button_click(body: dict[str, Any]) -> ButtonClick:
    """Read who clicked which card button, at which card version; raise PayloadError if odd."""
    try:
        action = body["actions"][0]
        value = json.loads(action["value"])
        container = body["container"]
        return ButtonClick(
            user_id=required_text(body["user"]["id"], "user id"),
            channel_id=required_text(container["channel_id"], "channel id"),
            message_ts=required_text(container["message_ts"], "message ts"),
            action_id=required_text(action["action_id"], "action id"),
            review_item_id=positive_int(value["item"], "item"),
            review_version=positive_int(value["version"], "version"),
        )
    except (KeyError, IndexError, TypeError, ValueError, RecursionError) as exc:
        # RecursionError: a forged, deeply nested JSON value must not crash the listener.
        raise PayloadError(f"unexpected button payload: {type(exc).__name__}: {exc}") from None


@dataclass(frozen=True)
class ModalButtonClick:
    """A click on a button that opens a modal: the click, and the trigger to open it with."""

    click: ButtonClick
    trigger_id: str


def parse_modal_button(body: dict[str, Any]) -> ModalButtonClick:
    """Read a Hide…/Delete…/Block…/Warn… click and its trigger_id; raise PayloadError if odd."""
    click = parse_button_click(body)
    try:
        return ModalButtonClick(click, required_text(body["trigger_id"], "trigger id"))
    except (KeyError, TypeError, ValueError) as exc:
        raise PayloadError(f"unexpected button payload: {type(exc).__name__}: {exc}") from None


@dataclass(frozen=True)
class RequestClick:
    """A click on Approve removal or Decline on a removal request card."""

    user_id: str
    channel_id: str
    message_ts: str
    action_id: str
    request_id: int


def parse_request_click(body: dict[str, Any]) -> RequestClick:
    """Read who approved or declined which removal request; raise PayloadError if odd."""
    try:
        action = body["actions"][0]
        value = json.loads(action["value"])
        container = body["container"]
        return RequestClick(
            user_id=required_text(body["user"]["id"], "user id"),
            channel_id=required_text(container["channel_id"], "channel id"),
            message_ts=required_text(container["message_ts"], "message ts"),
            action_id=required_text(action["action_id"], "action id"),
            request_id=positive_int(value["request"], "request"),
        )
    except (KeyError, IndexError, TypeError, ValueError, RecursionError) as exc:
        raise PayloadError(f"unexpected button payload: {type(exc).__name__}: {exc}") from None


@dataclass(frozen=True)
class ModalSubmission:
    """A submitted decision modal: who, which card at which version, and what they chose.

    ``reason_code`` is None when none was picked (a field error; the service also checks it
    against the policy); ``choice`` is None when the block modal asks none (already warned).
    """

    user_id: str
    callback_id: str
    review_item_id: int
    review_version: int
    channel_id: str
    message_ts: str
    reason_code: str | None
    note: str | None
    choice: str | None

    def field_errors(self) -> dict[str, str]:
        """Errors to show next to the form's fields (block id -> message); empty when fine."""
        errors: dict[str, str] = {}
        if self.reason_code is None:
            errors[ui_ids.REASON_BLOCK] = "Pick a reason"
        if self.note is not None and len(self.note) > MAX_NOTE:
            errors[ui_ids.NOTE_BLOCK] = f"Keep the note to {MAX_NOTE:,} characters"
        return errors


def parse_view_submission(body: dict[str, Any]) -> ModalSubmission:
    """Read a decision modal's submission; raise PayloadError if it is not shaped like ours.

    The metadata and values are untrusted: anyone can post a view_submission naming any item.
    What a person can get wrong in the form (no reason, too long a note) is left to
    :meth:`ModalSubmission.field_errors`; anything else odd is a PayloadError.
    """
    try:
        view = body["view"]
        callback_id = required_text(view["callback_id"], "callback id")
        if callback_id not in MODAL_CALLBACKS:
            raise ValueError(f"unknown modal {callback_id[:60]!r}")
        metadata = modal_metadata(view)
        values = view["state"]["values"]
        if not isinstance(values, Mapping):
            raise TypeError("state.values is not an object")
        note = input_value(values, ui_ids.NOTE_BLOCK, ui_ids.NOTE_INPUT)
        choice = selected_value(values, ui_ids.CHOICE_BLOCK, ui_ids.CHOICE_INPUT)
        if choice is not None and (
            callback_id != ui_ids.BLOCK_MODAL or choice not in BLOCK_CHOICES
        ):
            raise ValueError("unexpected choice")
        return ModalSubmission(
            user_id=required_text(body["user"]["id"], "user id"),
            callback_id=callback_id,
            review_item_id=positive_int(metadata["item"], "item"),
            review_version=positive_int(metadata["version"], "version"),
            channel_id=required_text(metadata["channel"], "channel"),
            message_ts=required_text(metadata["ts"], "ts"),
            reason_code=selected_value(values, ui_ids.REASON_BLOCK, ui_ids.REASON_INPUT),
            note=note,
            choice=choice,
        )
    except (KeyError, IndexError, TypeError, ValueError, RecursionError) as exc:
        raise PayloadError(f"unexpected view submission: {type(exc).__name__}: {exc}") from None


def submitter(body: Mapping[str, Any]) -> str | None:
    """Who sent a click or a form, if the body says so plainly (to answer even a malformed one)."""
    user = body.get("user")
    user_id = user.get("id") if isinstance(user, Mapping) else None
    return user_id if isinstance(user_id, str) and user_id else None


def state_values(view: Mapping[str, Any]) -> Mapping[str, Any]:
    """A submitted view's ``state.values``, checked to be an object."""
    values = view["state"]["values"]
    if not isinstance(values, Mapping):
        raise TypeError("state.values is not an object")
    return values


def form_field(
    values: Mapping[str, Any], block_id: str, action_id: str
) -> Mapping[str, Any] | None:
    """One input's state (``values[block_id][action_id]``); None when the block is absent."""
    block = values.get(block_id)
    if block is None:
        return None
    if not isinstance(block, Mapping):
        raise TypeError(f"{block_id} is not an object")
    field = block.get(action_id)
    if field is None:
        return None
    if not isinstance(field, Mapping):
        raise TypeError(f"{block_id}.{action_id} is not an object")
    return field


def input_value(values: Mapping[str, Any], block_id: str, action_id: str) -> str | None:
    """A plain_text_input's value: None when absent or blank (Slack sends null when empty)."""
    field = form_field(values, block_id, action_id)
    value = field.get("value") if field is not None else None
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"{block_id} is not text")
    return value.strip() or None


def selected_value(values: Mapping[str, Any], block_id: str, action_id: str) -> str | None:
    """A select's or radio group's chosen option value; None when nothing is chosen."""
    field = form_field(values, block_id, action_id)
    option = field.get("selected_option") if field is not None else None
    if option is None:
        return None
    if not isinstance(option, Mapping):
        raise TypeError(f"{block_id} option is not an object")
    return required_text(option.get("value"), f"{block_id} value")


def required_text(value: object, what: str) -> str:
    """``value`` as a non-empty string, or ValueError naming ``what``."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what} must be a non-empty string")
    return value


def positive_int(value: object, what: str) -> int:
    """``value`` as a positive integer (never a bool or a float), or ValueError naming ``what``."""
    # bool is an int subclass and int() would truncate 1.5: accept only real integers.
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{what} must be a positive integer")
    return value


MAX_BATCH_ITEMS = 50
"""More comments than any batch card holds; a longer list is forged."""


@dataclass(frozen=True)
class BatchClick:
    """A click on a batch card: Approve all (with the comments shown) or Review separately."""

    user_id: str
    channel_id: str
    message_ts: str
    action_id: str
    batch_id: int
    items: tuple[tuple[int, int], ...] = ()
    """Approve all: (review item id, version) of each comment shown as waiting."""
    review_item_id: int | None = None
    """Review separately: the comment to move to its own card."""


def parse_batch_click(body: dict[str, Any]) -> BatchClick:
    """Read a batch card click; raise PayloadError if it is not shaped like our buttons."""
    try:
        action = body["actions"][0]
        value = json.loads(action["value"])
        container = body["container"]
        action_id = required_text(action["action_id"], "action id")
        items: list[tuple[int, int]] = []
        item: int | None = None
        if action_id == ui_ids.BATCH_APPROVE_ALL:
            raw = value["items"]
            if not isinstance(raw, list) or len(raw) > MAX_BATCH_ITEMS:
                raise ValueError("items must be a short list")
            for pair in raw:
                if not isinstance(pair, list) or len(pair) != 2:
                    raise ValueError("each item must be [item, version]")
                items.append((positive_int(pair[0], "item"), positive_int(pair[1], "version")))
        elif action_id == ui_ids.BATCH_SEPARATE:
            item = positive_int(value["item"], "item")
        else:
            raise ValueError(f"unknown batch button {action_id[:60]!r}")
        return BatchClick(
            user_id=required_text(body["user"]["id"], "user id"),
            channel_id=required_text(container["channel_id"], "channel id"),
            message_ts=required_text(container["message_ts"], "message ts"),
            action_id=action_id,
            batch_id=positive_int(value["batch"], "batch"),
            items=tuple(items),
            review_item_id=item,
        )
    except (KeyError, IndexError, TypeError, ValueError, RecursionError) as exc:
        raise PayloadError(f"unexpected batch card payload: {type(exc).__name__}: {exc}") from None

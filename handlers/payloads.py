"""Slack payloads parsed into small typed objects at the edge; nothing inside sees raw dicts."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


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
            user_id=_text(body["user"]["id"], "user id"),
            channel_id=_text(container["channel_id"], "channel id"),
            message_ts=_text(container["message_ts"], "message ts"),
            action_id=_text(action["action_id"], "action id"),
            review_item_id=_positive_int(value["item"], "item"),
            review_version=_positive_int(value["version"], "version"),
        )
    except (KeyError, IndexError, TypeError, ValueError, RecursionError) as exc:
        # RecursionError: a forged, deeply nested JSON value must not crash the listener.
        raise PayloadError(f"unexpected button payload: {type(exc).__name__}: {exc}") from None


def _text(value: object, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what} must be a non-empty string")
    return value


def _positive_int(value: object, what: str) -> int:
    # bool is an int subclass and int() would truncate 1.5: accept only real integers.
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{what} must be a positive integer")
    return value

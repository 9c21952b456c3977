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
        click = ButtonClick(
            user_id=str(body["user"]["id"]),
            channel_id=str(container["channel_id"]),
            message_ts=str(container["message_ts"]),
            action_id=str(action["action_id"]),
            review_item_id=int(value["item"]),
            review_version=int(value["version"]),
        )
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise PayloadError(f"unexpected button payload: {type(exc).__name__}: {exc}") from None
    if click.review_item_id <= 0 or click.review_version <= 0:
        raise PayloadError("button value out of range")
    return click

"""The escalation card's Evidence pack button: ack, check the role, queue, deliver by DM.

The button's value is ``{"item": <review item id>}``; like every payload it is untrusted, and
the clicker's role is checked here and again when the pack is sent.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot import ui_ids
from bot.services.evidence_delivery import PREPARING, EvidenceRequests
from bot.services.review import Refused
from handlers.payloads import PayloadError
from handlers.telling import tell

if TYPE_CHECKING:
    from bot.container import Container

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EvidenceClick:
    """A click on Evidence pack: who, where, which review item, and the click's own id."""

    user_id: str
    channel_id: str | None
    review_item_id: int
    click_id: str


def parse_evidence_click(body: dict[str, Any]) -> EvidenceClick:
    """Read an Evidence pack click; raise PayloadError if it is not shaped like ours."""
    try:
        action = body["actions"][0]
        if action["action_id"] != ui_ids.EVIDENCE_PACK:
            raise ValueError("not the evidence pack button")
        value = json.loads(action["value"])
        item = value["item"]
        if isinstance(item, bool) or not isinstance(item, int) or item <= 0:
            raise ValueError("item must be a positive integer")
        user_id = body["user"]["id"]
        if not isinstance(user_id, str) or not user_id:
            raise ValueError("user id must be a non-empty string")
        container = body.get("container") or {}
        channel = container.get("channel_id") if isinstance(container, dict) else None
        click_id = action.get("action_ts") or body.get("trigger_id") or ""
        return EvidenceClick(
            user_id=user_id,
            channel_id=channel if isinstance(channel, str) and channel else None,
            review_item_id=item,
            click_id=str(click_id)[:60],
        )
    except (KeyError, IndexError, TypeError, ValueError, RecursionError) as exc:
        raise PayloadError(f"unexpected evidence pack click: {type(exc).__name__}: {exc}") from None


def register(app: App, container: Container) -> None:
    """Attach the Evidence pack button listener."""
    requests = container.evidence_requests()

    @app.action(ui_ids.EVIDENCE_PACK)
    def evidence_pack(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        try:
            click = parse_evidence_click(body)
        except PayloadError as exc:
            log.warning("ignored a malformed evidence pack click: %s", exc)
            return
        try:
            key = requests.request(click.review_item_id, click.user_id, click.click_id)
        except Refused as refusal:
            tell(client, click.user_id, click.channel_id, refusal.message)
            return
        tell(client, click.user_id, click.channel_id, PREPARING)
        container.outbox.deliver_due(limit=1, key_prefixes=[key])


__all__ = ["EvidenceRequests", "parse_evidence_click", "register"]

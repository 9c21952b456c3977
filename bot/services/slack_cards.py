"""Puts triage cards in Slack: posts a card the first time, rewrites it in place after that."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import tzinfo
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from bot.cards import load_card
from bot.rendering import render_card
from bot.services.outbox import RetryLater
from storage.models import ReviewItem

log = logging.getLogger(__name__)


class SlackCardPublisher:
    """The outbox handler for ``slack.sync_card``: makes Slack show the card's current state."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        client: WebClient,
        channel: str,
        reason_labels: Mapping[str, str],
        tz: tzinfo,
    ) -> None:
        self._sessions = sessions
        self._client = client
        self._channel = channel
        self._reason_labels = reason_labels
        self._tz = tz

    def sync_card(self, payload: Mapping[str, Any]) -> None:
        """Post or update the card for ``payload["review_item_id"]`` from the database's state."""
        with self._sessions() as session:
            card = load_card(session, int(payload["review_item_id"]))
        message = render_card(card, reason_labels=self._reason_labels, tz=self._tz)
        try:
            if card.slack_ts is None:
                response = self._client.chat_postMessage(
                    channel=self._channel,
                    text=message.text,
                    blocks=message.blocks,
                    unfurl_links=False,
                    unfurl_media=False,
                )
                self._remember(card.review_item_id, str(response["channel"]), str(response["ts"]))
            else:
                self._client.chat_update(
                    channel=card.slack_channel or self._channel,
                    ts=card.slack_ts,
                    text=message.text,
                    blocks=message.blocks,
                )
        except SlackApiError as exc:
            if exc.response.status_code == 429:
                retry_after = float(exc.response.headers.get("Retry-After", 1))
                raise RetryLater("Slack rate limit", retry_after) from None
            raise

    def _remember(self, review_item_id: int, channel: str, ts: str) -> None:
        with self._sessions.begin() as session:
            session.execute(
                update(ReviewItem)
                .where(ReviewItem.id == review_item_id)
                .values(slack_channel=channel, slack_ts=ts)
            )

"""Puts triage cards in Slack: posts a card the first time, rewrites it in place after that."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import tzinfo
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from bot.cards import load_card
from bot.rendering import escape_mrkdwn, mrkdwn, render_card
from bot.services.batch_publisher import BatchPublisher
from bot.services.outbox import RetryLater
from bot.services.pacing import ChannelPacer, paced_post
from classifiers.enquiries import detect_enquiries
from config.settings import EnquiryTopic
from storage.db import reading
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
        reason_clauses: Mapping[str, str] | None = None,
        enquiry_topics: Mapping[str, EnquiryTopic] | None = None,
        *,
        pacer: ChannelPacer | None = None,
        batches: BatchPublisher | None = None,
    ) -> None:
        self._sessions = sessions
        self._pacer = pacer
        self._batches = batches
        self._client = client
        self._channel = channel
        self._reason_labels = reason_labels
        self._reason_clauses = reason_clauses or {}
        self._tz = tz
        self._enquiry_topics = enquiry_topics or {}

    def sync_card(self, payload: Mapping[str, Any]) -> None:
        """Post or update the card for ``payload["review_item_id"]`` from the database's state."""
        review_item_id = int(payload["review_item_id"])
        with reading(self._sessions) as session:
            batch_step = self._batches.route(session, review_item_id) if self._batches else None
            if batch_step is None:
                card = load_card(session, review_item_id)
        if batch_step is not None:
            # Run with the session closed: it may write, and must not hold two connections.
            if batch_step():
                return  # shown on its batch card
            with reading(self._sessions) as session:
                card = load_card(session, review_item_id)
        if card.status == "pending" and self._enquiry_topics:
            matches = detect_enquiries(card.text, self._enquiry_topics)
            card = replace(card, enquiry_labels=tuple(match.label for match in matches))
        message = render_card(
            card,
            reason_labels=self._reason_labels,
            reason_clauses=self._reason_clauses,
            tz=self._tz,
        )
        if card.slack_ts is None:
            response: Any = paced_post(
                self._pacer,
                self._channel,
                lambda: self._client.chat_postMessage(
                    channel=self._channel,
                    text=message.text,
                    blocks=message.blocks,
                    unfurl_links=False,
                    unfurl_media=False,
                ),
            )
            self._remember(card.review_item_id, str(response["channel"]), str(response["ts"]))
        else:
            ts = card.slack_ts
            self._call(
                lambda: self._client.chat_update(
                    channel=card.slack_channel or self._channel,
                    ts=ts,
                    text=message.text,
                    blocks=message.blocks,
                )
            )

    def account_alert(self, payload: Mapping[str, Any]) -> None:
        """Tell the triage channel that an account needs attention (sent once per change)."""
        account = escape_mrkdwn(str(payload["account"]))
        detail = escape_mrkdwn(str(payload["detail"]))
        text = (
            f":warning: The account *{account}* needs attention: {detail}. "
            "Comments from it are not being collected until this is fixed; "
            "`smat-bot accounts list` shows its status."
        )
        paced_post(
            self._pacer,
            self._channel,
            lambda: self._client.chat_postMessage(
                channel=self._channel, text=text, blocks=[{"type": "section", "text": mrkdwn(text)}]
            ),
        )

    def _call(self, call: Callable[[], object]) -> object:
        try:
            return call()
        except SlackApiError as exc:
            if exc.response.status_code == 429:
                headers = {k.lower(): v for k, v in exc.response.headers.items()}
                raise RetryLater("Slack rate limit", float(headers.get("retry-after", 1))) from None
            raise

    def _remember(self, review_item_id: int, channel: str, ts: str) -> None:
        with self._sessions.begin() as session:
            session.execute(
                update(ReviewItem)
                .where(ReviewItem.id == review_item_id)
                .values(slack_channel=channel, slack_ts=ts)
            )

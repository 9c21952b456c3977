"""Shows comments that are in a batch through their batch card, and keeps that card up to date.

The card publisher asks :meth:`BatchPublisher.route` first for every ``slack.sync_card``: a
comment in a batch is shown by (re)rendering its batch card, a clean comment waiting in a
large enough backlog is put in a new batch, and anything else gets its own card as usual. A
batch card is sent to Slack only when what it shows changed (its digest), so the ten comments
of a batch refreshing one after another cost one ``chat.update``, not ten.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, tzinfo
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.batch_cards import SYSTEM, load_batch_card, render_batch_card
from bot.clock import Clock
from bot.rendering import SlackMessage
from bot.services.batching import CLEAN, Batcher
from bot.services.outbox import RetryLater, enqueue
from bot.services.pacing import ChannelPacer, paced_post, rate_limit_delay
from storage.db import reading
from storage.models import Classification, ReviewItem, SlackBatch, SlackBatchItem

log = logging.getLogger(__name__)

POSTING_LEASE = timedelta(minutes=2)
SYNC_PASSES = 3
"""Re-render after sending, in case a decision landed meanwhile; a few passes settle it."""
BUSY_RETRY_SECONDS = 5.0


def message_digest(message: SlackMessage) -> str:
    """A fingerprint of exactly what would be sent to Slack."""
    body = json.dumps([message.text, message.blocks], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


def move_to_own_card(
    session: Session, membership: SlackBatchItem, by: str, now: datetime, *, post_card: bool
) -> None:
    """Take a comment out of its batch (inside the caller's transaction) and refresh the cards."""
    membership.pulled_out_by = by
    membership.pulled_out_at = now
    item_id = membership.review_item_id
    if post_card:
        enqueue(
            session,
            kind="slack.sync_card",
            key=f"slack.sync_card:{item_id}:separate",
            payload={"review_item_id": item_id},
            priority=100,  # someone asked to look at it now
            now=now,
        )
    enqueue(
        session,
        kind="slack.sync_batch",
        key=f"slack.sync_batch:{membership.batch_id}:separate:{item_id}",
        payload={"batch_id": membership.batch_id},
        priority=100,
        now=now,
    )


_ROUTING_FACTS = (
    select(ReviewItem.status, ReviewItem.slack_ts, Classification.suggested_action)
    .join(Classification, Classification.id == ReviewItem.classification_id)
    .where(ReviewItem.id == bindparam("item"))
)
"""Built once: every card update is routed."""


class BatchPublisher:
    """Routes comments to batch cards and posts or updates batch cards (``slack.sync_batch``)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        client: WebClient,
        channel: str,
        batcher: Batcher,
        pacer: ChannelPacer | None,
        tz: tzinfo,
        clock: Clock,
    ) -> None:
        self._sessions = sessions
        self._client = client
        self._channel = channel
        self._batcher = batcher
        self._pacer = pacer
        self._tz = tz
        self._clock = clock

    def route(self, session: Session, review_item_id: int) -> Callable[[], bool] | None:
        """How the comment is to be shown, read in the caller's session (nothing is changed).

        None when it gets its own card, as most do. Otherwise a step for the caller to run
        once its session is closed: it shows the comment through a batch card if it is (or now
        goes) in one, and returns False when it should have its own card after all.
        """
        membership = self._batcher.membership(session, review_item_id)
        row = session.execute(_ROUTING_FACTS, {"item": review_item_id}).first()
        if row is None:
            return None
        status, slack_ts, suggested = row
        if membership is None:
            if slack_ts is not None or status != "pending" or suggested != CLEAN:
                return None
            return lambda: self._into_new_batch(review_item_id)
        if membership.pulled_out:
            return None
        flagged = status == "pending" and suggested != CLEAN
        return lambda: self._through_batch(review_item_id, membership.batch_id, flagged=flagged)

    def _into_new_batch(self, review_item_id: int) -> bool:
        batch_id = self._batcher.batch_for(review_item_id, self._channel)
        if batch_id is None:
            return False
        self.sync_batch({"batch_id": batch_id})
        return True

    def _through_batch(self, review_item_id: int, batch_id: int, *, flagged: bool) -> bool:
        if flagged and self._flagged_out(review_item_id):
            return False  # an edit made it flagged: flagged comments always get their own card
        self.sync_batch({"batch_id": batch_id})
        return True

    def _flagged_out(self, review_item_id: int) -> bool:
        """Move a comment an edit made flagged out of its batch; True if it is out now."""
        now = self._clock()
        with self._sessions.begin() as session:
            membership = session.scalar(
                select(SlackBatchItem)
                .where(SlackBatchItem.review_item_id == review_item_id)
                .with_for_update()
            )
            if membership is None:
                return True
            if membership.pulled_out_at is None:
                log.info("review item %d was edited and is now flagged: own card", review_item_id)
                # This delivery posts its own card; only the batch card needs refreshing.
                move_to_own_card(session, membership, SYSTEM, now, post_card=False)
            return True

    def sync_batch(self, payload: Mapping[str, Any]) -> None:
        """Post the batch card, or update it if what it shows has changed."""
        batch_id = int(payload["batch_id"])
        for _ in range(SYNC_PASSES):
            with reading(self._sessions) as session:
                card = load_batch_card(session, batch_id)
            message = render_batch_card(card, tz=self._tz)
            digest = message_digest(message)
            if card.slack_ts is None:
                self._post(batch_id, card.channel, message, digest)
            elif digest != card.shown_digest:
                self._update(batch_id, card.slack_channel or card.channel, card.slack_ts, message)
                self._remember(batch_id, digest)
            else:
                return

    def _post(self, batch_id: int, channel: str, message: SlackMessage, digest: str) -> None:
        if not self._claim(batch_id):
            with reading(self._sessions) as session:
                posted = session.scalar(
                    select(SlackBatch.slack_ts).where(SlackBatch.id == batch_id)
                )
            if posted is None:
                raise RetryLater("batch card is being posted by another worker", BUSY_RETRY_SECONDS)
            return  # someone else posted it just now; the next pass compares and updates
        try:
            response: Any = paced_post(
                self._pacer,
                channel,
                lambda: self._client.chat_postMessage(
                    channel=channel,
                    text=message.text,
                    blocks=message.blocks,
                    unfurl_links=False,
                    unfurl_media=False,
                ),
            )
        except BaseException:
            self._release(batch_id)
            raise
        with self._sessions.begin() as session:
            session.execute(
                update(SlackBatch)
                .where(SlackBatch.id == batch_id)
                .values(
                    slack_channel=str(response["channel"]),
                    slack_ts=str(response["ts"]),
                    shown_digest=digest,
                    posted_at=self._clock(),
                    posting_until=None,
                )
            )

    def _update(self, batch_id: int, channel: str, ts: str, message: SlackMessage) -> None:
        try:
            self._client.chat_update(
                channel=channel, ts=ts, text=message.text, blocks=message.blocks
            )
        except SlackApiError as exc:
            delay = rate_limit_delay(exc)
            if delay is None:
                raise
            raise RetryLater("Slack rate limit", delay) from None

    def _claim(self, batch_id: int) -> bool:
        now = self._clock()
        with self._sessions.begin() as session:
            claimed = session.execute(
                update(SlackBatch)
                .where(
                    SlackBatch.id == batch_id,
                    SlackBatch.slack_ts.is_(None),
                    or_(SlackBatch.posting_until.is_(None), SlackBatch.posting_until <= now),
                )
                .values(posting_until=now + POSTING_LEASE)
            )
            return bool(claimed.rowcount == 1)  # type: ignore[attr-defined]

    def _release(self, batch_id: int) -> None:
        with self._sessions.begin() as session:
            session.execute(
                update(SlackBatch)
                .where(SlackBatch.id == batch_id, SlackBatch.slack_ts.is_(None))
                .values(posting_until=None)
            )

    def _remember(self, batch_id: int, digest: str) -> None:
        with self._sessions.begin() as session:
            session.execute(
                update(SlackBatch).where(SlackBatch.id == batch_id).values(shown_digest=digest)
            )

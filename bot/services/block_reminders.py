"""The outbox handler that reminds the Clerk, by DM, of a block whose review has fallen due.

Sent to every active Clerk; with none, to the Deputy Clerk(s); with neither (or no DM getting
through), posted in the escalation channel. A reminder for a block that has since been
unblocked, or reviewed (its due date moved on), is dropped: the queue may run late.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from functools import partial
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.records_messages import review_reminder
from bot.rendering import SlackMessage
from bot.services.blocks import BlockRegister
from bot.services.outbox import RetryLater
from config.settings import Settings
from storage.db import reading
from storage.models import Member

log = logging.getLogger(__name__)


class BlockReviewNotifier:
    """Delivers ``slack.block_review`` outbox messages."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        blocks: BlockRegister,
        client: WebClient,
        settings: Settings,
    ) -> None:
        self._sessions = sessions
        self._blocks = blocks
        self._client = client
        self._escalation_channel = settings.slack.channels.escalation
        self._reason_labels = {
            code: reason.label for code, reason in settings.policy.reason_codes.items()
        }
        self._tz = settings.council.tz

    def send(self, payload: Mapping[str, Any]) -> None:
        """DM the reminder to the Clerk (or Deputy), or post it in the escalation channel."""
        entry = self._blocks.entry(int(payload["blocked_author_id"]))
        if entry is None or not entry.in_force:
            return
        if entry.review_due != datetime.fromisoformat(str(payload["review_due"])):
            return  # reviewed since it was queued: the next due date gets its own reminder
        recipients = self._recipients()
        message = review_reminder(entry, self._reason_labels, self._tz)
        reached = 0
        for user in recipients:
            try:
                opened: Any = self._call(partial(self._client.conversations_open, users=user))
                channel = str(opened["channel"]["id"])
                self._post(channel, message)
                reached += 1
            except (SlackClientError, OSError, KeyError, TypeError) as exc:
                log.warning("could not DM %s about block review %d: %s", user, entry.id, exc)
        if reached:
            return
        preface = (
            "The Clerk could not be reached by DM, so this is posted here."
            if recipients
            else "No Clerk or Deputy Clerk is enrolled in SMAT, so this is posted here."
        )
        self._post(
            self._escalation_channel,
            review_reminder(entry, self._reason_labels, self._tz, preface=preface),
        )

    def _recipients(self) -> list[str]:
        with reading(self._sessions) as session:
            for role in ("clerk", "deputy"):
                found = list(
                    session.scalars(
                        select(Member.slack_user_id)
                        .where(Member.active, Member.role == role)
                        .order_by(Member.id)
                    )
                )
                if found:
                    return found
        return []

    def _post(self, channel: str, message: SlackMessage) -> None:
        self._call(
            lambda: self._client.chat_postMessage(
                channel=channel,
                text=message.text,
                blocks=message.blocks,
                unfurl_links=False,
                unfurl_media=False,
            )
        )

    @staticmethod
    def _call(call: Callable[[], object]) -> object:
        try:
            return call()
        except SlackApiError as exc:
            if exc.response.status_code == 429:
                headers = {k.lower(): v for k, v in exc.response.headers.items()}
                raise RetryLater("Slack rate limit", float(headers.get("retry-after", 1))) from None
            raise

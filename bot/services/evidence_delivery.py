"""Evidence packs asked for in Slack: who may have one, and sending it to them privately.

Only the Town Clerk and the Deputy Clerk get evidence packs (they hold personal data and go
to the police or a platform). The request is queued in the outbox, and the pack is built when
it is delivered, then uploaded into a direct message to the person who asked, never to a
channel. The message beside the file is our own wording: no resident-written text.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock
from bot.records import gather
from bot.records.evidence import build_evidence_pack
from bot.records.keys import SigningKeySource
from bot.services.members import CLERK, DEPUTY, MemberDirectory
from bot.services.outbox import RetryLater, enqueue
from bot.services.review import Refused
from config.settings import Settings
from storage.db import reading
from storage.models import ReviewItem

log = logging.getLogger(__name__)

EVIDENCE_ROLES = frozenset({CLERK, DEPUTY})
KIND = "slack.evidence_pack"
NOT_ALLOWED = Refused(
    "Only the Town Clerk or the Deputy Clerk can have an evidence pack. Nothing was sent.",
    code="clerk_only",
)
UNKNOWN_ITEM = Refused(
    "That comment is no longer held, so there is no evidence pack.", code="unknown_item"
)
PREPARING = (
    "Preparing the evidence pack; it will arrive in a direct message from SMAT Bot in a moment."
)


class EvidenceRequests:
    """Checks who asks for a pack and queues it; delivers queued packs by DM."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        members: MemberDirectory,
        settings: Settings,
        signing_key: SigningKeySource,
        clock: Clock,
        client: WebClient | None = None,
    ) -> None:
        self._sessions = sessions
        self._members = members
        self._settings = settings
        self._signing_key = signing_key
        self._clock = clock
        self._client = client

    def request(self, review_item_id: int, user_id: str, click_id: str) -> str:
        """Queue a pack for a Clerk or Deputy; return the outbox key, or raise Refused."""
        member = self._members.find(user_id)
        if member is None or member.role not in EVIDENCE_ROLES:
            log.warning(
                "refused an evidence pack for review item %d to %s: not the Clerk or Deputy",
                review_item_id,
                user_id,
            )
            raise NOT_ALLOWED
        now = self._clock()
        key = f"{KIND}:{review_item_id}:{user_id}:{click_id}"
        with self._sessions.begin() as session:
            if session.get(ReviewItem, review_item_id) is None:
                raise UNKNOWN_ITEM
            enqueue(
                session,
                kind=KIND,
                key=key,
                payload={"review_item_id": review_item_id, "user_id": user_id},
                priority=90,
                now=now,
            )
        log.info("evidence pack for review item %d requested by %s", review_item_id, user_id)
        return key

    def deliver(self, payload: Mapping[str, Any]) -> None:
        """Outbox handler: build the pack and upload it into a DM with the person who asked."""
        if self._client is None:
            raise RuntimeError("Slack is not configured")
        item_id, user_id = int(payload["review_item_id"]), str(payload["user_id"])
        member = self._members.find(user_id)
        if member is None or member.role not in EVIDENCE_ROLES:
            # Their role changed between the click and now: send nothing.
            log.warning("dropped an evidence pack for %s: no longer the Clerk or Deputy", user_id)
            return
        settings = self._settings
        with reading(self._sessions) as session:
            comment_id = session.scalar(
                select(ReviewItem.comment_id).where(ReviewItem.id == item_id)
            )
            if comment_id is None:
                log.warning("dropped an evidence pack: review item %d is gone", item_id)
                return
            built = build_evidence_pack(
                session,
                comment_id,
                ctx=gather.Context(settings.council.tz, settings.policy.reason_codes),
                key=self._signing_key.get(),
                council=settings.council.name,
                generated_by=f"Slack user {user_id} ({member.role})",
                now=self._clock(),
            )
        checks = "\n".join(f"• Preserved record {c.record_id}: {c.status}" for c in built.records)
        comment = (
            f"Evidence pack for comment {comment_id} (review item {item_id}). It holds personal "
            "data: keep it private and share it only with the police or the platform.\n"
            f"SHA-256 of the zip: `{built.pack.sha256}`\n"
            f"SHA-256 of MANIFEST.sha256: `{built.pack.manifest_sha256}`\n"
            + (checks or "• No original was preserved (nothing was removed).")
        )
        try:
            opened = self._client.conversations_open(users=user_id)
            channel = opened["channel"]["id"]
            self._client.files_upload_v2(
                channel=channel,
                content=built.pack.data,
                filename=built.pack.filename,
                title=f"Evidence pack: comment {comment_id}",
                initial_comment=comment,
            )
        except SlackApiError as exc:
            if exc.response.status_code == 429:
                retry = float(exc.response.headers.get("Retry-After", 30))
                raise RetryLater("Slack rate limit on the evidence pack upload", retry) from None
            raise
        except SlackClientError as exc:
            raise RetryLater(f"Slack unreachable: {exc}", 30) from None
        log.info("evidence pack for comment %d sent to %s", comment_id, user_id)

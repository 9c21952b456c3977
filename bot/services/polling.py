"""Polling: one cycle for one account — lease, fetch since the watermark, store, classify.

Comments are stored before the new watermark is saved, so a crash in between only means the
next poll fetches them again, and storage (unique per account and comment id) drops the
repeats. The lease on the watermark row means two polls of one account never run at once,
whether in one process or several.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock
from bot.hashing import content_sha256
from bot.services.accounts import AccountRegister
from bot.services.ingest import IngestService
from config.settings import AccountSettings, ConfigError
from platforms.base import Connector
from platforms.errors import AuthExpired, Gone, PermissionDenied, PlatformError, RateLimited
from platforms.types import Platform
from storage.db import reading
from storage.models import Account, Comment, CommentVersion, IngestionWatermark, ReviewItem

log = logging.getLogger(__name__)

STREAM = "comments"
LEASE = timedelta(minutes=15)
ERROR_BACK_OFF = timedelta(minutes=2)
AUTH_BACK_OFF = timedelta(minutes=15)
"""A token does not come back by itself; retry now and then in case it was replaced."""
RECHECK_LIMIT = 20
"""Pending comments re-fetched per poll, to spot edits and deletions by their authors."""
RECHECK_WINDOW = timedelta(days=7)


@dataclass(frozen=True)
class PollOutcome:
    """What one poll of one account did."""

    account: str
    fetched: int = 0
    new: int = 0
    edited: int = 0
    skipped: str | None = None
    error: str | None = None
    deleted: int = 0


class Poller:
    """Runs poll cycles with the connectors and ingest pipeline the composition root hands in."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        register: AccountRegister,
        connector_for: Callable[[AccountSettings], Connector],
        ingest: Callable[[], IngestService],
        clock: Clock,
    ) -> None:
        self._sessions = sessions
        self._register = register
        self._connector_for = connector_for
        self._ingest = ingest
        self._clock = clock
        self._owner = uuid.uuid4().hex

    def poll(self, account: AccountSettings) -> PollOutcome:
        """Poll one account once, unless it is backing off or another poll holds it."""
        now = self._clock()
        account_id, poll_after = self._account_row(account.name)
        if poll_after is not None and poll_after > now:
            local = poll_after.isoformat(timespec="seconds")
            return PollOutcome(account.name, skipped=f"backing off until {local}")
        watermark = self._take_lease(account_id, now)
        if watermark is None:
            return PollOutcome(account.name, skipped="another poll of this account is running")
        try:
            outcome = self._poll_holding_lease(account, account_id, watermark)
        except Exception as exc:
            # Anything unforeseen (a vendor payload we cannot parse, a bug): never let one
            # account's failure stop the scheduler; back off and keep the watermark where it is.
            log.exception("poll of %s failed unexpectedly", account.name)
            self._register.back_off(account.name, self._clock() + ERROR_BACK_OFF)
            return PollOutcome(account.name, error=f"unexpected error: {type(exc).__name__}")
        finally:
            self._release_lease(account_id)
        if outcome.error is None:
            # Classify after the lease is released: a backlog must not hold the account.
            self._ingest().classify_pending()
        return outcome

    def _poll_holding_lease(
        self, account: AccountSettings, account_id: int, watermark: dict[str, object]
    ) -> PollOutcome:
        try:
            connector = self._connector_for(account)
            result = connector.fetch_new(watermark)
        except ConfigError as exc:
            self._register.mark_needs_attention(account.name, str(exc), notify_channel=True)
            return PollOutcome(account.name, error=str(exc))
        except RateLimited as exc:
            self._register.back_off(
                account.name, self._clock() + timedelta(seconds=exc.retry_after)
            )
            return PollOutcome(account.name, error=str(exc))
        except (AuthExpired, PermissionDenied) as exc:
            self._register.mark_needs_attention(account.name, exc.detail, notify_channel=True)
            self._register.back_off(account.name, self._clock() + AUTH_BACK_OFF)
            return PollOutcome(account.name, error=str(exc))
        except PlatformError as exc:
            log.warning("poll of %s failed: %s", account.name, exc)
            self._register.back_off(account.name, self._clock() + ERROR_BACK_OFF)
            return PollOutcome(account.name, error=str(exc))
        ingest = self._ingest()
        report = ingest.store(result.comments)
        seen_until = max((comment.created_at for comment in result.comments), default=None)
        self._save_watermark(account_id, result.watermark, seen_until)
        self._register.mark_healthy(account.name)
        edited, deleted = self._recheck_pending(connector, account, account_id, ingest)
        if getattr(connector, "near_limit", False):
            # Graph's usage headers say we are close to the Page's budget: slow down before
            # Meta throttles us, rather than after.
            slower = timedelta(minutes=account.poll_minutes)
            self._register.back_off(account.name, self._clock() + slower)
        return PollOutcome(
            account.name, len(result.comments), report.new, report.edited + edited, deleted=deleted
        )

    def _recheck_pending(
        self, connector: Connector, account: AccountSettings, account_id: int, ingest: IngestService
    ) -> tuple[int, int]:
        """Re-fetch comments still awaiting a decision: authors edit and delete them meanwhile."""
        since = self._clock() - RECHECK_WINDOW
        with reading(self._sessions) as session:
            rows = session.execute(
                select(Comment.external_id, CommentVersion.content_sha256)
                .join(ReviewItem, ReviewItem.comment_id == Comment.id)
                .join(CommentVersion, CommentVersion.id == ReviewItem.comment_version_id)
                .where(
                    Comment.account_id == account_id,
                    Comment.deleted_at.is_(None),
                    Comment.created_at >= since,
                    ReviewItem.status == "pending",
                )
                # A random sample each poll, so every pending comment gets rechecked in turn
                # however long the queue is.
                .order_by(func.random())
                .limit(RECHECK_LIMIT)
            ).all()
        edited, gone = [], []
        for external_id, digest in rows:
            try:
                current = connector.fetch_comment(external_id)
            except Gone:
                gone.append((account.id, external_id))
                continue
            except PlatformError as exc:
                log.info("recheck of %s on %s stopped: %s", external_id, account.name, exc)
                break  # rate limits and outages: try again next poll
            if content_sha256(current.text) != digest:
                edited.append(current)
        report = ingest.store(edited) if edited else None
        deleted = ingest.mark_deleted(Platform(account.platform), gone) if gone else 0
        return (report.edited if report else 0), deleted

    def _account_row(self, name: str) -> tuple[int, datetime | None]:
        with reading(self._sessions) as session:
            row = session.execute(
                select(Account.id, Account.poll_after).where(Account.name == name)
            ).one_or_none()
        if row is None:
            raise LookupError(f"account {name!r} is not in the register")
        return row.id, row.poll_after

    def _take_lease(self, account_id: int, now: datetime) -> dict[str, object] | None:
        """Claim the account's watermark row; None when another poll holds it."""
        self._ensure_watermark_row(account_id, now)
        with self._sessions.begin() as session:
            claimed = session.execute(
                update(IngestionWatermark)
                .where(
                    IngestionWatermark.account_id == account_id,
                    IngestionWatermark.stream == STREAM,
                    or_(
                        IngestionWatermark.lease_until.is_(None),
                        IngestionWatermark.lease_until < now,
                    ),
                )
                .values(lease_owner=self._owner, lease_until=now + LEASE)
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                return None
            cursor = session.scalar(
                select(IngestionWatermark.cursor).where(
                    IngestionWatermark.account_id == account_id,
                    IngestionWatermark.stream == STREAM,
                )
            )
        return dict(json.loads(cursor)) if cursor else {}

    def _ensure_watermark_row(self, account_id: int, now: datetime) -> None:
        with reading(self._sessions) as session:
            exists = session.scalar(
                select(IngestionWatermark.id).where(
                    IngestionWatermark.account_id == account_id,
                    IngestionWatermark.stream == STREAM,
                )
            )
        if exists is not None:
            return
        try:
            with self._sessions.begin() as session:
                session.add(
                    IngestionWatermark(account_id=account_id, stream=STREAM, updated_at=now)
                )
        except IntegrityError:
            pass  # another process created it first

    def _save_watermark(
        self, account_id: int, watermark: dict[str, object], seen_until: datetime | None
    ) -> None:
        now = self._clock()
        values: dict[str, object] = {
            "cursor": json.dumps(watermark, sort_keys=True),
            "updated_at": now,
        }
        if seen_until is not None:
            values["seen_until"] = seen_until
        with self._sessions.begin() as session:
            session.execute(
                update(IngestionWatermark)
                .where(
                    IngestionWatermark.account_id == account_id,
                    IngestionWatermark.stream == STREAM,
                    IngestionWatermark.lease_owner == self._owner,
                )
                .values(**values)
            )

    def _release_lease(self, account_id: int) -> None:
        with self._sessions.begin() as session:
            session.execute(
                update(IngestionWatermark)
                .where(
                    IngestionWatermark.account_id == account_id,
                    IngestionWatermark.stream == STREAM,
                    IngestionWatermark.lease_owner == self._owner,
                )
                .values(lease_owner=None, lease_until=None)
            )

"""The outbox: outgoing Slack and platform calls, stored with their cause and delivered after.

A message is written in the same transaction as the change that needs it, so a crash or an
outage never loses it. Delivery claims a message with a lease, calls its handler outside any
transaction, and either completes it or schedules a retry with back-off. Handlers must be
idempotent: a message may be delivered again after a crash.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot import metrics
from bot.clock import Clock
from bot.logs import log_context
from storage.db import reading
from storage.models import OutboxMessage

log = logging.getLogger(__name__)

OUTBOX = cast(Table, OutboxMessage.__table__)

LEASE = timedelta(minutes=2)
MAX_BACKOFF = timedelta(minutes=15)
REFRESH_EVERY = 10
"""Messages delivered between two looks at the queue."""

Handler = Callable[[Mapping[str, Any]], None]

_DUE = (
    OUTBOX.c.status.in_(("pending", "in_progress")),
    OUTBOX.c.next_attempt_at <= bindparam("now"),
)
"""Waiting, or claimed by a worker whose lease has run out (it crashed)."""
_CLAIM = {
    "status": "in_progress",
    "next_attempt_at": bindparam("lease_until"),
    "attempts": OUTBOX.c.attempts + 1,
}
_STILL_OURS = (
    OUTBOX.c.id == bindparam("message_id"),
    OUTBOX.c.status == "in_progress",
    OUTBOX.c.attempts == bindparam("claimed_attempts"),
)
"""Conditions that hold only while this worker's claim on the message stands.

A worker slower than its lease may finish after another worker re-claimed the message (and
perhaps completed it): its result must not overwrite the newer claim's, e.g. put a delivered
message back to pending.
"""
# Built once: delivering a message is a handful of one-row statements, and building each one
# anew cost more than running it.
_CLAIM_ONE = (
    update(OutboxMessage)
    .where(OutboxMessage.id == bindparam("message_id"), *_DUE)
    .values(_CLAIM)
    .returning(OutboxMessage)
)
_CLAIM_KEYS = (
    update(OutboxMessage)
    .where(OutboxMessage.idempotency_key.in_(bindparam("keys", expanding=True)), *_DUE)
    .values(_CLAIM)
    .returning(OutboxMessage)
)
_COMPLETE = (
    update(OUTBOX)
    .where(*_STILL_OURS)
    .values(status="done", completed_at=bindparam("at"), last_error=None)
)
_RESCHEDULE = (
    update(OUTBOX)
    .where(*_STILL_OURS)
    .values(status="pending", next_attempt_at=bindparam("retry_at"), last_error=bindparam("error"))
)


class RetryLater(Exception):
    """A handler's call was refused for now (rate limit, outage); try again after a delay."""

    def __init__(self, reason: str, after_seconds: float) -> None:
        super().__init__(reason)
        self.after_seconds = after_seconds


@dataclass
class DeliveryReport:
    """What one delivery pass did."""

    delivered: int = 0
    retrying: int = 0

    def count(self, delivered: bool) -> None:
        """Count one message: delivered, or rescheduled for a retry."""
        if delivered:
            self.delivered += 1
        else:
            self.retrying += 1


def enqueue(
    session: Session,
    *,
    kind: str,
    key: str,
    payload: Mapping[str, Any],
    priority: int,
    now: datetime,
) -> None:
    """Add a message unless one with the same idempotency key exists (inside the caller's work)."""
    exists = session.scalar(select(OutboxMessage.id).where(OutboxMessage.idempotency_key == key))
    if exists is not None:
        return
    message = OutboxMessage(
        kind=kind,
        idempotency_key=key,
        payload=dict(payload),
        status="pending",
        priority=priority,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    if session.get_bind().dialect.name == "sqlite":
        # SQLite transactions here hold the write lock from their start (BEGIN IMMEDIATE), so
        # nobody can insert the same key between the check above and this insert.
        session.add(message)
        return
    try:
        with session.begin_nested():
            session.add(message)
    except IntegrityError:
        # Another process queued the same message between our check and insert: that is fine.
        log.debug("outbox message %s already queued", key)


@dataclass(frozen=True)
class Message:
    """An outgoing call to queue: its handler's kind, idempotency key, payload and priority."""

    kind: str
    key: str
    payload: Mapping[str, Any]
    priority: int


def enqueue_many(session: Session, messages: Sequence[Message], now: datetime) -> None:
    """Add each message unless one with its idempotency key exists, in one statement.

    The same as calling ``enqueue`` for each in turn (the first of two with one key wins), for a
    batch: ``INSERT ... ON CONFLICT DO NOTHING`` skips the keys already queued, so no look-up
    precedes it, and a message another process queues at the same moment is skipped rather
    than failing the transaction.
    """
    rows: dict[str, dict[str, Any]] = {}
    for message in messages:
        if message.key in rows:
            continue  # as enqueue: the first message with a key is the one queued
        rows[message.key] = {
            "kind": message.kind,
            "idempotency_key": message.key,
            "payload": dict(message.payload),
            "status": "pending",
            "priority": message.priority,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
    if not rows:
        return
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    # The table, not the mapped class: plain rows skip the ORM's per-row bookkeeping.
    statement = dialect.insert(OUTBOX).on_conflict_do_nothing(
        index_elements=[OUTBOX.c.idempotency_key]
    )
    session.execute(statement, list(rows.values()))


class OutboxDispatcher:
    """Delivers due outbox messages to the handler registered for their kind."""

    def __init__(
        self, sessions: sessionmaker[Session], handlers: Mapping[str, Handler], clock: Clock
    ) -> None:
        self._sessions = sessions
        self._handlers = handlers
        self._clock = clock

    def deliver_due(self, limit: int = 100, *, key_prefixes: Sequence[str] = ()) -> DeliveryReport:
        """Deliver up to ``limit`` due messages, most urgent first (only matching keys if given).

        The queue is read again every few messages: posting is paced (about one new Slack
        message a second), so an urgent card queued during a long pass goes next, not last.
        """
        report = DeliveryReport()
        tried: set[int] = set()
        while len(tried) < limit:
            wanted = min(REFRESH_EVERY, limit - len(tried))
            due = self._due_ids(wanted, key_prefixes, tried)
            for message_id in due:
                tried.add(message_id)
                message = self._claim(message_id)
                if message is None:
                    continue  # someone else took it
                report.count(self._deliver(message))
            if len(due) < wanted:
                break  # that was all that was due; what the handlers queued is for the next pass
        return report

    def deliver_now(self, keys: Sequence[str]) -> DeliveryReport:
        """Deliver the due messages with these keys straight away, most urgent first.

        For work a person is waiting on, such as the card they just clicked: one statement
        claims the messages, without reading the queue first. A message another worker holds,
        or one waiting for its retry, is left to that worker and to the dispatcher.
        """
        report = DeliveryReport()
        if not keys:
            return report
        now = self._clock()
        with self._sessions.begin() as session:
            claimed = session.scalars(
                _CLAIM_KEYS, {"keys": list(keys), "now": now, "lease_until": now + LEASE}
            ).all()
        for message in sorted(claimed, key=lambda m: (-m.priority, m.id)):
            report.count(self._deliver(message))
        return report

    def pending_count(self) -> int:
        """How many messages are waiting (for health and metrics)."""
        with reading(self._sessions) as session:
            return (
                session.scalar(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(OutboxMessage.status != "done")
                )
                or 0
            )

    def _due_ids(
        self, limit: int, key_prefixes: Sequence[str] = (), exclude: Collection[int] = ()
    ) -> list[int]:
        now = self._clock()
        with reading(self._sessions) as session:
            query = (
                select(OutboxMessage.id)
                .where(
                    or_(OutboxMessage.status == "pending", OutboxMessage.status == "in_progress"),
                    OutboxMessage.next_attempt_at <= now,
                )
                .order_by(OutboxMessage.priority.desc(), OutboxMessage.id)
                .limit(limit)
            )
            if exclude:
                query = query.where(OutboxMessage.id.not_in(list(exclude)))
            if key_prefixes:
                query = query.where(
                    or_(*(OutboxMessage.idempotency_key.startswith(p) for p in key_prefixes))
                )
            return list(session.scalars(query))

    def _claim(self, message_id: int) -> OutboxMessage | None:
        """Take a lease on a message; a lease that expired (a crashed worker) can be re-taken."""
        now = self._clock()
        with self._sessions.begin() as session:
            return session.scalar(
                _CLAIM_ONE, {"message_id": message_id, "now": now, "lease_until": now + LEASE}
            )

    def _deliver(self, message: OutboxMessage) -> bool:
        handler = self._handlers.get(message.kind)
        try:
            if handler is None:
                raise LookupError(f"no handler for outbox kind {message.kind!r}")
            with log_context(outbox_id=message.id, **_payload_ids(message.payload)):
                handler(message.payload)
        except RetryLater as exc:
            metrics.OUTBOX_RETRIES.labels(message.kind, "retry_later").inc()
            self._reschedule(message, timedelta(seconds=exc.after_seconds), str(exc))
            return False
        except Exception as exc:
            metrics.OUTBOX_RETRIES.labels(message.kind, type(exc).__name__).inc()
            # Back off exponentially; the message stays queued until it succeeds.
            delay = min(timedelta(seconds=2 ** min(message.attempts, 10)), MAX_BACKOFF)
            log.warning(
                "outbox %s #%d failed (attempt %d): %s",
                message.kind,
                message.id,
                message.attempts,
                exc,
            )
            self._reschedule(message, delay, f"{type(exc).__name__}: {exc}")
            return False
        with self._sessions.begin() as session:
            session.execute(_COMPLETE, {**_claim_of(message), "at": self._clock()})
        metrics.OUTBOX_DELIVERED.labels(message.kind).inc()
        return True

    def _reschedule(self, message: OutboxMessage, delay: timedelta, error: str) -> None:
        with self._sessions.begin() as session:
            session.execute(
                _RESCHEDULE,
                {**_claim_of(message), "retry_at": self._clock() + delay, "error": error[:2000]},
            )


def _claim_of(message: OutboxMessage) -> dict[str, Any]:
    """The parameters of ``_STILL_OURS`` for this worker's claim on the message."""
    return {"message_id": message.id, "claimed_attempts": message.attempts}


def _payload_ids(payload: Mapping[str, Any]) -> dict[str, int]:
    """The ids a message is about, for its log lines."""
    return {
        key: value
        for key in ("review_item_id", "decision_id", "comment_id")
        if isinstance(value := payload.get(key), int)
    }

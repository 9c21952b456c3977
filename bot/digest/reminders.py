"""SLA reminders: items older than the target in the triage channel, open escalations for the Clerk.

Each reminder is written to the outbox under a key for its local date, so a job that runs
twice (a restart, two processes) posts it once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock
from bot.digest.report import ESCALATION_REASONS, PLATFORM_NAMES
from bot.digest.slack_post import NOTICE_KIND
from bot.digest.wording import count_words, duration
from bot.digest.working_days import WorkingCalendar
from bot.rendering import escape_mrkdwn, mrkdwn
from bot.services.outbox import enqueue
from config.settings import Settings
from storage.db import reading
from storage.models import Account, Comment, Escalation, Member, ReviewItem

log = logging.getLogger(__name__)

OPEN_STATUSES = ("pending", "awaiting_approval")
MAX_LINES = 25


@dataclass(frozen=True)
class OverdueItem:
    """A triage item past its target, as the reminder lists it (no resident's words)."""

    review_item_id: int
    platform: str
    account: str
    post_title: str | None
    received_at: datetime
    due_at: datetime
    status: str
    slack_channel: str | None
    slack_ts: str | None


@dataclass(frozen=True)
class OpenEscalation:
    """An escalation the Clerk has not closed."""

    id: int
    reason: str
    account: str
    escalated_at: datetime
    acknowledged: bool
    immediate: bool
    reminders_sent: int


class Reminders:
    """Builds and queues the daily SLA reminder and the Clerk's morning summary."""

    def __init__(self, sessions: sessionmaker[Session], settings: Settings, clock: Clock) -> None:
        self._sessions = sessions
        self._settings = settings
        self._clock = clock
        self._calendar = WorkingCalendar(settings.council.tz, settings.digest.bank_holidays)

    def overdue_items(self) -> list[OverdueItem]:
        """Undecided items past their target, oldest first."""
        now = self._clock()
        days = self._settings.digest.target_working_days
        with reading(self._sessions) as session:
            rows = session.execute(
                select(ReviewItem, Comment, Account)
                .join(Comment, Comment.id == ReviewItem.comment_id)
                .join(Account, Account.id == Comment.account_id)
                .where(
                    ReviewItem.status.in_(OPEN_STATUSES),
                    # A deadline is at least `days` calendar days after receipt.
                    Comment.created_at <= now - timedelta(days=days),
                    Comment.deleted_at.is_(None),
                )
                .order_by(Comment.created_at, ReviewItem.id)
            ).all()
        items = []
        for item, comment, account in rows:
            due = self._calendar.due(comment.created_at, days)
            if due <= now:
                items.append(
                    OverdueItem(
                        item.id,
                        account.platform,
                        account.display_name,
                        comment.post_title,
                        comment.created_at,
                        due,
                        item.status,
                        item.slack_channel,
                        item.slack_ts,
                    )
                )
        return items

    def open_escalations(self) -> list[OpenEscalation]:
        """Escalations without an outcome, oldest first."""
        with reading(self._sessions) as session:
            rows = session.execute(
                select(Escalation, Account.display_name)
                .join(Comment, Comment.id == Escalation.comment_id)
                .join(Account, Account.id == Comment.account_id)
                .where(Escalation.outcome.is_(None), Escalation.status != "closed")
                .order_by(Escalation.escalated_at, Escalation.id)
            ).all()
        return [
            OpenEscalation(
                e.id,
                e.reason,
                name,
                e.escalated_at,
                e.acknowledged_at is not None,
                e.immediate,
                e.reminders_sent,
            )
            for e, name in rows
        ]

    def queue_sla_reminder(self) -> int:
        """Queue today's reminder in the triage channel; returns how many items it lists."""
        items = self.overdue_items()
        if not items:
            log.info("SLA reminder: nothing older than the target")
            return 0
        now = self._clock()
        text, blocks = self._sla_message(items, now)
        day = now.astimezone(self._settings.council.tz).date()
        with self._sessions.begin() as session:
            enqueue(
                session,
                kind=NOTICE_KIND,
                key=f"sla.reminder:{day.isoformat()}",
                payload={
                    "channel": self._settings.slack.channels.triage,
                    "text": text,
                    "blocks": blocks,
                },
                priority=40,
                now=now,
            )
        return len(items)

    def queue_clerk_summary(self) -> int:
        """Queue this morning's summary of open escalations for each Clerk (or the channel)."""
        escalations = self.open_escalations()
        if not escalations:
            log.info("Clerk summary: no open escalations")
            return 0
        now = self._clock()
        text, blocks = self._clerk_message(escalations, now)
        day = now.astimezone(self._settings.council.tz).date()
        with self._sessions.begin() as session:
            clerks = list(
                session.scalars(
                    select(Member.slack_user_id)
                    .where(Member.role == "clerk", Member.active.is_(True))
                    .order_by(Member.slack_user_id)
                )
            )
            # No Clerk enrolled: the escalation channel, where the Deputy will see it.
            targets = clerks or [self._settings.slack.channels.escalation]
            for target in targets:
                enqueue(
                    session,
                    kind=NOTICE_KIND,
                    key=f"clerk.summary:{day.isoformat()}:{target}",
                    payload={"channel": target, "text": text, "blocks": blocks},
                    priority=45,
                    now=now,
                )
        return len(escalations)

    def _local(self, moment: datetime) -> str:
        local = moment.astimezone(self._settings.council.tz)
        return f"{local:%a} {local.day} {local:%b} {local:%H:%M}"

    def _sla_message(
        self, items: list[OverdueItem], now: datetime
    ) -> tuple[str, list[dict[str, Any]]]:
        days = self._settings.digest.target_working_days
        head = (
            f":hourglass_flowing_sand: {count_words(len(items), 'comment')} "
            f"{'has' if len(items) == 1 else 'have'} waited longer than the {days}-working-day "
            "target for a first action (oldest first). A public report is notice served."
        )
        lines = []
        for item in items[:MAX_LINES]:
            platform = PLATFORM_NAMES.get(item.platform, item.platform)
            where = escape_mrkdwn(f"{platform} · {item.account}")
            post = f' on "{escape_mrkdwn(item.post_title)}"' if item.post_title else ""
            waited = self._calendar.working_days_between(item.received_at, now)
            state = " · awaiting removal approval" if item.status == "awaiting_approval" else ""
            link = (
                f" · <{_message_link(item.slack_channel, item.slack_ts)}|card>"
                if item.slack_channel and item.slack_ts
                else ""
            )
            lines.append(
                f"• {where}{post} · posted {self._local(item.received_at)} · "
                f"{waited:.1f} working days{state}{link}"
            )
        if len(items) > MAX_LINES:
            lines.append(f"…and {len(items) - MAX_LINES:,} more (`smat-bot queue` lists them all).")
        body = "\n".join(lines)
        return f"{head}\n{body}", [
            {"type": "section", "text": mrkdwn(head)},
            {"type": "section", "text": mrkdwn(body[:2900])},
        ]

    def _clerk_message(
        self, escalations: list[OpenEscalation], now: datetime
    ) -> tuple[str, list[dict[str, Any]]]:
        head = (
            f":sunrise: Good morning. {count_words(len(escalations), 'escalation').capitalize()} "
            f"{'is' if len(escalations) == 1 else 'are'} waiting for your decision (oldest first)."
        )
        lines = []
        for e in escalations[:MAX_LINES]:
            reason = ESCALATION_REASONS.get(e.reason, e.reason)
            urgent = " · :rotating_light: urgent" if e.immediate else ""
            seen = "acknowledged" if e.acknowledged else "not yet acknowledged"
            lines.append(
                f"• {escape_mrkdwn(reason)} · {escape_mrkdwn(e.account)} · raised "
                f"{self._local(e.escalated_at)} ({duration((now - e.escalated_at).total_seconds())}"
                f" ago) · {seen}{urgent}"
            )
        if len(escalations) > MAX_LINES:
            lines.append(f"…and {len(escalations) - MAX_LINES:,} more.")
        body = "\n".join(lines)
        return f"{head}\n{body}", [
            {"type": "section", "text": mrkdwn(head)},
            {"type": "section", "text": mrkdwn(body[:2900])},
        ]


def _message_link(channel: str, ts: str) -> str:
    # Slack resolves archive links in the workspace the reader is signed in to.
    return f"https://slack.com/archives/{channel}/p{ts.replace('.', '')}"

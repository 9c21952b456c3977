"""Puts escalations in front of the Town Clerk in Slack: the outbox handlers.

``sync_card`` makes Slack show the escalation as it stands: it posts the Clerk's card to the
escalation channel the first time and into the Clerk's DM once that is due (at once for an
immediate escalation, otherwise when the office opens), and rewrites both in place after that.
``remind`` DMs the Clerk a reminder and ``deputy`` pings the Deputy Clerk(s); both do nothing
once someone has acknowledged. Every handler can run twice: a message is posted only while its
``ts`` is not on record.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.cards import EscalationView, TriageCard, escalation_view, load_card
from bot.clock import Clock
from bot.escalation_card import deputy_message, reminder_message, render_clerk_card
from bot.escalation_timing import EscalationTiming
from bot.home import describe_age
from bot.rendering import SlackMessage
from bot.services.outbox import RetryLater
from bot.services.pacing import ChannelPacer, paced_post
from config.settings import Settings
from storage.db import reading
from storage.models import Escalation, Member

log = logging.getLogger(__name__)


class EscalationPublisher:
    """The outbox handlers for the Clerk's card, reminders and the Deputy's ping."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        client: WebClient,
        settings: Settings,
        timing: EscalationTiming,
        clock: Clock,
        *,
        pacer: ChannelPacer | None = None,
    ) -> None:
        self._sessions = sessions
        self._pacer = pacer
        self._client = client
        self._settings = settings
        self._timing = timing
        self._clock = clock
        self._channel = settings.slack.channels.escalation
        self._tz = settings.council.tz
        codes = settings.policy.reason_codes
        self._reason_labels = {code: reason.label for code, reason in codes.items()}
        self._reason_clauses = {code: reason.clause for code, reason in codes.items()}
        self._offence_about = {o.name: o.about for o in settings.escalation.offences.values()}

    def handlers(self) -> dict[str, Callable[[Mapping[str, Any]], None]]:
        """The outbox kinds this publisher delivers."""
        return {
            "slack.escalation_card": self.sync_card,
            "slack.escalation_reminder": self.remind,
            "slack.escalation_deputy": self.deputy,
        }

    # ------------------------------------------------------------------ the Clerk's card

    def sync_card(self, payload: Mapping[str, Any]) -> None:
        """Post or update the Clerk's card (channel and DM) from the database's state."""
        loaded = self._load(int(payload["escalation_id"]))
        if loaded is None:
            return
        row, card, escalation = loaded
        message = render_clerk_card(
            card,
            escalation,
            offence_about=self._offence_about,
            reason_labels=self._reason_labels,
            reason_clauses=self._reason_clauses,
            tz=self._tz,
        )
        if row.channel_ts is None:
            channel, ts = self._post(self._channel, message)
            self._remember(row.id, channel=channel, channel_ts=ts)
        else:
            self._update(row.channel or self._channel, row.channel_ts, message)
        if row.clerk_dm_ts is not None and row.clerk_dm_channel is not None:
            self._update(row.clerk_dm_channel, row.clerk_dm_ts, message)
        elif row.status == "open" and self._clock() >= self._timing.clerk_due(
            row.escalated_at, immediate=row.immediate
        ):
            recipient = self._clerk()
            if recipient is None:
                log.warning("escalation %d: no Clerk or Deputy enrolled to DM", row.id)
                return
            dm = self._open_dm(recipient)
            _, ts = self._post(dm, message)
            self._remember(row.id, clerk_dm_channel=dm, clerk_dm_ts=ts)

    # ------------------------------------------------------------------ reminders

    def remind(self, payload: Mapping[str, Any]) -> None:
        """DM the Clerk a reminder, unless someone acknowledged it meanwhile."""
        loaded = self._load(int(payload["escalation_id"]))
        if loaded is None or loaded[0].status != "open":
            return
        row, _, escalation = loaded
        waited = describe_age(self._clock() - row.escalated_at)
        message = reminder_message(
            escalation,
            int(payload["number"]),
            waited,
            channel=row.channel,
            channel_name=self._channel,
        )
        if row.clerk_dm_channel is not None:
            self._post(row.clerk_dm_channel, message)
            return
        # No DM to remind in (no Clerk enrolled): remind under the channel card instead.
        self._post(row.channel or self._channel, message, thread_ts=row.channel_ts)

    def deputy(self, payload: Mapping[str, Any]) -> None:
        """Ping the Deputy Clerk(s) by DM, and say so under the channel card."""
        loaded = self._load(int(payload["escalation_id"]))
        if loaded is None or loaded[0].status != "open":
            return
        row, _, escalation = loaded
        message = deputy_message(
            escalation, self._tz, channel=row.channel, channel_name=self._channel
        )
        deputies = self._deputies()
        for deputy in deputies:
            self._post(self._open_dm(deputy), message)
        note = (
            f":bell: The Clerk has not acknowledged this in time: the Deputy Clerk "
            f"({', '.join(f'<@{d}>' for d in deputies)}) has been pinged."
            if deputies
            else ":warning: The Clerk has not acknowledged this in time, and no Deputy Clerk is "
            "enrolled in SMAT to step in."
        )
        self._post(
            row.channel or self._channel,
            SlackMessage(note, [{"type": "section", "text": {"type": "mrkdwn", "text": note}}]),
            thread_ts=row.channel_ts,
        )

    # ------------------------------------------------------------------ helpers

    def _load(self, escalation_id: int) -> tuple[Escalation, TriageCard, EscalationView] | None:
        with reading(self._sessions) as session:
            row = session.get(Escalation, escalation_id)
            if row is None:
                log.warning("escalation %d is gone; nothing to show", escalation_id)
                return None
            card = load_card(session, row.review_item_id)
            view = escalation_view(session, row)
            session.expunge(row)
            return row, card, view

    def _clerk(self) -> str | None:
        """Whom the card is DMed to: the Clerk, or the Deputy when no Clerk is enrolled."""
        with reading(self._sessions) as session:
            for role in ("clerk", "deputy"):
                found = session.scalar(
                    select(Member.slack_user_id)
                    .where(Member.active, Member.role == role)
                    .order_by(Member.id)
                    .limit(1)
                )
                if found is not None:
                    return found
        return None

    def _deputies(self) -> list[str]:
        with reading(self._sessions) as session:
            return list(
                session.scalars(
                    select(Member.slack_user_id)
                    .where(Member.active, Member.role == "deputy")
                    .order_by(Member.id)
                )
            )

    def _open_dm(self, user_id: str) -> str:
        response: Any = self._call(lambda: self._client.conversations_open(users=user_id))
        return str(response["channel"]["id"])

    def _post(
        self, channel: str, message: SlackMessage, *, thread_ts: str | None = None
    ) -> tuple[str, str]:
        # Paced like the triage cards: in a surge of threats Slack would refuse the posts
        # beyond about one a second per channel (measured: bench/surge.py).
        response: Any = paced_post(
            self._pacer,
            channel,
            lambda: self._client.chat_postMessage(
                channel=channel,
                text=message.text,
                blocks=message.blocks,
                thread_ts=thread_ts,
                unfurl_links=False,
                unfurl_media=False,
            ),
        )
        return str(response["channel"]), str(response["ts"])

    def _update(self, channel: str, ts: str, message: SlackMessage) -> None:
        self._call(
            lambda: self._client.chat_update(
                channel=channel, ts=ts, text=message.text, blocks=message.blocks
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

    def _remember(self, escalation_id: int, **values: str) -> None:
        with self._sessions.begin() as session:
            session.execute(
                update(Escalation).where(Escalation.id == escalation_id).values(**values)
            )

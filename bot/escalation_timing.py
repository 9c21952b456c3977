"""When the Town Clerk is pinged about an escalation, reminded, and when the Deputy steps in.

An ordinary escalation counts working hours: the Clerk's DM waits for the office to open, and
reminders and the Deputy fallback are so many working hours later. An immediate one (threats,
safeguarding) ignores working hours: the Clerk is pinged at once, day or night, and the shorter
reminder and Deputy timings run on the wall clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from bot.working_hours import WorkingHours
from config.settings import EscalationSettings


@dataclass(frozen=True)
class EscalationTiming:
    """The reminder schedule, from the settings."""

    hours: WorkingHours
    remind_every: timedelta
    """Working time between reminders."""
    deputy_after: timedelta
    """Working time before the Deputy is pinged."""
    immediate_remind_every: timedelta
    immediate_deputy_after: timedelta
    immediate_reasons: frozenset[str]

    @classmethod
    def from_settings(cls, settings: EscalationSettings, tz: tzinfo) -> EscalationTiming:
        """The schedule as configured, with working hours in the council's time zone."""
        return cls(
            hours=WorkingHours.from_settings(settings.working_hours, tz),
            remind_every=timedelta(hours=settings.remind_every_hours),
            deputy_after=timedelta(hours=settings.deputy_after_hours),
            immediate_remind_every=timedelta(minutes=settings.immediate_remind_every_minutes),
            immediate_deputy_after=timedelta(minutes=settings.immediate_deputy_after_minutes),
            immediate_reasons=frozenset(settings.immediate_reasons),
        )

    def is_immediate(self, reason: str) -> bool:
        """Whether an escalation for this reason reaches the Clerk at once, even at night."""
        return reason in self.immediate_reasons

    def clerk_due(self, escalated_at: datetime, *, immediate: bool) -> datetime:
        """When the Clerk's DM goes out: at once, or when the office next opens."""
        return escalated_at if immediate else self.hours.next_open(escalated_at)

    def next_reminder(self, after: datetime, *, immediate: bool) -> datetime:
        """When the next reminder is due after ``after`` (an escalation or a reminder)."""
        if immediate:
            return after + self.immediate_remind_every
        return self.hours.add(after, self.remind_every)

    def deputy_due(self, escalated_at: datetime, *, immediate: bool) -> datetime:
        """When the Deputy Clerk is pinged if nobody has acknowledged by then."""
        if immediate:
            return escalated_at + self.immediate_deputy_after
        return self.hours.add(escalated_at, self.deputy_after)

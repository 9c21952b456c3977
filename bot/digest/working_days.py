"""UK working days and the "notice served" deadline: a first action within N working days.

The clock only runs on working days (Monday to Friday, less the configured bank holidays).
A comment received on a working day is due at the same local time N working days later; one
received on a weekend or a holiday is due at the end of the Nth working day after it, as if it
had arrived at the start of the next working day.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache

import holidays as holiday_calendars

from bot.digest.period import local_midnight

SUBDIVISIONS = {"england": "ENG", "wales": "WLS", "scotland": "SCT", "northern_ireland": "NIR"}


@lru_cache(maxsize=16)
def _bank_holidays(region: str, year: int) -> frozenset[date]:
    if region == "none":
        return frozenset()
    calendar = holiday_calendars.country_holidays("GB", subdiv=SUBDIVISIONS[region], years=year)
    return frozenset(calendar.keys())


@dataclass(frozen=True)
class DeadlineSegment:
    """Comments received in [received_from, received_until) are due at a known time.

    Either ``after_seconds`` after they were received (a working day: the same local time N
    working days later), or at the fixed ``due_at`` (a weekend or holiday: the end of the Nth
    working day after it).
    """

    received_from: datetime
    received_until: datetime
    after_seconds: int | None
    due_at: datetime | None


class WorkingCalendar:
    """Which local days are working days, and when a first action falls due."""

    def __init__(self, tz: tzinfo, bank_holidays: str = "england") -> None:
        self._tz = tz
        self._region = bank_holidays

    def is_working(self, day: date) -> bool:
        """Monday to Friday, and not a bank holiday of the configured nation."""
        return day.weekday() < 5 and day not in _bank_holidays(self._region, day.year)

    def add_working_days(self, day: date, days: int) -> date:
        """The ``days``-th working day after ``day``."""
        found = 0
        while found < days:
            day += timedelta(days=1)
            if self.is_working(day):
                found += 1
        return day

    def due(self, received: datetime, days: int) -> datetime:
        """When a comment received at ``received`` should have had its first action (UTC)."""
        local = received.astimezone(self._tz)
        due_day = self.add_working_days(local.date(), days)
        if self.is_working(local.date()):
            # Same wall-clock time; a working day never holds a UK clock change (Sundays).
            return datetime.combine(due_day, local.time(), tzinfo=self._tz).astimezone(UTC)
        return local_midnight(due_day + timedelta(days=1), self._tz)

    def working_days_between(self, start: datetime, end: datetime) -> float:
        """How many working days of time passed between two instants (for "waited" columns)."""
        if end <= start:
            return 0.0
        total = 0.0
        day = start.astimezone(self._tz).date()
        last = end.astimezone(self._tz).date()
        while day <= last:
            if self.is_working(day):
                day_start = local_midnight(day, self._tz)
                day_end = local_midnight(day + timedelta(days=1), self._tz)
                overlap = min(end, day_end) - max(start, day_start)
                if overlap > timedelta(0):
                    total += overlap / (day_end - day_start)
            day += timedelta(days=1)
        return total

    def segments_due_between(
        self, start: datetime, end: datetime, days: int
    ) -> list[DeadlineSegment]:
        """Receipt ranges whose deadline falls in [start, end), one per local day of receipt.

        The deadline never decreases as the receipt time moves on, so each local day of
        receipt gives at most one range, and a database can compare each comment's first
        action with its own deadline without knowing anything about working days.
        """
        segments: list[DeadlineSegment] = []
        # A deadline is at most `days` working days after receipt; allow for long runs of
        # holidays (Christmas) and weekends between.
        first = start.astimezone(self._tz).date() - timedelta(days=days * 2 + 14)
        last = end.astimezone(self._tz).date()
        for day in _days(first, last):
            day_start = local_midnight(day, self._tz)
            day_end = local_midnight(day + timedelta(days=1), self._tz)
            if self.is_working(day):
                # Same local time `days` working days on: a fixed UTC offset through the day.
                after = self.due(day_start, days) - day_start
                lo, hi = max(day_start, start - after), min(day_end, end - after)
                if lo < hi:
                    segments.append(DeadlineSegment(lo, hi, int(after.total_seconds()), None))
            else:
                due_at = self.due(day_start, days)
                if start <= due_at < end:
                    segments.append(DeadlineSegment(day_start, day_end, None, due_at))
        return segments


def _days(first: date, last: date) -> Iterable[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def midnight(day: date, tz: tzinfo) -> datetime:
    """A local midnight as an aware local datetime (for display)."""
    return datetime.combine(day, time(0), tzinfo=tz)

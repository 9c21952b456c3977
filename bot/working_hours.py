"""Working-hours arithmetic: when the council office is open, and adding working time.

Pure functions of aware datetimes. Each working day's opening and closing times are built in the
council's time zone and only then turned into UTC, so a period of working time means the same
hours on the clock either side of the October and March clock changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from config.settings import WorkingHoursSettings

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
"""Day names as the settings spell them, Monday first (``date.weekday()`` order)."""
SEARCH_DAYS = 3700
"""How far ahead to look for working time (ten years) before giving up."""


@dataclass(frozen=True)
class WorkingHours:
    """Opening hours on working days in one time zone, less closed dates (bank holidays)."""

    days: frozenset[int]
    """Working weekdays, 0 for Monday."""
    start: time
    end: time
    tz: tzinfo
    closed: frozenset[date] = field(default_factory=frozenset)

    @classmethod
    def from_settings(cls, settings: WorkingHoursSettings, tz: tzinfo) -> WorkingHours:
        """Working hours as configured, in the council's time zone."""
        return cls(
            days=frozenset(WEEKDAYS.index(day) for day in settings.days),
            start=settings.start,
            end=settings.end,
            tz=tz,
            closed=frozenset(settings.closed_dates),
        )

    def is_working_day(self, day: date) -> bool:
        """Whether the office opens on this local date."""
        return day.weekday() in self.days and day not in self.closed

    def period(self, day: date) -> tuple[datetime, datetime]:
        """Opening and closing time of a local date, in UTC."""
        opens = datetime.combine(day, self.start, tzinfo=self.tz).astimezone(UTC)
        closes = datetime.combine(day, self.end, tzinfo=self.tz).astimezone(UTC)
        return opens, closes

    def is_open(self, moment: datetime) -> bool:
        """Whether ``moment`` falls inside working hours (closing time itself is outside)."""
        day = moment.astimezone(self.tz).date()
        if not self.is_working_day(day):
            return False
        opens, closes = self.period(day)
        return opens <= moment < closes

    def next_open(self, moment: datetime) -> datetime:
        """``moment`` itself when the office is open, else the next opening time (UTC)."""
        return self.add(moment, timedelta(0))

    def add(self, moment: datetime, duration: timedelta) -> datetime:
        """The moment ``duration`` of working time after ``moment`` (counting only open hours)."""
        if moment.tzinfo is None:
            raise ValueError("working hours need an aware datetime")
        if duration < timedelta(0):
            raise ValueError("cannot add negative working time")
        current = moment.astimezone(UTC)
        remaining = duration
        day = current.astimezone(self.tz).date()
        for _ in range(SEARCH_DAYS):
            if self.is_working_day(day):
                opens, closes = self.period(day)
                begin = max(current, opens)
                if begin < closes:
                    available = closes - begin
                    if remaining <= available:
                        return begin + remaining
                    remaining -= available
            day += timedelta(days=1)
        raise ValueError("no working hours found in the next ten years")

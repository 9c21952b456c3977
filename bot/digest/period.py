"""ISO weeks in council time, and their boundaries in UTC (the database stores UTC).

A local day can be 23, 24 or 25 hours long (the clocks change in March and October), so every
boundary is a local midnight converted to UTC, never a UTC midnight plus whole days.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

DASH = "\u2013"
"""An en dash, as printed documents use between dates."""
WEEK_PATTERN = re.compile(r"^(\d{4})-W(\d{2})$")


class BadWeek(ValueError):
    """A week given on the command line that is not an ISO week; the message says why."""


@dataclass(frozen=True, order=True)
class Week:
    """An ISO week (Monday to Sunday)."""

    year: int
    number: int

    @classmethod
    def parse(cls, text: str) -> Week:
        """Read ``2026-W47``; raise BadWeek with a one-line reason otherwise."""
        match = WEEK_PATTERN.match(text.strip())
        if match is None:
            raise BadWeek(f"--week must look like 2026-W47 (an ISO year and week), got {text!r}")
        year, number = int(match[1]), int(match[2])
        try:
            date.fromisocalendar(year, number, 1)
        except ValueError:
            raise BadWeek(f"--week {text}: {year} has no ISO week {number}") from None
        return cls(year, number)

    @classmethod
    def containing(cls, day: date) -> Week:
        """The ISO week a date falls in."""
        iso = day.isocalendar()
        return cls(iso.year, iso.week)

    @classmethod
    def before(cls, moment: datetime, tz: tzinfo) -> Week:
        """The last full week before the local date of ``moment`` (what a Monday digest covers)."""
        return cls.containing(moment.astimezone(tz).date()).shifted(-1)

    @property
    def monday(self) -> date:
        """Its first day."""
        return date.fromisocalendar(self.year, self.number, 1)

    @property
    def sunday(self) -> date:
        """Its last day."""
        return self.monday + timedelta(days=6)

    @property
    def days(self) -> list[date]:
        """Monday to Sunday."""
        return [self.monday + timedelta(days=i) for i in range(7)]

    @property
    def label(self) -> str:
        """``2026-W47``."""
        return f"{self.year}-W{self.number:02d}"

    def shifted(self, weeks: int) -> Week:
        """The week ``weeks`` later (negative: earlier)."""
        return Week.containing(self.monday + timedelta(weeks=weeks))

    def describe(self) -> str:
        """``week 47 (16-22 November 2026)`` with an en dash, as a committee paper says it."""
        return f"week {self.number} ({date_range(self.monday, self.sunday)})"


def date_range(first: date, last: date) -> str:
    """``16-22 November 2026``, ``28 December 2026 - 3 January 2027`` (en dashes) and the like."""
    if first.year != last.year:
        return f"{long_date(first)} {DASH} {long_date(last)}"
    if first.month != last.month:
        return f"{first.day} {first:%B} {DASH} {long_date(last)}"
    return f"{first.day}{DASH}{long_date(last)}"


def long_date(day: date) -> str:
    """``16 November 2026``."""
    return f"{day.day} {day:%B %Y}"


def local_midnight(day: date, tz: tzinfo) -> datetime:
    """The UTC instant at which a local day starts."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


@dataclass(frozen=True)
class Window:
    """The reported week and the four before it, cut into buckets at local midnights.

    Buckets 0 to 3 are the four earlier weeks (oldest first); buckets 4 to 10 are the reported
    week's seven days. ``bounds`` holds the 12 UTC instants between them, so a row belongs to bucket
    ``i`` when ``bounds[i] <= t < bounds[i + 1]``.
    """

    week: Week
    tz: tzinfo
    bounds: tuple[datetime, ...]

    EARLIER_WEEKS = 4
    FIRST_DAY = 4

    @classmethod
    def of(cls, week: Week, tz: tzinfo) -> Window:
        """The window for reporting ``week``."""
        starts = [local_midnight(week.shifted(-n).monday, tz) for n in range(4, 0, -1)]
        days = [local_midnight(day, tz) for day in week.days]
        end = local_midnight(week.sunday + timedelta(days=1), tz)
        return cls(week, tz, (*starts, *days, end))

    @property
    def start(self) -> datetime:
        """When the oldest week starts."""
        return self.bounds[0]

    @property
    def end(self) -> datetime:
        """When the reported week ends (exclusive)."""
        return self.bounds[-1]

    @property
    def week_start(self) -> datetime:
        """When the reported week starts."""
        return self.bounds[self.FIRST_DAY]

    @property
    def week_bounds(self) -> tuple[datetime, ...]:
        """The six UTC instants between the five weeks (oldest first)."""
        return (*self.bounds[: self.FIRST_DAY + 1], self.end)

    @staticmethod
    def week_of_bucket(bucket: int) -> int:
        """0 for the reported week, 1 for the week before, ... 4 for four weeks before."""
        return 0 if bucket >= Window.FIRST_DAY else Window.FIRST_DAY - bucket

    @staticmethod
    def day_of_bucket(bucket: int) -> int | None:
        """0 (Monday) to 6 (Sunday) for the reported week's buckets, else None."""
        return bucket - Window.FIRST_DAY if bucket >= Window.FIRST_DAY else None

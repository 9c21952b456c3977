"""Working-hours arithmetic, the escalation timings built on it, and their settings."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from bot.escalation_timing import EscalationTiming
from bot.working_hours import WorkingHours
from config.settings import EscalationSettings, Settings, WorkingHoursSettings

LONDON = ZoneInfo("Europe/London")
HOURS = WorkingHours.from_settings(WorkingHoursSettings(), LONDON)


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=LONDON)  # type: ignore[misc]


def test_open_only_on_weekdays_between_nine_and_five_local_time() -> None:
    assert HOURS.is_open(local(2026, 11, 16, 9, 0))  # Monday
    assert HOURS.is_open(local(2026, 11, 16, 16, 59))
    assert not HOURS.is_open(local(2026, 11, 16, 17, 0))
    assert not HOURS.is_open(local(2026, 11, 16, 8, 59))
    assert not HOURS.is_open(local(2026, 11, 21, 12, 0))  # Saturday
    # In summer 09:00 in London is 08:00 UTC.
    assert HOURS.is_open(datetime(2026, 7, 6, 8, 0, tzinfo=UTC))
    assert not HOURS.is_open(datetime(2026, 7, 6, 16, 0, tzinfo=UTC))


def test_adding_within_a_day_and_across_the_night_and_weekend() -> None:
    assert HOURS.add(local(2026, 11, 16, 10, 0), timedelta(hours=2)) == local(2026, 11, 16, 12, 0)
    # 16:00 + 2 h: one hour today, one tomorrow from 09:00.
    assert HOURS.add(local(2026, 11, 16, 16, 0), timedelta(hours=2)) == local(2026, 11, 17, 10, 0)
    # Friday 16:30 + 2 h: half an hour on Friday, 1.5 h on Monday.
    assert HOURS.add(local(2026, 11, 20, 16, 30), timedelta(hours=2)) == local(2026, 11, 23, 10, 30)
    # Saturday night: the clock starts on Monday morning.
    assert HOURS.add(local(2026, 11, 21, 23, 0), timedelta(hours=1)) == local(2026, 11, 23, 10, 0)
    # Several days of working time.
    assert HOURS.add(local(2026, 11, 16, 9, 0), timedelta(hours=20)) == local(2026, 11, 18, 13, 0)


def test_next_open_is_now_during_hours_else_the_next_opening() -> None:
    assert HOURS.next_open(local(2026, 11, 16, 11, 0)) == local(2026, 11, 16, 11, 0)
    assert HOURS.next_open(local(2026, 11, 16, 17, 0)) == local(2026, 11, 17, 9, 0)
    assert HOURS.next_open(local(2026, 11, 20, 22, 0)) == local(2026, 11, 23, 9, 0)


def test_the_october_clock_change_keeps_local_opening_hours() -> None:
    # BST ends at 02:00 on Sunday 25 October 2026. Friday 16:00 BST is 15:00 UTC; two working
    # hours later is Monday 10:00 GMT = 10:00 UTC (not 09:00 UTC, as UTC arithmetic would say).
    friday = datetime(2026, 10, 23, 15, 0, tzinfo=UTC)
    assert friday.astimezone(LONDON).hour == 16
    due = HOURS.add(friday, timedelta(hours=2))
    assert due == datetime(2026, 10, 26, 10, 0, tzinfo=UTC)
    assert due.astimezone(LONDON) == local(2026, 10, 26, 10, 0)


def test_the_march_clock_change_keeps_local_opening_hours() -> None:
    # BST starts at 01:00 UTC on Sunday 29 March 2026. Friday 16:30 GMT + 1 working hour is
    # Monday 09:30 BST = 08:30 UTC.
    due = HOURS.add(datetime(2026, 3, 27, 16, 30, tzinfo=UTC), timedelta(hours=1))
    assert due == datetime(2026, 3, 30, 8, 30, tzinfo=UTC)
    assert not HOURS.is_open(datetime(2026, 3, 30, 16, 0, tzinfo=UTC))  # 17:00 BST


def test_a_working_period_is_eight_real_hours_on_the_days_of_the_change() -> None:
    # A Sunday change never touches 09:00-17:00; with a seven-day week the Sunday of the change
    # is still eight real hours long.
    every_day = WorkingHours(frozenset(range(7)), time(9), time(17), LONDON)
    for sunday in (date(2026, 3, 29), date(2026, 10, 25)):
        opens, closes = every_day.period(sunday)
        assert closes - opens == timedelta(hours=8)


def test_closed_dates_are_skipped() -> None:
    christmas = WorkingHours.from_settings(
        WorkingHoursSettings(closed_dates=(date(2026, 12, 25), date(2026, 12, 28))), LONDON
    )
    # Thursday 24 Dec 16:00 + 2 h: 1 h on Thursday; Friday 25 and Monday 28 are closed.
    assert christmas.add(local(2026, 12, 24, 16, 0), timedelta(hours=2)) == local(
        2026, 12, 29, 10, 0
    )
    assert not christmas.is_open(local(2026, 12, 25, 12, 0))


def test_naive_or_negative_input_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        HOURS.add(datetime(2026, 11, 16, 10, 0), timedelta(hours=1))
    with pytest.raises(ValueError, match="negative"):
        HOURS.add(local(2026, 11, 16, 10, 0), timedelta(hours=-1))


def test_escalation_timing_ordinary_and_immediate() -> None:
    timing = EscalationTiming.from_settings(EscalationSettings(), LONDON)
    assert timing.is_immediate("threat")
    assert timing.is_immediate("safeguarding")
    assert not timing.is_immediate("press")
    night = local(2026, 11, 17, 2, 0)  # Tuesday 02:00
    assert timing.clerk_due(night, immediate=False) == local(2026, 11, 17, 9, 0)
    assert timing.clerk_due(night, immediate=True) == night
    assert timing.next_reminder(night, immediate=False) == local(2026, 11, 17, 11, 0)
    assert timing.next_reminder(night, immediate=True) == local(2026, 11, 17, 2, 30)
    assert timing.deputy_due(night, immediate=False) == local(2026, 11, 17, 13, 0)
    assert timing.deputy_due(night, immediate=True) == local(2026, 11, 17, 2, 30)


def test_working_hours_settings_refuse_unquoted_and_backwards_times() -> None:
    with pytest.raises(ValidationError, match="in quotes"):
        WorkingHoursSettings(end=1020)  # type: ignore[arg-type]  # YAML's reading of 17:00
    with pytest.raises(ValidationError, match="end must be after start"):
        WorkingHoursSettings(start="17:00", end="09:00")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="at least one working day"):
        WorkingHoursSettings(days=())


def test_the_shipped_offences_are_appendix_c_and_automatic_reasons_are_known() -> None:
    settings = Settings(database_url="sqlite://")
    names = [offence.name for offence in settings.escalation.offences.values()]
    assert len(names) == len(set(names)) == 15
    assert "Offences Against the Person Act 1861, s16" in names
    assert "Sexual Offences Act 2003, s14" in names
    # Every piece of legislation an escalating reason code names is on the offence list.
    for reason in settings.policy.reason_codes.values():
        if reason.escalate:
            assert set(reason.legislation) <= set(names)
    with pytest.raises(ValidationError, match="not a policy reason code"):
        Settings(database_url="sqlite://", escalation={"reason_for_code": {"nope": "threat"}})

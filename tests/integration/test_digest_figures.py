"""Every figure of the weekly digest against a known week, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.container import Container, build
from bot.digest import figures
from bot.digest.period import Week, Window
from bot.digest.report import DigestReport, build_report
from bot.digest.working_days import WorkingCalendar
from tests.conftest import MakeSettings
from tests.fakes.classifier import KeywordClassifier
from tests.fakes.clock import FakeClock
from tests.integration.digest_week import build_known_week, utc

MONDAY_MORNING = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


@pytest.fixture
def container(make_settings: MakeSettings) -> Container:
    return build(
        make_settings(council={"name": "Example Town Council"}),
        clock=FakeClock(MONDAY_MORNING),
        classifier=KeywordClassifier(),
    )


@pytest.fixture
def report(container: Container) -> DigestReport:
    build_known_week(container.sessions)
    with container.sessions() as session:
        return build_report(session, container.settings, Week.parse("2026-W47"), MONDAY_MORNING)


def _ids(report: DigestReport) -> tuple[int, int]:
    by_name = {a.name: a.id for a in report.accounts}
    return by_name["fb-main"], by_name["yt-main"]


def test_comments_received_by_account_platform_and_day(report: DigestReport) -> None:
    fb, yt = _ids(report)
    # c1-c8, c11, c12: the Sunday 23:59 comment counts, Monday 00:00:30 next week does not.
    assert report.received.count(0) == 10
    assert report.received.count(0, account=fb) == 7
    assert report.received.count(0, account=yt) == 3
    assert report.received.count(0, accounts=report.account_ids("youtube")) == 3
    assert [report.received.count(0, day=d) for d in range(7)] == [2, 2, 2, 2, 1, 0, 1]
    # W46: c10 (Sunday 23:59:59), c20-c23, c30; W44: c40; W43: c41-c43 (clock change week).
    assert [report.received.count(w) for w in range(5)] == [10, 6, 0, 1, 3]
    assert report.trend(report.received).average == 2.5


def test_flagged(report: DigestReport) -> None:
    _fb, yt = _ids(report)
    assert report.flagged.count(0) == 5  # c2, c4, c6, c11 (review), c12
    assert report.flagged.count(0, account=yt) == 2
    assert [report.flagged.count(0, day=d) for d in range(7)] == [1, 1, 1, 2, 0, 0, 0]
    assert report.flagged.count(1) == 1  # c30


def test_decisions_by_action_leave_out_what_was_undone_that_week(report: DigestReport) -> None:
    assert report.action("approve").this_week == 4  # c10, c1, c22, c21 (not c8: next week)
    assert report.action("hide").this_week == 3  # c2, c3, c6; c4's hide was undone
    assert report.action("delete").this_week == 1
    assert report.action("warn").this_week == 1
    assert report.action("block").this_week == 1
    assert report.action("reply").this_week == 1
    assert report.action("unhide").this_week == 2  # c4, and c30 hidden the week before
    assert report.removed.this_week == 5
    # The week before keeps c30's hide: it was undone only after that week ended.
    assert report.action("hide").previous == 1
    assert report.removed.average == 0.25


def test_removals_by_reason(report: DigestReport) -> None:
    assert report.removals_by_reason() == [
        ("offensive_or_discriminatory", 2),
        ("false_or_misleading", 1),
        ("spam", 1),
        ("violent_or_threatening", 1),
    ]
    assert report.decisions.count(0, category=("delete", "offensive_or_discriminatory")) == 1


def test_criticism_kept_and_removed(report: DigestReport) -> None:
    assert report.criticism.count(0, category=("kept",)) == 5  # c10, c1, c22, c21, c5
    assert report.criticism.count(0, category=("removed",)) == 1
    assert report.criticism_removed_by_reason() == [("false_or_misleading", 1)]


def test_escalations_outcomes_and_referrals(report: DigestReport) -> None:
    fb, yt = _ids(report)
    assert report.escalations.count(0) == 2
    assert report.escalations.count(0, category=("threat", "hidden_referred_police")) == 1
    assert report.escalations.count(0, category=("abuse_of_staff", "open")) == 1
    assert report.escalations.count(0, account=yt) == 2
    # c30's complaint was raised in W46 and decided only after W47: open at both week ends.
    assert report.escalations.count(1, category=("complaint", "open")) == 1
    assert report.open_escalations.total == 2
    assert report.open_escalations.by_account == {fb: 1, yt: 1}
    assert report.open_escalations.oldest == utc(2026, 11, 10, 12)
    assert report.referrals.count(0, category=("hidden_referred_police",)) == 1
    assert report.referrals.count(0, category=("reported_to_platform",)) == 0


def test_time_to_first_action(report: DigestReport) -> None:
    fb, yt = _ids(report)
    # Waits (s) of the 11 comments first acted on in W47, sorted:
    # 900, 1800, 1800, 1800, 3600, 3600, 5400, 7200, 28801, 259200, 410400
    overall = report.wait_trend()
    assert (overall.count, overall.median, overall.p90) == (11, 3600, 259200)
    facebook = report.wait_trend(fb)
    assert (facebook.count, facebook.median, facebook.p90) == (8, 5400, 410400)
    youtube = report.wait_trend(yt)
    assert (youtube.count, youtube.median, youtube.p90) == (3, 1800, 3600)
    assert overall.previous_median == 3600  # c30 alone in W46
    assert overall.average_median == 3600
    bands = [report.wait_bands.count(0, category=(label,)) for label, _ in figures.WAIT_BANDS]
    assert bands == [4, 4, 1, 0, 2]
    assert report.wait_bands.count(0, category=(figures.OVER_A_WEEK,)) == 0


def test_targets_that_fell_due_in_the_week(report: DigestReport) -> None:
    assert report.over_target.count(0, category=("on_time",)) == 8
    assert report.over_target.count(0, category=("late",)) == 1  # c21
    assert report.over_target.count(0, category=("unanswered",)) == 1  # c20
    assert report.over_target.count(0, category=("withdrawn",)) == 1  # c23, deleted by author
    items = report.over_target_items
    assert [(i.received_at, i.due_at, i.first_action_at) for i in items] == [
        (utc(2026, 11, 12, 10), utc(2026, 11, 16, 10), None),
        (utc(2026, 11, 13, 15), utc(2026, 11, 17, 15), utc(2026, 11, 18, 9)),
    ]


def test_standard_responses_block_reviews_and_preserved_records(report: DigestReport) -> None:
    fb, _ = _ids(report)
    assert report.responses.count(0, category=("contact_privately",)) == 1
    # c13 (20 May: review 20 Nov, overdue) and c14 (27 May: due 27 Nov); c15 was unblocked.
    assert report.block_reviews.total == 2
    assert report.block_reviews.overdue == 1
    assert report.block_reviews.by_account == {fb: 2}
    # c2 twice (hide, delete), c3, c4 (its hide was undone; the record stays), c6, c12.
    assert report.preserved.count(0) == 6
    assert report.preserved.count(0, category=("legal_hold",)) == 1
    assert report.preserved.count(1) == 1


def test_outcomes_per_day_for_the_chart(report: DigestReport) -> None:
    def day(i: int) -> dict[str, int]:
        return {
            row.category[0]: row.count for row in report.outcomes.rows if row.day == i and row.count
        }

    assert day(0) == {"approve": 1, "delete": 1}
    assert day(1) == {"hide": 1, "approve": 1}  # c4 was put back up
    assert day(2) == {"reply": 1, "escalate": 1}
    assert day(3) == {"hide": 1, "block": 1}
    assert day(4) == {figures.AWAITING: 1}
    assert day(6) == {figures.AWAITING: 1}  # c8: decided only next week


def test_officers_appear_by_role(report: DigestReport) -> None:
    assert [(line.who, line.decisions) for line in report.officers] == [
        ("SMAT officer A", 9),
        ("SMAT officer B", 5),
        ("Clerk", 2),
    ]


def test_clock_change_weeks_cut_days_at_local_midnight(container: Container) -> None:
    build_known_week(container.sessions)
    with container.sessions() as session:
        october = build_report(session, container.settings, Week.parse("2026-W43"), MONDAY_MORNING)
    # Monday 19 Oct 00:30 BST (Sunday 23:30 UTC) is Monday; both Sunday comments, one in
    # BST and one in GMT, are Sunday; Sunday 18 Oct 23:30 BST is the week before.
    assert [october.received.count(0, day=d) for d in range(7)] == [1, 0, 0, 0, 0, 0, 2]
    window = Window.of(Week.parse("2026-W43"), container.settings.council.tz)
    assert window.bounds[-2] == utc(2026, 10, 24, 23)  # Sunday starts at 00:00 BST
    assert window.bounds[-1] - window.bounds[-2] == timedelta(hours=25)  # the longest day
    assert window.bounds[0] == utc(2026, 9, 20, 23)  # four weeks earlier, in BST


def test_march_clock_change(container: Container) -> None:
    from tests.integration.digest_week import Builder

    with container.sessions.begin() as session:
        b = Builder(session)
        b.account("fb-main", "facebook", "Example Town Council")
        b.comment("sun-late", "fb-main", utc(2026, 3, 29, 22, 59))  # Sun 23:59 BST: W13
        b.comment("mon-early", "fb-main", utc(2026, 3, 29, 23, 30))  # Mon 00:30 BST: W14
        b.comment("sun-early", "fb-main", utc(2026, 3, 29, 0, 30))  # Sun 00:30 GMT: W13
        b.comment("sat-late", "fb-main", utc(2026, 3, 28, 23, 59))  # Sat 23:59 GMT: W13
    with container.sessions() as session:
        march = build_report(session, container.settings, Week.parse("2026-W13"), MONDAY_MORNING)
        after = build_report(session, container.settings, Week.parse("2026-W14"), MONDAY_MORNING)
    assert [march.received.count(0, day=d) for d in range(7)] == [0, 0, 0, 0, 0, 1, 2]
    assert after.received.count(0, day=0) == 1
    assert after.received.count(1) == 3


def test_working_day_deadlines_skip_weekends_and_bank_holidays() -> None:
    from zoneinfo import ZoneInfo

    calendar = WorkingCalendar(ZoneInfo("Europe/London"), "england")
    assert calendar.due(utc(2026, 11, 20, 15), 2) == utc(2026, 11, 24, 15)  # Fri -> Tue
    assert calendar.due(utc(2026, 11, 21, 15), 2) == utc(2026, 11, 25)  # Sat -> end of Tue
    # Thursday 24 Dec: Christmas Day and Boxing Day (substitute Mon 28) are holidays.
    assert calendar.due(utc(2026, 12, 24, 15), 2) == utc(2026, 12, 30, 15)
    # Friday 23 Oct 16:00 BST -> Tuesday 27 Oct 16:00 GMT: same wall-clock time.
    assert calendar.due(utc(2026, 10, 23, 15), 2) == utc(2026, 10, 27, 16)
    none = WorkingCalendar(ZoneInfo("Europe/London"), "none")
    assert none.due(utc(2026, 12, 24, 15), 2) == utc(2026, 12, 28, 15)


@pytest.mark.parametrize(
    ("text", "problem"),
    [("2026-47", "must look like"), ("2026-W54", "no ISO week 54"), ("W47", "must look like")],
)
def test_bad_weeks_are_refused(text: str, problem: str) -> None:
    from bot.digest.period import BadWeek

    with pytest.raises(BadWeek, match=problem):
        Week.parse(text)


def test_2026_week_53_exists() -> None:
    assert Week.parse("2026-W53").monday.isoformat() == "2026-12-28"

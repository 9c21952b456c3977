"""The committee paper's files, the Slack post, the schedule and the reminders."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pypdfium2
import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import select

from bot import scheduler as jobs
from bot.container import Container, build
from bot.digest.period import Week
from storage.models import Account
from tests.conftest import MakeSettings, slack_overrides
from tests.fakes.classifier import KeywordClassifier
from tests.fakes.clock import FakeClock
from tests.fakes.fake_slack import FakeSlack
from tests.integration.digest_week import CLERK, SMAT1, SMAT2, Builder, build_known_week, utc

MONDAY_MORNING = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
PNG = b"\x89PNG\r\n\x1a\n"


def _container(
    make_settings: MakeSettings,
    clock: FakeClock,
    fake_slack: FakeSlack | None = None,
    **overrides: Any,
) -> Container:
    settings: dict[str, Any] = {"council": {"name": "Biggleswade Town Council"}, **overrides}
    if fake_slack is not None:
        settings.update(slack_overrides(fake_slack))
    return build(make_settings(**settings), clock=clock, classifier=KeywordClassifier())


def _pdf_text(path: Path) -> str:
    document = pypdfium2.PdfDocument(str(path))
    try:
        return "\n".join(page.get_textpage().get_text_range() for page in document)
    finally:
        document.close()


def test_the_paper_and_its_files(make_settings: MakeSettings, tmp_path: Path) -> None:
    container = _container(make_settings, FakeClock(MONDAY_MORNING))
    build_known_week(container.sessions)
    files = container.digest().generate(Week.parse("2026-W47"), tmp_path)

    assert files.folder == tmp_path.resolve() / "2026-W47"
    text = _pdf_text(files.pdf)
    flat = " ".join(text.split())
    for expected in (
        "Biggleswade Town Council",
        "Finance & General Purposes Committee",
        "Social media moderation report, week 47 (16\u201322 November 2026)",
        "10 comments were received",
        "Criticism kept and removed",
        "Appendix A",
        "SMAT officer A",
    ):
        assert expected in flat
    # No resident is named or quoted; officers appear by role.
    for private in ("Resident c", "secret resident words", "Sam One", "Jane Clerk", SMAT1):
        assert private not in text
    html = files.html.read_text("utf-8")
    assert "<h2>1. Summary</h2>" in html
    assert "data:image/png;base64," in html
    assert "Resident c" not in html
    assert "Sam One" not in html
    for chart in files.charts:
        assert chart.read_bytes().startswith(PNG)
    assert [c.name for c in files.charts] == [
        "smat-digest-2026-W47-volume-by-day.png",
        "smat-digest-2026-W47-removals-by-reason.png",
        "smat-digest-2026-W47-time-to-first-action.png",
    ]
    rows = list(csv.DictReader(io.StringIO(files.csv.read_text("utf-8"))))
    received = next(
        r for r in rows if r["figure"] == "Comments received" and r["account"] == "All accounts"
    )
    assert (received["this_week"], received["previous_week"], received["change"]) == (
        "10",
        "6",
        "4",
    )
    assert received["four_week_average"] == "2.50"
    median = next(
        r for r in rows if r["figure"].startswith("Median") and r["account"] == "All accounts"
    )
    assert median["this_week"] == "3600"
    assert "10 comments were received" in files.summary


def test_officers_are_named_when_the_council_says_so(
    make_settings: MakeSettings, tmp_path: Path
) -> None:
    container = _container(make_settings, FakeClock(MONDAY_MORNING), digest={"name_officers": True})
    build_known_week(container.sessions)
    files = container.digest().generate(Week.parse("2026-W47"), tmp_path)
    assert "smatone (SMAT officer)" in files.html.read_text("utf-8")


def test_an_empty_week_still_reads(make_settings: MakeSettings, tmp_path: Path) -> None:
    container = _container(make_settings, FakeClock(MONDAY_MORNING))
    files = container.digest().generate(Week.parse("2026-W47"), tmp_path)
    assert "No comments were received" in files.summary
    assert "No comment was removed for criticism of the council." in files.summary
    assert files.pdf.read_bytes().startswith(b"%PDF")


def test_posted_to_slack_with_the_pdf_and_charts(
    make_settings: MakeSettings, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    container = _container(
        make_settings, FakeClock(MONDAY_MORNING), fake_slack, digest={"out_dir": str(tmp_path)}
    )
    build_known_week(container.sessions)
    service = container.digest()
    files = service.generate(Week.parse("2026-W47"))
    assert service.queue_post(files)
    assert not service.queue_post(files)  # each week is posted once
    assert container.outbox.deliver_due().delivered == 1

    [message] = fake_slack.messages("#smat-reports")
    assert "10 comments were received" in message["text"]
    assert message["blocks"][0]["text"]["text"].startswith("Biggleswade Town Council: Social")
    shared = fake_slack.files("#smat-reports")
    assert [f.filename for f in shared] == [p.name for p in files.all]
    assert shared[0].content == files.pdf.read_bytes()
    assert all(f.thread_ts == message["ts"] for f in shared)
    assert fake_slack.calls("files.completeUploadExternal", ok=True)


def test_the_weekly_job_fires_on_monday_morning_council_time(
    make_settings: MakeSettings,
    fake_slack: FakeSlack,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = FakeClock(datetime(2026, 11, 22, 12, 0, tzinfo=UTC))  # Sunday
    container = _container(make_settings, clock, fake_slack, digest={"out_dir": str(tmp_path)})
    build_known_week(container.sessions)
    scheduler = BackgroundScheduler(timezone=container.settings.council.tz)
    scheduler.add_jobstore("memory", alias="volatile")
    jobs.schedule_reports(scheduler, container)
    monkeypatch.setattr(jobs, "_container", container)
    by_id = {job.id: job for job in scheduler.get_jobs()}
    assert {"weekly-digest", "digest-catch-up", "sla-reminder", "clerk-summary"} <= set(by_id)

    fires = by_id["weekly-digest"].trigger.get_next_fire_time(None, clock.now)
    assert fires == datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # Monday 08:00 GMT
    summer = by_id["weekly-digest"].trigger.get_next_fire_time(None, utc(2026, 6, 14, 12))
    assert summer == datetime(2026, 6, 15, 7, 0, tzinfo=UTC)  # 08:00 BST

    clock.now = fires
    jobs.weekly_digest_job()
    jobs.weekly_digest_job()  # a second run (a restart) posts nothing more
    container.outbox.deliver_due()
    assert len(fake_slack.messages("#smat-reports")) == 1
    assert (tmp_path / "2026-W47" / "smat-digest-2026-W47.pdf").is_file()
    assert len(fake_slack.files("#smat-reports")) == 6


def test_a_digest_missed_while_down_is_caught_up(
    make_settings: MakeSettings,
    fake_slack: FakeSlack,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = FakeClock(datetime(2026, 11, 23, 7, 0, tzinfo=UTC))  # Monday, before 08:00
    container = _container(make_settings, clock, fake_slack, digest={"out_dir": str(tmp_path)})
    monkeypatch.setattr(jobs, "_container", container)
    clock.now = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    jobs.digest_catch_up_job()  # a new install: nothing posted before, so nothing to catch up
    assert not container.digest().already_queued(Week.parse("2026-W47"))
    clock.now = datetime(2026, 11, 16, 8, 0, tzinfo=UTC)
    container.digest().run_scheduled()  # last Monday's paper went out as planned
    clock.now = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
    jobs.digest_catch_up_job()  # Monday before 08:00: not due yet
    assert not container.digest().already_queued(Week.parse("2026-W47"))
    clock.now = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)  # Tuesday: Monday's run was missed
    jobs.digest_catch_up_job()
    assert container.digest().already_queued(Week.parse("2026-W47"))


def test_sla_reminder_lists_items_over_target_oldest_first(
    make_settings: MakeSettings, fake_slack: FakeSlack
) -> None:
    clock = FakeClock(datetime(2026, 11, 19, 9, 0, tzinfo=UTC))  # Thursday 09:00
    container = _container(make_settings, clock, fake_slack)
    with container.sessions.begin() as session:
        b = Builder(session)
        b.account("fb-main", "facebook", "Example Town Council")
        b.comment("newer", "fb-main", utc(2026, 11, 16, 8), post_title="Bins")  # due Wed 08:00
        b.comment("oldest", "fb-main", utc(2026, 11, 13, 9), post_title="Parking")  # Tue 09:00
        b.comment("weekend", "fb-main", utc(2026, 11, 14, 9), post_title="Park")  # end of Tue
        b.comment("not-yet", "fb-main", utc(2026, 11, 17, 10))  # due Thu 10:00: not yet
        b.comment("answered", "fb-main", utc(2026, 11, 12, 9))
        b.decide("answered-approve", "answered", "approve", utc(2026, 11, 12, 10))
        b.comment("withdrawn", "fb-main", utc(2026, 11, 12, 9), deleted_at=utc(2026, 11, 12, 11))
    reminders = container.reminders()
    assert reminders.queue_sla_reminder() == 3
    assert reminders.queue_sla_reminder() == 3  # queued again the same day: posted once
    container.outbox.deliver_due()
    [message] = fake_slack.messages("#smat-triage")
    text = message["text"]
    assert "3 comments" not in text
    assert "three comments have waited longer than the 2-working-day" in text
    assert text.index('"Parking"') < text.index('"Park"') < text.index('"Bins"')
    assert "secret resident words" not in text


def test_clerk_morning_summary_of_open_escalations(
    make_settings: MakeSettings, fake_slack: FakeSlack
) -> None:
    clock = FakeClock(datetime(2026, 11, 23, 8, 30, tzinfo=UTC))
    container = _container(make_settings, clock, fake_slack)
    build_known_week(container.sessions)
    # The rows are as they stand now: the complaint and the threat have outcomes.
    with container.sessions.begin() as session:
        b = Builder(session)
        b.accounts["fb-main"] = session.scalars(
            select(Account).where(Account.name == "fb-main")
        ).one()
        b.comment("old", "fb-main", utc(2026, 11, 2, 9))
        b.escalate("old", "defamation_legal", utc(2026, 11, 2, 10))
    assert container.reminders().queue_clerk_summary() == 2
    container.outbox.deliver_due()
    [dm] = fake_slack.messages(CLERK)
    assert "Two escalations are waiting for your decision" in dm["text"]
    # Oldest first: the legal matter from 2 Nov, then the abuse of staff from 18 Nov.
    assert dm["text"].index("Defamation or legal") < dm["text"].index("Abuse of staff")
    assert "Threat" not in dm["text"]  # decided: hidden and referred to the police
    assert "Complaint" not in dm["text"]  # decided (upheld)
    assert not fake_slack.messages(SMAT2)


def test_clerk_summary_goes_to_the_escalation_channel_without_a_clerk(
    make_settings: MakeSettings, fake_slack: FakeSlack
) -> None:
    clock = FakeClock(datetime(2026, 11, 23, 8, 30, tzinfo=UTC))
    container = _container(make_settings, clock, fake_slack)
    with container.sessions.begin() as session:
        b = Builder(session)
        b.account("fb-main", "facebook", "Example Town Council")
        b.comment("c", "fb-main", utc(2026, 11, 20, 9))
        b.escalate("c", "press", utc(2026, 11, 20, 10))
    assert container.reminders().queue_clerk_summary() == 1
    container.outbox.deliver_due()
    [message] = fake_slack.messages("#smat-escalations")
    assert "Press enquiry" in message["text"]

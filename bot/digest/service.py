"""Makes the weekly paper (files on disk) and queues it for Slack through the outbox."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock
from bot.digest import charts
from bot.digest.appendix_csv import render_csv
from bot.digest.paper import build_paper
from bot.digest.paper_html import render_html
from bot.digest.paper_pdf import render_pdf
from bot.digest.period import Week
from bot.digest.report import build_report
from bot.digest.slack_post import DIGEST_KIND
from bot.digest.working_days import WorkingCalendar
from bot.services.outbox import enqueue
from config.settings import WEEKDAYS, Settings
from storage.db import reading
from storage.models import OutboxMessage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DigestFiles:
    """What one run wrote: the paper, the appendix and the charts, and the summary text."""

    week: Week
    folder: Path
    html: Path
    pdf: Path
    csv: Path
    charts: tuple[Path, ...]
    summary: str
    period: str

    @property
    def all(self) -> tuple[Path, ...]:
        """Every file, the PDF first (the one to open)."""
        return (self.pdf, self.html, self.csv, *self.charts)


def outbox_key(week: Week) -> str:
    """The idempotency key of a week's Slack post: each week is posted once."""
    return f"{DIGEST_KIND}:{week.label}"


class DigestService:
    """Builds the committee paper for a week and queues it for the digest channel."""

    def __init__(self, sessions: sessionmaker[Session], settings: Settings, clock: Clock) -> None:
        self._sessions = sessions
        self._settings = settings
        self._clock = clock

    @property
    def channel(self) -> str:
        """Where the paper is posted."""
        return self._settings.digest.channel or self._settings.slack.channels.digest

    def last_full_week(self) -> Week:
        """The ISO week before the current local one."""
        return Week.before(self._clock(), self._settings.council.tz)

    def generate(self, week: Week | None = None, out_dir: Path | None = None) -> DigestFiles:
        """Write the paper (HTML, PDF), the CSV appendix and the charts for ``week``."""
        settings = self._settings
        week = week or self.last_full_week()
        reasons = settings.policy.reason_codes
        labels = {code: reason.label for code, reason in reasons.items()}
        clauses = {code: reason.clause for code, reason in reasons.items()}
        titles = {key: response.title for key, response in settings.canned_responses.items()}
        with reading(self._sessions) as session:
            report = build_report(session, settings, week, self._clock())
        calendar = WorkingCalendar(settings.council.tz, settings.digest.bank_holidays)
        paper = build_paper(report, labels, clauses, titles, calendar)
        drawn = charts.all_charts(report, labels)
        pngs = {chart.name: chart.png for chart in drawn}
        folder = (out_dir or settings.digest.out_dir).expanduser().resolve() / week.label
        folder.mkdir(parents=True, exist_ok=True)
        stem = paper.filename_stem
        html = folder / f"{stem}.html"
        html.write_text(render_html(paper, pngs), encoding="utf-8")
        pdf = folder / f"{stem}.pdf"
        pdf.write_bytes(render_pdf(paper, pngs))
        csv_path = folder / f"{stem}-figures.csv"
        csv_path.write_text(render_csv(report), encoding="utf-8")
        chart_paths = []
        for chart in drawn:
            path = folder / f"{stem}-{chart.name}.png"
            path.write_bytes(chart.png)
            chart_paths.append(path)
        log.info("digest %s written to %s", week.label, folder)
        return DigestFiles(
            week,
            folder,
            html,
            pdf,
            csv_path,
            tuple(chart_paths),
            " ".join(paper.summary),
            paper.period,
        )

    def queue_post(self, files: DigestFiles) -> bool:
        """Queue the Slack post of these files; False when this week was already queued."""
        now = self._clock()
        key = outbox_key(files.week)
        with self._sessions.begin() as session:
            if self._queued(session, key):
                return False
            enqueue(
                session,
                kind=DIGEST_KIND,
                key=key,
                payload={
                    "channel": self.channel,
                    "week": files.week.label,
                    "period": files.period,
                    "council": self._settings.council.name,
                    "committee": self._settings.digest.committee,
                    "summary": files.summary,
                    "files": [str(path) for path in files.all],
                },
                priority=10,
                now=now,
            )
        return True

    def already_queued(self, week: Week) -> bool:
        """Whether this week's paper has been queued for Slack already."""
        with reading(self._sessions) as session:
            return self._queued(session, outbox_key(week))

    @staticmethod
    def _queued(session: Session, key: str) -> bool:
        found = session.scalar(select(OutboxMessage.id).where(OutboxMessage.idempotency_key == key))
        return found is not None

    def run_scheduled(self) -> DigestFiles | None:
        """The weekly job: the paper for the last full week, made and queued once."""
        week = self.last_full_week()
        if self.already_queued(week):
            log.info("digest %s already posted; not making it again", week.label)
            return None
        files = self.generate(week)
        self.queue_post(files)
        return files

    def due_but_missed(self) -> bool:
        """Whether this week's scheduled time has passed without the paper being queued.

        Used at start-up: a bot that was down at the scheduled time catches up. A new
        install (no paper posted yet) waits for its first scheduled time instead.
        """
        digest = self._settings.digest
        tz = self._settings.council.tz
        now = self._clock().astimezone(tz)
        hour, minute = (int(part) for part in digest.time.split(":"))
        monday = now.date() - timedelta(days=now.weekday())
        slot_day = monday + timedelta(days=WEEKDAYS.index(digest.day))
        slot = datetime.combine(slot_day, time(hour, minute), tzinfo=tz)
        if now < slot or self.already_queued(self.last_full_week()):
            return False
        with reading(self._sessions) as session:
            posted_before = session.scalar(
                select(OutboxMessage.id)
                .where(OutboxMessage.idempotency_key.startswith(f"{DIGEST_KIND}:"))
                .limit(1)
            )
        return posted_before is not None

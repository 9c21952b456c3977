"""Background jobs (APScheduler): poll each account at its own interval, deliver the outbox.

Poll jobs live in a job store in the bot's own database, so their timing survives a restart
(a restart does not make every account poll at once). Jobs are stored by reference to the
module-level functions below, which run against the container that started the scheduler.
Where each poll resumes is not the job's business: that is the account's stored watermark.
"""

from __future__ import annotations

import logging

from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from bot.container import Container
from bot.leader import elect_scheduler_leader

log = logging.getLogger(__name__)

OUTBOX_INTERVAL_SECONDS = 5
CLASSIFY_INTERVAL_SECONDS = 30
ESCALATION_INTERVAL_SECONDS = 60
POLL_JOB_PREFIX = "poll:"

_container: Container | None = None


def start_scheduler(container: Container) -> BackgroundScheduler:
    """Start the background jobs and return the scheduler (call ``shutdown()`` to stop it)."""
    global _container
    _container = container
    scheduler = BackgroundScheduler(
        jobstores={
            "default": SQLAlchemyJobStore(engine=container.engine, tablename="scheduler_jobs"),
            "volatile": MemoryJobStore(),
        },
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
        timezone=container.settings.council.timezone,
    )
    scheduler.add_job(
        deliver_outbox_job,
        "interval",
        seconds=OUTBOX_INTERVAL_SECONDS,
        id="deliver-outbox",
        jobstore="volatile",
    )
    scheduler.add_job(
        classify_pending_job,
        "interval",
        seconds=CLASSIFY_INTERVAL_SECONDS,
        id="classify-pending",
        jobstore="volatile",
    )
    scheduler.add_job(
        escalation_reminders_job,
        "interval",
        seconds=ESCALATION_INTERVAL_SECONDS,
        id="escalation-reminders",
        jobstore="volatile",
    )
    schedule_records_jobs(scheduler, container)
    schedule_reports(scheduler, container)
    # Paused until this process leads: of several processes on one database only the leader
    # runs jobs and reconciles the stored ones (bot/leader.py); a lone process leads at once.
    scheduler.start(paused=True)
    elect_scheduler_leader(
        scheduler,
        container.engine,
        container.settings.operations.leader_retry_seconds,
        take_over=lambda: schedule_polls(scheduler, container),
    )
    return scheduler


REPORT_GRACE_SECONDS = 6 * 3600
"""A report job that could not run on time (a busy or sleeping machine) still runs this late."""


def schedule_reports(scheduler: BackgroundScheduler, container: Container) -> None:
    """Cron jobs for the weekly digest, the SLA reminder and the Clerk's summary (council time).

    They live in the volatile store: a cron trigger needs no memory across restarts, and a
    digest missed while the bot was down is caught up once at start-up instead.
    """
    settings = container.settings
    tz = settings.council.tz
    if settings.digest.enabled:
        hour, minute = settings.digest.time.split(":")
        scheduler.add_job(
            weekly_digest_job,
            "cron",
            day_of_week=settings.digest.day,
            hour=int(hour),
            minute=int(minute),
            timezone=tz,
            id="weekly-digest",
            jobstore="volatile",
            misfire_grace_time=REPORT_GRACE_SECONDS,
            replace_existing=True,
        )
        scheduler.add_job(digest_catch_up_job, id="digest-catch-up", jobstore="volatile")
    days = ",".join(settings.sla.days)
    if settings.sla.reminders:
        hour, minute = settings.sla.time.split(":")
        scheduler.add_job(
            sla_reminder_job,
            "cron",
            day_of_week=days,
            hour=int(hour),
            minute=int(minute),
            timezone=tz,
            id="sla-reminder",
            jobstore="volatile",
            misfire_grace_time=REPORT_GRACE_SECONDS,
            replace_existing=True,
        )
    if settings.sla.clerk_summary:
        hour, minute = settings.sla.clerk_summary_time.split(":")
        scheduler.add_job(
            clerk_summary_job,
            "cron",
            day_of_week=days,
            hour=int(hour),
            minute=int(minute),
            timezone=tz,
            id="clerk-summary",
            jobstore="volatile",
            misfire_grace_time=REPORT_GRACE_SECONDS,
            replace_existing=True,
        )


def weekly_digest_job() -> None:
    """Make last week's committee paper and queue it for Slack (a scheduled job)."""
    files = _running().digest().run_scheduled()
    if files is not None:
        log.info("digest %s made in %s", files.week.label, files.folder)


def digest_catch_up_job() -> None:
    """At start-up: make this week's paper if its scheduled time passed while the bot was down."""
    service = _running().digest()
    if service.due_but_missed():
        log.info("catching up on the weekly digest missed while the bot was down")
        service.run_scheduled()


def sla_reminder_job() -> None:
    """Remind the triage channel of items older than the target (a scheduled job)."""
    listed = _running().reminders().queue_sla_reminder()
    if listed:
        log.info("SLA reminder lists %d item(s)", listed)


def clerk_summary_job() -> None:
    """Send the Clerk the morning summary of open escalations (a scheduled job)."""
    listed = _running().reminders().queue_clerk_summary()
    if listed:
        log.info("Clerk summary lists %d open escalation(s)", listed)


def schedule_polls(scheduler: BackgroundScheduler, container: Container) -> None:
    """One poll job per configured account; jobs of accounts no longer configured are removed."""
    settings = container.settings
    wanted = (
        {f"{POLL_JOB_PREFIX}{a.name}": a for a in settings.accounts}
        if settings.polling.enabled
        else {}
    )
    for job in scheduler.get_jobs(jobstore="default"):
        if job.id.startswith(POLL_JOB_PREFIX) and job.id not in wanted:
            job.remove()
    for job_id, account in wanted.items():
        existing = scheduler.get_job(job_id, jobstore="default")
        interval = account.poll_minutes * 60
        if existing is not None and getattr(existing.trigger, "interval_length", None) == interval:
            continue  # keep its stored next run time across the restart
        scheduler.add_job(
            poll_job,
            "interval",
            minutes=account.poll_minutes,
            jitter=settings.polling.jitter_seconds,  # spread polls so accounts do not fire together
            args=[account.name],
            id=job_id,
            jobstore="default",
            replace_existing=True,
        )


def poll_job(account_name: str) -> None:
    """Poll one account (a scheduled job)."""
    container = _running()
    outcome = container.poller().poll(container.account(account_name))
    if outcome.error:
        log.warning("poll %s: %s", account_name, outcome.error)
    elif outcome.fetched:
        log.info(
            "poll %s: %d fetched, %d new, %d edited",
            account_name,
            outcome.fetched,
            outcome.new,
            outcome.edited,
        )


def deliver_outbox_job() -> None:
    """Deliver due outbox messages (a scheduled job)."""
    report = _running().outbox.deliver_due()
    if report.delivered or report.retrying:
        log.info("outbox: %d delivered, %d to retry", report.delivered, report.retrying)


def classify_pending_job() -> None:
    """Classify anything stored but not yet classified, e.g. after a crash or a webhook."""
    classified = _running().ingest().classify_pending()
    if classified:
        log.info("classified %d pending comment version(s)", classified)


def escalation_reminders_job() -> None:
    """Send the Clerk's due DMs and reminders, and ping the Deputy when it is time."""
    report = _running().escalations().send_reminders()
    if report.clerk_cards or report.reminders or report.deputies:
        log.info(
            "escalations: %d Clerk DM(s), %d reminder(s), %d Deputy ping(s) queued",
            report.clerk_cards,
            report.reminders,
            report.deputies,
        )


def schedule_records_jobs(scheduler: BackgroundScheduler, container: Container) -> None:
    """The daily retention purge and the daily check for block reviews due (local times)."""
    retention = container.settings.retention
    if retention.purge_enabled:
        hour, minute = (int(part) for part in retention.purge_at.split(":"))
        scheduler.add_job(
            retention_purge_job,
            "cron",
            hour=hour,
            minute=minute,
            id="retention-purge",
            jobstore="volatile",
            replace_existing=True,
        )
    hour, minute = (int(part) for part in container.settings.blocked_authors.remind_at.split(":"))
    scheduler.add_job(
        block_reviews_job,
        "cron",
        hour=hour,
        minute=minute,
        id="block-reviews",
        jobstore="volatile",
        replace_existing=True,
    )


def retention_purge_job() -> None:
    """Purge what has passed its retention period (a scheduled job)."""
    report = _running().purge().purge(started_by="scheduler")
    if report.total:
        log.info("retention purge: %d comment(s) purged", report.total)


def block_reviews_job() -> None:
    """Queue reminders to the Clerk for block reviews that have fallen due (a scheduled job)."""
    _running().blocks.queue_due_reminders()


def _running() -> Container:
    if _container is None:
        raise RuntimeError("the scheduler's jobs ran before start_scheduler()")
    return _container

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

"""Background jobs (APScheduler): deliver the outbox; later issues add polling and digests."""

from __future__ import annotations

import logging

from apscheduler.schedulers.background import BackgroundScheduler

from bot.container import Container

log = logging.getLogger(__name__)

OUTBOX_INTERVAL_SECONDS = 5


def start_scheduler(container: Container) -> BackgroundScheduler:
    """Start the background jobs and return the scheduler (call ``shutdown()`` to stop it)."""
    scheduler = BackgroundScheduler(timezone=container.settings.council.timezone)
    scheduler.add_job(
        _deliver_outbox,
        "interval",
        seconds=OUTBOX_INTERVAL_SECONDS,
        args=[container],
        id="deliver-outbox",
        max_instances=1,  # never two deliveries at once in one process
        coalesce=True,
    )
    scheduler.add_job(
        _classify_pending,
        "interval",
        seconds=30,
        args=[container],
        id="classify-pending",
        max_instances=1,
        coalesce=True,
    )
    scheduler.start()
    return scheduler


def _deliver_outbox(container: Container) -> None:
    report = container.outbox.deliver_due()
    if report.delivered or report.retrying:
        log.info("outbox: %d delivered, %d to retry", report.delivered, report.retrying)


def _classify_pending(container: Container) -> None:
    # Picks up anything stored but not classified (e.g. after a crash mid-import).
    classified = container.ingest().classify_pending()
    if classified:
        log.info("classified %d pending comment version(s)", classified)

"""Prometheus metrics: what the bot has done since this process started, and what is waiting.

Counters live in one registry of this module, so a service records an event with one line
(``metrics.COMMENTS_INGESTED.labels(...).inc()``) and needs nothing passed in. Figures that
belong to the database rather than to a process (outbox depth, items awaiting triage) are read
at scrape time by :class:`DatabaseCollector`, so every process reports the same, current value.
Each process is scraped on its own; sum the counters across processes in queries.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from storage.db import reading
from storage.models import OutboxMessage, ReviewItem

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

REGISTRY = CollectorRegistry(auto_describe=True)

COMMENTS_INGESTED = Counter(
    "smat_comments_ingested",
    "Comments received, by outcome: new, edited (a new version) or unchanged (seen before).",
    ["outcome"],
    registry=REGISTRY,
)
COMMENTS_CLASSIFIED = Counter(
    "smat_comments_classified",
    "Comment versions classified, by model and suggested action.",
    ["model", "suggested"],
    registry=REGISTRY,
)
CLASSIFICATION_SECONDS = Histogram(
    "smat_classification_seconds",
    "Time to score one batch of comments with the classifier and the rule detectors.",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
    registry=REGISTRY,
)
CLASSIFICATION_BATCH = Histogram(
    "smat_classification_batch_size",
    "Comments per classification batch.",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
    registry=REGISTRY,
)
CARDS_QUEUED = Counter(
    "smat_review_items_queued",
    "Comments put in the triage queue (a new card, or an edited comment back in triage).",
    ["suggested"],
    registry=REGISTRY,
)
DECISIONS = Counter(
    "smat_decisions",
    "Decisions recorded, by action.",
    ["action"],
    registry=REGISTRY,
)
DECISIONS_REFUSED = Counter(
    "smat_decisions_refused",
    "Decision attempts refused (stale card, not allowed, ...), by reason.",
    ["code"],
    registry=REGISTRY,
)
OUTBOX_DELIVERED = Counter(
    "smat_outbox_delivered",
    "Outbox messages delivered, by kind.",
    ["kind"],
    registry=REGISTRY,
)
OUTBOX_RETRIES = Counter(
    "smat_outbox_retries",
    "Outbox deliveries that failed and were rescheduled, by kind and cause.",
    ["kind", "cause"],
    registry=REGISTRY,
)
ACTION_FAILURES = Counter(
    "smat_action_failures",
    "Platform actions (hide, delete, block, reply) that failed, by platform and error.",
    ["platform", "error"],
    registry=REGISTRY,
)
SLACK_REQUEST_SECONDS = Histogram(
    "smat_http_request_seconds",
    "Time to answer an HTTP request (for /slack/events: the acknowledgement Slack waits for).",
    ["path"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
    registry=REGISTRY,
)
SCHEDULER_LEADER = Gauge(
    "smat_scheduler_leader",
    "1 while this process runs the scheduled jobs (leader election), else 0.",
    registry=REGISTRY,
)


class DatabaseCollector(Collector):
    """Reads queue depths from the database at scrape time."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def collect(self) -> Iterator[Metric]:
        """Outbox messages and review items by status; whether the database answered."""
        up = GaugeMetricFamily(
            "smat_database_up", "1 if the database answered this scrape's queries, else 0."
        )
        outbox = GaugeMetricFamily(
            "smat_outbox_depth", "Outbox messages not yet delivered, by status.", labels=["status"]
        )
        items = GaugeMetricFamily("smat_review_items", "Review items by status.", labels=["status"])
        try:
            with reading(self._sessions) as session:
                by_status = dict(
                    session.execute(
                        select(OutboxMessage.status, func.count())
                        .where(OutboxMessage.status != "done")
                        .group_by(OutboxMessage.status)
                    ).all()
                )
                item_counts = dict(
                    session.execute(
                        select(ReviewItem.status, func.count()).group_by(ReviewItem.status)
                    ).all()
                )
        except Exception:
            # The counters are still worth scraping while the database is away.
            up.add_metric([], 0.0)
            yield up
            return
        up.add_metric([], 1.0)
        yield up
        for status in ("pending", "in_progress"):
            outbox.add_metric([status], float(by_status.pop(status, 0)))
        for status, count in sorted(by_status.items()):
            outbox.add_metric([str(status)], float(count))
        for status, count in sorted(item_counts.items()):
            items.add_metric([str(status)], float(count))
        yield outbox
        yield items


def exposition(sessions: sessionmaker[Session] | None) -> bytes:
    """The Prometheus text exposition: this process's counters plus the database's depths."""
    body = generate_latest(REGISTRY)
    if sessions is not None:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(DatabaseCollector(sessions))
        body += generate_latest(registry)
    return body

"""Ingestion: every source's comments take one path — store, classify, queue for triage.

Storing and classifying are separate steps on purpose: model inference must not hold a database
transaction open, and a crash between the two leaves unclassified versions that the next
``classify_pending`` picks up, so nothing is lost.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from itertools import islice
from typing import Any, cast

from sqlalchemy import Table, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot import metrics
from bot.clock import Clock
from bot.hashing import content_sha256
from bot.services.outbox import Message, enqueue, enqueue_many
from classifiers.base import Classifier
from classifiers.detectors import RuleDetectors
from classifiers.policy import SuggestedAction, Suggestion, suggest
from config.settings import DetectorSettings, PolicySettings
from platforms.types import IncomingComment, Platform
from storage.audit.capture import insert_logged
from storage.db import reading
from storage.models import (
    Account,
    Author,
    Classification,
    Comment,
    CommentVersion,
    RemovalRequest,
    ReviewItem,
)

log = logging.getLogger(__name__)

REVIEW_ITEMS = cast(Table, ReviewItem.__table__)

AutoEscalate = Callable[[Session, ReviewItem, Classification, datetime], object]
"""Escalates a newly classified item the policy suggests escalating (it is called for those
alone), inside ingest's transaction."""

STORE_BATCH = 500
CLASSIFY_BATCH = 256
"""Versions classified and recorded together. Each batch costs a few queries, a commit and a
call into the language models besides its rows: at 64 that was a third of an import's queue
step (bench/ingest.py). The classifier still scores in its own smaller batches, and the
transaction opens only after scoring, so a bigger batch only means cards arrive in bigger
groups during a backlog."""

PRIORITY = {
    SuggestedAction.ESCALATE: 30,
    SuggestedAction.HIDE: 20,
    SuggestedAction.REVIEW: 10,
    SuggestedAction.APPROVE: 0,
}
"""Flagged comments reach Slack first when there is a queue."""


@dataclass
class StoreReport:
    """What storing a batch of incoming comments did."""

    new: int = 0
    edited: int = 0
    unchanged: int = 0


@dataclass(frozen=True)
class ClassifiedVersion:
    """One comment version's scores, detections and the policy's suggestion."""

    comment_version_id: int
    scores: dict[str, float]
    detections: dict[str, list[str]]
    suggestion: Suggestion


class IngestService:
    """Stores incoming comments exactly once, classifies new versions and queues their cards."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        classifier: Classifier,
        policy: PolicySettings,
        clock: Clock,
        detectors: RuleDetectors | None = None,
        *,
        tz: tzinfo = UTC,
        repeated_text_threshold: int = 3,
        escalate: AutoEscalate | None = None,
    ) -> None:
        self._sessions = sessions
        self._classifier = classifier
        self._policy = policy
        self._clock = clock
        self._detectors = detectors or RuleDetectors(DetectorSettings())
        self._tz = tz
        self._repeated_text_threshold = repeated_text_threshold
        self._escalate = escalate
        self._classified_through = 0  # every version up to this id is classified or taken

    def ingest(self, comments: Iterable[IncomingComment]) -> StoreReport:
        """Store the comments, then classify and queue everything not yet classified."""
        report = self.store(comments)
        self.classify_pending()
        return report

    def store(self, comments: Iterable[IncomingComment]) -> StoreReport:
        """Store comments (new ones and edits), in batches of one transaction each."""
        report = StoreReport()
        iterator = iter(comments)
        while batch := list(islice(iterator, STORE_BATCH)):
            try:
                done = self._store_batch(batch)
            except IntegrityError:
                # A webhook and a poll stored the same comment or author at the same moment
                # (PostgreSQL); the other side's rows are committed now, so one retry settles it.
                log.info("concurrent insert while storing; retrying the batch")
                done = self._store_batch(batch)
            report.new += done.new
            report.edited += done.edited
            report.unchanged += done.unchanged
            for outcome in ("new", "edited", "unchanged"):
                metrics.COMMENTS_INGESTED.labels(outcome).inc(getattr(done, outcome))
        return report

    def _store_batch(self, batch: Sequence[IncomingComment]) -> StoreReport:
        report = StoreReport()
        with self._sessions.begin() as session:
            _Batch(session, self._clock).store(batch, report)
        return report

    def mark_deleted(self, platform: Platform, removed: Sequence[tuple[str, str]]) -> int:
        """Record comments their authors deleted (account id, comment id); refresh their cards."""
        now = self._clock()
        marked = 0
        with self._sessions.begin() as session:
            for account_external_id, comment_external_id in removed:
                comment = session.scalar(
                    select(Comment)
                    .join(Account, Account.id == Comment.account_id)
                    .where(
                        Account.platform == platform.value,
                        Account.external_id == account_external_id,
                        Comment.external_id == comment_external_id,
                        Comment.deleted_at.is_(None),
                    )
                )
                if comment is None:
                    continue  # unknown to us, or already marked: a repeated delivery
                comment.deleted_at = now
                marked += 1
                item = session.scalar(select(ReviewItem).where(ReviewItem.comment_id == comment.id))
                if item is not None:
                    enqueue(
                        session,
                        kind="slack.sync_card",
                        key=f"slack.sync_card:{item.id}:deleted",
                        payload={"review_item_id": item.id},
                        priority=item.priority,
                        now=now,
                    )
        return marked

    def classify_pending(self) -> int:
        """Classify current comment versions that have no classification yet; return how many."""
        total = 0
        while True:
            # Each batch starts where the last one ended, and so does this service's next call
            # (an import calls once a chunk): everything before it is classified (or was taken
            # by another caller), and rescanning it would make a long import quadratic. New and
            # edited versions always get higher ids. On PostgreSQL a version committed after
            # one with a higher id can be passed over; the scheduler's pass, with a new service
            # that starts from the beginning, classifies it.
            with reading(self._sessions) as session:
                pending = _pending_versions(session, CLASSIFY_BATCH, self._classified_through)
            if not pending:
                return total
            with metrics.CLASSIFICATION_SECONDS.time():
                results = self._classify(pending)
            metrics.CLASSIFICATION_BATCH.observe(len(results))
            with self._sessions.begin() as session:
                recorded = self._record(session, results)
            self._classified_through = pending[-1].id
            model = self._classifier.model.name
            suggested = Counter(result.suggestion.action.value for result in recorded)
            for action, count in suggested.items():
                metrics.COMMENTS_CLASSIFIED.labels(model, action).inc(count)
                metrics.CARDS_QUEUED.labels(action).inc(count)
            total += len(results)

    def _classify(self, versions: Sequence[PendingVersion]) -> list[ClassifiedVersion]:
        scores = self._classifier.score([version.text for version in versions])
        repeats = self._repeat_counts([version.content_sha256 for version in versions])
        found = self._detectors.detect_all([version.text for version in versions])
        results = []
        for version, version_scores, detections in zip(versions, scores, found, strict=True):
            copies = repeats.get(version.content_sha256, 0)
            if copies >= self._repeated_text_threshold:
                # A copy-paste campaign or a spam flood: the same words from several comments.
                detections["repeated_text"] = [f"{copies} comments with this exact text"]
            local_day = version.created_at.astimezone(self._tz).date()
            results.append(
                ClassifiedVersion(
                    version.id,
                    version_scores,
                    detections,
                    suggest(version_scores, detections, self._policy, on=local_day),
                )
            )
        return results

    def _repeat_counts(self, digests: Sequence[str]) -> dict[str, int]:
        """How many stored comments carry each text (by content hash)."""
        with reading(self._sessions) as session:
            # Read from the (content_sha256, comment_id) index alone: no table rows.
            rows = session.execute(
                select(
                    CommentVersion.content_sha256,
                    func.count(func.distinct(CommentVersion.comment_id)),
                )
                .where(CommentVersion.content_sha256.in_(set(digests)))
                .group_by(CommentVersion.content_sha256)
            ).all()
        return {digest: count for digest, count in rows}

    def _record(
        self, session: Session, results: Sequence[ClassifiedVersion]
    ) -> list[ClassifiedVersion]:
        """Store a batch's classifications and queue their cards; return those recorded.

        Done for the whole batch with a few bulk statements: the versions and review items are
        read (and locked) together, and the new classifications, review items and cards are
        each inserted with one statement (an ORM object apiece would cost more than the rest of
        the import together).
        """
        now = self._clock()
        ids = [result.comment_version_id for result in results]
        # Several callers classify (the scheduler, a webhook's follow-up, `smat-bot poll`): lock
        # the versions and skip any another caller recorded first, so a version is never
        # classified twice (which would re-open a card someone had already decided).
        comment_of = {
            version_id: comment_id
            for version_id, comment_id in session.execute(
                select(CommentVersion.id, CommentVersion.comment_id)
                .where(CommentVersion.id.in_(ids))
                .with_for_update()
            )
        }
        already = set(
            session.scalars(
                select(Classification.comment_version_id).where(
                    Classification.comment_version_id.in_(ids)
                )
            )
        )
        unrecorded = [
            r
            for r in results
            if r.comment_version_id in comment_of and r.comment_version_id not in already
        ]
        if not unrecorded:
            return unrecorded
        model = self._classifier.model
        thresholds = dict(self._policy.thresholds)
        classification_ids = insert_logged(
            session,
            Classification,
            [
                {
                    "comment_version_id": result.comment_version_id,
                    "model_name": model.name,
                    "model_version": model.version,
                    "scores": result.scores,
                    "thresholds": thresholds,
                    "detections": result.detections,
                    "suggested_action": result.suggestion.action.value,
                    "reason_code": result.suggestion.reason_code,
                    "clause": result.suggestion.clause,
                    "explanation": result.suggestion.explanation,
                    "classified_at": now,
                }
                for result in unrecorded
            ],
            key="comment_version_id",
        )
        # Locked: a click claiming an item's version at the same moment must not be lost.
        items = {
            item.comment_id: item
            for item in session.scalars(
                select(ReviewItem)
                .where(
                    ReviewItem.comment_id.in_(
                        [comment_of[r.comment_version_id] for r in unrecorded]
                    )
                )
                .with_for_update()
            )
        }
        new_items: dict[int, dict[str, Any]] = {}
        for result in unrecorded:
            version_id = result.comment_version_id
            classification_id = classification_ids[version_id]
            comment_id = comment_of[version_id]
            priority = PRIORITY[result.suggestion.action]
            item = items.get(comment_id)
            if item is not None:
                # An edit re-enters triage: a decision on the old text does not cover the new
                # one, and neither does a removal someone asked for but nobody approved yet.
                session.execute(
                    update(RemovalRequest)
                    .where(
                        RemovalRequest.review_item_id == item.id,
                        RemovalRequest.status == "pending",
                    )
                    .values(status="superseded", resolved_at=now)
                )
                item.comment_version_id = version_id
                item.classification_id = classification_id
                item.status = "pending"
                item.version += 1
                item.priority = priority
                item.updated_at = now
            else:  # a batch holds one version per comment: each comment's current one
                new_items[comment_id] = {
                    "comment_id": comment_id,
                    "comment_version_id": version_id,
                    "classification_id": classification_id,
                    "status": "pending",
                    "version": 1,
                    "priority": priority,
                    "created_at": now,
                    "updated_at": now,
                }
        # Item id, version and priority by comment: the card's key and place in the queue.
        cards: dict[int, tuple[int, int, int]] = {
            comment_id: (item.id, item.version, item.priority) for comment_id, item in items.items()
        }
        if new_items:
            # The table, not the mapped class: plain rows skip the ORM's per-row bookkeeping.
            new_ids = session.execute(
                insert(REVIEW_ITEMS).returning(REVIEW_ITEMS.c.comment_id, REVIEW_ITEMS.c.id),
                list(new_items.values()),
            )
            for comment_id, item_id in new_ids:
                row = new_items[comment_id]
                cards[comment_id] = (item_id, row["version"], row["priority"])
        session.flush()
        if self._escalate is not None:
            # Only a suggestion to escalate can open an escalation: load just those rows.
            for result in unrecorded:
                if result.suggestion.action is SuggestedAction.ESCALATE:
                    item_id = cards[comment_of[result.comment_version_id]][0]
                    self._escalate(
                        session,
                        session.get_one(ReviewItem, item_id),
                        session.get_one(
                            Classification, classification_ids[result.comment_version_id]
                        ),
                        now,
                    )
        enqueue_many(
            session,
            [
                Message(
                    kind="slack.sync_card",
                    key=f"slack.sync_card:{item_id}:{version}",
                    payload={"review_item_id": item_id},
                    priority=priority,
                )
                for item_id, version, priority in (
                    cards[comment_of[result.comment_version_id]] for result in unrecorded
                )
            ],
            now,
        )
        return unrecorded


@dataclass(frozen=True)
class PendingVersion:
    """A comment version waiting to be classified."""

    id: int
    text: str
    content_sha256: str
    created_at: datetime


def _pending_versions(session: Session, limit: int, after_id: int = 0) -> list[PendingVersion]:
    """Current comment versions without a classification, oldest first, after ``after_id``."""
    query = (
        select(
            CommentVersion.id,
            CommentVersion.text,
            CommentVersion.content_sha256,
            Comment.created_at,
        )
        .join(Comment, Comment.id == CommentVersion.comment_id)
        .outerjoin(Classification, Classification.comment_version_id == CommentVersion.id)
        .where(
            CommentVersion.id > after_id,
            CommentVersion.version == Comment.current_version,
            Classification.id.is_(None),
        )
        .order_by(CommentVersion.id)
        .limit(limit)
    )
    return [PendingVersion(*row) for row in session.execute(query)]


class _Batch:
    """Stores one batch inside one transaction, looking up what it already holds in bulk.

    A few ``IN`` queries find the batch's known authors and comments (with the digest of their
    current text) up front, and new rows are flushed together, so a batch costs a handful of
    round trips rather than several per comment.
    """

    def __init__(self, session: Session, clock: Clock) -> None:
        self._session = session
        self._now = clock()
        self._accounts: dict[tuple[str, str], Account] = {}
        self._authors: dict[tuple[str, str], Author] = {}
        self._comments: dict[tuple[int, str], tuple[Comment, str]] = {}
        """(account id, comment id) -> the comment and the digest of its current text."""

    def store(self, batch: Sequence[IncomingComment], report: StoreReport) -> None:
        accounts = [self._account(incoming) for incoming in batch]
        self._load_authors(batch)
        self._load_comments(batch, accounts)
        authors = [self._author(incoming) for incoming in batch]
        self._session.flush()  # new authors get their ids
        versions: list[tuple[Comment, int, IncomingComment, str]] = []
        for incoming, account, author in zip(batch, accounts, authors, strict=True):
            key = (account.id, incoming.external_id)
            digest = content_sha256(incoming.text)
            known = self._comments.get(key)
            if known is None:
                comment = self._new_comment(incoming, account, author)
                versions.append((comment, 1, incoming, digest))
                report.new += 1
            elif known[1] == digest:
                report.unchanged += 1
                continue
            else:
                comment = known[0]
                comment.current_version += 1
                versions.append((comment, comment.current_version, incoming, digest))
                report.edited += 1
            self._comments[key] = (comment, digest)
        self._session.flush()  # new comments get their ids
        for comment, number, incoming, digest in versions:
            self._add_version(comment, number, incoming, digest)

    def _load_authors(self, batch: Sequence[IncomingComment]) -> None:
        wanted: dict[str, set[str]] = {}
        for incoming in batch:
            if (incoming.platform.value, incoming.author_id) not in self._authors:
                wanted.setdefault(incoming.platform.value, set()).add(incoming.author_id)
        for platform, ids in wanted.items():
            for author in self._session.scalars(
                select(Author).where(Author.platform == platform, Author.external_id.in_(ids))
            ):
                self._authors[(platform, author.external_id)] = author

    def _load_comments(self, batch: Sequence[IncomingComment], accounts: list[Account]) -> None:
        wanted: dict[int, set[str]] = {}
        for incoming, account in zip(batch, accounts, strict=True):
            wanted.setdefault(account.id, set()).add(incoming.external_id)
        for account_id, ids in wanted.items():
            rows = self._session.execute(
                select(Comment, CommentVersion.content_sha256)
                .join(
                    CommentVersion,
                    (CommentVersion.comment_id == Comment.id)
                    & (CommentVersion.version == Comment.current_version),
                )
                .where(Comment.account_id == account_id, Comment.external_id.in_(ids))
            )
            for comment, digest in rows:
                self._comments[(account_id, comment.external_id)] = (comment, digest)

    def _account(self, incoming: IncomingComment) -> Account:
        key = (incoming.platform.value, incoming.account)
        if key not in self._accounts:
            account = self._session.scalar(
                select(Account).where(
                    Account.platform == key[0], Account.external_id == incoming.account
                )
            )
            if account is None:
                # Feeds may name accounts the register does not list yet; record them so the
                # comment is not lost, and let the register show them for the Clerk to review.
                account = Account(
                    name=f"{key[0]}:{incoming.account}",
                    platform=key[0],
                    external_id=incoming.account,
                    display_name=incoming.account,
                    status="unregistered",
                    created_at=self._now,
                )
                self._session.add(account)
                self._session.flush()
            self._accounts[key] = account
        return self._accounts[key]

    def _author(self, incoming: IncomingComment) -> Author:
        key = (incoming.platform.value, incoming.author_id)
        author = self._authors.get(key)
        if author is None:  # not stored yet (the batch's known authors were loaded up front)
            author = Author(
                platform=key[0],
                external_id=incoming.author_id,
                display_name=incoming.author_name,
                first_seen_at=self._now,
            )
            self._session.add(author)
            self._authors[key] = author
        elif incoming.author_name and author.display_name != incoming.author_name:
            author.display_name = incoming.author_name
        return author

    def _new_comment(self, incoming: IncomingComment, account: Account, author: Author) -> Comment:
        comment = Comment(
            account_id=account.id,
            author_id=author.id,
            external_id=incoming.external_id,
            parent_external_id=incoming.parent_id,
            post_external_id=incoming.post_id,
            post_title=incoming.post_title,
            permalink=incoming.permalink,
            created_at=incoming.created_at,
            first_seen_at=self._now,
            current_version=1,
        )
        self._session.add(comment)
        return comment

    def _add_version(
        self, comment: Comment, number: int, incoming: IncomingComment, digest: str
    ) -> None:
        self._session.add(
            CommentVersion(
                comment_id=comment.id,
                version=number,
                text=incoming.text,
                content_sha256=digest,
                source=incoming.source.value,
                raw_payload=incoming.raw,
                seen_at=self._now,
            )
        )

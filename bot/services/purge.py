"""The retention purge: erases the personal content of comments whose retention period ended.

What it never touches: anything on legal hold (the comment's own hold, its author's, or a
preserved record flagged as held), anything by an author whose block is still in force on that
account, a comment whose platform action is still being carried out, and a comment not yet
settled (pending review, awaiting approval, or with an escalation still open).

Decisions are the council's record and append-only, so they are never deleted or changed: the
rows a decision points at (the comment, the version decided, its classification, the preserved
original) stay, emptied of personal content, so every decision still reads whole. With the
``delete`` action the rows no decision points at (other versions and their classifications) are
deleted outright. An author whose every comment has been purged is anonymised too, unless held
or blocked.

The purge works in batches of comments, each batch in one transaction that first locks its
comments and their authors (as setting a hold does) and only then checks for holds. It is
idempotent: a purged comment is recorded in ``purged_comments`` and never looked at again. Each
run writes a ``purge_runs`` row with what it removed and what it kept, and why. A dry run reads
the same way and changes nothing.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock
from bot.hashing import content_sha256
from bot.services.legal_holds import held_author_ids, held_comment_ids
from bot.services.outbox import enqueue
from bot.services.retention_policy import REMOVAL_ACTIONS, CommentFacts, expires_at, retention_class
from config.settings import RetentionSettings
from storage.db import reading
from storage.models import (
    Author,
    BlockedAuthor,
    Classification,
    Comment,
    CommentVersion,
    Decision,
    DecisionOutcome,
    Escalation,
    PreservedRecord,
    PurgedComment,
    PurgeRun,
    Reply,
    ReviewItem,
)

log = logging.getLogger(__name__)

PLACEHOLDER = "[Removed under the council's retention policy]"
"""What an erased comment's text reads as, in the database and on its Slack card."""
REMOVED_NAME = "[removed]"
ANONYMOUS_PREFIX = "purged:"
NAME_PLACEHOLDER = "[name removed]"

LEGAL_HOLD = "legal_hold"
BLOCK_IN_FORCE = "block_in_force"
ACTION_PENDING = "platform_action_pending"
KEPT_REASONS = (LEGAL_HOLD, BLOCK_IN_FORCE, ACTION_PENDING)
IN_FLIGHT = ("pending", "failed")
"""Decision outcomes still being carried out on the platform (``failed`` is retrying)."""


@dataclass
class PurgeReport:
    """What a purge removed (or a dry run would remove), per class, and what it kept, per reason."""

    dry_run: bool
    run_id: int | None = None
    purged: dict[str, list[int]] = field(default_factory=dict)
    kept: dict[str, list[int]] = field(default_factory=dict)
    authors_anonymised: list[int] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Comments purged (or that would be)."""
        return sum(len(ids) for ids in self.purged.values())


@dataclass(frozen=True)
class _Expired:
    comment_id: int
    retention_class: str
    expired_at: datetime


class RetentionPurge:
    """Finds expired comments and erases them, batch by batch; or lists them in a dry run."""

    def __init__(
        self, sessions: sessionmaker[Session], settings: RetentionSettings, clock: Clock
    ) -> None:
        self._sessions = sessions
        self._settings = settings
        self._clock = clock

    def dry_run(self) -> PurgeReport:
        """List what a purge would remove now, and what it would keep and why; change nothing."""
        report = PurgeReport(dry_run=True)
        now = self._clock()
        cursor = 0
        with reading(self._sessions) as session:
            while True:
                ids = self._next_batch(session, cursor, lock=False)
                if not ids:
                    break
                cursor = ids[-1]
                for expired in self._sort(session, ids, now, report):
                    report.purged.setdefault(expired.retention_class, []).append(expired.comment_id)
            gone = {cid for ids in report.purged.values() for cid in ids}
            report.authors_anonymised = self._authors_to_anonymise(session, also_gone=gone)
        return report

    def purge(self, started_by: str) -> PurgeReport:
        """Erase what has expired, logging the run; safe to run again (a second run is a no-op)."""
        report = PurgeReport(dry_run=False)
        with self._sessions.begin() as session:
            run = PurgeRun(
                started_at=self._clock(),
                started_by=started_by[:200],
                status="running",
                purged={},
                kept={},
                authors_anonymised=0,
            )
            session.add(run)
            session.flush()
            report.run_id = run.id
        try:
            cursor = 0
            while True:
                with self._sessions.begin() as session:
                    ids = self._next_batch(session, cursor, lock=True)
                    if not ids:
                        break
                    cursor = ids[-1]
                    self._purge_batch(session, ids, report)
            with self._sessions.begin() as session:
                report.authors_anonymised = self._anonymise_authors(session)
        except Exception as exc:
            self._finish(report, status="failed", error=f"{type(exc).__name__}: {exc}")
            log.exception("retention purge %s failed; what it purged so far stays purged", run.id)
            raise
        self._finish(report, status="done")
        log.info(
            "retention purge %d: %d comment(s) purged %s; kept %s; %d author(s) anonymised",
            run.id,
            report.total,
            {name: len(ids) for name, ids in report.purged.items()},
            {reason: len(ids) for reason, ids in report.kept.items()},
            len(report.authors_anonymised),
        )
        return report

    # ------------------------------------------------------------------ finding

    def _next_batch(self, session: Session, after: int, *, lock: bool) -> list[int]:
        """The next settled, not yet purged comments (locked when purging)."""
        query = (
            select(Comment.id)
            .join(ReviewItem, ReviewItem.comment_id == Comment.id)
            .where(
                Comment.id > after,
                ReviewItem.status == "decided",
                ~exists().where(PurgedComment.comment_id == Comment.id),
            )
            .order_by(Comment.id)
            .limit(self._settings.batch_size)
        )
        if lock:
            query = query.with_for_update(of=Comment)
        ids = list(session.scalars(query))
        if lock and ids:
            # Lock the authors too, in the same order a hold takes them (comment, then author),
            # so an author-scope hold being set now is seen or waits for this batch.
            session.scalars(
                select(Author.id)
                .where(Author.id.in_(select(Comment.author_id).where(Comment.id.in_(ids))))
                .order_by(Author.id)
                .with_for_update()
            ).all()
        return ids

    def _sort(
        self, session: Session, ids: list[int], now: datetime, report: PurgeReport
    ) -> list[_Expired]:
        """The expired comments among ``ids`` that may go; the rest of the expired are kept."""
        facts = _load_facts(session, ids)
        expired = []
        for comment_id in ids:
            name = retention_class(facts[comment_id], self._settings)
            ends = expires_at(facts[comment_id], self._settings)
            if name is not None and ends is not None and ends <= now:
                expired.append(_Expired(comment_id, name, ends))
        if not expired:
            return []
        expired_ids = [item.comment_id for item in expired]
        held = held_comment_ids(session, expired_ids)
        blocked = _blocked_in_force(session, expired_ids)
        pending = _in_flight(session, expired_ids)
        going = []
        for item in expired:
            reason = (
                LEGAL_HOLD
                if item.comment_id in held
                else BLOCK_IN_FORCE
                if item.comment_id in blocked
                else ACTION_PENDING
                if item.comment_id in pending
                else None
            )
            if reason is None:
                going.append(item)
            else:
                report.kept.setdefault(reason, []).append(item.comment_id)
        return going

    # ------------------------------------------------------------------ erasing

    def _purge_batch(self, session: Session, ids: list[int], report: PurgeReport) -> None:
        now = self._clock()
        for item in self._sort(session, ids, now, report):
            action = self._settings.classes[item.retention_class].action
            _erase_comment(
                session, item.comment_id, delete_unreferenced=action == "delete", now=now
            )
            session.add(
                PurgedComment(
                    comment_id=item.comment_id,
                    purge_run_id=report.run_id,
                    retention_class=item.retention_class,
                    action=action,
                    expired_at=item.expired_at,
                    purged_at=now,
                )
            )
            report.purged.setdefault(item.retention_class, []).append(item.comment_id)
        session.flush()

    def _authors_to_anonymise(self, session: Session, also_gone: Collection[int] = ()) -> list[int]:
        """Authors none of whose comments is kept any more, not held and not blocked."""
        kept_comment = (
            select(Comment.id)
            .where(
                Comment.author_id == Author.id,
                ~exists().where(PurgedComment.comment_id == Comment.id),
            )
            .correlate(Author)
        )
        if also_gone:
            kept_comment = kept_comment.where(Comment.id.not_in(list(also_gone)))
        candidates = list(
            session.scalars(
                select(Author.id)
                .where(
                    ~Author.external_id.startswith(ANONYMOUS_PREFIX),
                    exists().where(Comment.author_id == Author.id),
                    ~exists(kept_comment),
                    ~exists().where(
                        BlockedAuthor.author_id == Author.id, BlockedAuthor.unblocked_at.is_(None)
                    ),
                )
                .order_by(Author.id)
            )
        )
        held = held_author_ids(session, candidates)
        return [author_id for author_id in candidates if author_id not in held]

    def _anonymise_authors(self, session: Session) -> list[int]:
        ids = self._authors_to_anonymise(session)
        if ids:
            # Locked and checked again in this transaction (a hold may have been set meanwhile).
            session.scalars(select(Author.id).where(Author.id.in_(ids)).with_for_update()).all()
            ids = [author_id for author_id in ids if author_id not in held_author_ids(session, ids)]
        for author_id in ids:
            session.execute(
                update(Author)
                .where(Author.id == author_id)
                .values(display_name=REMOVED_NAME, external_id=f"{ANONYMOUS_PREFIX}{author_id}")
            )
        return ids

    def _finish(self, report: PurgeReport, *, status: str, error: str | None = None) -> None:
        with self._sessions.begin() as session:
            session.execute(
                update(PurgeRun)
                .where(PurgeRun.id == report.run_id)
                .values(
                    status=status,
                    finished_at=self._clock(),
                    purged={name: len(ids) for name, ids in sorted(report.purged.items())},
                    kept={reason: len(ids) for reason, ids in sorted(report.kept.items())},
                    authors_anonymised=len(report.authors_anonymised),
                    error=error[:2000] if error else None,
                )
            )


def _load_facts(session: Session, ids: list[int]) -> dict[int, CommentFacts]:
    """Everything the retention classes need about these comments, in four queries."""
    actions: dict[int, list[str]] = defaultdict(list)
    reasons: dict[int, list[str]] = defaultdict(list)
    latest: dict[int, datetime] = {}

    def seen(comment_id: int, *moments: datetime | None) -> None:
        for moment in moments:
            if moment is not None and (comment_id not in latest or moment > latest[comment_id]):
                latest[comment_id] = moment

    for comment_id, action, reason_code, decided_at in session.execute(
        select(
            Decision.comment_id, Decision.action, Decision.reason_code, Decision.decided_at
        ).where(Decision.comment_id.in_(ids))
    ):
        actions[comment_id].append(action)
        if reason_code and action in REMOVAL_ACTIONS:
            reasons[comment_id].append(reason_code)
        seen(comment_id, decided_at)
    for comment_id, seen_at in session.execute(
        select(CommentVersion.comment_id, CommentVersion.seen_at).where(
            CommentVersion.comment_id.in_(ids)
        )
    ):
        seen(comment_id, seen_at)
    escalation_reasons: dict[int, list[str]] = defaultdict(list)
    outcomes: dict[int, list[str]] = defaultdict(list)
    open_ids: set[int] = set()
    for escalation in session.scalars(select(Escalation).where(Escalation.comment_id.in_(ids))):
        cid = escalation.comment_id
        escalation_reasons[cid].append(escalation.reason)
        if escalation.outcome:
            outcomes[cid].append(escalation.outcome)
        if escalation.status != "closed":
            open_ids.add(cid)
        seen(cid, escalation.escalated_at, escalation.acknowledged_at, escalation.outcome_at)
    return {
        cid: CommentFacts(
            decided=True,
            actions=tuple(actions[cid]),
            reason_codes=tuple(reasons[cid]),
            escalation_reasons=tuple(escalation_reasons[cid]),
            escalation_outcomes=tuple(outcomes[cid]),
            open_escalation=cid in open_ids,
            last_activity=latest.get(cid),
        )
        for cid in ids
    }


def _blocked_in_force(session: Session, ids: Collection[int]) -> set[int]:
    """Comments by an author whose block is still in force on the comment's account."""
    return set(
        session.scalars(
            select(Comment.id)
            .join(
                BlockedAuthor,
                (BlockedAuthor.author_id == Comment.author_id)
                & (BlockedAuthor.account_id == Comment.account_id),
            )
            .where(Comment.id.in_(ids), BlockedAuthor.unblocked_at.is_(None))
        )
    )


def _in_flight(session: Session, ids: Collection[int]) -> set[int]:
    """Comments with a decision still being carried out on the platform."""
    return set(
        session.scalars(
            select(Decision.comment_id)
            .join(DecisionOutcome, DecisionOutcome.decision_id == Decision.id)
            .where(Decision.comment_id.in_(ids), DecisionOutcome.status.in_(IN_FLIGHT))
        )
    )


def _erase_comment(
    session: Session, comment_id: int, *, delete_unreferenced: bool, now: datetime
) -> None:
    """Erase one comment's personal content (inside the batch's transaction)."""
    comment = session.get_one(Comment, comment_id)
    author = session.get_one(Author, comment.author_id)
    item = session.scalar(select(ReviewItem).where(ReviewItem.comment_id == comment_id))
    decisions = list(session.scalars(select(Decision).where(Decision.comment_id == comment_id)))
    kept_versions = {d.comment_version_id for d in decisions}
    kept_classifications = {d.classification_id for d in decisions if d.classification_id}
    if item is not None:
        kept_versions.add(item.comment_version_id)
        if item.classification_id:
            kept_classifications.add(item.classification_id)
    records = list(
        session.scalars(select(PreservedRecord).where(PreservedRecord.comment_id == comment_id))
    )
    kept_versions |= {record.comment_version_id for record in records}
    versions = list(
        session.scalars(select(CommentVersion).where(CommentVersion.comment_id == comment_id))
    )
    for version in versions:
        classifications = list(
            session.scalars(
                select(Classification).where(Classification.comment_version_id == version.id)
            )
        )
        removable = version.id not in kept_versions and not any(
            c.id in kept_classifications for c in classifications
        )
        if delete_unreferenced and removable:
            for classification in classifications:
                session.delete(classification)
            session.flush()
            session.delete(version)
            continue
        version.text = PLACEHOLDER
        version.raw_payload = {}
        version.content_sha256 = content_sha256(PLACEHOLDER)
        for classification in classifications:
            # Keep what kinds of thing were detected (the digest counts them), not the hits.
            classification.detections = {kind: [] for kind in classification.detections}
    for record in records:
        record.text = PLACEHOLDER
        record.author_external_id = ""
        record.author_display_name = ""
        record.permalink = None
        record.thread_context = {}
        record.raw_payload = {}
    _scrub_replies(session, [d.id for d in decisions], author.display_name)
    _scrub_children(session, comment)
    comment.permalink = None
    if item is not None and item.slack_ts is not None:
        # The card in Slack shows the comment's text: re-render it from the erased record.
        enqueue(
            session,
            kind="slack.sync_card",
            key=f"slack.sync_card:{item.id}:purged",
            payload={"review_item_id": item.id},
            priority=10,
            now=now,
        )
    session.flush()


def _scrub_replies(session: Session, decision_ids: Iterable[int], author_name: str) -> None:
    """The council's replies stay (its own words), without the resident's name in them."""
    name = author_name.strip()
    if len(name) < 3 or name == REMOVED_NAME:
        return
    for reply in session.scalars(select(Reply).where(Reply.decision_id.in_(list(decision_ids)))):
        if name in reply.text:
            reply.text = reply.text.replace(name, NAME_PLACEHOLDER)


def _scrub_children(session: Session, comment: Comment) -> None:
    """Preserved replies to this comment quote it as their thread context: drop that quote."""
    children = list(
        session.scalars(
            select(Comment.id).where(
                Comment.account_id == comment.account_id,
                Comment.parent_external_id == comment.external_id,
            )
        )
    )
    if not children:
        return
    held = held_comment_ids(session, children)
    for record in session.scalars(
        select(PreservedRecord).where(
            PreservedRecord.comment_id.in_([c for c in children if c not in held])
        )
    ):
        context = dict(record.thread_context or {})
        if "parent" in context:
            context["parent"] = {"removed": True}
            record.thread_context = context


__all__ = ["PLACEHOLDER", "PurgeReport", "RetentionPurge"]

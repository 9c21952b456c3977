"""Legal holds: a comment, or everything by one author, that the purge must never touch.

The Town Clerk (or the Deputy Clerk) sets and releases holds from Slack; the IT volunteer can
from the command line, naming who asked. A hold is one ``legal_holds`` row that is never
deleted: releasing fills in who released it, when and why, so the history of every hold stays.

Setting a hold locks the comment (or author) row first, as the purge does before it checks for
holds: a hold and a purge batch touching the same comment are serialised, so a comment is
either purged before the hold (and the hold is refused) or held before the purge looks.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock
from bot.services.members import MemberDirectory
from storage.db import reading
from storage.models import Author, Comment, LegalHold, PreservedRecord, PurgedComment

log = logging.getLogger(__name__)

COMMENT, AUTHOR = "comment", "author"
SCOPES = (COMMENT, AUTHOR)
HOLD_ROLES = frozenset({"clerk", "deputy"})
REASON_MIN, REASON_MAX = 3, 1000
NOT_ALLOWED = (
    "Sorry — only the Town Clerk and the Deputy Clerk can set or release a legal hold. "
    "Nothing was changed."
)


class HoldRefused(Exception):
    """Nothing was changed; ``message`` is safe to show the person who asked."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True)
class HoldActor:
    """Who sets or releases a hold: a Slack user (role-checked) or a named CLI operator."""

    recorded_as: str
    slack_user_id: str | None = None

    @classmethod
    def slack(cls, user_id: str) -> HoldActor:
        """A person in Slack; they must be the Clerk or the Deputy Clerk."""
        return cls(user_id, user_id)

    @classmethod
    def cli(cls, name: str) -> HoldActor:
        """Someone at the server's command line, recorded as ``cli:NAME``."""
        name = " ".join(name.split())
        if not name:
            raise HoldRefused("Say who is acting: --by NAME.", code="no_actor")
        return cls(f"cli:{name[:190]}")


@dataclass(frozen=True)
class HoldInfo:
    """A hold as people see it."""

    id: int
    scope: str
    comment_id: int | None
    author_id: int | None
    author_name: str | None
    reason: str
    set_by: str
    set_at: datetime
    released_by: str | None = None
    released_at: datetime | None = None
    release_reason: str | None = None


class LegalHolds:
    """Sets, releases and lists legal holds."""

    def __init__(
        self, sessions: sessionmaker[Session], members: MemberDirectory, clock: Clock
    ) -> None:
        self._sessions = sessions
        self._members = members
        self._clock = clock

    def set(self, target: str, reason: str, actor: HoldActor, *, scope: str = COMMENT) -> HoldInfo:
        """Put a comment (or its author's comments) on hold; raise HoldRefused if it cannot be."""
        self._check_actor(actor, "set a legal hold")
        reason = _reason(reason, required=True) or ""
        now = self._clock()
        with self._sessions.begin() as session:
            comment = find_comment(session, target, lock=True)
            author = session.get_one(Author, comment.author_id, with_for_update=True)
            existing = session.scalar(_active_for(scope, comment.id, author.id))
            if existing is not None:
                raise HoldRefused(
                    f"{_describe(scope, comment.id)} is already on legal hold (set by "
                    f"{existing.set_by}: {existing.reason}). Nothing was changed.",
                    code="already_held",
                )
            if scope == COMMENT:
                purged = session.scalar(
                    select(PurgedComment).where(PurgedComment.comment_id == comment.id)
                )
                if purged is not None:
                    raise HoldRefused(
                        f"Comment {comment.id} was already purged on "
                        f"{purged.purged_at:%d %b %Y} (retention class {purged.retention_class}): "
                        "there is nothing left to hold. Its decisions are kept.",
                        code="already_purged",
                    )
            hold = LegalHold(
                scope=scope,
                comment_id=comment.id,
                author_id=author.id if scope == AUTHOR else None,
                reason=reason,
                set_by=actor.recorded_as,
                set_at=now,
            )
            session.add(hold)
            session.flush()
            refresh_hold_flags(session, _covered_comments(session, scope, comment, author.id))
            log.info(
                "legal hold %d set on %s by %s",
                hold.id,
                _describe(scope, comment.id),
                actor.recorded_as,
            )
            return _info(hold, author)

    def release(
        self, target: str, actor: HoldActor, *, scope: str = COMMENT, reason: str | None = None
    ) -> HoldInfo:
        """Release the active hold on a comment (or its author); raise HoldRefused if none."""
        self._check_actor(actor, "release a legal hold")
        release_reason = _reason(reason, required=False)
        now = self._clock()
        with self._sessions.begin() as session:
            comment = find_comment(session, target, lock=True)
            author = session.get_one(Author, comment.author_id, with_for_update=True)
            hold = session.scalar(_active_for(scope, comment.id, author.id).with_for_update())
            if hold is None:
                raise HoldRefused(
                    f"{_describe(scope, comment.id)} is not on legal hold. Nothing was changed.",
                    code="not_held",
                )
            hold.released_by = actor.recorded_as
            hold.released_at = now
            hold.release_reason = release_reason
            session.flush()
            refresh_hold_flags(session, _covered_comments(session, scope, comment, author.id))
            log.info("legal hold %d released by %s", hold.id, actor.recorded_as)
            return _info(hold, author)

    def active(self) -> list[HoldInfo]:
        """Every hold in force, oldest first."""
        with reading(self._sessions) as session:
            rows = session.execute(
                select(LegalHold, Author)
                .outerjoin(Comment, Comment.id == LegalHold.comment_id)
                .outerjoin(Author, Author.id == Comment.author_id)
                .where(LegalHold.released_at.is_(None))
                .order_by(LegalHold.id)
            ).all()
            return [_info(hold, author) for hold, author in rows]

    def _check_actor(self, actor: HoldActor, what: str) -> None:
        if actor.slack_user_id is None:
            return
        member = self._members.find(actor.slack_user_id)
        if member is None or member.role not in HOLD_ROLES:
            log.warning("refused to %s for %s: not the Clerk or Deputy", what, actor.slack_user_id)
            raise HoldRefused(NOT_ALLOWED, code="not_allowed")


def find_comment(session: Session, target: str, *, lock: bool = False) -> Comment:
    """A comment by SMAT Bot's number, the platform's comment id, or its link."""
    target = target.strip()
    if not target:
        raise HoldRefused(
            "Say which comment: its number, the platform's id or its link.", code="no_target"
        )
    query = select(Comment)
    if lock:
        query = query.with_for_update()
    number = target.lstrip("#")
    if number.isascii() and number.isdigit() and len(number) < 12:
        found = session.scalar(query.where(Comment.id == int(number)))
        if found is not None:
            return found
    matches = session.scalars(
        query.where(or_(Comment.external_id == target, Comment.permalink == target)).limit(2)
    ).all()
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise HoldRefused(
            "More than one comment has that id (on different accounts); give SMAT Bot's "
            "comment number instead.",
            code="ambiguous",
        )
    shown = target if len(target) <= 60 else target[:59] + "…"
    raise HoldRefused(
        f"No comment {shown!r} is on record. Give SMAT Bot's comment number, the platform's "
        "comment id, or the comment's link.",
        code="unknown_comment",
    )


def held_comment_ids(session: Session, comment_ids: Collection[int]) -> set[int]:
    """Which of these comments are under a legal hold now (their own, or their author's)."""
    if not comment_ids:
        return set()
    own = session.scalars(
        select(LegalHold.comment_id).where(
            LegalHold.scope == COMMENT,
            LegalHold.released_at.is_(None),
            LegalHold.comment_id.in_(comment_ids),
        )
    )
    by_author = session.scalars(
        select(Comment.id)
        .join(LegalHold, LegalHold.author_id == Comment.author_id)
        .where(
            LegalHold.scope == AUTHOR,
            LegalHold.released_at.is_(None),
            Comment.id.in_(comment_ids),
        )
    )
    flagged = session.scalars(
        select(PreservedRecord.comment_id).where(
            PreservedRecord.legal_hold.is_(True), PreservedRecord.comment_id.in_(comment_ids)
        )
    )
    return {cid for cid in (*own, *by_author, *flagged) if cid is not None}


def held_author_ids(session: Session, author_ids: Collection[int]) -> set[int]:
    """Which of these authors are under an author-scope legal hold now."""
    if not author_ids:
        return set()
    return set(
        session.scalars(
            select(LegalHold.author_id).where(
                LegalHold.scope == AUTHOR,
                LegalHold.released_at.is_(None),
                LegalHold.author_id.in_(author_ids),
            )
        )
    )


def comment_is_held(session: Session, comment: Comment) -> bool:
    """Whether a hold covers this comment (used when its original is preserved)."""
    return bool(
        session.scalar(
            select(LegalHold.id)
            .where(
                LegalHold.released_at.is_(None),
                or_(
                    (LegalHold.scope == COMMENT) & (LegalHold.comment_id == comment.id),
                    (LegalHold.scope == AUTHOR) & (LegalHold.author_id == comment.author_id),
                ),
            )
            .limit(1)
        )
    )


def refresh_hold_flags(session: Session, comment_ids: Iterable[int]) -> None:
    """Make ``preserved_records.legal_hold`` mirror the holds in force for these comments."""
    ids = list(comment_ids)
    if not ids:
        return
    own = set(
        session.scalars(
            select(LegalHold.comment_id).where(
                LegalHold.scope == COMMENT,
                LegalHold.released_at.is_(None),
                LegalHold.comment_id.in_(ids),
            )
        )
    )
    by_author = set(
        session.scalars(
            select(Comment.id)
            .join(LegalHold, LegalHold.author_id == Comment.author_id)
            .where(
                LegalHold.scope == AUTHOR,
                LegalHold.released_at.is_(None),
                Comment.id.in_(ids),
            )
        )
    )
    held = own | by_author
    for value, chosen in ((True, held), (False, set(ids) - held)):
        if chosen:
            session.execute(
                update(PreservedRecord)
                .where(PreservedRecord.comment_id.in_(chosen))
                .values(legal_hold=value)
                .execution_options(synchronize_session=False)
            )


def _active_for(scope: str, comment_id: int, author_id: int) -> Select[LegalHold]:
    query = select(LegalHold).where(LegalHold.scope == scope, LegalHold.released_at.is_(None))
    if scope == AUTHOR:
        return query.where(LegalHold.author_id == author_id)
    return query.where(LegalHold.comment_id == comment_id)


def _covered_comments(session: Session, scope: str, comment: Comment, author_id: int) -> list[int]:
    if scope == COMMENT:
        return [comment.id]
    return list(session.scalars(select(Comment.id).where(Comment.author_id == author_id)))


def _reason(text: str | None, *, required: bool) -> str | None:
    cleaned = " ".join((text or "").split())
    if not cleaned:
        if required:
            raise HoldRefused(
                "Give the reason for the hold (for example the matter or case it is for).",
                code="reason_required",
            )
        return None
    if len(cleaned) < REASON_MIN:
        raise HoldRefused("Give a reason of at least three characters.", code="reason_short")
    if len(cleaned) > REASON_MAX:
        raise HoldRefused(f"Keep the reason to {REASON_MAX:,} characters.", code="reason_long")
    return cleaned


def _describe(scope: str, comment_id: int) -> str:
    if scope == AUTHOR:
        return f"The author of comment {comment_id}"
    return f"Comment {comment_id}"


def _info(hold: LegalHold, author: Author | None) -> HoldInfo:
    return HoldInfo(
        id=hold.id,
        scope=hold.scope,
        comment_id=hold.comment_id,
        author_id=hold.author_id,
        author_name=author.display_name if author is not None else None,
        reason=hold.reason,
        set_by=hold.set_by,
        set_at=hold.set_at,
        released_by=hold.released_by,
        released_at=hold.released_at,
        release_reason=hold.release_reason,
    )

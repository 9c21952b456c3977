"""Every figure in the weekly paper, each from one aggregate query over the decision log.

The queries cover the reported week and the four before it in one pass (for the change on
the week before and the four-week average). Rows are grouped in the database; Python only
adds up the groups. Times are cut into local days and weeks by UTC bounds computed in Python
(see ``period.Window``), so SQLite and PostgreSQL give the same answers.

Conventions (docs/digest.md explains them for the committee):

- A comment is *received* when it was posted on the platform (``comments.created_at``).
- A decision counts in the week it was taken, unless it was undone (unhide, unblock) before
  that week ended; the undo itself counts as *undone*.
- The *first action* on a comment is its earliest decision of any kind.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import (
    ColumnElement,
    Integer,
    and_,
    case,
    exists,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.orm import Session, aliased

from bot.digest.counted import Counted, Row
from bot.digest.period import DASH, Window
from bot.digest.sql import (
    bucket,
    end_of_bucket,
    epoch_of,
    epoch_seconds,
    in_span,
    nearest_rank,
)
from bot.digest.working_days import DeadlineSegment, WorkingCalendar
from storage.models import (
    Classification,
    Comment,
    Decision,
    Escalation,
    Member,
    PreservedRecord,
    Reply,
    ReviewItem,
)

REMOVAL_ACTIONS = ("hide", "delete", "block")
UNDO_ACTIONS = ("unhide", "unblock")
REFERRALS = ("hidden_referred_police", "reported_to_platform")
NO_REASON = "(none given)"
OWN_WORDS = "(own words)"

OUTCOME_RANK = {
    "approve": 1,
    "unhide": 1,  # put back up: as good as approved
    "unblock": 1,
    "reply": 2,
    "warn": 3,
    "escalate": 4,
    "block": 5,
    "hide": 6,
    "delete": 7,
}
"""What a comment's standing decisions come to, most severe wins (for the volume chart)."""
RANKED_OUTCOME = {1: "approve", 2: "reply", 3: "warn", 4: "escalate", 5: "block", 6: "hide"}
RANKED_OUTCOME[7] = "delete"
AWAITING = "awaiting"

WAIT_BANDS: tuple[tuple[str, int], ...] = (
    ("under 1 hour", 3600),
    (f"1{DASH}4 hours", 4 * 3600),
    (f"4{DASH}24 hours", 24 * 3600),
    (f"1{DASH}2 days", 2 * 86400),
    (f"2{DASH}7 days", 7 * 86400),
)
OVER_A_WEEK = "over 7 days"


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _undone_within_its_week(weeks: Sequence[datetime]) -> ColumnElement[bool]:
    """Whether ``Decision`` was undone before the end of the week it was taken in.

    Undos are rare, so the few (undone id) pairs in the span are found first from the undo
    side (index on action and time) and each decision is only looked up in that small set.
    """
    undo, target = aliased(Decision), aliased(Decision)
    undone = (
        select(undo.undoes_decision_id)
        .join(target, target.id == undo.undoes_decision_id)
        .where(
            undo.action.in_(UNDO_ACTIONS),
            undo.decided_at >= weeks[0],
            in_span(target.decided_at, weeks),
            undo.decided_at < end_of_bucket(target.decided_at, weeks),
        )
    )
    return Decision.id.in_(undone)


def _not_undone_by(decision: type[Decision], by: ColumnElement[datetime]) -> ColumnElement[bool]:
    undo = aliased(Decision)
    return ~exists().where(undo.undoes_decision_id == decision.id, undo.decided_at < by)


def received_and_flagged(session: Session, window: Window) -> tuple[Counted, Counted]:
    """Comments received per account and local day, and how many the policy flagged."""
    b = bucket(Comment.created_at, window.bounds).label("b")
    flagged = func.sum(
        case(
            (and_(Classification.id.is_not(None), Classification.suggested_action != "approve"), 1),
            else_=0,
        )
    )
    query = (
        select(Comment.account_id, b, func.count(), flagged)
        .select_from(Comment)
        .outerjoin(ReviewItem, ReviewItem.comment_id == Comment.id)
        .outerjoin(Classification, Classification.id == ReviewItem.classification_id)
        .where(in_span(Comment.created_at, window.bounds))
        .group_by(Comment.account_id, b)
    )
    rows = session.execute(query).all()
    return (
        Counted.from_day_buckets((a, i, (), n) for a, i, n, _ in rows),
        Counted.from_day_buckets((a, i, (), int(f or 0)) for a, i, _, f in rows),
    )


def outcomes_by_day(session: Session, window: Window) -> Counted:
    """The reported week's comments per day by what they came to by its end (the chart)."""
    days = window.bounds[Window.FIRST_DAY :]
    end = window.end
    rank = case(*[(Decision.action == action, r) for action, r in OUTCOME_RANK.items()], else_=None)
    per_comment = (
        select(
            Comment.account_id.label("account_id"),
            bucket(Comment.created_at, days).label("b"),
            func.max(rank).label("rank"),
        )
        .select_from(Comment)
        .outerjoin(
            Decision,
            and_(
                Decision.comment_id == Comment.id,
                Decision.decided_at < end,
                Decision.action.in_(tuple(OUTCOME_RANK)),
                _not_undone_by(Decision, literal(end, Decision.decided_at.type)),
            ),
        )
        .where(in_span(Comment.created_at, days))
        .group_by(Comment.id, Comment.account_id, bucket(Comment.created_at, days))
        .subquery()
    )
    query = select(
        per_comment.c.account_id, per_comment.c.b, per_comment.c.rank, func.count()
    ).group_by(per_comment.c.account_id, per_comment.c.b, per_comment.c.rank)
    return Counted(
        Row(account, 0, day, (RANKED_OUTCOME.get(rank, AWAITING),), n)
        for account, day, rank, n in session.execute(query).all()
    )


def decisions_by_action(session: Session, window: Window) -> Counted:
    """Decisions taken per account and day, by action and reason, less those undone that week."""
    b = bucket(Decision.decided_at, window.bounds).label("b")
    reason = func.coalesce(Decision.reason_code, NO_REASON).label("reason")
    query = (
        select(Comment.account_id, b, Decision.action, reason, func.count())
        .select_from(Decision)
        .join(Comment, Comment.id == Decision.comment_id)
        .where(
            in_span(Decision.decided_at, window.bounds),
            ~_undone_within_its_week(window.week_bounds),
        )
        .group_by(Comment.account_id, b, Decision.action, reason)
    )
    return Counted.from_day_buckets(
        (account, i, (action, why), n) for account, i, action, why, n in session.execute(query)
    )


def criticism_kept_and_removed(session: Session, window: Window) -> Counted:
    """Comments the policy suggested approving that were decided on: kept, or removed and why.

    Category: ``("kept",)`` or ``("removed", reason code)``; one count per comment and week.
    """
    weeks = window.week_bounds
    b = bucket(Decision.decided_at, weeks)
    removal_reason = func.max(
        case(
            (
                Decision.action.in_(REMOVAL_ACTIONS),
                func.coalesce(Decision.reason_code, NO_REASON),
            ),
            else_=None,
        )
    )
    per_comment = (
        select(
            Comment.account_id.label("account_id"),
            b.label("b"),
            removal_reason.label("reason"),
        )
        .select_from(Decision)
        .join(Comment, Comment.id == Decision.comment_id)
        .join(Classification, Classification.id == Decision.classification_id)
        .where(
            in_span(Decision.decided_at, weeks),
            Classification.suggested_action == "approve",
            Decision.action.not_in(UNDO_ACTIONS),
            ~_undone_within_its_week(weeks),
        )
        .group_by(Decision.comment_id, Comment.account_id, b)
        .subquery()
    )
    query = select(
        per_comment.c.account_id, per_comment.c.b, per_comment.c.reason, func.count()
    ).group_by(per_comment.c.account_id, per_comment.c.b, per_comment.c.reason)
    return Counted.from_week_buckets(
        (account, i, ("removed", why) if why is not None else ("kept",), n)
        for account, i, why, n in session.execute(query)
    )


def escalations_opened(session: Session, window: Window) -> Counted:
    """Escalations to the Clerk per account and week, by reason and outcome at the week's end."""
    weeks = window.week_bounds
    b = bucket(Escalation.escalated_at, weeks).label("b")
    outcome = case(
        (
            and_(
                Escalation.outcome.is_not(None),
                Escalation.outcome_at < end_of_bucket(Escalation.escalated_at, weeks),
            ),
            Escalation.outcome,
        ),
        else_="open",
    ).label("outcome")
    query = (
        select(Comment.account_id, b, Escalation.reason, outcome, func.count())
        .select_from(Escalation)
        .join(Comment, Comment.id == Escalation.comment_id)
        .where(in_span(Escalation.escalated_at, weeks))
        .group_by(Comment.account_id, b, Escalation.reason, outcome)
    )
    return Counted.from_week_buckets(
        (account, i, (why, result), n) for account, i, why, result, n in session.execute(query)
    )


@dataclass(frozen=True)
class OpenEscalations:
    """Escalations without an outcome when the week ended, whenever they were raised."""

    by_account: dict[int, int]
    oldest: datetime | None

    @property
    def total(self) -> int:
        """All accounts together."""
        return sum(self.by_account.values())


def escalations_open_at_end(session: Session, window: Window) -> OpenEscalations:
    """How many escalations were still open at the end of the reported week."""
    end = window.end
    query = (
        select(Comment.account_id, func.count(), func.min(Escalation.escalated_at))
        .select_from(Escalation)
        .join(Comment, Comment.id == Escalation.comment_id)
        .where(
            Escalation.escalated_at < end,
            or_(Escalation.outcome_at.is_(None), Escalation.outcome_at >= end),
        )
        .group_by(Comment.account_id)
    )
    rows = session.execute(query).all()
    oldest = min((row[2] for row in rows), default=None)
    return OpenEscalations({row[0]: row[1] for row in rows}, oldest)


def referrals(session: Session, window: Window) -> Counted:
    """Referrals to the police or the platform recorded per account and week."""
    weeks = window.week_bounds
    b = bucket(Escalation.outcome_at, weeks).label("b")
    query = (
        select(Comment.account_id, b, Escalation.outcome, func.count())
        .select_from(Escalation)
        .join(Comment, Comment.id == Escalation.comment_id)
        .where(in_span(Escalation.outcome_at, weeks), Escalation.outcome.in_(REFERRALS))
        .group_by(Comment.account_id, b, Escalation.outcome)
    )
    return Counted.from_week_buckets(
        (account, i, (str(outcome),), n) for account, i, outcome, n in session.execute(query)
    )


def _first_actions(session: Session, bounds: Sequence[datetime]) -> tuple[object, object]:
    """Comments whose first decision fell in the span: (subquery, its bucket) with waits."""
    dialect = _dialect(session)
    earlier = aliased(Decision)
    wait = epoch_seconds(Decision.decided_at, dialect) - epoch_seconds(Comment.created_at, dialect)
    firsts = (
        select(
            Comment.account_id.label("account_id"),
            bucket(Decision.decided_at, bounds).label("b"),
            case((wait < 0, 0), else_=wait).label("wait"),
        )
        .select_from(Decision)
        .join(Comment, Comment.id == Decision.comment_id)
        .where(
            in_span(Decision.decided_at, bounds),
            # The comment's first decision (ties broken by id): one index probe per row.
            Decision.id
            == select(earlier.id)
            .where(earlier.comment_id == Decision.comment_id)
            .order_by(earlier.decided_at, earlier.id)
            .limit(1)
            .scalar_subquery(),
        )
        .subquery()
    )
    return firsts, firsts.c.b


@dataclass(frozen=True)
class WaitStats:
    """Time to first action (seconds) for one account, or all, in one week."""

    count: int
    median: int | None
    p90: int | None


@dataclass(frozen=True)
class FirstActionTimes:
    """Median and 90th percentile waits per (weeks ago, account or None for all)."""

    stats: dict[tuple[int, int | None], WaitStats]

    def get(self, weeks_ago: int = 0, account: int | None = None) -> WaitStats:
        """The figures for one week and account (all accounts when None)."""
        return self.stats.get((weeks_ago, account), WaitStats(0, None, None))


def time_to_first_action(session: Session, window: Window) -> FirstActionTimes:
    """Median and 90th-percentile wait of comments first acted on in each week (nearest rank)."""
    firsts, _ = _first_actions(session, window.week_bounds)
    f = firsts.c  # type: ignore[attr-defined]
    ranked = select(
        f.account_id,
        f.b,
        f.wait,
        # Counts over the same ordered windows as the row numbers (whole partition): the
        # database then sorts once per partitioning instead of twice.
        func.row_number().over(partition_by=(f.b, f.account_id), order_by=f.wait).label("rn_a"),
        func.count()
        .over(partition_by=(f.b, f.account_id), order_by=f.wait, rows=(None, None))
        .label("n_a"),
        func.row_number().over(partition_by=f.b, order_by=f.wait).label("rn_t"),
        func.count().over(partition_by=f.b, order_by=f.wait, rows=(None, None)).label("n_t"),
    ).subquery()
    r = ranked.c
    query = select(r.account_id, r.b, r.wait, r.rn_a, r.n_a, r.rn_t, r.n_t).where(
        or_(
            r.rn_a.in_((nearest_rank(r.n_a, 50), nearest_rank(r.n_a, 90))),
            r.rn_t.in_((nearest_rank(r.n_t, 50), nearest_rank(r.n_t, 90))),
        )
    )
    found: dict[tuple[int, int | None], dict[str, int]] = {}
    for account, b, wait, rn_a, n_a, rn_t, n_t in session.execute(query):
        weeks_ago = Window.EARLIER_WEEKS - b
        for key, rn, n in (((weeks_ago, account), rn_a, n_a), ((weeks_ago, None), rn_t, n_t)):
            entry = found.setdefault(key, {"n": n})
            if rn == (n * 50 + 99) // 100:
                entry["median"] = wait
            if rn == (n * 90 + 99) // 100:
                entry["p90"] = wait
    return FirstActionTimes(
        {key: WaitStats(v["n"], v.get("median"), v.get("p90")) for key, v in found.items()}
    )


def wait_bands(session: Session, window: Window) -> Counted:
    """Comments first acted on in the reported week, by how long they waited (the chart)."""
    firsts, _ = _first_actions(session, (window.week_start, window.end))
    f = firsts.c  # type: ignore[attr-defined]
    band = case(*[(f.wait < limit, label) for label, limit in WAIT_BANDS], else_=OVER_A_WEEK)
    query = select(f.account_id, band.label("band"), func.count()).group_by(f.account_id, band)
    return Counted(
        Row(account, 0, None, (str(label),), n) for account, label, n in session.execute(query)
    )


def _deadline_case(
    session: Session, segments: Sequence[DeadlineSegment]
) -> tuple[ColumnElement[int], ColumnElement[bool]]:
    """Each comment's deadline (epoch seconds) and whether it falls in any segment."""
    created = epoch_seconds(Comment.created_at, _dialect(session))
    whens = []
    ranges = []
    previous_end: datetime | None = None
    for seg in sorted(segments, key=lambda s: s.received_from):
        inside = and_(
            Comment.created_at >= seg.received_from, Comment.created_at < seg.received_until
        )
        # CASE stops at the first match: where segments follow on from each other, one
        # comparison per segment is enough (the lower bound is the previous upper bound).
        test = (
            Comment.created_at < seg.received_until
            if previous_end is not None and previous_end == seg.received_from
            else inside
        )
        previous_end = seg.received_until
        due = (
            created + seg.after_seconds
            if seg.after_seconds is not None
            else literal(epoch_of(seg.due_at or datetime.min.replace(tzinfo=UTC)), Integer)
        )
        whens.append((test, due))
        ranges.append(inside)
    return case(*whens, else_=None), or_(*ranges) if ranges else literal(False)


@dataclass(frozen=True)
class OverTargetItem:
    """A comment whose target passed without a first action (no personal data)."""

    account_id: int
    received_at: datetime
    due_at: datetime
    first_action_at: datetime | None


def _week_segments(
    calendar: WorkingCalendar, window: Window, days: int
) -> list[tuple[int, DeadlineSegment]]:
    weeks = window.week_bounds
    return [
        (i, seg)
        for i in range(len(weeks) - 1)
        for seg in calendar.segments_due_between(weeks[i], weeks[i + 1], days)
    ]


def over_target(session: Session, window: Window, calendar: WorkingCalendar, days: int) -> Counted:
    """Comments whose target fell due in each week: on time, late, unanswered, or withdrawn.

    ``late``: first acted on after the target but before the week ended; ``unanswered``: no
    action by the week's end; ``withdrawn``: the author deleted it before it fell due.
    """
    dialect = _dialect(session)
    tagged = _week_segments(calendar, window, days)
    if not tagged:
        return Counted(())
    deadline, _ = _deadline_case(session, [seg for _, seg in tagged])
    first = (
        select(func.min(Decision.decided_at))
        .where(Decision.comment_id == Comment.id)
        .correlate(Comment)
        .scalar_subquery()
    )
    per_comment = (
        select(
            Comment.account_id.label("account_id"),
            deadline.label("due"),
            epoch_seconds(first, dialect).label("first"),
            epoch_seconds(Comment.deleted_at, dialect).label("deleted"),
        )
        .where(
            Comment.created_at >= min(seg.received_from for _, seg in tagged),
            Comment.created_at < max(seg.received_until for _, seg in tagged),
        )
        # Computed once per comment: the outer query reads each column several times, and a
        # flattened subquery would re-run the first-action lookup for every reference.
        .cte("per_comment")
        .prefix_with("MATERIALIZED")
    )
    c = per_comment.c
    weeks = [epoch_of(bound) for bound in window.week_bounds]
    week_index = case(*[(c.due < bound, i) for i, bound in enumerate(weeks[1:])], else_=None)
    week_end = case(*[(c.due < bound, bound) for bound in weeks[1:]], else_=None)
    state = case(
        (
            and_(
                c.deleted.is_not(None),
                c.deleted <= c.due,
                or_(c.first.is_(None), c.first > c.due),
            ),
            "withdrawn",
        ),
        (and_(c.first.is_not(None), c.first <= c.due), "on_time"),
        (and_(c.first.is_not(None), c.first < week_end), "late"),
        else_="unanswered",
    ).label("state")
    b = week_index.label("b")
    query = (
        select(c.account_id, b, state, func.count())
        .where(c.due >= weeks[0], c.due < weeks[-1])
        .group_by(c.account_id, b, state)
    )
    return Counted.from_week_buckets(
        (account, i, (str(s),), n) for account, i, s, n in session.execute(query)
    )


def over_target_items(
    session: Session, window: Window, calendar: WorkingCalendar, days: int, limit: int = 50
) -> list[OverTargetItem]:
    """The reported week's comments that passed their target without a first action."""
    segments = calendar.segments_due_between(window.week_start, window.end, days)
    if not segments:
        return []
    dialect = _dialect(session)
    deadline, inside = _deadline_case(session, segments)
    first = (
        select(func.min(Decision.decided_at))
        .where(Decision.comment_id == Comment.id)
        .correlate(Comment)
        .scalar_subquery()
        .label("first")
    )
    per_comment = (
        select(
            Comment.account_id.label("account_id"),
            Comment.created_at.label("created_at"),
            deadline.label("due"),
            first,
            epoch_seconds(first, dialect).label("first_s"),
            epoch_seconds(Comment.deleted_at, dialect).label("deleted_s"),
        )
        .where(inside)
        # Computed once per comment: the outer query reads each column several times, and a
        # flattened subquery would re-run the first-action lookup for every reference.
        .cte("per_comment")
        .prefix_with("MATERIALIZED")
    )
    c = per_comment.c
    query = (
        select(c.account_id, c.created_at, c.due, c.first)
        .where(
            or_(c.first_s.is_(None), c.first_s > c.due),
            or_(c.deleted_s.is_(None), c.deleted_s > c.due),
        )
        .order_by(c.created_at)
        .limit(limit)
    )
    return [
        OverTargetItem(
            account,
            created if created.tzinfo else created.replace(tzinfo=UTC),
            datetime.fromtimestamp(due, UTC),
            first_at,
        )
        for account, created, due, first_at in session.execute(query)
    ]


def standard_responses(session: Session, window: Window) -> Counted:
    """Replies posted per account and week, by the standard response they started from."""
    weeks = window.week_bounds
    b = bucket(Decision.decided_at, weeks).label("b")
    key = func.coalesce(Reply.canned_key, OWN_WORDS).label("key")
    query = (
        select(Comment.account_id, b, key, func.count())
        .select_from(Reply)
        .join(Decision, Decision.id == Reply.decision_id)
        .join(Comment, Comment.id == Decision.comment_id)
        .where(in_span(Decision.decided_at, weeks))
        .group_by(Comment.account_id, b, key)
    )
    return Counted.from_week_buckets(
        (account, i, (str(k),), n) for account, i, k, n in session.execute(query)
    )


def months_before(moment: datetime, months: int) -> datetime:
    """The same day and time ``months`` calendar months earlier (clamped to the month's end)."""
    month_index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(month_index, 12)
    month += 1
    day = moment.day
    while True:
        try:
            return moment.replace(year=year, month=month, day=day)
        except ValueError:
            day -= 1


@dataclass(frozen=True)
class BlockReviews:
    """Authors whose block is due for review by the end of the coming week."""

    by_account: dict[int, int]
    overdue_by_account: dict[int, int]

    @property
    def total(self) -> int:
        """All accounts together."""
        return sum(self.by_account.values())

    @property
    def overdue(self) -> int:
        """Already past their review date when the reported week ended."""
        return sum(self.overdue_by_account.values())


def blocked_author_reviews(session: Session, window: Window, months: int) -> BlockReviews:
    """Blocks still in force at the week's end whose review falls due within the next week."""
    tz = window.tz
    due_by = months_before((window.end.astimezone(tz) + timedelta(days=7)), months).astimezone(UTC)
    overdue_by = months_before(window.end.astimezone(tz), months).astimezone(UTC)
    end = literal(window.end, Decision.decided_at.type)
    overdue = func.count(
        func.distinct(case((Decision.decided_at < overdue_by, Comment.author_id), else_=None))
    )
    query = (
        select(Comment.account_id, func.count(func.distinct(Comment.author_id)), overdue)
        .select_from(Decision)
        .join(Comment, Comment.id == Decision.comment_id)
        .where(
            Decision.action == "block",
            Decision.decided_at < due_by,
            _not_undone_by(Decision, end),
        )
        .group_by(Comment.account_id)
    )
    rows = session.execute(query).all()
    return BlockReviews({a: n for a, n, _ in rows}, {a: o for a, _, o in rows if o})


def preserved_records(session: Session, window: Window) -> Counted:
    """Originals preserved per account and week; category: ``legal_hold`` or ``kept``."""
    weeks = window.week_bounds
    b = bucket(PreservedRecord.preserved_at, weeks).label("b")
    hold = case((PreservedRecord.legal_hold.is_(True), "legal_hold"), else_="kept").label("hold")
    query = (
        select(Comment.account_id, b, hold, func.count())
        .select_from(PreservedRecord)
        .join(Comment, Comment.id == PreservedRecord.comment_id)
        .where(in_span(PreservedRecord.preserved_at, weeks))
        .group_by(Comment.account_id, b, hold)
    )
    return Counted.from_week_buckets(
        (account, i, (str(h),), n) for account, i, h, n in session.execute(query)
    )


@dataclass(frozen=True)
class ActorCount:
    """Decisions one person (or the system) took in the reported week."""

    slack_id: str | None
    name: str
    role: str | None
    kind: str
    count: int


def decisions_by_officer(session: Session, window: Window) -> list[ActorCount]:
    """Decisions taken in the reported week, per officer (their role from the member list)."""
    query = (
        select(
            Decision.actor_kind,
            Decision.actor_slack_id,
            func.max(Decision.actor_name),
            func.max(Member.role),
            func.count(),
        )
        .select_from(Decision)
        .outerjoin(Member, Member.slack_user_id == Decision.actor_slack_id)
        .where(in_span(Decision.decided_at, (window.week_start, window.end)))
        .group_by(Decision.actor_kind, Decision.actor_slack_id)
        .order_by(func.count().desc(), Decision.actor_slack_id)
    )
    return [
        ActorCount(slack_id, str(name), role, str(kind), n)
        for kind, slack_id, name, role, n in session.execute(query)
    ]

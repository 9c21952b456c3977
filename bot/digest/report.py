"""The weekly report as data: every figure for the paper, the CSV appendix and the Slack post.

``build_report`` runs the queries in ``figures`` once and arranges their results; the renderers
(HTML, PDF, CSV, charts) only format what is here. Nothing here names a resident: comments
appear as counts, and officers by role unless the council's settings ask for names.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from bot.digest import figures
from bot.digest.counted import Counted
from bot.digest.period import Week, Window, long_date
from bot.digest.working_days import WorkingCalendar
from config.settings import Settings
from storage.models import Account

ACTION_LABELS = (
    ("approve", "Approved"),
    ("hide", "Hidden"),
    ("delete", "Deleted"),
    ("warn", "Warned"),
    ("block", "Blocked"),
    ("reply", "Replied to"),
)
UNDO_LABELS = (("unhide", "Hide undone"), ("unblock", "Block undone"))
ROLE_TITLES = {"clerk": "Clerk", "deputy": "Deputy Clerk", "smat": "SMAT officer"}
OUTCOME_LABELS = {
    "open": "Still open at the end of the week",
    "upheld": "Upheld",
    "overruled": "Overruled",
    "hidden_referred_police": "Hidden and referred to the police",
    "reported_to_platform": "Reported to the platform",
    "replied": "Replied to",
}
ESCALATION_REASONS = {
    "threat": "Threat",
    "abuse_of_staff": "Abuse of staff",
    "safeguarding": "Safeguarding",
    "defamation_legal": "Defamation or legal",
    "press": "Press enquiry",
    "complaint": "Complaint",
    "unsure": "Unsure",
}
OVER_TARGET_STATES = (
    ("on_time", "Answered within the target"),
    ("late", "Answered late"),
    ("unanswered", "Not answered by the end of the week"),
    ("withdrawn", "Deleted by the author before it fell due"),
)
CHART_OUTCOMES = (
    ("approve", "Approved"),
    ("reply", "Replied to"),
    ("warn", "Warned"),
    ("escalate", "Escalated"),
    ("block", "Author blocked"),
    ("hide", "Hidden"),
    ("delete", "Deleted"),
    (figures.AWAITING, "Awaiting a decision"),
)
PLATFORM_NAMES = {"facebook": "Facebook", "instagram": "Instagram", "youtube": "YouTube", "x": "X"}


@dataclass(frozen=True)
class Trend:
    """One figure this week, the week before, and the average of the four weeks before."""

    this_week: float
    previous: float
    average: float

    @property
    def change(self) -> float:
        """This week less the week before."""
        return self.this_week - self.previous


@dataclass(frozen=True)
class FigureRow:
    """One line of the appendix (and the CSV): a figure for one account or all accounts."""

    section: str
    figure: str
    account: str
    trend: Trend


@dataclass(frozen=True)
class AccountInfo:
    """A council account as the paper names it."""

    id: int
    name: str
    display_name: str
    platform: str

    @property
    def label(self) -> str:
        """``Facebook: Example Town Council``."""
        return f"{PLATFORM_NAMES.get(self.platform, self.platform)}: {self.display_name}"


@dataclass(frozen=True)
class WaitTrend:
    """Time to first action (seconds) this week, the week before, and the four-week mean."""

    count: int
    median: int | None
    p90: int | None
    previous_median: int | None
    average_median: float | None


@dataclass(frozen=True)
class OfficerLine:
    """Decisions by one officer, named by role unless the settings say otherwise."""

    who: str
    decisions: int


@dataclass
class DigestReport:
    """Everything the committee paper says, for one ISO week."""

    council: str
    committee: str
    week: Week
    generated_at: datetime
    tz_name: str
    target_working_days: int
    blocked_review_months: int
    accounts: list[AccountInfo]
    received: Counted
    flagged: Counted
    outcomes: Counted
    decisions: Counted
    criticism: Counted
    escalations: Counted
    open_escalations: figures.OpenEscalations
    referrals: Counted
    waits: figures.FirstActionTimes
    wait_bands: Counted
    over_target: Counted
    over_target_items: list[figures.OverTargetItem]
    responses: Counted
    block_reviews: figures.BlockReviews
    preserved: Counted
    officers: list[OfficerLine]
    rows: list[FigureRow] = field(default_factory=list)

    # ----------------------------------------------------------------- headline numbers

    def trend(self, counted: Counted, category: tuple[str | None, ...] = ()) -> Trend:
        """All accounts: this week, the week before, the four-week average."""
        return Trend(
            counted.count(0, category=category),
            counted.count(1, category=category),
            counted.average_of_earlier(category=category),
        )

    def action(self, action: str) -> Trend:
        """How many decisions of one kind stood at the end of each week."""
        return self.trend(self.decisions, (action,))

    @property
    def removed(self) -> Trend:
        """Hidden, deleted or blocked."""
        parts = [self.action(a) for a in figures.REMOVAL_ACTIONS]
        return Trend(
            sum(p.this_week for p in parts),
            sum(p.previous for p in parts),
            sum(p.average for p in parts),
        )

    def removals_by_reason(self) -> list[tuple[str, int]]:
        """Removal decisions this week by policy reason code, most first."""
        totals: dict[str, int] = {}
        for row in self.decisions.rows:
            if row.weeks_ago == 0 and row.category[0] in figures.REMOVAL_ACTIONS:
                totals[row.category[1]] = totals.get(row.category[1], 0) + row.count
        return sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))

    def criticism_removed_by_reason(self) -> list[tuple[str, int]]:
        """Comments the policy suggested approving that were removed, by reason."""
        reasons = [c for c in self.criticism.categories(1) if c]
        pairs = [(r, self.criticism.count(0, category=("removed", r))) for r in reasons]
        return sorted([p for p in pairs if p[1]], key=lambda kv: (-kv[1], kv[0]))

    def wait_trend(self, account: int | None = None) -> WaitTrend:
        """Time to first action for one account or all."""
        now = self.waits.get(0, account)
        before = self.waits.get(1, account)
        medians = [self.waits.get(w, account).median for w in range(1, 5)]
        known = [m for m in medians if m is not None]
        return WaitTrend(
            now.count,
            now.median,
            now.p90,
            before.median,
            sum(known) / len(known) if known else None,
        )

    @property
    def platforms(self) -> list[str]:
        """Platforms of the accounts, in a fixed order."""
        present = {a.platform for a in self.accounts}
        return [p for p in PLATFORM_NAMES if p in present]

    def account_ids(self, platform: str) -> frozenset[int]:
        """The accounts on one platform."""
        return frozenset(a.id for a in self.accounts if a.platform == platform)

    @property
    def period(self) -> str:
        """``week 47 (16-22 November 2026)``, with an en dash."""
        return self.week.describe()

    @property
    def week_ends_at(self) -> datetime:
        """The end of the reported week (UTC; Monday 00:00 council time)."""
        return Window.of(self.week, self.generated_at.tzinfo or UTC).end

    @property
    def report_date(self) -> str:
        """The local date the paper was made."""
        return long_date(self.generated_at.date())


def _accounts(session: Session) -> list[AccountInfo]:
    return [
        AccountInfo(a.id, a.name, a.display_name, a.platform)
        for a in session.scalars(select(Account).order_by(Account.platform, Account.name))
    ]


def officer_lines(
    actors: Sequence[figures.ActorCount], *, name_officers: bool
) -> list[OfficerLine]:
    """Decisions per officer, by role (``SMAT officer A``, ...) unless names are wanted."""
    lines: list[OfficerLine] = []
    lettered: dict[str, int] = {}
    for actor in actors:
        if actor.kind != "member" or actor.slack_id is None:
            who = "SMAT Bot (automatic)"
        elif name_officers:
            title = ROLE_TITLES.get(actor.role or "", "former member")
            who = f"{actor.name} ({title})"
        elif actor.role in ("clerk", "deputy"):
            who = ROLE_TITLES[actor.role]
        else:
            # Letters follow the order of the table (most decisions first), never names.
            letter = chr(ord("A") + lettered.setdefault(actor.slack_id, len(lettered)))
            base = ROLE_TITLES["smat"] if actor.role == "smat" else "Former SMAT officer"
            who = f"{base} {letter}"
        lines.append(OfficerLine(who, actor.count))
    return lines


def build_report(
    session: Session, settings: Settings, week: Week, generated_at: datetime
) -> DigestReport:
    """Run every figure's query for ``week`` and arrange the results."""
    tz = settings.council.tz
    digest = settings.digest
    window = Window.of(week, tz)
    calendar = WorkingCalendar(tz, digest.bank_holidays)
    if session.get_bind().dialect.name == "postgresql":
        # These are short queries over a few weeks of rows; PostgreSQL's JIT compiler would
        # spend longer compiling each (a quarter of a second) than running it.
        session.execute(text("SET LOCAL jit = off"))
    received, flagged = figures.received_and_flagged(session, window)
    report = DigestReport(
        council=settings.council.name,
        committee=digest.committee,
        week=week,
        generated_at=generated_at.astimezone(tz),
        tz_name=settings.council.timezone,
        target_working_days=digest.target_working_days,
        blocked_review_months=digest.blocked_review_months,
        accounts=_accounts(session),
        received=received,
        flagged=flagged,
        outcomes=figures.outcomes_by_day(session, window),
        decisions=figures.decisions_by_action(session, window),
        criticism=figures.criticism_kept_and_removed(session, window),
        escalations=figures.escalations_opened(session, window),
        open_escalations=figures.escalations_open_at_end(session, window),
        referrals=figures.referrals(session, window),
        waits=figures.time_to_first_action(session, window),
        wait_bands=figures.wait_bands(session, window),
        over_target=figures.over_target(session, window, calendar, digest.target_working_days),
        over_target_items=figures.over_target_items(
            session, window, calendar, digest.target_working_days
        ),
        responses=figures.standard_responses(session, window),
        block_reviews=figures.blocked_author_reviews(session, window, digest.blocked_review_months),
        preserved=figures.preserved_records(session, window),
        officers=officer_lines(
            figures.decisions_by_officer(session, window), name_officers=digest.name_officers
        ),
    )
    report.rows = appendix_rows(report)
    return report


def appendix_rows(report: DigestReport) -> list[FigureRow]:
    """Every counted figure, per account and for all accounts (the CSV and the appendix)."""
    rows: list[FigureRow] = []
    scopes: list[tuple[str, int | None]] = [("All accounts", None)]
    scopes += [(a.label, a.id) for a in report.accounts]

    def add(
        section: str,
        name: str,
        counted: Counted,
        category: tuple[str | None, ...] = (),
        *,
        keep_zero: bool = True,
    ) -> None:
        for label, account in scopes:
            trend = Trend(
                counted.count(0, account=account, category=category),
                counted.count(1, account=account, category=category),
                counted.average_of_earlier(account=account, category=category),
            )
            shown = trend.this_week or trend.previous or trend.average
            if shown or (account is None and keep_zero):
                rows.append(FigureRow(section, name, label, trend))

    add("Volume", "Comments received", report.received)
    add("Volume", "Flagged by the policy", report.flagged)
    for action, label in (*ACTION_LABELS, *UNDO_LABELS):
        add("Decisions", label, report.decisions, (action,))
    for reason, _ in report.removals_by_reason():
        for action in figures.REMOVAL_ACTIONS:
            add(
                "Removals by reason",
                f"{reason} ({action})",
                report.decisions,
                (action, reason),
                keep_zero=False,
            )
    add("Criticism", "Kept (policy suggested approving)", report.criticism, ("kept",))
    add("Criticism", "Removed (policy suggested approving)", report.criticism, ("removed",))
    add("Escalations", "Escalated to the Clerk", report.escalations)
    for reason in report.escalations.categories(0, weeks_ago=None):
        add("Escalations", f"Escalated: {reason}", report.escalations, (reason,))
    for outcome in report.escalations.categories(1, weeks_ago=None):
        add("Escalations", f"Outcome: {outcome}", report.escalations, (None, outcome))
    for outcome in figures.REFERRALS:
        add("Referrals", OUTCOME_LABELS[outcome], report.referrals, (outcome,))
    for state, label in OVER_TARGET_STATES:
        add("Response times", f"Due this week: {label.lower()}", report.over_target, (state,))
    for key in report.responses.categories(0, weeks_ago=None):
        add("Standard responses", key, report.responses, (key,))
    add("Public records", "Originals preserved", report.preserved)
    add("Public records", "Of which under legal hold", report.preserved, ("legal_hold",))
    return rows

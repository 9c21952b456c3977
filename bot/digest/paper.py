"""The committee paper as a document: headings, paragraphs, tables and charts, in order.

One document model feeds both renderers (HTML and PDF), so the two always say the same.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from bot.digest import figures
from bot.digest.report import (
    ACTION_LABELS,
    ESCALATION_REASONS,
    OUTCOME_LABELS,
    OVER_TARGET_STATES,
    PLATFORM_NAMES,
    UNDO_LABELS,
    DigestReport,
    Trend,
)
from bot.digest.wording import average, change, count_words, duration, reason_label, summary
from bot.digest.working_days import WorkingCalendar


@dataclass(frozen=True)
class Paragraph:
    """Plain text (escaped by the renderer)."""

    text: str
    style: str = "body"


@dataclass(frozen=True)
class Table:
    """A table; the first column is text, the others right-aligned figures."""

    columns: tuple[str, ...]
    rows: Sequence[tuple[str, ...]]
    total: tuple[str, ...] | None = None
    caption: str | None = None
    widths: tuple[float, ...] | None = None
    """Relative column widths (the PDF uses them; HTML lets the browser decide)."""
    text_columns: int = 1
    """How many leading columns hold text (left-aligned); the rest are figures."""


@dataclass(frozen=True)
class ChartRef:
    """A chart by name (see ``charts``)."""

    name: str
    caption: str


Block = Paragraph | Table | ChartRef


@dataclass
class Section:
    """A numbered heading and what follows it."""

    heading: str
    blocks: list[Block] = field(default_factory=list)
    appendix: bool = False


@dataclass(frozen=True)
class Paper:
    """Everything printed, in order."""

    council: str
    committee: str
    title: str
    period: str
    short_period: str
    date_line: str
    summary: list[str]
    sections: list[Section]

    @property
    def filename_stem(self) -> str:
        """``smat-digest-2026-W47``."""
        return self.title


NONE = "\u2013"
"""An en dash: what a printed table shows where there is no figure."""
TREND_COLUMNS = ("This week", "Week before", "Change", "4-week average")


def _trend_cells(trend: Trend) -> tuple[str, ...]:
    return (
        f"{trend.this_week:,.0f}",
        f"{trend.previous:,.0f}",
        change(trend),
        average(trend.average),
    )


def _local(moment: datetime, report: DigestReport) -> str:
    local = moment.astimezone(report.generated_at.tzinfo)
    return f"{local:%a} {local.day} {local:%b}, {local:%H:%M}"


def build_paper(
    report: DigestReport,
    reason_labels: Mapping[str, str],
    reason_clauses: Mapping[str, str],
    response_titles: Mapping[str, str],
    calendar: WorkingCalendar,
) -> Paper:
    """Lay the report out as a committee paper."""
    sections = [
        _volume(report),
        _decisions(report),
        _removals(report, reason_labels, reason_clauses),
        _criticism(report, reason_labels),
        _escalations(report),
        _response_times(report, calendar),
        _responses_blocks_records(report, response_titles),
        _officers(report),
        _appendix_figures(report, reason_labels),
        _appendix_definitions(report),
    ]
    return Paper(
        council=report.council,
        committee=report.committee,
        title=f"smat-digest-{report.week.label}",
        period=f"Social media moderation report, {report.period}",
        short_period=f"Social media report, {report.week.label}",
        date_line=f"Report date: {report.report_date}",
        summary=summary(report, reason_labels),
        sections=sections,
    )


def _volume(report: DigestReport) -> Section:
    section = Section("Comments received")
    rows = []
    for account in report.accounts:
        received = report.received.count(0, account=account.id)
        rows.append(
            (
                account.label,
                f"{received:,}",
                f"{report.flagged.count(0, account=account.id):,}",
                f"{report.received.count(1, account=account.id):,}",
                average(report.received.average_of_earlier(account=account.id)),
            )
        )
    total = report.trend(report.received)
    section.blocks.append(
        Table(
            ("Account", "Received", "Flagged", "Week before", "4-week average"),
            rows,
            total=(
                "All accounts",
                f"{total.this_week:,.0f}",
                f"{report.flagged.count(0):,}",
                f"{total.previous:,.0f}",
                average(total.average),
            ),
            caption="By account. Flagged: the policy suggested a closer look (review, hide or "
            "escalate).",
            widths=(3.2, 1, 1, 1, 1.2),
        )
    )
    platform_rows = []
    for platform in report.platforms:
        ids = report.account_ids(platform)
        platform_rows.append(
            (
                PLATFORM_NAMES[platform],
                f"{report.received.count(0, accounts=ids):,}",
                f"{report.flagged.count(0, accounts=ids):,}",
            )
        )
    day_rows = [
        (
            f"{day:%A} {day.day} {day:%B}",
            f"{report.received.count(0, day=i):,}",
            f"{report.flagged.count(0, day=i):,}",
        )
        for i, day in enumerate(report.week.days)
    ]
    if platform_rows:
        section.blocks.append(
            Table(("Platform", "Received", "Flagged"), platform_rows, caption="By platform.")
        )
    section.blocks.append(
        Table(
            ("Day", "Received", "Flagged"),
            day_rows,
            total=("Week", f"{total.this_week:,.0f}", f"{report.flagged.count(0):,}"),
            caption="By day (council time; a day runs from midnight to midnight).",
        )
    )
    section.blocks.append(
        ChartRef(
            "volume-by-day",
            "Comments received each day, coloured by what had been decided about them by the "
            "end of the week.",
        )
    )
    return section


def _decisions(report: DigestReport) -> Section:
    section = Section("Decisions taken")
    rows = [(label, *_trend_cells(report.action(action))) for action, label in ACTION_LABELS]
    rows.append(("Escalated to the Clerk", *_trend_cells(report.trend(report.escalations))))
    rows += [
        (label, *_trend_cells(report.action(action)))
        for action, label in UNDO_LABELS
        if report.action(action).this_week or report.action(action).previous
    ]
    section.blocks.append(
        Paragraph(
            "Decisions SMAT took during the week, on comments of any date. A decision undone "
            "before the week ended is not counted; the undoing is shown instead."
        )
    )
    section.blocks.append(
        Table(
            ("Decision", *TREND_COLUMNS),
            rows,
            total=("Removed (hidden, deleted or blocked)", *_trend_cells(report.removed)),
            widths=(3.2, 1, 1, 1, 1.2),
        )
    )
    return section


def _removals(
    report: DigestReport, labels: Mapping[str, str], clauses: Mapping[str, str]
) -> Section:
    section = Section("Removals by policy reason")
    pairs = report.removals_by_reason()
    if not pairs:
        section.blocks.append(Paragraph("Nothing was hidden, deleted or blocked this week."))
        return section
    rows = []
    for code, n in pairs:
        counts = [report.decisions.count(0, category=(a, code)) for a in figures.REMOVAL_ACTIONS]
        rows.append(
            (
                reason_label(code, labels),
                clauses.get(code, NONE),
                *(f"{c:,}" for c in counts),
                f"{n:,}",
            )
        )
    section.blocks.append(
        Table(
            ("Reason", "Policy", "Hidden", "Deleted", "Blocked", "Total"),
            rows,
            widths=(2.4, 2.4, 0.8, 0.8, 0.8, 0.8),
            text_columns=2,
        )
    )
    section.blocks.append(ChartRef("removals-by-reason", "Removals this week by policy reason."))
    return section


def _criticism(report: DigestReport, labels: Mapping[str, str]) -> Section:
    section = Section("Criticism kept and removed")
    section.blocks.append(
        Paragraph(
            "The council's policy allows removal only for stated reasons, never for opinion or "
            "criticism, however unpopular. These are the comments decided on this week that the "
            "policy had judged acceptable (it suggested approving them): whether they stayed up, "
            "and, if any were removed, the reason SMAT recorded."
        )
    )
    kept = report.trend(report.criticism, ("kept",))
    removed = report.trend(report.criticism, ("removed",))
    section.blocks.append(
        Table(
            ("Judged acceptable by the policy", *TREND_COLUMNS),
            [("Kept", *_trend_cells(kept)), ("Removed", *_trend_cells(removed))],
            widths=(3.2, 1, 1, 1, 1.2),
        )
    )
    pairs = report.criticism_removed_by_reason()
    if pairs:
        section.blocks.append(
            Table(
                ("Reason recorded for the removal", "Comments"),
                [(reason_label(code, labels), f"{n:,}") for code, n in pairs],
                caption="Each such removal needed a second SMAT member's agreement.",
            )
        )
    return section


def _escalations(report: DigestReport) -> Section:
    section = Section("Escalations and referrals")
    reasons = report.escalations.categories(0)
    rows = [
        (ESCALATION_REASONS.get(r, r), f"{report.escalations.count(0, category=(r,)):,}")
        for r in reasons
    ]
    total = report.trend(report.escalations)
    if rows:
        section.blocks.append(
            Table(
                ("Escalated to the Clerk, by reason", "Escalations"),
                rows,
                total=("All reasons", f"{total.this_week:,.0f}"),
            )
        )
        outcomes = report.escalations.categories(1)
        section.blocks.append(
            Table(
                ("What became of them by the end of the week", "Escalations"),
                [
                    (
                        OUTCOME_LABELS.get(o, o),
                        f"{report.escalations.count(0, category=(None, o)):,}",
                    )
                    for o in outcomes
                ],
            )
        )
    else:
        section.blocks.append(Paragraph("Nothing was escalated to the Clerk this week."))
    section.blocks.append(
        Table(
            ("Referrals", *TREND_COLUMNS),
            [
                (OUTCOME_LABELS[o], *_trend_cells(report.trend(report.referrals, (o,))))
                for o in figures.REFERRALS
            ],
            widths=(3.2, 1, 1, 1, 1.2),
        )
    )
    still_open = report.open_escalations
    if still_open.total and still_open.oldest is not None:
        text = (
            f"{count_words(still_open.total, 'escalation').capitalize()} "
            f"{'was' if still_open.total == 1 else 'were'} still open when the week ended; "
            f"the oldest was raised on {_local(still_open.oldest, report)}."
        )
    else:
        text = "No escalation was open when the week ended."
    section.blocks.append(Paragraph(text))
    return section


def _response_times(report: DigestReport, calendar: WorkingCalendar) -> Section:
    section = Section("Response times")
    target = report.target_working_days
    wait = report.wait_trend()
    section.blocks.append(
        Paragraph(
            "A comment on a council page is notice served. Time to first action runs from when a "
            "comment was posted to SMAT's first decision about it (approve, reply, hide and so "
            f"on). The target is a first action within {target} working days."
        )
    )
    prev = report.waits.get(1)
    section.blocks.append(
        Table(
            ("Time to first action", "This week", "Week before", "4-week average"),
            [
                ("Comments first acted on", f"{wait.count:,}", f"{prev.count:,}", NONE),
                (
                    "Median (half waited less)",
                    duration(wait.median),
                    duration(wait.previous_median),
                    duration(wait.average_median),
                ),
                (
                    "90th percentile (nine in ten waited less)",
                    duration(wait.p90),
                    duration(prev.p90),
                    NONE,
                ),
            ],
            widths=(3.2, 1.1, 1.1, 1.2),
        )
    )
    section.blocks.append(
        Table(
            (f"Comments whose {target}-working-day target fell this week", *TREND_COLUMNS),
            [
                (label, *_trend_cells(report.trend(report.over_target, (state,))))
                for state, label in OVER_TARGET_STATES
            ],
            widths=(3.2, 1, 1, 1, 1.2),
        )
    )
    section.blocks.append(
        ChartRef("time-to-first-action", "How long the comments first acted on this week waited.")
    )
    items = report.over_target_items
    if items:
        names = {a.id: a.label for a in report.accounts}
        rows = []
        for item in items:
            until = item.first_action_at or report.week_ends_at
            rows.append(
                (
                    names.get(item.account_id, "?"),
                    _local(item.received_at, report),
                    _local(item.due_at, report),
                    _local(item.first_action_at, report)
                    if item.first_action_at and item.first_action_at < report.week_ends_at
                    else "none by the end of the week",
                    f"{calendar.working_days_between(item.received_at, until):.1f}",
                )
            )
        section.blocks.append(
            Table(
                ("Account", "Posted", "Due", "First action", "Working days"),
                rows,
                caption="Comments that passed the target this week without a first action "
                "(no resident is named; the triage channel holds the details).",
                widths=(2.4, 1.3, 1.3, 1.8, 0.9),
                text_columns=4,
            )
        )
    return section


def _responses_blocks_records(report: DigestReport, titles: Mapping[str, str]) -> Section:
    section = Section("Standard responses, blocks and public records")
    keys = report.responses.categories(0, weeks_ago=None)
    if keys:
        section.blocks.append(
            Table(
                ("Standard response used", *TREND_COLUMNS),
                [
                    (
                        titles.get(
                            k, "Reply in the officer's own words" if k == figures.OWN_WORDS else k
                        ),
                        *_trend_cells(report.trend(report.responses, (k,))),
                    )
                    for k in keys
                ],
                widths=(3.2, 1, 1, 1, 1.2),
            )
        )
    else:
        section.blocks.append(Paragraph("No replies were posted in the last five weeks."))
    reviews = report.block_reviews
    months = report.blocked_review_months
    review_text = (
        f"Blocked authors due for review (a block is reviewed {months} months after it was "
        f"made): {reviews.total:,} by the end of the coming week"
    )
    review_text += f", of which {reviews.overdue:,} already overdue." if reviews.overdue else "."
    section.blocks.append(Paragraph(review_text))
    preserved = report.trend(report.preserved)
    hold = report.preserved.count(0, category=("legal_hold",))
    section.blocks.append(
        Paragraph(
            "Public records preserved: the original of "
            f"{count_words(int(preserved.this_week), 'comment')} "
            f"was kept before it was hidden, deleted or its author blocked (week before: "
            f"{preserved.previous:,.0f})" + (f"; {hold:,} under legal hold." if hold else ".")
        )
    )
    return section


def _officers(report: DigestReport) -> Section:
    section = Section("Decisions by officer")
    if report.officers:
        section.blocks.append(
            Table(
                ("Officer", "Decisions"),
                [(line.who, f"{line.decisions:,}") for line in report.officers],
                caption="Officers appear by role.",
            )
        )
    else:
        section.blocks.append(Paragraph("No decisions were taken this week."))
    return section


def _appendix_figures(report: DigestReport, labels: Mapping[str, str]) -> Section:
    section = Section("Appendix A: the figures", appendix=True)
    section.blocks.append(
        Paragraph(
            "Every counted figure, for all accounts and for each account that had any. The same "
            "figures are in the CSV file that accompanies this paper."
        )
    )
    rows = [
        (
            row.section,
            _appendix_name(row.figure, labels),
            row.account,
            *_trend_cells(row.trend),
        )
        for row in report.rows
    ]
    section.blocks.append(
        Table(
            ("Section", "Figure", "Account", "This week", "Week before", "Change", "4-week avg"),
            rows,
            widths=(1.2, 2.2, 1.8, 0.75, 0.75, 0.9, 0.8),
            text_columns=3,
        )
    )
    return section


def _appendix_name(figure: str, labels: Mapping[str, str]) -> str:
    code, _, rest = figure.partition(" (")
    if code in labels:
        return f"{labels[code]} ({rest}"
    return figure


def _appendix_definitions(report: DigestReport) -> Section:
    section = Section("Appendix B: how the figures are counted", appendix=True)
    for text in (
        f"The week runs from Monday 00:00 to Sunday 24:00 council time ({report.tz_name}), "
        "including the weeks the clocks change. The four-week average is the mean of the four "
        "weeks before the reported one.",
        "A comment is counted in the week it was posted on the platform. Flagged means the "
        "policy suggested a closer look: review, hide or escalate.",
        "A decision is counted in the week it was taken. A hide or block undone before the end "
        "of that week is not counted; the undoing appears as 'hide undone' or 'block undone'.",
        "Criticism kept and removed: comments decided on during the week that the policy had "
        "suggested approving; removed means hidden, deleted or the author blocked.",
        "Escalations are counted in the week they were raised, with what had become of them by "
        "the end of that week. Referrals are counted in the week the outcome was recorded.",
        "Time to first action: from the comment's posting to SMAT's first decision about it, for "
        "comments whose first decision fell in the week. Median and 90th percentile use the "
        "nearest-rank method.",
        f"Target: a first action within {report.target_working_days} working days (Monday to "
        "Friday, less bank holidays). A comment posted at a weekend or on a holiday is due at "
        "the end of the last of those working days. Each comment is judged once, in the week "
        "its target falls.",
        f"Blocked authors due for review: blocks still in force whose review date "
        f"({report.blocked_review_months} months after the block) falls before the end of the "
        "coming week.",
    ):
        section.blocks.append(Paragraph(text, style="small"))
    return section

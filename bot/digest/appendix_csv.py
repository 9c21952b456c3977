"""The CSV appendix: every figure of the paper, one row per figure and account."""

from __future__ import annotations

import csv
import io

from bot.digest.report import DigestReport
from platforms.import_feed import csv_safe

HEADER = (
    "week",
    "section",
    "figure",
    "account",
    "this_week",
    "previous_week",
    "change",
    "four_week_average",
)


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}"


def render_csv(report: DigestReport) -> str:
    """The figures as CSV text (UTF-8, header row; text cells are spreadsheet-safe)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADER)
    week = report.week.label
    for row in report.rows:
        writer.writerow(
            (
                week,
                csv_safe(row.section),
                csv_safe(row.figure),
                csv_safe(row.account),
                _number(row.trend.this_week),
                _number(row.trend.previous),
                _number(row.trend.change),
                _number(row.trend.average),
            )
        )
    scopes = [("All accounts", None)] + [(a.label, a.id) for a in report.accounts]
    for label, account in scopes:
        wait = report.wait_trend(account)
        if account is not None and not wait.count:
            continue
        for figure, now, before, mean in (
            ("Comments first acted on", wait.count, report.waits.get(1, account).count, None),
            (
                "Median time to first action (seconds)",
                wait.median,
                wait.previous_median,
                wait.average_median,
            ),
            (
                "90th percentile time to first action (seconds)",
                wait.p90,
                report.waits.get(1, account).p90,
                None,
            ),
        ):
            delta = now - before if now is not None and before is not None else None
            writer.writerow(
                (
                    week,
                    "Response times",
                    figure,
                    csv_safe(label),
                    _number(now),
                    _number(before),
                    _number(delta),
                    _number(mean),
                )
            )
    return buffer.getvalue()

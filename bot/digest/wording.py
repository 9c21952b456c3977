"""Plain-English wording for the paper: the summary paragraph, durations, changes, reasons."""

from __future__ import annotations

from collections.abc import Mapping

from bot.digest.report import DigestReport, Trend

NUMBER_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def count_words(n: int, singular: str, plural: str | None = None) -> str:
    """``one comment``, ``4 comments``, ``no comments``: words below ten, as papers do."""
    noun = singular if n == 1 else (plural or singular + "s")
    return f"{number_words(n)} {noun}"


def number_words(n: int) -> str:
    """``four``, ``12``, ``1,204``: words below ten."""
    return NUMBER_WORDS[n] if 0 <= n < len(NUMBER_WORDS) else f"{n:,}"


def capitalised(text: str) -> str:
    """First letter in capitals."""
    return text[:1].upper() + text[1:]


def duration(seconds: float | None) -> str:
    """``45 min``, ``3 h 20 min``, ``2 days 4 h``; a dash when there is nothing to measure."""
    if seconds is None:
        return "–"  # noqa: RUF001 - an en dash is what a printed table shows for "none"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{max(minutes, 0)} min" if seconds >= 60 or seconds == 0 else "under 1 min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    day_word = "day" if days == 1 else "days"
    return f"{days} {day_word} {hours} h" if hours else f"{days} {day_word}"


def change(trend: Trend) -> str:
    """``+12``, ``0``, or a true minus sign and ``3``, against the week before."""
    delta = trend.this_week - trend.previous
    if delta > 0:
        return f"+{delta:,.0f}"
    if delta < 0:
        return f"\u2212{-delta:,.0f}"
    return "0"


def average(value: float) -> str:
    """A four-week average to one decimal place, dropping a trailing .0."""
    return f"{value:,.1f}".removesuffix(".0")


def reason_label(code: str, labels: Mapping[str, str]) -> str:
    """A reason code as the policy names it."""
    return labels.get(code, code.replace("_", " "))


def summary(report: DigestReport, reason_labels: Mapping[str, str]) -> list[str]:
    """The summary paragraph, sentence by sentence, in plain English."""
    received = report.trend(report.received)
    this, before = int(received.this_week), int(received.previous)
    accounts = count_words(len(report.accounts), "account")
    if this > before:
        versus = f"up from {before:,} the week before"
    elif this < before:
        versus = f"down from {before:,} the week before"
    else:
        versus = "the same as the week before"
    sentences = [
        f"{capitalised(count_words(this, 'comment'))} "
        f"{'was' if this == 1 else 'were'} received on the council's {accounts} in "
        f"{report.period}, {versus} (an average of {average(received.average)} a week over "
        "the four weeks before)."
    ]

    flagged = int(report.trend(report.flagged).this_week)
    done = [
        (int(report.action(action).this_week), words)
        for action, words in (
            ("approve", "approved"),
            ("reply", "replied to"),
            ("warn", "warned"),
            ("hide", "hidden"),
            ("delete", "deleted"),
            ("block", "blocked"),
        )
    ]
    parts = [f"{number_words(n)} {words}" for n, words in done if n]
    actions = (
        ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + (parts[-1] if parts else "")
    )
    decided = (
        f"SMAT's decisions this week: {actions}." if parts else "SMAT took no decisions this week."
    )
    sentences.append(
        f"{capitalised(count_words(flagged, 'comment'))} "
        f"{'was' if flagged == 1 else 'were'} flagged by the policy for a closer look. {decided}"
    )

    removed = report.criticism_removed_by_reason()
    kept = report.criticism.count(0, category=("kept",))
    if not removed:
        sentences.append(
            f"No comment was removed for criticism of the council: none of the {kept:,} "
            "comments the policy judged acceptable was removed."
            if kept
            else "No comment was removed for criticism of the council."
        )
    else:
        total = sum(n for _, n in removed)
        why = "; ".join(f"{reason_label(r, reason_labels).lower()} ({n})" for r, n in removed)
        sentences.append(
            f"{capitalised(count_words(total, 'comment'))} that the policy had judged "
            f"acceptable {'was' if total == 1 else 'were'} removed after a second SMAT member "
            f"agreed, {'for a' if total == 1 else 'each for a'} stated policy reason: {why}."
        )

    escalated = int(report.trend(report.escalations).this_week)
    police = report.referrals.count(0, category=("hidden_referred_police",))
    platform = report.referrals.count(0, category=("reported_to_platform",))
    still_open = report.open_escalations.total
    matters = capitalised(count_words(escalated, "matter"))
    line = f"{matters} {_was(escalated)} escalated to the Clerk"
    referrals = []
    if police:
        referrals.append(f"{count_words(police, 'referral')} to the police")
    if platform:
        referrals.append(f"{count_words(platform, 'report')} to the platforms")
    if referrals:
        line += (
            "; there " + ("was " if (police + platform) == 1 else "were ") + " and ".join(referrals)
        )
    if still_open:
        remain = "remains" if still_open == 1 else "remain"
        line += f", and {count_words(still_open, 'escalation')} {remain} open."
    else:
        line += ", and none remains open."
    sentences.append(line)

    wait = report.wait_trend()
    target = report.target_working_days
    late = report.over_target.count(0, category=("late",))
    unanswered = report.over_target.count(0, category=("unanswered",))
    if wait.count:
        timing = (
            f"Half of the comments first acted on this week waited {duration(wait.median)} or "
            f"less, and nine in ten {duration(wait.p90)} or less"
        )
    else:
        timing = "No comment had its first action this week"
    if late or unanswered:
        missed = count_words(late + unanswered, "comment")
        missed += f" passed the {target}-working-day target without one"
        if unanswered:
            missed += f" ({unanswered:,} still unanswered when the week ended)"
    else:
        missed = (
            f"every comment that fell due was dealt with within the {target}-working-day target"
        )
    sentences.append(f"{timing}; {missed}.")
    return sentences


def _was(n: int) -> str:
    return "was" if n == 1 else "were"

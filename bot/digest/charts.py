"""The paper's charts as PNG files (matplotlib, no display needed, no global pyplot state)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from io import BytesIO

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from bot.digest import figures
from bot.digest.report import CHART_OUTCOMES, DigestReport
from bot.digest.wording import reason_label

# Okabe-Ito colours: told apart by readers with colour-blindness, and in greyscale print.
OUTCOME_COLOURS = {
    "approve": "#009E73",
    "reply": "#56B4E9",
    "warn": "#F0E442",
    "escalate": "#CC79A7",
    "block": "#0072B2",
    "hide": "#E69F00",
    "delete": "#D55E00",
    figures.AWAITING: "#BBBBBB",
}
INK = "#222222"
WIDTH_IN, HEIGHT_IN, DPI = 6.6, 3.0, 150


@dataclass(frozen=True)
class Chart:
    """A chart ready to save or embed."""

    name: str
    title: str
    png: bytes


def _figure(height: float = HEIGHT_IN) -> Figure:
    figure = Figure(figsize=(WIDTH_IN, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _png(figure: Figure) -> bytes:
    buffer = BytesIO()
    figure.savefig(buffer, format="png", facecolor="white")
    return buffer.getvalue()


def _style(ax: object, integer_y: bool = True) -> None:
    from matplotlib.axes import Axes

    assert isinstance(ax, Axes)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(colors=INK, labelsize=8)
    if integer_y:
        ax.yaxis.get_major_locator().set_params(integer=True)  # type: ignore[call-arg]


def volume_by_day(report: DigestReport) -> Chart:
    """Comments received each day, stacked by what they came to by the week's end."""
    figure = _figure()
    ax = figure.add_subplot()
    days = report.week.days
    labels = [f"{d:%a}\n{d.day} {d:%b}" for d in days]
    bottoms = [0] * 7
    for outcome, label in CHART_OUTCOMES:
        heights = [report.outcomes.count(0, day=i, category=(outcome,)) for i in range(7)]
        if any(heights):
            ax.bar(labels, heights, bottom=bottoms, label=label, color=OUTCOME_COLOURS[outcome])
            bottoms = [b + h for b, h in zip(bottoms, heights, strict=True)]
    if not any(bottoms):
        ax.text(0.5, 0.5, "No comments this week", ha="center", va="center", transform=ax.transAxes)
    ax.set_ylabel("Comments", fontsize=8, color=INK)
    _style(ax)
    if any(bottoms):
        ax.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return Chart("volume-by-day", "Comments received each day, by decision", _png(figure))


def removals_by_reason(report: DigestReport, reason_labels: Mapping[str, str]) -> Chart:
    """Removals (hide, delete, block) this week by policy reason."""
    pairs = report.removals_by_reason()
    figure = _figure(max(1.6, 0.9 + 0.32 * len(pairs)))
    ax = figure.add_subplot()
    if pairs:
        names = [reason_label(code, reason_labels) for code, _ in reversed(pairs)]
        values = [n for _, n in reversed(pairs)]
        bars = ax.barh(names, values, color=OUTCOME_COLOURS["hide"])
        ax.bar_label(bars, fontsize=8, padding=2, color=INK)
        ax.set_xlabel("Removals", fontsize=8, color=INK)
        ax.xaxis.get_major_locator().set_params(integer=True)  # type: ignore[call-arg]
    else:
        ax.text(0.5, 0.5, "No removals this week", ha="center", va="center", transform=ax.transAxes)
        ax.set_yticks([])
        ax.set_xticks([])
    _style(ax, integer_y=False)
    return Chart("removals-by-reason", "Removals by policy reason", _png(figure))


def time_to_first_action(report: DigestReport) -> Chart:
    """How long comments first acted on this week waited."""
    figure = _figure(2.5)
    ax = figure.add_subplot()
    bands = [label for label, _ in figures.WAIT_BANDS] + [figures.OVER_A_WEEK]
    values = [report.wait_bands.count(0, category=(band,)) for band in bands]
    bars = ax.bar(bands, values, color=OUTCOME_COLOURS["reply"])
    ax.bar_label(bars, fontsize=8, padding=2, color=INK)
    ax.set_ylabel("Comments", fontsize=8, color=INK)
    ax.set_xlabel("Time from posting to the first decision", fontsize=8, color=INK)
    _style(ax)
    return Chart("time-to-first-action", "Time to first action", _png(figure))


def all_charts(report: DigestReport, reason_labels: Mapping[str, str]) -> list[Chart]:
    """The three charts of the paper, in order."""
    return [
        volume_by_day(report),
        removals_by_reason(report, reason_labels),
        time_to_first_action(report),
    ]

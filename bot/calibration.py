"""Suggest per-label thresholds from SMAT's own decisions (``smat-bot calibrate``).

A person's decision is the label: ``approve`` means not abusive; ``hide``, ``delete`` and
``block`` mean abusive; every other action (escalate, reply, ignore…) says nothing about the
score and is left out.

For each classifier label, the suggested threshold is the one that **catches the most removed
comments (highest recall) while precision stays at or above the target (0.9 by default) at that
threshold and at every higher one; of the thresholds that catch as many, the highest**, which
flags the fewest approved comments. So at least nine in ten comments it flags are ones SMAT did
remove. A precision floor rather than the best F1, because a flag that is usually wrong teaches
people to click through flags, and because removing a comment that is only criticism is the one
mistake the council's policy forbids outright. The best-F1 threshold is shown beside it for
comparison. When the current threshold already does as well on the decisions, it is kept:
the decisions give no reason to move it. Nothing is suggested for a label with fewer than 20
decisions in either class.

It only suggests: nothing here changes the configuration.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.evaluation import Confusion
from classifiers.policy import EPSILON
from storage.models import Classification, Decision

ABUSIVE_ACTIONS = frozenset({"hide", "delete", "block"})
NOT_ABUSIVE_ACTIONS = frozenset({"approve"})
SYSTEM_ACTOR = "system"
DEFAULT_TARGET_PRECISION = 0.9
DEFAULT_MIN_PER_CLASS = 20
GRID = tuple(round(step / 100, 2) for step in range(1, 101))
"""Candidate thresholds: 0.01 to 1.00 in steps of 0.01, as thresholds are written in config."""


def decision_label(action: str) -> bool | None:
    """``True`` (abusive) for hide/delete/block, ``False`` for approve, ``None`` otherwise."""
    if action in ABUSIVE_ACTIONS:
        return True
    if action in NOT_ABUSIVE_ACTIONS:
        return False
    return None


@dataclass(frozen=True)
class DecidedScores:
    """The scores a comment version was shown with, and what SMAT decided about it."""

    model_name: str
    scores: Mapping[str, float]
    abusive: bool


def read_decided(session: Session) -> list[DecidedScores]:
    """Every comment version SMAT decided about, labelled by its latest telling decision.

    Only people's decisions count (not the system's). When a version was decided more than
    once (approved, then hidden), the latest approve/hide/delete/block decision wins. The
    scores are those of the classification the decider was shown; a decision taken before the
    comment was classified has none and is left out.
    """
    rows = session.execute(
        select(
            Decision.comment_version_id,
            Decision.action,
            Classification.model_name,
            Classification.scores,
        )
        .join(Classification, Classification.id == Decision.classification_id)
        .where(Decision.actor_kind != SYSTEM_ACTOR)
        .order_by(Decision.decided_at, Decision.id)
    )
    latest: dict[int, DecidedScores] = {}
    for version_id, action, model_name, scores in rows:
        label = decision_label(action)
        if label is None:
            continue
        latest[version_id] = DecidedScores(
            model_name,
            {
                str(name): float(score)
                for name, score in dict(scores).items()
                if isinstance(score, int | float) and not isinstance(score, bool)
            },
            label,
        )
    return [latest[version_id] for version_id in sorted(latest)]


@dataclass(frozen=True)
class ThresholdPoint:
    """How a threshold does on the decisions so far."""

    threshold: float
    confusion: Confusion

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"threshold": self.threshold, **self.confusion.as_dict()}


@dataclass(frozen=True)
class LabelCalibration:
    """The suggestion for one model's label."""

    model_name: str
    label: str
    abusive: int
    not_abusive: int
    current: ThresholdPoint | None
    """The configured threshold, measured on the same decisions (None if none configured)."""
    suggested: ThresholdPoint | None
    """The highest-recall threshold keeping precision ≥ the target from there up (the highest
    of equals); None when there is none, or too few decisions."""
    best_f1: ThresholdPoint | None
    """The threshold with the highest F1 (the highest of equals), for comparison."""
    status: str
    """``ok``, ``needs_more`` (too few decisions in a class) or ``unreachable`` (no threshold
    reaches the target precision)."""
    message: str
    lowest_equivalent: float | None = None
    """The lowest threshold that catches as many removed comments as ``suggested``."""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "model": self.model_name,
            "label": self.label,
            "abusive": self.abusive,
            "not_abusive": self.not_abusive,
            "status": self.status,
            "current": self.current.as_dict() if self.current else None,
            "suggested": self.suggested.as_dict() if self.suggested else None,
            "lowest_equivalent": self.lowest_equivalent,
            "best_f1": self.best_f1.as_dict() if self.best_f1 else None,
            "message": self.message,
        }


def measure(samples: Sequence[tuple[float, bool]], threshold: float) -> ThresholdPoint:
    """The confusion matrix of flagging every score at or above the threshold."""
    return ThresholdPoint(
        threshold,
        Confusion.of(
            [abusive for _, abusive in samples],
            [score >= threshold - EPSILON for score, _ in samples],
        ),
    )


def calibrate_label(
    samples: Sequence[tuple[float, bool]],
    *,
    model_name: str,
    label: str,
    current_threshold: float | None,
    target_precision: float = DEFAULT_TARGET_PRECISION,
    min_per_class: int = DEFAULT_MIN_PER_CLASS,
) -> LabelCalibration:
    """Suggest a threshold for one label from (score, abusive) pairs."""
    if not 0.0 < target_precision <= 1.0:
        raise ValueError(f"target precision must be in (0, 1], got {target_precision}")
    if min_per_class < 1:
        raise ValueError(f"min_per_class must be at least 1, got {min_per_class}")
    abusive = sum(1 for _, is_abusive in samples if is_abusive)
    not_abusive = len(samples) - abusive
    current = measure(samples, current_threshold) if current_threshold is not None else None
    if abusive < min_per_class or not_abusive < min_per_class:
        return LabelCalibration(
            model_name,
            label,
            abusive,
            not_abusive,
            current,
            None,
            None,
            "needs_more",
            f"Needs more decisions: {abusive} abusive (hide/delete/block) and {not_abusive} "
            f"not abusive (approve); at least {min_per_class} of each before suggesting.",
        )
    points = [measure(samples, threshold) for threshold in GRID]
    best_f1 = max(points, key=lambda point: (point.confusion.f1 or 0.0, point.threshold))
    lowest = _lowest_holding_precision(points, target_precision)
    if lowest is None:
        return LabelCalibration(
            model_name,
            label,
            abusive,
            not_abusive,
            current,
            None,
            best_f1,
            "unreachable",
            f"No threshold keeps precision ≥ {target_precision:.2f} on these decisions; "
            "keep the current threshold.",
        )
    # Every threshold from `lowest` up keeps the precision; of those that catch as many removed
    # comments, the highest flags the fewest approved ones.
    highest = max(
        (
            point
            for point in points
            if point.threshold >= lowest.threshold and point.confusion.tp == lowest.confusion.tp
        ),
        key=lambda point: point.threshold,
    )
    recall = highest.confusion.recall or 0.0
    span = (
        f"anything from {lowest.threshold:.2f} to {highest.threshold:.2f}"
        if lowest.threshold < highest.threshold
        else f"only {highest.threshold:.2f}"
    )
    if (
        current is not None
        and lowest.threshold - EPSILON <= current.threshold <= highest.threshold + EPSILON
    ):
        # The decisions give no reason to move a threshold that already does as well.
        suggested = current
        message = (
            f"Keep {current.threshold:.2f}: recall {recall:.2f} with precision ≥ "
            f"{target_precision:.2f}; on these decisions {span} does as well."
        )
    else:
        suggested = highest
        message = (
            f"Suggest {highest.threshold:.2f}: recall {recall:.2f} with precision ≥ "
            f"{target_precision:.2f} from there up; on these decisions {span} catches as many."
        )
    return LabelCalibration(
        model_name,
        label,
        abusive,
        not_abusive,
        current,
        suggested,
        best_f1,
        "ok",
        message,
        lowest.threshold,
    )


def _lowest_holding_precision(
    points: Sequence[ThresholdPoint], target: float
) -> ThresholdPoint | None:
    """The lowest threshold from which precision stays at or above the target all the way up.

    Precision is not monotonic in the threshold; requiring it to hold at every higher threshold
    keeps a lucky dip in the scores from being suggested.
    """
    found = None
    for point in sorted(points, key=lambda point: point.threshold, reverse=True):
        precision = point.confusion.precision
        if precision is None:
            continue  # nothing flagged this high up
        if precision < target - EPSILON:
            break
        found = point
    return found


def calibrate(
    decided: Iterable[DecidedScores],
    thresholds: Mapping[str, float],
    *,
    target_precision: float = DEFAULT_TARGET_PRECISION,
    min_per_class: int = DEFAULT_MIN_PER_CLASS,
) -> list[LabelCalibration]:
    """One suggestion per (model, label) seen in the decisions, sorted by model and label.

    Models are kept apart: a threshold for one model's scores means nothing for another's.
    """
    samples: dict[tuple[str, str], list[tuple[float, bool]]] = defaultdict(list)
    for item in decided:
        for label, score in item.scores.items():
            samples[(item.model_name, label)].append((score, item.abusive))
    return [
        calibrate_label(
            pairs,
            model_name=model_name,
            label=label,
            current_threshold=thresholds.get(label),
            target_precision=target_precision,
            min_per_class=min_per_class,
        )
        for (model_name, label), pairs in sorted(samples.items())
    ]

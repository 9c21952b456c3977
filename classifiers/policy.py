"""The policy: a pure function from scores and detections to a suggested action and its reason.

It only suggests; a SMAT member decides. Criticism is never a reason: a comment below every
threshold is suggested "approve" however negative it is about the council.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from classifiers.detectors import Detections
from config.settings import PolicySettings

EPSILON = 1e-9

CRITICISM_NOTE = "Criticism of the council is not a reason to remove a comment."


class SuggestedAction(StrEnum):
    """What the policy suggests SMAT does with a comment."""

    APPROVE = "approve"
    REVIEW = "review"
    HIDE = "hide"
    ESCALATE = "escalate"


@dataclass(frozen=True)
class Suggestion:
    """The policy's view of one comment."""

    action: SuggestedAction
    reason_code: str | None
    clause: str | None
    explanation: str
    flagged_labels: tuple[str, ...] = ()

    @property
    def flagged(self) -> bool:
        """Whether the comment needs more than a glance."""
        return self.action is not SuggestedAction.APPROVE


def suggest(
    scores: Mapping[str, float], detections: Detections, policy: PolicySettings
) -> Suggestion:
    """Map scores and detections to a suggestion, naming the policy clause it rests on."""
    over = _labels_over(scores, policy.thresholds, 1.0)
    # Every reason that applies, labels (furthest over first) before detections; an escalating
    # reason (threats, minors) wins over the rest.
    evidence = [
        (
            policy.label_reasons[label],
            f"{label} {scores[label]:.2f} ≥ {policy.thresholds[label]:.2f}",
        )
        for label in over
        if label in policy.label_reasons
    ] + [
        (policy.detection_reasons[kind], f"detected {kind.replace('_', ' ')}")
        for kind in detections
        if kind in policy.detection_reasons
    ]
    if evidence:
        escalating = [item for item in evidence if policy.reason_codes[item[0]].escalate]
        code = (escalating or evidence)[0][0]
        return Suggestion(
            SuggestedAction.ESCALATE if escalating else SuggestedAction.HIDE,
            code,
            policy.reason_codes[code].clause,
            "Policy reasons: " + "; ".join(note for _, note in evidence) + ".",
            tuple(over),
        )

    near = _labels_over(scores, policy.thresholds, policy.review_margin)
    notes = [
        f"{label} {scores[label]:.2f} is above its threshold {policy.thresholds[label]:.2f} "
        "but no policy reason is mapped to it"
        for label in over
    ] + [
        f"{label} {scores[label]:.2f} is close to its threshold {policy.thresholds[label]:.2f}"
        for label in near
        if label not in over
    ]
    if "link" in detections:
        notes.append("contains a link")
    if notes:
        return Suggestion(
            SuggestedAction.REVIEW,
            None,
            None,
            "Worth a look: " + "; ".join(notes) + ".",
            tuple(over),
        )

    return Suggestion(SuggestedAction.APPROVE, None, None, _approve_explanation(scores, policy))


def _labels_over(
    scores: Mapping[str, float], thresholds: Mapping[str, float], factor: float
) -> list[str]:
    """Labels at or above factor x threshold, the furthest over first."""
    # A small tolerance so a score exactly on the line counts (0.75 * 0.80 is 0.6000000000000001).
    hits = [
        label
        for label, score in scores.items()
        if label in thresholds and score >= factor * thresholds[label] - EPSILON
    ]
    return sorted(hits, key=lambda label: scores[label] / thresholds[label], reverse=True)


def _approve_explanation(scores: Mapping[str, float], policy: PolicySettings) -> str:
    known = [label for label in scores if label in policy.thresholds]
    if not known:
        return f"No policy reason applies. {CRITICISM_NOTE}"
    top = max(known, key=lambda label: scores[label] / policy.thresholds[label])
    return (
        f"No policy reason applies: every score is below its threshold (highest: {top} "
        f"{scores[top]:.2f} of {policy.thresholds[top]:.2f}). {CRITICISM_NOTE}"
    )

"""The policy: a pure function from scores and detections to a suggested action and its reason.

It only suggests; a SMAT member decides. Criticism is never a reason: a comment below every
threshold is suggested "approve" however negative it is about the council.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
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
    legislation: tuple[str, ...] = ()
    """For an escalation: the law the comment may break (Biggleswade Appendix C)."""

    @property
    def flagged(self) -> bool:
        """Whether the comment needs more than a glance."""
        return self.action is not SuggestedAction.APPROVE


def suggest(
    scores: Mapping[str, float],
    detections: Detections,
    policy: PolicySettings,
    *,
    on: date | None = None,
) -> Suggestion:
    """Map scores and detections to a suggestion, naming the policy clause it rests on.

    ``on`` is the comment's local date; it matters only in the pre-election period.
    """
    over = _labels_over(scores, policy.thresholds, 1.0)
    label_evidence = [
        (
            policy.label_reasons[label],
            f"{label} {scores[label]:.2f} ≥ {policy.thresholds[label]:.2f}",
        )
        for label in over
        if label in policy.label_reasons
    ]
    if label_evidence and "named_officer" in detections:
        # Abuse aimed at a named officer is bullying or harassment of staff, whichever label
        # crossed its threshold (DESIGN §6; Biggleswade 6.5 "Bullying").
        label_evidence.insert(0, (STAFF_REASON, "aimed at a named officer"))
    # Every reason that applies, labels (furthest over first) before detections; an escalating
    # reason (threats, minors) wins over the rest.
    evidence = label_evidence + [
        (policy.detection_reasons[kind], f"detected {_kind(kind)}")
        for kind in detections
        if kind in policy.detection_reasons
    ]
    evidence = [item for item in evidence if item[0] in policy.reason_codes]
    if evidence:
        escalating = [item for item in evidence if policy.reason_codes[item[0]].escalate]
        code = (escalating or evidence)[0][0]
        reason = policy.reason_codes[code]
        reasons = "; ".join(dict.fromkeys(note for _, note in evidence))
        explanation = f"Policy reasons: {reasons}."
        if escalating and reason.legislation:
            explanation += " Possible offence: " + "; ".join(reason.legislation) + "."
        return Suggestion(
            SuggestedAction.ESCALATE if escalating else SuggestedAction.HIDE,
            code,
            reason.clause,
            explanation,
            tuple(over),
            reason.legislation if escalating else (),
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
    pre_election = on is not None and policy.pre_election.active(on)
    for kind in detections:
        if kind == "political":
            if pre_election:
                notes.append("political content in the pre-election period (review only)")
        elif kind in policy.review_detections:
            notes.append(_review_note(kind, detections[kind]))
    if notes:
        return Suggestion(
            SuggestedAction.REVIEW,
            None,
            None,
            "Worth a look: " + "; ".join(notes) + ".",
            tuple(over),
        )

    return Suggestion(SuggestedAction.APPROVE, None, None, _approve_explanation(scores, policy))


STAFF_REASON = "bullying_or_harassment"


def _kind(kind: str) -> str:
    return kind.replace("_", " ")


def _review_note(kind: str, hits: list[str]) -> str:
    if kind == "other_language":
        return f"written in another language ({', '.join(hits)}): the classifier cannot judge it"
    return f"detected {_kind(kind)}"


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

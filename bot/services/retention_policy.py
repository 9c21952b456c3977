"""Which retention class a comment falls into, and when its period ends: pure functions.

A comment enters a class only once it is settled: decided in triage, with any escalation
closed. Evidence outranks a removal, and a removal outranks an approval; among evidence classes
the longest period wins, so a comment that is both a complaint and referred to the police is
kept as long as the police matter needs (on equal periods, the class listed first in the
configuration gives its name). The period runs from the comment's last activity (its
latest decision, edit or escalation step), so a comment that comes back to life starts again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from config.settings import RetentionSettings

APPROVED = "approved_comment"
REMOVED = "removed_comment"
REMOVAL_ACTIONS = frozenset({"hide", "delete", "block", "warn"})
"""Decisions that make a comment part of the record of removals (a warning is a strike)."""


@dataclass(frozen=True)
class CommentFacts:
    """What retention needs to know about one comment, read from the database."""

    decided: bool
    """Its review item is decided (not pending, not awaiting a second approver)."""
    actions: tuple[str, ...]
    reason_codes: tuple[str, ...] = ()
    """Reason codes of its removal decisions."""
    escalation_reasons: tuple[str, ...] = ()
    escalation_outcomes: tuple[str, ...] = ()
    open_escalation: bool = False
    last_activity: datetime | None = None


def retention_class(facts: CommentFacts, settings: RetentionSettings) -> str | None:
    """The class a comment is kept under, or None while it is not settled (never purged)."""
    if not facts.decided or facts.open_escalation or not facts.actions:
        return None
    evidence = _evidence_classes(facts, settings)
    if evidence:
        # Equal periods: the class listed first in the configuration names it (criminal first).
        ordered = [name for name in settings.classes if name in evidence]
        return max(ordered, key=lambda name: settings.classes[name].days)
    if REMOVAL_ACTIONS.intersection(facts.actions):
        return REMOVED
    return APPROVED


def expires_at(facts: CommentFacts, settings: RetentionSettings) -> datetime | None:
    """When the comment's retention period ends, or None while it is not settled."""
    name = retention_class(facts, settings)
    if name is None or facts.last_activity is None:
        return None
    return facts.last_activity + timedelta(days=settings.classes[name].days)


def _evidence_classes(facts: CommentFacts, settings: RetentionSettings) -> set[str]:
    found = set(_mapped(facts.escalation_reasons, settings.evidence_by_escalation))
    found |= set(_mapped(facts.escalation_outcomes, settings.evidence_by_outcome))
    found |= set(_mapped(facts.reason_codes, settings.evidence_by_reason_code))
    if facts.escalation_reasons and not found:
        # An escalated comment is evidence even when its reason is not mapped: keep it as
        # long as the longest evidence class rather than as a plain removal.
        found = {
            name
            for name in settings.classes
            if name not in (APPROVED, REMOVED)
            and settings.classes[name].days >= settings.classes[REMOVED].days
        }
    return found


def _mapped(keys: Iterable[str], mapping: dict[str, str]) -> Iterable[str]:
    return (mapping[key] for key in keys if key in mapping)

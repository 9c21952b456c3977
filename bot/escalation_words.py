"""The words for escalations: why a comment goes to the Town Clerk, and what the Clerk did."""

from __future__ import annotations

REASONS: dict[str, str] = {
    "threat": "Threat or possible offence",
    "abuse_of_staff": "Abuse of staff",
    "safeguarding": "Safeguarding",
    "defamation_legal": "Defamation or legal",
    "press": "Press",
    "complaint": "Complaint",
    "unsure": "Unsure: the Clerk should look",
}
"""Escalation reasons (``Escalation.reason``) and their labels, in the order forms show them."""

OUTCOMES: dict[str, tuple[str, str]] = {
    "upheld": ("Upheld", ":white_check_mark:"),
    "overruled": ("Overruled", ":leftwards_arrow_with_hook:"),
    "hidden_referred_police": ("Hidden and referred to the police", ":oncoming_police_car:"),
    "reported_to_platform": ("Reported to the platform", ":triangular_flag_on_post:"),
    "replied": ("Replied", ":speech_balloon:"),
}
"""What the Clerk did (``Escalation.outcome``): headline word and icon."""

SYSTEM = "system"
"""``Escalation.escalated_by`` for an escalation SMAT Bot raised by itself."""


def reason_label(reason: str) -> str:
    """The label of an escalation reason (the code itself when unknown)."""
    return REASONS.get(reason, reason)

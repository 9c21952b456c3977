"""Masking of personal data before it leaves the detectors.

Detections are shown on Slack triage cards and stored with every classification, so a detector
that finds personal data reports a masked form ("07700 ••••23", "SW1A ••••") that tells a
moderator what kind of thing was found and roughly where, never the full value. The comment
itself is preserved separately, under the retention rules that apply to it.
"""

from __future__ import annotations

MASK = "••••"
"""What hidden characters become: always four dots, so a mask does not give away a length."""


def keep_tail(value: str, tail: int = 2) -> str:
    """The mask followed by the last ``tail`` characters of the value (``••••23``)."""
    return MASK + value[-tail:] if tail else MASK

"""Time is passed in, never read at random: services take a Clock so tests can control it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]
"""Returns the current time, timezone-aware."""


def system_clock() -> datetime:
    """The real current time in UTC."""
    return datetime.now(UTC)

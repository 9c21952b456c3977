"""SQL building blocks that behave the same on SQLite and PostgreSQL.

SQLite has no time zones and no interval type, so local days are cut in Python (UTC bounds
of local midnights) and compared with CASE, and durations are whole seconds since the epoch.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    SQLColumnExpression,
    case,
    cast,
    func,
    literal,
)

from storage.models import UTCDateTime

Column = SQLColumnExpression[Any]


def bucket(column: Column, bounds: Sequence[datetime]) -> ColumnElement[int]:
    """Index ``i`` of the range ``bounds[i] <= column < bounds[i + 1]`` (filter to the span too)."""
    return case(*[(column < bound, index) for index, bound in enumerate(bounds[1:])], else_=None)


def in_span(column: Column, bounds: Sequence[datetime]) -> ColumnElement[bool]:
    """``bounds[0] <= column < bounds[-1]``."""
    return (column >= bounds[0]) & (column < bounds[-1])


def end_of_bucket(column: Column, bounds: Sequence[datetime]) -> ColumnElement[datetime]:
    """The end of the range ``column`` falls in (e.g. the end of its week)."""
    return case(
        *[(column < bound, literal(bound, UTCDateTime())) for bound in bounds[1:]], else_=None
    )


def epoch_seconds(column: Column, dialect: str) -> ColumnElement[int]:
    """Whole seconds since 1970 (UTC), truncated the same way on both databases."""
    if dialect == "sqlite":
        # Stored as 'YYYY-MM-DD HH:MM:SS.ffffff' in UTC; %s drops the fraction.
        return cast(func.strftime("%s", column), Integer)
    return cast(func.floor(func.extract("epoch", column)), BigInteger)


def epoch_of(moment: datetime) -> int:
    """The same whole seconds for a Python datetime."""
    return int(moment.timestamp() // 1)


def nearest_rank(count: ColumnElement[int], percent: int) -> ColumnElement[int]:
    """The 1-based rank of the ``percent``-th percentile (nearest-rank method) among ``count``."""
    return (count * percent + 99) // 100

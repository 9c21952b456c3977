"""Grouped counts from one query, and the sums a paper needs (a week, a day, an account)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.digest.period import Window

Category = tuple[str, ...]


@dataclass(frozen=True)
class Row:
    """One group: an account, how many weeks before the reported one, a day, a category."""

    account_id: int
    weeks_ago: int
    day: int | None
    category: Category
    count: int


class Counted:
    """The rows of one grouped query, summed on demand (a few hundred rows at most)."""

    def __init__(self, rows: Iterable[Row]) -> None:
        self.rows = tuple(rows)

    @classmethod
    def from_day_buckets(cls, rows: Iterable[tuple[int, int, Category, int]]) -> Counted:
        """Rows keyed by a Window bucket (four earlier weeks, then seven days)."""
        return cls(
            Row(account, Window.week_of_bucket(b), Window.day_of_bucket(b), category, count)
            for account, b, category, count in rows
        )

    @classmethod
    def from_week_buckets(cls, rows: Iterable[tuple[int, int, Category, int]]) -> Counted:
        """Rows keyed by a week bucket (0 the oldest of five, 4 the reported week)."""
        return cls(
            Row(account, Window.EARLIER_WEEKS - b, None, category, count)
            for account, b, category, count in rows
        )

    def count(
        self,
        weeks_ago: int = 0,
        *,
        account: int | None = None,
        day: int | None = None,
        category: tuple[str | None, ...] = (),
        accounts: frozenset[int] | None = None,
    ) -> int:
        """The sum over matching rows; None in ``category`` matches anything in that place."""
        return sum(
            row.count
            for row in self.rows
            if row.weeks_ago == weeks_ago
            and (account is None or row.account_id == account)
            and (accounts is None or row.account_id in accounts)
            and (day is None or row.day == day)
            and all(
                want is None or want == have
                for want, have in zip(category, row.category, strict=False)
            )
        )

    def average_of_earlier(
        self, *, account: int | None = None, category: tuple[str | None, ...] = ()
    ) -> float:
        """The mean of the four weeks before the reported one."""
        weeks = range(1, Window.EARLIER_WEEKS + 1)
        total = sum(self.count(w, account=account, category=category) for w in weeks)
        return total / Window.EARLIER_WEEKS

    def categories(self, position: int = 0, weeks_ago: int | None = 0) -> list[str]:
        """The distinct values in one place of the category, most counted first."""
        totals: dict[str, int] = {}
        for row in self.rows:
            if (weeks_ago is None or row.weeks_ago == weeks_ago) and position < len(row.category):
                key = row.category[position]
                totals[key] = totals.get(key, 0) + row.count
        return sorted(totals, key=lambda k: (-totals[k], k))


def _matches(wanted: tuple[str | None, ...], category: Category) -> bool:
    return all(w is None or w == have for w, have in zip(wanted, category, strict=False))

"""Monthly billing periods anchored on the subscription start (pure date arithmetic)."""

from __future__ import annotations

import calendar
from datetime import datetime


def add_months(anchor: datetime, months: int) -> datetime:
    """``anchor`` moved by whole months, the day clamped to the month's length (31 Jan + 1 = 28/29 Feb)."""
    index = anchor.month - 1 + months
    year, month = anchor.year + index // 12, index % 12 + 1
    day = min(anchor.day, calendar.monthrange(year, month)[1])
    return anchor.replace(year=year, month=month, day=day)


def period_bounds(*, anchor: datetime, at: datetime) -> tuple[datetime, datetime]:
    """The ``[start, end)`` period containing ``at``; periods are always counted from the anchor.

    Counting from the anchor (not from the previous period) keeps a 31st-of-month anchor on the
    31st whenever the month has one.
    """
    months = (at.year - anchor.year) * 12 + (at.month - anchor.month)
    start = add_months(anchor, months)
    if start > at:
        months -= 1
        start = add_months(anchor, months)
    elif add_months(anchor, months + 1) <= at:
        months += 1
        start = add_months(anchor, months)
    return start, add_months(anchor, months + 1)

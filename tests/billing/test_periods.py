"""Billing periods are monthly, anchored on the subscription start."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from billing.periods import add_months, period_bounds


def _dt(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_a_period_runs_from_the_anchor_day_to_the_same_day_next_month():
    assert period_bounds(anchor=_dt(2026, 1, 15, 9), at=_dt(2026, 3, 20)) == (_dt(2026, 3, 15, 9), _dt(2026, 4, 15, 9))


def test_the_instant_of_the_anchor_starts_a_new_period():
    start, end = period_bounds(anchor=_dt(2026, 1, 15, 9), at=_dt(2026, 2, 15, 9))
    assert start == _dt(2026, 2, 15, 9) and end == _dt(2026, 3, 15, 9)


def test_just_before_the_anchor_day_is_still_the_previous_period():
    assert period_bounds(anchor=_dt(2026, 1, 15, 9), at=_dt(2026, 3, 15, 8, 59))[0] == _dt(2026, 2, 15, 9)


@pytest.mark.parametrize(
    ("at", "expected_start"),
    [
        (_dt(2026, 2, 28, 12), _dt(2026, 2, 28)),
        (_dt(2026, 3, 30), _dt(2026, 2, 28)),
        (_dt(2026, 3, 31), _dt(2026, 3, 31)),
        (_dt(2026, 4, 30, 1), _dt(2026, 4, 30)),
    ],
)
def test_an_anchor_on_the_31st_is_clamped_per_month_and_returns_to_the_31st(at, expected_start):
    assert period_bounds(anchor=_dt(2026, 1, 31), at=at)[0] == expected_start


def test_months_wrap_over_the_year_end_and_leap_years():
    assert add_months(_dt(2027, 11, 29), 3) == _dt(2028, 2, 29)
    assert add_months(_dt(2026, 12, 31), 1) == _dt(2027, 1, 31)

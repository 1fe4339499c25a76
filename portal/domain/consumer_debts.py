"""Belgian consumer debts (Code of Economic Law, Book XIX, art. XIX.2–XIX.4): the waiting period and the caps.

For a consumer, no late fee or interest may be charged until a free first reminder was sent and a
waiting period of at least 14 calendar days has passed. The period starts on the day after the
reminder when it is sent electronically, on the third working day after sending otherwise
(art. XIX.2 §2). Afterwards the fixed fee is capped by the amount still due (art. XIX.4 §2):
at most 20 EUR up to 150 EUR; 30 EUR + 10 % of the part above 150 EUR up to 500 EUR;
65 EUR + 5 % of the part above 500 EUR beyond, never more than 2,000 EUR. Interest may not
exceed the legal interest rate plus 8 points.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, localcontext

from portal.domain.money import EXACT_PRECISION, round_half_up

WAITING_DAYS = 14
#: Points above the legal interest rate that the interest may reach.
INTEREST_MARGIN = Decimal(8)
CHANNELS = ("email", "post")

# The caps in euro cents.
_LOW, _MIDDLE = 150_00, 500_00
_LOW_CAP, _MIDDLE_BASE, _HIGH_BASE, _MAXIMUM = 20_00, 30_00, 65_00, 2_000_00


def fee_cap(outstanding: int) -> int:
    """Return the largest fixed fee (euro cents) a consumer may be charged on what is still due."""
    if outstanding <= _LOW:
        return _LOW_CAP
    with localcontext(prec=EXACT_PRECISION):
        if outstanding <= _MIDDLE:
            return _MIDDLE_BASE + round_half_up(Decimal(outstanding - _LOW) * Decimal("0.10"))
        return min(_MAXIMUM, _HIGH_BASE + round_half_up(Decimal(outstanding - _MIDDLE) * Decimal("0.05")))


def interest_cap(legal_rate: Decimal) -> Decimal:
    """Return the highest yearly interest (%) a consumer may be charged."""
    return legal_rate + INTEREST_MARGIN


def _easter(year: int) -> date:
    # Anonymous Gregorian algorithm (Meeus/Jones/Butcher).
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 19 * ell) // 433
    month, day = divmod(h + ell - 7 * m + 114, 31)
    return date(year, month, day + 1)


def belgian_holidays(year: int) -> frozenset[date]:
    """Return Belgium's ten legal public holidays of a year."""
    easter = _easter(year)
    fixed = [(1, 1), (5, 1), (7, 21), (8, 15), (11, 1), (11, 11), (12, 25)]
    moving = [easter + timedelta(days=1), easter + timedelta(days=39), easter + timedelta(days=50)]
    return frozenset([date(year, m, d) for m, d in fixed] + moving)


def is_working_day(day: date) -> bool:
    """Return whether a day is a working day: Monday to Friday, not a Belgian public holiday."""
    return day.weekday() < 5 and day not in belgian_holidays(day.year)


def nth_working_day_after(day: date, n: int) -> date:
    """Return the n-th working day after a day."""
    while n > 0:
        day += timedelta(days=1)
        if is_working_day(day):
            n -= 1
    return day


@dataclass(frozen=True)
class WaitingPeriod:
    """The 14 calendar days after a first reminder during which nothing may be charged."""

    reminded_on: date
    channel: str
    start: date
    end: date

    @property
    def charges_from(self) -> date:
        """Return the first day a late fee and interest may be charged."""
        return self.end + timedelta(days=1)


def waiting_period(reminded_on: date, channel: str = "email") -> WaitingPeriod:
    """Return the waiting period after a first reminder sent on a day, by email or by post (art. XIX.2 §2)."""
    if channel not in CHANNELS:
        raise ValueError(f"Unknown channel {channel!r}")
    start = reminded_on + timedelta(days=1) if channel == "email" else nth_working_day_after(reminded_on, 3)
    return WaitingPeriod(reminded_on, channel, start, start + timedelta(days=WAITING_DAYS - 1))

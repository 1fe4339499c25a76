"""Late-fee policy and the "view calculation" breakdown of what is due."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, localcontext

from portal.domain.consumer_debts import WaitingPeriod, fee_cap, waiting_period
from portal.domain.errors import InvalidAmount
from portal.domain.money import EXACT_PRECISION, check_decimal, check_int, round_half_up

MAX_FEE_MINIMUM = 10**9
MAX_GRACE_DAYS = 3650
REDUCTION_KINDS = frozenset({"credit_note", "payment", "refund"})

_HUNDRED = Decimal(100)
# Simple interest, pro rata per day on a 365-day year, rate in percent.
_RATE_DAYS_DIVISOR = Decimal(100 * 365)


@dataclass(frozen=True)
class LateFeePolicy:
    """A merchant's late-fee terms, copied onto each invoice when it is finalized."""

    annual_rate: Decimal
    fee_percent: Decimal
    fee_minimum: int
    grace_days: int
    #: Book XIX for a consumer (the Belgian B2C preset): nothing before a first reminder and its waiting
    #: period, and the fee capped by the amount due (portal.domain.consumer_debts).
    consumer: bool = False

    def __post_init__(self) -> None:
        check_decimal(self.annual_rate, "annual_rate", maximum=_HUNDRED, places=4)
        check_decimal(self.fee_percent, "fee_percent", maximum=_HUNDRED, places=2)
        check_int(self.fee_minimum, "fee_minimum", maximum=MAX_FEE_MINIMUM)
        check_int(self.grace_days, "grace_days", maximum=MAX_GRACE_DAYS)


NO_LATE_FEES = LateFeePolicy(Decimal(0), Decimal(0), 0, 0)


@dataclass(frozen=True)
class Reduction:
    """A credit note or payment that lowered the invoice's balance on a given day.

    A refund (or chargeback) of a payment raises it again: its amount counts the other way.
    """

    kind: str  # "credit_note", "payment" or "refund"
    on: date
    amount: int
    reference: str  # the credit-note number, or the payment's method/reference

    def __post_init__(self) -> None:
        if self.kind not in REDUCTION_KINDS:
            raise ValueError(f"Unknown reduction kind {self.kind!r}")
        if isinstance(self.amount, bool) or not isinstance(self.amount, int):
            raise TypeError(f"amount must be an int, not {type(self.amount).__name__}")
        if self.amount <= 0:
            raise InvalidAmount(f"A {self.kind} must have a positive amount", "amount")

    @property
    def signed(self) -> int:
        """Return how much it lowers the balance (negative for a refund)."""
        return -self.amount if self.kind == "refund" else self.amount


@dataclass(frozen=True)
class InterestSegment:
    """Interest on one constant balance, from start to end inclusive."""

    start: date
    end: date
    days: int
    balance: int
    annual_rate: Decimal
    amount: int


@dataclass(frozen=True)
class Pause:
    """Days on which the clock stood still (a dispute): from start to end inclusive, end None while it lasts."""

    start: date
    end: date | None = None

    def clipped(self, first: date, last: date) -> tuple[date, date] | None:
        """Return the part of the pause between first and last inclusive, or None."""
        start, end = max(self.start, first), min(self.end or last, last)
        return (start, end) if start <= end else None


@dataclass(frozen=True)
class PausedSpan:
    """A pause as the breakdown shows it: the days within the overdue time that were not charged."""

    start: date
    end: date
    days: int
    ongoing: bool


def _plain(value: Decimal) -> str:
    # Fixed-point, so a rate never renders as "1E+1".
    return f"{value:f}"


@dataclass(frozen=True)
class Breakdown:
    """Every step from the invoice total to the amount due on a given day."""

    total: int
    credit_notes: tuple[Reduction, ...]
    payments: tuple[Reduction, ...]
    outstanding: int
    due_date: date
    as_of: date
    days_late: int
    overdue: bool
    charged: bool
    grace_days: int
    fee_percent: Decimal
    fee_minimum: int
    fee: int
    segments: tuple[InterestSegment, ...]
    interest: int
    amount_due: int
    #: Payments refunded or charged back, which raise the balance again.
    refunds: tuple[Reduction, ...] = ()
    #: Book XIX applies (a consumer under the Belgian preset).
    consumer: bool = False
    #: Under Book XIX: the waiting period after the first reminder, None while none was sent.
    waiting: WaitingPeriod | None = None
    #: Under Book XIX: the largest fee the law allows on the outstanding amount.
    fee_cap: int | None = None
    #: The first day late charges count from (None: not before a first reminder).
    charges_from: date | None = None
    #: Disputed days after the due date, on which nothing accrued.
    pauses: tuple[PausedSpan, ...] = ()

    @property
    def paused_days(self) -> int:
        """Return how many overdue days were paused."""
        return sum(span.days for span in self.pauses)

    def steps(self) -> list[dict]:
        """Return the breakdown as ordered JSON-friendly steps, for display and storage."""
        steps: list[dict] = [{"kind": "total", "amount": self.total}]
        steps += [
            {
                "kind": "credit_note",
                "number": note.reference,
                "date": note.on.isoformat(),
                "amount": note.amount,
            }
            for note in self.credit_notes
        ]
        steps += [
            {
                "kind": "payment",
                "date": payment.on.isoformat(),
                "amount": payment.amount,
                "reference": payment.reference,
            }
            for payment in self.payments
        ]
        steps += [
            {
                "kind": "refund",
                "date": refund.on.isoformat(),
                "amount": refund.amount,
                "reference": refund.reference,
            }
            for refund in self.refunds
        ]
        steps.append({"kind": "outstanding", "amount": self.outstanding})
        if self.consumer:
            rule: dict = {"kind": "consumer_rule", "fee_cap": self.fee_cap}
            if self.waiting is not None:  # none until the first reminder went out
                rule["reminded_on"] = self.waiting.reminded_on.isoformat()
                rule["charges_from"] = self.charges_from.isoformat()
            steps.append(rule)
        steps += [
            {"kind": "pause", "start": span.start.isoformat(), "end": span.end.isoformat(), "days": span.days}
            for span in self.pauses
        ]
        if self.charged:
            steps.append(
                {
                    "kind": "fee",
                    "percent": _plain(self.fee_percent),
                    "minimum": self.fee_minimum,
                    "amount": self.fee,
                }
            )
            steps += [
                {
                    "kind": "interest",
                    "start": segment.start.isoformat(),
                    "end": segment.end.isoformat(),
                    "days": segment.days,
                    "balance": segment.balance,
                    "annual_rate": _plain(segment.annual_rate),
                    "amount": segment.amount,
                }
                for segment in self.segments
            ]
        steps.append({"kind": "amount_due", "amount": self.amount_due})
        return steps


def _as_of(reductions: Sequence[Reduction], as_of: date) -> tuple[Reduction, ...]:
    # The breakdown is a view of one day: later reductions have not happened yet.
    return tuple(sorted((r for r in reductions if r.on <= as_of), key=lambda r: r.on))


def _segment_interest(balance: int, annual_rate: Decimal, days: int) -> int:
    with localcontext(prec=EXACT_PRECISION):
        return round_half_up(balance * annual_rate * days / _RATE_DAYS_DIVISOR)


def _accrual_windows(first: date, last: date, pauses: Sequence[Pause]) -> list[tuple[date, date]]:
    """Return the days from first to last inclusive, less the paused ones, as inclusive windows."""
    windows = []
    cursor = first
    for start, end in sorted(p for p in (pause.clipped(first, last) for pause in pauses) if p is not None):
        if start > cursor:
            windows.append((cursor, start - timedelta(days=1)))
        cursor = max(cursor, end + timedelta(days=1))
    if cursor <= last:
        windows.append((cursor, last))
    return windows


def _interest_segments(
    total: int,
    reductions: Sequence[Reduction],
    first_day: date,
    as_of: date,
    annual_rate: Decimal,
    pauses: Sequence[Pause] = (),
) -> tuple[InterestSegment, ...]:
    """Charge each balance from first_day to as_of, split at each reduction day, leaving paused days out.

    A reduction on day d lowers the balance from d + 1 (day d is charged on the old balance).
    """
    if annual_rate == 0:
        return ()
    pending = sorted(reductions, key=lambda r: r.on)
    balance = total
    segments = []

    def apply_through(day: date) -> None:
        nonlocal balance, pending
        while pending and pending[0].on <= day:
            balance = max(0, balance - pending.pop(0).signed)

    def charge(start: date, end: date) -> None:
        days = (end - start).days + 1
        if days > 0 and balance > 0:
            segments.append(
                InterestSegment(
                    start=start,
                    end=end,
                    days=days,
                    balance=balance,
                    annual_rate=annual_rate,
                    amount=_segment_interest(balance, annual_rate, days),
                )
            )

    for window_start, window_end in _accrual_windows(first_day, as_of, pauses):
        apply_through(window_start - timedelta(days=1))
        cursor = window_start
        # Several reductions on one day form a single boundary.
        for day, same_day in itertools.groupby([r for r in pending if r.on < window_end], key=lambda r: r.on):
            charge(cursor, day)
            for reduction in same_day:
                pending.remove(reduction)
                balance = max(0, balance - reduction.signed)
            cursor = day + timedelta(days=1)
        charge(cursor, window_end)
    return tuple(segments)


def late_fee(policy: LateFeePolicy, outstanding: int) -> int:
    """Return the fee charged once on an outstanding amount: the percentage, at least the minimum, capped under Book XIX."""
    with localcontext(prec=EXACT_PRECISION):
        percent_fee = round_half_up(outstanding * policy.fee_percent / _HUNDRED)
    fee = max(policy.fee_minimum, percent_fee)
    return min(fee, fee_cap(outstanding)) if policy.consumer else fee


def compute_breakdown(
    *,
    total: int,
    due_date: date,
    as_of: date,
    policy: LateFeePolicy | None,
    credit_notes: Sequence[Reduction] = (),
    payments: Sequence[Reduction] = (),
    refunds: Sequence[Reduction] = (),
    pauses: Sequence[Pause] = (),
    first_reminder_on: date | None = None,
) -> Breakdown:
    """Compute what is due on as_of: outstanding, late fee and interest per balance segment.

    Paused days (a dispute) neither count towards the grace days nor bear interest. Under Book XIX
    (policy.consumer) nothing is charged before the waiting period after the first reminder
    (first_reminder_on, sent by email) has passed; interest runs from then and the fee is capped.
    """
    check_int(total, "total", maximum=10**18)
    credit_notes = _as_of(credit_notes, as_of)
    payments = _as_of(payments, as_of)
    refunds = _as_of(refunds, as_of)
    reductions = _as_of(credit_notes + payments + refunds, as_of)

    outstanding = max(0, total - sum(r.signed for r in reductions))
    days_late = (as_of - due_date).days
    policy_in_force = policy or NO_LATE_FEES
    first_late_day = due_date + timedelta(days=1)
    spans = tuple(
        PausedSpan(start, end, (end - start).days + 1, pause.end is None or pause.end > as_of)
        for pause in sorted(pauses, key=lambda p: p.start)
        if (clipped := pause.clipped(first_late_day, as_of)) is not None
        for start, end in [clipped]
    )
    clock_days = days_late - sum(span.days for span in spans)

    consumer = policy is not None and policy.consumer
    waiting = None
    charges_from: date | None = first_late_day
    if consumer:
        # Only a reminder sent once the invoice was late is the first reminder the law means.
        if first_reminder_on is not None and first_reminder_on > due_date:
            waiting = waiting_period(first_reminder_on)
            charges_from = max(first_late_day, waiting.charges_from)
        else:
            charges_from = None
    charged = (
        policy is not None
        and outstanding > 0
        and clock_days > policy.grace_days
        and charges_from is not None
        and as_of >= charges_from
    )

    fee = 0
    cap = fee_cap(outstanding) if consumer else None
    segments: tuple[InterestSegment, ...] = ()
    if charged:
        fee = late_fee(policy, outstanding)
        # Once past the grace days, interest runs from the day after the due date (under Book XIX,
        # from the end of the waiting period), paused days left out.
        segments = _interest_segments(total, reductions, charges_from, as_of, policy.annual_rate, pauses)
    interest = sum(segment.amount for segment in segments)

    return Breakdown(
        total=total,
        credit_notes=credit_notes,
        payments=payments,
        outstanding=outstanding,
        due_date=due_date,
        as_of=as_of,
        days_late=days_late,
        overdue=days_late > 0 and outstanding > 0,
        charged=charged,
        grace_days=policy_in_force.grace_days,
        fee_percent=policy_in_force.fee_percent,
        fee_minimum=policy_in_force.fee_minimum,
        fee=fee,
        segments=segments,
        interest=interest,
        amount_due=outstanding + fee + interest,
        refunds=refunds,
        consumer=consumer,
        waiting=waiting,
        fee_cap=cap,
        charges_from=charges_from,
        pauses=spans,
    )


@dataclass(frozen=True)
class LateChargesAhead:
    """What an invoice not yet late will cost once it is: told before the due date, not after."""

    #: Charges start when the invoice is still unpaid the day after this one (due date + grace days).
    charged_after: date
    #: The one-off late fee on today's outstanding amount.
    fee: int
    #: Interest a day on today's outstanding amount.
    daily_interest: int
    annual_rate: Decimal


def late_charges_ahead(policy: LateFeePolicy | None, outstanding: int, due_date: date) -> LateChargesAhead | None:
    """Return the fee and daily interest a policy will add to `outstanding` after the due date (None: nothing)."""
    if policy is None or outstanding <= 0:
        return None
    with localcontext(prec=EXACT_PRECISION):
        fee = max(policy.fee_minimum, round_half_up(outstanding * policy.fee_percent / _HUNDRED))
    daily = _segment_interest(outstanding, policy.annual_rate, 1)
    if fee == 0 and policy.annual_rate == 0:
        return None
    return LateChargesAhead(due_date + timedelta(days=policy.grace_days), fee, daily, policy.annual_rate)

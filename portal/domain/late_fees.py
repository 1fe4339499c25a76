"""Late-fee policy and the "view calculation" breakdown of what is due."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, localcontext

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


def _interest_segments(
    total: int,
    reductions: Sequence[Reduction],
    due_date: date,
    as_of: date,
    annual_rate: Decimal,
) -> tuple[InterestSegment, ...]:
    """Split the time after the due date at each reduction day and charge each balance."""
    if annual_rate == 0:
        return ()
    balance = max(0, total - sum(r.signed for r in reductions if r.on <= due_date))
    later = [r for r in reductions if r.on > due_date]
    segments = []
    boundary = due_date

    def close_segment(end: date) -> None:
        days = (end - boundary).days
        if days > 0 and balance > 0:
            segments.append(
                InterestSegment(
                    start=boundary + timedelta(days=1),
                    end=end,
                    days=days,
                    balance=balance,
                    annual_rate=annual_rate,
                    amount=_segment_interest(balance, annual_rate, days),
                )
            )

    # Several reductions on one day form a single boundary.
    for day, same_day in itertools.groupby(later, key=lambda r: r.on):
        close_segment(day)
        balance = max(0, balance - sum(r.signed for r in same_day))
        boundary = day
    close_segment(as_of)
    return tuple(segments)


def compute_breakdown(
    *,
    total: int,
    due_date: date,
    as_of: date,
    policy: LateFeePolicy | None,
    credit_notes: Sequence[Reduction] = (),
    payments: Sequence[Reduction] = (),
    refunds: Sequence[Reduction] = (),
) -> Breakdown:
    """Compute what is due on as_of: outstanding, late fee and interest per balance segment."""
    check_int(total, "total", maximum=10**18)
    credit_notes = _as_of(credit_notes, as_of)
    payments = _as_of(payments, as_of)
    refunds = _as_of(refunds, as_of)
    reductions = _as_of(credit_notes + payments + refunds, as_of)

    outstanding = max(0, total - sum(r.signed for r in reductions))
    days_late = (as_of - due_date).days
    policy_in_force = policy or NO_LATE_FEES
    charged = policy is not None and outstanding > 0 and days_late > policy.grace_days

    fee = 0
    segments: tuple[InterestSegment, ...] = ()
    if charged:
        with localcontext(prec=EXACT_PRECISION):
            percent_fee = round_half_up(outstanding * policy.fee_percent / _HUNDRED)
        fee = max(policy.fee_minimum, percent_fee)
        # Once past the grace days, interest runs from the day after the due date.
        segments = _interest_segments(total, reductions, due_date, as_of, policy.annual_rate)
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

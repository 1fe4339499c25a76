from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from portal.domain.errors import InvalidAmount
from portal.domain.late_fees import (
    NO_LATE_FEES,
    InterestSegment,
    LateFeePolicy,
    Reduction,
    compute_breakdown,
)

# SPEC §1: 12 %/year, a fixed 40.00 EUR fee, no grace days, 1,000.00 EUR due 2026-01-31.
POLICY = LateFeePolicy(annual_rate=Decimal("12"), fee_percent=Decimal("0"), fee_minimum=4000, grace_days=0)
TOTAL = 100000
DUE = date(2026, 1, 31)
VIEWED = date(2026, 3, 2)


def breakdown(**kwargs):
    arguments = {"total": TOTAL, "due_date": DUE, "as_of": VIEWED, "policy": POLICY}
    return compute_breakdown(**{**arguments, **kwargs})


def credit_note(on, amount, number="CN-2026-0001"):
    return Reduction(kind="credit_note", on=on, amount=amount, reference=number)


def payment(on, amount, reference="bank transfer"):
    return Reduction(kind="payment", on=on, amount=amount, reference=reference)


def test_vector_nothing_else():
    result = breakdown()
    assert result.days_late == 30
    assert result.overdue and result.charged
    assert result.outstanding == 100000
    assert result.fee == 4000
    assert result.segments == (
        InterestSegment(
            start=date(2026, 2, 1),
            end=VIEWED,
            days=30,
            balance=100000,
            annual_rate=Decimal("12"),
            amount=986,
        ),
    )
    assert result.interest == 986
    assert result.amount_due == 104986


def test_vector_credit_note_before_due_date():
    result = breakdown(credit_notes=[credit_note(date(2026, 1, 20), 20000)])
    assert result.outstanding == 80000
    assert result.fee == 4000
    assert [(s.balance, s.days, s.amount) for s in result.segments] == [(80000, 30, 789)]
    assert result.interest == 789
    assert result.amount_due == 84789


def test_vector_payment_after_due_date():
    result = breakdown(payments=[payment(date(2026, 2, 15), 40000)])
    assert result.outstanding == 60000
    assert result.fee == 4000
    first, second = result.segments
    assert (first.start, first.end) == (date(2026, 2, 1), date(2026, 2, 15))
    assert (first.balance, first.days, first.amount) == (100000, 15, 493)
    assert (second.start, second.end) == (date(2026, 2, 16), VIEWED)
    assert (second.balance, second.days, second.amount) == (60000, 15, 296)
    assert result.interest == 789
    assert result.amount_due == 64789


def test_vector_viewed_on_due_date():
    result = breakdown(as_of=DUE)
    assert result.days_late == 0
    assert not result.overdue
    assert not result.charged
    assert result.fee == 0
    assert result.segments == ()
    assert result.interest == 0
    assert result.amount_due == 100000


def test_grace_days_delay_charging_but_not_the_interest_start():
    policy = LateFeePolicy(Decimal("12"), Decimal("0"), 4000, grace_days=30)
    within = breakdown(policy=policy)  # 30 days late, not more than the grace
    assert within.overdue and not within.charged
    assert within.amount_due == 100000

    after = breakdown(policy=policy, as_of=date(2026, 3, 3))  # 31 days late
    assert after.charged
    (segment,) = after.segments
    assert segment.start == date(2026, 2, 1)
    assert segment.days == 31
    assert segment.amount == 1019  # 100000 × 12 % × 31 / 365 = 1019.18
    assert after.amount_due == 100000 + 4000 + 1019


def test_fee_percent_above_minimum():
    policy = LateFeePolicy(Decimal("0"), Decimal("5.25"), 4000, 0)
    result = breakdown(policy=policy)
    assert result.fee == 5250
    assert result.segments == ()
    assert result.interest == 0
    assert result.amount_due == 105250


def test_fee_percent_rounds_half_up():
    policy = LateFeePolicy(Decimal("0"), Decimal("2.5"), 0, 0)
    assert breakdown(policy=policy, total=101).fee == 3  # 2.525 → 3


def test_reduction_after_as_of_is_ignored():
    later = payment(date(2026, 3, 3), 40000)
    result = breakdown(payments=[later], credit_notes=[credit_note(date(2026, 3, 10), 100)])
    assert result.payments == ()
    assert result.credit_notes == ()
    assert result.outstanding == 100000
    assert result.amount_due == 104986


def test_full_payment_leaves_nothing_to_charge():
    result = breakdown(payments=[payment(date(2026, 2, 15), 100000)])
    assert result.outstanding == 0
    assert not result.overdue
    assert not result.charged
    assert result.fee == 0
    assert result.interest == 0
    assert result.segments == ()
    assert result.amount_due == 0


def test_no_policy_charges_nothing():
    result = breakdown(policy=None)
    assert result.overdue and not result.charged
    assert result.amount_due == 100000
    assert result.grace_days == 0
    assert result.fee_minimum == 0


def test_no_late_fees_policy_charges_zero():
    result = breakdown(policy=NO_LATE_FEES)
    assert result.fee == 0 and result.interest == 0
    assert result.amount_due == 100000


def test_same_day_reductions_form_one_boundary_and_sort_by_date():
    result = breakdown(
        payments=[payment(date(2026, 2, 20), 10000), payment(date(2026, 2, 15), 20000)],
        credit_notes=[credit_note(date(2026, 2, 15), 20000)],
    )
    assert [p.on for p in result.payments] == [date(2026, 2, 15), date(2026, 2, 20)]
    assert [(s.balance, s.days) for s in result.segments] == [
        (100000, 15),
        (60000, 5),
        (50000, 10),
    ]
    assert result.interest == sum(s.amount for s in result.segments)


def test_reductions_on_as_of_close_the_last_segment():
    result = breakdown(payments=[payment(VIEWED, 30000)])
    assert [(s.balance, s.days) for s in result.segments] == [(100000, 30)]
    assert result.outstanding == 70000
    assert result.amount_due == 70000 + 4000 + 986


def test_steps_for_the_payment_vector():
    result = breakdown(payments=[payment(date(2026, 2, 15), 40000, "SEPA ref 42")])
    assert result.steps() == [
        {"kind": "total", "amount": 100000},
        {"kind": "payment", "date": "2026-02-15", "amount": 40000, "reference": "SEPA ref 42"},
        {"kind": "outstanding", "amount": 60000},
        {"kind": "fee", "percent": "0", "minimum": 4000, "amount": 4000},
        {
            "kind": "interest",
            "start": "2026-02-01",
            "end": "2026-02-15",
            "days": 15,
            "balance": 100000,
            "annual_rate": "12",
            "amount": 493,
        },
        {
            "kind": "interest",
            "start": "2026-02-16",
            "end": "2026-03-02",
            "days": 15,
            "balance": 60000,
            "annual_rate": "12",
            "amount": 296,
        },
        {"kind": "amount_due", "amount": 64789},
    ]


def test_steps_list_credit_notes_and_skip_charges_when_not_charged():
    result = breakdown(as_of=DUE, credit_notes=[credit_note(date(2026, 1, 20), 20000)])
    assert result.steps() == [
        {"kind": "total", "amount": 100000},
        {"kind": "credit_note", "number": "CN-2026-0001", "date": "2026-01-20", "amount": 20000},
        {"kind": "outstanding", "amount": 80000},
        {"kind": "amount_due", "amount": 80000},
    ]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"annual_rate": Decimal("-1")}, "annual_rate"),
        ({"annual_rate": Decimal("100.5")}, "annual_rate"),
        ({"annual_rate": Decimal("8.12345")}, "annual_rate"),
        ({"fee_percent": Decimal("101")}, "fee_percent"),
        ({"fee_percent": Decimal("1.005")}, "fee_percent"),
        ({"fee_minimum": -1}, "fee_minimum"),
        ({"fee_minimum": 10**9 + 1}, "fee_minimum"),
        ({"grace_days": -1}, "grace_days"),
        ({"grace_days": 3651}, "grace_days"),
    ],
)
def test_policy_validation(kwargs, field):
    fields = {
        "annual_rate": Decimal("8.1234"),
        "fee_percent": Decimal("1"),
        "fee_minimum": 4000,
        "grace_days": 14,
    }
    with pytest.raises(InvalidAmount) as excinfo:
        LateFeePolicy(**{**fields, **kwargs})
    assert excinfo.value.field == field


@pytest.mark.parametrize("kwargs", [{"grace_days": True}, {"fee_minimum": 40.0}, {"annual_rate": 12}])
def test_policy_types_are_strict(kwargs):
    fields = {
        "annual_rate": Decimal("12"),
        "fee_percent": Decimal("0"),
        "fee_minimum": 0,
        "grace_days": 0,
    }
    with pytest.raises(TypeError):
        LateFeePolicy(**{**fields, **kwargs})

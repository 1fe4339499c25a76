from __future__ import annotations

from dataclasses import fields
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from portal.domain.invoices import MAX_UNIT_AMOUNT, Line, compute_totals
from portal.domain.late_fees import LateFeePolicy, Reduction, compute_breakdown
from portal.domain.money import round_half_up
from portal.domain.vat import CATEGORY_ORDER, TaxCategory

PROPERTY_SETTINGS = settings(max_examples=200, deadline=None)

DUE = date(2026, 1, 31)


def decimals(maximum: int, places: int, minimum: str = "0") -> st.SearchStrategy[Decimal]:
    return st.decimals(
        min_value=Decimal(minimum),
        max_value=Decimal(maximum),
        places=places,
        allow_nan=False,
        allow_infinity=False,
    )


policies = st.builds(
    LateFeePolicy,
    annual_rate=decimals(100, 4),
    fee_percent=decimals(100, 2),
    fee_minimum=st.integers(0, 10**6),
    grace_days=st.integers(0, 60),
)
reduction_days = st.integers(-60, 400).map(lambda n: DUE + timedelta(days=n))


def reductions(kind: str) -> st.SearchStrategy[list[Reduction]]:
    return st.lists(
        st.builds(
            Reduction,
            kind=st.just(kind),
            on=reduction_days,
            amount=st.integers(1, 10**7),
            reference=st.just("ref"),
        ),
        max_size=5,
    )


@PROPERTY_SETTINGS
@given(
    total=st.integers(0, 10**9),
    policy=st.none() | policies,
    days=st.integers(-30, 1000),
    credit_notes=reductions("credit_note"),
    payments=reductions("payment"),
)
def test_breakdown_adds_up_and_is_never_negative(total, policy, days, credit_notes, payments):
    result = compute_breakdown(
        total=total,
        due_date=DUE,
        as_of=DUE + timedelta(days=days),
        policy=policy,
        credit_notes=credit_notes,
        payments=payments,
    )
    assert result.outstanding + result.fee + result.interest == result.amount_due
    assert result.interest == sum(segment.amount for segment in result.segments)
    assert sum(segment.days for segment in result.segments) <= max(days, 0)
    for field in fields(result):
        value = getattr(result, field.name)
        if isinstance(value, (int, Decimal)) and field.name != "days_late":
            assert value >= 0, field.name
    for segment in result.segments:
        assert segment.days > 0 and segment.balance > 0 and segment.amount >= 0
        assert segment.start > DUE and segment.end <= result.as_of
    if not result.charged:
        assert result.amount_due == result.outstanding
    assert [step["kind"] for step in result.steps()][-1] == "amount_due"


# Standard-rated lines have a positive rate; every other EN 16931 category has none. A 0 % line
# left without a category is zero rated (None).
category_and_rate = st.one_of(
    st.tuples(
        st.just(TaxCategory.STANDARD),
        st.sampled_from([Decimal(r) for r in ("5.5", "6", "9", "19", "21", "21.00", "25.5")]),
    ),
    st.tuples(st.sampled_from([None, *(c for c in TaxCategory if c is not TaxCategory.STANDARD)]), st.just(Decimal(0))),
)
lines = st.builds(
    lambda quantity, unit_amount, category_rate, discount: Line(
        description="Item",
        quantity=quantity,
        unit_amount=unit_amount,
        tax_rate=category_rate[1],
        discount_percent=discount,
        tax_category=category_rate[0],
    ),
    decimals(10**6, 3, minimum="0.001"),
    st.integers(0, MAX_UNIT_AMOUNT),
    category_and_rate,
    decimals(100, 2),
)


@PROPERTY_SETTINGS
@given(lines=st.lists(lines, max_size=8), discount=decimals(100, 2))
def test_totals_parts_add_up(lines, discount):
    totals = compute_totals(lines, discount)
    assert totals.subtotal == sum(line.net for line in lines)
    assert totals.net == totals.subtotal - totals.discount
    assert totals.net + totals.tax == totals.total
    assert sum(t.base for t in totals.taxes) == totals.net
    assert sum(t.amount for t in totals.taxes) == totals.tax
    # One group per (category, rate), ordered by rate then EN 16931 category order.
    keys = [(t.rate, CATEGORY_ORDER.index(t.category)) for t in totals.taxes]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    assert {(t.category, t.rate) for t in totals.taxes} == {(line.tax_category, line.tax_rate) for line in lines}
    for tax in totals.taxes:
        # Each group's tax is rounded once, from its own discounted base.
        assert tax.amount == round_half_up(tax.base * tax.rate / 100)
        if tax.category is not TaxCategory.STANDARD:
            assert tax.amount == 0
    for value in (totals.subtotal, totals.discount, totals.net, totals.tax, totals.total):
        assert value >= 0
    for tax in totals.taxes:
        assert tax.base >= 0 and tax.amount >= 0

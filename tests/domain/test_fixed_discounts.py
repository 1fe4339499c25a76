"""Fixed-amount discounts: per line after its percentage, per invoice spread over the tax rates exactly."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal.domain.errors import InvalidAmount
from portal.domain.invoices import MAX_TOTAL_AMOUNT, Line, TaxAmount, compute_totals, spread
from portal.domain.vat import TaxCategory
from tests.domain.test_properties import PROPERTY_SETTINGS, decimals, lines

S, Z, E = TaxCategory.STANDARD, TaxCategory.ZERO_RATED, TaxCategory.EXEMPT


def line(unit_amount=10000, tax_rate="21", *, quantity="1", percent="0", fixed=0, category=None):
    return Line(
        description="Work",
        quantity=Decimal(quantity),
        unit_amount=unit_amount,
        tax_rate=Decimal(tax_rate),
        discount_percent=Decimal(percent),
        discount_fixed=fixed,
        tax_category=category,
    )


# -- Lines ---------------------------------------------------------------------------------------


def test_a_line_takes_its_fixed_discount_after_its_percentage():
    # 3 × 33.33 = 99.99, less 10 % = 89.991 → 89.99, less 5.00 → 84.99
    assert line(3333, quantity="3", percent="10", fixed=500).net == 8499


def test_a_fixed_discount_alone_is_taken_off_the_rounded_amount():
    # 0.333 × 10.00 = 3.33 (rounded once), less 1.00
    assert line(1000, quantity="0.333", fixed=100).net == 233


def test_a_zero_fixed_discount_changes_nothing():
    assert line(1999, quantity="2.5", fixed=0).net == line(1999, quantity="2.5").net == 4998


def test_a_fixed_discount_may_make_a_line_free():
    assert line(1000, fixed=1000).net == 0
    assert line(1000, percent="50", fixed=500).net == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"unit_amount": 1000, "fixed": 1001}, "larger than the line"),
        # after 50 % the line is 5.00: 5.01 is too much, although it is less than 10.00
        ({"unit_amount": 1000, "percent": "50", "fixed": 501}, "larger than the line"),
        ({"unit_amount": 1000, "fixed": -1}, "between 0 and"),
    ],
)
def test_a_fixed_discount_larger_than_the_line_is_refused(kwargs, message):
    with pytest.raises(InvalidAmount, match=message) as refused:
        line(**kwargs)
    assert refused.value.field == "discount_fixed"


@pytest.mark.parametrize("value", [Decimal("1.5"), 1.5, True, "100"])
def test_a_fixed_discount_is_an_int_of_minor_units(value):
    with pytest.raises(TypeError):
        line(fixed=value)


# -- The invoice's fixed discount ----------------------------------------------------------------


def test_the_docstring_vector_mixed_rates():
    # 100.00 at 21 % and 50.00 at 6 %, 10.00 off: shares 6.666… and 3.333…; the missing cent goes to
    # the larger remainder (the 21 % group's .666…).
    totals = compute_totals([line(10000, "21"), line(5000, "6")], discount_fixed=1000)
    assert totals.taxes == (
        TaxAmount(category=S, rate=Decimal("6"), base=4667, amount=280),  # round(280.02)
        TaxAmount(category=S, rate=Decimal("21"), base=9333, amount=1960),  # round(1959.93)
    )
    assert (totals.subtotal, totals.discount, totals.net, totals.tax, totals.total) == (
        15000,
        1000,
        14000,
        2240,
        16240,
    )


def test_tax_is_computed_on_the_discounted_base_not_reduced_afterwards():
    # One rate: 200.00 less 20.00 → 180.00 taxed at 21 % = 37.80, not 42.00 − 4.20 rounded otherwise.
    totals = compute_totals([line(20000)], discount_fixed=2000)
    assert totals.taxes == (TaxAmount(category=S, rate=Decimal("21"), base=18000, amount=3780),)
    assert totals.total == 21780


def test_equal_remainders_go_to_the_group_listed_first():
    # Three equal groups share 0.01 + 0.01: floors are 0, remainders equal → the lowest rates get them.
    totals = compute_totals([line(100, "6"), line(100, "12"), line(100, "21")], discount_fixed=2)
    assert [tax.base for tax in totals.taxes] == [99, 99, 100]
    assert totals.discount == 2


def test_the_percentage_comes_first_and_the_fixed_part_is_spread_over_what_is_left():
    # 21 %: 100.00 − 10 % = 90.00; 0 % (Z): 30.00 − 3.00 = 27.00. 11.70 fixed spread 90:27 → 9.00 and 2.70.
    totals = compute_totals([line(10000, "21"), line(3000, "0")], discount_percent=Decimal("10"), discount_fixed=1170)
    assert [(tax.category, tax.base, tax.amount) for tax in totals.taxes] == [(Z, 2430, 0), (S, 8100, 1701)]
    assert totals.discount == 1300 + 1170
    assert totals.total == 2430 + 8100 + 1701


def test_exempt_groups_take_their_share_too():
    # The discount lowers what the customer pays for every line, so each category's base carries a share.
    totals = compute_totals([line(7500, "21"), line(2500, "0", category=E)], discount_fixed=1000)
    assert [(tax.category, tax.base) for tax in totals.taxes] == [(E, 2250), (S, 6750)]


def test_a_zero_fixed_discount_changes_nothing_on_the_invoice():
    lines = [line(10000, "21"), line(5000, "6", percent="5")]
    assert compute_totals(lines, Decimal("3"), 0) == compute_totals(lines, Decimal("3"))


def test_a_fixed_discount_of_the_whole_subtotal_leaves_nothing_to_pay():
    totals = compute_totals([line(10000, "21"), line(5000, "6")], discount_fixed=15000)
    assert (totals.net, totals.tax, totals.total) == (0, 0, 0)


@pytest.mark.parametrize(
    ("percent", "fixed"),
    [
        (Decimal("0"), 15001),
        # after 10 % only 135.00 is left
        (Decimal("10"), 13501),
    ],
)
def test_an_invoice_fixed_discount_larger_than_the_lines_is_refused(percent, fixed):
    with pytest.raises(InvalidAmount, match="larger than its lines") as refused:
        compute_totals([line(10000, "21"), line(5000, "6")], percent, fixed)
    assert refused.value.field == "discount_fixed"


def test_an_invoice_fixed_discount_without_lines_is_refused():
    with pytest.raises(InvalidAmount):
        compute_totals([], discount_fixed=1)


def test_a_credit_note_line_takes_a_fixed_discount_like_an_invoice_line():
    # Credit notes have no invoice-level discount: their totals come from the line rule alone.
    totals = compute_totals([line(5000, "21", fixed=1000), line(2000, "6", percent="50", fixed=500)])
    assert [(tax.rate, tax.base, tax.amount) for tax in totals.taxes] == [
        (Decimal("6"), 500, 30),
        (Decimal("21"), 4000, 840),
    ]
    assert totals.discount == 0 and totals.total == 5370


# -- spread --------------------------------------------------------------------------------------


def test_spread_is_proportional_with_largest_remainders():
    assert spread(100, [1, 1, 1]) == [34, 33, 33]
    assert spread(10, [0, 5, 0]) == [0, 10, 0]
    assert spread(0, [3, 4]) == [0, 0]
    assert spread(7, []) == []


@PROPERTY_SETTINGS
@given(amount=st.integers(0, 10**9), weights=st.lists(st.integers(0, 10**9), min_size=1, max_size=8))
def test_spread_parts_add_up_and_stay_within_one_unit_of_the_exact_share(amount, weights):
    parts = spread(amount, weights)
    whole = sum(weights)
    if whole == 0:
        assert parts == [0] * len(weights)
        return
    assert sum(parts) == amount
    for part, weight in zip(parts, weights, strict=True):
        exact = Decimal(amount) * weight / whole
        assert 0 <= part - exact.to_integral_value(rounding="ROUND_FLOOR") <= 1


@PROPERTY_SETTINGS
@given(lines=st.lists(lines, min_size=1, max_size=8), percent=decimals(100, 2), share=decimals(1, 4))
def test_totals_with_a_fixed_discount_add_up(lines, percent, share):
    after_percent = compute_totals(lines, percent)
    fixed = min(int(after_percent.net * share), MAX_TOTAL_AMOUNT)
    totals = compute_totals(lines, percent, fixed)
    assert totals.discount == after_percent.discount + fixed
    assert totals.net == totals.subtotal - totals.discount == sum(tax.base for tax in totals.taxes)
    assert totals.total == totals.net + totals.tax
    for with_fixed, without in zip(totals.taxes, after_percent.taxes, strict=True):
        assert 0 <= with_fixed.base <= without.base

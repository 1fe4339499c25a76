from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from portal.domain.errors import InvalidAmount, InvalidTransition
from portal.domain.invoices import (
    MAX_UNIT_AMOUNT,
    InvoiceStatus,
    Line,
    TaxAmount,
    check_transition,
    compute_totals,
    is_editable,
    is_overdue,
)
from portal.domain.vat import TaxCategory


def line(quantity="1", unit_amount=1000, tax_rate="21", discount="0", description="Work"):
    return Line(
        description=description,
        quantity=Decimal(quantity),
        unit_amount=unit_amount,
        tax_rate=Decimal(tax_rate),
        discount_percent=Decimal(discount),
    )


def test_line_net_with_discount_and_three_decimal_quantity():
    # 2.125 × 19.99 = 42.47875, less 10 % = 38.230875 → 38.23
    assert line("2.125", 1999, discount="10").net == 3823


def test_line_net_rounds_half_up():
    # 0.5 × 0.01 = 0.005 → 0.01
    assert line("0.5", 1).net == 1
    assert line("1.5", 1, discount="50").net == 1  # 0.75 → 1


def test_totals_without_lines_are_zero():
    totals = compute_totals([])
    parts = (totals.subtotal, totals.discount, totals.net, totals.tax, totals.total)
    assert parts == (0, 0, 0, 0, 0)
    assert totals.taxes == ()


def test_tax_is_rounded_per_rate_after_the_invoice_discount():
    lines = [
        line("1", 1005, "21"),
        line("1", 2000, "21.00"),  # same rate as 21, written differently
        line("1", 1005, "9"),
        line("1", 0, "0"),
    ]
    totals = compute_totals(lines, Decimal("10"))
    assert totals.subtotal == 4010
    # 21 %: 3005 − round(300.5)=301 → base 2704, tax round(567.84)=568
    # 9 %: 1005 − round(100.5)=101 → base 904, tax round(81.36)=81
    assert totals.taxes == (
        TaxAmount(category=TaxCategory.ZERO_RATED, rate=Decimal("0"), base=0, amount=0),
        TaxAmount(category=TaxCategory.STANDARD, rate=Decimal("9"), base=904, amount=81),
        TaxAmount(category=TaxCategory.STANDARD, rate=Decimal("21"), base=2704, amount=568),
    )
    # Per-rate discounts round up twice; discounting the sum would give 401.
    assert totals.discount == 402
    assert totals.net == 3608
    assert totals.tax == 649
    assert totals.total == 4257


def test_per_rate_tax_differs_from_rounding_the_sum():
    # Two rates whose taxes both end in .5: per rate each rounds up.
    lines = [line("1", 50, "1"), line("1", 50, "3")]  # 0.50 tax base each
    totals = compute_totals(lines)
    # 1 % of 50 = 0.5 → 1; 3 % of 50 = 1.5 → 2; per rate 3, while the unrounded
    # sum 0.5 + 1.5 = 2.0 would give 2.
    assert [t.amount for t in totals.taxes] == [1, 2]
    assert totals.tax == 3
    assert totals.total == 103


def test_rates_display_plainly():
    totals = compute_totals([line(tax_rate="20.00"), line(tax_rate="5.50")])
    assert [str(t.rate) for t in totals.taxes] == ["5.5", "20"]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"description": "   "}, "description"),
        ({"description": "x" * 501}, "description"),
        ({"quantity": "0"}, "quantity"),
        ({"quantity": "-1"}, "quantity"),
        ({"quantity": "1000000.001"}, "quantity"),
        ({"quantity": "1.0005"}, "quantity"),
        ({"quantity": "NaN"}, "quantity"),
        ({"quantity": "Infinity"}, "quantity"),
        ({"unit_amount": -1}, "unit_amount"),
        ({"unit_amount": MAX_UNIT_AMOUNT + 1}, "unit_amount"),
        ({"tax_rate": "-1"}, "tax_rate"),
        ({"tax_rate": "100.01"}, "tax_rate"),
        ({"tax_rate": "21.001"}, "tax_rate"),
        ({"discount": "100.5"}, "discount_percent"),
        ({"discount": "-0.01"}, "discount_percent"),
        ({"discount": "10.125"}, "discount_percent"),
    ],
)
def test_line_validation(kwargs, field):
    with pytest.raises(InvalidAmount) as excinfo:
        line(**kwargs)
    assert excinfo.value.field == field
    assert excinfo.value.code == "invalid_amount"


def test_line_accepts_its_bounds():
    assert line("1000000", MAX_UNIT_AMOUNT, "100", "100").net == 0
    assert line("0.001", 0, "0").net == 0
    assert line("1.500", 1, description="x" * 500).net == 2


@pytest.mark.parametrize(
    "kwargs",
    [
        {"quantity": 1.5},
        {"quantity": 2},
        {"tax_rate": 21},
        {"discount_percent": 0.1},
        {"unit_amount": 10.0},
        {"unit_amount": True},
    ],
)
def test_line_types_are_strict(kwargs):
    fields = {
        "description": "Work",
        "quantity": Decimal("1"),
        "unit_amount": 100,
        "tax_rate": Decimal("21"),
    }
    with pytest.raises(TypeError):
        Line(**{**fields, **kwargs})


@pytest.mark.parametrize("discount", ["-1", "100.01", "0.001", "NaN"])
def test_invoice_discount_validation(discount):
    with pytest.raises(InvalidAmount) as excinfo:
        compute_totals([line()], Decimal(discount))
    assert excinfo.value.field == "discount_percent"


def test_full_invoice_discount():
    totals = compute_totals([line("3", 999, "21")], Decimal("100"))
    assert (totals.subtotal, totals.discount, totals.net, totals.tax, totals.total) == (
        2997,
        2997,
        0,
        0,
        0,
    )


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (InvoiceStatus.DRAFT, InvoiceStatus.OPEN),
        (InvoiceStatus.OPEN, InvoiceStatus.PAID),
        (InvoiceStatus.OPEN, InvoiceStatus.VOID),
        # A refund or chargeback reopens a paid invoice (SPEC §1).
        (InvoiceStatus.PAID, InvoiceStatus.OPEN),
    ],
)
def test_allowed_transitions(current, target):
    check_transition(current, target)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (InvoiceStatus.DRAFT, InvoiceStatus.PAID),
        (InvoiceStatus.DRAFT, InvoiceStatus.VOID),
        (InvoiceStatus.OPEN, InvoiceStatus.DRAFT),
        (InvoiceStatus.PAID, InvoiceStatus.VOID),
        (InvoiceStatus.VOID, InvoiceStatus.OPEN),
        (InvoiceStatus.VOID, InvoiceStatus.PAID),
        (InvoiceStatus.OPEN, InvoiceStatus.OPEN),
    ],
)
def test_forbidden_transitions(current, target):
    with pytest.raises(InvalidTransition) as excinfo:
        check_transition(current, target)
    assert excinfo.value.field == "status"
    assert excinfo.value.code == "invalid_state"
    assert excinfo.value.message == f"A {current.value} invoice cannot become {target.value}"


def test_only_drafts_are_editable():
    assert is_editable(InvoiceStatus.DRAFT)
    assert not any(is_editable(s) for s in InvoiceStatus if s is not InvoiceStatus.DRAFT)


def test_overdue_is_open_and_past_due():
    due = date(2026, 1, 31)
    assert not is_overdue(InvoiceStatus.OPEN, due, date(2026, 1, 31))
    assert is_overdue(InvoiceStatus.OPEN, due, date(2026, 2, 1))
    for status in (InvoiceStatus.DRAFT, InvoiceStatus.PAID, InvoiceStatus.VOID):
        assert not is_overdue(status, due, date(2026, 3, 1))

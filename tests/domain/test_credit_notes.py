from __future__ import annotations

import pytest

from portal.domain.credit_notes import check_credit, check_payment, creditable_amount
from portal.domain.errors import (
    CreditExceedsCreditable,
    InvalidAmount,
    PaymentExceedsOutstanding,
)


def test_creditable_amount():
    assert creditable_amount(100000, 20000, 30000) == 50000
    assert creditable_amount(100000, 60000, 50000) == 0


def test_check_credit():
    check_credit(50000, 100000, 20000, 30000)
    with pytest.raises(CreditExceedsCreditable) as excinfo:
        check_credit(50001, 100000, 20000, 30000)
    assert excinfo.value.field == "lines"
    assert "50001" in excinfo.value.message and "50000" in excinfo.value.message
    with pytest.raises(InvalidAmount) as excinfo:
        check_credit(0, 100000, 0, 0)
    assert excinfo.value.message == "A credit note must have a positive total"
    assert excinfo.value.field == "lines"


def test_check_payment():
    check_payment(60000, 60000)
    with pytest.raises(PaymentExceedsOutstanding) as excinfo:
        check_payment(60001, 60000)
    assert excinfo.value.field == "amount"
    assert excinfo.value.code == "exceeds_outstanding"
    with pytest.raises(PaymentExceedsOutstanding) as excinfo:
        check_payment(130000, 121000, "EUR")
    # Written as a person reads money, not in minor units.
    assert excinfo.value.message == "The payment of 1300.00 EUR is more than the outstanding 1210.00 EUR"
    with pytest.raises(CreditExceedsCreditable) as excinfo:
        check_credit(5000, 100000, 0, 99000, "JPY")
    assert excinfo.value.message == "The credit note total 5000 JPY exceeds what can still be credited, 1000 JPY"
    with pytest.raises(InvalidAmount) as excinfo:
        check_payment(-5, 60000)
    assert excinfo.value.field == "amount"

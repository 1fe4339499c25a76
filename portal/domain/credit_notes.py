"""How much of an invoice may still be credited or paid."""

from __future__ import annotations

from portal.domain.errors import (
    CreditExceedsCreditable,
    InvalidAmount,
    PaymentExceedsOutstanding,
)


def creditable_amount(total: int, credited: int, paid: int) -> int:
    """Return what credit notes may still take off the invoice, in minor units."""
    return max(0, total - credited - paid)


def check_credit(amount: int, total: int, credited: int, paid: int) -> None:
    """Raise unless a credit note of amount fits within what is still creditable."""
    if amount <= 0:
        raise InvalidAmount("A credit note must have a positive total", "lines")
    creditable = creditable_amount(total, credited, paid)
    if amount > creditable:
        raise CreditExceedsCreditable(
            f"The credit note total {amount} exceeds the creditable amount {creditable} (minor units)",
            "lines",
        )


def check_payment(amount: int, outstanding: int) -> None:
    """Raise unless a payment of amount is positive and at most the outstanding amount."""
    if amount <= 0:
        raise InvalidAmount("A payment must have a positive amount", "amount")
    if amount > outstanding:
        raise PaymentExceedsOutstanding(
            f"The payment {amount} exceeds the outstanding amount {outstanding} (minor units)",
            "amount",
        )

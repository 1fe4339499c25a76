"""How much of an invoice may still be credited or paid."""

from __future__ import annotations

from portal.domain.errors import (
    CreditExceedsCreditable,
    InvalidAmount,
    PaymentExceedsOutstanding,
)
from portal.domain.money import Money


def _amount(minor: int, currency: str | None) -> str:
    """Write an amount for a person (1210.00 EUR); bare minor units only when the currency is unknown."""
    return Money(minor, currency).format_plain() if currency else f"{minor} (minor units)"


def creditable_amount(total: int, credited: int, paid: int) -> int:
    """Return what credit notes may still take off the invoice, in minor units."""
    return max(0, total - credited - paid)


def check_credit(amount: int, total: int, credited: int, paid: int, currency: str | None = None) -> None:
    """Raise unless a credit note of amount fits within what is still creditable."""
    if amount <= 0:
        raise InvalidAmount("A credit note must have a positive total", "lines")
    creditable = creditable_amount(total, credited, paid)
    if amount > creditable:
        raise CreditExceedsCreditable(
            f"The credit note total {_amount(amount, currency)} exceeds what can still be credited, "
            f"{_amount(creditable, currency)}",
            "lines",
        )


def check_payment(amount: int, outstanding: int, currency: str | None = None) -> None:
    """Raise unless a payment of amount is positive and at most the outstanding amount."""
    if amount <= 0:
        raise InvalidAmount("A payment must have a positive amount", "amount")
    if amount > outstanding:
        raise PaymentExceedsOutstanding(
            f"The payment of {_amount(amount, currency)} is more than the outstanding {_amount(outstanding, currency)}",
            "amount",
        )

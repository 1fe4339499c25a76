"""Named failures of the business rules, each with a stable code for the API."""

from __future__ import annotations


class DomainError(Exception):
    """Signal that a business rule refused an operation."""

    code: str = "invalid"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidAmount(DomainError):
    """Signal an amount, rate or quantity outside what the rules allow."""

    code = "invalid_amount"


class UnknownCurrency(DomainError):
    """Signal a currency code that is not ISO 4217."""

    code = "unknown_currency"


class InvalidTransition(DomainError):
    """Signal a lifecycle change the invoice's status does not allow."""

    code = "invalid_state"


class CreditExceedsCreditable(DomainError):
    """Signal a credit note larger than what is still creditable."""

    code = "exceeds_creditable"


class PaymentExceedsOutstanding(DomainError):
    """Signal a payment larger than the outstanding amount."""

    code = "exceeds_outstanding"


class IncompleteDocument(DomainError):
    """Signal a draft that lacks what a legal invoice must state (EU VAT Directive art. 226)."""

    code = "incomplete"

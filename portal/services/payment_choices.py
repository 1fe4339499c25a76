"""Per invoice, which of the merchant's enabled payment providers the customer is offered."""

from __future__ import annotations

from collections.abc import Sequence

from portal.domain.errors import DomainError
from portal.extensions import db
from portal.models import Invoice
from portal.models.billing import InvoicePaymentChoice
from portal.payments.registry import PROVIDERS, enabled_providers


def chosen_providers(invoice: Invoice) -> list[str] | None:
    """Return the providers staff chose for the invoice, or None when they left the default (all enabled)."""
    choice = db.session.get(InvoicePaymentChoice, invoice.id)
    return None if choice is None else list(choice.providers)


def offered_providers(invoice: Invoice) -> list[str]:
    """Return the providers the invoice's pay button offers: enabled ones, narrowed by the invoice's choice."""
    enabled = enabled_providers(invoice.merchant_id)
    chosen = chosen_providers(invoice)
    return enabled if chosen is None else [name for name in enabled if name in chosen]


def set_payment_choice(invoice: Invoice, providers: Sequence[str]) -> InvoicePaymentChoice:
    """Offer only these providers on the invoice; none means pay by bank transfer only."""
    unknown = [name for name in providers if name not in PROVIDERS]
    if unknown:
        raise DomainError(f"Unknown provider {unknown[0]!r}", "providers")
    if invoice.status in ("paid", "void"):
        raise DomainError(f"Invoice {invoice.number} is {invoice.status}: there is nothing left to pay", "providers")
    choice = db.session.get(InvoicePaymentChoice, invoice.id)
    if choice is None:
        choice = InvoicePaymentChoice(invoice_id=invoice.id, merchant_id=invoice.merchant_id)
        db.session.add(choice)
    choice.providers = [name for name in PROVIDERS if name in providers]
    db.session.flush()
    return choice

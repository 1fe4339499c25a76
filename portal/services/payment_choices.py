"""Per invoice, the ways to pay the customer is offered: bank transfer, and the merchant's enabled providers."""

from __future__ import annotations

from collections.abc import Sequence

from portal.documents.epc_qr import CreditTransfer
from portal.domain.errors import DomainError
from portal.domain.invoices import InvoiceStatus
from portal.domain.money import Money
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


def offers_bank_transfer(invoice: Invoice) -> bool:
    """Tell whether the invoice shows how to pay by bank transfer (the default, unless staff turned it off)."""
    choice = db.session.get(InvoicePaymentChoice, invoice.id)
    return choice is None or choice.bank_transfer


def credit_transfer(invoice: Invoice, amount_due: int) -> CreditTransfer | None:
    """Return what the customer needs to pay the invoice's amount due by bank transfer, or None.

    Only an open invoice with something due, issued with the seller's IBAN and a payment reference,
    whose staff left bank transfer on. The account is the one the invoice was issued with (its
    snapshot), never the merchant's live settings.
    """
    if invoice.state is not InvoiceStatus.OPEN or amount_due <= 0:
        return None
    if not invoice.is_issued or not invoice.payment_reference:
        return None
    seller = invoice.seller_party
    if not seller.iban or not offers_bank_transfer(invoice):
        return None
    return CreditTransfer(
        beneficiary=seller.legal_name,
        iban=seller.iban,
        bic=seller.bic,
        amount=Money(amount_due, invoice.currency),
        reference=invoice.payment_reference,
    )


def set_payment_choice(
    invoice: Invoice, providers: Sequence[str], *, bank_transfer: bool = True
) -> InvoicePaymentChoice:
    """Offer only these providers, and bank transfer or not; no provider means no online payment."""
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
    choice.bank_transfer = bool(bank_transfer)
    db.session.flush()
    return choice


def clear_payment_choice(invoice: Invoice) -> None:
    """Offer every enabled provider on the invoice again (the default)."""
    choice = db.session.get(InvoicePaymentChoice, invoice.id)
    if choice is not None:
        db.session.delete(choice)
    db.session.flush()

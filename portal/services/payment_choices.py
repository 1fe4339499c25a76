"""Per invoice, the ways to pay the customer is offered: bank transfer, and the merchant's enabled providers."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from portal.documents.epc_qr import CreditTransfer
from portal.domain.errors import DomainError
from portal.domain.invoices import InvoiceStatus
from portal.domain.money import Money
from portal.extensions import db
from portal.models import Invoice
from portal.models.billing import InvoicePaymentChoice
from portal.models.online_payment import ProviderAccount
from portal.payments import methods as payment_methods
from portal.payments.registry import PROVIDERS, enabled_among, enabled_providers, provider_accounts


def chosen_providers(invoice: Invoice) -> list[str] | None:
    """Return the providers staff chose for the invoice, or None when they left the default (all enabled)."""
    choice = db.session.get(InvoicePaymentChoice, invoice.id)
    return None if choice is None else list(choice.providers)


def offered_providers(invoice: Invoice) -> list[str]:
    """Return the providers the invoice's pay button offers: enabled ones, narrowed by the invoice's choice.

    A provider that offers none of the payment methods chosen for the invoice is left out.
    """
    accounts = provider_accounts(invoice.merchant_id)
    if not enabled_among(accounts):
        return []
    choice = db.session.get(InvoicePaymentChoice, invoice.id)
    return offered_among(
        invoice,
        accounts,
        None if choice is None else list(choice.providers),
        None if choice is None or choice.methods is None else list(choice.methods),
    )


def offered_among(
    invoice: Invoice,
    accounts: dict[str, ProviderAccount],
    chosen: Sequence[str] | None,
    methods: Sequence[str] | None,
) -> list[str]:
    """Return the providers offered given the merchant's accounts and the invoice's choice, without a query.

    What offered_providers answers, for callers that loaded the accounts and the choice already.
    """
    offered = []
    for name in enabled_among(accounts):
        if chosen is not None and name not in chosen:
            continue
        account = accounts.get(name)
        supported = payment_methods.supported(name, invoice.currency)
        possible = (
            None if account is None or account.methods is None else [m for m in supported if m in account.methods]
        )
        if methods is not None:
            possible = [m for m in (supported if possible is None else possible) if m in methods]
        if possible != []:
            offered.append(name)
    return offered


def activated_methods(merchant_id: int, provider: str) -> list[str] | None:
    """Return the methods staff said their provider account has on, or None when they did not say."""
    account = db.session.scalar(
        select(ProviderAccount).where(ProviderAccount.merchant_id == merchant_id, ProviderAccount.provider == provider)
    )
    return None if account is None or account.methods is None else list(account.methods)


def chosen_methods(invoice: Invoice) -> list[str] | None:
    """Return the payment methods staff chose for the invoice, or None (every one its providers offer)."""
    choice = db.session.get(InvoicePaymentChoice, invoice.id)
    return None if choice is None or choice.methods is None else list(choice.methods)


def provider_methods(
    merchant_id: int, provider: str, currency: str, *, accounts: dict[str, ProviderAccount] | None = None
) -> list[str] | None:
    """Return the methods a provider can take for the merchant in this currency; None: whatever its account has on.

    accounts: the merchant's provider accounts when the caller read them already (no query then).
    """
    if accounts is None:
        activated = activated_methods(merchant_id, provider)
    else:
        account = accounts.get(provider)
        activated = None if account is None or account.methods is None else list(account.methods)
    supported = payment_methods.supported(provider, currency)
    return None if activated is None else [name for name in supported if name in activated]


def checkout_methods(invoice: Invoice, provider: str) -> list[str] | None:
    """Return the methods a checkout at this provider offers for the invoice (None: the provider's own choice).

    The invoice's chosen methods, narrowed to what the provider takes in the invoice's currency and
    what the merchant activated there; an empty list means this provider cannot offer any of them.
    """
    possible = provider_methods(invoice.merchant_id, provider, invoice.currency)
    return narrow_methods(chosen_methods(invoice), possible, provider, invoice.currency)


def narrow_methods(
    chosen: list[str] | None, possible: list[str] | None, provider: str, currency: str
) -> list[str] | None:
    """Return the chosen methods a provider can take (possible: its activated ones, None: all it supports)."""
    if chosen is None:
        return possible
    if possible is None:
        possible = payment_methods.supported(provider, currency)
    return [name for name in possible if name in chosen]


def common_methods(invoices: Sequence[Invoice], provider: str) -> list[str] | None:
    """Return the methods one checkout at this provider may offer for all of these invoices.

    Only methods allowed on every one of them (None: none of them narrows the provider's own
    choice); an empty list: they have no method in common there, or one of them does not offer
    this provider at all.
    """
    if any(provider not in offered_providers(invoice) for invoice in invoices):
        return []
    chosen = [found for found in (checkout_methods(invoice, provider) for invoice in invoices) if found is not None]
    if not chosen:
        return None
    return [name for name in chosen[0] if all(name in other for other in chosen[1:])]


def common_provider(invoices: Sequence[Invoice]) -> str | None:
    """Return the first enabled provider one checkout for all of these invoices can go through, or None."""
    if not invoices:
        return None
    for name in enabled_providers(invoices[0].merchant_id):
        if common_methods(invoices, name) != []:
            return name
    return None


def available_methods(invoice: Invoice) -> list[str]:
    """Return the methods staff may choose for the invoice: what its enabled providers can take."""
    names: set[str] = set()
    for provider in enabled_providers(invoice.merchant_id):
        possible = provider_methods(invoice.merchant_id, provider, invoice.currency)
        names.update(payment_methods.supported(provider, invoice.currency) if possible is None else possible)
    return payment_methods.ordered(names)


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
    invoice: Invoice,
    providers: Sequence[str],
    *,
    bank_transfer: bool = True,
    methods: Sequence[str] | None = None,
) -> InvoicePaymentChoice:
    """Offer only these providers and payment methods (None: all), and bank transfer or not.

    No provider (or no method) means no online payment. A method none of the merchant's enabled
    providers can take for this invoice (not activated, or not in its currency) is refused by name.
    """
    unknown = [name for name in providers if name not in PROVIDERS]
    if unknown:
        raise DomainError(f"Unknown provider {unknown[0]!r}", "providers")
    if methods is not None:
        unknown = payment_methods.unknown_methods(methods)
        if unknown:
            raise DomainError(f"Unknown payment method {unknown[0]!r}", "methods")
        available = available_methods(invoice)
        missing = [name for name in payment_methods.ordered(methods) if name not in available]
        if missing:
            label = payment_methods.METHOD_LABELS[missing[0]]
            raise DomainError(
                f"{label} cannot be offered: no enabled payment provider takes it for an invoice in "
                f"{invoice.currency} (check the methods activated in Settings → Payment providers)",
                "methods",
            )
    if invoice.status in ("paid", "void"):
        raise DomainError(f"Invoice {invoice.number} is {invoice.status}: there is nothing left to pay", "providers")
    choice = db.session.get(InvoicePaymentChoice, invoice.id)
    if choice is None:
        choice = InvoicePaymentChoice(invoice_id=invoice.id, merchant_id=invoice.merchant_id)
        db.session.add(choice)
    choice.providers = [name for name in PROVIDERS if name in providers]
    choice.bank_transfer = bool(bank_transfer)
    choice.methods = None if methods is None else payment_methods.ordered(methods)
    db.session.flush()
    return choice


def clear_payment_choice(invoice: Invoice) -> None:
    """Offer every enabled provider on the invoice again (the default)."""
    choice = db.session.get(InvoicePaymentChoice, invoice.id)
    if choice is not None:
        db.session.delete(choice)
    db.session.flush()

"""Build merchants, customers and documents through the real services."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from portal.domain.invoices import Line
from portal.domain.late_fees import LateFeePolicy
from portal.domain.parties import Address
from portal.extensions import db
from portal.models import Customer, Invoice, Merchant
from portal.services import credit_notes, customers, invoices, merchants

SPEC_POLICY = LateFeePolicy(annual_rate=Decimal("12"), fee_percent=Decimal("0"), fee_minimum=4000, grace_days=0)

_counter = iter(range(1, 10**9))


#: A legal identity complete enough to issue documents (EU VAT Directive art. 226).
LEGAL_IDENTITY = {
    "address_line1": "Rue de la Loi 16",
    "postal_code": "1000",
    "city": "Brussels",
    "country": "BE",
    "vat_number": "BE0403170701",
}


def make_merchant(name: str = "Acme", *, policy: LateFeePolicy | None = SPEC_POLICY, **fields) -> Merchant:
    slug = f"m{next(_counter)}"
    merchant = merchants.create_merchant(name=name, slug=slug, timezone=fields.pop("timezone", "UTC"))
    # Settings → Company requires an email too; with the VAT number the documents are e-invoices (Factur-X).
    fields = {"legal_name": name, **LEGAL_IDENTITY, "support_email": f"billing@{slug}.example", **fields}
    for key, value in fields.items():
        setattr(merchant, key, value)
    if policy is not None:
        merchants.set_late_fee_policy(merchant, policy)
    return merchant


def make_api_key(merchant: Merchant) -> str:
    return merchants.create_api_key(merchant)[1]


def make_customer(merchant: Merchant, name: str = "Jane Cooper", language: str = "en", **fields) -> Customer:
    """A customer; fields may name company, address (an Address), vat_number, company_number, phone."""
    email = fields.pop("email", f"customer{next(_counter)}@example.com")
    return customers.create_customer(merchant, name=name, email=email, language=language, **fields)


def make_company_customer(merchant: Merchant, name: str = "Jan Peeters", **fields) -> Customer:
    """A Belgian company customer: its VAT number is its Peppol address, so its documents have a UBL."""
    fields = {
        "company": "Peeters BV",
        "vat_number": "BE0417497106",
        "address": Address("Meir 1", None, "2000", "Antwerpen", "BE"),
        **fields,
    }
    return make_customer(merchant, name, **fields)


def line(
    description: str = "Consulting",
    quantity: str = "1",
    unit_amount: int = 100000,
    tax_rate: str = "0",
    discount_percent: str = "0",
    tax_category: str | None = None,
) -> Line:
    return Line(
        description=description,
        quantity=Decimal(quantity),
        unit_amount=unit_amount,
        tax_rate=Decimal(tax_rate),
        discount_percent=Decimal(discount_percent),
        tax_category=tax_category,
    )


def make_invoice(
    customer: Customer,
    *,
    lines: list[Line] | None = None,
    issue_date: date = date(2026, 1, 1),
    due_date: date = date(2026, 1, 31),
    currency: str = "EUR",
    finalize: bool = True,
    **fields,
) -> Invoice:
    """An invoice of 1,000.00 EUR due 2026-01-31 unless told otherwise (the SPEC's vector)."""
    invoice = invoices.create_draft(
        customer.merchant,
        customer=customer,
        currency=currency,
        issue_date=issue_date,
        due_date=due_date,
        lines=lines or [line()],
        **fields,
    )
    if finalize:
        invoices.finalize_invoice(invoice)
    db.session.flush()
    return invoice


def credit(invoice: Invoice, amount: int, on: date, reason: str = "Correction"):
    return credit_notes.issue_credit_note(
        invoice, lines=[line("Credit", unit_amount=amount)], issue_date=on, reason=reason
    )


def pay(invoice: Invoice, amount: int, on: date, method: str = "bank_transfer"):
    return invoices.record_payment(invoice, amount=amount, paid_on=on, method=method)


def days(n: int) -> timedelta:
    return timedelta(days=n)


def run_jobs(queues: list[str] | None = None):
    """Run every due job in this session, as `flask portal worker --once` does, and return the report."""
    from portal.jobs.queue import run_due

    db.session.commit()
    return run_due(queues, limit=10_000)

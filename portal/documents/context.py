"""What an invoice or credit-note PDF shows, computed once in Python so the templates only format."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from portal.domain.invoices import compute_totals
from portal.domain.money import Money
from portal.models import CreditNote, Invoice
from portal.services.invoices import invoice_breakdown
from portal.theming import logo_data_uri


@dataclass(frozen=True)
class LineView:
    description: str
    quantity: Decimal
    unit_price: Money
    discount_percent: Decimal
    tax_rate: Decimal
    net: Money


@dataclass(frozen=True)
class TaxView:
    rate: Decimal
    base: Money
    amount: Money


@dataclass(frozen=True)
class ReductionView:
    """A credit note (reference = its number) or a payment (reference = its method) on a day."""

    reference: str
    on: date
    amount: Money


@dataclass(frozen=True)
class InterestView:
    start: date
    end: date
    days: int
    balance: Money
    annual_rate: Decimal
    amount: Money


@dataclass(frozen=True)
class LateFeesView:
    """The late-fee part of the "view calculation", present only once something is charged."""

    days_late: int
    fee_percent: Decimal
    fee_minimum: Money
    fee: Money
    segments: tuple[InterestView, ...]
    interest: Money


@dataclass(frozen=True)
class DocumentView:
    """Everything a PDF prints; its fingerprint decides whether a cached PDF is still right."""

    kind: str  # "invoice" or "credit_note"
    number: str | None
    status: str  # draft, open, overdue, paid, void, or issued for a credit note
    is_draft: bool
    issue_date: date
    due_date: date | None
    merchant_name: str
    merchant_email: str | None
    logo: str | None
    customer_name: str
    customer_email: str
    lines: tuple[LineView, ...]
    subtotal: Money
    discount_percent: Decimal
    discount: Money
    net: Money
    taxes: tuple[TaxView, ...]
    tax: Money
    total: Money
    credit_notes: tuple[ReductionView, ...] = ()
    payments: tuple[ReductionView, ...] = ()
    outstanding: Money | None = None
    late_fees: LateFeesView | None = None
    #: Days past the due date of an open invoice, else 0.
    days_overdue: int = 0
    #: The day the amount due was computed for; set only when it depends on the day (late fees).
    as_of: date | None = None
    amount_due: Money | None = None
    paid_on: date | None = None
    notes: str | None = None
    terms: str | None = None
    #: Credit notes: the invoice they correct and why.
    invoice_number: str | None = None
    reason: str | None = None


def _lines(rows, currency: str) -> tuple[LineView, ...]:
    return tuple(
        LineView(
            description=row.description,
            quantity=row.quantity,
            unit_price=Money(row.unit_amount, currency),
            discount_percent=row.discount_percent,
            tax_rate=row.tax_rate,
            net=Money(row.net_amount, currency),
        )
        for row in rows
    )


def _taxes(rows, discount_percent: Decimal, currency: str) -> tuple[TaxView, ...]:
    totals = compute_totals([row.to_domain() for row in rows], discount_percent)
    return tuple(TaxView(tax.rate, Money(tax.base, currency), Money(tax.amount, currency)) for tax in totals.taxes)


def invoice_view(invoice: Invoice, as_of: date) -> DocumentView:
    """Build the view of an invoice as it stands on as_of (the merchant's today)."""
    currency = invoice.currency
    merchant, customer = invoice.merchant, invoice.customer

    def money(minor: int) -> Money:
        return Money(minor, currency)

    breakdown = invoice_breakdown(invoice, as_of)
    status = invoice.status
    late_fees = None
    amount_due = outstanding = None
    days_overdue = 0
    if breakdown is not None:
        outstanding = money(breakdown.outstanding)
        if invoice.status == "draft":
            # A draft is not due yet: its preview shows the total, never late fees.
            amount_due = outstanding
        elif invoice.status == "open":
            amount_due = money(breakdown.amount_due)
            if breakdown.overdue:
                status, days_overdue = "overdue", breakdown.days_late
        if breakdown.charged and invoice.status == "open":
            late_fees = LateFeesView(
                days_late=breakdown.days_late,
                fee_percent=breakdown.fee_percent,
                fee_minimum=money(breakdown.fee_minimum),
                fee=money(breakdown.fee),
                segments=tuple(
                    InterestView(s.start, s.end, s.days, money(s.balance), s.annual_rate, money(s.amount))
                    for s in breakdown.segments
                ),
                interest=money(breakdown.interest),
            )
    return DocumentView(
        kind="invoice",
        number=invoice.number,
        status=status,
        is_draft=invoice.status == "draft",
        issue_date=invoice.issue_date,
        due_date=invoice.due_date,
        merchant_name=merchant.name,
        merchant_email=merchant.support_email,
        logo=logo_data_uri(merchant),
        customer_name=customer.name,
        customer_email=customer.email,
        lines=_lines(invoice.lines, currency),
        subtotal=money(invoice.subtotal),
        discount_percent=invoice.discount_percent,
        discount=money(invoice.discount_amount),
        net=money(invoice.net_amount),
        taxes=_taxes(invoice.lines, invoice.discount_percent, currency),
        tax=money(invoice.tax_amount),
        total=money(invoice.total),
        credit_notes=tuple(
            ReductionView(note.number, note.issue_date, money(note.total)) for note in invoice.credit_notes
        ),
        payments=tuple(
            ReductionView(payment.method, payment.paid_on, money(payment.amount)) for payment in invoice.payments
        ),
        outstanding=outstanding,
        late_fees=late_fees,
        days_overdue=days_overdue,
        # Only late fees make the amount depend on the day; otherwise the PDF stays the same.
        as_of=as_of if late_fees is not None else None,
        amount_due=amount_due,
        paid_on=invoice.paid_on,
        notes=invoice.notes,
        terms=invoice.terms or merchant.terms,
    )


def credit_note_view(note: CreditNote) -> DocumentView:
    """Build the view of a credit note."""
    currency = note.currency
    invoice = note.invoice
    merchant, customer = invoice.merchant, note.customer

    def money(minor: int) -> Money:
        return Money(minor, currency)

    return DocumentView(
        kind="credit_note",
        number=note.number,
        status="issued",
        is_draft=False,
        issue_date=note.issue_date,
        due_date=None,
        merchant_name=merchant.name,
        merchant_email=merchant.support_email,
        logo=logo_data_uri(merchant),
        customer_name=customer.name,
        customer_email=customer.email,
        lines=_lines(note.lines, currency),
        subtotal=money(note.subtotal),
        discount_percent=Decimal(0),
        discount=money(note.subtotal - note.net_amount),
        net=money(note.net_amount),
        taxes=_taxes(note.lines, Decimal(0), currency),
        tax=money(note.tax_amount),
        total=money(note.total),
        invoice_number=invoice.number,
        reason=note.reason,
    )

"""The back office's invoice list: filtered by status, dates and a search, with what each costs today."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from portal.domain.invoices import InvoiceStatus, is_overdue
from portal.extensions import db
from portal.models import Customer, Invoice, Merchant
from portal.models.mail import InvoiceSend
from portal.models.online_payment import PaymentAttempt
from portal.services.checkouts import live_checkouts
from portal.services.invoices import invoice_breakdown, outstanding

STATUSES = ("draft", "open", "overdue", "paid", "void")


@dataclass(frozen=True)
class InvoiceFilters:
    """What staff narrowed the list to; empty values mean no filter."""

    status: str = ""
    issued_from: date | None = None
    issued_to: date | None = None
    query: str = ""
    customer_id: int | None = None
    #: Only finalized invoices never sent to their customer (test copies don't count).
    not_sent: bool = False


@dataclass(frozen=True)
class InvoiceListRow:
    """An invoice as the back office lists it."""

    invoice: Invoice
    #: draft, open, overdue, paid or void (overdue is derived here, never stored).
    badge: str
    outstanding: int
    amount_due: int
    days_late: int
    #: A checkout that may still take money: a bank transfer pending at the provider, or one open.
    checkout: PaymentAttempt | None = None

    @property
    def payment_pending(self) -> bool:
        """Tell whether a provider reported the payment under way (the invoice is paid when it arrives)."""
        return self.checkout is not None and self.checkout.status == "pending"


def _row(invoice: Invoice, today: date, checkout: PaymentAttempt | None = None) -> InvoiceListRow:
    overdue = is_overdue(invoice.state, invoice.due_date, today)
    breakdown = invoice_breakdown(invoice, today) if invoice.state is InvoiceStatus.OPEN else None
    return InvoiceListRow(
        invoice=invoice,
        badge="overdue" if overdue else invoice.status,
        outstanding=outstanding(invoice) if invoice.state is InvoiceStatus.OPEN else 0,
        amount_due=breakdown.amount_due if breakdown else 0,
        days_late=breakdown.days_late if breakdown and overdue else 0,
        checkout=checkout,
    )


def search_invoices(
    merchant: Merchant, filters: InvoiceFilters, *, limit: int = 50, offset: int = 0
) -> tuple[list[InvoiceListRow], bool]:
    """Return one page of the merchant's invoices, newest first, and whether more follow."""
    today = merchant.today()
    statement = (
        select(Invoice)
        .join(Customer, Customer.id == Invoice.customer_id)
        .where(Invoice.merchant_id == merchant.id)
        .options(selectinload(Invoice.customer), selectinload(Invoice.payments), selectinload(Invoice.credit_notes))
        .order_by(Invoice.issue_date.desc(), Invoice.id.desc())
    )
    if filters.status == "overdue":
        statement = statement.where(Invoice.status == InvoiceStatus.OPEN.value, Invoice.due_date < today)
    elif filters.status in STATUSES:
        statement = statement.where(Invoice.status == filters.status)
    if filters.customer_id is not None:
        statement = statement.where(Invoice.customer_id == filters.customer_id)
    if filters.issued_from:
        statement = statement.where(Invoice.issue_date >= filters.issued_from)
    if filters.issued_to:
        statement = statement.where(Invoice.issue_date <= filters.issued_to)
    if filters.not_sent:
        sent = select(InvoiceSend.id).where(InvoiceSend.invoice_id == Invoice.id, InvoiceSend.test.is_(False))
        statement = statement.where(Invoice.status != InvoiceStatus.DRAFT.value, ~sent.exists())
    query = filters.query.strip().lower()
    if query:
        statement = statement.where(
            or_(
                func.lower(Invoice.number).contains(query, autoescape=True),
                func.lower(Customer.name).contains(query, autoescape=True),
                func.lower(Customer.email).contains(query, autoescape=True),
            )
        )
    invoices = list(db.session.scalars(statement.limit(limit + 1).offset(offset)))
    checkouts = live_checkouts([invoice.id for invoice in invoices[:limit]])
    return [_row(invoice, today, checkouts.get(invoice.id)) for invoice in invoices[:limit]], len(invoices) > limit


def status_counts(merchant: Merchant) -> dict[str, int]:
    """Count the merchant's invoices per list filter, overdue included."""
    rows = db.session.execute(
        select(Invoice.status, func.count()).where(Invoice.merchant_id == merchant.id).group_by(Invoice.status)
    ).all()
    counts = {status: 0 for status in STATUSES}
    counts.update({status: count for status, count in rows})
    counts["overdue"] = db.session.scalar(
        select(func.count()).where(
            Invoice.merchant_id == merchant.id,
            Invoice.status == InvoiceStatus.OPEN.value,
            Invoice.due_date < merchant.today(),
        )
    )
    return counts

"""What the customer portal's pages show: the overview's sections and one invoice with its story."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import lazyload, selectinload

from portal.api.events import record_event
from portal.documents.context import DocumentView, invoice_view
from portal.domain.invoices import InvoiceStatus, shown_status
from portal.domain.late_fees import Breakdown, LateChargesAhead, late_charges_ahead
from portal.domain.payment_references import format_reference
from portal.extensions import db
from portal.models import Comment, CreditNote, Customer, Invoice
from portal.models.api import Event
from portal.models.base import utcnow
from portal.models.document import InvoiceAttachment
from portal.models.dues import CustomerDues
from portal.services.attachments import list_attachments
from portal.services.invoices import invoice_breakdown
from portal.services.timeline import invoice_timeline

PAGE_SIZE = 20
STATUS_FILTERS = ("open", "overdue", "paid", "void", "credit_notes")


@dataclass(frozen=True)
class OverviewFilters:
    """What the customer narrowed the overview to; empty values mean no filter."""

    status: str = ""
    issued_from: date | None = None
    issued_to: date | None = None
    number: str = ""

    @property
    def active(self) -> bool:
        """Tell whether any filter is set."""
        return bool(self.status or self.issued_from or self.issued_to or self.number)


@dataclass(frozen=True)
class InvoiceRow:
    """An invoice as listed, with what it costs today (None when void)."""

    invoice: Invoice
    breakdown: Breakdown | None

    @property
    def amount_due(self) -> int:
        """Return the amount due today (0 for paid or void)."""
        return self.breakdown.amount_due if self.breakdown and self.invoice.state is InvoiceStatus.OPEN else 0

    @property
    def shown_status(self) -> str:
        """Return the status the customer reads (credited, partly paid, overdue, …)."""
        return shown_status(
            self.invoice.status,
            overdue=bool(self.days_overdue),
            credited=self.invoice.credited,
            paid=self.invoice.paid,
        )

    @property
    def includes_late_charges(self) -> bool:
        """Tell whether the amount due today holds a late fee or interest."""
        return bool(self.amount_due and (self.breakdown.fee or self.breakdown.interest))

    @property
    def payment_reference(self) -> str | None:
        """Return the reference a transfer names, as people write it (+++202/6000/00192+++), if any."""
        reference = self.invoice.payment_reference
        return format_reference(reference) if reference else None

    @property
    def days_overdue(self) -> int:
        """Return how many days past its due date an open invoice is, else 0."""
        if self.breakdown is None or not self.breakdown.overdue or self.invoice.state is not InvoiceStatus.OPEN:
            return 0
        return self.breakdown.days_late


@dataclass(frozen=True)
class Section:
    """One page of one overview section."""

    key: str
    rows: list
    page: int
    pages: int
    count: int
    shown: bool

    @property
    def previous_page(self) -> int | None:
        """Return the page before this one, if any."""
        return self.page - 1 if self.page > 1 else None

    @property
    def next_page(self) -> int | None:
        """Return the page after this one, if any."""
        return self.page + 1 if self.page < self.pages else None


@dataclass(frozen=True)
class CurrencyDue:
    """Everything the customer owes today in one currency."""

    currency: str
    amount_due: int
    open_count: int
    overdue_count: int


@dataclass(frozen=True)
class Overview:
    """The overview page: what is owed, then open, paid, cancelled invoices and credit notes."""

    due: list[CurrencyDue]
    open: Section
    paid: Section
    cancelled: Section
    credit_notes: Section


@dataclass(frozen=True)
class InvoicePage:
    """One invoice with its taxes, calculation, credit notes, payments and comments."""

    invoice: Invoice
    breakdown: Breakdown | None
    #: The invoice as issued (parties, lines, taxes per category and rate, wording), as its PDF shows it.
    document: DocumentView
    comments: list[Comment]
    today: date
    attachments: list[InvoiceAttachment]
    #: What happened to the invoice, as the customer may see it.
    timeline: list = field(default_factory=list)

    @property
    def amount_due(self) -> int:
        """Return what the customer owes today (0 once paid or void)."""
        return InvoiceRow(self.invoice, self.breakdown).amount_due

    @property
    def days_overdue(self) -> int:
        """Return the days past due for an open invoice, else 0."""
        return InvoiceRow(self.invoice, self.breakdown).days_overdue

    @property
    def shown_status(self) -> str:
        """Return the status the customer reads (credited, partly paid, overdue, …)."""
        return InvoiceRow(self.invoice, self.breakdown).shown_status

    @property
    def late_charges_ahead(self) -> LateChargesAhead | None:
        """Return what will be added after the due date, while an open invoice is not late yet."""
        if self.invoice.state is not InvoiceStatus.OPEN or self.breakdown is None or self.breakdown.charged:
            return None
        return late_charges_ahead(self.invoice.late_fee_policy, self.breakdown.outstanding, self.invoice.due_date)


def _page_count(count: int) -> int:
    return max(1, math.ceil(count / PAGE_SIZE))


def _clamp(page: int, count: int) -> int:
    return min(max(1, page), _page_count(count))


def _invoice_filters(customer: Customer, filters: OverviewFilters) -> list:
    conditions = [Invoice.merchant_id == customer.merchant_id, Invoice.customer_id == customer.id]
    if filters.issued_from:
        conditions.append(Invoice.issue_date >= filters.issued_from)
    if filters.issued_to:
        conditions.append(Invoice.issue_date <= filters.issued_to)
    if filters.number:
        conditions.append(func.lower(Invoice.number).contains(filters.number.lower(), autoescape=True))
    return conditions


def _section(
    key: str, query, conditions: list, order: Sequence, page: int, shown: bool, *options, count: int | None = None
) -> tuple[list, Section]:
    """Count (unless the count is known) and fetch one page of a section; the statements do not depend on how
    many rows exist."""
    if not shown:
        return [], Section(key=key, rows=[], page=1, pages=1, count=0, shown=False)
    if count is None:
        count = db.session.scalar(select(func.count()).select_from(query.where(*conditions).subquery()))
    page = _clamp(page, count)
    rows = list(
        db.session.scalars(
            query.where(*conditions).options(*options).order_by(*order).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
        )
    )
    return rows, Section(key=key, rows=rows, page=page, pages=_page_count(count), count=count, shown=True)


@dataclass(frozen=True)
class _Kept:
    """What the overview keeps per customer and day: the amounts due, and how many documents each section holds."""

    due: list[CurrencyDue]
    counts: dict[str, int]


def _kept_for_today(customer: Customer, today: date) -> _Kept:
    """Return what every open invoice costs today per currency, and the sections' unfiltered counts.

    Kept per customer and day (portal.models.dues): the overview reads one row, and sums every open
    invoice's breakdown (and counts the sections) only on the first visit of the day or after something
    about the customer's money changed.
    """
    kept = db.session.execute(
        select(CustomerDues.version, CustomerDues.as_of, CustomerDues.amounts, CustomerDues.counts).where(
            CustomerDues.customer_id == customer.id
        )
    ).first()
    if kept is not None and kept.as_of == today and kept.amounts is not None and kept.counts is not None:
        return _Kept([CurrencyDue(*values) for values in kept.amounts], dict(kept.counts))
    due = _sum_amounts_owed(customer, today)
    counts = _section_counts(customer)
    amounts = [[d.currency, d.amount_due, d.open_count, d.overdue_count] for d in due]
    if kept is None:
        dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
        statement = dialect.insert(CustomerDues).values(
            customer_id=customer.id,
            merchant_id=customer.merchant_id,
            version=0,
            as_of=today,
            amounts=amounts,
            counts=counts,
        )
        # A change flushed meanwhile made a row of its own: it wins, and the next visit sums afresh.
        db.session.execute(statement.on_conflict_do_nothing(index_elements=["customer_id"]))
    else:
        # Stored only if no change was flushed since the version was read (the sums would be stale).
        db.session.execute(
            update(CustomerDues)
            .where(CustomerDues.customer_id == customer.id, CustomerDues.version == kept.version)
            .values(as_of=today, amounts=amounts, counts=counts)
        )
    return _Kept(due, counts)


def _section_counts(customer: Customer) -> dict[str, int]:
    """Count the customer's invoices per status and their credit notes, as the unfiltered sections show them."""
    rows = db.session.execute(
        select(Invoice.status, func.count())
        .where(Invoice.merchant_id == customer.merchant_id, Invoice.customer_id == customer.id)
        .group_by(Invoice.status)
    ).all()
    counts = {status: count for status, count in rows}
    notes = db.session.scalar(
        select(func.count()).where(
            CreditNote.merchant_id == customer.merchant_id, CreditNote.customer_id == customer.id
        )
    )
    return {
        "open": counts.get(InvoiceStatus.OPEN.value, 0),
        "paid": counts.get(InvoiceStatus.PAID.value, 0),
        "cancelled": counts.get(InvoiceStatus.VOID.value, 0),
        "credit_notes": notes,
    }


def _sum_amounts_owed(customer: Customer, today: date) -> list[CurrencyDue]:
    """Sum what every open invoice costs today, per currency."""
    invoices = db.session.scalars(
        select(Invoice)
        .where(
            Invoice.merchant_id == customer.merchant_id,
            Invoice.customer_id == customer.id,
            Invoice.status == InvoiceStatus.OPEN.value,
        )
        .options(selectinload(Invoice.payments), selectinload(Invoice.credit_notes))
    )
    totals: dict[str, list[int]] = {}
    for invoice in invoices:
        row = InvoiceRow(invoice, invoice_breakdown(invoice, today))
        entry = totals.setdefault(invoice.currency, [0, 0, 0])
        entry[0] += row.amount_due
        entry[1] += 1
        entry[2] += 1 if row.days_overdue else 0
    return [CurrencyDue(currency, *values) for currency, values in sorted(totals.items())]


def refresh_kept_dues(*, limit: int = 2000) -> int:
    """Sum today's amounts due ahead of the customers' visits, for up to `limit` customers; return how many.

    For each customer with an open invoice whose kept sums are from an earlier day (or stale after a
    change), as the overview's first visit of the day would, committing per customer. Run hourly by
    the job system, so a customer with thousands of open invoices rarely waits for the sum.
    """
    owing = select(Invoice.customer_id).where(Invoice.status == InvoiceStatus.OPEN.value).distinct().subquery()
    candidates = db.session.execute(
        select(owing.c.customer_id, CustomerDues.as_of, CustomerDues.amounts.is_(None))
        .outerjoin(CustomerDues, CustomerDues.customer_id == owing.c.customer_id)
        .order_by(owing.c.customer_id)
    ).all()
    done = 0
    for customer_id, as_of, stale in candidates:
        if done >= limit:
            break
        customer = db.session.get(Customer, customer_id)
        if customer is None:
            continue
        today = customer.merchant.today()
        if as_of == today and not stale:
            continue
        _kept_for_today(customer, today)
        db.session.commit()
        done += 1
    return done


def customer_overview(customer: Customer, filters: OverviewFilters, pages: dict[str, int]) -> Overview:
    """Build the overview: amounts owed, then one page of each section the filters keep."""
    today = customer.merchant.today()
    kept = _kept_for_today(customer, today)
    # Without filters the sections' counts are the kept ones: no count grows with the history.
    known = (lambda key: kept.counts.get(key)) if not filters.active else (lambda key: None)
    conditions = _invoice_filters(customer, filters)
    status = filters.status
    invoices = select(Invoice)

    open_conditions = [*conditions, Invoice.status == InvoiceStatus.OPEN.value]
    if status == "overdue":
        open_conditions.append(Invoice.due_date < today)
    open_rows, open_section = _section(
        "open",
        invoices,
        open_conditions,
        (Invoice.due_date, Invoice.id),
        pages.get("open", 1),
        status in ("", "open", "overdue"),
        selectinload(Invoice.payments),
        selectinload(Invoice.credit_notes),
        count=known("open"),
    )
    open_section = Section(
        key="open",
        rows=[InvoiceRow(invoice, invoice_breakdown(invoice, today)) for invoice in open_rows],
        page=open_section.page,
        pages=open_section.pages,
        count=open_section.count,
        shown=open_section.shown,
    )
    _, paid = _section(
        "paid",
        invoices,
        [*conditions, Invoice.status == InvoiceStatus.PAID.value],
        (Invoice.paid_on.desc(), Invoice.id.desc()),
        pages.get("paid", 1),
        status in ("", "paid"),
        # Loaded with the page: whether money was paid tells "Paid" from "Credited".
        selectinload(Invoice.payments),
        selectinload(Invoice.credit_notes),
        lazyload(Invoice.disputes),  # a paid invoice's amount due is not computed
        count=known("paid"),
    )
    _, cancelled = _section(
        "cancelled",
        invoices,
        [*conditions, Invoice.status == InvoiceStatus.VOID.value],
        (Invoice.issue_date.desc(), Invoice.id.desc()),
        pages.get("cancelled", 1),
        status in ("", "void"),
        lazyload(Invoice.disputes),
        count=known("cancelled"),
    )
    note_conditions = [CreditNote.merchant_id == customer.merchant_id, CreditNote.customer_id == customer.id]
    if filters.issued_from:
        note_conditions.append(CreditNote.issue_date >= filters.issued_from)
    if filters.issued_to:
        note_conditions.append(CreditNote.issue_date <= filters.issued_to)
    if filters.number:
        note_conditions.append(func.lower(CreditNote.number).contains(filters.number.lower(), autoescape=True))
    _, notes = _section(
        "credit_notes",
        select(CreditNote),
        note_conditions,
        (CreditNote.issue_date.desc(), CreditNote.id.desc()),
        pages.get("credit_notes", 1),
        status in ("", "credit_notes"),
        selectinload(CreditNote.invoice).lazyload(Invoice.disputes),
        count=known("credit_notes"),
    )
    return Overview(
        due=kept.due,
        open=open_section,
        paid=paid,
        cancelled=cancelled,
        credit_notes=notes,
    )


def invoice_page(invoice: Invoice) -> InvoicePage:
    """Gather what the invoice page shows, as of the merchant's today."""
    today = invoice.merchant.today()
    comments = list(
        db.session.scalars(
            select(Comment)
            .where(Comment.invoice_id == invoice.id, Comment.merchant_id == invoice.merchant_id)
            .options(selectinload(Comment.staff_user))
            .order_by(Comment.created_at, Comment.id)
        )
    )
    return InvoicePage(
        invoice=invoice,
        breakdown=invoice_breakdown(invoice, today),
        document=invoice_view(invoice, today),
        comments=comments,
        today=today,
        attachments=list_attachments(invoice),
        timeline=invoice_timeline(invoice, for_customer=True, comments=comments),
    )


#: A customer reopening the same invoice within this time is one view.
VIEW_QUIET_PERIOD = timedelta(hours=1)


def note_invoice_viewed(invoice: Invoice) -> None:
    """Record invoice.viewed for the customer's visit, once per quiet period (a reload is not news)."""
    if invoice.first_viewed_at is None:
        invoice.first_viewed_at = utcnow()  # the timeline's "first viewed", kept after events expire
    recent = db.session.scalar(
        select(Event.id)
        .where(
            Event.object_type == "invoice",
            Event.object_id == invoice.id,
            Event.type == "invoice.viewed",
            Event.created_at >= utcnow() - VIEW_QUIET_PERIOD,
        )
        .limit(1)
    )
    if recent is None:
        record_event(invoice.merchant, "invoice.viewed", invoice)

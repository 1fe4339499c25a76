"""What each customer owes today (and how many documents they have), kept for the overview; the flush hook
that marks it out of date.

Summing what every open invoice costs today means computing each one's late fee and interest; a
customer with thousands of open invoices would pay that on every visit of the overview. The sums
are kept here per customer for one day (interest grows daily) and a version counter, raised in the
same transaction as any change to the customer's invoices, payments, reversals, credit notes or
disputes, tells a reader that its sums are stale before it stores them (portal.services.portal_pages).
"""

from __future__ import annotations

from datetime import date
from itertools import chain

from sqlalchemy import JSON, BigInteger, Date, ForeignKey, Index, event, inspect, literal, null, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from portal.models.base import Base
from portal.models.credit_note import CreditNote
from portal.models.invoice import Invoice, Payment
from portal.models.ledger import PaymentReversal
from portal.models.reminder import Dispute

#: Invoice columns that change what an open invoice costs (or whether it is open).
_MONEY_COLUMNS = (
    "status",
    "customer_id",
    "currency",
    "total",
    "due_date",
    "paid_on",
    "late_annual_rate",
    "late_fee_percent",
    "late_fee_minimum",
    "late_grace_days",
    "late_consumer",
    "first_reminder_on",
)
#: Ids per statement, well below any driver's limit on bound parameters.
_CHUNK = 5000

# The overview's sections, one page of one customer's invoices each: counted and read in order from an
# index, so neither grows with the customer's history (open by due date, paid by paid date, cancelled
# and credit notes by issue date).
Index(
    "ix_invoices_customer_open", Invoice.merchant_id, Invoice.customer_id, Invoice.status, Invoice.due_date, Invoice.id
)
Index(
    "ix_invoices_customer_paid", Invoice.merchant_id, Invoice.customer_id, Invoice.status, Invoice.paid_on, Invoice.id
)
Index(
    "ix_invoices_customer_issued",
    Invoice.merchant_id,
    Invoice.customer_id,
    Invoice.status,
    Invoice.issue_date,
    Invoice.id,
)
Index(
    "ix_credit_notes_customer_issued",
    CreditNote.merchant_id,
    CreditNote.customer_id,
    CreditNote.issue_date,
    CreditNote.id,
)


class CustomerDues(Base):
    """A customer's amounts due per currency on one day, with open and overdue counts."""

    __tablename__ = "customer_dues"

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), index=True)
    #: Raised by every flush that changes what the customer owes; a reader stores its sums only if unchanged.
    version: Mapped[int] = mapped_column(BigInteger, default=0)
    #: The merchant's day the sums are for; NULL when out of date.
    as_of: Mapped[date | None] = mapped_column(Date)
    #: [[currency, amount_due, open_count, overdue_count], …] sorted by currency; NULL when out of date.
    amounts: Mapped[list | None] = mapped_column(JSON)
    #: How many documents each overview section holds unfiltered: {open, paid, cancelled, credit_notes}.
    counts: Mapped[dict | None] = mapped_column(JSON)


def _changed_invoice(session: Session, invoice: Invoice) -> bool:
    if invoice in session.new:
        return invoice.status != "draft"
    if invoice in session.deleted:
        return False  # only drafts are deleted; their rows are gone
    state = inspect(invoice)
    return any(state.attrs[name].history.has_changes() for name in _MONEY_COLUMNS)


def _loaded_invoice(row: Payment | Dispute) -> Invoice | None:
    """Return the row's invoice when the session holds it already (no query inside the flush)."""
    loaded = inspect(row).attrs.invoice.loaded_value
    return loaded if isinstance(loaded, Invoice) else None


@event.listens_for(Session, "after_flush")
def _mark_dues_stale(session: Session, _flush_context) -> None:
    """Raise the version of every customer whose amounts due this flush may have changed.

    One statement (two when a payment's or dispute's invoice is not in the session), none when
    nothing about money changed.
    """
    owners: set[tuple[int, int]] = set()
    invoice_ids: set[int] = set()
    for row in chain(session.new, session.dirty, session.deleted):
        if isinstance(row, Invoice):
            if _changed_invoice(session, row):
                owners.add((row.customer_id, row.merchant_id))
        elif isinstance(row, CreditNote | PaymentReversal):
            if row.customer_id is not None:
                owners.add((row.customer_id, row.merchant_id))
        elif isinstance(row, Payment | Dispute):
            invoice = _loaded_invoice(row)
            if invoice is not None:
                owners.add((invoice.customer_id, invoice.merchant_id))
            elif row.invoice_id is not None:
                invoice_ids.add(row.invoice_id)
    if not owners and not invoice_ids:
        return
    connection = session.connection()
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    stale = {"version": CustomerDues.version + 1, "as_of": null(), "amounts": null(), "counts": null()}
    rows = [{"customer_id": c, "merchant_id": m, "version": 1} for c, m in sorted(owners)]
    for start in range(0, len(rows), _CHUNK):
        statement = dialect.insert(CustomerDues).values(rows[start : start + _CHUNK])
        connection.execute(statement.on_conflict_do_update(index_elements=["customer_id"], set_=stale))
    ids = sorted(invoice_ids)
    for start in range(0, len(ids), _CHUNK):
        found = (
            select(Invoice.customer_id, Invoice.merchant_id, literal(1))
            .where(Invoice.id.in_(ids[start : start + _CHUNK]))
            .distinct()
        )
        statement = dialect.insert(CustomerDues).from_select(["customer_id", "merchant_id", "version"], found)
        connection.execute(statement.on_conflict_do_update(index_elements=["customer_id"], set_=stale))

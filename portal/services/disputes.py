"""Disputes: a customer contests an invoice; reminders stop and no late charges accrue until staff resolve it."""

from __future__ import annotations

from portal.api.events import record_event
from portal.domain.invoices import InvoiceStatus
from portal.extensions import db
from portal.models import Customer, Invoice, StaffUser
from portal.models.base import utcnow
from portal.models.reminder import Dispute
from portal.models.self_service import Contact
from portal.services.comments import add_customer_comment, check_comment_body
from portal.services.errors import Conflict


def open_dispute(invoice: Invoice, customer: Customer, reason: str, contact: Contact | None = None) -> Dispute:
    """Mark the customer's open invoice disputed from today, with their comment in the thread (staff are told)."""
    reason = check_comment_body(reason)
    if invoice.state is not InvoiceStatus.OPEN:
        raise Conflict("Only an open invoice can be disputed", "status")
    if invoice.open_dispute is not None:
        raise Conflict("This invoice is already disputed", "status")
    comment = add_customer_comment(invoice, customer, reason, contact)
    dispute = Dispute(
        merchant_id=invoice.merchant_id,
        invoice=invoice,
        comment=comment,
        opened_on=invoice.merchant.today(),
        opened_at=utcnow(),
    )
    db.session.add(dispute)
    db.session.flush()
    record_event(invoice.merchant, "invoice.disputed", invoice)
    return dispute


def resolve_dispute(invoice: Invoice, staff: StaffUser | None = None, resolution: str | None = None) -> Dispute:
    """Close the invoice's open dispute today: the clock runs again from tomorrow."""
    dispute = invoice.open_dispute
    if dispute is None:
        raise Conflict("This invoice is not disputed", "status")
    dispute.resolved_on = max(invoice.merchant.today(), dispute.opened_on)
    dispute.resolved_at = utcnow()
    dispute.resolved_by_id = staff.id if staff is not None else None
    dispute.resolution = (resolution or "").strip()[:2000] or None
    db.session.flush()
    record_event(invoice.merchant, "invoice.dispute_resolved", invoice)
    return dispute

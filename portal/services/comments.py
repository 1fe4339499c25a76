"""The comment thread under an invoice: customers ask, staff answer."""

from __future__ import annotations

from portal.api.events import record_event
from portal.domain.errors import DomainError
from portal.extensions import db
from portal.mail.notifications import notify_staff_of_comment
from portal.models import Comment, Customer, Invoice
from portal.models.self_service import Contact
from portal.services.contacts import primary_contact

MAX_COMMENT_LENGTH = 2000


def check_comment_body(body: str) -> str:
    """Return the comment trimmed, or raise DomainError unless it holds 1–2000 characters."""
    body = (body or "").strip()
    if not body:
        raise DomainError("A comment cannot be empty", "body")
    if len(body) > MAX_COMMENT_LENGTH:
        raise DomainError(f"A comment is at most {MAX_COMMENT_LENGTH} characters", "body")
    return body


def add_customer_comment(invoice: Invoice, customer: Customer, body: str, contact: Contact | None = None) -> Comment:
    """Add the customer's comment to their invoice and queue a note to the merchant's staff.

    contact: the customer's contact who wrote it (staff see their name); None: the primary contact.
    """
    if invoice.customer_id != customer.id or invoice.merchant_id != customer.merchant_id:
        raise DomainError("Customers comment only on their own invoices", "invoice")
    if contact is None:
        contact = primary_contact(customer)
    elif contact.customer_id != customer.id:
        raise DomainError("Only the customer's own contacts comment on its invoices", "contact")
    comment = Comment(
        merchant_id=invoice.merchant_id,
        invoice=invoice,
        author_kind="customer",
        contact=contact,
        body=check_comment_body(body),
        state="open",
    )
    db.session.add(comment)
    db.session.flush()
    record_event(invoice.merchant, "comment.created", comment)
    notify_staff_of_comment(comment)
    return comment

"""The back office's side of comment threads: the inbox of customers' comments and staff replies."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from portal.api.events import record_event
from portal.domain.errors import DomainError
from portal.extensions import db
from portal.mail.notifications import notify_customer_of_reply
from portal.models import Comment, Invoice, Merchant, StaffUser
from portal.models.base import utcnow
from portal.models.comment import COMMENT_STATES
from portal.services.comments import check_comment_body
from portal.services.errors import NotFound


def inbox(merchant: Merchant, *, state: str | None = None, limit: int = 100) -> list[Comment]:
    """Return customers' comments, newest first; only those in `state` (open, answered, no_reply_needed) if given."""
    statement = (
        select(Comment)
        .where(Comment.merchant_id == merchant.id, Comment.author_kind == "customer")
        .options(selectinload(Comment.invoice).selectinload(Invoice.customer), selectinload(Comment.contact))
        .order_by(Comment.created_at.desc(), Comment.id.desc())
        .limit(limit)
    )
    if state is not None:
        statement = statement.where(Comment.state == state)
    return list(db.session.scalars(statement))


def open_count(merchant: Merchant) -> int:
    """Count customers' comments waiting for a staff answer."""
    return db.session.scalar(
        select(func.count()).where(
            Comment.merchant_id == merchant.id, Comment.author_kind == "customer", Comment.state == "open"
        )
    )


def thread(invoice: Invoice) -> list[Comment]:
    """Return the invoice's comments, oldest first."""
    return list(
        db.session.scalars(
            select(Comment)
            .where(Comment.invoice_id == invoice.id, Comment.merchant_id == invoice.merchant_id)
            .options(selectinload(Comment.staff_user), selectinload(Comment.contact))
            .order_by(Comment.created_at, Comment.id)
        )
    )


def mark_thread_read(invoice: Invoice) -> None:
    """Mark the customer's comments on the invoice as seen: they stay open until answered or marked."""
    now = utcnow()
    for comment in thread(invoice):
        if comment.author_kind == "customer" and comment.read_at is None:
            comment.read_at = now
    db.session.flush()


def reply(invoice: Invoice, staff_user: StaffUser | None, body: str) -> Comment:
    """Add a staff reply to the invoice's thread and queue it to the customer by mail.

    staff_user is None for a reply sent through the API (signed with the merchant's name).
    """
    if staff_user is not None and staff_user.merchant_id != invoice.merchant_id:
        raise DomainError("Staff reply only on their own merchant's invoices", "invoice")
    if invoice.status == "draft":
        raise DomainError("The customer cannot see a draft, so there is nothing to reply to", "body")
    comment = Comment(
        merchant_id=invoice.merchant_id,
        invoice=invoice,
        author_kind="staff",
        staff_user_id=staff_user.id if staff_user is not None else None,
        body=check_comment_body(body),
        read_at=utcnow(),
    )
    db.session.add(comment)
    db.session.flush()
    record_event(invoice.merchant, "comment.created", comment)
    mark_thread_read(invoice)
    # A reply answers every comment the customer left open on this invoice.
    for asked in thread(invoice):
        if asked.state == "open":
            _set_state(asked, "answered", staff_user)
    db.session.flush()
    notify_customer_of_reply(comment)
    return comment


def _set_state(comment: Comment, state: str, staff_user: StaffUser | None) -> None:
    comment.state = state
    comment.state_changed_at = utcnow()
    comment.state_changed_by_id = staff_user.id if staff_user is not None else None


def set_comment_state(comment: Comment, state: str, staff_user: StaffUser) -> None:
    """Mark a customer's comment "no_reply_needed", or open again; "answered" comes only with a reply."""
    if comment.author_kind != "customer":
        raise DomainError("Only a customer's comment waits for an answer", "state")
    if state not in COMMENT_STATES or state == "answered":
        raise DomainError("Mark a comment “no reply needed”, or open it again; reply to answer it", "state")
    if comment.state != state:
        _set_state(comment, state, staff_user)
        db.session.flush()


def get_comment(merchant: Merchant, comment_id: int) -> Comment:
    """Return the merchant's customer comment, or raise NotFound."""
    comment = db.session.get(Comment, comment_id)
    if comment is None or comment.merchant_id != merchant.id or comment.author_kind != "customer":
        raise NotFound("No such comment", "comment")
    return comment

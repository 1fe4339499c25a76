"""The back office's side of comment threads: the inbox of customers' comments and staff replies."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.api.events import record_event
from portal.domain.errors import DomainError
from portal.extensions import db
from portal.mail.notifications import notify_customer_of_reply
from portal.models import Comment, Invoice, Merchant, StaffUser
from portal.models.base import utcnow
from portal.services.comments import check_comment_body


def inbox(merchant: Merchant, *, unread_only: bool = False, limit: int = 100) -> list[Comment]:
    """Return customers' comments, newest first."""
    statement = (
        select(Comment)
        .where(Comment.merchant_id == merchant.id, Comment.author_kind == "customer")
        .options(selectinload(Comment.invoice).selectinload(Invoice.customer), selectinload(Comment.contact))
        .order_by(Comment.created_at.desc(), Comment.id.desc())
        .limit(limit)
    )
    if unread_only:
        statement = statement.where(Comment.read_at.is_(None))
    return list(db.session.scalars(statement))


def unread_count(merchant: Merchant) -> int:
    """Count customers' comments nobody has read yet."""
    from sqlalchemy import func

    return db.session.scalar(
        select(func.count()).where(
            Comment.merchant_id == merchant.id, Comment.author_kind == "customer", Comment.read_at.is_(None)
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
    """Mark the customer's comments on the invoice as read."""
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
    notify_customer_of_reply(comment)
    return comment

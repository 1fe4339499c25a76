"""The comment thread under an invoice."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, UTCDateTime, utcnow
from portal.models.invoice import Invoice
from portal.models.merchant import StaffUser
from portal.models.self_service import Contact

#: The states of a customer's comment, in the inbox's order.
COMMENT_STATES = ("open", "answered", "no_reply_needed")


class Comment(Base):
    """A customer's question or a staff member's reply on an invoice."""

    __tablename__ = "comments"
    __table_args__ = (
        CheckConstraint("author_kind IN ('customer', 'staff')", name="author_kind_known"),
        # A customer's comment has a state; a staff reply is itself the answer and has none.
        CheckConstraint(
            "(author_kind = 'customer' AND state IN ('open', 'answered', 'no_reply_needed'))"
            " OR (author_kind = 'staff' AND state IS NULL)",
            name="state_known",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), index=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"), index=True)
    #: "customer" or "staff".
    author_kind: Mapped[str] = mapped_column(String(8))
    staff_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    #: For a customer's comment, the contact who posted it (NULL for comments from before contacts existed).
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    #: Plain text, 1–2000 characters; always rendered escaped.
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: When staff first opened it (seen; opening is not answering).
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: A customer's comment: open until staff reply ("answered") or mark it "no_reply_needed"; NULL on a reply.
    state: Mapped[str | None] = mapped_column(String(16), index=True)
    #: When its state last changed (answered or marked by staff).
    state_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The staff member who answered it or marked it; NULL for an answer through the API.
    state_changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))

    invoice: Mapped[Invoice] = relationship()
    staff_user: Mapped[StaffUser | None] = relationship(foreign_keys=[staff_user_id])
    state_changed_by: Mapped[StaffUser | None] = relationship(foreign_keys=[state_changed_by_id])
    contact: Mapped[Contact | None] = relationship()

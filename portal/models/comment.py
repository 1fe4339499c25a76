"""The comment thread under an invoice."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, UTCDateTime, utcnow
from portal.models.invoice import Invoice
from portal.models.merchant import StaffUser
from portal.models.self_service import Contact


class Comment(Base):
    """A customer's question or a staff member's reply on an invoice."""

    __tablename__ = "comments"
    __table_args__ = (CheckConstraint("author_kind IN ('customer', 'staff')", name="author_kind_known"),)

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
    #: When staff marked it read in the inbox.
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    invoice: Mapped[Invoice] = relationship()
    staff_user: Mapped[StaffUser | None] = relationship()
    contact: Mapped[Contact | None] = relationship()

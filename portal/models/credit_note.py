"""Credit notes: documents of their own that lower an invoice's outstanding amount."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.domain.parties import Buyer, Seller
from portal.models.base import Base, UTCDateTime, utcnow
from portal.models.customer import Customer
from portal.models.identity import IssuedDocumentColumns
from portal.models.invoice import Invoice
from portal.models.lines import DISCOUNT_FIXED_CHECK, TAX_CATEGORY_CHECK, LineColumns


class CreditNote(IssuedDocumentColumns, Base):
    """A credit note against one invoice, numbered from its own sequence when issued."""

    __tablename__ = "credit_notes"
    __table_args__ = (
        UniqueConstraint("merchant_id", "number"),
        CheckConstraint("total > 0 AND net_amount >= 0 AND tax_amount >= 0", name="amounts_valid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), index=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    #: e.g. CN-2026-0003.
    number: Mapped[str] = mapped_column(String(32))
    issue_date: Mapped[date] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(Text)
    currency: Mapped[str] = mapped_column(String(3))
    subtotal: Mapped[int] = mapped_column(BigInteger)
    net_amount: Mapped[int] = mapped_column(BigInteger)
    tax_amount: Mapped[int] = mapped_column(BigInteger)
    total: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    invoice: Mapped[Invoice] = relationship(back_populates="credit_notes")
    customer: Mapped[Customer] = relationship()
    lines: Mapped[list[CreditNoteLine]] = relationship(
        back_populates="credit_note", order_by="CreditNoteLine.position", cascade="all, delete-orphan"
    )

    # A credit note is issued at once: its snapshot is always there; these serve rows being built.
    def _live_seller(self) -> Seller:
        return self.invoice.merchant.legal_identity

    def _live_buyer(self) -> Buyer:
        return self.customer.legal_identity

    def _live_language(self) -> str:
        return self.customer.language


class CreditNoteLine(LineColumns, Base):
    """One line of a credit note."""

    __tablename__ = "credit_note_lines"
    __table_args__ = (
        CheckConstraint("unit_amount >= 0 AND net_amount >= 0", name="amounts_non_negative"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint(TAX_CATEGORY_CHECK, name="tax_category_known"),
        CheckConstraint(DISCOUNT_FIXED_CHECK, name="discount_fixed_non_negative"),
    )

    credit_note_id: Mapped[int] = mapped_column(ForeignKey("credit_notes.id", ondelete="CASCADE"), index=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"))

    credit_note: Mapped[CreditNote] = relationship(back_populates="lines")

"""Invoices, their lines and the payments recorded against them."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.domain.invoices import InvoiceStatus
from portal.domain.late_fees import LateFeePolicy
from portal.domain.parties import Buyer, Seller
from portal.models.base import Base, ExactDecimal, UTCDateTime, utcnow
from portal.models.customer import Customer
from portal.models.identity import IssuedDocumentColumns
from portal.models.lines import DISCOUNT_FIXED_CHECK, TAX_CATEGORY_CHECK, LineColumns
from portal.models.merchant import Merchant

if TYPE_CHECKING:
    from portal.models.credit_note import CreditNote
    from portal.models.ledger import PaymentReversal, Receipt
    from portal.models.reminder import Dispute

STATUSES = tuple(s.value for s in InvoiceStatus)


class Invoice(IssuedDocumentColumns, Base):
    """An invoice: a draft until finalized, then open, paid or void."""

    __tablename__ = "invoices"
    __table_args__ = (
        UniqueConstraint("merchant_id", "number"),
        # The statement importer finds the invoice a transfer pays by its reference.
        UniqueConstraint("merchant_id", "payment_reference"),
        CheckConstraint(f"status IN {STATUSES!r}", name="status_known"),
        CheckConstraint("subtotal >= 0 AND discount_amount >= 0 AND net_amount >= 0", name="net_non_negative"),
        CheckConstraint("tax_amount >= 0 AND total >= 0", name="total_non_negative"),
        CheckConstraint(DISCOUNT_FIXED_CHECK, name="discount_fixed_non_negative"),
        CheckConstraint("due_date >= issue_date", name="due_after_issue"),
        CheckConstraint("status = 'draft' OR number IS NOT NULL", name="finalized_has_number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    #: Assigned at finalize from the merchant's gapless sequence, e.g. 2026-0007.
    number: Mapped[str | None] = mapped_column(String(32))
    #: The structured reference a transfer names, compact: an OGM/VCS's twelve digits for a Belgian
    #: seller, else an ISO 11649 RF reference; made from the number at finalize, never changed (NULL on drafts).
    payment_reference: Mapped[str | None] = mapped_column(String(35))
    status: Mapped[str] = mapped_column(String(8), default=InvoiceStatus.DRAFT.value, index=True)
    currency: Mapped[str] = mapped_column(String(3))
    issue_date: Mapped[date] = mapped_column(Date)
    #: The day the goods or services were supplied (art. 226 (7)); NULL means the issue date.
    supply_date: Mapped[date | None] = mapped_column(Date)
    due_date: Mapped[date] = mapped_column(Date)
    #: Invoice-level discount in percent, applied to the sum of line nets.
    discount_percent: Mapped[Decimal] = mapped_column(ExactDecimal(7, 4), default=Decimal("0"))
    #: Invoice-level fixed discount in minor units, after the percentage, spread over the tax rates.
    discount_fixed: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    notes: Mapped[str | None] = mapped_column(Text)
    #: The customer's purchase-order reference, copied at finalize (a draft shows the customer's current one).
    purchase_order: Mapped[str | None] = mapped_column(String(100))
    #: On a draft, overrides the merchant's default terms when set; from finalize, the terms issued.
    terms: Mapped[str | None] = mapped_column(Text)
    #: The invoice mail as issued, {subject, body} with placeholders, in the document's language;
    #: NULL on drafts (and on invoices finalized before it was kept: the built-in wording applies).
    mail_template: Mapped[dict | None] = mapped_column(JSON)
    #: Totals in minor units, recomputed by the domain whenever lines change.
    subtotal: Mapped[int] = mapped_column(BigInteger, default=0)
    #: Everything the invoice-level discounts took off (percentage and fixed).
    discount_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    net_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    tax_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    total: Mapped[int] = mapped_column(BigInteger, default=0)
    #: The merchant's late-fee policy, copied at finalize (None on drafts).
    late_annual_rate: Mapped[Decimal | None] = mapped_column(ExactDecimal(7, 4))
    late_fee_percent: Mapped[Decimal | None] = mapped_column(ExactDecimal(7, 4))
    late_fee_minimum: Mapped[int | None] = mapped_column(BigInteger)
    late_grace_days: Mapped[int | None] = mapped_column(Integer)
    #: Book XIX applies (the merchant's Belgian B2C preset and a consumer customer at finalize).
    late_consumer: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    #: Staff stopped the reminders of this invoice (the legally required first one still goes).
    reminders_paused: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    #: The merchant's day the first reminder after the due date went out (Book XIX's waiting period runs from it).
    first_reminder_on: Mapped[date | None] = mapped_column(Date)
    #: When the invoice mail was first sent to the customer ("Send" becomes "Resend").
    first_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: When the customer first opened it in the portal.
    first_viewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finalized_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The day the outstanding amount reached zero.
    paid_on: Mapped[date | None] = mapped_column(Date)
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    merchant: Mapped[Merchant] = relationship()
    customer: Mapped[Customer] = relationship()
    lines: Mapped[list[InvoiceLine]] = relationship(
        back_populates="invoice", order_by="InvoiceLine.position", cascade="all, delete-orphan"
    )
    payments: Mapped[list[Payment]] = relationship(back_populates="invoice", order_by="(Payment.paid_on, Payment.id)")
    credit_notes: Mapped[list[CreditNote]] = relationship(
        back_populates="invoice", order_by="(CreditNote.issue_date, CreditNote.id)"
    )
    # Loaded with the invoice: its amount due is never computed without them.
    disputes: Mapped[list[Dispute]] = relationship(
        back_populates="invoice", lazy="selectin", order_by="(Dispute.opened_at, Dispute.id)"
    )

    def _live_seller(self) -> Seller:
        return self.merchant.legal_identity

    def _live_buyer(self) -> Buyer:
        return self.customer.legal_identity

    def _live_language(self) -> str:
        return self.customer.language

    @property
    def document_terms(self) -> str | None:
        """Return the terms the invoice shows: as issued, or on a draft its own else the merchant's."""
        return self.terms if self.is_issued else (self.terms or self.merchant.terms)

    @property
    def document_purchase_order(self) -> str | None:
        """Return the purchase-order reference the invoice prints: as issued, or the customer's on a draft."""
        return self.purchase_order if self.is_issued else self.customer.purchase_order

    @property
    def document_supply_date(self) -> date:
        """Return the supply date, which is the issue date unless another was given."""
        return self.supply_date or self.issue_date

    @property
    def state(self) -> InvoiceStatus:
        """Return the status as the domain's enum."""
        return InvoiceStatus(self.status)

    @property
    def late_fee_policy(self) -> LateFeePolicy | None:
        """Return the policy copied at finalize, or None on a draft."""
        if self.late_annual_rate is None:
            return None
        return LateFeePolicy(
            annual_rate=self.late_annual_rate,
            fee_percent=self.late_fee_percent,
            fee_minimum=self.late_fee_minimum,
            grace_days=self.late_grace_days,
            consumer=self.late_consumer,
        )

    @property
    def open_dispute(self) -> Dispute | None:
        """Return the dispute still waiting for staff, if any."""
        return next((dispute for dispute in self.disputes if dispute.is_open), None)

    @property
    def credited(self) -> int:
        """Return the sum of the credit notes issued against this invoice."""
        return sum(note.total for note in self.credit_notes)

    @property
    def paid(self) -> int:
        """Return the principal paid so far, less what was refunded, charged back or moved to the balance.

        Late fees and interest are excluded.
        """
        return sum(payment.kept_principal for payment in self.payments)


class InvoiceLine(LineColumns, Base):
    """One line of an invoice."""

    __tablename__ = "invoice_lines"
    __table_args__ = (
        CheckConstraint("unit_amount >= 0 AND net_amount >= 0", name="amounts_non_negative"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint(TAX_CATEGORY_CHECK, name="tax_category_known"),
        CheckConstraint(DISCOUNT_FIXED_CHECK, name="discount_fixed_non_negative"),
    )

    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"), index=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"))

    invoice: Mapped[Invoice] = relationship(back_populates="lines")


class Payment(Base):
    """Money received against an invoice, recorded by staff or confirmed by a provider."""

    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("fee_amount >= 0 AND interest_amount >= 0", name="late_parts_non_negative"),
        # One receipt is booked on at most one invoice.
        UniqueConstraint("receipt_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), index=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    #: Principal in minor units: lowers the invoice's outstanding amount.
    amount: Mapped[int] = mapped_column(BigInteger)
    #: Late fee and interest collected with it: late-fee income, not principal.
    fee_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    interest_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str] = mapped_column(String(3))
    paid_on: Mapped[date] = mapped_column(Date)
    #: bank_transfer, cash, card, cheque, direct_debit, mollie, stripe, other, or credit_balance
    #: (applied from the customer's credit balance).
    method: Mapped[str] = mapped_column(String(32))
    reference: Mapped[str | None] = mapped_column(String(200))
    #: The "view calculation" steps the customer was charged, for online payments.
    breakdown: Mapped[list | None] = mapped_column(JSON)
    #: Staff member who recorded it by hand, if any.
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    #: The money received that this books (NULL for a payment made from the credit balance).
    receipt_id: Mapped[int | None] = mapped_column(ForeignKey("receipts.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    invoice: Mapped[Invoice] = relationship(back_populates="payments")
    receipt: Mapped[Receipt | None] = relationship(back_populates="payment")
    # Loaded with the payment: the invoice's paid amount is never read without them.
    reversals: Mapped[list[PaymentReversal]] = relationship(
        back_populates="payment", lazy="selectin", order_by="PaymentReversal.id"
    )

    @property
    def gross(self) -> int:
        """Return everything collected with it: principal, late fee and interest."""
        return self.amount + self.fee_amount + self.interest_amount

    @property
    def kept_principal(self) -> int:
        """Return the principal still booked on the invoice after reversals."""
        return self.amount - sum(reversal.principal_amount for reversal in self.reversals)

    @property
    def kept_late(self) -> int:
        """Return the late fee and interest still kept after reversals."""
        return self.fee_amount + self.interest_amount - sum(reversal.late_amount for reversal in self.reversals)

    @property
    def refunded(self) -> int:
        """Return how much of it was refunded or charged back."""
        return sum(r.principal_amount + r.late_amount for r in self.reversals if r.leaving)

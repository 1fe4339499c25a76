"""Money received, money sent back, and the customers' credit balance (a ledger of entries).

Every amount received is one Receipt. It is booked on an invoice (a Payment) up to what the
invoice needs, and the rest becomes a CreditEntry on the customer's balance. Money that leaves
again (a refund, a chargeback) or moves from an invoice to the balance is a PaymentReversal.
For every customer and currency: received = booked on invoices + credit balance + refunded.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, UTCDateTime, utcnow
from portal.models.customer import Customer
from portal.models.invoice import Invoice, Payment

#: How money arrives: the methods staff record, and the online providers.
RECEIPT_METHODS = ("bank_transfer", "cash", "card", "cheque", "direct_debit", "mollie", "stripe", "other")
#: Why the credit balance changed.
CREDIT_REASONS = (
    # Money in: more than the invoice needed, an invoice paid, void or credited meanwhile, no invoice named.
    "overpayment",
    "invoice_settled",
    "invoice_void",
    "unallocated",
    # A credit note took back money already paid on its invoice (staff chose "credit to balance").
    "credit_note",
    # Money out of the balance: applied to an invoice, refunded, charged back.
    "applied",
    "refunded",
    "charged_back",
)
#: What happened to money booked on a payment: sent back, taken back by the payer's bank, or moved to the balance.
REVERSAL_KINDS = ("refunded", "charged_back", "credited")
#: Reversals where the money left the merchant.
LEAVING_KINDS = ("refunded", "charged_back")


class Receipt(Base):
    """An amount of money that arrived for a customer, once, whatever its source."""

    __tablename__ = "receipts"
    __table_args__ = (
        # A source (a provider payment, a bank statement entry) is booked once, however often it is reported.
        UniqueConstraint("merchant_id", "source_type", "source_id"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(f"method IN {RECEIPT_METHODS!r}", name="method_known"),
    )

    #: Surrogate key.
    id: Mapped[int] = mapped_column(primary_key=True)
    #: The merchant that received the money.
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), index=True)
    #: Whose money it is.
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    #: The invoice the payer meant to pay, if any (it may have been settled or void meanwhile).
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id"), index=True)
    #: What arrived, in minor units.
    amount: Mapped[int] = mapped_column(BigInteger)
    #: ISO 4217 code.
    currency: Mapped[str] = mapped_column(String(3))
    #: bank_transfer, cash, card, cheque, direct_debit, mollie, stripe or other.
    method: Mapped[str] = mapped_column(String(32))
    #: What reported it: payment_attempt, recorded (by staff or the API), bank_statement, …
    source_type: Mapped[str] = mapped_column(String(32))
    #: The source's own id (an attempt id, a statement entry id); NULL when it has none.
    source_id: Mapped[str | None] = mapped_column(String(255))
    #: Shown to staff: the provider's payment id, the bank reference, a cheque number.
    reference: Mapped[str | None] = mapped_column(String(255))
    #: The day the money arrived (merchant's time zone).
    received_on: Mapped[date] = mapped_column(Date)
    #: Staff member who recorded it, if any.
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    #: When it was booked.
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    customer: Mapped[Customer] = relationship()
    invoice: Mapped[Invoice | None] = relationship()
    payment: Mapped[Payment | None] = relationship(back_populates="receipt", uselist=False)

    @property
    def online(self) -> bool:
        """Return whether it came through a payment provider (refunds go back the same way)."""
        return self.method in ("mollie", "stripe")


class PaymentReversal(Base):
    """Money taken back after it was received: refunded, charged back, or moved from an invoice to the balance.

    Its amount is split: principal_amount and late_amount lower the payment it reverses (and so the
    invoice's paid amount), credit_amount comes out of the customer's credit balance.
    """

    __tablename__ = "payment_reversals"
    __table_args__ = (
        # A provider's refund or dispute id is recorded once, however often it is reported.
        UniqueConstraint("merchant_id", "source_type", "source_id"),
        CheckConstraint(f"kind IN {REVERSAL_KINDS!r}", name="kind_known"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("principal_amount >= 0 AND late_amount >= 0 AND credit_amount >= 0", name="parts_non_negative"),
        CheckConstraint("principal_amount + late_amount + credit_amount = amount", name="parts_add_up"),
    )

    #: Surrogate key.
    id: Mapped[int] = mapped_column(primary_key=True)
    #: The merchant.
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), index=True)
    #: Whose money it was.
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    #: refunded, charged_back or credited (moved to the credit balance).
    kind: Mapped[str] = mapped_column(String(16))
    #: The money it returns, when it came from one receipt.
    receipt_id: Mapped[int | None] = mapped_column(ForeignKey("receipts.id"), index=True)
    #: The payment on an invoice it lowers, if any.
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"), index=True)
    #: The whole amount, in minor units.
    amount: Mapped[int] = mapped_column(BigInteger)
    #: Part taken off the payment's principal: the invoice's outstanding amount rises by it.
    principal_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    #: Part taken off the late fee and interest collected with the payment.
    late_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    #: Part taken out of the customer's credit balance.
    credit_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    #: ISO 4217 code.
    currency: Mapped[str] = mapped_column(String(3))
    #: How the money went back: mollie, stripe, bank_transfer, … (credited: credit_balance).
    method: Mapped[str] = mapped_column(String(32))
    #: What reported it: provider_refund, provider_chargeback, staff, credit_note, …
    source_type: Mapped[str] = mapped_column(String(32))
    #: The provider's refund or dispute id, or another unique mark; NULL when there is none.
    source_id: Mapped[str | None] = mapped_column(String(255))
    #: The credit note that moved the money to the balance (kind credited).
    credit_note_id: Mapped[int | None] = mapped_column(ForeignKey("credit_notes.id"))
    #: The day it happened (merchant's time zone).
    reversed_on: Mapped[date] = mapped_column(Date)
    #: Why, as staff or the provider gave it.
    note: Mapped[str | None] = mapped_column(String(500))
    #: Staff member who asked for it, if any.
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    #: When it was recorded.
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    receipt: Mapped[Receipt | None] = relationship()
    payment: Mapped[Payment | None] = relationship(back_populates="reversals")

    @property
    def leaving(self) -> bool:
        """Return whether the money left the merchant (a refund or chargeback, not a move to the balance)."""
        return self.kind in LEAVING_KINDS


class CreditEntry(Base):
    """One change of a customer's credit balance; the balance is the sum of the entries, per currency."""

    __tablename__ = "credit_entries"
    __table_args__ = (
        CheckConstraint("amount <> 0", name="amount_not_zero"),
        CheckConstraint(f"reason IN {CREDIT_REASONS!r}", name="reason_known"),
        Index("ix_credit_entries_customer_currency", "customer_id", "currency"),
    )

    #: Surrogate key.
    id: Mapped[int] = mapped_column(primary_key=True)
    #: The merchant holding the credit.
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), index=True)
    #: Whose balance it is.
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    #: Signed minor units: positive adds to the balance, negative takes from it.
    amount: Mapped[int] = mapped_column(BigInteger)
    #: ISO 4217 code; each currency is a balance of its own.
    currency: Mapped[str] = mapped_column(String(3))
    #: One of CREDIT_REASONS.
    reason: Mapped[str] = mapped_column(String(32))
    #: The money it came from (money in), if any.
    receipt_id: Mapped[int | None] = mapped_column(ForeignKey("receipts.id"), index=True)
    #: The invoice it is about: the one overpaid, or the one the credit was applied to.
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id"))
    #: The payment made from the balance (reason applied).
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"))
    #: The credit note whose remainder it is (reason credit_note).
    credit_note_id: Mapped[int | None] = mapped_column(ForeignKey("credit_notes.id"))
    #: The refund or chargeback that took it (reasons refunded, charged_back, credit_note).
    reversal_id: Mapped[int | None] = mapped_column(ForeignKey("payment_reversals.id"))
    #: Staff member who caused it, if any.
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    #: When it was booked.
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    receipt: Mapped[Receipt | None] = relationship()
    invoice: Mapped[Invoice | None] = relationship()
    reversal: Mapped[PaymentReversal | None] = relationship()

"""Charges recorded against customers, recurring lines, the monthly billing cycle, and how each invoice may be paid."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from portal.domain.invoices import InvoiceStatus, Line
from portal.domain.vat import TaxCategory
from portal.models.base import Base, ExactDecimal, UTCDateTime, utcnow
from portal.models.customer import Customer
from portal.models.invoice import Invoice
from portal.models.lines import TAX_CATEGORY_CHECK


class BillableColumns:
    """What becomes an invoice line: description, quantity, price, currency and tax."""

    #: The invoice line's description.
    description: Mapped[str] = mapped_column(String(500))
    #: Up to three decimals.
    quantity: Mapped[Decimal] = mapped_column(ExactDecimal(15, 3))
    #: Unit price in minor units of `currency`.
    unit_amount: Mapped[int] = mapped_column(BigInteger)
    #: ISO 4217 code; only lines in the invoice's currency go on it.
    currency: Mapped[str] = mapped_column(String(3))
    #: Tax in percent.
    tax_rate: Mapped[Decimal] = mapped_column(ExactDecimal(7, 4))
    #: EN 16931 VAT category of the line it becomes: S, Z, E, AE, K, G or O.
    tax_category: Mapped[str] = mapped_column(String(2), default="S", server_default="S")

    def to_line(self) -> Line:
        """Return it as an invoice line."""
        return Line(
            description=self.description,
            quantity=self.quantity,
            unit_amount=self.unit_amount,
            tax_rate=self.tax_rate,
            tax_category=TaxCategory(self.tax_category),
        )


class Charge(BillableColumns, Base):
    """A billable item recorded against a customer, waiting to be invoiced."""

    __tablename__ = "charges"
    __table_args__ = (
        CheckConstraint("unit_amount >= 0", name="unit_amount_non_negative"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint(TAX_CATEGORY_CHECK, name="tax_category_known"),
    )

    #: Row id.
    id: Mapped[int] = mapped_column(primary_key=True)
    #: Owner of the row.
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), index=True)
    #: Who is billed.
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    #: The day the work or goods were delivered.
    charged_on: Mapped[date] = mapped_column(Date)
    #: The invoice it was drafted onto; NULL while open. Deleting that draft sets it back to NULL,
    #: so the status (open, drafted, billed) is derived and can never disagree with the invoice.
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id", ondelete="SET NULL"), index=True)
    #: When staff recorded it.
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    customer: Mapped[Customer] = relationship()
    # The backref lets the ORM clear invoice_id when a draft is deleted, whoever deletes it.
    invoice: Mapped[Invoice | None] = relationship(backref=backref("charges", passive_deletes=False))

    @property
    def status(self) -> str:
        """Return open (not on an invoice), drafted (on a draft) or billed (on a finalized invoice)."""
        if self.invoice is None:
            return "open"
        return "drafted" if self.invoice.state is InvoiceStatus.DRAFT else "billed"


class RecurringLine(BillableColumns, Base):
    """A line put on every monthly invoice of a customer."""

    __tablename__ = "recurring_lines"
    __table_args__ = (
        CheckConstraint("unit_amount >= 0", name="unit_amount_non_negative"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint(TAX_CATEGORY_CHECK, name="tax_category_known"),
    )

    #: Row id.
    id: Mapped[int] = mapped_column(primary_key=True)
    #: Owner of the row.
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), index=True)
    #: Who is billed every month.
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    #: When staff added it.
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BillingCycle(Base):
    """A customer's monthly billing settings."""

    __tablename__ = "billing_cycles"
    __table_args__ = (
        CheckConstraint("day_of_month BETWEEN 1 AND 28", name="day_of_month_valid"),
        CheckConstraint("payment_days BETWEEN 0 AND 365", name="payment_days_valid"),
    )

    #: The customer these settings belong to (one cycle per customer).
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True)
    #: Owner of the row.
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), index=True)
    #: Whether `flask portal bill-monthly` bills this customer.
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: The day of the month the invoice is drafted (1–28, so every month has it).
    day_of_month: Mapped[int] = mapped_column(Integer, default=1)
    #: Days between the issue date and the due date.
    payment_days: Mapped[int] = mapped_column(Integer, default=30)
    #: Finalize and mail the invoice at once instead of leaving a draft for review.
    auto_send: Mapped[bool] = mapped_column(Boolean, default=False)

    customer: Mapped[Customer] = relationship(backref=backref("billing_cycle", uselist=False))


class BillingRun(Base):
    """The record that a customer was billed for a month; its uniqueness makes the run idempotent."""

    __tablename__ = "billing_runs"
    __table_args__ = (UniqueConstraint("customer_id", "period"),)

    #: Row id.
    id: Mapped[int] = mapped_column(primary_key=True)
    #: Owner of the row.
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), index=True)
    #: Who was billed.
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    #: The month billed, as YYYY-MM.
    period: Mapped[str] = mapped_column(String(7))
    #: The invoice drafted; NULL when there was nothing to bill or the draft was deleted since.
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id", ondelete="SET NULL"))
    #: When the run billed it.
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    invoice: Mapped[Invoice | None] = relationship(backref=backref("billing_runs", passive_deletes=False))


class InvoicePaymentChoice(Base):
    """Which ways to pay one invoice offers; without a row, bank transfer and every enabled provider."""

    __tablename__ = "invoice_payment_choices"

    #: The invoice the choice applies to.
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"), primary_key=True)
    #: Owner of the row.
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), index=True)
    #: Provider names ("mollie", "stripe") offered online; an empty list means none.
    providers: Mapped[list] = mapped_column(JSON, default=list)
    #: Whether the customer is shown how to pay by bank transfer (amount due, IBAN, reference, QR code).
    bank_transfer: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    #: The payment methods offered online (portal.payments.methods names); None: every one the providers offer.
    methods: Mapped[list | None] = mapped_column(JSON)
    #: When staff last changed it.
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

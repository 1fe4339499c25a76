"""Cards and direct-debit mandates customers saved at a provider, and the provider's customer behind them."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, UTCDateTime, utcnow
from portal.models.customer import Customer

#: What kind of method was saved: a card, or a SEPA direct-debit mandate (Mollie's "directdebit", Stripe's "sepa_debit").
SAVED_KINDS = ("card", "sepa_debit", "paypal", "other")


class ProviderCustomer(Base):
    """Our customer as known at the merchant's account of one provider (Stripe cus_…, Mollie cst_…)."""

    __tablename__ = "provider_customers"
    __table_args__ = (
        UniqueConstraint("customer_id", "provider"),
        CheckConstraint("provider IN ('mollie', 'stripe')", name="provider_known"),
    )

    #: Surrogate key.
    id: Mapped[int] = mapped_column(primary_key=True)
    #: The customer's merchant (whose provider account it lives in).
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), index=True)
    #: Our customer.
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    #: "mollie" or "stripe".
    provider: Mapped[str] = mapped_column(String(16))
    #: The provider's id of the customer.
    provider_customer_id: Mapped[str] = mapped_column(String(255))
    #: When it was created at the provider.
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SavedPaymentMethod(Base):
    """A card or mandate the customer chose to save at checkout; staff and autopay may charge it off-session."""

    __tablename__ = "saved_payment_methods"
    __table_args__ = (
        UniqueConstraint("provider", "provider_method_id"),
        CheckConstraint("provider IN ('mollie', 'stripe')", name="provider_known"),
        CheckConstraint(f"kind IN {SAVED_KINDS!r}", name="kind_known"),
        # At most one method per customer charges its invoices automatically.
        Index(
            "uq_saved_payment_methods_autopay",
            "customer_id",
            unique=True,
            sqlite_where=text("autopay AND removed_at IS NULL"),
            postgresql_where=text("autopay AND removed_at IS NULL"),
        ),
    )

    #: Surrogate key.
    id: Mapped[int] = mapped_column(primary_key=True)
    #: The customer's merchant.
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), index=True)
    #: Whose card or mandate it is.
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    #: The provider account it lives in: the merchant's account of this provider ("mollie" or "stripe").
    provider: Mapped[str] = mapped_column(String(16))
    #: The provider's customer it belongs to (cus_…, cst_…).
    provider_customer_id: Mapped[str] = mapped_column(String(255))
    #: Stripe's PaymentMethod id (pm_…) or Mollie's mandate id (mdt_…).
    provider_method_id: Mapped[str] = mapped_column(String(255))
    #: card, sepa_debit, paypal or other.
    kind: Mapped[str] = mapped_column(String(16))
    #: The card brand (visa, mastercard…) or the bank's name, when the provider says.
    brand: Mapped[str | None] = mapped_column(String(64))
    #: The last four digits of the card or of the IBAN.
    last4: Mapped[str | None] = mapped_column(String(4))
    #: The card's expiry month (1–12), None for a mandate.
    expiry_month: Mapped[int | None] = mapped_column(Integer)
    #: The card's expiry year, None for a mandate.
    expiry_year: Mapped[int | None] = mapped_column(Integer)
    #: Whether the customer's finalized invoices are charged to it on their due date.
    autopay: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    #: Autopay charges invoices due on or after this day (the day it was turned on, merchant's time zone).
    autopay_since: Mapped[date | None] = mapped_column(Date)
    #: The payment attempt whose checkout saved it.
    #: (No foreign key: attempts name their saved method, and a cycle of keys would complicate both.)
    attempt_id: Mapped[int | None] = mapped_column(Integer)
    #: When it was saved.
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: When the customer removed it (detached at Stripe, mandate revoked at Mollie); never charged after.
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    customer: Mapped[Customer] = relationship()

    @property
    def is_active(self) -> bool:
        """Return whether it may still be charged."""
        return self.removed_at is None

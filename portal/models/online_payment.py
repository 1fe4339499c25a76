"""Online payment attempts, provider settings, webhook events and the pay lock."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, UTCDateTime, utcnow
from portal.models.customer import Customer
from portal.models.invoice import Invoice, Payment
from portal.models.saved_method import SavedPaymentMethod

PROVIDERS = ("mollie", "stripe")
#: Still able to become paid: the provider may yet take the money.
LIVE_STATUSES = ("creating", "open", "pending")
#: Nothing changes after these.
FINAL_STATUSES = ("paid", "failed", "canceled", "expired", "refused", "superseded")
#: Final statuses that count towards the customer's pay lock.
FAILED_STATUSES = ("failed", "canceled", "expired", "refused")
ATTEMPT_STATUSES = LIVE_STATUSES + FINAL_STATUSES
#: Who started an attempt: the customer's own press of Pay, or a charge of a saved method by staff,
#: an API key or autopay. Only the customer's own presses count towards the pay lock.
INITIATORS = ("customer", "staff", "api", "autopay")


class ProviderAccount(Base):
    """A merchant's credentials for one payment provider, stored encrypted."""

    __tablename__ = "payment_provider_accounts"
    __table_args__ = (
        UniqueConstraint("merchant_id", "provider"),
        CheckConstraint(f"provider IN {PROVIDERS!r}", name="provider_known"),
    )

    #: Surrogate key.
    id: Mapped[int] = mapped_column(primary_key=True)
    #: The merchant these credentials belong to.
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), index=True)
    #: "mollie" or "stripe".
    provider: Mapped[str] = mapped_column(String(16))
    #: Whether customers are offered this provider.
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    #: The API key (Mollie) or secret key (Stripe), Fernet-encrypted.
    api_key_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    #: Stripe's webhook signing secret, Fernet-encrypted; None for Mollie.
    webhook_secret_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    #: First characters of the key, so staff can tell which key is stored without seeing it.
    key_hint: Mapped[str] = mapped_column(String(16))
    #: The payment methods (portal.payments.methods names) activated in this account; None: not said,
    #: the provider's checkout shows whatever the account has on.
    methods: Mapped[list | None] = mapped_column(JSON)
    #: When the account was first stored.
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: When the credentials or the enabled flag last changed.
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class PaymentAttempt(Base):
    """One press of the pay button: a payment created (or being created) at a provider.

    The row is committed before the provider is called; its id is the idempotency key,
    so a retried or reconciled creation can never charge twice.
    """

    __tablename__ = "payment_attempts"
    __table_args__ = (
        UniqueConstraint("provider", "provider_payment_id"),
        UniqueConstraint("payment_id"),
        CheckConstraint(f"provider IN {PROVIDERS!r}", name="provider_known"),
        CheckConstraint(f"status IN {ATTEMPT_STATUSES!r}", name="status_known"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(
            "principal_amount >= 0 AND fee_amount >= 0 AND interest_amount >= 0", name="parts_non_negative"
        ),
        CheckConstraint("principal_amount + fee_amount + interest_amount = amount", name="parts_add_up"),
        # Never two live charges for one invoice, even when two presses race.
        Index(
            "uq_payment_attempts_live_invoice",
            "invoice_id",
            unique=True,
            sqlite_where=text("status IN ('creating', 'open', 'pending')"),
            postgresql_where=text("status IN ('creating', 'open', 'pending')"),
        ),
        CheckConstraint(f"initiated_by IN {INITIATORS!r}", name="initiated_by_known"),
        # Autopay charges an invoice once, whatever number of workers race on it.
        Index(
            "uq_payment_attempts_autopay_invoice",
            "invoice_id",
            unique=True,
            sqlite_where=text("initiated_by = 'autopay'"),
            postgresql_where=text("initiated_by = 'autopay'"),
        ),
    )

    #: Surrogate key; also the idempotency key sent to the provider.
    id: Mapped[int] = mapped_column(primary_key=True)
    #: The merchant that is paid.
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), index=True)
    #: The invoice being paid.
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    #: The customer who pressed the button.
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    #: "mollie" or "stripe".
    provider: Mapped[str] = mapped_column(String(16))
    #: creating, open, pending, paid, failed, canceled, expired, refused or superseded.
    status: Mapped[str] = mapped_column(String(16), default="creating", index=True)
    #: What the customer is charged, in minor units: the amount due when the button was pressed.
    amount: Mapped[int] = mapped_column(BigInteger)
    #: ISO 4217 code of the invoice.
    currency: Mapped[str] = mapped_column(String(3))
    #: Part of amount that lowers the invoice's outstanding amount.
    principal_amount: Mapped[int] = mapped_column(BigInteger)
    #: Late fee part of amount.
    fee_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    #: Interest part of amount.
    interest_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    #: The day the breakdown was computed for (merchant's time zone).
    as_of: Mapped[date] = mapped_column(Date)
    #: The "view calculation" steps the customer was shown and charged.
    breakdown: Mapped[list] = mapped_column(JSON)
    #: Language the provider's checkout is shown in.
    locale: Mapped[str] = mapped_column(String(8))
    #: The payment methods the checkout was created with (None: the provider's choice), kept so a
    #: retry sends the very same request.
    methods: Mapped[list | None] = mapped_column(JSON)
    #: The provider's id (Mollie tr_…, Stripe cs_…), once it answered.
    provider_payment_id: Mapped[str | None] = mapped_column(String(255))
    #: Where the customer pays; reused by a second press.
    checkout_url: Mapped[str | None] = mapped_column(String(2048))
    #: The payment row created when the attempt was paid; unique, so a race cannot record two.
    #: NULL for a paid attempt whose money all went to the credit balance (invoice settled or void meanwhile).
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"))
    #: Stripe's PaymentIntent behind the session (what refunds and disputes name); NULL for Mollie.
    provider_intent_id: Mapped[str | None] = mapped_column(String(255), index=True)
    #: customer (their press of Pay), staff, api or autopay (a charge of a saved method).
    initiated_by: Mapped[str] = mapped_column(String(16), default="customer", server_default="customer")
    #: The customer asked to save the card or mandate used at this checkout for later charges.
    save_method: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    #: The saved card or mandate charged off-session (None: a checkout the customer pays at the provider).
    saved_method_id: Mapped[int | None] = mapped_column(ForeignKey("saved_payment_methods.id"), index=True)
    #: When the button was pressed.
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Last change of any column.
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    #: When the attempt reached a final status.
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    invoice: Mapped[Invoice] = relationship()
    saved_method: Mapped[SavedPaymentMethod | None] = relationship()
    customer: Mapped[Customer] = relationship()
    payment: Mapped[Payment | None] = relationship()
    #: For a checkout of several invoices, what each of them gets, in due-date order (empty for one invoice).
    allocations: Mapped[list[PaymentAllocation]] = relationship(
        back_populates="attempt", order_by="PaymentAllocation.position", cascade="all, delete-orphan"
    )

    @property
    def covers_several(self) -> bool:
        """Return whether this one checkout pays several invoices."""
        return bool(self.allocations)

    @property
    def idempotency_key(self) -> str:
        """Return the key that makes creating this attempt at the provider repeatable."""
        return f"portal-attempt-{self.id}"

    @property
    def is_live(self) -> bool:
        """Return whether the provider may still take money for this attempt."""
        return self.status in LIVE_STATUSES

    @property
    def is_final(self) -> bool:
        """Return whether the attempt's status can no longer change."""
        return self.status in FINAL_STATUSES


class PaymentAllocation(Base):
    """The part of a checkout for several invoices meant for one of them, with its own breakdown.

    The attempt's invoice_id names the first of them (its live charge stays unique); the
    allocations name them all, and the webhook books each one through the ledger.
    """

    __tablename__ = "payment_allocations"
    __table_args__ = (
        UniqueConstraint("attempt_id", "invoice_id"),
        UniqueConstraint("attempt_id", "position"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(
            "principal_amount >= 0 AND fee_amount >= 0 AND interest_amount >= 0", name="parts_non_negative"
        ),
        CheckConstraint("principal_amount + fee_amount + interest_amount = amount", name="parts_add_up"),
    )

    #: Surrogate key.
    id: Mapped[int] = mapped_column(primary_key=True)
    #: The merchant that is paid (the attempt's).
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), index=True)
    #: The checkout this part belongs to.
    attempt_id: Mapped[int] = mapped_column(ForeignKey("payment_attempts.id", ondelete="CASCADE"), index=True)
    #: The invoice this part pays.
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    #: Order of booking: the invoice due first comes first.
    position: Mapped[int] = mapped_column(Integer)
    #: The invoice's amount due when the button was pressed, in minor units.
    amount: Mapped[int] = mapped_column(BigInteger)
    #: Part of amount that lowers the invoice's outstanding amount.
    principal_amount: Mapped[int] = mapped_column(BigInteger)
    #: Late fee part of amount.
    fee_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    #: Interest part of amount.
    interest_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    #: The "view calculation" steps of this invoice the customer was charged.
    breakdown: Mapped[list] = mapped_column(JSON)

    attempt: Mapped[PaymentAttempt] = relationship(back_populates="allocations")
    invoice: Mapped[Invoice] = relationship()


class WebhookEvent(Base):
    """A provider event already applied, so a redelivery is applied only once."""

    __tablename__ = "payment_webhook_events"
    __table_args__ = (
        UniqueConstraint("provider", "event_id"),
        CheckConstraint(f"provider IN {PROVIDERS!r}", name="provider_known"),
    )

    #: Surrogate key.
    id: Mapped[int] = mapped_column(primary_key=True)
    #: The merchant whose attempt the event was about.
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), index=True)
    #: "mollie" or "stripe".
    provider: Mapped[str] = mapped_column(String(16))
    #: The provider's event id (Stripe evt_…).
    event_id: Mapped[str] = mapped_column(String(255))
    #: The event type, e.g. checkout.session.completed.
    event_type: Mapped[str] = mapped_column(String(100))
    #: The attempt the event was about.
    attempt_id: Mapped[int | None] = mapped_column(ForeignKey("payment_attempts.id"))
    #: When it was applied.
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PayLock(Base):
    """A customer's consecutive failed payments, and the lock they lead to."""

    __tablename__ = "pay_locks"
    __table_args__ = (
        UniqueConstraint("customer_id"),
        CheckConstraint("consecutive_failures >= 0", name="failures_non_negative"),
    )

    #: Surrogate key.
    id: Mapped[int] = mapped_column(primary_key=True)
    #: The customer's merchant.
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), index=True)
    #: Whose pay button this is.
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    #: Failures since the last success or lock.
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    #: The pay button opens again at this time (None: not locked).
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Last change.
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

"""The integrators' API's own records: idempotency keys, events, webhook endpoints and their deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.bank import BankTransaction
from portal.models.base import Base, UTCDateTime, utcnow
from portal.models.customer import Customer
from portal.models.invoice import Invoice


class IdempotencyKey(Base):
    """A write request's Idempotency-Key and, once it finished, its response (replayed for 24 hours).

    The row is inserted and committed before the operation runs, so a concurrent request with the
    same key finds it; the response is stored in the same transaction as the operation's effect.
    """

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        UniqueConstraint("api_key_id", "key"),
        # The purge walks the expired rows.
        Index("ix_idempotency_keys_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), index=True)
    #: Keys are scoped per API key, as Stripe's are.
    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"))
    #: The client's Idempotency-Key header.
    key: Mapped[str] = mapped_column(String(255))
    #: SHA-256 of the method, the path and the body: the same key with another request is refused.
    fingerprint: Mapped[str] = mapped_column(String(64))
    #: The request it was first used for, e.g. POST /api/v1/invoices (shown when it is reused).
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(500))
    #: The stored answer's status; None while the first request is still running.
    response_status: Mapped[int | None] = mapped_column(Integer)
    #: The stored answer's JSON body ("" for 204).
    response_body: Mapped[str | None] = mapped_column(Text)
    #: When the running request took the key; a lock left behind by a request that died is taken over later.
    locked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Kept 24 hours from here.
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Event(Base):
    """Something that happened to a merchant's object, written in the transaction of the change (the outbox).

    Listed at GET /api/v1/events for 30 days and delivered to the merchant's webhook endpoints.
    """

    __tablename__ = "events"
    __table_args__ = (
        # GET /events pages by id within a merchant, optionally of one type.
        Index("ix_events_merchant_id_id", "merchant_id", "id"),
        Index("ix_events_merchant_id_type_id", "merchant_id", "type", "id"),
        # "Was this invoice already announced overdue / viewed lately?"
        Index("ix_events_object", "object_type", "object_id", "type"),
        Index("ix_events_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"))
    #: e.g. invoice.paid, payment.succeeded (portal.api.events.EVENT_TYPES).
    type: Mapped[str] = mapped_column(String(64))
    #: The kind of object in data, e.g. invoice, payment, comment.
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[int | None] = mapped_column(Integer)
    #: The object as the API showed it when the event happened.
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebhookEndpoint(Base):
    """A URL of the merchant's systems that receives its events, signed with a secret of its own."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), index=True)
    #: https only (http and private addresses with PORTAL_WEBHOOKS_ALLOW_PRIVATE); checked when saved and on delivery.
    url: Mapped[str] = mapped_column(String(2048))
    description: Mapped[str | None] = mapped_column(String(500))
    #: The event types it receives; ["*"] for all.
    events: Mapped[list[str]] = mapped_column(JSON)
    #: The signing secret (whsec_…), Fernet-encrypted; shown once, when the endpoint is created.
    secret_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    #: Disabled endpoints receive nothing (events that happen meanwhile are not queued for them).
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


DELIVERY_STATUSES = ("pending", "succeeded", "failed")


class WebhookDelivery(Base):
    """One event on its way to one endpoint: attempted by "webhook.deliver" jobs until it succeeds or 3 days pass."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        CheckConstraint(f"status IN {DELIVERY_STATUSES!r}", name="status_known"),
        CheckConstraint("attempts >= 0", name="attempts_non_negative"),
        # The admin's recent deliveries, newest first.
        Index("ix_webhook_deliveries_merchant_id_id", "merchant_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"))
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    #: pending (waiting for its next attempt), succeeded (a 2xx answer) or failed (given up).
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: When the next attempt is due (None once finished).
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The HTTP status the endpoint answered last (None: no answer, see last_error).
    response_status: Mapped[int | None] = mapped_column(Integer)
    #: The start of its answer's body, for the admin page.
    response_body: Mapped[str | None] = mapped_column(Text)
    #: Why the last attempt failed, when it did.
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    endpoint: Mapped[WebhookEndpoint] = relationship()
    event: Mapped[Event] = relationship()


# The keyset pages of the API's lists walk these (defined here, beside the API's own tables, so the
# models they index stay as they are): a page costs the same at the 5,000th page as at the first.
Index("ix_invoices_merchant_id_issue_date_id", Invoice.merchant_id, Invoice.issue_date, Invoice.id)
Index(
    "ix_invoices_merchant_id_status_issue_date_id", Invoice.merchant_id, Invoice.status, Invoice.issue_date, Invoice.id
)
Index("ix_invoices_merchant_id_updated_at", Invoice.merchant_id, Invoice.updated_at)
Index("ix_customers_merchant_id_id", Customer.merchant_id, Customer.id)
Index(
    "ix_bank_transactions_merchant_id_booking_date_id",
    BankTransaction.merchant_id,
    BankTransaction.booking_date,
    BankTransaction.id,
)

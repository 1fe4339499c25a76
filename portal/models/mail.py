"""Outbox messages and per-merchant email templates."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, UTCDateTime, utcnow

OUTBOX_STATUSES = ("queued", "sent", "failed")


class OutboxMessage(Base):
    """A mail written in the transaction of the event that caused it, delivered by a "mail.deliver" job."""

    __tablename__ = "outbox_messages"
    __table_args__ = (
        CheckConstraint(f"status IN {OUTBOX_STATUSES!r}", name="status_known"),
        CheckConstraint("attempts >= 0", name="attempts_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), index=True)
    #: What caused it: invoice, invoice_test, reminder, fresh_link, comment, reply, payment_confirmation, payment_notice, …
    kind: Mapped[str] = mapped_column(String(32))
    #: The invoice it is about, if any (kept for the admin's history of sends).
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id", ondelete="SET NULL"), index=True)
    #: One recipient per message, so a failure or a retry concerns one person only.
    to_address: Mapped[str] = mapped_column(String(254))
    #: The merchant's support address, so answers reach people rather than the no-reply sender.
    reply_to: Mapped[str | None] = mapped_column(String(254))
    #: Display name of the sender (the merchant's company name); the address is MAIL_FROM's.
    from_name: Mapped[str | None] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(300))
    #: The plain-text part, always present.
    text_body: Mapped[str] = mapped_column(Text)
    #: The HTML part, if any.
    html_body: Mapped[str | None] = mapped_column(Text)
    #: RFC 5322 Message-ID fixed at queue time, so a retried delivery carries the same one.
    message_id: Mapped[str] = mapped_column(String(255))
    #: queued → sent, or failed for good; the delivery job holds the lease, retries and backoff.
    status: Mapped[str] = mapped_column(String(8), default="queued")
    #: Delivery attempts so far (the job's attempts).
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: Why the last attempt failed.
    last_error: Mapped[str | None] = mapped_column(Text)
    #: "smtp", or "console" when no SMTP server is configured and the message was printed.
    delivered_via: Mapped[str | None] = mapped_column(String(8))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    attachments: Mapped[list[OutboxAttachment]] = relationship(
        back_populates="message", order_by="OutboxAttachment.id", cascade="all, delete-orphan"
    )


class OutboxAttachment(Base):
    """A file sent with an outbox message, stored so a queued mail survives restarts unchanged."""

    __tablename__ = "outbox_attachments"
    __table_args__ = (CheckConstraint("size >= 0", name="size_non_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), index=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("outbox_messages.id", ondelete="CASCADE"), index=True)
    #: File name shown to the recipient, already reduced to safe characters.
    filename: Mapped[str] = mapped_column(String(255))
    #: MIME type, e.g. application/pdf.
    content_type: Mapped[str] = mapped_column(String(100))
    #: Set for an inline part of the HTML (the logo), referenced as cid:<content_id>.
    content_id: Mapped[str | None] = mapped_column(String(100))
    #: Length of data in bytes.
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)

    message: Mapped[OutboxMessage] = relationship(back_populates="attachments")


class EmailTemplate(Base):
    """A merchant's own wording of a mail in one language; the built-in text applies when there is none."""

    __tablename__ = "email_templates"
    __table_args__ = (UniqueConstraint("merchant_id", "kind", "language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), index=True)
    #: Which mail: "invoice" (sending an invoice to its customer).
    kind: Mapped[str] = mapped_column(String(32))
    #: en, fr, nl, de: the customer's language picks the template.
    language: Mapped[str] = mapped_column(String(8))
    #: May hold {number}, {amount_due}, {due_date}, {merchant}, {link}.
    subject: Mapped[str] = mapped_column(String(300))
    #: Plain text with the same placeholders; {link} becomes a "View this invoice" button in the HTML part.
    body: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

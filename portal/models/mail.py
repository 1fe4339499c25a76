"""Outbox messages and per-merchant email templates."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
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

from portal.models.base import Base, UTCDateTime, utcnow
from portal.models.job import Job
from portal.models.sms import SmsMessage

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


class InvoiceSend(Base):
    """One send of an invoice: when, by which channel, to whom, by whom; its delivery is its mail's (the outbox's).

    Written in the transaction that asks for the send; the worker links the outbox message it queues,
    so the log tells requested (no mail yet), queued, sent or failed apart.
    """

    __tablename__ = "invoice_sends"
    __table_args__ = (
        CheckConstraint("channel IN ('email', 'sms')", name="channel_known"),
        CheckConstraint("sent_by IN ('api_key', 'staff', 'system')", name="sent_by_known"),
        # GET /invoices/{id}/sends pages by id within an invoice; last_sent_at takes the newest.
        Index("ix_invoice_sends_invoice_id_id", "invoice_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), index=True)
    #: The invoice sent.
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"))
    #: How it went out: "email" (the invoice mail with its PDF and a portal link) or "sms" (a short link).
    channel: Mapped[str] = mapped_column(String(16), default="email")
    #: The recipient: the customer's address (or E.164 mobile number), or a staff member's for a test copy.
    to_address: Mapped[str] = mapped_column(String(254))
    #: A "[TEST]" copy to staff rather than the invoice sent to its customer.
    test: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Who asked: "api_key", "staff", or "system" (the monthly billing run, or a send from before the log).
    sent_by: Mapped[str] = mapped_column(String(16), default="system")
    #: The API key that asked, while it exists.
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id", ondelete="SET NULL"))
    #: The staff member who asked, while they exist.
    staff_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    #: The key's name or the staff member's email at the time, kept when either is deleted.
    sent_by_name: Mapped[str | None] = mapped_column(String(254))
    #: The background job that renders the PDF and queues the mail.
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    #: The mail the job queued: its status is the send's delivery status.
    outbox_message_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_messages.id", ondelete="SET NULL"))
    #: The text message, for an SMS send: its status is the send's delivery status.
    sms_message_id: Mapped[int | None] = mapped_column(ForeignKey("sms_messages.id", ondelete="SET NULL"))
    #: When the send was asked for.
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    message: Mapped[OutboxMessage | None] = relationship()
    job: Mapped[Job | None] = relationship()
    sms_message: Mapped[SmsMessage | None] = relationship()


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

"""Text messages: a merchant's Twilio account, each SMS sent, and the short links they carry."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base, UTCDateTime, utcnow

SMS_STATUSES = ("queued", "sent", "failed")


class SmsAccount(Base):
    """A merchant's Twilio credentials (the auth token Fernet-encrypted) and sender."""

    __tablename__ = "sms_accounts"

    #: One account per merchant.
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), primary_key=True)
    #: Whether invoices and reminders may go by SMS.
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Twilio's Account SID (AC…), not secret.
    account_sid: Mapped[str] = mapped_column(String(64))
    #: Twilio's auth token, Fernet-encrypted.
    auth_token_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    #: First characters of the token, so staff can tell which one is stored.
    token_hint: Mapped[str] = mapped_column(String(16))
    #: The sender: a Twilio phone number in E.164, or a Messaging Service SID (MG…).
    sender: Mapped[str] = mapped_column(String(64))
    #: When staff last changed it.
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class SmsMessage(Base):
    """One text message to a customer: queued with the change that causes it, sent by a job with retries."""

    __tablename__ = "sms_messages"
    __table_args__ = (CheckConstraint(f"status IN {SMS_STATUSES!r}", name="sms_status_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    #: The invoice it is about, when there is one.
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id", ondelete="SET NULL"), index=True)
    #: What it is: "invoice", "reminder", …
    kind: Mapped[str] = mapped_column(String(32))
    #: The recipient in E.164.
    to: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text)
    #: queued → sent, or failed once retrying cannot help.
    status: Mapped[str] = mapped_column(String(16), default="queued")
    #: Twilio's message SID once accepted.
    provider_id: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ShortLink(Base):
    """A short code standing for a portal link, for text messages (`/s/<code>`).

    It opens what the magic link would: the customer's portal, optionally at one invoice, until it
    expires or the customer's links are revoked (the link version it was made for no longer matches).
    """

    __tablename__ = "short_links"

    #: Random, URL-safe; the bearer secret of the link.
    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"))
    #: The customer's link version when it was made.
    link_version: Mapped[int] = mapped_column(Integer)
    #: The contact it was sent to: it opens as them (NULL for links made before: the primary contact).
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    #: That contact's link version when it was made: revoking their links stops it too.
    contact_link_version: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)

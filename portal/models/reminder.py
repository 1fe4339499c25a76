"""Payment reminders (a merchant's schedule and what was sent) and customers' disputes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, UTCDateTime, utcnow
from portal.models.comment import Comment
from portal.models.invoice import Invoice
from portal.models.merchant import StaffUser


class ReminderStep(Base):
    """One step of a merchant's reminder schedule: days relative to the due date, channels and wording."""

    __tablename__ = "reminder_steps"
    __table_args__ = (UniqueConstraint("merchant_id", "offset_days"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), index=True)
    #: Days after the due date (negative: before it), e.g. -3, 1, 14, 30.
    offset_days: Mapped[int] = mapped_column(Integer)
    #: How it goes out: ["email"] (a later "sms" joins here).
    channels: Mapped[list[str]] = mapped_column(JSON, default=lambda: ["email"])
    #: The merchant's own wording per language, {"fr": {"subject": …, "body": …}}; missing languages use the built-in.
    templates: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReminderSent(Base):
    """A reminder step sent for an invoice: the unique keys make each step go once and one step a day."""

    __tablename__ = "reminders_sent"
    __table_args__ = (
        UniqueConstraint("invoice_id", "offset_days"),
        UniqueConstraint("invoice_id", "sent_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), index=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"), index=True)
    #: The step's days relative to the due date, as it was when sent (the step itself may change later).
    offset_days: Mapped[int] = mapped_column(Integer)
    #: The merchant's day it went out.
    sent_on: Mapped[date] = mapped_column(Date)
    #: "email" (or "sms" later).
    channel: Mapped[str] = mapped_column(String(8), default="email")
    to_address: Mapped[str] = mapped_column(String(254))
    #: The mail in the outbox (its delivery state shows in the timeline).
    outbox_message_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_messages.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Dispute(Base):
    """A customer disputing an invoice: reminders stop and no late charges accrue until staff resolve it."""

    __tablename__ = "disputes"
    __table_args__ = (CheckConstraint("resolved_on IS NULL OR resolved_on >= opened_on", name="resolved_after_opened"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), index=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"), index=True)
    #: The customer's comment saying why (in the invoice's thread).
    comment_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id", ondelete="SET NULL"))
    #: The merchant's day the clock stopped (nothing accrues from this day).
    opened_on: Mapped[date] = mapped_column(Date)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: The merchant's day staff resolved it (the clock runs again the day after); NULL while open.
    resolved_on: Mapped[date | None] = mapped_column(Date)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    #: What staff wrote when resolving it, if anything.
    resolution: Mapped[str | None] = mapped_column(Text)

    invoice: Mapped[Invoice] = relationship(back_populates="disputes")
    comment: Mapped[Comment | None] = relationship()
    resolved_by: Mapped[StaffUser | None] = relationship()

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None

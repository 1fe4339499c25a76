"""What customers keep themselves: changes to their billing details, and the contacts of a company."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, UTCDateTime, utcnow
from portal.models.customer import Customer

#: pending waits for staff (when the merchant requires approval); applied and rejected are final.
CHANGE_STATUSES = ("pending", "applied", "rejected")
#: billing receives invoices, reminders and statements and may pay; viewer may only look.
CONTACT_ROLES = ("billing", "viewer")


class BillingDetailChange(Base):
    """A change of billing details asked for in the portal: the change log staff read, and approve when required."""

    __tablename__ = "billing_detail_changes"
    __table_args__ = (CheckConstraint(f"status IN {CHANGE_STATUSES!r}", name="status_known"),)

    #: Row id.
    id: Mapped[int] = mapped_column(primary_key=True)
    #: Owner of the row.
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), index=True)
    #: Whose details change.
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    #: The contact who asked for it, if known.
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    #: {field: {"old": value, "new": value}} for each field that changes (address as its JSON).
    changes: Mapped[dict] = mapped_column(JSON)
    #: pending, applied or rejected.
    status: Mapped[str] = mapped_column(String(8))
    #: When it was asked for.
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: When it was applied or rejected.
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The staff member who approved or rejected it (None when it applied without approval).
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))

    customer: Mapped[Customer] = relationship()


class Contact(Base):
    """A person at a customer (a company): their own magic links, language, role and mail preferences."""

    __tablename__ = "contacts"
    __table_args__ = (CheckConstraint(f"role IN {CONTACT_ROLES!r}", name="role_known"),)

    #: Row id.
    id: Mapped[int] = mapped_column(primary_key=True)
    #: Owner of the row.
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), index=True)
    #: The company the contact belongs to; they see all of its documents.
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    #: The person's name.
    name: Mapped[str] = mapped_column(String(200))
    #: Where their mail and links go.
    email: Mapped[str] = mapped_column(String(254))
    #: Their portal and mail language (en, fr, nl, de).
    language: Mapped[str] = mapped_column(String(8))
    #: billing or viewer.
    role: Mapped[str] = mapped_column(String(8))
    #: The customer's primary contact: links that name only the customer open as this contact.
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Part of each of their links; raising it revokes their links only.
    link_version: Mapped[int] = mapped_column(Integer, default=1)
    #: Mail preferences: invoice mails, payment reminders, payment confirmations, statements.
    notify_invoices: Mapped[bool] = mapped_column(Boolean, default=True)
    notify_reminders: Mapped[bool] = mapped_column(Boolean, default=True)
    notify_payments: Mapped[bool] = mapped_column(Boolean, default=True)
    notify_statements: Mapped[bool] = mapped_column(Boolean, default=True)
    #: When it was added.
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: When it was removed: its links stop working, it receives nothing (kept for the change log).
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    customer: Mapped[Customer] = relationship()

    @property
    def is_billing(self) -> bool:
        return self.role == "billing"

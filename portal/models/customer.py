"""Customers: the people and companies a merchant bills."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.domain.parties import Buyer
from portal.models.base import Base, UTCDateTime, utcnow
from portal.models.identity import IdentityColumns
from portal.models.merchant import Merchant


class Customer(IdentityColumns, Base):
    """Someone billed by one merchant; enters the portal through magic links."""

    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), index=True)
    #: The person's name (the contact person when billing a company).
    name: Mapped[str] = mapped_column(String(200))
    #: Where invoices and portal links are mailed.
    email: Mapped[str] = mapped_column(String(254))
    #: Legal name of the company billed, when the customer is a business; documents are addressed to it.
    company: Mapped[str | None] = mapped_column(String(200))
    #: Portal, mail and PDF language (en, fr, nl, de).
    language: Mapped[str] = mapped_column(String(8), default="en")
    #: Part of every magic link; raising it revokes all links issued before.
    link_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: When staff archived the customer: left out of lists, billed no more; its documents stay as they are.
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    #: A consumer (a person not acting for a business) rather than a business: the Belgian B2C preset applies.
    consumer: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    #: Staff stopped reminders for all of this customer's invoices (the legally required first one still goes).
    reminders_paused: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    #: The purchase-order reference the customer asks to see on invoices finalized from now on.
    purchase_order: Mapped[str | None] = mapped_column(String(100))
    #: Mail the customer a statement of account for each past month (scheduled duty monthly-statements).
    monthly_statement: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")

    merchant: Mapped[Merchant] = relationship()

    @property
    def legal_identity(self) -> Buyer:
        """Return the buyer as a document issued now would print it."""
        return Buyer(
            name=self.name,
            company=self.company,
            address=self.address,
            vat_number=self.vat_number,
            company_number=self.company_number,
            email=self.email,
            phone=self.phone,
        )

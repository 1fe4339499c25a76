"""Customers: the people and companies a merchant bills."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, UTCDateTime, utcnow
from portal.models.merchant import Merchant


class Customer(Base):
    """Someone billed by one merchant; enters the portal through magic links."""

    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    #: Portal, mail and PDF language (en, fr, nl, de).
    language: Mapped[str] = mapped_column(String(8), default="en")
    #: Part of every magic link; raising it revokes all links issued before.
    link_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    merchant: Mapped[Merchant] = relationship()

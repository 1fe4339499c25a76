"""Monthly statements of account: which customer got which month's statement."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base, UTCDateTime, utcnow


class StatementRun(Base):
    """The record that a customer's monthly statement went out; its uniqueness sends each month once."""

    __tablename__ = "statement_runs"
    __table_args__ = (UniqueConstraint("customer_id", "period"),)

    #: Row id.
    id: Mapped[int] = mapped_column(primary_key=True)
    #: Owner of the row.
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), index=True)
    #: Who was sent the statement.
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    #: The month the statement covers, as YYYY-MM.
    period: Mapped[str] = mapped_column(String(7))
    #: When it was queued.
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

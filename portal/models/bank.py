"""Money seen on the merchant's bank account: one row per credit entry of an imported statement."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
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
from portal.models.invoice import Invoice
from portal.models.ledger import Receipt

#: matched: booked on an invoice; suggested: likely invoices found, staff confirm; unmatched: waits
#: for staff; ignored: staff said it is not an invoice payment.
BANK_TRANSACTION_STATUSES = ("matched", "suggested", "unmatched", "ignored")


class BankTransaction(Base):
    """A credit entry of an imported bank statement, stored once per merchant whatever is imported again."""

    __tablename__ = "bank_transactions"
    __table_args__ = (
        # Importing the same statement twice (or two overlapping ones) books nothing twice.
        UniqueConstraint("merchant_id", "entry_key"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(f"status IN {BANK_TRANSACTION_STATUSES!r}", name="status_known"),
        Index("ix_bank_transactions_merchant_status", "merchant_id", "status"),
    )

    #: Surrogate key.
    id: Mapped[int] = mapped_column(primary_key=True)
    #: The merchant whose account received it.
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), index=True)
    #: The message it came from (camt.053.001.08) and the statement's own id.
    message: Mapped[str] = mapped_column(String(32))
    statement_id: Mapped[str | None] = mapped_column(String(140))
    #: The merchant's account (IBAN) the statement is for.
    account_iban: Mapped[str | None] = mapped_column(String(34))
    #: "ref:<account servicer reference>", else "sha256:<hash of the entry's fields>".
    entry_key: Mapped[str] = mapped_column(String(255))
    #: The day the bank booked it (the payment's date).
    booking_date: Mapped[date] = mapped_column(Date)
    #: What arrived, in minor units, and its ISO 4217 code.
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    #: Who paid, as the bank names them.
    payer_name: Mapped[str | None] = mapped_column(String(140))
    payer_iban: Mapped[str | None] = mapped_column(String(34))
    #: The payer's end-to-end id, when not NOTPROVIDED.
    end_to_end_id: Mapped[str | None] = mapped_column(String(140))
    #: Structured remittance (creditor references, space-separated) and the free text.
    structured_reference: Mapped[str | None] = mapped_column(String(255))
    remittance: Mapped[str] = mapped_column(Text, default="")
    #: matched, suggested, unmatched or ignored.
    status: Mapped[str] = mapped_column(String(16))
    #: Invoices staff may confirm: [{"invoice_id": 7, "reasons": ["amount", "payer_iban"]}].
    suggestions: Mapped[list] = mapped_column(JSON, default=list)
    #: The invoice it was booked on (by its reference or by staff) and the receipt booked.
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id"), index=True)
    receipt_id: Mapped[int | None] = mapped_column(ForeignKey("receipts.id"))
    #: The compact reference that matched it.
    matched_reference: Mapped[str | None] = mapped_column(String(35))
    #: Staff member who matched or ignored it by hand.
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    #: When it was imported.
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    invoice: Mapped[Invoice | None] = relationship()
    receipt: Mapped[Receipt | None] = relationship()


#: pending: waiting for (or in) its job; done: imported, counts set; failed: the job gave up (error says why).
STATEMENT_IMPORT_STATUSES = ("pending", "done", "failed")


class BankStatementImport(Base):
    """A large statement posted to the API, imported by a job; the API answers its counts once done."""

    __tablename__ = "bank_statement_imports"
    __table_args__ = (CheckConstraint(f"status IN {STATEMENT_IMPORT_STATUSES!r}", name="status_known"),)

    #: Surrogate key (the id in GET /api/v1/bank-statements/{id}).
    id: Mapped[int] = mapped_column(primary_key=True)
    #: The merchant whose statement it is.
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), index=True)
    #: pending, done or failed.
    status: Mapped[str] = mapped_column(String(8), default="pending")
    #: The XML as posted, until the job has imported it (then dropped).
    document: Mapped[bytes | None] = mapped_column(LargeBinary)
    #: Credit entries in the statement (known when posted).
    entries: Mapped[int] = mapped_column(Integer)
    #: What the import did, once done.
    matched: Mapped[int | None] = mapped_column(Integer)
    suggested: Mapped[int | None] = mapped_column(Integer)
    unmatched: Mapped[int | None] = mapped_column(Integer)
    duplicates: Mapped[int | None] = mapped_column(Integer)
    #: Why the job gave up, when failed.
    error: Mapped[str | None] = mapped_column(Text)
    #: When it was posted and when its job finished.
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

"""Rendered PDFs kept for reuse, and files attached to invoices."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.domain.file_names import name_for_type
from portal.models.base import Base, UTCDateTime, utcnow

DOCUMENT_KINDS = ("invoice", "credit_note", "receipt")


class RenderedDocument(Base):
    """The last PDF rendered of a finalized document in one language, reused while its fingerprint holds."""

    __tablename__ = "rendered_documents"
    __table_args__ = (
        UniqueConstraint("kind", "document_id", "language"),
        CheckConstraint(f"kind IN {DOCUMENT_KINDS!r}", name="kind_known"),
        CheckConstraint("size >= 0", name="size_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), index=True)
    #: "invoice", "credit_note" or "receipt" (a paid invoice's, document_id its invoice's id).
    kind: Mapped[str] = mapped_column(String(16))
    #: The invoice's or credit note's id (which table depends on kind).
    document_id: Mapped[int] = mapped_column(Integer)
    language: Mapped[str] = mapped_column(String(8))
    #: SHA-256 of everything the PDF shows, the branding and the templates; a change means a new render.
    fingerprint: Mapped[str] = mapped_column(String(64))
    #: Length of pdf in bytes.
    size: Mapped[int] = mapped_column(Integer)
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    rendered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class InvoiceAttachment(Base):
    """A file staff attached to an invoice; the customer downloads it, alone or in the invoice's zip."""

    __tablename__ = "invoice_attachments"
    __table_args__ = (CheckConstraint("size >= 0", name="size_non_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), index=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"), index=True)
    #: The uploaded file's name without control or direction characters, its extension the detected type's
    #: (rows from before that rule are cleaned when served: see download_name).
    filename: Mapped[str] = mapped_column(String(255))
    #: MIME type checked at upload (PDF, images, office documents).
    content_type: Mapped[str] = mapped_column(String(100))
    #: Length of data in bytes.
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)  # loaded only when downloaded
    #: Staff member who uploaded it.
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def download_name(self) -> str:
        """Return the name shown and served: clean, with the extension of the type the file's bytes showed."""
        return name_for_type(self.filename, self.content_type)

"""The invoice's download bundle: its PDF alone, or a zip with each document's PDF and e-invoice, and attachments."""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from datetime import date
from urllib.parse import quote

from flask_babel import gettext as _
from sqlalchemy import select

from portal.documents.pdf import credit_note_pdf, invoice_pdf
from portal.domain.file_names import clean_file_name
from portal.einvoice.document import NotExpressible, NotOnPeppol
from portal.extensions import db
from portal.models import CreditNote, Invoice
from portal.models.document import InvoiceAttachment
from portal.services.einvoices import ubl

#: The zip's note naming the documents that have no e-invoice, and why.
NO_EINVOICE_FILENAME = "no-e-invoice.txt"

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
# A member without a date of its own; dates are fixed (no clock time), so the zip of unchanged
# documents stays byte-for-byte the same.
_ZIP_DATE = (2000, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class Download:
    filename: str
    content_type: str
    data: bytes


def safe_filename(name: str, default: str = "file") -> str:
    """Reduce a name to [A-Za-z0-9._-] with no leading dots, so it cannot name a folder or escape one."""
    cleaned = _UNSAFE.sub("_", name).lstrip("._")
    cleaned = re.sub(r"\.{2,}", ".", cleaned)[:120]
    return cleaned or default


def content_disposition(disposition: str, name: str) -> str:
    """Return a Content-Disposition value: the ASCII-safe name, and the clean name itself (RFC 6266) when it differs."""
    ascii_name = safe_filename(name)
    value = f'{disposition}; filename="{ascii_name}"'
    if ascii_name != name:
        value += "; filename*=UTF-8''" + quote(clean_file_name(name), safe="")
    return value


def invoice_filename(invoice: Invoice) -> str:
    """Return e.g. invoice-2026-0007.pdf."""
    return safe_filename(f"invoice-{invoice.number or f'draft-{invoice.id}'}.pdf")


def receipt_filename(invoice: Invoice) -> str:
    """Return the download name of a paid invoice's receipt."""
    return safe_filename(f"receipt-{invoice.number}.pdf")


def credit_note_filename(number: str) -> str:
    """Return e.g. credit-note-CN-2026-0003.pdf."""
    return safe_filename(f"credit-note-{number}.pdf")


def ubl_filename(row: Invoice | CreditNote) -> str:
    """Return e.g. invoice-2026-0007.xml or credit-note-CN-2026-0003.xml."""
    kind = "credit-note" if isinstance(row, CreditNote) else "invoice"
    return safe_filename(f"{kind}-{row.number}.xml")


def ubl_download(row: Invoice | CreditNote) -> Download:
    """Return the Peppol BIS 3.0 UBL of a finalized invoice or credit note (NotExpressible when it has none)."""
    return Download(ubl_filename(row), "application/xml", ubl(row))


def _zip_date(on: date | None) -> tuple[int, int, int, int, int, int]:
    # Zip dates start in 1980; a document's day at midnight is what a file manager should show.
    return (on.year, on.month, on.day, 0, 0, 0) if on is not None and on.year >= 1980 else _ZIP_DATE


def build_zip(members: list[tuple[str, bytes]] | list[tuple[str, bytes, date | None]]) -> bytes:
    """Write a zip of flat, safely named members dated by their document; a repeated name gets a numbered suffix."""
    buffer = io.BytesIO()
    seen: set[str] = set()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data, *dated in members:
            name = safe_filename(name)
            stem, dot, suffix = name.rpartition(".")
            if not dot:
                stem, suffix = name, ""
            candidate, counter = name, 1
            while candidate.lower() in seen:
                counter += 1
                candidate = f"{stem}-{counter}{dot}{suffix}"
            seen.add(candidate.lower())
            info = zipfile.ZipInfo(candidate, date_time=_zip_date(dated[0] if dated else None))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return buffer.getvalue()


def invoice_attachments(invoice: Invoice) -> list[InvoiceAttachment]:
    """Return the files staff attached to the invoice, oldest first."""
    return list(
        db.session.scalars(
            select(InvoiceAttachment)
            .where(InvoiceAttachment.invoice_id == invoice.id, InvoiceAttachment.merchant_id == invoice.merchant_id)
            .order_by(InvoiceAttachment.id)
        )
    )


def invoice_download(invoice: Invoice) -> Download:
    """Return the invoice's PDF alone, or a zip whenever there is more: each document's PDF and UBL, the attachments.

    The invoice and each credit note come as their PDF and, when their customer is on Peppol, their
    UBL e-invoice (the PDF carries the same as Factur-X). A document EN 16931 cannot state at all is
    named in a note.
    """
    documents = [(invoice, invoice_filename(invoice), invoice_pdf(invoice))]
    documents += [(note, credit_note_filename(note.number), credit_note_pdf(note)) for note in invoice.credit_notes]
    members: list[tuple[str, bytes, date | None]] = []
    missing: list[str] = []
    for row, filename, pdf in documents:
        members.append((filename, pdf, row.issue_date))
        try:
            members.append((ubl_filename(row), ubl(row), row.issue_date))
        except NotOnPeppol:
            pass  # a consumer's documents: the Factur-X PDF is their e-invoice
        except NotExpressible as exc:
            missing.append(f"{row.number}: {exc.message}")
    members += [
        (attachment.download_name, attachment.data, invoice.issue_date) for attachment in invoice_attachments(invoice)
    ]
    if len(members) == 1:
        return Download(invoice_filename(invoice), "application/pdf", members[0][1])
    if missing:
        explanation = _(
            "These documents have no e-invoice (XML): the European standard EN 16931 cannot state them "
            "as they were issued. Their PDFs are complete."
        )
        members.append((NO_EINVOICE_FILENAME, "\n".join([explanation, "", *missing, ""]).encode(), invoice.issue_date))
    return Download(safe_filename(f"invoice-{invoice.number}.zip"), "application/zip", build_zip(members))

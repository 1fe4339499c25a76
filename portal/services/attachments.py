"""Files staff attach to an invoice for the customer to download."""

from __future__ import annotations

import io
import zipfile

from sqlalchemy import select

from portal.domain.errors import DomainError
from portal.domain.file_names import clean_file_name, name_for_type
from portal.extensions import db
from portal.models import Invoice, StaffUser
from portal.models.document import InvoiceAttachment
from portal.services.errors import NotFound, TooLarge

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
MAX_ATTACHMENTS = 20
ALLOWED_DESCRIPTION = "PDF, PNG, JPEG, WebP, Word, Excel, PowerPoint or OpenDocument files"

_OOXML = {
    "word/": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xl/": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "ppt/": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}
_OPENDOCUMENT = {
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
}


#: Limits on what an office document (a zip) may hold, checked from its directory before anything is unpacked:
#: a file of a few megabytes that inflates to gigabytes (a zip bomb) is refused without being read.
MAX_ZIP_MEMBERS = 2000
MAX_ZIP_MEMBER_BYTES = 64 * 1024 * 1024
MAX_ZIP_TOTAL_BYTES = 256 * 1024 * 1024
#: Uncompressed size over compressed size; XML compresses well, though rarely past 100 to 1.
MAX_ZIP_RATIO = 200
#: The OpenDocument "mimetype" member holds one short line.
_MIMETYPE_MAX_BYTES = 100
_CHUNK = 64 * 1024
_END_OF_DIRECTORY = b"PK\x05\x06"


class UnsafeArchive(Exception):
    """A zip that would unpack to far more than its size, or holds too many members."""


def _declared_member_count(data: bytes) -> int | None:
    """Return the member count the zip's end-of-directory record declares (None: no record, not a zip)."""
    # The record is the last 22 bytes, before a comment of at most 64 KiB.
    at = data.rfind(_END_OF_DIRECTORY, max(0, len(data) - 22 - 0xFFFF))
    if at < 0 or len(data) < at + 22:
        return None
    return int.from_bytes(data[at + 10 : at + 12], "little")


def _check_members(archive: zipfile.ZipFile) -> None:
    infos = archive.infolist()
    if len(infos) > MAX_ZIP_MEMBERS:
        raise UnsafeArchive(f"{len(infos)} members")
    total = 0
    for info in infos:
        if info.file_size > MAX_ZIP_MEMBER_BYTES:
            raise UnsafeArchive(f"{info.filename} declares {info.file_size} bytes")
        if info.file_size > _CHUNK and info.file_size > MAX_ZIP_RATIO * max(info.compress_size, 1):
            raise UnsafeArchive(f"{info.filename} inflates {info.file_size} / {info.compress_size}")
        total += info.file_size
    if total > MAX_ZIP_TOTAL_BYTES:
        raise UnsafeArchive(f"{total} bytes in all")


def _read_bounded(archive: zipfile.ZipFile, name: str, limit: int) -> bytes:
    """Read a member, at most `limit` bytes whatever its header declares (headers can lie)."""
    info = archive.getinfo(name)
    if info.file_size > limit:
        raise UnsafeArchive(f"{name} declares {info.file_size} bytes")
    data = bytearray()
    with archive.open(info) as member:
        while chunk := member.read(min(_CHUNK, limit + 1 - len(data))):
            data += chunk
            if len(data) > limit:
                raise UnsafeArchive(f"{name} holds more than it declares")
    return bytes(data)


def _zip_type(data: bytes) -> str | None:
    """Return the office document type a zip holds, or None; UnsafeArchive for a bomb."""
    count = _declared_member_count(data)
    if count is None:
        return None
    if count > MAX_ZIP_MEMBERS:  # before zipfile builds an entry per member
        raise UnsafeArchive(f"{count} members declared")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            _check_members(archive)
            names = archive.namelist()
            if "mimetype" in names:
                declared = _read_bounded(archive, "mimetype", _MIMETYPE_MAX_BYTES).decode("ascii", "replace").strip()
                return declared if declared in _OPENDOCUMENT else None
            if "[Content_Types].xml" in names:
                for prefix, content_type in _OOXML.items():
                    if any(name.startswith(prefix) for name in names):
                        return content_type
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, OSError, ValueError):
        return None
    return None


#: Legacy .doc/.xls/.ppt share one container (OLE compound file) with installers (.msi) and mail (.msg);
#: the name of the main stream, stored in UTF-16 in the container's directory, tells them apart.
_LEGACY_OFFICE_STREAMS = (
    ("WordDocument", "application/msword"),
    ("Workbook", "application/vnd.ms-excel"),
    ("Book", "application/vnd.ms-excel"),
    ("PowerPoint Document", "application/vnd.ms-powerpoint"),
)


def _legacy_office_type(data: bytes) -> str | None:
    for stream, content_type in _LEGACY_OFFICE_STREAMS:
        # A directory entry: the name in UTF-16LE, then its terminating NUL character.
        if (stream + "\0").encode("utf-16-le") in data:
            return content_type
    return None


def sniff_content_type(data: bytes) -> str | None:
    """Return the MIME type the file's own bytes show, or None when it is not an accepted kind.

    The browser's Content-Type and the file name are never trusted: an HTML or SVG file renamed
    to .pdf would otherwise be served to customers under a type of the uploader's choosing. A zip
    that would unpack to far more than its size raises UnsafeArchive before any of it is unpacked.
    """
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return _legacy_office_type(data)
    if data.startswith(b"PK\x03\x04"):
        return _zip_type(data)
    return None


def add_attachment(invoice: Invoice, *, filename: str, data: bytes, uploaded_by: StaffUser | None) -> InvoiceAttachment:
    """Attach a checked file to an invoice, named without control or direction characters, with its type's extension."""
    filename = clean_file_name(filename)
    if not data:
        raise DomainError("Choose a file to attach", "file")
    if not filename:
        raise DomainError("The file needs a name", "file")
    if len(data) > MAX_ATTACHMENT_BYTES:
        raise TooLarge(f"An attachment is at most {MAX_ATTACHMENT_BYTES // (1024 * 1024)} MB", "file")
    if invoice.status == "void":
        raise DomainError("A void invoice takes no attachments", "file")
    count = len(list_attachments(invoice))
    if count >= MAX_ATTACHMENTS:
        raise DomainError(f"An invoice holds at most {MAX_ATTACHMENTS} attachments", "file")
    try:
        content_type = sniff_content_type(data)
    except UnsafeArchive:
        raise DomainError(
            "This file unpacks to far more than its size (or holds too many files) and cannot be checked safely",
            "file",
        ) from None
    if content_type is None:
        raise DomainError(f"Attach {ALLOWED_DESCRIPTION}", "file")
    attachment = InvoiceAttachment(
        merchant_id=invoice.merchant_id,
        invoice_id=invoice.id,
        filename=name_for_type(filename, content_type),
        content_type=content_type,
        size=len(data),
        data=data,
        uploaded_by_id=uploaded_by.id if uploaded_by is not None else None,
    )
    db.session.add(attachment)
    db.session.flush()
    return attachment


def list_attachments(invoice: Invoice) -> list[InvoiceAttachment]:
    """Return the invoice's attachments, oldest first."""
    return list(
        db.session.scalars(
            select(InvoiceAttachment)
            .where(InvoiceAttachment.invoice_id == invoice.id, InvoiceAttachment.merchant_id == invoice.merchant_id)
            .order_by(InvoiceAttachment.id)
        )
    )


def get_attachment(invoice: Invoice, attachment_id: int) -> InvoiceAttachment:
    """Return one of the invoice's attachments, or NotFound."""
    attachment = db.session.scalar(
        select(InvoiceAttachment).where(
            InvoiceAttachment.id == attachment_id,
            InvoiceAttachment.invoice_id == invoice.id,
            InvoiceAttachment.merchant_id == invoice.merchant_id,
        )
    )
    if attachment is None:
        raise NotFound("No such attachment")
    return attachment


def remove_attachment(attachment: InvoiceAttachment) -> None:
    """Delete an attachment."""
    db.session.delete(attachment)
    db.session.flush()

"""Exports for the merchant's accountant: invoices, credit notes and payments of a period as CSV, and the
documents themselves (PDFs and e-invoice XMLs) as one zip.

Everything is read from the documents as issued (their snapshots), never from the live customer.
A text cell that a spreadsheet would run as a formula (starting with = + - @, a tab or a carriage
return) is prefixed with a quote; amounts are plain decimal numbers in the currency's major unit.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.documents.archive import build_zip, credit_note_filename, invoice_filename, ubl_download
from portal.documents.pdf import credit_note_pdf, invoice_pdf
from portal.domain.errors import DomainError
from portal.domain.money import currency_exponent
from portal.einvoice.document import NotExpressible
from portal.extensions import db
from portal.models import CreditNote, Invoice, Merchant, Payment

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: A period longer than this is refused: the zip is built in memory.
MAX_DAYS = 366 * 5


def parse_period(start: str | None, end: str | None) -> tuple[date, date]:
    """Read ?from=YYYY-MM-DD&to=YYYY-MM-DD; DomainError naming the field when one is missing or wrong."""
    days = []
    for field, value in (("from", start), ("to", end)):
        try:
            days.append(date.fromisoformat((value or "").strip()))
        except ValueError:
            raise DomainError(f"'{field}' must be a date written YYYY-MM-DD", field) from None
    first, last = days
    if last < first:
        raise DomainError("'to' is before 'from'", "to")
    if (last - first).days > MAX_DAYS:
        raise DomainError("Export at most five years at a time", "to")
    return first, last


def cell(value: object) -> str:
    """Return the value as a CSV cell a spreadsheet shows and never runs."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def major(amount: int, currency: str) -> str:
    """Return minor units as a decimal number in the major unit (12345 EUR → 123.45)."""
    exponent = currency_exponent(currency)
    return str((Decimal(amount) / (Decimal(10) ** exponent)).quantize(Decimal(1).scaleb(-exponent)))


def _csv(header: list[str], rows: Iterable[list[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(row)
    return buffer.getvalue()


def _invoices(merchant: Merchant, first: date, last: date) -> Iterator[Invoice]:
    yield from db.session.scalars(
        select(Invoice)
        .where(
            Invoice.merchant_id == merchant.id,
            Invoice.status != "draft",
            Invoice.issue_date >= first,
            Invoice.issue_date <= last,
        )
        .order_by(Invoice.issue_date, Invoice.id)
        .execution_options(yield_per=500)
    )


def _credit_notes(merchant: Merchant, first: date, last: date) -> Iterator[CreditNote]:
    yield from db.session.scalars(
        select(CreditNote)
        .where(CreditNote.merchant_id == merchant.id, CreditNote.issue_date >= first, CreditNote.issue_date <= last)
        .options(selectinload(CreditNote.invoice))
        .order_by(CreditNote.issue_date, CreditNote.id)
    )


def invoices_csv(merchant: Merchant, first: date, last: date) -> str:
    """Every invoice issued in the period (drafts left out; void ones kept, marked void)."""
    header = [
        "number", "issue_date", "due_date", "status", "customer", "company", "vat_number", "currency",
        "net", "tax", "total", "paid_on", "payment_reference",
    ]  # fmt: skip
    rows = (
        [
            cell(invoice.number),
            invoice.issue_date.isoformat(),
            invoice.due_date.isoformat(),
            invoice.status,
            cell(invoice.buyer_party.name),
            cell(invoice.buyer_party.company),
            cell(invoice.buyer_party.vat_number),
            invoice.currency,
            major(invoice.net_amount, invoice.currency),
            major(invoice.tax_amount, invoice.currency),
            major(invoice.total, invoice.currency),
            invoice.paid_on.isoformat() if invoice.paid_on else "",
            cell(invoice.payment_reference),
        ]
        for invoice in _invoices(merchant, first, last)
    )
    return _csv(header, rows)


def credit_notes_csv(merchant: Merchant, first: date, last: date) -> str:
    """Every credit note issued in the period, with the invoice it corrects."""
    header = ["number", "issue_date", "invoice_number", "customer", "company", "vat_number", "currency",
              "net", "tax", "total", "reason"]  # fmt: skip
    rows = (
        [
            cell(note.number),
            note.issue_date.isoformat(),
            cell(note.invoice.number),
            cell(note.buyer_party.name),
            cell(note.buyer_party.company),
            cell(note.buyer_party.vat_number),
            note.currency,
            major(note.net_amount, note.currency),
            major(note.tax_amount, note.currency),
            major(note.total, note.currency),
            cell(note.reason),
        ]
        for note in _credit_notes(merchant, first, last)
    )
    return _csv(header, rows)


def payments_csv(merchant: Merchant, first: date, last: date) -> str:
    """Every payment received in the period: principal, late charges, and what was refunded or charged back."""
    payments = db.session.scalars(
        select(Payment)
        .where(Payment.merchant_id == merchant.id, Payment.paid_on >= first, Payment.paid_on <= last)
        .options(selectinload(Payment.invoice), selectinload(Payment.reversals))
        .order_by(Payment.paid_on, Payment.id)
    )
    header = ["paid_on", "invoice_number", "customer", "method", "reference", "currency",
              "amount", "principal", "late_fee", "interest", "reversed"]  # fmt: skip
    rows = (
        [
            payment.paid_on.isoformat(),
            cell(payment.invoice.number),
            cell(payment.invoice.buyer_party.name),
            payment.method,
            cell(payment.reference),
            payment.currency,
            major(payment.gross, payment.currency),
            major(payment.amount, payment.currency),
            major(payment.fee_amount, payment.currency),
            major(payment.interest_amount, payment.currency),
            major(sum(reversal.amount for reversal in payment.reversals), payment.currency),
        ]
        for payment in payments
    )
    return _csv(header, rows)


def documents_zip(merchant: Merchant, first: date, last: date) -> bytes:
    """The period's invoices and credit notes as issued: each PDF (Factur-X where it applies) and its UBL."""
    members: list[tuple[str, bytes]] = []
    for invoice in _invoices(merchant, first, last):
        members.append((invoice_filename(invoice), invoice_pdf(invoice)))
        members.extend(_ubl(invoice))
    for note in _credit_notes(merchant, first, last):
        members.append((credit_note_filename(note.number), credit_note_pdf(note)))
        members.extend(_ubl(note))
    return build_zip(members)


def _ubl(row: Invoice | CreditNote) -> list[tuple[str, bytes]]:
    try:
        download = ubl_download(row)
    except NotExpressible:
        return []  # no e-invoice can state it (its PDF says everything)
    return [(download.filename, download.data)]

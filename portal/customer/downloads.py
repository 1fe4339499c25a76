"""PDF, e-invoice, zip and attachment downloads of the signed-in customer's documents."""

from __future__ import annotations

from flask import Response, abort, render_template, url_for

from portal.customer import bp
from portal.customer.access import current_customer, customer_credit_note, customer_invoice
from portal.documents.archive import (
    content_disposition,
    credit_note_filename,
    invoice_attachments,
    invoice_download,
    invoice_filename,
    receipt_filename,
    ubl_download,
)
from portal.documents.pdf import credit_note_pdf, invoice_pdf, receipt_pdf
from portal.einvoice.document import NotExpressible
from portal.extensions import db
from portal.models import CreditNote, Customer, Invoice


def _customer() -> Customer:
    customer = current_customer()
    if customer is None:
        # Documents are reached only through a magic link's session.
        abort(401)
    return customer


def _file(data: bytes, content_type: str, filename: str, disposition: str = "attachment") -> Response:
    response = Response(data, mimetype=content_type)
    response.headers["Content-Disposition"] = content_disposition(disposition, filename)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/invoices/<number>/pdf")
def invoice_pdf_view(number: str):
    invoice = customer_invoice(_customer(), number)
    pdf, filename = invoice_pdf(invoice), invoice_filename(invoice)
    db.session.commit()  # keeps the rendered PDF for the next download (named first: a commit expires the invoice)
    return _file(pdf, "application/pdf", filename, "inline")


@bp.get("/invoices/<number>/receipt")
def invoice_receipt_view(number: str):
    """Serve the receipt of a paid invoice (what was received, when and how); 404 while nothing was paid."""
    invoice = customer_invoice(_customer(), number)
    if invoice.status != "paid" or not any(payment.gross > 0 for payment in invoice.payments):
        abort(404)
    pdf, filename = receipt_pdf(invoice), receipt_filename(invoice)
    db.session.commit()
    return _file(pdf, "application/pdf", filename, "inline")


@bp.get("/credit-notes/<number>/pdf")
def credit_note_pdf_view(number: str):
    note = customer_credit_note(_customer(), number)
    pdf, filename = credit_note_pdf(note), credit_note_filename(note.number)
    db.session.commit()
    return _file(pdf, "application/pdf", filename, "inline")


def _ubl(row: Invoice | CreditNote, pdf_url: str) -> Response | tuple[str, int]:
    try:
        download = ubl_download(row)
    except NotExpressible:
        # The PDF is the document; the page says so instead of a file that would break the rules.
        return render_template("customer/no_einvoice.html", number=row.number, pdf_url=pdf_url), 422
    return _file(download.data, download.content_type, download.filename)


@bp.get("/invoices/<number>/ubl")
def invoice_ubl_view(number: str):
    invoice = customer_invoice(_customer(), number)
    return _ubl(invoice, url_for("customer.invoice_pdf_view", number=invoice.number))


@bp.get("/credit-notes/<number>/ubl")
def credit_note_ubl_view(number: str):
    note = customer_credit_note(_customer(), number)
    return _ubl(note, url_for("customer.credit_note_pdf_view", number=note.number))


@bp.get("/invoices/<number>/download")
def invoice_download_view(number: str):
    download = invoice_download(customer_invoice(_customer(), number))
    db.session.commit()
    return _file(download.data, download.content_type, download.filename)


@bp.get("/invoices/<number>/attachments/<int:attachment_id>")
def invoice_attachment_view(number: str, attachment_id: int):
    invoice = customer_invoice(_customer(), number)
    attachment = next((a for a in invoice_attachments(invoice) if a.id == attachment_id), None)
    if attachment is None:
        abort(404)
    return _file(attachment.data, attachment.content_type, attachment.download_name)

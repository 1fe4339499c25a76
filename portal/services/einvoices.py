"""E-invoices of finalized documents: Peppol BIS 3.0 UBL and the Factur-X CII, from what was issued.

Everything comes from the finalize snapshot (the seller, the buyer, the terms, the exemption wording)
and the document's own lines, never from the live merchant or customer. Late fees and interest are
never part of an e-invoice: it states what was issued. A document EN 16931 cannot state (a currency
with three decimals, for instance) raises NotExpressible, which callers answer as they see fit.
"""

from __future__ import annotations

from decimal import Decimal

from portal.domain.parties import Buyer, Seller
from portal.einvoice.cii import cii_xml
from portal.einvoice.document import EDocument, InvoiceReference, NotExpressible, issued_document
from portal.einvoice.ubl import ubl_xml
from portal.models import CreditNote, Invoice
from portal.services.errors import Conflict


def invoice_payment_reference(invoice: Invoice) -> str | None:
    """Return the structured payment reference (OGM/VCS or RF) the invoice was issued with, if any.

    This is the one place the e-invoices read it from; an invoice issued before references has none.
    """
    return invoice.payment_reference


def _parties(row: Invoice | CreditNote) -> tuple[Seller, Buyer]:
    if row.seller is None or row.buyer is None:
        raise NotExpressible(f"{row.number} has no snapshot of its parties", "seller")
    return Seller.from_json(row.seller), Buyer.from_json(row.buyer)


def _as_issued(document: EDocument, row: Invoice | CreditNote) -> EDocument:
    # The e-invoice states the amounts the PDF shows; a document whose lines no longer give its
    # stored totals (a rule changed since) is not restated with other numbers.
    if (document.subtotal, document.net, document.tax, document.total) != (
        row.subtotal,
        row.net_amount,
        row.tax_amount,
        row.total,
    ):
        raise NotExpressible(f"{row.number}: its lines no longer add up to the totals it was issued with", "lines")
    return document


def invoice_document(invoice: Invoice) -> EDocument:
    """Return the finalized invoice as its e-invoices state it; a draft has none (Conflict)."""
    if invoice.status == "draft":
        raise Conflict("A draft has no e-invoice: finalize it first", "status")
    seller, buyer = _parties(invoice)
    document = issued_document(
        kind="invoice",
        number=invoice.number,
        issue_date=invoice.issue_date,
        currency=invoice.currency,
        seller=seller,
        buyer=buyer,
        lines=[row.to_domain() for row in invoice.lines],
        discount_percent=invoice.discount_percent,
        discount_fixed=invoice.discount_fixed,
        exemption_reasons=invoice.exemption_reasons or {},
        due_date=invoice.due_date,
        supply_date=invoice.document_supply_date,
        payment_reference=invoice_payment_reference(invoice),
        note=invoice.notes,
        terms=invoice.terms,
    )
    return _as_issued(document, invoice)


def credit_note_document(note: CreditNote) -> EDocument:
    """Return the credit note as its e-invoices state it, naming the invoice it corrects."""
    seller, buyer = _parties(note)
    invoice = note.invoice
    document = issued_document(
        kind="credit_note",
        number=note.number,
        issue_date=note.issue_date,
        currency=note.currency,
        seller=seller,
        buyer=buyer,
        lines=[row.to_domain() for row in note.lines],
        discount_percent=Decimal(0),
        exemption_reasons=note.exemption_reasons or {},
        corrected_invoice=InvoiceReference(invoice.number, invoice.issue_date),
        note=note.reason,
    )
    return _as_issued(document, note)


def document_of(row: Invoice | CreditNote) -> EDocument:
    """Return the e-invoice document of an invoice or a credit note."""
    return credit_note_document(row) if isinstance(row, CreditNote) else invoice_document(row)


def ubl(row: Invoice | CreditNote) -> bytes:
    """Return the Peppol BIS Billing 3.0 UBL of a finalized invoice or credit note."""
    return ubl_xml(document_of(row))


def facturx_cii(row: Invoice | CreditNote) -> bytes | None:
    """Return the CII its Factur-X PDF embeds, or None when it gets a plain PDF (a draft, or not expressible)."""
    if isinstance(row, Invoice) and row.status == "draft":
        return None
    try:
        return cii_xml(document_of(row))
    except NotExpressible:
        return None


def ubl_available(row: Invoice | CreditNote) -> bool:
    """Tell whether the document has a Peppol UBL e-invoice (its customer is on Peppol, EN 16931 can state it)."""
    try:
        ubl(row)
    except (NotExpressible, Conflict):
        return False
    return True

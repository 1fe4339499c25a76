"""Credit notes against finalized invoices."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import select

from portal.api.events import record_event
from portal.domain.credit_notes import check_credit
from portal.domain.errors import DomainError, IncompleteDocument
from portal.domain.invoices import InvoiceStatus, Line, compute_totals
from portal.domain.vat import NEEDS_BUYER_VAT, exemption_reasons
from portal.extensions import db
from portal.models import CreditNote, CreditNoteLine, Invoice, Merchant
from portal.services.errors import Conflict, NotFound
from portal.services.invoices import outstanding, settle_if_paid
from portal.services.numbering import next_document_number


def issue_credit_note(
    invoice: Invoice,
    *,
    lines: Sequence[Line],
    issue_date: date | None = None,
    reason: str | None = None,
    remainder_to_credit: bool = False,
    created_by_id: int | None = None,
) -> CreditNote:
    """Issue and number a credit note; it can never exceed what is still creditable.

    What is creditable is what is not paid yet, unless remainder_to_credit: then a paid (or partly
    paid) invoice can be credited up to its total, and the money already paid beyond what the
    invoice still needs moves to the customer's credit balance. An invoice the credit note settles
    becomes paid, and its live checkouts are cancelled.
    """
    from portal.services.checkouts import cancel_live_checkouts
    from portal.services.ledger import lock_invoice, move_to_credit

    invoice = lock_invoice(invoice.id)
    allowed = (InvoiceStatus.OPEN, InvoiceStatus.PAID) if remainder_to_credit else (InvoiceStatus.OPEN,)
    if invoice.state not in allowed:
        raise Conflict(f"Only an open invoice can be credited; this one is {invoice.status}", "status")
    merchant = invoice.merchant
    issue_date = issue_date or merchant.today()
    if issue_date < invoice.issue_date:
        raise DomainError("A credit note cannot be dated before its invoice", "issue_date")
    if issue_date > merchant.today():
        raise DomainError("A credit note cannot be dated in the future", "issue_date")
    if not lines:
        raise DomainError("A credit note needs at least one line", "lines")
    totals = compute_totals(lines)
    check_credit(
        totals.total, invoice.total, invoice.credited, 0 if remainder_to_credit else invoice.paid, invoice.currency
    )
    remainder = max(0, totals.total - outstanding(invoice))
    # A credit note is a document of its own, issued now: it keeps today's parties and language,
    # and the invoice's own exemption wording where it uses the same category in the same language.
    seller, buyer = merchant.legal_identity, invoice.customer.legal_identity
    missing = seller.missing()
    if missing:
        raise IncompleteDocument(
            "Complete your company's legal name and address (Settings → Company) before issuing a credit note: "
            + ", ".join(missing)
            + " missing",
            f"seller.{missing[0]}",
        )
    categories = {line.tax_category for line in lines}
    if categories & NEEDS_BUYER_VAT and not buyer.vat_number:
        raise IncompleteDocument(
            "Reverse-charged and intra-Community lines need the customer's VAT number", "customer.vat_number"
        )
    language = invoice.customer.language
    same_language = invoice.document_language == language
    note = CreditNote(
        merchant_id=merchant.id,
        invoice=invoice,
        customer_id=invoice.customer_id,
        number=next_document_number(merchant.id, "credit_note", issue_date.year),
        issue_date=issue_date,
        reason=reason,
        seller=seller.to_json(),
        buyer=buyer.to_json(),
        language=language,
        exemption_reasons=exemption_reasons(
            categories, language, invoice.document_exemption_reasons if same_language else None
        ),
        currency=invoice.currency,
        subtotal=totals.subtotal,
        net_amount=totals.net,
        tax_amount=totals.tax,
        total=totals.total,
        lines=[
            CreditNoteLine.from_domain(line, position=position, merchant_id=merchant.id)
            for position, line in enumerate(lines, start=1)
        ],
    )
    db.session.add(note)
    db.session.flush()
    record_event(merchant, "credit_note.created", note)
    if remainder:
        move_to_credit(invoice, remainder, credit_note=note, on=issue_date, created_by_id=created_by_id)
    was = invoice.status
    settle_if_paid(invoice, issue_date)
    db.session.flush()
    if was != invoice.status:
        cancel_live_checkouts(invoice)
    return note


def get_credit_note(merchant: Merchant, credit_note_id: int) -> CreditNote:
    """Return the merchant's credit note, or NotFound for anyone else's."""
    note = db.session.scalar(
        select(CreditNote).where(CreditNote.id == credit_note_id, CreditNote.merchant_id == merchant.id)
    )
    if note is None:
        raise NotFound("No such credit note")
    return note

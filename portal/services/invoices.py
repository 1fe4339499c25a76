"""Invoices: drafts, finalize, void, recorded payments and the amount due."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.api.events import record_event
from portal.domain import vat
from portal.domain.consumer_debts import interest_cap
from portal.domain.credit_notes import check_payment
from portal.domain.errors import DomainError
from portal.domain.invoices import (
    InvoiceStatus,
    Line,
    check_finalizable,
    check_transition,
    compute_totals,
    is_editable,
)
from portal.domain.late_fees import Breakdown, Pause, Reduction, compute_breakdown
from portal.domain.money import currency_exponent
from portal.domain.payment_references import invoice_reference
from portal.extensions import db
from portal.models import Customer, Invoice, InvoiceLine, Merchant, Payment
from portal.models.base import utcnow
from portal.services.email_templates import invoice_mail_in_force
from portal.services.errors import Conflict, NotFound
from portal.services.numbering import next_document_number

#: How staff and the API may record money received (online payments are booked by their provider's answer).
PAYMENT_METHODS = ("bank_transfer", "cash", "card", "cheque", "direct_debit", "mollie", "stripe", "other")

_UNSET = object()


def get_invoice(merchant: Merchant, invoice_id: int) -> Invoice:
    """Return the merchant's invoice, or NotFound for anyone else's."""
    invoice = db.session.scalar(
        select(Invoice)
        .where(Invoice.id == invoice_id, Invoice.merchant_id == merchant.id)
        .options(selectinload(Invoice.lines), selectinload(Invoice.payments), selectinload(Invoice.credit_notes))
    )
    if invoice is None:
        raise NotFound("No such invoice")
    return invoice


def _check_dates(issue_date: date, due_date: date) -> None:
    if due_date < issue_date:
        raise DomainError("The due date cannot be before the issue date", "due_date")


def _set_lines(invoice: Invoice, lines: Sequence[Line], discount_percent: Decimal, discount_fixed: int = 0) -> None:
    """Replace the invoice's lines and recompute its stored totals."""
    totals = compute_totals(lines, discount_percent, discount_fixed)
    invoice.lines = [
        InvoiceLine.from_domain(line, position=position, merchant_id=invoice.merchant_id)
        for position, line in enumerate(lines, start=1)
    ]
    invoice.discount_percent = discount_percent
    invoice.discount_fixed = discount_fixed
    invoice.subtotal = totals.subtotal
    invoice.discount_amount = totals.discount
    invoice.net_amount = totals.net
    invoice.tax_amount = totals.tax
    invoice.total = totals.total


def create_draft(
    merchant: Merchant,
    *,
    customer: Customer,
    currency: str,
    issue_date: date,
    due_date: date,
    lines: Sequence[Line],
    discount_percent: Decimal = Decimal("0"),
    discount_fixed: int = 0,
    notes: str | None = None,
    terms: str | None = None,
    supply_date: date | None = None,
    exemption_reasons: dict[str, str | None] | None = None,
) -> Invoice:
    """Create a draft invoice for one of the merchant's customers.

    supply_date defaults to the issue date; exemption_reasons overrides the legal default wording
    of exempt or reverse-charged categories ({"AE": "…"}).
    """
    if customer.merchant_id != merchant.id:
        raise NotFound("No such customer", "customer_id")
    if customer.archived_at is not None:
        raise Conflict("This customer is archived: restore it before drafting an invoice", "customer_id")
    currency_exponent(currency)
    _check_dates(issue_date, due_date)
    invoice = Invoice(
        merchant_id=merchant.id,
        customer=customer,
        currency=currency,
        issue_date=issue_date,
        supply_date=supply_date,
        due_date=due_date,
        notes=notes,
        terms=terms,
        exemption_reasons=vat.check_exemption_reasons(exemption_reasons or {}) or None,
        status=InvoiceStatus.DRAFT.value,
    )
    _set_lines(invoice, lines, discount_percent, discount_fixed)
    db.session.add(invoice)
    db.session.flush()
    return invoice


def _require_draft(invoice: Invoice, action: str) -> None:
    if not is_editable(invoice.state):
        raise Conflict(f"Invoice {invoice.number} is {invoice.status}: only a draft can be {action}", "status")


def update_draft(
    invoice: Invoice,
    *,
    customer: Customer | None = None,
    currency: str | None = None,
    issue_date: date | None = None,
    due_date: date | None = None,
    lines: Sequence[Line] | None = None,
    discount_percent: Decimal | None = None,
    discount_fixed: int | None = None,
    notes: str | None | object = _UNSET,
    terms: str | None | object = _UNSET,
    supply_date: date | None | object = _UNSET,
    exemption_reasons: dict[str, str | None] | None | object = _UNSET,
) -> Invoice:
    """Change a draft; finalized invoices are corrected with credit notes instead."""
    _require_draft(invoice, "edited")
    if customer is not None:
        if customer.merchant_id != invoice.merchant_id:
            raise NotFound("No such customer", "customer_id")
        invoice.customer = customer
    if currency is not None:
        currency_exponent(currency)
        invoice.currency = currency
    _check_dates(issue_date or invoice.issue_date, due_date or invoice.due_date)
    invoice.issue_date = issue_date or invoice.issue_date
    invoice.due_date = due_date or invoice.due_date
    if lines is not None or discount_percent is not None or discount_fixed is not None:
        current = [line.to_domain() for line in invoice.lines]
        _set_lines(
            invoice,
            current if lines is None else lines,
            invoice.discount_percent if discount_percent is None else discount_percent,
            invoice.discount_fixed if discount_fixed is None else discount_fixed,
        )
    if notes is not _UNSET:
        invoice.notes = notes
    if terms is not _UNSET:
        invoice.terms = terms
    if supply_date is not _UNSET:
        invoice.supply_date = supply_date
    if exemption_reasons is not _UNSET:
        invoice.exemption_reasons = vat.check_exemption_reasons(exemption_reasons or {}) or None
    db.session.flush()
    return invoice


def delete_draft(invoice: Invoice) -> None:
    """Delete a draft; finalized invoices are never deleted."""
    _require_draft(invoice, "deleted")
    db.session.delete(invoice)
    db.session.flush()


def finalize_invoice(invoice: Invoice) -> Invoice:
    """Number the draft, lock it, and keep everything it shows as of now (SPEC §1, "immutable").

    The seller's and buyer's identities, the language, terms, exemption wording, supply date, the
    late-fee policy and the invoice mail's wording are copied onto the invoice: later changes to the
    merchant or the customer never reach it. The payment reference follows from the number and the
    seller's country as issued.
    """
    check_transition(invoice.state, InvoiceStatus.OPEN)
    merchant, customer = invoice.merchant, invoice.customer
    seller, buyer = merchant.legal_identity, customer.legal_identity
    lines = [line.to_domain() for line in invoice.lines]
    check_finalizable(lines, invoice.total, seller.missing(), buyer.vat_number)
    language = customer.language
    policy = merchant.late_fee_policy
    invoice.number = next_document_number(merchant.id, "invoice", invoice.issue_date.year)
    invoice.status = InvoiceStatus.OPEN.value
    invoice.finalized_at = utcnow()
    invoice.seller = seller.to_json()
    invoice.payment_reference = invoice_reference(seller.address.country if seller.address else None, invoice.number)
    invoice.buyer = buyer.to_json()
    invoice.purchase_order = customer.purchase_order
    invoice.language = language
    invoice.exemption_reasons = vat.exemption_reasons(
        {line.tax_category for line in lines}, language, invoice.exemption_reasons
    )
    invoice.terms = invoice.terms or merchant.terms
    invoice.supply_date = invoice.supply_date or invoice.issue_date
    mail = invoice_mail_in_force(merchant, language)
    invoice.mail_template = {"subject": mail.subject, "body": mail.body}
    # Book XIX: a consumer of a merchant with the Belgian preset (EUR, the currency the law's caps are in).
    invoice.late_consumer = bool(merchant.consumer_preset and customer.consumer and invoice.currency == "EUR")
    invoice.late_annual_rate = (
        min(policy.annual_rate, interest_cap(merchant.legal_interest_rate))
        if invoice.late_consumer
        else policy.annual_rate
    )
    invoice.late_fee_percent = policy.fee_percent
    invoice.late_fee_minimum = policy.fee_minimum
    invoice.late_grace_days = policy.grace_days
    db.session.flush()
    record_event(merchant, "invoice.finalized", invoice)
    return invoice


def void_invoice(invoice: Invoice) -> Invoice:
    """Cancel an open invoice that nothing was paid on, and stop its live checkouts.

    A checkout the provider will not stop may still be paid: that money goes to the customer's
    credit balance.
    """
    from portal.services.checkouts import cancel_live_checkouts

    check_transition(invoice.state, InvoiceStatus.VOID)
    if invoice.paid > 0:
        raise Conflict(
            f"Invoice {invoice.number} has payments recorded: issue a credit note instead of voiding it", "status"
        )
    invoice.status = InvoiceStatus.VOID.value
    invoice.voided_at = utcnow()
    db.session.flush()
    cancel_live_checkouts(invoice)
    record_event(invoice.merchant, "invoice.voided", invoice)
    return invoice


def outstanding(invoice: Invoice) -> int:
    """Return total − credited − paid (never below zero)."""
    if invoice.state is InvoiceStatus.VOID:
        return 0
    return max(0, invoice.total - invoice.credited - invoice.paid)


def settle_if_paid(invoice: Invoice, on: date) -> None:
    """Mark an open invoice paid once nothing is outstanding."""
    if invoice.state is InvoiceStatus.OPEN and outstanding(invoice) == 0:
        check_transition(invoice.state, InvoiceStatus.PAID)
        invoice.status = InvoiceStatus.PAID.value
        invoice.paid_on = on
        record_event(invoice.merchant, "invoice.paid", invoice)


def record_payment(
    invoice: Invoice,
    *,
    amount: int,
    paid_on: date,
    method: str,
    reference: str | None = None,
    recorded_by_id: int | None = None,
    surplus_to_credit: bool = False,
) -> Payment:
    """Record money the merchant received for an open invoice (a partial amount is fine).

    More than the outstanding amount is refused (a typo must not become credit), unless
    surplus_to_credit: then the rest goes to the customer's credit balance.
    """
    from portal.domain.money import Money
    from portal.services.ledger import MoneySource, book_money_received

    if invoice.state is not InvoiceStatus.OPEN:
        raise Conflict(f"Only an open invoice takes payments; this one is {invoice.status}", "status")
    if method not in PAYMENT_METHODS:
        raise DomainError(f"Method must be one of {', '.join(PAYMENT_METHODS)}", "method")
    if paid_on > invoice.merchant.today():
        raise DomainError("A payment cannot be dated in the future", "paid_on")
    if surplus_to_credit:
        check_payment(amount, amount)  # positive; the surplus goes to the balance
    else:
        check_payment(amount, outstanding(invoice), invoice.currency)
    booking = book_money_received(
        invoice.customer,
        invoice,
        Money(amount, invoice.currency),
        method=method,
        source=MoneySource("recorded"),
        received_on=paid_on,
        reference=reference,
        recorded_by_id=recorded_by_id,
        confirm=False,
    )
    return booking.payment


def invoice_breakdown(invoice: Invoice, as_of: date) -> Breakdown | None:
    """Return the "view calculation" for the invoice on a day; None for a void one.

    A draft is shown with the merchant's current policy, as it would be if finalized now.
    """
    if invoice.state is InvoiceStatus.VOID:
        return None
    if invoice.state is InvoiceStatus.DRAFT:
        policy = invoice.merchant.late_fee_policy
    else:
        policy = invoice.late_fee_policy
    if policy is not None and policy.annual_rate == 0 and policy.fee_percent == 0 and policy.fee_minimum == 0:
        policy = None  # nothing to charge, so no zero-fee row in the calculation
    return compute_breakdown(
        total=invoice.total,
        due_date=invoice.due_date,
        as_of=as_of,
        policy=policy,
        credit_notes=[
            Reduction(kind="credit_note", on=note.issue_date, amount=note.total, reference=note.number)
            for note in invoice.credit_notes
        ],
        payments=[
            Reduction(kind="payment", on=payment.paid_on, amount=payment.amount, reference=payment.method)
            for payment in invoice.payments
        ],
        refunds=[
            Reduction(kind="refund", on=reversal.reversed_on, amount=reversal.principal_amount, reference=reversal.kind)
            for payment in invoice.payments
            for reversal in payment.reversals
            if reversal.principal_amount > 0
        ],
        pauses=[Pause(dispute.opened_on, dispute.resolved_on) for dispute in invoice.disputes],
        first_reminder_on=invoice.first_reminder_on,
    )


def check_currency(currency: str) -> str:
    """Return the currency if it is a known ISO 4217 code."""
    currency_exponent(currency)
    return currency

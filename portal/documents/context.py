"""What an invoice or credit-note document shows, computed once in Python so the templates only format.

The PDF and the portal's pages read the same view. Everything legal comes from what the document
was issued with (its seller, buyer, language, terms, exemption wording); a draft shows the live
merchant and customer, as it would be issued now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from portal.documents.epc_qr import epc_qr_data_uri
from portal.domain.identifiers import format_iban
from portal.domain.invoices import compute_totals
from portal.domain.late_fees import LateFeePolicy
from portal.domain.money import Money
from portal.domain.parties import Buyer, Seller
from portal.domain.payment_references import format_reference
from portal.domain.vat import TaxCategory
from portal.models import CreditNote, Invoice
from portal.services.invoices import invoice_breakdown
from portal.services.payment_choices import credit_transfer
from portal.theming import logo_data_uri


@dataclass(frozen=True)
class LineView:
    description: str
    quantity: Decimal
    unit_price: Money
    discount_percent: Decimal
    #: The fixed amount off the line, after its percentage.
    discount_fixed: Money
    tax_category: str
    tax_rate: Decimal
    net: Money


@dataclass(frozen=True)
class TaxView:
    """The taxable base and the tax of one (category, rate)."""

    category: str
    rate: Decimal
    base: Money
    amount: Money

    @property
    def charges_vat(self) -> bool:
        """Tell whether the group is standard rated (the only category with a rate)."""
        return self.category == TaxCategory.STANDARD.value


@dataclass(frozen=True)
class LatePaymentTerms:
    """What a late payment costs under the invoice's policy, stated on the invoice."""

    annual_rate: Decimal
    fee_percent: Decimal
    fee_minimum: Money
    grace_days: int


@dataclass(frozen=True)
class PaymentDetails:
    """Where a transfer goes: the seller's bank account, as issued, and the reference it names."""

    account_holder: str
    iban: str
    bic: str | None
    #: The structured reference as people write it (+++202/6000/00192+++, RF74 2026 0000 07); the
    #: number for an invoice issued without one; None on a draft.
    reference: str | None = None


@dataclass(frozen=True)
class TransferView:
    """How to pay today's amount due by bank transfer: the account, the amount, the reference, the QR code."""

    beneficiary: str
    #: Grouped by four, as printed (BE68 5390 0754 7034).
    iban: str
    bic: str | None
    amount: Money
    #: As people write it (+++202/6000/00192+++, RF74 2026 0000 07).
    reference: str
    #: The EPC QR code banking apps scan, as a data: URI (PNG); None outside euros.
    qr_code: str | None


@dataclass(frozen=True)
class ReductionView:
    """A credit note (reference = its number) or a payment (reference = its method) on a day."""

    reference: str
    on: date
    amount: Money


@dataclass(frozen=True)
class InterestView:
    start: date
    end: date
    days: int
    balance: Money
    annual_rate: Decimal
    amount: Money


@dataclass(frozen=True)
class LateFeesView:
    """The late-fee part of the "view calculation", present only once something is charged."""

    days_late: int
    fee_percent: Decimal
    fee_minimum: Money
    fee: Money
    segments: tuple[InterestView, ...]
    interest: Money


@dataclass(frozen=True)
class DocumentView:
    """Everything a PDF prints; its fingerprint decides whether a cached PDF is still right."""

    kind: str  # "invoice" or "credit_note"
    number: str | None
    status: str  # draft, open, overdue, paid, void, or issued for a credit note
    is_draft: bool
    #: The language the document is issued in (its PDF and mail).
    language: str
    issue_date: date
    #: The day of supply (art. 226 (7)); the issue date unless another was given.
    supply_date: date | None
    due_date: date | None
    seller: Seller
    buyer: Buyer
    logo: str | None
    lines: tuple[LineView, ...]
    subtotal: Money
    discount_percent: Decimal
    #: The invoice's fixed discount (taken after its percentage); part of discount.
    discount_fixed: Money
    discount: Money
    net: Money
    taxes: tuple[TaxView, ...]
    tax: Money
    total: Money
    credit_notes: tuple[ReductionView, ...] = ()
    payments: tuple[ReductionView, ...] = ()
    outstanding: Money | None = None
    late_fees: LateFeesView | None = None
    #: Days past the due date of an open invoice, else 0.
    days_overdue: int = 0
    #: The day the amount due was computed for; set only when it depends on the day (late fees).
    as_of: date | None = None
    amount_due: Money | None = None
    paid_on: date | None = None
    notes: str | None = None
    terms: str | None = None
    #: Why no VAT is charged, per category code, as issued ({"AE": "Reverse charge"}).
    exemptions: tuple[tuple[str, str], ...] = ()
    #: Bank details for a transfer, when the seller has an IBAN.
    payment: PaymentDetails | None = None
    #: How to pay the amount due by transfer today: an open invoice with something due, issued with
    #: an IBAN, on which staff left bank transfer on.
    transfer: TransferView | None = None
    #: The late-payment terms in force for the invoice (None when it charges nothing late).
    late_payment: LatePaymentTerms | None = None
    #: Credit notes: the invoice they correct, its date, and why.
    invoice_number: str | None = None
    invoice_date: date | None = None
    reason: str | None = None
    #: The buyer's purchase-order reference, as issued.
    purchase_order: str | None = None

    @property
    def categories(self) -> tuple[str, ...]:
        """Return the VAT categories the lines use, in EN 16931 order, for the legend."""
        used = {line.tax_category for line in self.lines}
        return tuple(category.value for category in TaxCategory if category.value in used)


def _lines(rows, currency: str) -> tuple[LineView, ...]:
    return tuple(
        LineView(
            description=row.description,
            quantity=row.quantity,
            unit_price=Money(row.unit_amount, currency),
            discount_percent=row.discount_percent,
            discount_fixed=Money(row.discount_fixed, currency),
            tax_category=row.tax_category,
            tax_rate=row.tax_rate,
            net=Money(row.net_amount, currency),
        )
        for row in rows
    )


def _taxes(rows, discount_percent: Decimal, currency: str, discount_fixed: int = 0) -> tuple[TaxView, ...]:
    totals = compute_totals([row.to_domain() for row in rows], discount_percent, discount_fixed)
    return tuple(
        TaxView(tax.category.value, tax.rate, Money(tax.base, currency), Money(tax.amount, currency))
        for tax in totals.taxes
    )


def _payment(seller: Seller, invoice: Invoice) -> PaymentDetails | None:
    if not seller.iban:
        return None
    # An invoice issued before references existed names its number, as it did then.
    reference = format_reference(invoice.payment_reference) if invoice.payment_reference else invoice.number
    return PaymentDetails(
        account_holder=seller.legal_name, iban=format_iban(seller.iban), bic=seller.bic, reference=reference
    )


def _transfer(invoice: Invoice, amount_due: int) -> TransferView | None:
    transfer = credit_transfer(invoice, amount_due)
    if transfer is None:
        return None
    return TransferView(
        beneficiary=transfer.beneficiary,
        iban=format_iban(transfer.iban),
        bic=transfer.bic,
        amount=transfer.amount,
        reference=format_reference(transfer.reference),
        qr_code=epc_qr_data_uri(transfer),
    )


def _late_payment(policy: LateFeePolicy | None, currency: str) -> LatePaymentTerms | None:
    if policy is None or not (policy.annual_rate or policy.fee_percent or policy.fee_minimum):
        return None
    return LatePaymentTerms(
        policy.annual_rate, policy.fee_percent, Money(policy.fee_minimum, currency), policy.grace_days
    )


def invoice_view(invoice: Invoice, as_of: date) -> DocumentView:
    """Build the view of an invoice as it stands on as_of (the merchant's today)."""
    currency = invoice.currency
    merchant = invoice.merchant
    seller = invoice.seller_party

    def money(minor: int) -> Money:
        return Money(minor, currency)

    breakdown = invoice_breakdown(invoice, as_of)
    status = invoice.status
    late_fees = None
    amount_due = outstanding = None
    days_overdue = 0
    if breakdown is not None:
        outstanding = money(breakdown.outstanding)
        if invoice.status == "draft":
            # A draft is not due yet: its preview shows the total, never late fees.
            amount_due = outstanding
        elif invoice.status == "open":
            amount_due = money(breakdown.amount_due)
            if breakdown.overdue:
                status, days_overdue = "overdue", breakdown.days_late
        if invoice.status == "paid" and invoice.paid <= 0 and invoice.credited > 0:
            status = "credited"  # settled by credit notes: no money was paid, so no "thank you for your payment"
        if breakdown.charged and invoice.status == "open":
            late_fees = LateFeesView(
                days_late=breakdown.days_late,
                fee_percent=breakdown.fee_percent,
                fee_minimum=money(breakdown.fee_minimum),
                fee=money(breakdown.fee),
                segments=tuple(
                    InterestView(s.start, s.end, s.days, money(s.balance), s.annual_rate, money(s.amount))
                    for s in breakdown.segments
                ),
                interest=money(breakdown.interest),
            )
    return DocumentView(
        kind="invoice",
        purchase_order=invoice.document_purchase_order,
        number=invoice.number,
        status=status,
        is_draft=invoice.status == "draft",
        language=invoice.document_language,
        issue_date=invoice.issue_date,
        supply_date=invoice.document_supply_date,
        due_date=invoice.due_date,
        seller=seller,
        buyer=invoice.buyer_party,
        logo=logo_data_uri(merchant),
        lines=_lines(invoice.lines, currency),
        subtotal=money(invoice.subtotal),
        discount_percent=invoice.discount_percent,
        discount_fixed=money(invoice.discount_fixed),
        discount=money(invoice.discount_amount),
        net=money(invoice.net_amount),
        taxes=_taxes(invoice.lines, invoice.discount_percent, currency, invoice.discount_fixed),
        tax=money(invoice.tax_amount),
        total=money(invoice.total),
        credit_notes=tuple(
            ReductionView(note.number, note.issue_date, money(note.total)) for note in invoice.credit_notes
        ),
        # What is still booked of each payment: refunds and chargebacks are no longer paid.
        payments=tuple(
            ReductionView(payment.method, payment.paid_on, money(payment.kept_principal))
            for payment in invoice.payments
            if payment.kept_principal > 0
        ),
        outstanding=outstanding,
        late_fees=late_fees,
        days_overdue=days_overdue,
        # Only late fees make the amount depend on the day; otherwise the PDF stays the same.
        as_of=as_of if late_fees is not None else None,
        amount_due=amount_due,
        paid_on=invoice.paid_on,
        notes=invoice.notes,
        terms=invoice.document_terms,
        exemptions=tuple(invoice.document_exemption_reasons.items()),
        payment=_payment(seller, invoice),
        transfer=_transfer(invoice, amount_due.minor) if amount_due is not None else None,
        late_payment=_late_payment(invoice.late_fee_policy or merchant.late_fee_policy, currency),
    )


def credit_note_view(note: CreditNote) -> DocumentView:
    """Build the view of a credit note."""
    currency = note.currency
    invoice = note.invoice
    seller = note.seller_party

    def money(minor: int) -> Money:
        return Money(minor, currency)

    return DocumentView(
        kind="credit_note",
        number=note.number,
        status="issued",
        is_draft=False,
        language=note.document_language,
        issue_date=note.issue_date,
        supply_date=None,
        due_date=None,
        seller=seller,
        buyer=note.buyer_party,
        logo=logo_data_uri(invoice.merchant),
        lines=_lines(note.lines, currency),
        subtotal=money(note.subtotal),
        discount_percent=Decimal(0),
        discount_fixed=money(0),
        discount=money(note.subtotal - note.net_amount),
        net=money(note.net_amount),
        taxes=_taxes(note.lines, Decimal(0), currency),
        tax=money(note.tax_amount),
        total=money(note.total),
        exemptions=tuple(note.document_exemption_reasons.items()),
        invoice_number=invoice.number,
        invoice_date=invoice.issue_date,
        reason=note.reason,
    )


@dataclass(frozen=True)
class ReceiptPaymentView:
    """One payment as a receipt lists it: when, how, its reference and all it collected."""

    paid_on: date
    method: str
    reference: str | None
    amount: Money


@dataclass(frozen=True)
class ReceiptView:
    """A paid invoice's receipt: the invoice as issued (parties, number) and the money received for it."""

    document: DocumentView
    payments: tuple[ReceiptPaymentView, ...]
    total_paid: Money


def receipt_view(invoice: Invoice) -> ReceiptView:
    """Gather what the receipt PDF shows, from the invoice's finalized snapshot and its payments."""
    document = invoice_view(invoice, invoice.paid_on or invoice.merchant.today())
    payments = tuple(
        ReceiptPaymentView(payment.paid_on, payment.method, payment.reference, Money(payment.gross, invoice.currency))
        for payment in sorted(invoice.payments, key=lambda payment: (payment.paid_on, payment.id))
        if payment.gross > 0
    )
    total = sum(payment.amount.minor for payment in payments)
    return ReceiptView(document=document, payments=payments, total_paid=Money(total, invoice.currency))

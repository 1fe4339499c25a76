"""Money that arrives and money that leaves: one booking function each, and the customers' credit balance.

Everything that learns of money (provider webhooks and reconcile, staff recording a payment, the
API, bank statement imports) only translates what it learned into book_money_received; refunds
and chargebacks, whoever reports them, into book_money_returned. Both book in the caller's
transaction (they flush; the caller commits) and queue their mails in the outbox, so money is
never received without being booked: on an invoice up to what it needs, the rest on the
customer's credit balance. For every customer and currency, always:

    money received = booked on invoices + credit balance + money refunded (or charged back)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from portal.api.events import record_event
from portal.domain.errors import DomainError, InvalidAmount
from portal.domain.invoices import InvoiceStatus, check_transition
from portal.domain.ledger import AskedFor, split_received, split_returned
from portal.domain.money import Money
from portal.extensions import db
from portal.mail import notifications
from portal.models import CreditNote, Customer, Invoice, Merchant, Payment
from portal.models.ledger import LEAVING_KINDS, RECEIPT_METHODS, CreditEntry, PaymentReversal, Receipt
from portal.services.checkouts import cancel_live_checkouts
from portal.services.errors import Conflict, NotFound
from portal.services.invoices import outstanding, settle_if_paid

#: Credit reasons that add money to the balance from a receipt (what can be refunded where it came from).
MONEY_IN_REASONS = ("overpayment", "invoice_settled", "invoice_void", "unallocated", "credit_note")


@dataclass(frozen=True)
class MoneySource:
    """What reported the money, and its own id there: one source is booked once, however often it reports.

    type: payment_attempt, recorded (staff or API), bank_statement, provider_refund, provider_chargeback, …
    id: the attempt's id, the statement entry's id, the refund's id; None when the source has none
    (each report is then new money, as when staff record a cash payment).
    """

    type: str
    id: str | None = None


@dataclass(frozen=True)
class Booking:
    """Where money received went: the receipt, its payment on the invoice and its credit entry."""

    receipt: Receipt
    payment: Payment | None
    credit: CreditEntry | None
    #: True when the source had been booked already: nothing was booked this time.
    duplicate: bool = False


class InsufficientCredit(DomainError):
    """The customer's credit balance does not cover the amount."""

    code = "insufficient_credit"


# --- reading the balance ----------------------------------------------------------------------


def credit_balances(customer: Customer) -> dict[str, int]:
    """Return the customer's credit balance per currency held (currencies whose entries sum to zero left out)."""
    rows = db.session.execute(
        select(CreditEntry.currency, func.sum(CreditEntry.amount))
        .where(CreditEntry.merchant_id == customer.merchant_id, CreditEntry.customer_id == customer.id)
        .group_by(CreditEntry.currency)
        .order_by(CreditEntry.currency)
    ).all()
    return {currency: int(total) for currency, total in rows if total}


def credit_balance(customer: Customer, currency: str) -> int:
    """Return the customer's credit balance in one currency, in minor units."""
    total = db.session.scalar(
        select(func.coalesce(func.sum(CreditEntry.amount), 0)).where(
            CreditEntry.merchant_id == customer.merchant_id,
            CreditEntry.customer_id == customer.id,
            CreditEntry.currency == currency,
        )
    )
    return int(total or 0)


def credit_entries(customer: Customer, *, limit: int = 200, offset: int = 0) -> list[CreditEntry]:
    """Return the customer's credit entries, newest first."""
    return list(
        db.session.scalars(
            select(CreditEntry)
            .where(CreditEntry.merchant_id == customer.merchant_id, CreditEntry.customer_id == customer.id)
            .options(
                selectinload(CreditEntry.invoice),
                selectinload(CreditEntry.receipt),
                selectinload(CreditEntry.reversal),
            )
            .order_by(CreditEntry.created_at.desc(), CreditEntry.id.desc())
            .limit(limit)
            .offset(offset)
        )
    )


@dataclass(frozen=True)
class RefundableCredit:
    """Credit that came with one receipt and can go back the way it came (up to `amount`)."""

    receipt: Receipt
    amount: int


def refundable_credit(customer: Customer, currency: str) -> list[RefundableCredit]:
    """Return, per receipt, the credit it brought that was not refunded yet, capped by the balance."""
    balance = credit_balance(customer, currency)
    if balance <= 0:
        return []
    brought = dict(
        db.session.execute(
            select(CreditEntry.receipt_id, func.sum(CreditEntry.amount))
            .where(
                CreditEntry.merchant_id == customer.merchant_id,
                CreditEntry.customer_id == customer.id,
                CreditEntry.currency == currency,
                CreditEntry.receipt_id.is_not(None),
                CreditEntry.reason.in_(MONEY_IN_REASONS),
            )
            .group_by(CreditEntry.receipt_id)
        ).all()
    )
    returned = dict(
        db.session.execute(
            select(PaymentReversal.receipt_id, func.sum(PaymentReversal.credit_amount))
            .where(PaymentReversal.receipt_id.in_(list(brought)), PaymentReversal.kind.in_(LEAVING_KINDS))
            .group_by(PaymentReversal.receipt_id)
        ).all()
    )
    result = []
    for receipt_id in sorted(brought, reverse=True):
        left = min(int(brought[receipt_id]) - int(returned.get(receipt_id) or 0), balance)
        if left > 0:
            result.append(RefundableCredit(db.session.get(Receipt, receipt_id), left))
    return result


# --- locks ---------------------------------------------------------------------------------------


def lock_invoice(invoice_id: int) -> Invoice:
    """Return the invoice, locked for this transaction and read afresh (payments and credit notes loaded)."""
    return db.session.execute(
        select(Invoice)
        .where(Invoice.id == invoice_id)
        .with_for_update()
        .options(selectinload(Invoice.payments), selectinload(Invoice.credit_notes))
        .execution_options(populate_existing=True)
    ).scalar_one()


def _lock_customer(customer: Customer) -> None:
    # Spending from the balance locks the customer, so two spends cannot both see the same balance.
    db.session.execute(select(Customer.id).where(Customer.id == customer.id).with_for_update())


def lock_receipt(receipt_id: int) -> Receipt:
    """Return the receipt, locked for this transaction: refunds of one receipt are booked one at a time."""
    return db.session.execute(
        select(Receipt).where(Receipt.id == receipt_id).with_for_update().execution_options(populate_existing=True)
    ).scalar_one()


# --- money in ------------------------------------------------------------------------------------


def _existing_booking(receipt: Receipt) -> Booking:
    credit = db.session.scalar(
        select(CreditEntry).where(CreditEntry.receipt_id == receipt.id, CreditEntry.reason.in_(MONEY_IN_REASONS))
    )
    return Booking(receipt=receipt, payment=receipt.payment, credit=credit, duplicate=True)


def _find_receipt(merchant_id: int, source: MoneySource) -> Receipt | None:
    if source.id is None:
        return None
    return db.session.scalar(
        select(Receipt).where(
            Receipt.merchant_id == merchant_id, Receipt.source_type == source.type, Receipt.source_id == source.id
        )
    )


def _credit_reason(invoice: Invoice | None, currency: str, took_any: bool) -> str:
    if invoice is None or invoice.currency != currency:
        return "unallocated"
    if invoice.state is InvoiceStatus.VOID:
        return "invoice_void"
    if took_any:
        return "overpayment"
    return "invoice_settled"


def book_money_received(
    customer: Customer,
    invoice: Invoice | None,
    amount: Money,
    *,
    method: str,
    source: MoneySource,
    received_on: date,
    reference: str | None = None,
    asked: AskedFor | None = None,
    breakdown: list | None = None,
    recorded_by_id: int | None = None,
    confirm: bool = True,
) -> Booking:
    """Book money that arrived for a customer: on `invoice` up to its outstanding, the rest on the credit balance.

    invoice: the one the payer meant (None: straight to the balance). It may be paid, void or
    fully credited by now: then it takes nothing and all of it is credit. An invoice that reaches
    zero outstanding becomes paid and its other checkouts are cancelled.
    asked: what the payer was shown (principal, late fee, interest); the late charges are booked
    as such only when all of it arrived for that same outstanding principal (breakdown: the steps
    they saw, stored with the payment).
    source: booked once per (type, id); a repeated report returns the first booking (duplicate=True).
    confirm: mail the customer a confirmation and staff a notice of the payment (credit is always
    told to both). In the caller's transaction: it flushes, the caller commits.
    """
    if method not in RECEIPT_METHODS:
        raise DomainError(f"Method must be one of {', '.join(RECEIPT_METHODS)}", "method")
    if amount.minor <= 0:
        raise InvalidAmount("Money received must be a positive amount", "amount")
    if invoice is not None and (invoice.customer_id != customer.id or invoice.merchant_id != customer.merchant_id):
        raise NotFound("No such invoice for this customer", "invoice_id")
    existing = _find_receipt(customer.merchant_id, source)
    if existing is not None:
        return _existing_booking(existing)
    if invoice is not None:
        invoice = lock_invoice(invoice.id)

    receipt = Receipt(
        merchant_id=customer.merchant_id,
        customer_id=customer.id,
        invoice_id=invoice.id if invoice is not None else None,
        amount=amount.minor,
        currency=amount.currency,
        method=method,
        source_type=source.type,
        source_id=source.id,
        reference=reference,
        received_on=received_on,
        recorded_by_id=recorded_by_id,
    )
    try:
        with db.session.begin_nested():
            db.session.add(receipt)
            db.session.flush()
    except IntegrityError:
        # The same source was booked by a concurrent report a moment ago.
        existing = _find_receipt(customer.merchant_id, source)
        if existing is None:
            raise
        return _existing_booking(existing)

    takes = invoice is not None and invoice.state is InvoiceStatus.OPEN and invoice.currency == amount.currency
    split = split_received(amount.minor, outstanding(invoice) if takes else 0, asked)
    payment = None
    if split.on_invoice:
        payment = Payment(
            merchant_id=customer.merchant_id,
            invoice=invoice,
            amount=split.principal,
            fee_amount=split.fee,
            interest_amount=split.interest,
            currency=amount.currency,
            paid_on=received_on,
            method=method,
            reference=reference,
            breakdown=breakdown if split.fee or split.interest or breakdown else None,
            recorded_by_id=recorded_by_id,
            receipt=receipt,
        )
        db.session.add(payment)
        db.session.flush()
        record_event(invoice.merchant, "payment.succeeded", payment)
        _settle(invoice, received_on)
    credit = None
    if split.credit:
        credit = _add_credit(
            customer,
            split.credit,
            amount.currency,
            _credit_reason(invoice, amount.currency, payment is not None),
            receipt=receipt,
            invoice=invoice,
            created_by_id=recorded_by_id,
        )
    db.session.flush()
    if payment is not None and confirm:
        notifications.send_payment_confirmation(payment)
        notifications.notify_staff_of_payment(payment)
    if credit is not None:
        notifications.notify_credit_added(credit, credit_balance(customer, amount.currency))
    return Booking(receipt=receipt, payment=payment, credit=credit)


def _settle(invoice: Invoice, on: date) -> None:
    """Mark the invoice paid once nothing is outstanding, and stop its checkouts."""
    was = invoice.status
    settle_if_paid(invoice, on)
    if was != invoice.status:
        db.session.flush()
        cancel_live_checkouts(invoice)


def _add_credit(
    customer: Customer,
    amount: int,
    currency: str,
    reason: str,
    *,
    receipt: Receipt | None = None,
    invoice: Invoice | None = None,
    payment: Payment | None = None,
    credit_note: CreditNote | None = None,
    reversal: PaymentReversal | None = None,
    created_by_id: int | None = None,
) -> CreditEntry:
    entry = CreditEntry(
        merchant_id=customer.merchant_id,
        customer_id=customer.id,
        amount=amount,
        currency=currency,
        reason=reason,
        receipt_id=receipt.id if receipt is not None else None,
        invoice_id=invoice.id if invoice is not None else None,
        payment_id=payment.id if payment is not None else None,
        credit_note_id=credit_note.id if credit_note is not None else None,
        reversal_id=reversal.id if reversal is not None else None,
        created_by_id=created_by_id,
    )
    db.session.add(entry)
    db.session.flush()
    record_event(customer.merchant, "customer.credit_changed", customer)
    return entry


# --- spending the balance ------------------------------------------------------------------------


def apply_credit(
    customer: Customer,
    invoice: Invoice,
    amount: int | None = None,
    *,
    asked: AskedFor | None = None,
    breakdown: list | None = None,
    created_by_id: int | None = None,
    confirm: bool = False,
) -> Payment:
    """Pay an open invoice from the customer's credit balance; amount None takes as much as both allow.

    asked (the customer's "settle from my balance"): the amount due with late fee and interest, booked
    as such when the balance covers all of it.
    """
    if invoice.customer_id != customer.id or invoice.merchant_id != customer.merchant_id:
        raise NotFound("No such invoice for this customer", "invoice_id")
    invoice = lock_invoice(invoice.id)
    _lock_customer(customer)
    if invoice.state is not InvoiceStatus.OPEN:
        raise Conflict(f"Only an open invoice takes credit; this one is {invoice.status}", "invoice_id")
    balance = credit_balance(customer, invoice.currency)
    left = outstanding(invoice)
    if asked is not None and asked.principal != left:
        asked = None  # the invoice changed since the amount was shown
    ceiling = asked.total if asked is not None else left
    if amount is None:
        amount = min(balance, ceiling)
        if amount <= 0:
            raise InsufficientCredit("There is no credit balance in this invoice's currency", "amount")
    if amount <= 0:
        raise InvalidAmount("The amount must be positive", "amount")
    if amount > balance:
        raise InsufficientCredit(
            f"The credit balance is {Money(max(balance, 0), invoice.currency).format_plain()}", "amount"
        )
    if amount > ceiling:
        raise DomainError(f"The invoice needs {Money(ceiling, invoice.currency).format_plain()} at most", "amount")
    split = split_received(amount, left, asked)
    payment = Payment(
        merchant_id=invoice.merchant_id,
        invoice=invoice,
        amount=split.principal,
        fee_amount=split.fee,
        interest_amount=split.interest,
        currency=invoice.currency,
        paid_on=invoice.merchant.today(),
        method="credit_balance",
        breakdown=breakdown if split.fee or split.interest else None,
        recorded_by_id=created_by_id,
    )
    db.session.add(payment)
    db.session.flush()
    record_event(invoice.merchant, "payment.succeeded", payment)
    _add_credit(
        customer, -amount, invoice.currency, "applied", invoice=invoice, payment=payment, created_by_id=created_by_id
    )
    _settle(invoice, payment.paid_on)
    db.session.flush()
    if confirm:
        notifications.send_payment_confirmation(payment)
        notifications.notify_staff_of_payment(payment)
    return payment


# --- money out -----------------------------------------------------------------------------------


def _reversed_for(receipt_id: int, kind: str) -> int:
    return int(
        db.session.scalar(
            select(func.coalesce(func.sum(PaymentReversal.amount), 0)).where(
                PaymentReversal.receipt_id == receipt_id, PaymentReversal.kind == kind
            )
        )
        or 0
    )


def book_money_returned(
    customer: Customer,
    amount: Money,
    *,
    kind: str,
    method: str,
    source: MoneySource,
    returned_on: date,
    receipt: Receipt | None = None,
    payment: Payment | None = None,
    from_credit: bool = False,
    note: str | None = None,
    created_by_id: int | None = None,
) -> PaymentReversal | None:
    """Book money that left again (kind refunded or charged_back); None when the source was booked already.

    It comes off `payment` (the receipt's own payment when not given): its principal first, which
    lowers the invoice's paid amount and reopens a paid invoice (paid → open, history kept), then the
    late charges collected with it; what exceeds the payment comes out of the credit balance.
    from_credit: all of it comes out of the credit balance (a refund of credit). Staff are notified.
    """
    if kind not in LEAVING_KINDS:
        raise ValueError(f"Unknown kind of money returned {kind!r}")
    if amount.minor <= 0:
        raise InvalidAmount("A refund must be a positive amount", "amount")
    if source.id is not None and db.session.scalar(
        select(PaymentReversal.id).where(
            PaymentReversal.merchant_id == customer.merchant_id,
            PaymentReversal.source_type == source.type,
            PaymentReversal.source_id == source.id,
        )
    ):
        return None
    if payment is None and receipt is not None and not from_credit:
        payment = receipt.payment
    invoice = lock_invoice(payment.invoice_id) if payment is not None else None
    if payment is not None:
        db.session.refresh(payment)
    split = split_returned(
        amount.minor,
        payment.kept_principal if payment is not None else 0,
        payment.kept_late if payment is not None else 0,
        payment_first=not from_credit and payment is not None,
    )
    reversal = PaymentReversal(
        merchant_id=customer.merchant_id,
        customer_id=customer.id,
        kind=kind,
        receipt_id=receipt.id if receipt is not None else (payment.receipt_id if payment is not None else None),
        payment_id=payment.id if payment is not None and (split.principal or split.late) else None,
        amount=amount.minor,
        principal_amount=split.principal,
        late_amount=split.late,
        credit_amount=split.credit,
        currency=amount.currency,
        method=method,
        source_type=source.type,
        source_id=source.id,
        reversed_on=returned_on,
        note=note[:500] if note else None,
        created_by_id=created_by_id,
    )
    try:
        with db.session.begin_nested():
            db.session.add(reversal)
            db.session.flush()
    except IntegrityError:
        return None  # a concurrent report of the same refund won
    if split.credit:
        _add_credit(
            customer,
            -split.credit,
            amount.currency,
            kind,
            receipt=reversal.receipt,
            reversal=reversal,
            created_by_id=created_by_id,
        )
    if payment is not None:
        db.session.refresh(payment)
    if invoice is not None and split.principal:
        _reopen_if_owed(invoice)
    db.session.flush()
    record_event(customer.merchant, "payment.refunded", reversal)
    notifications.notify_staff_of_reversal(reversal)
    return reversal


def _reopen_if_owed(invoice: Invoice) -> None:
    """Reopen a paid invoice whose outstanding amount is positive again (SPEC §1: paid → open)."""
    db.session.refresh(invoice)
    if invoice.state is InvoiceStatus.PAID and outstanding(invoice) > 0:
        check_transition(invoice.state, InvoiceStatus.OPEN)
        invoice.status = InvoiceStatus.OPEN.value
        invoice.paid_on = None
        record_event(invoice.merchant, "invoice.reopened", invoice)


def sync_reported_reversals(
    receipt: Receipt, *, refunded: Money | None, charged_back: Money | None, on: date
) -> list[PaymentReversal]:
    """Book what a provider reports as refunded or charged back in total on a receipt, beyond what is booked.

    Reports are running totals (Mollie's amountRefunded, Stripe's amount_refunded): each new total
    books only the difference, once, however often it is reported or how many reports race.
    """
    receipt = lock_receipt(receipt.id)
    booked = []
    for kind, total in (("refunded", refunded), ("charged_back", charged_back)):
        if total is None or total.currency != receipt.currency:
            continue
        difference = total.minor - _reversed_for(receipt.id, kind)
        if difference <= 0:
            continue
        reversal = book_money_returned(
            receipt.customer,
            Money(difference, receipt.currency),
            kind=kind,
            method=receipt.method,
            source=MoneySource(f"reported_{kind}", f"{receipt.id}:{total.minor}"),
            returned_on=on,
            receipt=receipt,
            note=f"Reported by {receipt.method}: {total.format_plain()} {kind.replace('_', ' ')} in total",
        )
        if reversal is not None:
            booked.append(reversal)
    return booked


def move_to_credit(
    invoice: Invoice, amount: int, *, credit_note: CreditNote, on: date, created_by_id: int | None = None
) -> list[CreditEntry]:
    """Move money paid on the invoice to the customer's balance, newest payments first (a credit note's remainder)."""
    entries = []
    left = amount
    for payment in sorted(invoice.payments, key=lambda p: (p.paid_on, p.id), reverse=True):
        if left <= 0:
            break
        take = min(left, payment.kept_principal)
        if take <= 0:
            continue
        reversal = PaymentReversal(
            merchant_id=invoice.merchant_id,
            customer_id=invoice.customer_id,
            kind="credited",
            receipt_id=payment.receipt_id,
            payment_id=payment.id,
            amount=take,
            principal_amount=take,
            late_amount=0,
            credit_amount=0,
            currency=invoice.currency,
            method="credit_balance",
            source_type="credit_note",
            source_id=f"{credit_note.id}:{payment.id}",
            credit_note_id=credit_note.id,
            reversed_on=on,
            created_by_id=created_by_id,
        )
        db.session.add(reversal)
        db.session.flush()
        entries.append(
            _add_credit(
                invoice.customer,
                take,
                invoice.currency,
                "credit_note",
                receipt=payment.receipt,
                invoice=invoice,
                credit_note=credit_note,
                reversal=reversal,
                created_by_id=created_by_id,
            )
        )
        db.session.refresh(payment)
        left -= take
    if left > 0:
        raise DomainError("Less was paid on this invoice than the credit note would move to the balance", "amount")
    for entry in entries:
        notifications.notify_credit_added(entry, credit_balance(invoice.customer, invoice.currency))
    return entries


# --- the invariant -------------------------------------------------------------------------------


@dataclass(frozen=True)
class MoneyTotals:
    """A customer's money in one currency: what came in, where it is, and what went back."""

    received: int
    on_invoices: int
    credit: int
    returned: int

    @property
    def balanced(self) -> bool:
        """Return whether every minor unit received is accounted for."""
        return self.received == self.on_invoices + self.credit + self.returned


def money_totals(customer: Customer, currency: str) -> MoneyTotals:
    """Add up a customer's receipts, bookings, credit and refunds in one currency (for checks and tests)."""

    def total(statement) -> int:
        return int(db.session.scalar(statement) or 0)

    received = total(
        select(func.sum(Receipt.amount)).where(Receipt.customer_id == customer.id, Receipt.currency == currency)
    )
    payments = db.session.scalars(
        select(Payment)
        .join(Invoice, Invoice.id == Payment.invoice_id)
        .where(Invoice.customer_id == customer.id, Payment.currency == currency)
    ).all()
    on_invoices = sum(p.kept_principal + p.kept_late for p in payments)
    returned = total(
        select(func.sum(PaymentReversal.amount)).where(
            PaymentReversal.customer_id == customer.id,
            PaymentReversal.currency == currency,
            PaymentReversal.kind.in_(LEAVING_KINDS),
        )
    )
    # Payments made from the balance count on the invoices; the balance went down by as much.
    return MoneyTotals(
        received=received, on_invoices=on_invoices, credit=credit_balance(customer, currency), returned=returned
    )


def customers_with_credit(merchant: Merchant, customer_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """Return the credit balances of several customers at once: {customer_id: {currency: minor}}."""
    if not customer_ids:
        return {}
    rows = db.session.execute(
        select(CreditEntry.customer_id, CreditEntry.currency, func.sum(CreditEntry.amount))
        .where(CreditEntry.merchant_id == merchant.id, CreditEntry.customer_id.in_(list(customer_ids)))
        .group_by(CreditEntry.customer_id, CreditEntry.currency)
    ).all()
    result: dict[int, dict[str, int]] = {}
    for customer_id, currency, total in rows:
        if total:
            result.setdefault(customer_id, {})[currency] = int(total)
    return result

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

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from portal.api.events import collected_events, record_event
from portal.domain.errors import DomainError, InvalidAmount
from portal.domain.invoices import InvoiceStatus, check_transition
from portal.domain.ledger import AskedFor, share_returned, split_received, split_returned
from portal.domain.money import Money
from portal.extensions import db
from portal.jobs.queue import enqueue, job_type
from portal.mail import notifications
from portal.models import CreditNote, Customer, Invoice, Merchant, Payment
from portal.models.base import assign_ids
from portal.models.ledger import LEAVING_KINDS, RECEIPT_METHODS, CreditEntry, PaymentReversal, Receipt
from portal.services.checkouts import cancel_live_checkouts, cancel_live_checkouts_of
from portal.services.errors import Conflict, NotFound
from portal.services.invoices import outstanding, settle_if_paid

#: The job that composes the mails of bookings made in bulk (a bank statement), after they are committed.
BOOKING_MAILS = "ledger.booking_mails"
#: IN lists are cut to this many ids (SQLite allows a few thousand bound values per statement).
_CHUNK = 500

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
    return lock_invoices([invoice_id])[invoice_id]


def lock_invoices(invoice_ids: Sequence[int]) -> dict[int, Invoice]:
    """Return the invoices by id, locked for this transaction in id order and read afresh, a few queries in all.

    Locking in id order means two transactions locking overlapping sets wait for each other
    instead of deadlocking. Payments (with their reversals), credit notes and lines come loaded.
    """
    ids = sorted(set(invoice_ids))
    locked: dict[int, Invoice] = {}
    for start in range(0, len(ids), _CHUNK):
        locked.update(
            (invoice.id, invoice)
            for invoice in db.session.scalars(
                select(Invoice)
                .where(Invoice.id.in_(ids[start : start + _CHUNK]))
                .order_by(Invoice.id)
                .with_for_update()
                .options(
                    selectinload(Invoice.payments).selectinload(Payment.reversals),
                    selectinload(Invoice.credit_notes),
                    selectinload(Invoice.lines),
                )
                .execution_options(populate_existing=True)
            )
        )
    missing = set(ids) - locked.keys()
    if missing:
        raise NotFound(f"No such invoice: {min(missing)}", "invoice_id")
    return locked


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


def _find_receipts(received: Sequence[MoneyReceived]) -> dict[tuple[int, str, str], Receipt]:
    """Return the receipts booked before for these sources, by (merchant, type, id): a few queries in all."""
    wanted: dict[tuple[int, str], set[str]] = {}
    for item in received:
        if item.source.id is not None:
            wanted.setdefault((item.customer.merchant_id, item.source.type), set()).add(item.source.id)
    found = {}
    for (merchant_id, source_type), source_ids in wanted.items():
        ids = sorted(source_ids)
        for start in range(0, len(ids), _CHUNK):
            for receipt in db.session.scalars(
                select(Receipt).where(
                    Receipt.merchant_id == merchant_id,
                    Receipt.source_type == source_type,
                    Receipt.source_id.in_(ids[start : start + _CHUNK]),
                )
            ):
                found[(merchant_id, source_type, receipt.source_id)] = receipt
    return found


def _credit_reason(invoice: Invoice | None, currency: str, took_any: bool) -> str:
    if invoice is None or invoice.currency != currency:
        return "unallocated"
    if invoice.state is InvoiceStatus.VOID:
        return "invoice_void"
    if took_any:
        return "overpayment"
    return "invoice_settled"


@dataclass(frozen=True)
class MoneyReceived:
    """One amount of money that arrived, as book_money_received takes it (book_many_received takes a list)."""

    customer: Customer
    invoice: Invoice | None
    amount: Money
    method: str
    source: MoneySource
    received_on: date
    reference: str | None = None
    asked: AskedFor | None = None
    #: Instead of asked: what the payer was shown, worked out from the invoice as it stands when booked.
    asked_for: Callable[[Invoice], AskedFor | None] | None = None
    breakdown: list | None = None
    recorded_by_id: int | None = None
    confirm: bool = True

    @property
    def key(self) -> tuple[int, str, str] | None:
        """Return what makes it the same money as another report: None when the source has no id."""
        return None if self.source.id is None else (self.customer.merchant_id, self.source.type, self.source.id)


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
    [booking] = book_many_received(
        [
            MoneyReceived(
                customer,
                invoice,
                amount,
                method=method,
                source=source,
                received_on=received_on,
                reference=reference,
                asked=asked,
                breakdown=breakdown,
                recorded_by_id=recorded_by_id,
                confirm=confirm,
            )
        ]
    )
    return booking


def book_many_received(received: Sequence[MoneyReceived], *, mails_in_job: bool = False) -> list[Booking]:
    """Book many amounts, in order, each by the rules of book_money_received, in a few queries in all.

    The sources booked before are found at once, the invoices locked at once (in id order), the
    receipts inserted together (one savepoint; only if that fails, one savepoint each, which finds
    what a concurrent report booked a moment ago), then each amount is split on its invoice as it
    stands after the ones before it. mails_in_job: the mails are composed by one job (written in
    this transaction) instead of now, for bulk imports. Flushes; the caller commits.
    """
    for item in received:
        _check_received(item)
    if not received:
        return []
    existing = _find_receipts(received)
    invoices = lock_invoices(
        [item.invoice.id for item in received if item.invoice is not None and item.key not in existing]
    )
    receipts = _insert_receipts(received, existing, invoices)
    bookings: list[Booking | None] = []
    first_of: dict[tuple[int, str, str], int] = {}
    settled: dict[int, Invoice] = {}
    with collected_events():
        for position, (item, (receipt, duplicate)) in enumerate(zip(received, receipts, strict=True)):
            if duplicate:
                bookings.append(None)  # filled in below, once the first booking of that source is flushed
                continue
            if item.key is not None:
                first_of[item.key] = position
            invoice = invoices[item.invoice.id] if item.invoice is not None else None
            booking = _book_received(item, receipt, invoice)
            if booking.payment is not None and invoice.state is InvoiceStatus.PAID:
                settled[invoice.id] = invoice
            bookings.append(booking)
        new_rows = [row for b in bookings if b is not None for row in (b.payment, b.credit) if row is not None]
        assign_ids(db.session, new_rows)
    db.session.flush()
    for position, (item, (receipt, duplicate)) in enumerate(zip(received, receipts, strict=True)):
        if duplicate:
            first = bookings[first_of[item.key]] if item.key in first_of else None
            if first is not None:
                bookings[position] = Booking(first.receipt, first.payment, first.credit, duplicate=True)
            else:
                bookings[position] = _existing_booking(receipt)
    if settled:
        cancel_live_checkouts_of(list(settled))
    made = [(item, b) for item, b in zip(received, bookings, strict=True) if not b.duplicate]
    _tell(made, mails_in_job=mails_in_job)
    return bookings


def _check_received(item: MoneyReceived) -> None:
    if item.method not in RECEIPT_METHODS:
        raise DomainError(f"Method must be one of {', '.join(RECEIPT_METHODS)}", "method")
    if item.amount.minor <= 0:
        raise InvalidAmount("Money received must be a positive amount", "amount")
    invoice, customer = item.invoice, item.customer
    if invoice is not None and (invoice.customer_id != customer.id or invoice.merchant_id != customer.merchant_id):
        raise NotFound("No such invoice for this customer", "invoice_id")


def _receipt(item: MoneyReceived) -> Receipt:
    return Receipt(
        merchant_id=item.customer.merchant_id,
        customer_id=item.customer.id,
        invoice_id=item.invoice.id if item.invoice is not None else None,
        amount=item.amount.minor,
        currency=item.amount.currency,
        method=item.method,
        source_type=item.source.type,
        source_id=item.source.id,
        reference=item.reference,
        received_on=item.received_on,
        recorded_by_id=item.recorded_by_id,
        # Known to have none yet: booking its payment then needs no query for the one it replaces.
        payment=None,
    )


def _insert_receipts(
    received: Sequence[MoneyReceived], existing: dict[tuple[int, str, str], Receipt], invoices: dict[int, Invoice]
) -> list[tuple[Receipt | None, bool]]:
    """Insert a receipt for each new source; return (receipt, duplicate) per item, in order."""
    fresh: dict[int, Receipt] = {}
    seen: set[tuple[int, str, str]] = set()
    for position, item in enumerate(received):
        if item.key is not None and (item.key in existing or item.key in seen):
            continue
        if item.key is not None:
            seen.add(item.key)
        fresh[position] = _receipt(item)
    try:
        with db.session.begin_nested():
            assign_ids(db.session, fresh.values())
            db.session.add_all(fresh.values())
            db.session.flush()
    except IntegrityError:
        # A concurrent report booked one of these sources a moment ago: one savepoint each finds which.
        for position in list(fresh):
            item = received[position]
            receipt = _receipt(item)
            try:
                with db.session.begin_nested():
                    db.session.add(receipt)
                    db.session.flush()
            except IntegrityError:
                found = _find_receipt(item.customer.merchant_id, item.source)
                if found is None:
                    raise
                existing[item.key] = found
                del fresh[position]
            else:
                fresh[position] = receipt
    result = []
    for position, item in enumerate(received):
        if position in fresh:
            result.append((fresh[position], False))
        else:
            result.append((existing.get(item.key), True))
    return result


def _book_received(item: MoneyReceived, receipt: Receipt, invoice: Invoice | None) -> Booking:
    """Split one receipt on its (locked) invoice and the credit balance: the booking rules, in one place."""
    customer, amount, received_on = item.customer, item.amount, item.received_on
    takes = invoice is not None and invoice.state is InvoiceStatus.OPEN and invoice.currency == amount.currency
    asked = item.asked
    if item.asked_for is not None and invoice is not None:
        asked = item.asked_for(invoice)
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
            method=item.method,
            reference=item.reference,
            breakdown=item.breakdown if split.fee or split.interest or item.breakdown else None,
            recorded_by_id=item.recorded_by_id,
            receipt=receipt,
            reversals=[],
        )
        db.session.add(payment)
        record_event(invoice.merchant, "payment.succeeded", payment)
        settle_if_paid(invoice, received_on)
    credit = None
    if split.credit:
        credit = _add_credit(
            customer,
            split.credit,
            amount.currency,
            _credit_reason(invoice, amount.currency, payment is not None),
            receipt=receipt,
            invoice=invoice,
            created_by_id=item.recorded_by_id,
        )
    return Booking(receipt=receipt, payment=payment, credit=credit)


def _balances_after(credits: list[CreditEntry]) -> dict[int, int]:
    """Return, per credit entry (by id), the customer's balance right after it: one query for all of them."""
    now: dict[tuple[int, str], int] = {}
    customers = sorted({c.customer_id for c in credits})
    for start in range(0, len(customers), _CHUNK):
        now.update(
            ((customer_id, currency), int(total or 0))
            for customer_id, currency, total in db.session.execute(
                select(CreditEntry.customer_id, CreditEntry.currency, func.sum(CreditEntry.amount))
                .where(CreditEntry.customer_id.in_(customers[start : start + _CHUNK]))
                .group_by(CreditEntry.customer_id, CreditEntry.currency)
            )
        )
    after = {}
    for credit in reversed(credits):
        key = (credit.customer_id, credit.currency)
        after[credit.id] = now.get(key, 0)
        now[key] = now.get(key, 0) - credit.amount
    return after


def _tell(made: list[tuple[MoneyReceived, Booking]], *, mails_in_job: bool) -> None:
    """Mail what the bookings did (payment confirmations and notices, credit notices), now or through one job."""
    told = [(item, b) for item, b in made if (b.payment is not None and item.confirm) or b.credit is not None]
    credits = [booking.credit for _, booking in told if booking.credit is not None]
    balances = _balances_after(credits) if credits else {}
    if not mails_in_job:
        for item, booking in told:
            if booking.payment is not None and item.confirm:
                notifications.send_payment_confirmation(booking.payment)
                notifications.notify_staff_of_payment(booking.payment)
            if booking.credit is not None:
                notifications.notify_credit_added(booking.credit, balances[booking.credit.id])
        return
    by_merchant: dict[int, list[dict[str, Any]]] = {}
    for item, booking in told:
        by_merchant.setdefault(item.customer.merchant_id, []).append(
            {
                "receipt_id": booking.receipt.id,
                "confirm": item.confirm,
                "credit_id": booking.credit.id if booking.credit is not None else None,
                "balance": balances.get(booking.credit.id) if booking.credit is not None else None,
            }
        )
    for merchant_id, bookings in by_merchant.items():
        enqueue(BOOKING_MAILS, {"bookings": bookings}, merchant_id=merchant_id)


@job_type(BOOKING_MAILS)
def send_booking_mails(payload: dict[str, Any], job: Any) -> None:
    """Compose and queue the mails of bookings made in bulk: what book_money_received would have mailed at once."""
    for told in payload.get("bookings", []):
        receipt = db.session.get(Receipt, told["receipt_id"])
        if receipt is None or receipt.merchant_id != job.merchant_id:
            continue
        if receipt.payment is not None and told.get("confirm"):
            notifications.send_payment_confirmation(receipt.payment)
            notifications.notify_staff_of_payment(receipt.payment)
        if told.get("credit_id") is not None:
            credit = db.session.get(CreditEntry, told["credit_id"])
            if credit is not None:
                notifications.notify_credit_added(credit, told.get("balance"))


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


def _returned_from(receipt_id: int) -> int:
    """Return how much of a receipt went back already (refunds and chargebacks)."""
    return int(
        db.session.scalar(
            select(func.coalesce(func.sum(PaymentReversal.amount), 0)).where(
                PaymentReversal.receipt_id == receipt_id, PaymentReversal.kind.in_(LEAVING_KINDS)
            )
        )
        or 0
    )


def _lock_receipts(receipts: Sequence[Receipt]) -> list[Receipt]:
    """Lock the receipts in id order (so two reports never deadlock) and return them in the order given."""
    locked = {receipt.id: lock_receipt(receipt.id) for receipt in sorted(receipts, key=lambda item: item.id)}
    return [locked[receipt.id] for receipt in receipts]


def book_returned_across(
    receipts: Sequence[Receipt],
    amount: Money,
    *,
    kind: str,
    source: MoneySource,
    returned_on: date,
    note: str | None = None,
) -> list[PaymentReversal]:
    """Book money sent back of one payment that paid several invoices, a receipt each.

    receipts: in the order they give money back — the checkout's rule is the invoice due last
    first, so a partial refund reopens invoices in reverse due-date order. Each gives back up to
    what it still holds (share_returned), by book_money_returned's rules (its payment's principal,
    then its late charges, then the credit it brought). The first part is booked under `source`
    itself, the others under `source#<receipt id>`: a source booked before books nothing again.
    All parts in the caller's transaction: all of them or none.
    """
    if not receipts:
        return []
    ordered = _lock_receipts(receipts)
    shares = share_returned(amount.minor, [receipt.amount - _returned_from(receipt.id) for receipt in ordered])
    booked: list[PaymentReversal] = []
    for receipt, share in zip(ordered, shares, strict=True):
        if share <= 0:
            continue
        part_source = source
        if booked and source.id is not None:
            part_source = MoneySource(source.type, f"{source.id}#{receipt.id}")
        reversal = book_money_returned(
            receipt.customer,
            Money(share, amount.currency),
            kind=kind,
            method=receipt.method,
            source=part_source,
            returned_on=returned_on,
            receipt=receipt,
            note=note,
        )
        if reversal is None:
            if not booked:
                return []  # booked before, or by a report that won the race a moment ago
            raise Conflict(f"Part of {source.type} {source.id} was booked already", "source")
        booked.append(reversal)
    return booked


def sync_reported_reversals_across(
    receipts: Sequence[Receipt], *, refunded: Money | None, charged_back: Money | None, on: date
) -> list[PaymentReversal]:
    """Book what a provider reports refunded or charged back in total on one payment that paid several invoices.

    As sync_reported_reversals, with the running totals compared to what is booked on all of its
    receipts together; each new total books only the difference, shared by book_returned_across.
    """
    if not receipts:
        return []
    ordered = _lock_receipts(receipts)
    currency = ordered[0].currency
    booked: list[PaymentReversal] = []
    for kind, total in (("refunded", refunded), ("charged_back", charged_back)):
        if total is None or total.currency != currency:
            continue
        difference = total.minor - sum(_reversed_for(receipt.id, kind) for receipt in ordered)
        if difference <= 0:
            continue
        booked += book_returned_across(
            ordered,
            Money(difference, currency),
            kind=kind,
            source=MoneySource(f"reported_{kind}", f"{ordered[0].id}:{total.minor}"),
            returned_on=on,
            note=f"Reported by {ordered[0].method}: {total.format_plain()} {kind.replace('_', ' ')} in total",
        )
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

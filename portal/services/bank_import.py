"""Bank statements in: store each credit entry once, book the ones whose reference names an invoice.

The parser and the matcher are pure (portal.domain.bank_statements, .bank_matching); this module
only loads what they need, stores what they decided and books money through the ledger's one
booking function (source: the bank transaction), so a matched transfer is booked and mailed like
an online payment, too much becomes credit and too little leaves the rest open.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from portal.api.events import record_event
from portal.domain.bank_matching import (
    EntryMatch,
    InvoiceIndex,
    InvoiceToMatch,
    KnownPayer,
    MatchStatus,
    plan_import,
)
from portal.domain.bank_statements import MAX_STATEMENT_BYTES, StatementEntry, parse_statement
from portal.domain.invoices import InvoiceStatus
from portal.domain.ledger import AskedFor
from portal.domain.money import Money
from portal.domain.payment_references import format_reference
from portal.extensions import db
from portal.models import Customer, Invoice, Merchant, Payment
from portal.models.bank import BankTransaction
from portal.services.errors import Conflict, NotFound
from portal.services.invoices import invoice_breakdown
from portal.services.ledger import Booking, MoneySource, book_money_received

#: What a bank transaction's receipt is booked under: one entry is booked once, however often imported.
SOURCE_TYPE = "bank_transaction"
#: Statuses staff still have to decide.
WAITING = ("suggested", "unmatched")
_KEY_CHUNK = 500


@dataclass(frozen=True)
class ImportResult:
    """What one import did: the counts the API answers."""

    entries: int
    matched: int
    suggested: int
    unmatched: int
    duplicates: int
    #: Debits, reversals and pending entries: read, counted here, never stored or booked.
    skipped: int = 0

    def as_dict(self) -> dict[str, int]:
        """Return the counts the API answers, by name (credit entries only)."""
        return {
            "entries": self.entries,
            "matched": self.matched,
            "suggested": self.suggested,
            "unmatched": self.unmatched,
            "duplicates": self.duplicates,
        }


def _invoices_to_match(merchant: Merchant) -> tuple[list[InvoiceToMatch], dict[int, Invoice]]:
    today = merchant.today()
    rows = db.session.scalars(
        select(Invoice)
        .where(
            Invoice.merchant_id == merchant.id,
            Invoice.status != InvoiceStatus.DRAFT.value,
            Invoice.number.is_not(None),
        )
        .options(
            selectinload(Invoice.payments).selectinload(Payment.reversals),
            selectinload(Invoice.credit_notes),
        )
        .order_by(Invoice.due_date, Invoice.id)
    ).all()
    indexed = []
    for invoice in rows:
        if invoice.state is InvoiceStatus.OPEN:
            breakdown = invoice_breakdown(invoice, today)
            amount_due, left = (breakdown.amount_due, breakdown.outstanding) if breakdown else (0, 0)
        else:
            amount_due = left = 0
        indexed.append(
            InvoiceToMatch(
                invoice_id=invoice.id,
                customer_id=invoice.customer_id,
                number=invoice.number,
                reference=invoice.payment_reference,
                currency=invoice.currency,
                amount_due=amount_due,
                outstanding=left,
            )
        )
    return indexed, {invoice.id: invoice for invoice in rows}


def _known_payers(merchant: Merchant) -> list[KnownPayer]:
    """Return each customer's own name and the payers of transfers booked on their invoices before."""
    names: dict[int, set[str]] = {}
    ibans: dict[int, set[str]] = {}
    for customer_id, name, company in db.session.execute(
        select(Customer.id, Customer.name, Customer.company).where(Customer.merchant_id == merchant.id)
    ):
        names.setdefault(customer_id, set()).update(n for n in (name, company) if n)
    for customer_id, payer_name, payer_iban in db.session.execute(
        select(Invoice.customer_id, BankTransaction.payer_name, BankTransaction.payer_iban)
        .join(Invoice, Invoice.id == BankTransaction.invoice_id)
        .where(BankTransaction.merchant_id == merchant.id, BankTransaction.status == "matched")
        .distinct()
    ):
        if payer_name:
            names.setdefault(customer_id, set()).add(payer_name)
        if payer_iban:
            ibans.setdefault(customer_id, set()).add(payer_iban)
    return [
        KnownPayer(customer_id, names=names.get(customer_id, ()), ibans=ibans.get(customer_id, ()))
        for customer_id in names.keys() | ibans.keys()
    ]


def _seen_keys(merchant: Merchant, keys: Iterable[str]) -> set[str]:
    keys = list(dict.fromkeys(keys))
    seen: set[str] = set()
    for start in range(0, len(keys), _KEY_CHUNK):
        seen.update(
            db.session.scalars(
                select(BankTransaction.entry_key).where(
                    BankTransaction.merchant_id == merchant.id,
                    BankTransaction.entry_key.in_(keys[start : start + _KEY_CHUNK]),
                )
            )
        )
    return seen


def _transaction(merchant: Merchant, entry: StatementEntry, decision: EntryMatch) -> BankTransaction:
    return BankTransaction(
        merchant_id=merchant.id,
        message=entry.message,
        statement_id=(entry.statement_id or None) and entry.statement_id[:140],
        account_iban=(entry.account_iban or None) and entry.account_iban[:34],
        entry_key=entry.key[:255],
        booking_date=entry.booking_date,
        amount=entry.amount,
        currency=entry.currency,
        payer_name=(entry.debtor_name or None) and entry.debtor_name[:140],
        payer_iban=(entry.debtor_iban or None) and entry.debtor_iban[:34],
        end_to_end_id=(entry.end_to_end_id or None) and entry.end_to_end_id[:140],
        structured_reference=" ".join(entry.structured_references)[:255] or None,
        remittance=entry.unstructured,
        status=decision.status.value,
        suggestions=[
            {"invoice_id": s.invoice_id, "reasons": [r.value for r in s.reasons]} for s in decision.suggestions
        ],
        matched_reference=decision.reference,
    )


def _store(transaction: BankTransaction) -> bool:
    """Insert the transaction; False when a concurrent import stored the same entry a moment ago."""
    try:
        with db.session.begin_nested():
            db.session.add(transaction)
            db.session.flush()
    except IntegrityError:
        return False
    return True


def _book(transaction: BankTransaction, invoice: Invoice, *, staff_id: int | None = None) -> Booking:
    """Book the transaction's money on the invoice through the ledger (the rest, if any, as credit)."""
    asked = None
    breakdown = invoice_breakdown(invoice, transaction.booking_date) if invoice.state is InvoiceStatus.OPEN else None
    if breakdown is not None:
        # A transfer of the whole amount due that day settles its late charges too, like the pay button.
        asked = AskedFor(breakdown.outstanding, breakdown.fee, breakdown.interest)
    reference = transaction.matched_reference
    booking = book_money_received(
        invoice.customer,
        invoice,
        Money(transaction.amount, transaction.currency),
        method="bank_transfer",
        source=MoneySource(SOURCE_TYPE, str(transaction.id)),
        received_on=transaction.booking_date,
        reference=format_reference(reference) if reference else transaction.end_to_end_id or transaction.entry_key,
        asked=asked,
        recorded_by_id=staff_id,
    )
    transaction.status = "matched"
    transaction.invoice_id = invoice.id
    transaction.receipt_id = booking.receipt.id
    db.session.flush()
    return booking


def import_statement(merchant: Merchant, data: bytes, *, max_bytes: int = MAX_STATEMENT_BYTES) -> ImportResult:
    """Import a CAMT.052/053/054 document: store each new credit entry, book those whose reference names an invoice.

    Raises StatementError (nothing written) when the document cannot be read. In the caller's
    transaction: it flushes, the caller commits.
    """
    statement = parse_statement(data, max_bytes=max_bytes)
    incoming = statement.incoming_payments
    invoices, by_id = _invoices_to_match(merchant)
    index = InvoiceIndex.build(invoices, _known_payers(merchant))
    plan = plan_import(incoming, index, _seen_keys(merchant, (entry.key for entry in incoming)))
    counts = {"matched": 0, "suggested": 0, "unmatched": 0}
    duplicates = len(plan.duplicates)
    for planned in plan.planned:
        transaction = _transaction(merchant, planned.entry, planned.match)
        if not _store(transaction):
            duplicates += 1
            continue
        if planned.match.status is MatchStatus.MATCHED and planned.match.invoice_id is not None:
            _book(transaction, by_id[planned.match.invoice_id])
        if transaction.status in WAITING:
            # Money arrived that nothing booked: the merchant's systems may want to look too.
            record_event(merchant, "bank_transaction.unmatched", transaction)
        counts[transaction.status] += 1
    skipped = len(statement.entries) - len(incoming)
    return ImportResult(entries=len(incoming), duplicates=duplicates, skipped=skipped, **counts)


# --- staff decide what the import could not -------------------------------------------------------


def get_transaction(merchant: Merchant, transaction_id: int) -> BankTransaction:
    """Return one of the merchant's bank transactions (NotFound for another merchant's)."""
    transaction = db.session.get(BankTransaction, transaction_id)
    if transaction is None or transaction.merchant_id != merchant.id:
        raise NotFound("No such bank transaction")
    return transaction


def list_transactions(
    merchant: Merchant, *, statuses: Iterable[str] | None = None, limit: int = 50, offset: int = 0
) -> tuple[list[BankTransaction], bool]:
    """Return the merchant's bank transactions, newest first, and whether more follow."""
    query = select(BankTransaction).where(BankTransaction.merchant_id == merchant.id)
    if statuses is not None:
        query = query.where(BankTransaction.status.in_(list(statuses)))
    rows = list(
        db.session.scalars(
            query.order_by(BankTransaction.booking_date.desc(), BankTransaction.id.desc())
            .limit(limit + 1)
            .offset(offset)
        )
    )
    return rows[:limit], len(rows) > limit


def _lock(transaction: BankTransaction) -> BankTransaction:
    # Two staff pressing "match" at once: the second sees the first's decision.
    return db.session.execute(
        select(BankTransaction)
        .where(BankTransaction.id == transaction.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()


def match_transaction(transaction: BankTransaction, invoice: Invoice, *, staff_id: int | None = None) -> Booking:
    """Book a waiting (or ignored) transaction on an invoice staff chose."""
    transaction = _lock(transaction)
    if transaction.status == "matched":
        raise Conflict("This transaction is booked already", "status")
    if invoice.merchant_id != transaction.merchant_id or invoice.state is InvoiceStatus.DRAFT:
        raise NotFound("No such invoice", "invoice_id")
    transaction.decided_by_id = staff_id
    return _book(transaction, invoice, staff_id=staff_id)


def ignore_transaction(transaction: BankTransaction, *, staff_id: int | None = None) -> BankTransaction:
    """Mark a waiting transaction as not an invoice payment (a refund from a supplier, a transfer between accounts)."""
    transaction = _lock(transaction)
    if transaction.status == "matched":
        raise Conflict("This transaction is booked already", "status")
    transaction.status = "ignored"
    transaction.decided_by_id = staff_id
    db.session.flush()
    return transaction


def suggested_invoices(transactions: Iterable[BankTransaction]) -> dict[int, Invoice]:
    """Return the invoices the transactions suggest, by id (one query)."""
    ids = {s["invoice_id"] for t in transactions for s in (t.suggestions or [])}
    if not ids:
        return {}
    return {invoice.id: invoice for invoice in db.session.scalars(select(Invoice).where(Invoice.id.in_(ids)))}


def invoice_by_number(merchant: Merchant, number: str) -> Invoice:
    """Return the merchant's finalized invoice with this number (NotFound otherwise)."""
    invoice = db.session.scalar(
        select(Invoice).where(Invoice.merchant_id == merchant.id, Invoice.number == number.strip())
    )
    if invoice is None:
        raise NotFound(f"No invoice numbered {number.strip()!r}", "invoice_number")
    return invoice

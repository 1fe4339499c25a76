"""Bank statements in: store each credit entry once, book the ones whose reference names an invoice.

The parser and the matcher are pure (portal.domain.bank_statements, .bank_matching); this module
only loads what they need, stores what they decided and books money through the ledger's one
booking function (source: the bank transaction), so a matched transfer is booked and mailed like
an online payment, too much becomes credit and too little leaves the rest open.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import Integer, any_, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import selectinload

from portal.api.events import collected_events, record_event
from portal.domain.bank_matching import (
    EntryMatch,
    InvoiceIndex,
    InvoiceToMatch,
    KnownPayer,
    MatchStatus,
    plan_import,
)
from portal.domain.bank_statements import MAX_STATEMENT_BYTES, BankStatement, StatementEntry, parse_statement
from portal.domain.invoices import InvoiceStatus
from portal.domain.ledger import AskedFor
from portal.domain.money import Money
from portal.domain.payment_references import format_reference
from portal.extensions import db
from portal.jobs.queue import PermanentError, enqueue, job_type
from portal.models import Customer, Invoice, Merchant, Payment
from portal.models.bank import BankStatementImport, BankTransaction
from portal.models.base import draw_ids, utcnow
from portal.models.job import Job
from portal.services.errors import Conflict, NotFound
from portal.services.invoices import invoice_breakdown
from portal.services.ledger import Booking, MoneyReceived, MoneySource, book_many_received

#: What a bank transaction's receipt is booked under: one entry is booked once, however often imported.
SOURCE_TYPE = "bank_transaction"
#: Statuses staff still have to decide.
WAITING = ("suggested", "unmatched")
_KEY_CHUNK = 500
#: Entries stored and booked together: one insert, one lock of their invoices, one savepoint for their receipts.
BATCH = 500
#: The job that imports a large statement posted to the API.
IMPORT_JOB = "bank.import_statement"


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
    #: Seconds spent per step (load, match, store, book, events), for the benchmark.
    timings: dict[str, float] = field(default_factory=dict, compare=False)

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


def _customers(merchant: Merchant) -> list[Customer]:
    """Return the merchant's customers (kept while importing: each booking finds its invoice's customer loaded)."""
    return list(db.session.scalars(select(Customer).where(Customer.merchant_id == merchant.id)))


def _known_payers(merchant: Merchant, customers: Iterable[Customer]) -> list[KnownPayer]:
    """Return each customer's own name and the payers of transfers booked on their invoices before."""
    names: dict[int, set[str]] = {}
    ibans: dict[int, set[str]] = {}
    for customer in customers:
        names.setdefault(customer.id, set()).update(n for n in (customer.name, customer.company) if n)
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


def _transaction_row(merchant: Merchant, entry: StatementEntry, decision: EntryMatch) -> dict[str, Any]:
    return {
        "merchant_id": merchant.id,
        "message": entry.message,
        "statement_id": (entry.statement_id or None) and entry.statement_id[:140],
        "account_iban": (entry.account_iban or None) and entry.account_iban[:34],
        "entry_key": entry.key[:255],
        "booking_date": entry.booking_date,
        "amount": entry.amount,
        "currency": entry.currency,
        "payer_name": (entry.debtor_name or None) and entry.debtor_name[:140],
        "payer_iban": (entry.debtor_iban or None) and entry.debtor_iban[:34],
        "end_to_end_id": (entry.end_to_end_id or None) and entry.end_to_end_id[:140],
        "structured_reference": " ".join(entry.structured_references)[:255] or None,
        "remittance": entry.unstructured,
        "status": decision.status.value,
        "suggestions": [
            {"invoice_id": s.invoice_id, "reasons": [r.value for r in s.reasons]} for s in decision.suggestions
        ],
        "matched_reference": decision.reference,
        "created_at": utcnow(),
    }


def _store(merchant: Merchant, planned: Sequence[Any]) -> list[tuple[Any, BankTransaction]]:
    """Insert the planned entries together; return those stored now, in order, with their rows.

    An entry another import stored (even a moment ago, not yet committed: the insert waits for it)
    is left out: ON CONFLICT DO NOTHING on the (merchant, entry key) key, so it is booked once.
    """
    rows = {}
    for item in planned:
        rows.setdefault(item.entry.key[:255], _transaction_row(merchant, item.entry, item.match))
    # Keys in one order, so concurrent imports of overlapping statements wait for each other, never in a circle.
    ordered = [rows[key] for key in sorted(rows)]
    if db.session.get_bind().dialect.name == "postgresql":
        # Ids drawn first, then one pipelined executemany: no multi-row statement of thousands of placeholders.
        # The rows this import stored are those that exist under the ids it drew.
        ids = draw_ids(db.session, BankTransaction.__tablename__, len(ordered))
        for row, new_id in zip(ordered, ids, strict=True):
            row["id"] = new_id
        db.session.execute(
            postgresql.insert(BankTransaction.__table__).on_conflict_do_nothing(
                index_elements=["merchant_id", "entry_key"]
            ),
            ordered,
        )
        found = db.session.scalars(
            select(BankTransaction).where(
                BankTransaction.id == any_(bindparam("ids", ids, type_=postgresql.ARRAY(Integer)))
            )
        )
    else:
        statement = (
            sqlite.insert(BankTransaction)
            .on_conflict_do_nothing(index_elements=["merchant_id", "entry_key"])
            .returning(BankTransaction)
        )
        found = db.session.scalars(statement, ordered)
    stored = {transaction.entry_key: transaction for transaction in found}
    result = []
    for item in planned:
        transaction = stored.pop(item.entry.key[:255], None)
        if transaction is not None:
            result.append((item, transaction))
    return result


def _asked_on(booking_date):
    def asked(invoice: Invoice) -> AskedFor | None:
        # A transfer of the whole amount due that day settles its late charges too, like the pay button.
        if invoice.state is not InvoiceStatus.OPEN:
            return None
        breakdown = invoice_breakdown(invoice, booking_date)
        return AskedFor(breakdown.outstanding, breakdown.fee, breakdown.interest) if breakdown is not None else None

    return asked


def _received(transaction: BankTransaction, invoice: Invoice, *, staff_id: int | None = None) -> MoneyReceived:
    """Translate the transaction into money received for the ledger: on the invoice, the rest as credit."""
    reference = transaction.matched_reference
    return MoneyReceived(
        invoice.customer,
        invoice,
        Money(transaction.amount, transaction.currency),
        method="bank_transfer",
        source=MoneySource(SOURCE_TYPE, str(transaction.id)),
        received_on=transaction.booking_date,
        reference=format_reference(reference) if reference else transaction.end_to_end_id or transaction.entry_key,
        asked_for=_asked_on(transaction.booking_date),
        recorded_by_id=staff_id,
    )


def _mark_booked(transaction: BankTransaction, invoice: Invoice, booking: Booking) -> None:
    transaction.status = "matched"
    transaction.invoice_id = invoice.id
    transaction.receipt_id = booking.receipt.id


def _book(transaction: BankTransaction, invoice: Invoice, *, staff_id: int | None = None) -> Booking:
    """Book the transaction's money on the invoice through the ledger (the rest, if any, as credit)."""
    [booking] = book_many_received([_received(transaction, invoice, staff_id=staff_id)])
    _mark_booked(transaction, invoice, booking)
    db.session.flush()
    return booking


def import_statement(merchant: Merchant, data: bytes, *, max_bytes: int = MAX_STATEMENT_BYTES) -> ImportResult:
    """Import a CAMT.052/053/054 document: store each new credit entry, book those whose reference names an invoice.

    Raises StatementError (nothing written) when the document cannot be read. In the caller's
    transaction: it flushes, the caller commits.
    """
    return import_parsed(merchant, parse_statement(data, max_bytes=max_bytes))


def import_parsed(merchant: Merchant, statement: BankStatement) -> ImportResult:
    """Import a parsed statement, BATCH entries at a time (see import_statement).

    Per batch: one insert of its transactions, one lock of the invoices they name, one savepoint
    for their receipts, the events written together and the mails left to one job.
    """
    timings: dict[str, float] = {}

    @contextmanager
    def timed(step: str):
        started = time.perf_counter()
        yield
        timings[step] = timings.get(step, 0.0) + time.perf_counter() - started

    incoming = statement.incoming_payments
    with timed("load invoices and payers"):
        invoices, by_id = _invoices_to_match(merchant)
        customers = _customers(merchant)
        payers = _known_payers(merchant, customers)
        seen = _seen_keys(merchant, (entry.key for entry in incoming))
    with timed("match"):
        plan = plan_import(incoming, InvoiceIndex.build(invoices, payers), seen)
    counts = {"matched": 0, "suggested": 0, "unmatched": 0}
    duplicates = len(plan.duplicates)
    for start in range(0, len(plan.planned), BATCH):
        batch = plan.planned[start : start + BATCH]
        with timed("store transactions"):
            stored = _store(merchant, batch)
        duplicates += len(batch) - len(stored)
        to_book = [
            (transaction, by_id[item.match.invoice_id])
            for item, transaction in stored
            if item.match.status is MatchStatus.MATCHED and item.match.invoice_id is not None
        ]
        with timed("book through the ledger"):
            bookings = book_many_received(
                [_received(transaction, invoice) for transaction, invoice in to_book], mails_in_job=True
            )
        with timed("record unmatched events, flush"):
            for (transaction, invoice), booking in zip(to_book, bookings, strict=True):
                _mark_booked(transaction, invoice, booking)
            with collected_events():
                for _, transaction in stored:
                    if transaction.status in WAITING:
                        # Money arrived that nothing booked: the merchant's systems may want to look too.
                        record_event(merchant, "bank_transaction.unmatched", transaction)
                    counts[transaction.status] += 1
            db.session.flush()
    skipped = len(statement.entries) - len(incoming)
    return ImportResult(entries=len(incoming), duplicates=duplicates, skipped=skipped, timings=timings, **counts)


# --- large statements: imported by a job ----------------------------------------------------------


def queue_import(merchant: Merchant, data: bytes, entries: int) -> BankStatementImport:
    """Keep the statement and enqueue the job that imports it, in the caller's transaction."""
    pending = BankStatementImport(merchant_id=merchant.id, status="pending", document=data, entries=entries)
    db.session.add(pending)
    db.session.flush()
    enqueue(IMPORT_JOB, {"import_id": pending.id}, merchant_id=merchant.id)
    return pending


def get_import(merchant: Merchant, import_id: int) -> BankStatementImport:
    """Return one of the merchant's statement imports (NotFound for another merchant's)."""
    found = db.session.get(BankStatementImport, import_id)
    if found is None or found.merchant_id != merchant.id:
        raise NotFound("No such bank statement import")
    return found


def _import_failed(payload: dict[str, Any], job: Job, error: str, final: bool) -> None:
    if not final:
        return
    found = db.session.get(BankStatementImport, payload.get("import_id"))
    if found is not None and found.status == "pending":
        found.status = "failed"
        found.error = error
        found.finished_at = utcnow()


@job_type(IMPORT_JOB, lease=timedelta(minutes=30), max_attempts=3, on_failure=_import_failed)
def run_import(payload: dict[str, Any], job: Job) -> None:
    """Import a statement posted to the API: the counts are recorded with it, in the import's transaction."""
    found = db.session.get(BankStatementImport, payload.get("import_id"))
    if found is None or found.merchant_id != job.merchant_id:
        raise PermanentError("The statement import no longer exists")
    if found.status != "pending":
        return  # imported already (a retried job): the entries are stored once anyway
    merchant = db.session.get(Merchant, found.merchant_id)
    result = import_statement(merchant, found.document)
    found.status = "done"
    found.matched, found.suggested = result.matched, result.suggested
    found.unmatched, found.duplicates = result.unmatched, result.duplicates
    found.document = None
    found.finished_at = utcnow()


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
    """Return the invoices the transactions suggest, by id (those not loaded yet in one query)."""
    ids = {s["invoice_id"] for t in transactions for s in (t.suggestions or [])}
    found = {}
    for invoice_id in ids:
        loaded = db.session.identity_map.get(db.session.identity_key(Invoice, invoice_id))
        if loaded is not None:
            found[invoice_id] = loaded
    missing = ids - found.keys()
    if missing:
        found.update((i.id, i) for i in db.session.scalars(select(Invoice).where(Invoice.id.in_(missing))))
    return found


def invoice_by_number(merchant: Merchant, number: str) -> Invoice:
    """Return the merchant's finalized invoice with this number (NotFound otherwise)."""
    invoice = db.session.scalar(
        select(Invoice).where(Invoice.merchant_id == merchant.id, Invoice.number == number.strip())
    )
    if invoice is None:
        raise NotFound(f"No invoice numbered {number.strip()!r}", "invoice_number")
    return invoice

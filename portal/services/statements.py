"""Statements of account: every movement of a customer's account over a period, with a running balance.

The balance is what the customer owes less the credit the merchant holds for them, per currency:

    balance = Σ outstanding of their invoices − credit balance

Every movement below is signed from the customer's side (+ raises what they owe): an invoice
issued, a credit note, money booked on an invoice (with the late charges it paid shown apart), a
refund or chargeback, a cancelled invoice, and every entry of the credit ledger. Summed from the
first day, the movements give exactly the outstanding amounts the API reports minus the credit
balance, so the statement and the API never disagree.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from portal.documents.epc_qr import epc_qr_data_uri
from portal.domain.errors import DomainError
from portal.domain.identifiers import format_iban
from portal.domain.invoices import InvoiceStatus
from portal.domain.money import Money
from portal.domain.payment_references import format_reference
from portal.extensions import db
from portal.models import CreditNote, Customer, Invoice, Payment
from portal.models.ledger import CreditEntry
from portal.models.statement import StatementRun
from portal.services.invoices import invoice_breakdown, outstanding
from portal.services.links import make_portal_link
from portal.services.payment_choices import credit_transfer

log = logging.getLogger(__name__)

#: Movement kinds, in the order they are listed within one day.
KINDS = ("invoice", "credit_note", "late_charges", "payment", "refund", "late_charges_refunded", "void", "credit")
#: The longest period one statement covers, so a page or PDF stays a reasonable size.
MAX_DAYS = 3 * 366 + 1


class BadPeriod(DomainError):
    """The dates asked for are not a period."""

    code = "bad_period"


@dataclass(frozen=True)
class Movement:
    """One line of the statement: signed minor units (+ the customer owes more)."""

    on: date
    kind: str
    currency: str
    amount: int
    #: The document it is about (an invoice or credit-note number), if any.
    reference: str | None = None
    #: What else the reader needs: a payment method, a credit reason.
    detail: str | None = None
    #: Ties broken by when it was booked.
    order: int = 0


@dataclass(frozen=True)
class StatementLine:
    movement: Movement
    #: The balance after this line.
    balance: int

    def __getattr__(self, name: str):
        return getattr(self.movement, name)

    @property
    def debit(self) -> int:
        return self.movement.amount if self.movement.amount > 0 else 0

    @property
    def credit(self) -> int:
        return -self.movement.amount if self.movement.amount < 0 else 0


@dataclass(frozen=True)
class OpenItem:
    """An open invoice and what it costs today; late charges apart from the outstanding principal."""

    invoice: Invoice
    outstanding: int
    late_charges: int
    amount_due: int
    days_overdue: int

    @property
    def payment_reference(self) -> str | None:
        reference = self.invoice.payment_reference
        return format_reference(reference) if reference else None


@dataclass(frozen=True)
class CurrencyStatement:
    """The statement of one currency's account."""

    currency: str
    opening: int
    lines: list[StatementLine]
    closing: int
    open_items: list[OpenItem]

    @property
    def outstanding(self) -> int:
        return sum(item.outstanding for item in self.open_items)

    @property
    def late_charges(self) -> int:
        return sum(item.late_charges for item in self.open_items)

    @property
    def amount_due(self) -> int:
        return sum(item.amount_due for item in self.open_items)


@dataclass(frozen=True)
class Statement:
    customer: Customer
    start: date
    end: date
    today: date
    accounts: list[CurrencyStatement]

    @property
    def amount_due(self) -> dict[str, int]:
        return {account.currency: account.amount_due for account in self.accounts if account.amount_due}


@dataclass(frozen=True)
class StatementTransfer:
    """How to pay the open balance by bank transfer: one account, and the reference of each invoice."""

    beneficiary: str
    #: Grouped by four, as printed.
    iban: str
    bic: str | None
    amount: Money
    #: (invoice number, reference as people write it, amount) per invoice a transfer can pay.
    references: list[tuple[str, str, Money]]
    #: The EPC QR code, only when one invoice is open (a transfer names one reference).
    qr_code: str | None

    @property
    def reference(self) -> str | None:
        return self.references[0][1] if len(self.references) == 1 else None


def statement_transfer(statement: Statement) -> StatementTransfer | None:
    """Return the bank-transfer details for the open items of the merchant's currency, or None."""
    currency = statement.customer.merchant.default_currency
    transfers = []
    for account in statement.accounts:
        if account.currency != currency:
            continue
        for item in account.open_items:
            transfer = credit_transfer(item.invoice, item.amount_due)
            if transfer is not None:
                transfers.append((item.invoice.number, transfer))
    if not transfers:
        return None
    first = transfers[0][1]
    total = Money(sum(t.amount.minor for _, t in transfers), currency)
    qr = epc_qr_data_uri(first) if len(transfers) == 1 else None
    return StatementTransfer(
        beneficiary=first.beneficiary,
        iban=format_iban(first.iban),
        bic=first.bic,
        amount=total,
        references=[(number, format_reference(t.reference), t.amount) for number, t in transfers],
        qr_code=qr,
    )


def default_period(today: date) -> tuple[date, date]:
    """Return the year to date."""
    return date(today.year, 1, 1), today


def parse_period(start: str | None, end: str | None, today: date) -> tuple[date, date]:
    """Read from/to (YYYY-MM-DD, either may be left out), or raise BadPeriod saying what is wrong."""
    default_start, default_end = default_period(today)
    start_day = _parse_day(start, "from") if start else default_start
    end_day = _parse_day(end, "to") if end else max(default_end, start_day)
    if start_day > end_day:
        raise BadPeriod("The start date is after the end date", "from")
    if (end_day - start_day).days > MAX_DAYS:
        raise BadPeriod("A statement covers at most three years", "to")
    return start_day, end_day


def _parse_day(text: str, field: str) -> date:
    try:
        if len(text) != 10:
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise BadPeriod(f"{text[:20]!r} is not a date written YYYY-MM-DD", field) from None


def _local_day(moment: datetime, timezone: str) -> date:
    return moment.astimezone(ZoneInfo(timezone)).date()


def movements(customer: Customer) -> list[Movement]:
    """Return every movement of the customer's account, oldest first."""
    timezone = customer.merchant.timezone
    result: list[Movement] = []
    invoices = db.session.scalars(
        select(Invoice)
        .where(
            Invoice.merchant_id == customer.merchant_id,
            Invoice.customer_id == customer.id,
            Invoice.status != InvoiceStatus.DRAFT.value,
        )
        .options(selectinload(Invoice.credit_notes), selectinload(Invoice.payments))
    ).all()
    for invoice in invoices:
        result.append(Movement(invoice.issue_date, "invoice", invoice.currency, invoice.total, invoice.number))
        if invoice.state is InvoiceStatus.VOID and invoice.voided_at is not None:
            left = invoice.total - invoice.credited - invoice.paid
            if left:
                on = max(_local_day(invoice.voided_at, timezone), invoice.issue_date)
                result.append(Movement(on, "void", invoice.currency, -left, invoice.number))
    for note in db.session.scalars(
        select(CreditNote).where(CreditNote.merchant_id == customer.merchant_id, CreditNote.customer_id == customer.id)
    ):
        result.append(Movement(note.issue_date, "credit_note", note.currency, -note.total, note.number))
    payments = db.session.scalars(
        select(Payment)
        .join(Invoice, Payment.invoice_id == Invoice.id)
        .where(Invoice.merchant_id == customer.merchant_id, Invoice.customer_id == customer.id)
        .options(selectinload(Payment.invoice))
    ).all()
    payment_days = {}
    for payment in payments:
        number = payment.invoice.number
        payment_days[payment.id] = payment.paid_on
        late = payment.fee_amount + payment.interest_amount
        if late:
            result.append(Movement(payment.paid_on, "late_charges", payment.currency, late, number, order=payment.id))
        result.append(
            Movement(payment.paid_on, "payment", payment.currency, -payment.gross, number, payment.method, payment.id)
        )
        for reversal in payment.reversals:
            back = reversal.principal_amount + reversal.late_amount
            if back:
                result.append(
                    Movement(reversal.reversed_on, "refund", payment.currency, back, number, reversal.kind, reversal.id)
                )
            if reversal.late_amount:
                result.append(
                    Movement(
                        reversal.reversed_on,
                        "late_charges_refunded",
                        payment.currency,
                        -reversal.late_amount,
                        number,
                        order=reversal.id,
                    )
                )
    entries = db.session.scalars(
        select(CreditEntry)
        .where(CreditEntry.merchant_id == customer.merchant_id, CreditEntry.customer_id == customer.id)
        .options(
            selectinload(CreditEntry.invoice), selectinload(CreditEntry.receipt), selectinload(CreditEntry.reversal)
        )
    ).all()
    for entry in entries:
        result.append(
            Movement(
                _entry_day(entry, payment_days, timezone),
                "credit",
                entry.currency,
                -entry.amount,
                entry.invoice.number if entry.invoice is not None else None,
                entry.reason,
                entry.id,
            )
        )
    result.sort(key=lambda m: (m.on, KINDS.index(m.kind), m.reference or "", m.order))
    return result


def _entry_day(entry: CreditEntry, payment_days: dict[int, date], timezone: str) -> date:
    # A credit entry is dated by what caused it; the booking time is the fallback.
    if entry.payment_id is not None and entry.payment_id in payment_days:
        return payment_days[entry.payment_id]
    if entry.reversal is not None:
        return entry.reversal.reversed_on
    if entry.receipt is not None:
        return entry.receipt.received_on
    return _local_day(entry.created_at, timezone)


def open_items(customer: Customer, today: date) -> list[OpenItem]:
    """Return the customer's open invoices, oldest due first, with what each costs today."""
    invoices = db.session.scalars(
        select(Invoice)
        .where(
            Invoice.merchant_id == customer.merchant_id,
            Invoice.customer_id == customer.id,
            Invoice.status == InvoiceStatus.OPEN.value,
        )
        .options(selectinload(Invoice.payments), selectinload(Invoice.credit_notes))
        .order_by(Invoice.due_date, Invoice.id)
    ).all()
    items = []
    for invoice in invoices:
        principal = outstanding(invoice)
        breakdown = invoice_breakdown(invoice, today)
        amount_due = breakdown.amount_due if breakdown is not None else principal
        days = breakdown.days_late if breakdown is not None and breakdown.overdue else 0
        items.append(OpenItem(invoice, principal, amount_due - principal, amount_due, days))
    return items


def build_statement(customer: Customer, start: date, end: date, today: date | None = None) -> Statement:
    """Return the customer's statement of account from start to end (both included)."""
    today = today or customer.merchant.today()
    by_currency: dict[str, list[Movement]] = {}
    for movement in movements(customer):
        by_currency.setdefault(movement.currency, []).append(movement)
    items = open_items(customer, today)
    currencies = set(by_currency) | {item.invoice.currency for item in items}
    accounts = []
    for currency in sorted(currencies, key=lambda c: (c != customer.merchant.default_currency, c)):
        moves = by_currency.get(currency, [])
        opening = sum(m.amount for m in moves if m.on < start)
        balance = opening
        lines = []
        for m in moves:
            if start <= m.on <= end:
                balance += m.amount
                lines.append(StatementLine(m, balance))
        accounts.append(
            CurrencyStatement(
                currency=currency,
                opening=opening,
                lines=lines,
                closing=balance,
                open_items=[item for item in items if item.invoice.currency == currency],
            )
        )
    if not accounts:
        accounts.append(CurrencyStatement(customer.merchant.default_currency, 0, [], 0, []))
    return Statement(customer=customer, start=start, end=end, today=today, accounts=accounts)


def statement_filename(statement: Statement) -> str:
    """Name the statement's file by its period."""
    return f"statement-{statement.start.isoformat()}-{statement.end.isoformat()}.pdf"


@dataclass(frozen=True)
class Reader:
    """Someone a statement or another customer mail goes to, in their own language."""

    email: str
    language: str
    name: str
    link: str


def statement_readers(customer: Customer) -> list[Reader]:
    """Return who receives the customer's statements: its billing contacts who take them, each with their own link."""
    from portal.services.contacts import recipients

    return [
        Reader(contact.email, contact.language, contact.name, make_portal_link(customer, contact=contact).url)
        for contact in recipients(customer, "statement")
    ]


def send_statement(customer: Customer, start: date, end: date) -> Statement:
    """Build the statement and queue it, PDF attached, to everyone who receives statements (flushes)."""
    from portal.mail.notifications import queue_statement_mail

    statement = build_statement(customer, start, end)
    for reader in statement_readers(customer):
        queue_statement_mail(statement, to=reader.email, language=reader.language, name=reader.name, link=reader.link)
    return statement


def previous_month(today: date) -> tuple[str, date, date]:
    """Return the month before today's as (YYYY-MM, first day, last day)."""
    last = today.replace(day=1) - timedelta(days=1)
    return last.strftime("%Y-%m"), last.replace(day=1), last


def send_monthly_statements() -> list[Customer]:
    """Mail last month's statement to every customer who has it switched on, once per customer and month.

    The unique (customer, period) run row decides: of two runs at once only one commits. Each
    customer is committed on its own, so one failure neither undoes nor blocks the others.
    """
    ids = list(
        db.session.scalars(
            select(Customer.id)
            .where(Customer.monthly_statement.is_(True), Customer.archived_at.is_(None))
            .order_by(Customer.id)
        )
    )
    sent = []
    for customer_id in ids:
        customer = db.session.get(Customer, customer_id)
        period, start, end = previous_month(customer.merchant.today())
        exists = db.session.scalar(
            select(StatementRun.id).where(StatementRun.customer_id == customer.id, StatementRun.period == period)
        )
        if exists is not None:
            continue
        try:
            db.session.add(StatementRun(merchant_id=customer.merchant_id, customer_id=customer.id, period=period))
            db.session.flush()
            send_statement(customer, start, end)
            db.session.commit()
        except IntegrityError:
            db.session.rollback()  # another run sent it first
            continue
        except Exception:
            db.session.rollback()
            log.exception("Monthly statement of customer %s failed", customer_id)
            continue
        sent.append(customer)
    return sent


def statement_json(statement: Statement) -> dict:
    """Return the statement's figures as the API and tests read them."""
    return {
        "customer_id": statement.customer.id,
        "from": statement.start.isoformat(),
        "to": statement.end.isoformat(),
        "as_of": statement.today.isoformat(),
        "accounts": [
            {
                "currency": account.currency,
                "opening_balance": account.opening,
                "closing_balance": account.closing,
                "lines": [
                    {
                        "date": line.on.isoformat(),
                        "kind": line.kind,
                        "reference": line.reference,
                        "detail": line.detail,
                        "amount": line.amount,
                        "balance": line.balance,
                    }
                    for line in account.lines
                ],
                "open_items": [
                    {
                        "invoice_id": item.invoice.id,
                        "number": item.invoice.number,
                        "due_date": item.invoice.due_date.isoformat(),
                        "outstanding": item.outstanding,
                        "late_charges": item.late_charges,
                        "amount_due": item.amount_due,
                    }
                    for item in account.open_items
                ],
                "amount_due": account.amount_due,
            }
            for account in statement.accounts
        ],
    }

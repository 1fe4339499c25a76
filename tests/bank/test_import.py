"""Importing a CAMT.053 statement: what each entry becomes, booked once through the ledger."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from portal.domain.bank_statements import StatementError
from portal.domain.payment_references import format_reference
from portal.extensions import db
from portal.models import Payment
from portal.models.bank import BankTransaction
from portal.models.ledger import Receipt
from portal.models.mail import OutboxMessage
from portal.services import bank_import, ledger
from portal.services.invoices import outstanding
from tests.bank.camt import Account, Transfer, build
from tests.factories import make_customer, make_invoice, make_merchant, run_jobs

pytestmark = pytest.mark.usefixtures("ctx")

DUE = date(2026, 3, 31)


@pytest.fixture(autouse=True)
def _march(time_machine):
    # Before the due date: the amount due is the total, no late charges.
    time_machine.move_to(datetime(2026, 3, 3, 10, tzinfo=UTC), tick=False)


def _setup():
    merchant = make_merchant("Atelier", iban="BE68539007547034")
    jane = make_customer(merchant, "Jane Cooper")
    bob = make_customer(merchant, "Bob Stone")
    invoices = [make_invoice(c, due_date=DUE) for c in (jane, jane, bob, bob, jane, bob)]
    db.session.commit()
    return merchant, jane, bob, invoices


def _typo(reference: str) -> str:
    """Change one digit of the OGM's base: its check digits no longer fit."""
    digit = str((int(reference[4]) + 1) % 10)
    return reference[:4] + digit + reference[5:]


def statement(invoices) -> bytes:
    """The issue's statement: one entry of each kind, with what each must become."""
    a, b, c, d, e, f = invoices
    spaced = b.payment_reference
    entries = [
        # 1. structured reference, exact amount → matched, a paid.
        Transfer(
            "1000.00",
            account_servicer_reference="AS-1",
            structured_reference=format_reference(a.payment_reference),
            debtor_name="Jane Cooper",
            debtor_iban="BE71096123456769",
        ),
        # 2. reference in free text with spaces → matched, b paid.
        Transfer(
            "1000.00",
            account_servicer_reference="AS-2",
            unstructured=[f"Payment inv {spaced[:3]} {spaced[3:7]} {spaced[7:]} thanks"],
        ),
        # 3. wrong check digits (one-digit typo of c's reference) → not matched to anything by reference.
        Transfer(
            "999.00",
            account_servicer_reference="AS-3",
            unstructured=[_typo(c.payment_reference)],
            debtor_name="Someone Else",
        ),
        # 4. overpayment of d → d paid, 50.00 on Bob's credit balance.
        Transfer("1050.00", account_servicer_reference="AS-4", structured_reference=d.payment_reference),
        # 5. underpayment of e → 400.00 paid, 600.00 left open.
        Transfer("400.00", account_servicer_reference="AS-5", structured_reference=e.payment_reference),
        # 6. unknown payer, no reference, an amount no invoice has → unmatched.
        Transfer("12.34", account_servicer_reference="AS-6", debtor_name="Unknown Ltd", unstructured=["Gift"]),
        # 7. a debit → skipped, not stored.
        Transfer("300.00", credit=False, account_servicer_reference="AS-7"),
    ]
    return build(Account(entries=entries))


def test_each_entry_becomes_what_its_reference_and_amount_say():
    merchant, jane, bob, invoices = _setup()
    a, b, c, d, e, f = invoices

    result = bank_import.import_statement(merchant, statement(invoices))
    db.session.commit()

    assert result.as_dict() == {"entries": 6, "matched": 4, "suggested": 0, "unmatched": 2, "duplicates": 0}
    assert result.skipped == 1  # the debit
    for invoice in (a, b, d):
        db.session.refresh(invoice)
        assert invoice.status == "paid" and invoice.paid_on == date(2026, 3, 2)
    db.session.refresh(c), db.session.refresh(e)
    assert c.status == "open" and c.paid == 0
    assert e.status == "open" and e.paid == 40000 and outstanding(e) == 60000
    assert ledger.credit_balances(bob) == {"EUR": 5000}
    assert ledger.credit_balances(jane) == {}
    rows = {t.entry_key: t for t in db.session.scalars(select(BankTransaction))}
    assert set(rows) == {f"ref:AS-{n}" for n in range(1, 7)}
    assert rows["ref:AS-1"].invoice_id == a.id and rows["ref:AS-1"].status == "matched"
    assert rows["ref:AS-2"].invoice_id == b.id
    assert rows["ref:AS-3"].status == "unmatched" and rows["ref:AS-3"].invoice_id is None
    assert rows["ref:AS-6"].status == "unmatched" and rows["ref:AS-6"].payer_name == "Unknown Ltd"
    payment = db.session.scalar(select(Payment).where(Payment.invoice_id == a.id))
    assert payment.method == "bank_transfer" and payment.reference == format_reference(a.payment_reference)
    receipt = db.session.get(Receipt, rows["ref:AS-1"].receipt_id)
    assert (receipt.source_type, receipt.source_id) == ("bank_transaction", str(rows["ref:AS-1"].id))


def test_a_one_digit_typo_never_books_on_another_invoice():
    merchant, jane, bob, invoices = _setup()
    target = invoices[2]
    wrong = _typo(target.payment_reference)
    assert wrong not in {i.payment_reference for i in invoices}
    data = build(Account(entries=[Transfer("1000.00", account_servicer_reference="T-1", unstructured=[wrong])]))

    result = bank_import.import_statement(merchant, data)

    assert result.matched == 0
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 0


def test_the_same_statement_twice_books_nothing_twice():
    merchant, jane, bob, invoices = _setup()
    data = statement(invoices)
    bank_import.import_statement(merchant, data)
    db.session.commit()

    again = bank_import.import_statement(merchant, data)
    db.session.commit()

    assert again.as_dict() == {"entries": 6, "matched": 0, "suggested": 0, "unmatched": 0, "duplicates": 6}
    assert db.session.scalar(select(func.count()).select_from(BankTransaction)) == 6
    assert db.session.scalar(select(func.count()).select_from(Receipt)) == 4
    assert ledger.credit_balances(bob) == {"EUR": 5000}


def test_entries_without_a_bank_reference_are_keyed_by_their_fields():
    merchant, jane, bob, invoices = _setup()
    data = build(Account(entries=[Transfer("7.00", debtor_name="X"), Transfer("7.00", debtor_name="X")]))
    first = bank_import.import_statement(merchant, data)
    second = bank_import.import_statement(merchant, data)
    assert (first.unmatched, first.duplicates) == (2, 0)  # two identical transfers are two payments
    assert (second.unmatched, second.duplicates) == (0, 2)
    keys = list(db.session.scalars(select(BankTransaction.entry_key)))
    assert all(k.startswith("sha256:") for k in keys) and len(set(keys)) == 2


def test_a_matched_transfer_sends_the_mails_of_an_online_payment():
    merchant, jane, bob, invoices = _setup()
    a = invoices[0]
    data = build(
        Account(
            entries=[Transfer("1000.00", account_servicer_reference="M-1", structured_reference=a.payment_reference)]
        )
    )

    bank_import.import_statement(merchant, data)
    db.session.commit()
    # The import leaves the composing of its mails to a job, written in its transaction.
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    run_jobs(["default"])

    kinds = list(db.session.scalars(select(OutboxMessage.kind).where(OutboxMessage.invoice_id == a.id)))
    assert "payment_confirmation" in kinds and "payment_notice" in kinds


def test_same_amount_and_known_payer_are_suggested_and_staff_confirm_one():
    merchant, jane, bob, invoices = _setup()
    a, b = invoices[0], invoices[1]
    first = build(
        Account(
            entries=[
                Transfer(
                    "1000.00",
                    account_servicer_reference="S-1",
                    structured_reference=a.payment_reference,
                    debtor_name="J. Cooper",
                    debtor_iban="NL91ABNA0417164300",
                )
            ]
        )
    )
    bank_import.import_statement(merchant, first)
    # A later transfer from the same account, without a reference.
    later = build(
        Account(
            statement_id="S2",
            entries=[
                Transfer(
                    "1000.00",
                    account_servicer_reference="S-2",
                    debtor_iban="NL91ABNA0417164300",
                    unstructured=["March"],
                )
            ],
        )
    )
    result = bank_import.import_statement(merchant, later)
    db.session.commit()

    assert result.suggested == 1
    waiting = db.session.scalar(select(BankTransaction).where(BankTransaction.entry_key == "ref:S-2"))
    suggested = [s["invoice_id"] for s in waiting.suggestions]
    assert suggested[0] == b.id  # Jane's other open invoice of that amount, the payer's account known
    assert "payer_iban" in waiting.suggestions[0]["reasons"]

    bank_import.match_transaction(waiting, b)
    db.session.commit()
    db.session.refresh(b)
    assert b.status == "paid" and waiting.status == "matched" and waiting.invoice_id == b.id


def test_staff_mark_a_transfer_as_not_an_invoice_payment():
    merchant, jane, bob, invoices = _setup()
    data = build(Account(entries=[Transfer("5.00", account_servicer_reference="I-1", debtor_name="Tax office")]))
    bank_import.import_statement(merchant, data)
    waiting = db.session.scalar(select(BankTransaction))
    bank_import.ignore_transaction(waiting)
    db.session.commit()
    assert waiting.status == "ignored"
    assert bank_import.list_transactions(merchant, statuses=bank_import.WAITING)[0] == []


def test_a_malformed_statement_writes_nothing():
    merchant, jane, bob, invoices = _setup()
    with pytest.raises(StatementError):
        bank_import.import_statement(merchant, b"<Document><oops>")
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(BankTransaction)) == 0


def test_a_transfer_of_the_amount_due_with_late_charges_settles_them_too():
    # The SPEC's vector: 1,000.00 due 2026-01-31, paid on 2026-03-02 (30 days late): 1,049.86.
    merchant = make_merchant("Atelier", iban="BE68539007547034")
    customer = make_customer(merchant)
    invoice = make_invoice(customer)
    data = build(
        Account(
            entries=[
                Transfer("1049.86", account_servicer_reference="L-1", structured_reference=invoice.payment_reference)
            ]
        )
    )

    bank_import.import_statement(merchant, data)
    db.session.commit()

    db.session.refresh(invoice)
    [payment] = invoice.payments
    assert (payment.amount, payment.fee_amount, payment.interest_amount) == (100000, 4000, 986)
    assert invoice.status == "paid" and ledger.credit_balances(customer) == {}


def _statements_to_import(merchant, customer, how_many: int, first: int) -> int:
    """Import a statement paying `how_many` fresh invoices exactly; return the queries (SELECTs) the import ran.

    Inserts are left out: whether the driver sends a batch as one statement depends on the database.
    """
    from sqlalchemy import event

    made = [make_invoice(customer, due_date=DUE) for _ in range(how_many)]
    db.session.commit()
    data = build(
        Account(
            entries=[
                Transfer(
                    "1000.00",
                    account_servicer_reference=f"N-{first + n}",
                    structured_reference=format_reference(invoice.payment_reference),
                )
                for n, invoice in enumerate(made)
            ]
        )
    )
    db.session.expire_all()
    merchant = db.session.get(type(merchant), merchant.id)
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        result = bank_import.import_statement(merchant, data)
        db.session.commit()
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert result.matched == how_many
    return len([s for s in statements if s.lstrip().upper().startswith("SELECT")])


def test_booking_a_statement_runs_the_same_queries_for_few_or_many_payments():
    """Each booked payment's events show its invoice: their send summaries come in one query, not one per invoice."""
    merchant, jane, bob, _ = _setup()
    _statements_to_import(merchant, jane, 1, first=0)  # the first import of a session reads more once
    few = _statements_to_import(merchant, jane, 3, first=10)
    many = _statements_to_import(merchant, jane, 30, first=100)
    assert many == few

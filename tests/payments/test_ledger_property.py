"""For any sequence of payments, credit notes, refunds, chargebacks, credit spent and voids, no money is lost.

money received = booked on invoices + credit balance + money refunded (or charged back), to the cent.
"""

from __future__ import annotations

import itertools
from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from portal.domain.errors import DomainError
from portal.domain.money import Money
from portal.extensions import db
from portal.models import Invoice, Payment
from portal.models.ledger import Receipt
from portal.services import invoices, ledger, refunds
from portal.services.credit_notes import issue_credit_note
from tests.factories import line, make_customer, make_invoice, make_merchant

TOTALS = (100000, 25000, 1)
_sources = itertools.count(1)

invoice_index = st.integers(0, len(TOTALS) - 1)
amount = st.integers(1, 150000)
operation = st.one_of(
    st.tuples(st.just("receive"), st.none() | invoice_index, amount),
    st.tuples(st.just("receive"), invoice_index, amount),
    st.tuples(st.just("staff_pay"), invoice_index, amount),
    st.tuples(st.just("credit_note"), invoice_index, amount, st.booleans()),
    st.tuples(st.just("refund_payment"), st.integers(0, 20), st.none() | amount),
    st.tuples(st.just("refund_credit"), amount),
    st.tuples(st.just("chargeback"), st.integers(0, 20), amount),
    st.tuples(st.just("apply_credit"), invoice_index, st.none() | amount),
    st.tuples(st.just("void"), invoice_index),
)


def _apply(op, customer, documents: list[Invoice]) -> None:
    kind = op[0]
    if kind == "receive":
        target = documents[op[1]] if op[1] is not None else None
        ledger.book_money_received(
            customer,
            target,
            Money(op[2], "EUR"),
            method="bank_transfer",
            source=ledger.MoneySource("bank_statement", f"property-{next(_sources)}"),
            received_on=date(2026, 2, 1),
        )
    elif kind == "staff_pay":
        invoices.record_payment(
            documents[op[1]], amount=op[2], paid_on=date(2026, 2, 1), method="cash", surplus_to_credit=True
        )
    elif kind == "credit_note":
        issue_credit_note(
            documents[op[1]],
            lines=[line("Credit", unit_amount=op[2])],
            issue_date=date(2026, 2, 2),
            remainder_to_credit=op[3],
        )
    elif kind == "refund_payment":
        payments = db.session.scalars(
            select(Payment).join(Invoice).where(Invoice.customer_id == customer.id).order_by(Payment.id)
        ).all()
        if payments:
            refunds.refund_payment(payments[op[1] % len(payments)], op[2])
    elif kind == "refund_credit":
        refunds.refund_credit(customer, op[1], "EUR", method="bank_transfer")
    elif kind == "chargeback":
        receipts = db.session.scalars(
            select(Receipt).where(Receipt.customer_id == customer.id).order_by(Receipt.id)
        ).all()
        if receipts:
            receipt = receipts[op[1] % len(receipts)]
            ledger.book_money_returned(
                customer,
                Money(min(op[2], receipt.amount), "EUR"),
                kind="charged_back",
                method=receipt.method,
                source=ledger.MoneySource("provider_chargeback", f"property-{next(_sources)}"),
                returned_on=date(2026, 2, 3),
                receipt=receipt,
            )
    elif kind == "apply_credit":
        ledger.apply_credit(customer, documents[op[1]], op[2])
    elif kind == "void":
        invoices.void_invoice(documents[op[1]])


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(operations=st.lists(operation, min_size=1, max_size=12))
def test_money_received_is_always_accounted_for(app, operations):
    with app.app_context():
        merchant = make_merchant()
        customer = make_customer(merchant)
        documents = [make_invoice(customer, lines=[line(unit_amount=total)]) for total in TOTALS]
        db.session.commit()
        for op in operations:
            try:
                with db.session.begin_nested():
                    _apply(op, customer, documents)
            except DomainError:
                pass  # refused as a whole: nothing of it may stay booked
            db.session.commit()

        totals = ledger.money_totals(customer, "EUR")
        assert totals.balanced, (operations, totals)
        for invoice in documents:
            db.session.refresh(invoice)
            kept = invoice.paid
            assert 0 <= kept <= invoice.total - invoice.credited, (operations, invoice.number)
            left = invoices.outstanding(invoice)
            if invoice.status == "paid":
                assert left == 0, (operations, invoice.number)
            elif invoice.status == "open":
                assert left > 0, (operations, invoice.number)
            else:
                assert invoice.status == "void" and kept == 0
        db.session.remove()

"""Property: a statement's running balance is the sum of its lines and matches the API's outstanding amounts.

Random sequences of invoices, credit notes, payments (some overpaying into the credit balance),
credit applied, refunds of credit and voids, each on its own day; after every step, on that day,
the statement's closing balance equals Σ outstanding (read from the API) − credit balance (API).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.domain.errors import DomainError
from portal.extensions import db
from portal.services import invoices as invoice_service
from portal.services import ledger, refunds
from portal.services.credit_notes import issue_credit_note
from portal.services.statements import build_statement
from tests.api.conftest import Api
from tests.factories import line, make_api_key, make_customer, make_invoice, make_merchant

START = date(2026, 1, 5)

steps = st.lists(
    st.tuples(
        st.sampled_from(
            ["invoice", "invoice", "credit_note", "pay", "pay", "overpay", "apply", "refund", "refund_payment", "void"]
        ),
        st.integers(min_value=1, max_value=5),  # days after the previous step
        st.integers(min_value=1, max_value=150000),  # an amount in cents
        st.integers(min_value=0, max_value=9),  # which invoice
    ),
    min_size=1,
    max_size=12,
)


def _api_figures(api: Api, customer_id: int) -> int:
    rows = api.get(f"/invoices?customer_id={customer_id}&limit=100").json["data"]
    owed = sum(row["outstanding"] for row in rows if row["status"] != "draft")
    credit = api.get(f"/customers/{customer_id}").json["credit_balance"]
    return owed - credit


def _apply(kind: str, amount: int, pick: int, customer, issued: list, today: date) -> None:
    open_ones = [i for i in issued if i.status == "open"]
    target = open_ones[pick % len(open_ones)] if open_ones else None
    if kind == "invoice":
        issued.append(
            make_invoice(
                customer, lines=[line(unit_amount=amount)], issue_date=today, due_date=today + timedelta(days=7)
            )
        )
    elif kind == "credit_note" and target is not None:
        left = invoice_service.outstanding(target)
        if left > 0:
            issue_credit_note(target, lines=[line("Credit", unit_amount=min(amount, left))], issue_date=today)
    elif kind == "pay" and target is not None:
        left = invoice_service.outstanding(target)
        invoice_service.record_payment(target, amount=min(amount, left), paid_on=today, method="bank_transfer")
    elif kind == "overpay" and target is not None:
        invoice_service.record_payment(
            target, amount=amount, paid_on=today, method="bank_transfer", surplus_to_credit=True
        )
    elif kind == "apply" and target is not None and ledger.credit_balance(customer, "EUR") > 0:
        ledger.apply_credit(customer, target)
    elif kind == "refund" and ledger.credit_balance(customer, "EUR") > 0:
        refunds.refund_credit(customer, min(amount, ledger.credit_balance(customer, "EUR")), "EUR")
    elif kind == "refund_payment":
        paid = [p for i in issued for p in i.payments if p.receipt_id is not None and p.kept_principal > 0]
        if paid:
            payment = paid[pick % len(paid)]
            refunds.refund_payment(payment, min(amount, payment.kept_principal + payment.kept_late))
    elif kind == "void" and target is not None and target.paid == 0:
        invoice_service.void_invoice(target)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sequence=steps)
def test_the_running_balance_sums_its_lines_and_matches_the_api_on_every_date(app, client, sequence):
    with app.app_context():
        merchant = make_merchant()
        customer = make_customer(merchant)
        api = Api(client, make_api_key(merchant))
        db.session.commit()
        issued: list = []
        today = START
        for kind, gap, amount, pick in sequence:
            today += timedelta(days=gap)
            with time_machine.travel(datetime(today.year, today.month, today.day, 12, tzinfo=UTC), tick=False):
                try:
                    _apply(kind, amount, pick, customer, issued, today)
                    db.session.commit()
                except DomainError:
                    db.session.rollback()
                db.session.expire_all()
                statement = build_statement(customer, START, today)
                [account] = statement.accounts
                running = account.opening
                for row in account.lines:
                    running += row.amount
                    assert row.balance == running
                assert account.closing == account.opening + sum(row.amount for row in account.lines)
                assert account.closing == _api_figures(api, customer.id)
                # The period's balance carries over: a statement from a later day opens with it.
                later = build_statement(customer, today, today).accounts[0]
                assert later.opening + sum(row.amount for row in later.lines) == account.closing
                # The API's statement answers the same figures.
                answer = api.post(
                    f"/customers/{customer.id}/statements", {"from": START.isoformat(), "to": today.isoformat()}
                )
                assert answer.status_code == 200, answer.json
                assert answer.json["accounts"][0]["closing_balance"] == account.closing
        db.session.rollback()

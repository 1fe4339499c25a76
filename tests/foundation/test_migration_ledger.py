"""Migration 0010 on existing data: payments get receipts, and money parked for review goes to the credit balance."""

from __future__ import annotations

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from portal.extensions import db
from portal.models import Customer, Payment
from portal.models.ledger import CreditEntry, Receipt
from portal.services.ledger import credit_balances, money_totals
from tests.conftest import build_app, dispose
from tests.foundation.test_migration_snapshots import NOW, _rows_of_before


def _payments_of_before(connection) -> None:
    """What a 0009 database holds: a cash payment, a paid online attempt booked, one parked on a void invoice."""
    connection.execute(
        sa.text(
            "INSERT INTO invoices (id, merchant_id, customer_id, number, status, currency, issue_date, due_date,"
            " discount_percent, subtotal, discount_amount, net_amount, tax_amount, total, created_at, updated_at)"
            " VALUES (3, 1, 1, '2025-0002', 'void', 'EUR', '2025-12-01', '2025-12-31', '0', 5000, 0, 5000, 0, 5000,"
            " :now, :now)"
        ),
        {"now": NOW},
    )
    for payment_id, amount, method, reference in ((1, 3000, "cash", None), (2, 8100, "mollie", "tr_booked")):
        connection.execute(
            sa.text(
                "INSERT INTO payments (id, merchant_id, invoice_id, amount, fee_amount, interest_amount, currency,"
                " paid_on, method, reference, created_at) VALUES (:id, 1, 1, :amount, 0, 0, 'EUR', '2025-12-20',"
                " :method, :reference, :now)"
            ),
            {"id": payment_id, "amount": amount, "method": method, "reference": reference, "now": NOW},
        )
    for attempt_id, invoice_id, payment_id, amount, provider_id in (
        (1, 1, 2, 8100, "tr_booked"),
        (2, 3, None, 5000, "tr_parked"),
    ):
        connection.execute(
            sa.text(
                "INSERT INTO payment_attempts (id, merchant_id, invoice_id, customer_id, provider, status, amount,"
                " currency, principal_amount, fee_amount, interest_amount, as_of, breakdown, locale,"
                " provider_payment_id, payment_id, review_note, created_at, updated_at, finished_at)"
                " VALUES (:id, 1, :invoice, 1, 'mollie', 'paid', :amount, 'EUR', :amount, 0, 0, '2025-12-20', '[]',"
                " 'fr', :provider_id, :payment, :note, :now, :now, :now)"
            ),
            {
                "id": attempt_id,
                "invoice": invoice_id,
                "amount": amount,
                "provider_id": provider_id,
                "payment": payment_id,
                "note": None if payment_id else "Paid 50.00 EUR while the invoice was void: refund or book by hand",
                "now": NOW,
            },
        )


def test_payments_get_receipts_and_parked_money_becomes_credit(tmp_path):
    app = build_app("sqlite:///" + str(tmp_path / "old.db"))
    try:
        with app.app_context():
            upgrade(revision="0005")
            with db.engine.begin() as connection:
                _rows_of_before(connection)
            upgrade(revision="0009")
            with db.engine.begin() as connection:
                _payments_of_before(connection)
            upgrade()

            receipts = db.session.scalars(sa.select(Receipt).order_by(Receipt.id)).all()
            assert [(r.amount, r.method, r.source_type, r.source_id) for r in receipts] == [
                (3000, "cash", "recorded", None),
                (8100, "mollie", "payment_attempt", "1"),
                (5000, "mollie", "payment_attempt", "2"),
            ]
            assert [p.receipt_id for p in db.session.scalars(sa.select(Payment).order_by(Payment.id))] == [
                receipts[0].id,
                receipts[1].id,
            ]
            [entry] = db.session.scalars(sa.select(CreditEntry)).all()
            assert (entry.amount, entry.reason, entry.invoice_id) == (5000, "invoice_void", 3)
            customer = db.session.get(Customer, 1)
            assert credit_balances(customer) == {"EUR": 5000}
            assert money_totals(customer, "EUR").balanced
            columns = {column["name"] for column in sa.inspect(db.engine).get_columns("payment_attempts")}
            assert "review_note" not in columns and "provider_intent_id" in columns
            db.session.remove()

            downgrade(revision="0009")
            assert "receipts" not in sa.inspect(db.engine).get_table_names()
    finally:
        dispose(app)

"""Migration 0006 on existing data: finalized documents get a snapshot of today's values, 0 % lines become Z."""

from __future__ import annotations

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from portal.extensions import db
from portal.models import CreditNote, Invoice, InvoiceLine
from tests.conftest import build_app, dispose

NOW = "2026-01-01 00:00:00"


def _rows_of_before(connection) -> None:
    """Write what a 0005 database holds: a merchant with its own French mail, a customer, two invoices."""
    connection.execute(
        sa.text(
            "INSERT INTO merchants (id, name, slug, timezone, default_currency, support_email, primary_color,"
            " accent_color, theme, terms, late_annual_rate, late_fee_percent, late_fee_minimum, late_grace_days,"
            " send_when_finalized, created_at) VALUES (1, 'Atelier Lumen', 'demo', 'UTC', 'EUR',"
            " 'billing@lumen.example', '#000000', '#000000', 'classic', 'Default terms.', '0', '0', 0, 0, :no, :now)"
        ),
        {"now": NOW, "no": False},
    )
    connection.execute(
        sa.text(
            "INSERT INTO customers (id, merchant_id, name, email, language, link_version, created_at)"
            " VALUES (1, 1, 'Camille Martin', 'camille@example.com', 'fr', 1, :now)"
        ),
        {"now": NOW},
    )
    connection.execute(
        sa.text(
            "INSERT INTO email_templates (id, merchant_id, kind, language, subject, body, updated_at)"
            " VALUES (1, 1, 'invoice', 'fr', 'Facture {number}', 'Bonjour\n\n{link}', :now)"
        ),
        {"now": NOW},
    )
    for invoice_id, number, status, terms in ((1, "2025-0001", "open", None), (2, None, "draft", None)):
        connection.execute(
            sa.text(
                "INSERT INTO invoices (id, merchant_id, customer_id, number, status, currency, issue_date, due_date,"
                " discount_percent, terms, subtotal, discount_amount, net_amount, tax_amount, total, created_at,"
                " updated_at) VALUES (:id, 1, 1, :number, :status, 'EUR', '2025-12-01', '2025-12-31', '0', :terms,"
                " 12100, 0, 12100, 0, 12100, :now, :now)"
            ),
            {"id": invoice_id, "number": number, "status": status, "terms": terms, "now": NOW},
        )
        for position, rate, amount in ((1, "21", 10000), (2, "0.0000", 2100)):
            connection.execute(
                sa.text(
                    "INSERT INTO invoice_lines (invoice_id, merchant_id, position, description, quantity,"
                    " unit_amount, tax_rate, discount_percent, net_amount) VALUES (:invoice, 1, :position, 'Work',"
                    " '1', :amount, :rate, '0', :amount)"
                ),
                {"invoice": invoice_id, "position": position, "rate": rate, "amount": amount},
            )
    connection.execute(
        sa.text(
            "INSERT INTO credit_notes (id, merchant_id, invoice_id, customer_id, number, issue_date, currency,"
            " subtotal, net_amount, tax_amount, total, created_at) VALUES (1, 1, 1, 1, 'CN-2025-0001', '2025-12-05',"
            " 'EUR', 1000, 1000, 0, 1000, :now)"
        ),
        {"now": NOW},
    )


def test_existing_documents_get_a_snapshot_of_todays_values(tmp_path):
    app = build_app("sqlite:///" + str(tmp_path / "old.db"))
    try:
        with app.app_context():
            upgrade(revision="0005")
            with db.engine.begin() as connection:
                _rows_of_before(connection)
            upgrade()

            issued, draft = db.session.get(Invoice, 1), db.session.get(Invoice, 2)
            assert issued.seller["legal_name"] == "Atelier Lumen" and issued.seller["email"] == "billing@lumen.example"
            assert issued.buyer["name"] == "Camille Martin" and issued.language == "fr"
            assert issued.terms == "Default terms." and issued.exemption_reasons == {}
            assert issued.mail_template == {"subject": "Facture {number}", "body": "Bonjour\n\n{link}"}
            assert issued.document_supply_date == issued.issue_date
            # A draft stays live: it shows the merchant and customer as they will be when finalized.
            assert draft.seller is None and draft.terms is None and draft.document_terms == "Default terms."
            assert db.session.get(CreditNote, 1).buyer["email"] == "camille@example.com"
            categories = db.session.execute(sa.select(InvoiceLine.tax_rate, InvoiceLine.tax_category)).all()
            assert sorted({(str(rate), category) for rate, category in categories}) == [("0", "Z"), ("21", "S")]
            assert issued.merchant.legal_name == "Atelier Lumen"

            downgrade(revision="0005")
            assert "seller" not in {column["name"] for column in sa.inspect(db.engine).get_columns("invoices")}
    finally:
        dispose(app)

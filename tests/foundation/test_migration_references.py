"""Migration 0011 on existing data: issued invoices get the reference finalize gives, choices keep bank transfer."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from portal.domain.payment_references import invoice_reference
from portal.extensions import db
from portal.models import Invoice
from portal.models.billing import InvoicePaymentChoice
from tests.conftest import build_app, dispose

NOW = "2026-01-01 00:00:00"


def _seller(country: str | None) -> str | None:
    if country is None:
        return None
    address = {"line1": "Rue Haute 1", "line2": None, "postal_code": "1000", "city": "Bruxelles", "country": country}
    return json.dumps({"legal_name": "Seller", "address": address, "iban": "BE68539007547034", "bic": None})


def _rows_of_before(connection) -> None:
    """Write what a 0010 database holds: a Belgian and a Dutch merchant with invoices in every state."""
    for merchant_id, country in ((1, "BE"), (2, "NL")):
        connection.execute(
            sa.text(
                "INSERT INTO merchants (id, name, slug, timezone, default_currency, primary_color, accent_color,"
                " theme, late_annual_rate, late_fee_percent, late_fee_minimum, late_grace_days, send_when_finalized,"
                " country, created_at) VALUES (:id, 'M', :slug, 'UTC', 'EUR', '#000000', '#000000', 'classic', '0',"
                " '0', 0, 0, :no, :country, :now)"
            ),
            {"id": merchant_id, "slug": f"m{merchant_id}", "country": country, "now": NOW, "no": False},
        )
        connection.execute(
            sa.text(
                "INSERT INTO customers (id, merchant_id, name, email, language, link_version, created_at)"
                " VALUES (:id, :id, 'C', 'c@example.com', 'en', 1, :now)"
            ),
            {"id": merchant_id, "now": NOW},
        )
    invoices = [
        # id, merchant, number, status, the seller's country as issued
        (1, 1, "2025-0001", "open", "BE"),
        (2, 1, "2025-0002", "paid", "BE"),
        (3, 1, "2026-0001", "void", "BE"),
        (4, 1, None, "draft", None),
        # Issued while the merchant was still Dutch: the snapshot decides, as it did at finalize.
        (5, 1, "2024-0007", "open", "NL"),
        (6, 2, "2025-0001", "open", "NL"),
        # Finalized before snapshots existed: the merchant's country.
        (7, 2, "2025-0002", "open", None),
        (8, 1, "2026-1000000", "open", "BE"),
        # Not a number the numbering service makes: left without a reference rather than guessed.
        (9, 2, "IMPORTED-17", "open", "NL"),
    ]
    for invoice_id, merchant_id, number, status, country in invoices:
        connection.execute(
            sa.text(
                "INSERT INTO invoices (id, merchant_id, customer_id, number, status, currency, issue_date, due_date,"
                " discount_percent, subtotal, discount_amount, net_amount, tax_amount, total, seller, created_at,"
                " updated_at) VALUES (:id, :merchant, :merchant, :number, :status, 'EUR', '2025-12-01', '2025-12-31',"
                " '0', 100, 0, 100, 0, 100, :seller, :now, :now)"
            ),
            {
                "id": invoice_id,
                "merchant": merchant_id,
                "number": number,
                "status": status,
                "seller": _seller(country),
                "now": NOW,
            },
        )
    # Staff chose "pay by bank transfer only" (no provider) for one invoice.
    connection.execute(
        sa.text(
            "INSERT INTO invoice_payment_choices (invoice_id, merchant_id, providers, updated_at)"
            " VALUES (1, 1, '[]', :now)"
        ),
        {"now": NOW},
    )


def test_issued_invoices_get_the_reference_finalize_gives(tmp_path):
    app = build_app("sqlite:///" + str(tmp_path / "old.db"))
    try:
        with app.app_context():
            upgrade(revision="0010")
            with db.engine.begin() as connection:
                _rows_of_before(connection)
            upgrade()

            references = dict(db.session.execute(sa.select(Invoice.id, Invoice.payment_reference)).all())
            assert references == {
                1: invoice_reference("BE", "2025-0001"),
                2: invoice_reference("BE", "2025-0002"),
                3: invoice_reference("BE", "2026-0001"),
                4: None,
                5: invoice_reference("NL", "2024-0007"),
                6: invoice_reference("NL", "2025-0001"),
                7: invoice_reference("NL", "2025-0002"),
                8: invoice_reference("BE", "2026-1000000"),
                9: None,
            }
            assert references[1] == "202500000165" and references[6].startswith("RF")
            # Every choice staff made keeps offering the transfer.
            assert db.session.get(InvoicePaymentChoice, 1).bank_transfer is True
            # Two merchants may each have a 2025-0001, but not two invoices of one merchant the same reference.
            with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as connection:
                connection.execute(
                    sa.text("UPDATE invoices SET payment_reference = :r WHERE id = 5"), {"r": references[1]}
                )

            downgrade(revision="0010")
            assert "payment_reference" not in {c["name"] for c in sa.inspect(db.engine).get_columns("invoices")}
    finally:
        dispose(app)

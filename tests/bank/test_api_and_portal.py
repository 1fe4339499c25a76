"""Bank statements through the API: import, the waiting list, match, ignore; each merchant sees only its own."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from portal.domain.payment_references import format_reference
from portal.extensions import db
from portal.models import Customer, Invoice
from portal.models.bank import BankTransaction
from portal.models.ledger import Receipt
from portal.services.links import make_portal_link
from tests.api.conftest import Api
from tests.bank.camt import Account, Transfer, build
from tests.factories import make_api_key, make_customer, make_invoice, make_merchant


@pytest.fixture(autouse=True)
def _march(time_machine):
    time_machine.move_to(datetime(2026, 3, 3, 10, tzinfo=UTC), tick=False)


@pytest.fixture
def shop(app, client):
    """A merchant with an API key, a customer and two open invoices of 1,000.00 EUR due end of March."""
    with app.app_context():
        merchant = make_merchant("Atelier", iban="BE68539007547034")
        customer = make_customer(merchant, "Jane Cooper")
        first = make_invoice(customer, due_date=date(2026, 3, 31))
        second = make_invoice(customer, due_date=date(2026, 3, 31))
        key = make_api_key(merchant)
        db.session.commit()
        return {
            "api": Api(client, key),
            "customer_id": customer.id,
            "invoices": [
                (first.id, first.number, first.payment_reference),
                (second.id, second.number, second.payment_reference),
            ],
        }


@pytest.fixture
def rival(app, client):
    with app.app_context():
        merchant = make_merchant("Rival", iban="BE71096123456769")
        invoice = make_invoice(make_customer(merchant, "Rival's customer"), due_date=date(2026, 3, 31))
        key = make_api_key(merchant)
        db.session.commit()
        return {"api": Api(client, key), "invoice_id": invoice.id}


def post_statement(api: Api, data: bytes, content_type: str = "application/xml"):
    return api.client.post(
        "/api/v1/bank-statements", data=data, content_type=content_type, headers={"Authorization": f"Bearer {api.key}"}
    )


def _statement(shop) -> bytes:
    (_, _, reference), _ = shop["invoices"]
    return build(
        Account(
            entries=[
                Transfer("1000.00", account_servicer_reference="A-1", structured_reference=format_reference(reference)),
                Transfer("77.00", account_servicer_reference="A-2", debtor_name="Nobody Known"),
                Transfer("10.00", credit=False, account_servicer_reference="A-3"),
            ]
        )
    )


def test_import_answers_the_counts_and_a_second_import_only_duplicates(shop):
    api = shop["api"]
    first = post_statement(api, _statement(shop))
    assert first.status_code == 201, first.json
    assert first.json == {"entries": 2, "matched": 1, "suggested": 0, "unmatched": 1, "duplicates": 0}
    again = post_statement(api, _statement(shop), content_type="text/xml")
    assert again.status_code == 201
    assert again.json == {"entries": 2, "matched": 0, "suggested": 0, "unmatched": 0, "duplicates": 2}

    waiting = api.get("/bank-transactions?status=unmatched")
    assert waiting.status_code == 200
    [row] = waiting.json["data"]
    assert (row["amount"], row["payer_name"], row["status"]) == (7700, "Nobody Known", "unmatched")
    assert {r["status"] for r in api.get("/bank-transactions").json["data"]} == {"matched", "unmatched"}


def test_staff_match_a_waiting_transaction_to_an_invoice(app, shop):
    api = shop["api"]
    post_statement(api, _statement(shop))
    [row] = api.get("/bank-transactions?status=unmatched").json["data"]
    _, (second_id, _, _) = shop["invoices"]

    matched = api.post(f"/bank-transactions/{row['id']}/match", {"invoice_id": second_id})

    assert matched.status_code == 200, matched.json
    assert (matched.json["status"], matched.json["invoice_id"]) == ("matched", second_id)
    invoice = api.get(f"/invoices/{second_id}").json
    assert invoice["paid"] == 7700 and invoice["status"] == "open"
    assert api.post(f"/bank-transactions/{row['id']}/ignore").status_code == 409
    assert api.post(f"/bank-transactions/{row['id']}/match", {"invoice_id": second_id}).status_code == 409
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Receipt)) == 2


def test_staff_mark_a_transaction_not_an_invoice_payment(shop):
    api = shop["api"]
    post_statement(api, _statement(shop))
    [row] = api.get("/bank-transactions?status=unmatched").json["data"]
    ignored = api.post(f"/bank-transactions/{row['id']}/ignore")
    assert ignored.status_code == 200 and ignored.json["status"] == "ignored"
    assert api.get("/bank-transactions?status=unmatched").json["data"] == []


def test_a_malformed_statement_is_422_and_writes_nothing(app, shop):
    for data in (b"<Document><not-closed>", b"<x/>", b""):
        response = post_statement(shop["api"], data)
        assert response.status_code == 422, data
        assert response.json["error"]["code"] == "invalid_statement"
    assert post_statement(shop["api"], _statement(shop), content_type="application/json").status_code == 400
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(BankTransaction)) == 0


def test_another_merchants_transaction_is_404(shop, rival):
    post_statement(shop["api"], _statement(shop))
    [row] = shop["api"].get("/bank-transactions?status=unmatched").json["data"]
    other = rival["api"]

    assert other.get("/bank-transactions").json["data"] == []
    assert other.post(f"/bank-transactions/{row['id']}/match", {"invoice_id": rival["invoice_id"]}).status_code == 404
    assert other.post(f"/bank-transactions/{row['id']}/ignore").status_code == 404
    # Nor can a merchant book its transaction on another merchant's invoice.
    response = shop["api"].post(f"/bank-transactions/{row['id']}/match", {"invoice_id": rival["invoice_id"]})
    assert response.status_code == 404 and response.json["error"]["field"] == "invoice_id"


def test_the_customer_sees_the_invoice_paid_after_the_import(app, shop):
    (first_id, number, _), _ = shop["invoices"]
    client = app.test_client()
    with app.app_context():
        customer = db.session.get(Customer, shop["customer_id"])
        link = make_portal_link(customer, db.session.get(Invoice, first_id)).url
    assert client.get(link.replace("http://portal.test", "")).status_code == 303
    before = client.get(f"/invoices/{number}").get_data(as_text=True)
    assert 'data-testid="bank-transfer"' in before and "Paid on" not in before

    post_statement(shop["api"], _statement(shop))

    after = client.get(f"/invoices/{number}").get_data(as_text=True)
    assert "Paid on March 2, 2026" in after
    assert 'data-testid="bank-transfer"' not in after

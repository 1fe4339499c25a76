"""The API's credit balance: on the customer, its entries, applying it, and refunding payments."""

from __future__ import annotations

import pytest

from tests.api.conftest import SPEC_LINE, invoice_body


@pytest.fixture
def customer(api):
    return api.post("/customers", {"name": "Jane", "email": "jane@example.com"}).json


def open_invoice(api, customer_id: int, amount: int = 100000) -> dict:
    draft = api.post("/invoices", invoice_body(customer_id, lines=[dict(SPEC_LINE, unit_amount=amount)])).json
    return api.post(f"/invoices/{draft['id']}/finalize").json


def test_a_customer_without_credit_shows_zero(api, customer):
    assert customer["credit_balance"] == 0 and customer["credit_balances"] == []
    credit = api.get(f"/customers/{customer['id']}/credit").json
    assert credit == {"customer_id": customer["id"], "credit_balance": 0, "credit_balances": [], "entries": []}


def test_surplus_goes_to_the_balance_and_pays_another_invoice(api, customer):
    first, second = open_invoice(api, customer["id"]), open_invoice(api, customer["id"], 25000)
    paid = api.post(
        f"/invoices/{first['id']}/payments",
        {"amount": 130000, "paid_on": "2026-02-01", "method": "bank_transfer", "surplus_to_credit": True},
    )
    assert paid.status_code == 201 and paid.json["amount"] == 100000

    assert api.get(f"/customers/{customer['id']}").json["credit_balance"] == 30000
    listed = api.get("/customers").json["data"]
    assert [row["credit_balances"] for row in listed] == [[{"currency": "EUR", "amount": 30000}]]
    [entry] = api.get(f"/customers/{customer['id']}/credit").json["entries"]
    assert (entry["amount"], entry["reason"], entry["invoice_id"]) == (30000, "overpayment", first["id"])

    applied = api.post(f"/customers/{customer['id']}/credit/apply", {"invoice_id": second["id"]})
    assert applied.status_code == 201
    assert (applied.json["method"], applied.json["amount"]) == ("credit_balance", 25000)
    assert api.get(f"/invoices/{second['id']}").json["status"] == "paid"
    credit = api.get(f"/customers/{customer['id']}/credit").json
    assert credit["credit_balance"] == 5000
    assert [e["reason"] for e in credit["entries"]] == ["applied", "overpayment"]


def test_applying_more_than_the_balance_is_refused(api, customer):
    invoice = open_invoice(api, customer["id"])
    refused = api.post(f"/customers/{customer['id']}/credit/apply", {"invoice_id": invoice["id"], "amount": 100})
    assert refused.status_code == 422 and refused.json["error"]["code"] == "insufficient_credit"


def test_a_payment_above_the_outstanding_is_still_refused_by_default(api, customer):
    invoice = open_invoice(api, customer["id"])
    refused = api.post(
        f"/invoices/{invoice['id']}/payments", {"amount": 100001, "paid_on": "2026-02-01", "method": "cash"}
    )
    assert refused.status_code == 422 and refused.json["error"]["code"] == "exceeds_outstanding"


def test_refunding_a_recorded_payment_reopens_the_invoice(api, customer):
    invoice = open_invoice(api, customer["id"])
    payment = api.post(
        f"/invoices/{invoice['id']}/payments", {"amount": 100000, "paid_on": "2026-02-01", "method": "cash"}
    ).json
    assert api.get(f"/invoices/{invoice['id']}").json["status"] == "paid"

    refund = api.post(f"/payments/{payment['id']}/refund", {"amount": 40000, "note": "Returned goods"})

    assert refund.status_code == 201
    assert refund.json["kind"] == "refunded" and refund.json["invoice_status"] == "open"
    assert refund.json["principal_amount"] == 40000 and refund.json["provider_refund_id"] is None
    after = api.get(f"/invoices/{invoice['id']}").json
    assert (after["status"], after["outstanding"], after["paid_on"]) == ("open", 40000, None)
    assert after["payments"][0]["refunded"] == 40000
    # Then the rest, by default; a third refund finds nothing left.
    assert api.post(f"/payments/{payment['id']}/refund", {}).json["amount"] == 60000
    assert api.post(f"/payments/{payment['id']}/refund", {}).status_code == 409


def test_another_merchants_payment_is_not_found(api, other_api, customer):
    invoice = open_invoice(api, customer["id"])
    payment = api.post(
        f"/invoices/{invoice['id']}/payments", {"amount": 1000, "paid_on": "2026-02-01", "method": "cash"}
    ).json
    assert other_api.post(f"/payments/{payment['id']}/refund", {}).status_code == 404
    assert other_api.get(f"/customers/{customer['id']}/credit").status_code == 404

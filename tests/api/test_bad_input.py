"""Bad input on every route answers the documented error and changes nothing."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from portal.api.operations import OPERATIONS
from portal.extensions import db
from portal.models import CreditNote, Customer, Invoice, InvoiceLine, Merchant, Payment
from tests.api.conftest import SPEC_LINE, invoice_body


def _concrete(rule: str, value: int = 1) -> str:
    return re.sub(r"<(?:int:)?\w+>", str(value), rule)


def _row_counts(app) -> dict[str, int]:
    with app.app_context():
        counts = {
            model.__name__: db.session.scalar(select(func.count()).select_from(model))
            for model in (Merchant, Customer, Invoice, InvoiceLine, CreditNote, Payment)
        }
        counts["policy"] = tuple(db.session.execute(select(Merchant.late_annual_rate, Merchant.late_grace_days)))
        counts["invoices"] = tuple(db.session.execute(select(Invoice.id, Invoice.status, Invoice.total, Invoice.notes)))
        return counts


@pytest.mark.parametrize(
    "op", [op for op in OPERATIONS if op.operation_id != "openapi"], ids=lambda op: op.operation_id
)
@pytest.mark.parametrize("header", [None, "Bearer ", "Bearer ipk_not-a-key", "Basic dXNlcjpwYXNz", "ipk_raw"])
def test_every_operation_needs_a_valid_key(client, merchant_key, op, header):
    headers = {} if header is None else {"Authorization": header}
    response = client.open("/api/v1" + _concrete(op.rule), method=op.method.upper(), headers=headers, json={})
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_revoked_key_is_refused(app, api):
    from portal.models import ApiKey
    from portal.models.base import utcnow

    with app.app_context():
        for key in db.session.scalars(select(ApiKey)):
            key.revoked_at = utcnow()
        db.session.commit()
    assert api.get("/invoices").status_code == 401


@pytest.mark.parametrize(
    "data, content_type",
    [
        ("not json", "application/json"),
        ('{"name": "x",', "application/json"),
        ("[1, 2]", "application/json"),
        ('"a string"', "application/json"),
        ('{"name": NaN}', "application/json"),
        ("name=Jane", "application/x-www-form-urlencoded"),
    ],
)
def test_malformed_bodies_are_400(app, api, data, content_type):
    before = _row_counts(app)
    response = api.client.post(
        "/api/v1/customers", data=data, content_type=content_type, headers={"Authorization": f"Bearer {api.key}"}
    )
    assert response.status_code == 400
    assert set(response.json["error"]) == {"code", "message", "field"}
    assert _row_counts(app) == before


CUSTOMER_CASES = [
    ({}, "name"),
    ({"name": "", "email": "a@example.com"}, "name"),
    ({"name": 12, "email": "a@example.com"}, "name"),
    ({"name": "Jane", "email": "not-an-email"}, "email"),
    ({"name": "Jane", "email": "a@example.com", "language": "es"}, "language"),
    ({"name": "Jane", "email": "a@example.com", "admin": True}, "admin"),
    ({"name": "x" * 201, "email": "a@example.com"}, "name"),
]


@pytest.mark.parametrize("body, field", CUSTOMER_CASES)
def test_bad_customers_are_422(app, api, body, field):
    before = _row_counts(app)
    response = api.post("/customers", body)
    assert response.status_code == 422
    assert response.json["error"]["field"] == field
    assert response.json["error"]["message"]
    assert _row_counts(app) == before


LINE_CASES = [
    ({"quantity": True}, "lines.0.quantity"),
    ({"quantity": "-1"}, "lines.0.quantity"),
    ({"quantity": "0"}, "lines.0.quantity"),
    ({"quantity": "1.2345"}, "lines.0.quantity"),
    ({"quantity": "abc"}, "lines.0.quantity"),
    ({"quantity": "Infinity"}, "lines.0.quantity"),
    ({"quantity": 10**9}, "lines.0.quantity"),
    ({"unit_amount": "100"}, "lines.0.unit_amount"),
    ({"unit_amount": 10.5}, "lines.0.unit_amount"),
    ({"unit_amount": -100}, "lines.0.unit_amount"),
    ({"unit_amount": 10**13}, "lines.0.unit_amount"),
    ({"unit_amount": None}, "lines.0.unit_amount"),
    ({"tax_rate": "101"}, "lines.0.tax_rate"),
    ({"tax_rate": "-1"}, "lines.0.tax_rate"),
    ({"discount_percent": "100.001"}, "lines.0.discount_percent"),
    ({"description": ""}, "lines.0.description"),
    ({"description": "   "}, "lines.0.description"),
]


@pytest.mark.parametrize("change, field", LINE_CASES)
def test_bad_lines_are_422(app, api, customer_id, change, field):
    before = _row_counts(app)
    response = api.post("/invoices", invoice_body(customer_id, lines=[dict(SPEC_LINE, **change)]))
    assert response.status_code == 422, response.json
    assert response.json["error"]["field"] == field
    assert _row_counts(app) == before


INVOICE_CASES = [
    ({"currency": "XYZ"}, "currency", "unknown_currency"),
    ({"currency": "eur"}, "currency", "invalid"),
    ({"currency": 978}, "currency", "invalid"),
    ({"issue_date": "2026-02-30"}, "issue_date", "invalid"),
    ({"issue_date": "01/02/2026"}, "issue_date", "invalid"),
    ({"issue_date": 1767225600}, "issue_date", "invalid"),
    ({"due_date": "2025-12-31"}, "due_date", "invalid"),
    ({"lines": []}, "lines", "invalid"),
    ({"lines": "one"}, "lines", "invalid"),
    ({"discount_percent": "150"}, "discount_percent", "invalid"),
    ({"customer_id": "1"}, "customer_id", "invalid"),
    ({"customer_id": 999999}, "customer_id", "not_found"),
    ({"notes": "x" * 2001}, "notes", "invalid"),
    ({"status": "paid"}, "status", "invalid"),
]


@pytest.mark.parametrize("change, field, code", INVOICE_CASES)
def test_bad_invoices_are_rejected(app, api, customer_id, change, field, code):
    before = _row_counts(app)
    response = api.post("/invoices", {**invoice_body(customer_id), **change})
    assert response.status_code == (404 if code == "not_found" else 422), response.json
    assert response.json["error"]["field"] == field
    assert response.json["error"]["code"] == code
    assert _row_counts(app) == before


def test_finalized_invoice_cannot_be_edited(app, api, open_invoice):
    before = _row_counts(app)
    for body in ({"notes": "changed"}, {"lines": [SPEC_LINE]}, {"due_date": "2026-12-31"}):
        response = api.patch(f"/invoices/{open_invoice['id']}", body)
        assert response.status_code == 409
    assert api.delete(f"/invoices/{open_invoice['id']}").status_code == 409
    assert _row_counts(app) == before


PAYMENT_CASES = [
    ({"amount": 0}, "amount"),
    ({"amount": -5}, "amount"),
    ({"amount": "100"}, "amount"),
    ({"amount": 1000.5}, "amount"),
    ({"amount": 10**13}, "amount"),
    ({"method": "bitcoin"}, "method"),
    ({"paid_on": "2099-01-01"}, "paid_on"),
    ({"paid_on": "yesterday"}, "paid_on"),
    ({"amount": 100001}, "amount"),
]


@pytest.mark.parametrize("change, field", PAYMENT_CASES)
def test_bad_payments_are_422(app, api, open_invoice, change, field):
    before = _row_counts(app)
    body = {"amount": 1000, "paid_on": "2026-01-15", "method": "bank_transfer", **change}
    response = api.post(f"/invoices/{open_invoice['id']}/payments", body)
    assert response.status_code == 422, response.json
    assert response.json["error"]["field"] == field
    assert _row_counts(app) == before


@pytest.mark.parametrize(
    "body, field",
    [
        ({"annual_rate": "-1", "fee_percent": "0", "fee_minimum": 0, "grace_days": 0}, "annual_rate"),
        ({"annual_rate": "12", "fee_percent": "0", "fee_minimum": -1, "grace_days": 0}, "fee_minimum"),
        ({"annual_rate": "12", "fee_percent": "0", "fee_minimum": 0, "grace_days": 1.5}, "grace_days"),
        ({"annual_rate": "12", "fee_percent": "0", "fee_minimum": 0}, "grace_days"),
        ({"annual_rate": "12", "fee_percent": "200", "fee_minimum": 0, "grace_days": 0}, "fee_percent"),
    ],
)
def test_bad_policy_is_422(app, api, body, field):
    before = _row_counts(app)
    response = api.put("/settings/late-fee-policy", body)
    assert response.status_code == 422
    assert response.json["error"]["field"] == field
    assert _row_counts(app) == before


def test_another_merchants_objects_are_404(app, api, other_api, customer_id, open_invoice):
    """Every route answers 404 — never 403 — for another merchant's ids, and changes nothing."""
    note = api.post(f"/invoices/{open_invoice['id']}/credit-notes", {"lines": [dict(SPEC_LINE, unit_amount=100)]})
    draft = api.post("/invoices", invoice_body(customer_id)).json
    before = _row_counts(app)
    inv, cust, cn = open_invoice["id"], customer_id, note.json["id"]
    attempts = [
        other_api.get(f"/customers/{cust}"),
        other_api.post(f"/customers/{cust}/portal-links", {}),
        other_api.post(f"/customers/{cust}/revoke-links"),
        other_api.get(f"/invoices/{inv}"),
        other_api.patch(f"/invoices/{draft['id']}", {"notes": "mine now"}),
        other_api.delete(f"/invoices/{draft['id']}"),
        other_api.post(f"/invoices/{draft['id']}/finalize"),
        other_api.post(f"/invoices/{inv}/void"),
        other_api.post(f"/invoices/{inv}/payments", {"amount": 1, "paid_on": "2026-01-15", "method": "cash"}),
        other_api.post(f"/invoices/{inv}/credit-notes", {"lines": [SPEC_LINE]}),
        other_api.get(f"/credit-notes/{cn}"),
        other_api.post("/invoices", invoice_body(cust)),
    ]
    for response in attempts:
        assert response.status_code == 404, (response.request.path, response.json)
        assert response.json["error"]["code"] == "not_found"
    assert other_api.get(f"/invoices?customer_id={cust}").json["data"] == []
    # A portal link of our customer cannot name another merchant's invoice either.
    rival_invoice = other_api.post("/invoices", invoice_body(_rival_customer(app))).json
    link = api.post(f"/customers/{cust}/portal-links", {"invoice_id": rival_invoice["id"]})
    assert link.status_code == 404 and link.json["error"]["field"] == "invoice_id"
    after = _row_counts(app)
    before["Invoice"] += 1
    before["InvoiceLine"] += 1
    assert {k: v for k, v in after.items() if k != "invoices"} == {k: v for k, v in before.items() if k != "invoices"}


def _rival_customer(app) -> int:
    with app.app_context():
        return db.session.scalar(select(Customer.id).where(Customer.name == "Rival's customer"))


def test_unknown_routes_and_methods_answer_json(api):
    missing = api.get("/nothing-here")
    assert missing.status_code == 404 and missing.json["error"]["code"] == "not_found"
    wrong_method = api.client.put("/api/v1/customers", headers={"Authorization": f"Bearer {api.key}"})
    assert wrong_method.status_code == 405
    assert wrong_method.json["error"]["code"] == "method_not_allowed"


def test_a_whole_number_written_with_a_fraction_is_an_integer(api, open_invoice):
    """JSON Schema's integers are numbers without a fractional part: 1000.0 is one, 1000.5 is not."""
    response = api.post(
        f"/invoices/{open_invoice['id']}/payments",
        {"amount": 1000.0, "paid_on": "2026-01-15", "method": "bank_transfer"},
    )
    assert response.status_code == 201, response.json
    assert response.json["amount"] == 1000

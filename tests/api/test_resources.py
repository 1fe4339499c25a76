"""The admin's objects through the API: archived customers, products, charges, comment threads, ways to pay."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from sqlalchemy import select

from portal.extensions import db
from portal.models import Customer
from portal.models.mail import OutboxMessage
from portal.services.links import make_portal_link
from tests.api.conftest import invoice_body


def test_archived_customers_leave_the_lists_and_take_no_invoices(api, other_api, customer_id):
    archived = api.post(f"/customers/{customer_id}/archive")
    assert archived.status_code == 200 and archived.json["archived_at"] is not None
    assert api.get("/customers").json["data"] == []
    assert [c["id"] for c in api.get("/customers?archived=true").json["data"]] == [customer_id]
    refused = api.post("/invoices", invoice_body(customer_id))
    assert refused.status_code == 409 and refused.json["error"]["field"] == "customer_id"
    assert other_api.post(f"/customers/{customer_id}/archive").status_code == 404
    restored = api.post(f"/customers/{customer_id}/unarchive")
    assert restored.json["archived_at"] is None
    assert [c["id"] for c in api.get("/customers").json["data"]] == [customer_id]
    assert api.post("/invoices", invoice_body(customer_id)).status_code == 201


def test_products_crud(api, other_api):
    created = api.post("/products", {"name": "Hosting", "unit_amount": 2500, "currency": "EUR", "tax_rate": "21"})
    assert created.status_code == 201
    product = created.json
    assert (product["tax_category"], product["tax_rate"]) == ("S", "21")
    api.post("/products", {"name": "Domain", "unit_amount": 1200, "currency": "EUR", "tax_rate": "0"})
    assert [p["name"] for p in api.get("/products").json["data"]] == ["Domain", "Hosting"]
    assert [p["name"] for p in api.get("/products?q=HOST").json["data"]] == ["Hosting"]
    changed = api.patch(f"/products/{product['id']}", {"unit_amount": 3000})
    assert changed.json["unit_amount"] == 3000 and changed.json["name"] == "Hosting"
    assert api.patch(f"/products/{product['id']}", {"name": None}).status_code == 422
    assert api.patch(f"/products/{product['id']}", {"tax_rate": "0", "tax_category": "S"}).status_code == 422
    assert other_api.get(f"/products/{product['id']}").status_code == 404
    assert other_api.delete(f"/products/{product['id']}").status_code == 404
    assert api.delete(f"/products/{product['id']}").status_code == 204
    assert api.get(f"/products/{product['id']}").status_code == 404


def _charge(api, customer_id: int, description: str, **fields) -> dict:
    body = {
        "customer_id": customer_id,
        "description": description,
        "charged_on": "2026-01-05",
        "quantity": "2",
        "unit_amount": 5000,
        "tax_rate": "21",
        **fields,
    }
    created = api.post("/charges", body)
    assert created.status_code == 201, created.json
    return created.json


def test_charges_and_drafting_an_invoice_from_them(api, other_api, customer_id):
    first = _charge(api, customer_id, "Support")
    second = _charge(api, customer_id, "Travel", quantity="1", unit_amount=12000)
    assert (first["status"], first["currency"], first["invoice_id"]) == ("open", "EUR", None)
    changed = api.patch(f"/charges/{first['id']}", {"quantity": "3"})
    assert changed.json["quantity"] == "3" and changed.json["description"] == "Support"
    assert other_api.post(f"/customers/{customer_id}/draft-from-charges", {}).status_code == 404

    drafted = api.post(f"/customers/{customer_id}/draft-from-charges", {"issue_date": "2026-01-31"})
    assert drafted.status_code == 201, drafted.json
    invoice = drafted.json
    assert invoice["status"] == "draft" and invoice["due_date"] == "2026-03-02"
    assert [line["description"] for line in invoice["lines"]] == ["Support", "Travel"]
    assert invoice["subtotal"] == 3 * 5000 + 12000
    listed = api.get(f"/charges?customer_id={customer_id}&status=invoiced").json["data"]
    assert {c["id"] for c in listed} == {first["id"], second["id"]}
    assert {c["status"] for c in listed} == {"drafted"}
    assert api.patch(f"/charges/{first['id']}", {"quantity": "1"}).status_code == 409
    assert api.delete(f"/charges/{first['id']}").status_code == 409
    assert api.post(f"/customers/{customer_id}/draft-from-charges", {}).status_code == 422  # none open

    # Deleting the draft returns them to open.
    assert api.delete(f"/invoices/{invoice['id']}").status_code == 204
    assert {c["status"] for c in api.get("/charges?status=open").json["data"]} == {"open"}
    only = api.post(f"/customers/{customer_id}/draft-from-charges", {"charge_ids": [second["id"]]})
    assert [line["description"] for line in only.json["lines"]] == ["Travel"]
    assert api.delete(f"/charges/{first['id']}").status_code == 204


def test_a_charge_of_another_customer_cannot_be_drafted(api, customer_id):
    other = api.post("/customers", {"name": "Other", "email": "o@example.com"}).json
    theirs = _charge(api, other["id"], "Theirs")
    refused = api.post(f"/customers/{customer_id}/draft-from-charges", {"charge_ids": [theirs["id"]]})
    assert refused.status_code == 404


def test_comment_thread_and_a_staff_reply(app, api, client, customer_id, open_invoice):
    with app.app_context():
        link = make_portal_link(db.session.get(Customer, customer_id))
        db.session.remove()
    client.get(urlsplit(link.url).path)
    page = client.get(f"/invoices/{open_invoice['number']}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    client.post(f"/invoices/{open_invoice['number']}/comments", data={"csrf_token": token, "body": "Is VAT due?"})

    reply = api.post(f"/invoices/{open_invoice['id']}/comments", {"body": "No: reverse charge."})
    assert reply.status_code == 201
    assert (reply.json["author"], reply.json["staff_name"], reply.json["body"]) == (
        "staff",
        None,
        "No: reverse charge.",
    )
    thread = api.get(f"/invoices/{open_invoice['id']}/comments").json
    assert [(c["author"], c["body"]) for c in thread["data"]] == [
        ("customer", "Is VAT due?"),
        ("staff", "No: reverse charge."),
    ]
    one = api.get(f"/invoices/{open_invoice['id']}/comments?limit=1").json
    assert one["has_more"] is True and one["data"][0]["author"] == "customer"
    with app.app_context():
        mailed = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "reply")).all()
        assert [m.to_address for m in mailed] == ["jane@example.com"]
    assert api.get("/events?type=comment.created").json["data"][0]["data"]["author"] == "staff"
    assert "No: reverse charge." in client.get(f"/invoices/{open_invoice['number']}").get_data(as_text=True)


def test_no_reply_on_a_draft(api, customer_id):
    draft = api.post("/invoices", invoice_body(customer_id)).json
    refused = api.post(f"/invoices/{draft['id']}/comments", {"body": "Hello"})
    assert refused.status_code == 422
    assert api.post(f"/invoices/{draft['id']}/comments", {"body": ""}).status_code == 422


def test_ways_to_pay_per_invoice(api, open_invoice):
    path = f"/invoices/{open_invoice['id']}/payment-methods"
    assert api.get(path).json == {
        "invoice_id": open_invoice["id"],
        "offered": [],
        "chosen": None,
        "enabled": [],
        "methods": None,
        "checkout_methods": {},
        "available_methods": [],
        "bank_transfer": True,
    }
    api.put("/settings/payment-providers", {"mollie": {"enabled": True, "api_key": "test_" + "a" * 30}})
    assert api.get(path).json["offered"] == ["mollie"]
    transfer_only = api.put(path, {"providers": []})
    assert {key: transfer_only.json[key] for key in ("offered", "chosen", "enabled", "bank_transfer")} == {
        "offered": [],
        "chosen": [],
        "enabled": ["mollie"],
        "bank_transfer": True,
    }
    assert api.put(path, {"providers": ["stripe", "mollie"]}).json["offered"] == ["mollie"]
    assert api.put(path, {"providers": None}).json["chosen"] is None
    assert api.put(path, {"providers": ["paypal"]}).status_code == 422
    api.post(f"/invoices/{open_invoice['id']}/payments", {"amount": 100000, "paid_on": "2026-01-15", "method": "cash"})
    assert api.put(path, {"providers": []}).status_code == 422  # paid: nothing left to pay

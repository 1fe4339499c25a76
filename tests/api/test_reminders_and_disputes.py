"""The API's reminder and dispute fields: consumer customers, paused reminders, resolving a dispute."""

from __future__ import annotations

from portal.extensions import db
from portal.models import Customer, Invoice
from portal.services.disputes import open_dispute
from tests.factories import make_invoice


def test_customers_carry_consumer_and_paused_reminders(api):
    created = api.post("/customers", {"name": "Jan", "email": "jan@example.com", "consumer": True})
    assert created.status_code == 201, created.json
    assert created.json["consumer"] is True and created.json["reminders_paused"] is False
    patched = api.patch(f"/customers/{created.json['id']}", {"reminders_paused": True})
    assert patched.json["reminders_paused"] is True and patched.json["consumer"] is True
    assert api.patch(f"/customers/{created.json['id']}", {"consumer": None}).status_code == 422


def test_pause_reminders_and_resolve_a_dispute(app, api, other_api, time_machine):
    time_machine.move_to("2026-02-10 09:00", tick=False)
    customer_id = api.post("/customers", {"name": "Jan", "email": "jan@example.com"}).json["id"]
    with app.app_context():
        customer = db.session.get(Customer, customer_id)
        invoice = make_invoice(customer)
        db.session.commit()
        invoice_id = invoice.id
    shown = api.get(f"/invoices/{invoice_id}").json
    assert shown["disputed"] is False and shown["reminders_paused"] is False and shown["first_sent_at"] is None

    paused = api.post(f"/invoices/{invoice_id}/reminders", {"paused": True})
    assert paused.status_code == 200 and paused.json["reminders_paused"] is True
    assert other_api.post(f"/invoices/{invoice_id}/reminders", {"paused": False}).status_code == 404

    assert api.post(f"/invoices/{invoice_id}/resolve-dispute", {}).status_code == 409
    with app.app_context():
        invoice = db.session.get(Invoice, invoice_id)
        open_dispute(invoice, invoice.customer, "Not ordered.")
        db.session.commit()
    assert api.get(f"/invoices/{invoice_id}").json["disputed"] is True
    resolved = api.post(f"/invoices/{invoice_id}/resolve-dispute", {"resolution": "Credit note issued."})
    assert resolved.status_code == 200 and resolved.json["disputed"] is False
    types = [event["type"] for event in api.get("/events").json["data"]]
    assert "invoice.disputed" in types and "invoice.dispute_resolved" in types

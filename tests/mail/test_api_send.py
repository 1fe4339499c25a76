"""POST /api/v1/invoices/{id}/send: queue the invoice mail, a test copy to the staff, or a resend."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models.mail import OutboxMessage
from portal.services.merchants import create_staff_user
from tests.factories import make_api_key, make_customer, make_invoice, make_merchant, run_jobs


@pytest.fixture
def setup(ctx):
    merchant = make_merchant("Acme", support_email="help@acme.example")
    create_staff_user(merchant, email="ann@acme.example", name="Ann", password="long enough pw")
    create_staff_user(merchant, email="bob@acme.example", name="Bob", password="long enough pw")
    key = make_api_key(merchant)
    customer = make_customer(merchant, email="jane@example.com")
    invoice = make_invoice(customer)
    draft = make_invoice(customer, finalize=False)
    db.session.commit()
    return {"Authorization": f"Bearer {key}"}, invoice.id, draft.id


def outbox() -> list[tuple[str, str, str]]:
    run_jobs()
    db.session.expire_all()
    rows = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
    return [(m.kind, m.to_address, m.subject) for m in rows]


def test_send_queues_the_mail_to_the_customer_and_resend_queues_it_again(client, setup):
    headers, invoice_id, _ = setup

    first = client.post(f"/api/v1/invoices/{invoice_id}/send", json={}, headers=headers)
    second = client.post(f"/api/v1/invoices/{invoice_id}/send", json={"test": False}, headers=headers)

    assert first.status_code == 202
    body = first.get_json()
    assert body["queued"] == 1 and body["test"] is False and body["status"] == "queued"
    assert body["recipients"] == ["jane@example.com"] and len(body["job_ids"]) == 1
    assert second.status_code == 202
    assert outbox() == [("invoice", "jane@example.com", "Invoice 2026-0001 from Acme")] * 2


def test_a_test_copy_goes_to_every_active_staff_member(client, setup):
    headers, invoice_id, _ = setup

    response = client.post(f"/api/v1/invoices/{invoice_id}/send", json={"test": True}, headers=headers)

    assert response.status_code == 202
    body = response.get_json()
    assert (body["queued"], body["test"]) == (2, True)
    assert body["recipients"] == ["ann@acme.example", "bob@acme.example"] and len(body["job_ids"]) == 2
    assert outbox() == [
        ("invoice_test", "ann@acme.example", "[TEST] Invoice 2026-0001 from Acme"),
        ("invoice_test", "bob@acme.example", "[TEST] Invoice 2026-0001 from Acme"),
    ]


def test_sending_a_draft_is_a_conflict(client, setup):
    headers, _, draft_id = setup

    response = client.post(f"/api/v1/invoices/{draft_id}/send", json={}, headers=headers)

    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "conflict"
    assert outbox() == []


def test_another_merchants_invoice_is_not_found_and_bad_bodies_are_refused(client, setup):
    headers, invoice_id, _ = setup
    other = make_merchant("Other")
    other_headers = {"Authorization": f"Bearer {make_api_key(other)}"}
    db.session.commit()

    assert client.post(f"/api/v1/invoices/{invoice_id}/send", json={}, headers=other_headers).status_code == 404
    assert client.post(f"/api/v1/invoices/{invoice_id}/send", json={"test": "yes"}, headers=headers).status_code == 422
    assert client.post(f"/api/v1/invoices/{invoice_id}/send", json={"cc": 1}, headers=headers).status_code == 422
    assert client.post(f"/api/v1/invoices/{invoice_id}/send", json={}).status_code == 401
    assert outbox() == []


def test_the_operation_is_in_the_openapi_document(client):
    document = client.get("/api/v1/openapi.json").get_json()
    operation = document["paths"]["/invoices/{invoice_id}/send"]["post"]
    assert set(operation["responses"]) >= {"202", "401", "404", "409", "422"}
    assert document["components"]["schemas"]["SendIn"]["properties"]["test"]["type"] == "boolean"

"""Attachments, recurring lines, the billing cycle and the send log through the API, as an integrator uses them."""

from __future__ import annotations

import uuid

import time_machine
from sqlalchemy import select

from portal.extensions import db
from portal.mail.notifications import send_invoice
from portal.models import Invoice, Merchant
from portal.models.mail import InvoiceSend
from portal.services import attachments, sms
from portal.services.billing import bill_monthly
from portal.services.merchants import create_staff_user
from tests.api.conftest import Api, invoice_body
from tests.factories import make_api_key, make_customer, make_invoice, make_merchant, run_jobs
from tests.fakes.twilio import SID, TOKEN

PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def _multipart(field: str, data: bytes, name: str, content_type: str, boundary: str) -> bytes:
    """Return a multipart/form-data body built by hand (the test client spools large ones to files it never closes)."""
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{name}"\r\n'
        f"Content-Type: {content_type}\r\n\r\n"
    )
    return head.encode() + data + f"\r\n--{boundary}--\r\n".encode()


def _upload(api, invoice_id: int, data: bytes, name: str, content_type: str, key: str | None = None, **headers):
    boundary = uuid.uuid4().hex  # a new one per attempt, as clients do
    return api.client.post(
        f"/api/v1/invoices/{invoice_id}/attachments",
        data=_multipart("file", data, name, content_type, boundary),
        content_type=f"multipart/form-data; boundary={boundary}",
        headers=api._headers(key, headers),
    )


def _draft(api, customer_id: int) -> dict:
    created = api.post("/invoices", invoice_body(customer_id))
    assert created.status_code == 201, created.json
    return created.json


def test_attachments_upload_list_fetch_download_and_delete_on_a_draft(api, customer_id):
    draft = _draft(api, customer_id)

    uploaded = _upload(api, draft["id"], PDF, "terms.pdf", "application/pdf")

    assert uploaded.status_code == 201, uploaded.json
    attachment = uploaded.json
    assert attachment["filename"] == "terms.pdf" and attachment["content_type"] == "application/pdf"
    assert (attachment["size"], attachment["uploaded_by"], attachment["invoice_id"]) == (len(PDF), "api", draft["id"])
    second = _upload(api, draft["id"], PNG, "photo.png", "image/png").json
    listed = api.get(f"/invoices/{draft['id']}/attachments?limit=1")
    assert [a["id"] for a in listed.json["data"]] == [attachment["id"]] and listed.json["has_more"] is True
    after = api.get(f"/invoices/{draft['id']}/attachments?starting_after={attachment['id']}").json
    assert [a["id"] for a in after["data"]] == [second["id"]] and after["has_more"] is False
    assert api.get(f"/invoices/{draft['id']}/attachments/{attachment['id']}").json == attachment
    content = api.get(f"/invoices/{draft['id']}/attachments/{attachment['id']}/content")
    assert content.status_code == 200 and content.data == PDF and content.mimetype == "application/octet-stream"
    assert content.headers["Content-Disposition"].startswith("attachment;")

    assert api.delete(f"/invoices/{draft['id']}/attachments/{attachment['id']}").status_code == 204
    assert api.get(f"/invoices/{draft['id']}/attachments/{attachment['id']}").status_code == 404
    assert [a["id"] for a in api.get(f"/invoices/{draft['id']}/attachments").json["data"]] == [second["id"]]


def test_a_finalized_invoices_attachments_no_longer_change(api, customer_id):
    draft = _draft(api, customer_id)
    kept = _upload(api, draft["id"], PDF, "terms.pdf", "application/pdf").json
    assert api.post(f"/invoices/{draft['id']}/finalize").status_code == 200

    added = _upload(api, draft["id"], PNG, "late.png", "image/png")
    removed = api.delete(f"/invoices/{draft['id']}/attachments/{kept['id']}")

    assert added.status_code == 409 and added.json["error"]["code"] == "invoice_not_draft"
    assert removed.status_code == 409 and removed.json["error"]["code"] == "invoice_not_draft"
    assert [a["id"] for a in api.get(f"/invoices/{draft['id']}/attachments").json["data"]] == [kept["id"]]


def test_another_merchants_invoice_or_attachment_is_not_found(api, other_api, customer_id):
    draft = _draft(api, customer_id)
    mine = _upload(api, draft["id"], PDF, "terms.pdf", "application/pdf").json
    other_customer = other_api.get("/customers").json["data"][0]["id"]
    other_draft = other_api.post("/invoices", invoice_body(other_customer)).json
    theirs = _upload(other_api, other_draft["id"], PDF, "theirs.pdf", "application/pdf").json

    assert _upload(other_api, draft["id"], PDF, "x.pdf", "application/pdf").status_code == 404
    assert other_api.get(f"/invoices/{draft['id']}/attachments").status_code == 404
    assert other_api.get(f"/invoices/{draft['id']}/attachments/{mine['id']}/content").status_code == 404
    # Their attachment's id under my own invoice: not mine, so not found, and nothing is deleted.
    assert api.get(f"/invoices/{draft['id']}/attachments/{theirs['id']}").status_code == 404
    assert api.get(f"/invoices/{draft['id']}/attachments/{theirs['id']}/content").status_code == 404
    assert api.delete(f"/invoices/{draft['id']}/attachments/{theirs['id']}").status_code == 404
    assert other_api.get(f"/invoices/{other_draft['id']}/attachments/{theirs['id']}").status_code == 200


def test_a_file_that_is_not_what_it_claims_is_refused(api, customer_id):
    draft = _draft(api, customer_id)

    html = _upload(api, draft["id"], b"<html><script>alert(1)</script></html>", "invoice.pdf", "application/pdf")
    empty = _upload(api, draft["id"], b"", "empty.pdf", "application/pdf")
    not_multipart = api.post(f"/invoices/{draft['id']}/attachments", {"file": "JVBERi0="})
    no_file = api.client.post(
        f"/api/v1/invoices/{draft['id']}/attachments",
        data=_multipart("other", b"%PDF-", "a.pdf", "application/pdf", "b0undary"),
        content_type="multipart/form-data; boundary=b0undary",
        headers=api._headers(None),
    )

    assert html.status_code == 422 and html.json["error"]["field"] == "file"
    assert empty.status_code == 422
    assert not_multipart.status_code == 400 and not_multipart.json["error"]["code"] == "bad_request"
    assert no_file.status_code == 422 and no_file.json["error"]["field"] == "file"
    assert api.get(f"/invoices/{draft['id']}/attachments").json["data"] == []


def test_an_oversize_upload_is_413_with_a_json_error(api, customer_id):
    draft = _draft(api, customer_id)
    just_over = PDF + b"\0" * (attachments.MAX_ATTACHMENT_BYTES + 1 - len(PDF))

    over = _upload(api, draft["id"], just_over, "big.pdf", "application/pdf")
    far_over = _upload(api, draft["id"], just_over + b"\0" * (1024 * 1024), "bigger.pdf", "application/pdf")

    assert over.status_code == 413 and over.json["error"] == {
        "code": "too_large",
        "message": "An attachment is at most 10 MB",
        "field": "file",
    }
    assert far_over.status_code == 413 and far_over.json["error"]["code"] == "too_large"
    assert api.get(f"/invoices/{draft['id']}/attachments").json["data"] == []


def test_a_retried_upload_with_its_idempotency_key_attaches_once(api, customer_id):
    draft = _draft(api, customer_id)

    first = _upload(api, draft["id"], PDF, "terms.pdf", "application/pdf", **{"Idempotency-Key": "upload-1"})
    again = _upload(api, draft["id"], PDF, "terms.pdf", "application/pdf", **{"Idempotency-Key": "upload-1"})
    other_file = _upload(api, draft["id"], PNG, "terms.png", "image/png", **{"Idempotency-Key": "upload-1"})

    assert first.status_code == 201
    assert again.status_code == 201 and again.json == first.json and again.headers["Idempotent-Replayed"] == "true"
    assert other_file.status_code == 422 and other_file.json["error"]["code"] == "idempotency_key_reused"
    assert len(api.get(f"/invoices/{draft['id']}/attachments").json["data"]) == 1


LINE = {"description": "Hosting", "quantity": "1", "unit_amount": 2500, "tax_rate": "21"}


def test_recurring_lines_crud_and_the_billing_cycle_draft_the_monthly_invoice(app, api, other_api, customer_id):
    created = api.post(f"/customers/{customer_id}/recurring-lines", LINE)
    assert created.status_code == 201, created.json
    line = created.json
    assert (line["customer_id"], line["currency"], line["tax_category"]) == (customer_id, "EUR", "S")
    second = api.post(f"/customers/{customer_id}/recurring-lines", {**LINE, "description": "Backup"}).json
    changed = api.patch(f"/recurring-lines/{line['id']}", {"quantity": "2"})
    assert changed.status_code == 200 and (changed.json["quantity"], changed.json["description"]) == ("2", "Hosting")
    assert api.patch(f"/recurring-lines/{line['id']}", {"description": None}).status_code == 422
    assert api.post(f"/customers/{customer_id}/recurring-lines", {**LINE, "quantity": "0"}).status_code == 422
    assert api.get(f"/recurring-lines/{line['id']}").json == changed.json
    assert [x["id"] for x in api.get(f"/customers/{customer_id}/recurring-lines").json["data"]] == [
        line["id"],
        second["id"],
    ]
    assert api.delete(f"/recurring-lines/{second['id']}").status_code == 204
    assert api.get(f"/recurring-lines/{second['id']}").status_code == 404

    assert api.get(f"/customers/{customer_id}/billing-cycle").json["active"] is False
    cycle = api.put(f"/customers/{customer_id}/billing-cycle", {"day_of_month": 5, "payment_days": 14})
    assert cycle.status_code == 200 and cycle.json == {
        "customer_id": customer_id,
        "active": True,
        "day_of_month": 5,
        "payment_days": 14,
        "auto_send": False,
    }
    assert api.put(f"/customers/{customer_id}/billing-cycle", {"day_of_month": 31}).status_code == 422

    with time_machine.travel("2026-03-06 10:00:00Z", tick=False), app.app_context():
        results = bill_monthly()
    assert [r.error for r in results] == [None]
    drafted = api.get(f"/invoices?customer_id={customer_id}").json["data"][0]
    assert drafted["status"] == "draft" and drafted["due_date"] == "2026-03-20"
    assert [(x["description"], x["quantity"]) for x in drafted["lines"]] == [("Hosting", "2")]


def test_another_merchants_customer_or_recurring_line_is_not_found(api, other_api, customer_id):
    line = api.post(f"/customers/{customer_id}/recurring-lines", LINE).json

    assert other_api.get(f"/customers/{customer_id}/recurring-lines").status_code == 404
    assert other_api.post(f"/customers/{customer_id}/recurring-lines", LINE).status_code == 404
    assert other_api.get(f"/recurring-lines/{line['id']}").status_code == 404
    assert other_api.patch(f"/recurring-lines/{line['id']}", {"quantity": "9"}).status_code == 404
    assert other_api.delete(f"/recurring-lines/{line['id']}").status_code == 404
    assert other_api.get(f"/customers/{customer_id}/billing-cycle").status_code == 404
    assert other_api.put(f"/customers/{customer_id}/billing-cycle", {}).status_code == 404
    assert api.get(f"/recurring-lines/{line['id']}").json["quantity"] == "1"


def test_every_send_is_logged_with_who_asked_and_whether_it_was_delivered(
    app, api, other_api, merchant_key, open_invoice
):
    invoice_id = open_invoice["id"]
    assert open_invoice["last_sent_at"] is None and open_invoice["send_count"] == 0
    with app.app_context():
        create_staff_user(
            db.session.get(Merchant, merchant_key[0]), email="ann@acme.example", name="Ann", password="long enough pw"
        )
        db.session.commit()

    assert api.post(f"/invoices/{invoice_id}/send", {}).status_code == 202
    pending = api.get(f"/invoices/{invoice_id}/sends").json["data"]
    assert [(s["status"], s["to"], s["sent_by"], s["test"]) for s in pending] == [
        ("requested", "jane@example.com", "api_key", False)
    ]
    assert pending[0]["api_key_id"] is not None and pending[0]["delivered_at"] is None
    assert api.post(f"/invoices/{invoice_id}/send", {"test": True}).status_code == 202
    with app.app_context():
        run_jobs()

    sends = api.get(f"/invoices/{invoice_id}/sends").json
    assert [(s["to"], s["test"], s["status"]) for s in sends["data"]] == [
        ("ann@acme.example", True, "sent"),
        ("jane@example.com", False, "sent"),
    ]
    assert all(s["delivered_at"] is not None and s["attempts"] == 1 for s in sends["data"])
    invoice = api.get(f"/invoices/{invoice_id}").json
    assert invoice["send_count"] == 1 and invoice["last_sent_at"] == sends["data"][1]["created_at"]
    [listed] = api.get("/invoices").json["data"]
    assert (listed["send_count"], listed["last_sent_at"]) == (1, invoice["last_sent_at"])
    assert api.get(f"/invoices/{invoice_id}/sends?limit=1").json["has_more"] is True
    assert other_api.get(f"/invoices/{invoice_id}/sends").status_code == 404


def test_a_staff_send_in_the_admin_is_logged_as_the_staff_members(app, client, api, merchant_key, open_invoice):
    with app.app_context():
        merchant = db.session.get(Merchant, merchant_key[0])
        ann = create_staff_user(merchant, email="ann@acme.example", name="Ann", password="long enough pw")
        send_invoice(db.session.get(Invoice, open_invoice["id"]), by=ann)
        db.session.commit()
        rows = db.session.scalars(select(InvoiceSend)).all()
        assert [(r.sent_by, r.staff_user_id, r.sent_by_name) for r in rows] == [("staff", ann.id, "ann@acme.example")]
    listed = api.get(f"/invoices/{open_invoice['id']}/sends").json["data"]
    assert (listed[0]["sent_by"], listed[0]["sent_by_name"]) == ("staff", "ann@acme.example")


def test_an_sms_send_is_logged_beside_the_mail_with_its_delivery(app, client, twilio):
    with app.app_context():
        merchant = make_merchant("Atelier Lumen")
        sms.set_sms_account(merchant, enabled=True, account_sid=SID, auth_token=TOKEN, sender="+32 460 20 00 00")
        customer = make_customer(merchant, "Jan Peeters", phone="0470 12 34 56")
        invoice_id = make_invoice(customer).id
        api = Api(client, make_api_key(merchant))
        db.session.commit()
        email = customer.email

    assert api.post(f"/invoices/{invoice_id}/send", {"channels": ["email", "sms"]}).status_code == 202
    with app.app_context():
        run_jobs()

    sends = api.get(f"/invoices/{invoice_id}/sends").json["data"]
    assert [(s["channel"], s["to"], s["status"], s["sent_by"]) for s in sends] == [
        ("email", email, "sent", "api_key"),
        ("sms", "+32470123456", "sent", "api_key"),
    ]
    assert api.get(f"/invoices/{invoice_id}").json["send_count"] == 2

"""The API issues documents and reports what is owed exactly as SPEC §1 computes it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.api.conftest import SPEC_LINE, invoice_body

SPEC_DAY = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.fixture
def on_spec_day(time_machine):
    time_machine.move_to(SPEC_DAY, tick=False)


def test_customer_round_trip(api, customer_id):
    fetched = api.get(f"/customers/{customer_id}")
    assert fetched.status_code == 200
    assert fetched.json["name"] == "Jane Cooper"
    assert fetched.json["language"] == "en"


def test_draft_totals_tax_per_rate_with_discounts(api, customer_id):
    lines = [
        {"description": "Design", "quantity": "3", "unit_amount": 3333, "tax_rate": "21"},
        {"description": "Print", "quantity": "2.5", "unit_amount": 1999, "tax_rate": "6", "discount_percent": "10"},
        {"description": "Hosting", "quantity": 1, "unit_amount": 1001, "tax_rate": "21.00"},
    ]
    response = api.post("/invoices", invoice_body(customer_id, lines=lines, discount_percent="5"))
    assert response.status_code == 201, response.json
    invoice = response.json
    assert invoice["status"] == "draft" and invoice["number"] is None
    # Line nets: 9999; round(2.5 × 1999 × 0.9) = 4498 (4497.75); 1001.
    assert [line["net_amount"] for line in invoice["lines"]] == [9999, 4498, 1001]
    assert invoice["subtotal"] == 15498
    # 5 % off per rate: 21 % base 11000 − 550 = 10450; 6 % base 4498 − 225 = 4273 (224.9 rounds up).
    assert invoice["taxes"] == [
        {"tax_category": "S", "rate": "6", "base": 4273, "amount": 256},
        {"tax_category": "S", "rate": "21", "base": 10450, "amount": 2195},
    ]
    assert invoice["discount_amount"] == 775
    assert invoice["net_amount"] == 14723
    assert invoice["tax_amount"] == 2451
    assert invoice["total"] == 17174


def test_finalize_numbers_gaplessly_and_locks(api, customer_id):
    first = api.post("/invoices", invoice_body(customer_id)).json
    second = api.post("/invoices", invoice_body(customer_id)).json
    third = api.post("/invoices", invoice_body(customer_id)).json
    assert api.post(f"/invoices/{second['id']}/finalize").json["number"] == "2026-0001"
    assert api.post(f"/invoices/{first['id']}/finalize").json["number"] == "2026-0002"
    # A draft that fails to finalize takes no number.
    api.patch(f"/invoices/{third['id']}", {"lines": [dict(SPEC_LINE, unit_amount=0)]})
    refused = api.post(f"/invoices/{third['id']}/finalize")
    assert refused.status_code == 422
    api.patch(f"/invoices/{third['id']}", {"lines": [SPEC_LINE]})
    assert api.post(f"/invoices/{third['id']}/finalize").json["number"] == "2026-0003"

    again = api.post(f"/invoices/{first['id']}/finalize")
    assert again.status_code == 409
    edit = api.patch(f"/invoices/{first['id']}", {"notes": "changed"})
    assert edit.status_code == 409
    assert edit.json["error"]["code"] == "conflict"
    assert api.delete(f"/invoices/{first['id']}").status_code == 409
    assert api.get(f"/invoices/{first['id']}").json["notes"] is None


def test_payment_reference_is_null_on_a_draft_and_assigned_at_finalize(api, customer_id, other_api):
    draft = api.post("/invoices", invoice_body(customer_id)).json
    assert draft["payment_reference"] is None
    issued = api.post(f"/invoices/{draft['id']}/finalize").json
    # The merchant is Belgian: the structured communication of 2026-0001, compact.
    assert issued["number"] == "2026-0001" and issued["payment_reference"] == "202600000192"
    assert api.get(f"/invoices/{draft['id']}").json["payment_reference"] == "202600000192"
    listed = api.get("/invoices").json["data"]
    assert [invoice["payment_reference"] for invoice in listed] == ["202600000192"]
    # Another merchant's integration never sees it.
    assert other_api.get(f"/invoices/{draft['id']}").status_code == 404


def test_spec_vector_nothing_else(api, open_invoice, on_spec_day):
    invoice = api.get(f"/invoices/{open_invoice['id']}?as_of=2026-03-02").json
    assert invoice["days_late"] == 30 and invoice["overdue"] is True
    assert invoice["interest"] == 986
    assert invoice["late_fee"] == 4000
    assert invoice["amount_due"] == 104986
    assert [step["kind"] for step in invoice["breakdown"]] == ["total", "outstanding", "fee", "interest", "amount_due"]
    interest = invoice["breakdown"][3]
    assert (interest["balance"], interest["days"], interest["annual_rate"], interest["amount"]) == (
        100000,
        30,
        "12",
        986,
    )


def test_spec_vector_credit_note_before_due(api, open_invoice, on_spec_day):
    note = api.post(
        f"/invoices/{open_invoice['id']}/credit-notes",
        {"lines": [dict(SPEC_LINE, unit_amount=20000)], "issue_date": "2026-01-20", "reason": "Discount agreed"},
    )
    assert note.status_code == 201, note.json
    assert note.json["number"] == "CN-2026-0001"
    assert note.json["total"] == 20000
    invoice = api.get(f"/invoices/{open_invoice['id']}?as_of=2026-03-02").json
    assert invoice["credited"] == 20000
    assert invoice["outstanding"] == 80000
    assert invoice["interest"] == 789
    assert invoice["amount_due"] == 84789
    assert invoice["credit_notes"][0]["number"] == "CN-2026-0001"


def test_spec_vector_payment_after_due(api, open_invoice, on_spec_day):
    payment = api.post(
        f"/invoices/{open_invoice['id']}/payments",
        {"amount": 40000, "paid_on": "2026-02-15", "method": "bank_transfer", "reference": "TRX-1"},
    )
    assert payment.status_code == 201, payment.json
    invoice = api.get(f"/invoices/{open_invoice['id']}?as_of=2026-03-02").json
    segments = [step for step in invoice["breakdown"] if step["kind"] == "interest"]
    assert [(s["balance"], s["days"], s["amount"]) for s in segments] == [(100000, 15, 493), (60000, 15, 296)]
    assert invoice["interest"] == 789
    assert invoice["amount_due"] == 64789
    assert invoice["status"] == "open"


def test_spec_vector_on_due_date(api, open_invoice, on_spec_day):
    invoice = api.get(f"/invoices/{open_invoice['id']}?as_of=2026-01-31").json
    assert invoice["overdue"] is False
    assert invoice["late_fee"] == 0 and invoice["interest"] == 0
    assert invoice["amount_due"] == 100000


def test_today_is_the_default_view(api, open_invoice, on_spec_day):
    assert api.get(f"/invoices/{open_invoice['id']}").json["amount_due"] == 104986


def test_payments_and_credit_settle_the_invoice(api, open_invoice, on_spec_day):
    invoice_id = open_invoice["id"]
    api.post(f"/invoices/{invoice_id}/credit-notes", {"lines": [dict(SPEC_LINE, unit_amount=30000)]})
    too_much = api.post(
        f"/invoices/{invoice_id}/payments", {"amount": 70001, "paid_on": "2026-03-01", "method": "cash"}
    )
    assert too_much.status_code == 422
    assert too_much.json["error"]["code"] == "exceeds_outstanding"
    paid = api.post(f"/invoices/{invoice_id}/payments", {"amount": 70000, "paid_on": "2026-03-01", "method": "cash"})
    assert paid.status_code == 201
    invoice = api.get(f"/invoices/{invoice_id}").json
    assert invoice["status"] == "paid"
    assert invoice["paid_on"] == "2026-03-01"
    assert invoice["outstanding"] == 0 and invoice["amount_due"] == 0
    assert api.post(f"/invoices/{invoice_id}/void").status_code == 409
    late = api.post(f"/invoices/{invoice_id}/payments", {"amount": 1, "paid_on": "2026-03-01", "method": "cash"})
    assert late.status_code == 409


def test_credit_note_cannot_exceed_creditable(api, open_invoice, on_spec_day):
    invoice_id = open_invoice["id"]
    api.post(f"/invoices/{invoice_id}/payments", {"amount": 60000, "paid_on": "2026-02-01", "method": "cash"})
    refused = api.post(f"/invoices/{invoice_id}/credit-notes", {"lines": [dict(SPEC_LINE, unit_amount=40001)]})
    assert refused.status_code == 422
    assert refused.json["error"]["code"] == "exceeds_creditable"
    invoice = api.get(f"/invoices/{invoice_id}").json
    assert invoice["credit_notes"] == [] and invoice["outstanding"] == 40000
    full = api.post(f"/invoices/{invoice_id}/credit-notes", {"lines": [dict(SPEC_LINE, unit_amount=40000)]})
    assert full.status_code == 201
    assert api.get(f"/invoices/{invoice_id}").json["status"] == "paid"


def test_void_only_open_and_unpaid(api, customer_id, open_invoice):
    draft = api.post("/invoices", invoice_body(customer_id)).json
    assert api.post(f"/invoices/{draft['id']}/void").status_code == 409
    voided = api.post(f"/invoices/{open_invoice['id']}/void")
    assert voided.status_code == 200
    assert voided.json["status"] == "void" and voided.json["amount_due"] == 0
    assert api.post(f"/invoices/{open_invoice['id']}/void").status_code == 409


def test_policy_is_copied_at_finalize(api, customer_id, open_invoice, on_spec_day):
    changed = api.put(
        "/settings/late-fee-policy", {"annual_rate": "8", "fee_percent": "10", "fee_minimum": 0, "grace_days": 60}
    )
    assert changed.status_code == 200, changed.json
    # The invoice finalized before keeps the policy it was issued under.
    assert api.get(f"/invoices/{open_invoice['id']}").json["amount_due"] == 104986
    later = api.post("/invoices", invoice_body(customer_id)).json
    later = api.post(f"/invoices/{later['id']}/finalize").json
    assert later["late_fee_policy"] == {"annual_rate": "8", "fee_percent": "10", "fee_minimum": 0, "grace_days": 60}
    assert api.get(f"/invoices/{later['id']}").json["amount_due"] == 100000  # within the 60 grace days


def test_draft_edit_and_delete(api, customer_id):
    draft = api.post("/invoices", invoice_body(customer_id, notes="first")).json
    patched = api.patch(
        f"/invoices/{draft['id']}",
        {"lines": [dict(SPEC_LINE, quantity="2.5", tax_rate="21")], "notes": None, "due_date": "2026-02-28"},
    )
    assert patched.status_code == 200, patched.json
    assert patched.json["total"] == 302500 and patched.json["notes"] is None
    assert patched.json["due_date"] == "2026-02-28"
    assert api.delete(f"/invoices/{draft['id']}").status_code == 204
    assert api.get(f"/invoices/{draft['id']}").status_code == 404


def test_list_filters(api, customer_id, open_invoice, on_spec_day):
    api.post("/invoices", invoice_body(customer_id))
    other = api.post("/customers", {"name": "Other", "email": "o@example.com"}).json
    api.post("/invoices", invoice_body(other["id"]))
    assert len(api.get(f"/invoices?customer_id={customer_id}").json["data"]) == 2
    drafts = api.get("/invoices?status=draft").json["data"]
    assert len(drafts) == 2 and {d["status"] for d in drafts} == {"draft"}
    overdue = api.get("/invoices?status=overdue").json["data"]
    assert [i["id"] for i in overdue] == [open_invoice["id"]]
    page = api.get("/invoices?limit=2").json
    assert len(page["data"]) == 2 and page["has_more"] is True
    assert api.get("/invoices?limit=2&offset=2").json["has_more"] is False


def test_portal_links_and_revocation(app, api, customer_id, open_invoice):
    from portal.services.links import LinkInvalid, read_portal_link

    link = api.post(f"/customers/{customer_id}/portal-links", {"invoice_id": open_invoice["id"]})
    assert link.status_code == 201
    assert link.json["url"].startswith("http://portal.test/l/")
    token = link.json["url"].rsplit("/", 1)[1]
    with app.app_context():
        target = read_portal_link(token)
        assert target.customer.id == customer_id and target.invoice.id == open_invoice["id"]
    assert api.post(f"/customers/{customer_id}/revoke-links").status_code == 204
    with app.app_context(), pytest.raises(LinkInvalid):
        read_portal_link(token)


def test_other_currencies_are_integer_minor_units(api, customer_id):
    jpy = api.post(
        "/invoices",
        invoice_body(
            customer_id, currency="JPY", lines=[dict(SPEC_LINE, unit_amount=1234, quantity="1.5", tax_rate="10")]
        ),
    )
    assert jpy.status_code == 201
    assert jpy.json["total"] == 2036  # 1851 + 185
    kwd = api.post(
        "/invoices",
        invoice_body(
            customer_id, currency="KWD", lines=[dict(SPEC_LINE, unit_amount=1234, quantity="1.5", tax_rate="5")]
        ),
    )
    assert kwd.json["total"] == 1944  # 1851 + 93 (92.55 rounds half-up)


def test_finalize_mails_the_customer_when_the_merchant_sends_invoices_when_ready(app, api, customer_id, merchant_key):
    from sqlalchemy import select

    from portal.extensions import db
    from portal.models import Merchant
    from portal.models.mail import OutboxMessage
    from portal.services.merchants import set_send_when_finalized
    from tests.factories import run_jobs

    quiet = api.post("/invoices", invoice_body(customer_id)).json
    api.post(f"/invoices/{quiet['id']}/finalize")
    with app.app_context():
        assert db.session.scalars(select(OutboxMessage)).all() == []
        set_send_when_finalized(db.session.get(Merchant, merchant_key[0]), True)
        db.session.commit()
    ready = api.post("/invoices", invoice_body(customer_id)).json
    assert api.post(f"/invoices/{ready['id']}/finalize").status_code == 200
    with app.app_context():
        run_jobs()
        [mail] = db.session.scalars(select(OutboxMessage)).all()
        assert (mail.kind, mail.to_address, mail.invoice_id) == ("invoice", "jane@example.com", ready["id"])

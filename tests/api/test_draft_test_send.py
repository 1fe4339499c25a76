"""Through the API, a draft can be test-sent to the merchant's staff; a live send of a draft stays 409."""

from __future__ import annotations

from sqlalchemy import select

from portal.extensions import db
from portal.models import Invoice, Merchant
from portal.models.mail import OutboxMessage
from portal.services.merchants import create_staff_user
from tests.api.conftest import invoice_body
from tests.factories import run_jobs


def test_the_api_test_sends_a_draft_but_refuses_its_live_send(app, api, merchant_key, customer_id):
    with app.app_context():
        create_staff_user(
            db.session.get(Merchant, merchant_key[0]), email="ann@acme.example", name="Ann", password="long enough pw"
        )
        db.session.commit()
    draft = api.post("/invoices", invoice_body(customer_id)).json

    live = api.post(f"/invoices/{draft['id']}/send", {})
    assert live.status_code == 409
    test = api.post(f"/invoices/{draft['id']}/send", {"test": True})
    assert test.status_code == 202, test.json
    assert test.json["recipients"] == ["ann@acme.example"]
    with app.app_context():
        run_jobs()
        [mail] = db.session.scalars(select(OutboxMessage).where(OutboxMessage.invoice_id == draft["id"])).all()
        assert (mail.kind, mail.to_address) == ("invoice_test", "ann@acme.example")
        assert mail.subject.startswith("[TEST]")
        assert db.session.get(Invoice, draft["id"]).status == "draft"
    assert api.get(f"/invoices/{draft['id']}").json["send_count"] == 0

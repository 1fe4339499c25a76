"""Staff set up Twilio in Settings → SMS and send an invoice by text message from its page."""

from __future__ import annotations

from sqlalchemy import select

from portal.extensions import db
from portal.models import Customer
from portal.models.sms import SmsAccount, SmsMessage
from portal.services import customers
from tests.factories import make_invoice, run_jobs
from tests.fakes.twilio import SID, TOKEN


def test_staff_store_twilio_and_send_an_invoice_by_sms(app, staff, twilio):
    page = staff.get("/admin/settings/sms").get_data(as_text=True)
    assert "Twilio Account SID" in page
    refused = staff.post(
        "/admin/settings/sms",
        {"enabled": "y", "account_sid": "AC12", "auth_token": TOKEN, "sender": "+32460200000"},
        page="/admin/settings/sms",
    )
    assert refused.status_code == 422
    assert "32 hexadecimal" in refused.get_data(as_text=True)
    saved = staff.post(
        "/admin/settings/sms",
        {"enabled": "y", "account_sid": SID, "auth_token": TOKEN, "sender": "+32 460 20 00 00"},
        page="/admin/settings/sms",
    )
    assert saved.status_code == 303
    page = staff.get("/admin/settings/sms").get_data(as_text=True)
    assert TOKEN not in page and "…cdef" in page  # only a hint of the stored token

    with app.app_context():
        customer = db.session.get(Customer, staff.customer_id)
        invoice = make_invoice(customer)
        db.session.commit()
        invoice_id = invoice.id
    detail = f"/admin/invoices/{invoice_id}"
    assert "Send by SMS" not in staff.get(detail).get_data(as_text=True)  # no mobile number yet
    with app.app_context():
        customers.update_customer(db.session.get(Customer, staff.customer_id), phone="+32 470 12 34 56")
        db.session.commit()
    assert "Send by SMS" in staff.get(detail).get_data(as_text=True)

    sent = staff.post(f"{detail}/send", {"channel": "sms"}, page=detail, follow_redirects=True)
    assert "on its way by text message to +32470123456" in sent.get_data(as_text=True)
    with app.app_context():
        run_jobs()
        assert db.session.scalar(select(SmsMessage.status)) == "sent"
        assert db.session.get(SmsAccount, staff.merchant_id).sender == "+32460200000"
    assert len(twilio.messages) == 1

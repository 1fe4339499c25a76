"""Invoices by SMS: phone numbers in E.164, the merchant's Twilio account, short links, retries.

The official twilio SDK talks to a fake Twilio on loopback (tests/fakes/twilio.py); the job that
sends the message is run by the real job queue.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from portal.domain.errors import DomainError
from portal.extensions import db
from portal.models import Customer, Invoice
from portal.models.job import Job
from portal.models.sms import SmsAccount, SmsMessage
from portal.services import customers, sms
from portal.services.payment_settings import rotate_encryption_key
from tests.api.conftest import Api
from tests.factories import make_api_key, make_customer, make_invoice, make_merchant, run_jobs
from tests.fakes.twilio import SID, TOKEN

T0 = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)


@pytest.fixture
def shop(app):
    """A Belgian merchant with Twilio set up, a customer with a mobile number and an open invoice of 1,000.00."""
    with time_machine.travel(T0, tick=False), app.app_context():
        merchant = make_merchant("Atelier Lumen")
        sms.set_sms_account(merchant, enabled=True, account_sid=SID, auth_token=TOKEN, sender="+32 460 20 00 00")
        customer = make_customer(merchant, "Jan Peeters", language="nl", phone="0470 12 34 56")
        invoice = make_invoice(customer, issue_date=date(2026, 1, 5), due_date=date(2026, 2, 4))
        key = make_api_key(merchant)
        db.session.commit()
        return {"merchant_id": merchant.id, "customer_id": customer.id, "invoice_id": invoice.id, "key": key}


def test_phone_numbers_are_stored_in_e164_and_nonsense_is_refused(ctx):
    merchant = make_merchant()
    assert make_customer(merchant, phone="0470 12 34 56").phone == "+32470123456"  # read as Belgian: the country
    assert make_customer(merchant, phone="+49 30 1234567").phone == "+49301234567"
    with pytest.raises(DomainError) as refused:
        make_customer(merchant, phone="+32 9 000")
    assert refused.value.field == "phone"
    assert "country code" in refused.value.message


def test_the_api_refuses_an_invalid_phone_number_by_name(client, shop):
    api = Api(client, shop["key"])
    response = api.patch(f"/customers/{shop['customer_id']}", {"phone": "12"})
    assert response.status_code == 422
    assert response.get_json()["error"]["field"] == "phone"


def test_an_invoice_sent_by_sms_and_email_reaches_the_phone_with_a_short_link_that_opens_it(app, client, shop, twilio):
    api = Api(client, shop["key"])
    with time_machine.travel(T0, tick=False):
        response = api.post(f"/invoices/{shop['invoice_id']}/send", {"channels": ["email", "sms"]})
        assert response.status_code == 202, response.get_json()
        answer = response.get_json()
        assert answer["channels"] == ["email", "sms"]
        assert answer["recipients"][1] == "+32470123456"
        assert answer["queued"] == 2
        with app.app_context():
            run_jobs()
            message = db.session.scalar(select(SmsMessage))
            invoice = db.session.get(Invoice, shop["invoice_id"])
            assert (message.status, message.provider_id) == ("sent", twilio.messages[0]["sid"])
            number = invoice.number
            # The timeline shows both sends and their delivery; "Send" now reads "Resend".
            from portal.services.timeline import invoice_timeline

            shown = [(e.kind, e.detail.get("channel")) for e in invoice_timeline(invoice)]
            assert ("sent", "sms") in shown and ("delivered", "sms") in shown and ("sent", "email") in shown
            assert invoice.first_sent_at is not None

    [sent] = twilio.messages
    assert sent["to"] == "+32470123456"
    assert sent["from"] == "+32460200000"
    # In the customer's language, with the amount due and the due date, short enough for one or two SMS.
    assert "Atelier Lumen" in sent["body"] and number in sent["body"]
    assert "factuur" in sent["body"]
    assert "€ 1.000,00" in sent["body"] and "4 feb 2026" in sent["body"]
    assert len(sent["body"]) <= 160
    link = sent["body"].rsplit(" ", 1)[1]
    assert link.startswith("http://portal.test/s/")

    with time_machine.travel(T0 + timedelta(days=2), tick=False):
        opened = client.get(link.removeprefix("http://portal.test"))
        assert opened.status_code == 303
        assert opened.headers["Location"].endswith(f"/invoices/{number}")
        assert client.get(f"/invoices/{number}").status_code == 200


def test_twilio_down_is_retried_and_the_message_goes_once(app, client, shop, twilio):
    api = Api(client, shop["key"])
    twilio.inject("POST", "/2010-04-01/", 503)
    twilio.inject("POST", "/2010-04-01/", None)  # then a connection dropped without an answer
    with time_machine.travel(T0, tick=False):
        assert api.post(f"/invoices/{shop['invoice_id']}/send", {"channels": ["sms"]}).status_code == 202
        with app.app_context():
            run_jobs()
            message = db.session.scalar(select(SmsMessage))
            assert message.status == "queued"
            assert "503" in message.last_error
    for minutes in (1, 3):
        with time_machine.travel(T0 + timedelta(minutes=minutes), tick=False), app.app_context():
            run_jobs()
    with app.app_context():
        message = db.session.scalar(select(SmsMessage))
        assert message.status == "sent"
        assert message.attempts == 3
    assert len(twilio.messages) == 1


def test_a_number_twilio_refuses_fails_at_once_and_says_why(app, client, shop, twilio):
    twilio.inject(
        "POST",
        "/2010-04-01/",
        400,
        {"code": 21610, "message": "Attempt to send to unsubscribed recipient", "status": 400},
    )
    with time_machine.travel(T0, tick=False):
        assert (
            Api(client, shop["key"]).post(f"/invoices/{shop['invoice_id']}/send", {"channels": ["sms"]}).status_code
            == 202
        )
        with app.app_context():
            run_jobs()
            message = db.session.scalar(select(SmsMessage))
            job = db.session.scalar(select(Job).where(Job.kind == "sms.send"))
            assert message.status == "failed"
            assert "21610" in message.last_error and "unsubscribed" in message.last_error
            assert job.status == "failed"
    assert twilio.messages == []


def test_sms_without_twilio_or_without_a_mobile_number_is_a_clear_conflict_and_sends_nothing(app, client, shop):
    api = Api(client, shop["key"])
    with app.app_context():
        account = db.session.get(SmsAccount, shop["merchant_id"])
        account.enabled = False
        db.session.commit()
    response = api.post(f"/invoices/{shop['invoice_id']}/send", {"channels": ["email", "sms"]})
    assert response.status_code == 409
    assert "Twilio" in response.get_json()["error"]["message"]
    with app.app_context():
        db.session.get(SmsAccount, shop["merchant_id"]).enabled = True
        customer = db.session.get(Customer, shop["customer_id"])
        customers.update_customer(customer, phone="+32 2 512 34 56")  # a fixed line: no text messages
        db.session.commit()
    response = api.post(f"/invoices/{shop['invoice_id']}/send", {"channels": ["sms", "email"]})
    assert response.status_code == 409
    assert "mobile number" in response.get_json()["error"]["message"]
    with app.app_context():
        # Neither the text nor the mail was queued: the request was one transaction.
        assert db.session.scalar(select(SmsMessage)) is None
        assert db.session.scalar(select(Job).where(Job.kind == "invoice.send")) is None
    assert api.post(f"/invoices/{shop['invoice_id']}/send", {"channels": ["sms"], "test": True}).status_code == 422
    assert api.post(f"/invoices/{shop['invoice_id']}/send", {"channels": ["fax"]}).status_code == 422


def test_short_links_follow_the_magic_link_rules_revoked_expired_unknown(app, client, shop, twilio):
    with time_machine.travel(T0, tick=False):
        Api(client, shop["key"]).post(f"/invoices/{shop['invoice_id']}/send", {"channels": ["sms"]})
        with app.app_context():
            run_jobs()
    path = twilio.messages[0]["body"].rsplit(" ", 1)[1].removeprefix("http://portal.test")
    code = path.removeprefix("/s/")
    with time_machine.travel(T0 + timedelta(days=1), tick=False):
        assert client.get("/s/" + code.swapcase()).status_code == 404  # codes are case-sensitive
        assert client.get("/s/" + "x" * 40).status_code == 404
    with time_machine.travel(T0 + timedelta(days=91), tick=False):
        assert client.get(path).status_code == 410  # expired: offers a fresh link by mail
    with time_machine.travel(T0 + timedelta(days=1), tick=False):
        assert client.get(path).status_code == 303
        with app.app_context():
            customers.revoke_links(db.session.get(Customer, shop["customer_id"]))
            db.session.commit()
        assert client.get(path).status_code == 404


def test_the_auth_token_is_stored_encrypted_and_rotated_with_the_other_secrets(app, shop):
    with app.app_context():
        account = db.session.get(SmsAccount, shop["merchant_id"])
        assert TOKEN.encode() not in bytes(account.auth_token_encrypted)
        before = bytes(account.auth_token_encrypted)
        app.config["ENCRYPTION_KEY"] = ["a-new-key-first", app.config["SECRET_KEY"]]
        try:
            rotation = rotate_encryption_key()
            db.session.commit()
            assert rotation.reencrypted >= 1
            assert bytes(db.session.get(SmsAccount, shop["merchant_id"]).auth_token_encrypted) != before
        finally:
            app.config["ENCRYPTION_KEY"] = None


def test_twilio_settings_are_checked_before_they_are_stored(ctx):
    merchant = make_merchant()
    with pytest.raises(DomainError) as refused:
        sms.set_sms_account(merchant, enabled=True, account_sid="AC123", auth_token=TOKEN, sender="+32460200000")
    assert refused.value.field == "account_sid"
    with pytest.raises(DomainError) as refused:
        sms.set_sms_account(merchant, enabled=True, account_sid=SID, auth_token=TOKEN, sender="hello")
    assert refused.value.field == "sender"
    with pytest.raises(DomainError) as refused:
        sms.set_sms_account(merchant, enabled=True, account_sid=SID, sender="+32460200000")
    assert refused.value.field == "auth_token"
    service = "MG" + "0a" * 16
    account = sms.set_sms_account(merchant, enabled=True, account_sid=SID, auth_token=TOKEN, sender=service)
    assert account.sender == service


#: GSM 03.38: the basic alphabet and its extension table. A character outside it makes the whole
#: message UCS-2, 70 characters a part instead of 160: the merchant pays two or three times as much.
GSM_7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà" + "^{}\\[~]|€"
)


@pytest.mark.parametrize("language", ["en", "fr", "nl", "de"])
def test_the_invoice_text_is_in_the_customers_language_and_the_gsm_alphabet(ctx, language):
    merchant = make_merchant("Atelier Lumen")
    customer = make_customer(merchant, language=language, phone="+32470123456")
    invoice = make_invoice(customer, issue_date=date(2026, 1, 5), due_date=date(2026, 2, 4))
    with time_machine.travel(T0, tick=False):
        text = sms.invoice_sms_text(invoice, "https://portal.example/s/AbCdEfGhIj")
    words = {"en": "invoice", "fr": "facture", "nl": "factuur", "de": "Rechnung"}
    assert words[language] in text
    assert set(text) <= GSM_7, set(text) - GSM_7
    assert len(text) + sum(text.count(c) for c in "^{}\\[~]|€") <= 160


def test_a_short_link_is_a_secret_kept_out_of_the_request_log(app, client, shop, capsys):
    with time_machine.travel(T0, tick=False):
        with app.app_context():
            customer = db.session.get(Customer, shop["customer_id"])
            link = sms.make_short_link(customer, db.session.get(Invoice, shop["invoice_id"]))
            db.session.commit()
        path = link.removeprefix("http://portal.test")
        capsys.readouterr()
        assert client.get(path).status_code == 303
        assert client.get(path[:-2] + "zz").status_code == 404
    err = capsys.readouterr().err
    assert path.rsplit("/", 1)[1] not in err
    assert "GET /s/<token> 303 " in err and "GET /s/<token> 404 " in err

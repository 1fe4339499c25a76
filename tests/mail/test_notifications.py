"""Notifications go through the outbox, to the right people, in their language."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.mail import notifications
from portal.mail.outbox import build_email
from portal.models import Comment
from portal.models.mail import OutboxMessage
from portal.services.merchants import create_staff_user
from tests.factories import make_customer, make_invoice, make_merchant, pay

pytestmark = pytest.mark.usefixtures("ctx")


@pytest.fixture
def shop():
    merchant = make_merchant("Acme", support_email="help@acme.example")
    create_staff_user(merchant, email="ann@acme.example", name="Ann", password="long enough pw")
    create_staff_user(merchant, email="bob@acme.example", name="Bob", password="long enough pw")
    gone = create_staff_user(merchant, email="gone@acme.example", name="Gone", password="long enough pw")
    gone.active = False
    customer = make_customer(merchant, "Jane Cooper", language="fr", email="jane@example.com")
    invoice = make_invoice(customer)
    return merchant, customer, invoice


def outbox() -> list[OutboxMessage]:
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_a_customers_comment_notifies_every_active_staff_member(shop, app):
    merchant, customer, invoice = shop
    comment = Comment(merchant_id=merchant.id, invoice=invoice, author_kind="customer", body="Why <b>40 €</b>?")
    db.session.add(comment)
    db.session.flush()

    notifications.notify_staff_of_comment(comment)

    messages = outbox()
    assert [m.to_address for m in messages] == ["ann@acme.example", "bob@acme.example"]
    assert all(m.kind == "comment" and m.reply_to == "jane@example.com" for m in messages)
    assert messages[0].subject == "Jane Cooper asked about invoice 2026-0001"
    assert "> Why <b>40 €</b>?" in messages[0].text_body
    assert "Why &lt;b&gt;40 €&lt;/b&gt;?" in messages[0].html_body
    # Staff land on the invoice in the admin, where they can reply.
    assert f'href="http://portal.test/admin/invoices/{invoice.id}"' in messages[0].html_body
    build_email(messages[0], app.config["MAIL_FROM"])  # a well-formed MIME message


def test_without_staff_the_support_address_is_notified():
    merchant = make_merchant("Solo", support_email="me@solo.example")
    invoice = make_invoice(make_customer(merchant))
    comment = Comment(merchant_id=merchant.id, invoice=invoice, author_kind="customer", body="Hello")
    db.session.add(comment)
    db.session.flush()

    notifications.notify_staff_of_comment(comment)

    assert [m.to_address for m in outbox()] == ["me@solo.example"]


def test_a_reply_goes_to_the_customer_with_a_link_to_the_invoice(shop):
    merchant, customer, invoice = shop
    comment = Comment(merchant_id=merchant.id, invoice=invoice, author_kind="staff", body="Because it was late.")
    db.session.add(comment)
    db.session.flush()

    notifications.notify_customer_of_reply(comment)

    [message] = outbox()
    assert message.to_address == "jane@example.com" and message.kind == "reply"
    assert "/l/" in message.text_body and "Because it was late." in message.text_body


def test_payment_mails_go_to_the_customer_and_the_staff(shop):
    merchant, customer, invoice = shop
    payment = pay(invoice, 100000, date(2026, 1, 20), method="card")

    notifications.send_payment_confirmation(payment)
    notifications.notify_staff_of_payment(payment)

    messages = outbox()
    assert [(m.kind, m.to_address) for m in messages] == [
        ("payment_confirmation", "jane@example.com"),
        ("payment_notice", "ann@acme.example"),
        ("payment_notice", "bob@acme.example"),
    ]
    # Amounts and dates are written for the customer's locale (fr).
    assert "1 000,00 €" in messages[0].text_body.replace("\u202f", " ").replace("\u00a0", " ")
    assert "20 janv. 2026" in messages[0].text_body
    assert "€1,000.00" in messages[1].text_body


def test_the_fresh_link_mail_holds_a_new_portal_link(shop):
    merchant, customer, invoice = shop

    notifications.send_fresh_link(customer)

    [message] = outbox()
    assert message.to_address == "jane@example.com" and message.kind == "fresh_link"
    assert "http://portal.test/l/" in message.text_body

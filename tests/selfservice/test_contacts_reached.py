"""Contacts beyond invoice mail: reminders, comments, SMS short links and fresh links reach (and name) the contact."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from portal.extensions import db
from portal.models import Comment, Customer
from portal.models.mail import OutboxMessage
from portal.services import contacts, sms
from portal.services.links import make_portal_link
from portal.services.reminders import send_all_reminders, set_reminder_settings
from tests.factories import make_customer, make_invoice, make_merchant

_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def _token(page: str) -> str:
    match = _CSRF.search(page)
    assert match, "no CSRF token"
    return match.group(1) or match.group(2)


def _path(url: str) -> str:
    return url.split("portal.test", 1)[1]


def _mails(kind: str) -> dict[str, OutboxMessage]:
    return {
        m.to_address: m
        for m in db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id))
    }


def _remind_on(time_machine, day: date) -> None:
    time_machine.move_to(datetime(day.year, day.month, day.day, 6, tzinfo=UTC), tick=False)
    send_all_reminders()


# -- reminders -------------------------------------------------------------------------------------


def test_a_reminder_reaches_every_billing_contact_each_in_their_language(ctx, app, time_machine):
    time_machine.move_to("2026-01-01 09:00", tick=False)
    merchant = make_merchant("Acme", timezone="UTC")
    set_reminder_settings(merchant, enabled=True, offsets=[1], consumer_preset=False, legal_interest_rate=Decimal("4"))
    customer = make_customer(merchant, language="fr", email="compta@dupont.example", company="Dupont SA")
    colleague = contacts.add_contact(customer, name="Jan Peeters", email="jan@dupont.example", language="nl")
    contacts.add_contact(customer, name="Only Looks", email="viewer@dupont.example", language="de", role="viewer")
    invoice = make_invoice(customer)
    db.session.commit()

    _remind_on(time_machine, date(2026, 2, 1))

    mails = _mails("reminder")
    assert set(mails) == {"compta@dupont.example", "jan@dupont.example"}  # a viewer gets no reminder
    assert mails["compta@dupont.example"].subject.startswith("Rappel de paiement")
    assert mails["jan@dupont.example"].subject.startswith("Betalingsherinnering")
    # Each carries a link that opens as its own contact.
    jan_link = re.search(r"http://portal\.test/l/\S+", mails["jan@dupont.example"].text_body).group(0)
    client = app.test_client()
    assert client.get(_path(jan_link)).status_code == 303
    page = client.get(f"/invoices/{invoice.number}").get_data(as_text=True)
    client.post(f"/invoices/{invoice.number}/comments", data={"csrf_token": _token(page), "body": "Betaald."})
    assert db.session.scalar(select(Comment.contact_id)) == colleague.id


def test_a_contact_who_turned_reminders_off_gets_only_the_legally_required_one(ctx, app, time_machine):
    time_machine.move_to("2026-01-01 09:00", tick=False)
    merchant = make_merchant("Acme", timezone="UTC", company_number="0403170701")
    set_reminder_settings(
        merchant, enabled=True, offsets=[1, 20], consumer_preset=True, legal_interest_rate=Decimal("2")
    )
    customer = make_customer(merchant, email="home@example.com", language="en")
    customer.consumer = True
    partner = contacts.add_contact(customer, name="Partner", email="partner@example.com", language="de")
    contacts.update_contact(partner, notify_reminders=False)
    invoice = make_invoice(customer)
    db.session.commit()

    _remind_on(time_machine, date(2026, 2, 1))  # Book XIX's first reminder: required by law
    first = _mails("reminder")
    assert set(first) == {"home@example.com", "partner@example.com"}
    assert "Zahlungserinnerung" in first["partner@example.com"].subject
    assert invoice.number in first["partner@example.com"].subject

    _remind_on(time_machine, date(2026, 2, 20))  # the next step is not: the partner switched it off
    later = [m.to_address for m in db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "reminder"))]
    assert sorted(later) == ["home@example.com", "home@example.com", "partner@example.com"]


# -- comments --------------------------------------------------------------------------------------


def test_a_comment_records_its_contact_and_staff_see_their_name(app, staff):
    with app.app_context():
        customer = db.session.get(Customer, staff.customer_id)
        customer.company = "Cooper Studio"
        colleague = contacts.add_contact(customer, name="Jan Peeters", email="jan@cooper.example", language="en")
        invoice = make_invoice(customer)
        db.session.commit()
        link, invoice_id, number, colleague_id = (
            make_portal_link(customer, invoice, contact=colleague).url,
            invoice.id,
            invoice.number,
            colleague.id,
        )
        db.session.remove()
    portal = app.test_client()
    assert portal.get(_path(link)).status_code == 303
    page = portal.get(f"/invoices/{number}").get_data(as_text=True)

    posted = portal.post(
        f"/invoices/{number}/comments", data={"csrf_token": _token(page), "body": "Which PO does this belong to?"}
    )

    assert posted.status_code == 303
    with app.app_context():
        comment = db.session.scalar(select(Comment))
        assert comment.contact_id == colleague_id
        [notice] = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "comment")).all()
        assert "Jan Peeters (jan@cooper.example) wrote" in notice.text_body
        assert notice.reply_to == "jan@cooper.example"
        db.session.remove()
    inbox = staff.get("/admin/comments").get_data(as_text=True)
    assert "Jan Peeters (Cooper Studio)" in inbox
    detail = staff.get(f"/admin/invoices/{invoice_id}").get_data(as_text=True)
    assert "Jan Peeters (Cooper Studio)" in detail and "Which PO does this belong to?" in detail


def test_a_reply_goes_to_the_contact_who_asked_in_their_language_with_their_link(app, ctx):
    from portal.services import comment_inbox, comments

    merchant = make_merchant("Acme")
    customer = make_customer(merchant, language="en", email="boss@dupont.example", company="Dupont SA")
    colleague = contacts.add_contact(customer, name="Jan Peeters", email="jan@dupont.example", language="nl")
    invoice = make_invoice(customer)
    db.session.commit()
    comments.add_customer_comment(invoice, customer, "Welke bestelbon hoort hierbij?", contact=colleague)

    comment_inbox.reply(invoice, None, "Bestelbon 4711.")
    db.session.commit()

    [mail] = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "reply")).all()
    assert mail.to_address == "jan@dupont.example"  # not the company's primary address
    assert "Beste Jan Peeters," in mail.text_body and "Bestelbon 4711." in mail.text_body
    # The button opens the portal as Jan: a comment posted there is his.
    link = re.search(r"http://portal\.test/l/\S+", mail.text_body).group(0)
    client = app.test_client()
    assert client.get(_path(link)).status_code == 303
    page = client.get(f"/invoices/{invoice.number}").get_data(as_text=True)
    client.post(f"/invoices/{invoice.number}/comments", data={"csrf_token": _token(page), "body": "Dank u."})
    latest = db.session.scalars(select(Comment).order_by(Comment.id.desc())).first()
    assert (latest.body, latest.contact_id) == ("Dank u.", colleague.id)


# -- SMS short links -------------------------------------------------------------------------------


def test_a_short_link_opens_as_the_contact_it_was_sent_to(ctx, app, spec_day):
    customer = make_customer(make_merchant())
    colleague = contacts.add_contact(customer, name="Jan", email="jan@example.com", language="nl")
    invoice = make_invoice(customer)
    to_colleague = _path(sms.make_short_link(customer, invoice, contact=colleague))
    to_customer = _path(sms.make_short_link(customer, invoice))
    db.session.commit()

    client = app.test_client()
    assert client.get(to_colleague).headers["Location"] == f"/invoices/{invoice.number}"
    assert '<html lang="nl">' in client.get("/").get_data(as_text=True)  # the colleague's language
    page = client.get(f"/invoices/{invoice.number}").get_data(as_text=True)
    client.post(f"/invoices/{invoice.number}/comments", data={"csrf_token": _token(page), "body": "Vraag"})
    assert db.session.scalar(select(Comment.contact_id)) == colleague.id

    # Revoking the colleague's links stops their short link; the customer's own keeps working.
    contacts.revoke_contact_links(colleague)
    db.session.commit()
    assert app.test_client().get(to_colleague).status_code == 404
    assert app.test_client().get(to_customer).status_code == 303


def test_an_expired_short_link_sends_the_fresh_link_to_its_contact(ctx, app, spec_day, time_machine):
    customer = make_customer(make_merchant(), email="office@example.com")
    colleague = contacts.add_contact(customer, name="Jan", email="jan@example.com", language="nl")
    path = _path(sms.make_short_link(customer, contact=colleague))
    db.session.commit()
    time_machine.shift(timedelta(days=91))
    client = app.test_client()

    expired = client.get(path)
    assert expired.status_code == 410
    client.post("/l/fresh", data={"csrf_token": _token(expired.get_data(as_text=True))})

    assert list(_mails("fresh_link")) == ["jan@example.com"]


# -- fresh links by address ------------------------------------------------------------------------


def test_a_contacts_address_gets_a_fresh_link_of_their_own(ctx, app, spec_day):
    customer = make_customer(make_merchant("Atelier Lumen"), email="office@example.com")
    contacts.add_contact(customer, name="Jan Peeters", email="jan@example.com", language="nl")
    db.session.commit()
    client = app.test_client()
    assert client.get(_path(make_portal_link(customer).url)).status_code == 303
    client.post("/sign-out", data={"csrf_token": _token(client.get("/").get_data(as_text=True))})
    page = client.get("/l/not-a-token").get_data(as_text=True)

    answer = client.post("/l/fresh", data={"csrf_token": _token(page), "email": "JAN@example.com"})
    unknown = client.post("/l/fresh", data={"csrf_token": _token(page), "email": "nobody@example.com"})

    assert answer.get_data(as_text=True) == unknown.get_data(as_text=True)  # neutral either way
    mails = _mails("fresh_link")
    assert list(mails) == ["jan@example.com"]
    assert "Beste Jan Peeters" in mails["jan@example.com"].text_body  # in their language, to them
    link = re.search(r"http://portal\.test/l/\S+", mails["jan@example.com"].text_body).group(0)
    fresh = app.test_client()
    assert fresh.get(_path(link)).status_code == 303
    assert '<html lang="nl">' in fresh.get("/").get_data(as_text=True)  # opens as Jan, not as the office

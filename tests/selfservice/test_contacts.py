"""Contacts of a company: own links and languages, viewers who only look, revoking one contact's links."""

from __future__ import annotations

import re

from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import select

from portal.extensions import db
from portal.mail.notifications import send_invoice
from portal.models.mail import OutboxMessage
from portal.services import contacts
from portal.services.links import SALT, make_portal_link
from tests.api.conftest import Api
from tests.factories import make_api_key, make_customer, make_invoice, make_merchant, run_jobs
from tests.portal.conftest import plain

_TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def open_link(client, url: str):
    db.session.commit()
    return client.get(url.split("portal.test", 1)[1])


def token_of(page: str) -> str:
    match = _TOKEN.search(page)
    return match[1] or match[2]


def test_every_customer_has_its_own_address_as_primary_billing_contact(ctx):
    customer = make_customer(make_merchant(), language="nl")
    [primary] = contacts.list_contacts(customer)
    assert (primary.email, primary.language, primary.role, primary.is_primary) == (
        customer.email,
        "nl",
        "billing",
        True,
    )


def test_two_contacts_get_the_invoice_mail_each_in_their_own_language(ctx, spec_day):
    merchant = make_merchant()
    customer = make_customer(merchant, language="fr", company="Dupont SA")
    colleague = contacts.add_contact(customer, name="Jan Peeters", email="jan@dupont.example", language="nl")
    contacts.add_contact(customer, name="Only Looks", email="viewer@dupont.example", language="de", role="viewer")
    invoice = make_invoice(customer)

    send_invoice(invoice)
    run_jobs()

    mails = {m.to_address: m for m in db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "invoice"))}
    assert set(mails) == {customer.email, colleague.email}  # the viewer receives no invoice mail
    assert mails[customer.email].subject.startswith("Facture")
    assert mails[colleague.email].subject.startswith("Factuur")
    # Each mail carries a link of its own contact.
    assert mails[customer.email].text_body != mails[colleague.email].text_body


def test_a_contact_who_switched_invoice_mails_off_gets_none(ctx, spec_day):
    customer = make_customer(make_merchant())
    colleague = contacts.add_contact(customer, name="Quiet", email="quiet@example.com", language="en")
    contacts.update_contact(colleague, notify_invoices=False)
    assert contacts.recipients(customer, "invoice") == [contacts.primary_contact(customer)]
    assert colleague in contacts.recipients(customer, "statement")
    # Mail the law requires ignores the preference.
    contacts.update_contact(colleague, notify_reminders=False)
    assert colleague in contacts.recipients(customer, "legal_reminder")
    assert colleague not in contacts.recipients(customer, "reminder")


def test_revoking_one_contacts_links_keeps_the_others(ctx, app, spec_day):
    customer = make_customer(make_merchant())
    make_invoice(customer)
    colleague = contacts.add_contact(customer, name="Jan", email="jan@example.com", language="en")
    primary_url = make_portal_link(customer).url
    colleague_url = make_portal_link(customer, contact=colleague).url
    colleague_client, primary_client = app.test_client(), app.test_client()
    assert open_link(colleague_client, colleague_url).status_code == 303
    assert open_link(primary_client, primary_url).status_code == 303

    contacts.revoke_contact_links(colleague)
    db.session.commit()

    assert open_link(app.test_client(), colleague_url).status_code == 404
    assert colleague_client.get("/").status_code == 401  # their session ends too
    assert primary_client.get("/").status_code == 200
    assert open_link(app.test_client(), primary_url).status_code == 303
    # A fresh link for the colleague works again.
    assert open_link(app.test_client(), make_portal_link(customer, contact=colleague).url).status_code == 303


def test_a_link_from_before_contacts_opens_as_the_primary_contact(ctx, app, spec_day):
    customer = make_customer(make_merchant())
    db.session.commit()
    serializer = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt=SALT)
    old_token = serializer.dumps({"c": customer.id, "v": customer.link_version})
    client = app.test_client()
    assert client.get(f"/l/{old_token}").status_code == 303
    assert client.get("/").status_code == 200
    # Revoking the primary contact's links ends those old links too.
    contacts.revoke_contact_links(contacts.primary_contact(customer))
    db.session.commit()
    assert app.test_client().get(f"/l/{old_token}").status_code == 404


def test_a_viewer_cannot_pay_or_comment_when_the_merchant_says_so_and_sees_only_its_company(ctx, app, spec_day):
    merchant = make_merchant(viewers_read_only=True)
    customer = make_customer(merchant)
    invoice = make_invoice(customer)
    other = make_invoice(make_customer(merchant, name="Someone else"))
    viewer = contacts.add_contact(customer, name="Vera Viewer", email="vera@example.com", language="en", role="viewer")
    client = app.test_client()
    open_link(client, make_portal_link(customer, contact=viewer).url)

    page = client.get(f"/invoices/{invoice.number}").get_data(as_text=True)
    assert (
        'data-testid="viewer-note"' in page and "comment-form" not in page and 'data-testid="pay-actions"' not in page
    )
    token = token_of(page)
    assert (
        client.post(f"/invoices/{invoice.number}/comments", data={"csrf_token": token, "body": "Hi"}).status_code == 403
    )
    assert client.post(f"/invoices/{invoice.number}/pay", data={"csrf_token": token}).status_code == 403
    assert client.post(f"/invoices/{invoice.number}/settle-from-credit", data={"csrf_token": token}).status_code == 403
    # Only its company's documents.
    assert client.get(f"/invoices/{other.number}").status_code == 404
    overview = client.get("/").get_data(as_text=True)
    assert invoice.number in overview and other.number not in overview
    # Without the setting, a viewer may comment.
    merchant.viewers_read_only = False
    db.session.commit()
    answer = client.post(f"/invoices/{invoice.number}/comments", data={"csrf_token": token, "body": "Hi"})
    assert answer.status_code == 303


def test_a_billing_contact_adds_a_colleague_who_gets_a_link_and_staff_are_told(ctx, app, spec_day):
    from tests.admin.conftest import make_staff

    merchant = make_merchant()
    make_staff(merchant, "staff@merchant.example")
    customer = make_customer(merchant, company="Dupont SA")
    client = app.test_client()
    open_link(client, make_portal_link(customer).url)
    page = client.get("/contacts").get_data(as_text=True)

    answer = client.post(
        "/contacts",
        data={
            "csrf_token": token_of(page),
            "name": "Anne Kollegin",
            "email": "anne@dupont.example",
            "language": "de",
            "role": "billing",
        },
    )

    assert answer.status_code == 303
    mails = list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
    welcome = next(m for m in mails if m.to_address == "anne@dupont.example")
    assert welcome.subject.startswith("Ihr Link")
    assert any(m.to_address == "staff@merchant.example" and m.kind == "contact_added" for m in mails)
    assert "Anne Kollegin" in plain(client.get("/contacts").get_data(as_text=True))


def test_the_api_manages_contacts(ctx, client):
    merchant = make_merchant()
    customer = make_customer(merchant)
    rival = make_customer(make_merchant("Rival"))
    api = Api(client, make_api_key(merchant))
    db.session.commit()

    listed = api.get(f"/customers/{customer.id}/contacts").json["data"]
    assert [(row["email"], row["primary"], row["role"]) for row in listed] == [(customer.email, True, "billing")]
    body = {"name": "Jan", "email": "jan@example.com", "language": "nl", "role": "viewer"}
    created = api.post(f"/customers/{customer.id}/contacts", body, headers={"Idempotency-Key": "c-1"})
    again = api.post(f"/customers/{customer.id}/contacts", body, headers={"Idempotency-Key": "c-1"})
    assert created.status_code == 201 and again.json == created.json
    assert len(api.get(f"/customers/{customer.id}/contacts").json["data"]) == 2
    patched = api.patch(f"/contacts/{created.json['id']}", {"role": "billing", "notify_statements": False})
    assert (patched.json["role"], patched.json["notify_statements"]) == ("billing", False)
    assert api.delete(f"/contacts/{listed[0]['id']}").status_code == 409  # not the primary
    assert api.delete(f"/contacts/{created.json['id']}").status_code == 204
    assert api.patch(f"/contacts/{created.json['id']}", {"name": "X"}).status_code == 404
    assert api.get(f"/customers/{rival.id}/contacts").status_code == 404
    bad = api.post(f"/customers/{customer.id}/contacts", dict(body, role="owner"))
    assert bad.status_code == 422


def test_a_contact_switches_statements_off_in_the_portal(ctx, app, spec_day):
    customer = make_customer(make_merchant())
    colleague = contacts.add_contact(customer, name="Jan", email="jan@example.com", language="en")
    client = app.test_client()
    open_link(client, make_portal_link(customer, contact=colleague).url)
    page = client.get("/contacts").get_data(as_text=True)
    assert 'data-testid="preferences-form"' in page

    answer = client.post(
        "/contacts/preferences",
        data={"csrf_token": token_of(page), "notify_invoices": "y", "notify_reminders": "y", "notify_payments": "y"},
    )

    assert answer.status_code == 303
    db.session.expire_all()
    assert [c.email for c in contacts.recipients(customer, "statement")] == [customer.email]
    assert colleague.id in [c.id for c in contacts.recipients(customer, "invoice")]

"""Billing details kept by the customer: they reach invoices finalized afterwards, never issued ones."""

from __future__ import annotations

import re

from sqlalchemy import select

from portal.documents.pdf import invoice_pdf
from portal.extensions import db
from portal.models import Customer, Invoice, Merchant
from portal.models.mail import OutboxMessage
from portal.models.self_service import BillingDetailChange
from portal.services import invoices
from portal.services.links import make_portal_link
from tests.factories import make_customer, make_invoice, make_merchant
from tests.portal.conftest import SPEC_DAY, plain, sign_in

_TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')

NEW_DETAILS = {
    "company": "Nieuwe Naam BV",
    "line1": "Meir 10",
    "line2": "",
    "postal_code": "2000",
    "city": "Antwerpen",
    "country": "BE",
    "vat_number": "BE0417497106",
    "purchase_order": "PO-4711",
    "language": "en",
}


def post_details(client, values: dict):
    page = client.get("/billing-details").get_data(as_text=True)
    match = _TOKEN.search(page)
    return client.post("/billing-details", data={"csrf_token": match[1] or match[2], **values})


def test_a_change_reaches_the_next_invoice_and_not_the_previous_ones(ctx, client, spec_day):
    merchant = make_merchant()
    customer = make_customer(merchant, company="Oude Naam BV")
    issued = make_invoice(customer)
    draft = make_invoice(customer, finalize=False)
    db.session.commit()
    sign_in(client, customer)

    answer = post_details(client, NEW_DETAILS)

    assert answer.status_code == 303
    db.session.expire_all()
    customer = db.session.get(Customer, customer.id)
    assert (customer.company, customer.vat_number, customer.purchase_order) == (
        "Nieuwe Naam BV",
        "BE0417497106",
        "PO-4711",
    )
    invoices.finalize_invoice(db.session.get(Invoice, draft.id))
    db.session.commit()
    issued, later = db.session.get(Invoice, issued.id), db.session.get(Invoice, draft.id)
    # The invoice issued before keeps the buyer it was issued to; the next one prints the new details.
    assert issued.buyer_party.company == "Oude Naam BV" and issued.buyer_party.vat_number is None
    assert issued.purchase_order is None
    assert later.buyer_party.company == "Nieuwe Naam BV" and later.buyer_party.vat_number == "BE0417497106"
    assert later.purchase_order == "PO-4711"
    old_page = plain(client.get(f"/invoices/{issued.number}").get_data(as_text=True))
    new_page = plain(client.get(f"/invoices/{later.number}").get_data(as_text=True))
    assert "Oude Naam BV" in old_page and "Nieuwe Naam BV" not in old_page and "PO-4711" not in old_page
    assert "Nieuwe Naam BV" in new_page and 'data-testid="purchase-order">PO-4711' in new_page
    assert b"%PDF" in invoice_pdf(later)[:8]
    # Staff see the change in the log and were told by mail.
    [change] = db.session.scalars(select(BillingDetailChange)).all()
    assert change.status == "applied" and change.changes["company"] == {"old": "Oude Naam BV", "new": "Nieuwe Naam BV"}
    kinds = [m.kind for m in db.session.scalars(select(OutboxMessage))]
    assert "billing_change" in kinds


def test_an_invalid_vat_number_is_refused_with_a_message(ctx, client, spec_day):
    customer = make_customer(make_merchant(), company="Oude Naam BV")
    db.session.commit()
    sign_in(client, customer)

    answer = post_details(client, dict(NEW_DETAILS, vat_number="BE0123456789"))

    assert answer.status_code == 400
    assert "not a valid VAT number" in answer.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Customer, customer.id).company == "Oude Naam BV"
    assert db.session.scalars(select(BillingDetailChange)).all() == []


def test_with_approval_required_the_change_waits_for_staff(app, staff, time_machine):
    time_machine.move_to(SPEC_DAY, tick=False)
    staff.sign_in_again()
    with app.app_context():
        merchant = db.session.get(Merchant, staff.merchant_id)
        merchant.billing_changes_need_approval = True
        customer = db.session.get(Customer, staff.customer_id)
        customer.company = "Oude Naam BV"
        db.session.commit()
        link = make_portal_link(customer).url.split("portal.test", 1)[1]
    client = app.test_client()
    client.get(link)

    assert post_details(client, NEW_DETAILS).status_code == 303
    assert 'data-testid="pending-change"' in client.get("/billing-details").get_data(as_text=True)
    with app.app_context():
        customer = db.session.get(Customer, staff.customer_id)
        assert customer.company == "Oude Naam BV"
        # Meanwhile an invoice is finalized with the details in force.
        meanwhile_id = make_invoice(customer).id
        db.session.commit()
        [change] = db.session.scalars(select(BillingDetailChange)).all()
        change_id = change.id
        assert [m.to_address for m in db.session.scalars(select(OutboxMessage))] == [staff.email]

    page = staff.get(f"/admin/customers/{staff.customer_id}").get_data(as_text=True)
    assert "Nieuwe Naam BV" in page and "pending" in page
    answer = staff.post(f"/admin/billing-changes/{change_id}/approve", page=f"/admin/customers/{staff.customer_id}")

    assert answer.status_code == 303
    with app.app_context():
        assert db.session.get(Customer, staff.customer_id).company == "Nieuwe Naam BV"
        assert db.session.get(BillingDetailChange, change_id).status == "applied"
        assert db.session.get(Invoice, meanwhile_id).buyer_party.company == "Oude Naam BV"

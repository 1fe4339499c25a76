"""The customer disputes an invoice in the portal: the late charges stop, the panel and the history show it."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import select

from portal.extensions import db
from portal.models.api import Event
from portal.services.disputes import resolve_dispute
from portal.services.invoices import invoice_breakdown
from tests.factories import make_customer, make_invoice, make_merchant
from tests.portal.conftest import sign_in


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)[1]


def test_a_dispute_posted_from_the_portal_stops_the_clock(app, client, ctx, time_machine):
    time_machine.move_to("2026-01-01 09:00", tick=False)
    merchant = make_merchant("Acme", timezone="UTC")
    customer = make_customer(merchant)
    invoice = make_invoice(customer)
    db.session.commit()
    time_machine.move_to("2026-02-16 09:00", tick=False)
    sign_in(client, customer)
    page = client.get(f"/invoices/{invoice.number}")
    assert "Dispute this invoice" in page.text

    # Without a reason nothing happens.
    empty = client.post(f"/invoices/{invoice.number}/dispute", data={"csrf_token": csrf(page.text), "reason": " "})
    assert empty.status_code == 400 and "Tell us what is wrong first." in empty.text
    # Without the CSRF token neither.
    assert client.post(f"/invoices/{invoice.number}/dispute", data={"reason": "x"}).status_code == 400

    response = client.post(
        f"/invoices/{invoice.number}/dispute",
        data={"csrf_token": csrf(page.text), "reason": "Line 2 was never delivered."},
    )
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/invoices/{invoice.number}#dispute")
    db.session.expire_all()
    assert invoice.open_dispute.opened_on == date(2026, 2, 16)
    assert [e.type for e in db.session.scalars(select(Event).order_by(Event.id))][-2:] == [
        "comment.created",
        "invoice.disputed",
    ]
    fee_and_interest = invoice_breakdown(invoice, date(2026, 2, 15))

    time_machine.move_to("2026-03-31 09:00", tick=False)
    later = invoice_breakdown(invoice, date(2026, 3, 31))
    assert later.amount_due == fee_and_interest.amount_due
    sign_in(client, customer)  # the session of February has expired
    page = client.get(f"/invoices/{invoice.number}")
    assert 'data-testid="disputed"' in page.text and "Dispute this invoice" not in page.text
    assert "since Feb 16, 2026 (44 days)" in page.text
    assert "While the invoice was disputed, 44 days bore no late charges." in page.text
    assert "You disputed the invoice" in page.text and "Line 2 was never delivered." in page.text

    resolve_dispute(invoice)
    db.session.commit()
    time_machine.move_to("2026-04-10 09:00", tick=False)
    resumed = invoice_breakdown(invoice, date(2026, 4, 10))
    assert resumed.paused_days == 44 and resumed.interest > later.interest
    sign_in(client, customer)
    page = client.get(f"/invoices/{invoice.number}")
    assert "Feb 16, 2026 to Mar 31, 2026 (44 days)" in page.text and "Dispute resolved" in page.text

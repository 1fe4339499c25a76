"""Forms tell the truth: an upload over the limit keeps the invoice and says the limit, no field cuts text
silently (its limit is shown, an overlong entry is refused by name), and drafting from charges says what it takes."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import Customer, Invoice
from portal.models.billing import Charge
from tests.admin.conftest import csrf_token
from tests.admin.test_billing import _charge
from tests.factories import line, make_invoice


def _open_invoice(app, staff) -> tuple[int, str]:
    with app.app_context():
        invoice = make_invoice(db.session.get(Customer, staff.customer_id), lines=[line(unit_amount=10000)])
        db.session.commit()
        return invoice.id, invoice.number


@pytest.fixture
def small_request_limit(app, monkeypatch):
    """A request limit of 100 kB, so the test's bodies stay in memory (the real one is 16 MB)."""
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 100_000)


def test_an_upload_over_the_request_limit_keeps_the_invoice_and_says_the_limit(app, staff, small_request_limit):
    invoice_id, number = _open_invoice(app, staff)
    detail = f"/admin/invoices/{invoice_id}"
    page = staff.get(detail).get_data(as_text=True)
    huge = io.BytesIO(b"%PDF-1.4\n" + b"0" * 200_000)
    response = staff.client.post(
        f"{detail}/attachments",
        data={"csrf_token": csrf_token(page), "file": (huge, "scan.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 413
    html = response.get_data(as_text=True)
    # The invoice's own page, its attachment form ready for a smaller file, and the limit in words.
    assert f"Invoice {number}" in html and f'action="{detail}/attachments"' in html
    assert "The file is too large: it may be at most 10 MB. Nothing was uploaded." in html


def test_an_oversize_statement_upload_says_its_limit_and_leads_back(app, staff, small_request_limit):
    huge = io.BytesIO(b"<x/>" + b" " * 200_000)
    token = csrf_token(staff.get("/admin/bank").get_data(as_text=True))
    response = staff.client.post(
        "/admin/bank/import", data={"csrf_token": token, "file": (huge, "camt.xml")}, content_type="multipart/form-data"
    )
    assert response.status_code == 413
    html = response.get_data(as_text=True)
    assert "at most 10 MB" in html and 'href="/admin/bank"' in html


def test_no_field_cuts_text_silently_limits_are_shown_and_overlong_entries_refused_by_name(app, staff):
    invoice_id, _ = _open_invoice(app, staff)
    detail = f"/admin/invoices/{invoice_id}"
    page = staff.get(detail).get_data(as_text=True)
    assert "maxlength" not in page  # a browser would cut a pasted text short without a word
    reply_box = page[page.index('id="comments"') :]
    assert "At most 2,000 characters." in reply_box

    long_reply = "Yes. " * 401  # 2,005 characters
    refused = staff.post(f"{detail}/comments", {"body": long_reply}, page=detail)
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert re.search(r'field--error">\s*<label[^>]*for="body">Reply</label>', html)
    assert "At most 2,000 characters." in html and long_reply.strip() in html  # kept, not cut

    # A compact form names the field its error is about.
    with app.app_context():
        from portal.services import invoices

        invoice = db.session.get(Invoice, invoice_id)
        invoices.record_payment(invoice, amount=5000, paid_on=invoice.issue_date, method="bank_transfer")
        db.session.commit()
        payment_id = invoice.payments[0].id
    refund = staff.post(f"{detail}/payments/{payment_id}/refund", {"amount": "10", "note": "n" * 201}, page=detail)
    assert refund.status_code == 422
    assert "Note: At most 200 characters." in refund.get_data(as_text=True)


def test_drafting_from_all_charges_shows_what_it_takes_and_asks_first(app, staff):
    for name, price in (("Repair", "50"), ("Parts", "20.50")):
        assert _charge(staff, name, price).status_code == 303
    detail = f"/admin/customers/{staff.customer_id}"
    confirm = staff.get(f"{detail}/draft-from-charges")
    assert confirm.status_code == 200
    html = confirm.get_data(as_text=True)
    assert "All open charges" in html and html.count('data-testid="draft-charge"') == 2
    assert "Repair" in html and "Parts" in html
    # 2 × 50 + 2 × 20.50 = 141.00 net, 21 % tax 29.61: 170.61.
    assert "€170.61" in html
    with app.app_context():
        assert db.session.scalar(select(Invoice).where(Invoice.customer_id == staff.customer_id)) is None
        ids = [c.id for c in db.session.scalars(select(Charge).order_by(Charge.id))]

    # A charge recorded while the page was open is not swept in: the draft takes what was shown.
    _charge(staff, "Travel", "15")
    created = staff.post(
        f"{detail}/draft-from-charges", {"charge_id": [str(n) for n in ids]}, page=f"{detail}/draft-from-charges"
    )
    assert created.status_code == 303
    with app.app_context():
        invoice = db.session.scalar(select(Invoice).where(Invoice.customer_id == staff.customer_id))
        assert [row.description for row in invoice.lines] == ["Repair", "Parts"] and invoice.total == 17061

    # Nothing left open in the currency but Travel; an empty choice is said, not drafted.
    ticked = staff.get(f"{detail}/draft-from-charges?charge_id={ids[0]}", follow_redirects=True)
    assert "already on an invoice" in ticked.get_data(as_text=True)

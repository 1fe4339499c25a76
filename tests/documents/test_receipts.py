"""A paid invoice's receipt: payments, dates, methods and references, localized, branded, cached, mailed."""

from __future__ import annotations

import io
from datetime import date

import pypdf
import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.mail import notifications
from portal.models.document import RenderedDocument
from portal.models.mail import OutboxMessage
from tests.factories import credit, make_customer, make_invoice, make_merchant, pay
from tests.portal.conftest import compile_catalogues


@pytest.fixture(autouse=True, scope="module")
def _catalogues():
    compile_catalogues()


def text_of(pdf: bytes) -> str:
    pages = pypdf.PdfReader(io.BytesIO(pdf)).pages
    return "\n".join(page.extract_text() for page in pages).replace("\u202f", " ").replace("\u00a0", " ")


def test_a_paid_invoice_offers_its_receipt_with_every_payment(ctx, client, sign_in):
    customer = make_customer(make_merchant("Atelier Lumen"))
    invoice = make_invoice(customer)
    pay(invoice, 40000, date(2026, 1, 10), method="cash")
    payment = pay(invoice, 60000, date(2026, 1, 20))
    payment.reference = "+++090/9337/55493+++"
    db.session.commit()
    sign_in(customer)

    page = client.get(f"/invoices/{invoice.number}").get_data(as_text=True)
    response = client.get(f"/invoices/{invoice.number}/receipt")

    assert 'data-testid="download-receipt"' in page
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = text_of(response.data)
    assert "Receipt" in text and invoice.number in text and "Atelier Lumen" in text
    assert "Cash" in text and "Bank transfer" in text and "+++090/9337/55493+++" in text
    assert "Jan 10, 2026" in text and "€400.00" in text and "€1,000.00" in text
    again = client.get(f"/invoices/{invoice.number}/receipt")
    assert again.data == response.data
    kinds = db.session.scalars(select(RenderedDocument.kind)).all()
    assert kinds.count("receipt") == 1  # rendered once, reused


def test_the_receipt_speaks_the_invoices_language(ctx, client, sign_in):
    customer = make_customer(make_merchant(), language="fr")
    invoice = make_invoice(customer)
    pay(invoice, 100000, date(2026, 1, 20))
    db.session.commit()
    sign_in(customer)

    text = text_of(client.get(f"/invoices/{invoice.number}/receipt").data)

    assert "Reçu" in text and "Virement" in text and "1 000,00 €" in text


def test_no_receipt_without_money_received(ctx, client, sign_in):
    customer = make_customer(make_merchant())
    open_invoice = make_invoice(customer)
    credited = make_invoice(customer)
    credit(credited, 100000, date(2026, 1, 10))
    db.session.commit()
    sign_in(customer)

    assert client.get(f"/invoices/{open_invoice.number}/receipt").status_code == 404
    assert client.get(f"/invoices/{credited.number}/receipt").status_code == 404
    assert 'data-testid="download-receipt"' not in client.get(f"/invoices/{credited.number}").get_data(as_text=True)


def test_the_payment_confirmation_carries_the_receipt(ctx):
    customer = make_customer(make_merchant())
    invoice = make_invoice(customer)
    payment = pay(invoice, 100000, date(2026, 1, 20), method="card")

    notifications.send_payment_confirmation(payment)
    db.session.commit()

    message = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "payment_confirmation")).one()
    files = {part.filename: part for part in message.attachments if part.content_id is None}
    assert list(files) == [f"receipt-{invoice.number}.pdf"]
    assert "Receipt" in text_of(files[f"receipt-{invoice.number}.pdf"].data)

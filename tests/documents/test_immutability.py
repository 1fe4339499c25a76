"""Finalized documents never change (SPEC §1): page, PDF, mail and API keep what was issued.

Everything that could leak in is changed after an invoice and a credit note were issued: the
merchant's legal identity, bank details, email and default terms, the invoice mail's wording, and
the customer's name, company, address, VAT number, email and language. The brand (trading name,
logo, colours) is the merchant's live look on every page and mail by design (SPEC §2), so it is
left alone here. Time is frozen on one day, so even the dated late-fee block stays the same.
"""

from __future__ import annotations

import io
import re
from datetime import date

import pypdf
import pytest
from sqlalchemy import delete, select

from portal.documents.pdf import credit_note_pdf, invoice_pdf
from portal.domain.parties import Address
from portal.extensions import db
from portal.mail.notifications import send_invoice
from portal.models import Customer, Merchant
from portal.models.document import RenderedDocument
from portal.models.mail import OutboxMessage
from portal.services import customers, email_templates, merchants
from tests.factories import credit, line, make_api_key, make_customer, make_invoice, make_merchant, run_jobs
from tests.portal.conftest import SPEC_DAY, plain, sign_in

pytestmark = pytest.mark.usefixtures("ctx")

_ARTICLE = re.compile(r'<article class="card document".*?</article>', re.S)


def pdf_text(data: bytes) -> str:
    return plain("\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages))


def _issue(merchant: Merchant, customer: Customer):
    invoice = make_invoice(
        customer,
        lines=[
            line("Website design", "1", 180000, "21"),
            line("Hosting, 12 months", "12", 1500, "21", discount_percent="10"),
            line("Vocational training", "1", 50000, tax_category="E"),
        ],
        notes="Merci pour votre confiance.",
    )
    note = credit(invoice, 10000, date(2026, 1, 20), reason="Geste commercial")
    return invoice, note


def _observe(client, api_key: str, invoice, note) -> dict:
    """Return everything the customer, the mail and an integration see of the two documents."""
    db.session.expire_all()
    pages = {
        path: _ARTICLE.search(client.get(path).get_data(as_text=True)).group(0)
        for path in (f"/invoices/{invoice.number}", f"/credit-notes/{note.number}")
    }
    # Render afresh rather than read the stored PDFs back: the rendering itself must not change.
    db.session.execute(delete(RenderedDocument))
    pdfs = {"invoice": pdf_text(invoice_pdf(invoice)), "credit_note": pdf_text(credit_note_pdf(note))}
    send_invoice(invoice)
    run_jobs(["default"])  # the worker renders the PDF and composes the mail
    message = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()
    attachment = next(part for part in message.attachments if part.content_type == "application/pdf")
    mail = {
        "subject": message.subject,
        "text": message.text_body,
        "html": message.html_body,
        "pdf": pdf_text(attachment.data),
        "from_name": message.from_name,
    }
    db.session.commit()
    headers = {"Authorization": f"Bearer {api_key}"}
    api = {
        "invoice": client.get(f"/api/v1/invoices/{invoice.id}", headers=headers).json,
        "credit_note": client.get(f"/api/v1/credit-notes/{note.id}", headers=headers).json,
    }
    return {"pages": pages, "pdfs": pdfs, "mail": mail, "api": api}


def _change_everything(merchant: Merchant, customer: Customer) -> None:
    merchants.set_company(
        merchant,
        legal_name="Lumen Holding NV",
        address=Address("Meir 1", None, "2000", "Antwerpen", "BE"),
        email="accounts@lumen-holding.example",
        vat_number="BE0403170701",
        company_number="0403.170.701",
        phone="+32 3 000 00 00",
        website="https://holding.example",
        iban="NL91ABNA0417164300",
        bic="ABNANL2A",
    )
    merchant.terms = "New terms: payment within 8 days."
    for language in ("fr", "de"):
        email_templates.set_invoice_template(
            merchant, language, subject="NEW {number}", body="Completely new wording.\n\n{link}"
        )
    customers.update_customer(
        customer,
        name="Renamed Person",
        email="renamed@example.com",
        language="de",
        company="Another Company GmbH",
        address=Address("Torstraße 1", None, "10119", "Berlin", "DE"),
        vat_number="DE136695976",
        company_number=None,
    )
    db.session.commit()


def test_an_issued_invoice_and_credit_note_show_the_same_everywhere_after_everything_changed(client, time_machine):
    time_machine.move_to(SPEC_DAY, tick=False)
    merchant = make_merchant(
        "Atelier Lumen",
        legal_name="Atelier Lumen SRL",
        vat_number="BE0477472701",
        company_number="0477.472.701",
        iban="BE68539007547034",
        bic="GKCCBEBB",
        support_email="billing@lumen.example",
        terms="Paiement à 30 jours.",
    )
    email_templates.set_invoice_template(
        merchant, "fr", subject="Facture {number} de {merchant}", body="Bonjour {customer},\n\n{link}\n\nÀ bientôt."
    )
    customer = make_customer(
        merchant,
        "Camille Martin",
        language="fr",
        company="Martin Conseil SRL",
        address=Address("Rue Saint-Gilles 30", None, "4000", "Liège", "BE"),
        vat_number="BE0836542153",
    )
    invoice, note = _issue(merchant, customer)
    key = make_api_key(merchant)
    sign_in(client, customer)
    before = _observe(client, key, invoice, note)

    # What was issued is all there, in the customer's language of the day (French).
    assert "Atelier Lumen SRL" in before["pdfs"]["invoice"] and "Martin Conseil SRL" in before["pdfs"]["invoice"]
    assert "BE0477472701" in before["pdfs"]["credit_note"] and "BE0836542153" in before["pdfs"]["credit_note"]
    assert "Exonération de TVA" in before["pdfs"]["invoice"] and "Paiement à 30 jours." in before["pdfs"]["invoice"]
    assert "Rue Saint-Gilles 30" in before["pages"][f"/invoices/{invoice.number}"]
    assert before["mail"]["subject"] == f"Facture {invoice.number} de Atelier Lumen"
    assert before["api"]["invoice"]["seller"]["legal_name"] == "Atelier Lumen SRL"
    assert before["api"]["credit_note"]["buyer"]["company"] == "Martin Conseil SRL"

    _change_everything(merchant, customer)
    after = _observe(client, key, invoice, note)

    assert after["pages"] == before["pages"]
    assert after["pdfs"] == before["pdfs"]
    assert after["mail"] == before["mail"]
    # Observing sends the invoice mail once more: the send log's counters move, nothing of the document does.
    for seen in (before, after):
        for field in ("send_count", "last_sent_at"):
            seen["api"]["invoice"].pop(field, None)
    assert after["api"] == before["api"]
    # Mail still reaches people where they are now: only the routing follows the live rows.
    resent = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()
    assert resent.to_address == "renamed@example.com" and resent.reply_to == "accounts@lumen-holding.example"

    # A document issued now takes the new values, in the customer's new language.
    new_invoice = make_invoice(customer, issue_date=date(2026, 3, 1), due_date=date(2026, 3, 31))
    db.session.commit()
    text = pdf_text(invoice_pdf(new_invoice))
    assert "Lumen Holding NV" in text and "Another Company GmbH" in text and "Rechnung" in text


def test_renaming_the_customer_and_changing_default_terms_never_reach_an_issued_invoice(client, time_machine):
    """The bug this issue reports: it failed on the code before snapshots (checked on main)."""
    time_machine.move_to(SPEC_DAY, tick=False)
    merchant = make_merchant("Acme", terms="Old terms.")
    customer = make_customer(merchant, "Jane Cooper")
    invoice = make_invoice(customer)
    sign_in(client, customer)
    page = client.get(f"/invoices/{invoice.number}").get_data(as_text=True)
    assert "Jane Cooper" in page and "Old terms." in page

    customer.name = "Someone Else"
    merchant.terms = "New terms."
    db.session.execute(delete(RenderedDocument))
    db.session.commit()

    page = _ARTICLE.search(client.get(f"/invoices/{invoice.number}").get_data(as_text=True)).group(0)
    text = pdf_text(invoice_pdf(invoice))
    for shown in (page, text):
        assert "Jane Cooper" in shown and "Old terms." in shown
        assert "Someone Else" not in shown and "New terms." not in shown

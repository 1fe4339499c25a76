"""The customer portal's e-invoices: /invoices/<number>/ubl, /credit-notes/<number>/ubl and the zip download."""

from __future__ import annotations

import io
import zipfile
from datetime import date

import pytest
from sqlalchemy import select

from portal.customer.access import SESSION_CUSTOMER, SESSION_LINK_VERSION
from portal.extensions import db
from portal.models import CreditNote, Customer, Invoice
from portal.models.document import InvoiceAttachment
from portal.services import einvoices
from tests.factories import credit, line, make_company_customer, make_customer, make_invoice, make_merchant


@pytest.fixture
def sign_in(client):
    def sign_in_as(customer) -> None:
        db.session.commit()
        with client.session_transaction() as session:
            session[SESSION_CUSTOMER] = customer.id
            session[SESSION_LINK_VERSION] = customer.link_version

    return sign_in_as


@pytest.fixture
def company(ctx):
    """A company customer with an invoice (2026-0001) and a credit note on it (CN-2026-0001)."""
    merchant = make_merchant("Acme")
    customer = make_company_customer(merchant)
    invoice = make_invoice(customer, lines=[line(unit_amount=100000, tax_rate="21")])
    credit(invoice, 10000, date(2026, 1, 10))
    db.session.commit()
    return customer, invoice


def members(response) -> dict[str, bytes]:
    assert response.status_code == 200 and response.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        assert archive.testzip() is None
        return {name: archive.read(name) for name in archive.namelist()}


def test_the_ubl_of_an_invoice_and_a_credit_note(client, sign_in, company, rules):
    customer, invoice = company
    sign_in(customer)

    for path, filename, document in (
        ("/invoices/2026-0001/ubl", "invoice-2026-0001.xml", invoice),
        ("/credit-notes/CN-2026-0001/ubl", "credit-note-CN-2026-0001.xml", invoice.credit_notes[0]),
    ):
        response = client.get(path)
        assert response.status_code == 200 and response.mimetype == "application/xml"
        assert response.headers["Content-Disposition"] == f'attachment; filename="{filename}"'
        assert "no-store" in response.headers["Cache-Control"]
        assert response.data == einvoices.ubl(document)
        rules.assert_valid(response.data)


def test_the_ubl_needs_a_session_and_another_customers_number_is_not_found(app, client, sign_in, company):
    customer, invoice = company
    assert client.get("/invoices/2026-0001/ubl").status_code == 401
    assert client.get("/credit-notes/CN-2026-0001/ubl").status_code == 401

    # Another customer of the same merchant, and another merchant's documents with the same numbers.
    neighbour = make_company_customer(invoice.merchant, "Els Wouters", company="Wouters BV", vat_number="BE0477472701")
    theirs = make_invoice(neighbour)
    their_note = credit(theirs, 1000, date(2026, 1, 10))
    stranger = make_company_customer(make_merchant("Other"))
    credit(make_invoice(stranger), 1000, date(2026, 1, 10))
    draft = make_invoice(customer, finalize=False)
    sign_in(customer)

    for path in (
        f"/invoices/{theirs.number}/ubl",
        f"/credit-notes/{their_note.number}/ubl",
        f"/invoices/{draft.number}/ubl",
        "/invoices/2026-9999/ubl",
        "/credit-notes/CN-2026-9999/ubl",
    ):
        assert client.get(path).status_code == 404, path
    # What answers 404 is exactly what the PDF answers 404 to.
    assert client.get(f"/invoices/{theirs.number}/pdf").status_code == 404
    # The stranger's 2026-0001 is not this customer's: theirs is served, and it is theirs.
    own = client.get("/invoices/2026-0001/ubl")
    assert own.status_code == 200 and own.data == einvoices.ubl(invoice)


def test_the_pages_link_the_ubl_beside_the_pdf(client, sign_in, company):
    customer, invoice = company
    sign_in(customer)

    page = client.get("/invoices/2026-0001").get_data(as_text=True)
    note_page = client.get("/credit-notes/CN-2026-0001").get_data(as_text=True)

    assert page.index('href="/invoices/2026-0001/pdf"') < page.index('href="/invoices/2026-0001/ubl"')
    assert 'href="/invoices/2026-0001/download"' in page
    assert 'href="/credit-notes/CN-2026-0001/ubl"' in note_page
    assert "Download e-invoice (XML)" in page


def test_the_zip_holds_the_pdf_and_xml_of_each_document(client, sign_in, company, rules):
    customer, invoice = company
    credit(invoice, 5000, date(2026, 1, 12))
    db.session.add(
        InvoiceAttachment(
            merchant_id=invoice.merchant_id,
            invoice_id=invoice.id,
            filename="timesheet.pdf",
            content_type="application/pdf",
            size=9,
            data=b"%PDF-fake",
        )
    )
    sign_in(customer)

    files = members(client.get("/invoices/2026-0001/download"))

    assert list(files) == [
        "invoice-2026-0001.pdf",
        "invoice-2026-0001.xml",
        "credit-note-CN-2026-0001.pdf",
        "credit-note-CN-2026-0001.xml",
        "credit-note-CN-2026-0002.pdf",
        "credit-note-CN-2026-0002.xml",
        "timesheet.pdf",
    ]
    for number in ("invoice-2026-0001", "credit-note-CN-2026-0001", "credit-note-CN-2026-0002"):
        rules.assert_valid(files[f"{number}.xml"])
        # Each PDF is the same document as Factur-X.
        rules.assert_valid(rules.embedded_xml(files[f"{number}.pdf"]))


def test_an_invoice_with_its_ubl_downloads_as_a_zip_and_a_consumers_as_the_pdf_alone(client, sign_in, ctx):
    merchant = make_merchant()
    business, consumer = make_company_customer(merchant), make_customer(merchant)
    make_invoice(business)
    make_invoice(consumer)
    sign_in(business)
    assert list(members(client.get("/invoices/2026-0001/download"))) == [
        "invoice-2026-0001.pdf",
        "invoice-2026-0001.xml",
    ]

    sign_in(consumer)
    response = client.get("/invoices/2026-0002/download")
    assert response.mimetype == "application/pdf"
    # Peppol cannot address a consumer: no UBL link, and the address answers why.
    page = client.get("/invoices/2026-0002").get_data(as_text=True)
    assert "/invoices/2026-0002/ubl" not in page and "/invoices/2026-0002/download" not in page
    missing = client.get("/invoices/2026-0002/ubl")
    assert missing.status_code == 422 and 'href="/invoices/2026-0002/pdf"' in missing.text


def test_a_document_en16931_cannot_state_has_no_xml_and_the_zip_says_why(client, sign_in, ctx):
    customer = make_company_customer(make_merchant("Gulf Trading", default_currency="KWD"))
    customer.language = "fr"
    invoice = make_invoice(customer, currency="KWD", lines=[line(unit_amount=125750, tax_rate="0")])
    credit(invoice, 10000, date(2026, 1, 10))
    sign_in(customer)

    files = members(client.get("/invoices/2026-0001/download"))
    assert list(files) == ["invoice-2026-0001.pdf", "credit-note-CN-2026-0001.pdf", "no-e-invoice.txt"]
    note = files["no-e-invoice.txt"].decode()
    assert "la norme européenne EN 16931 ne permet pas" in note  # in the customer's language
    assert "2026-0001: EN 16931 amounts have at most two decimals; KWD has 3" in note
    assert "CN-2026-0001: EN 16931 amounts have at most two decimals; KWD has 3" in note

    for path in ("/invoices/2026-0001/ubl", "/credit-notes/CN-2026-0001/ubl"):
        response = client.get(path)
        assert response.status_code == 422 and "Pas de facture électronique" in response.text
    page = client.get("/invoices/2026-0001").get_data(as_text=True)
    assert "/invoices/2026-0001/ubl" not in page


def test_every_document_of_the_demo_company_downloads_with_its_xml(app, runner, client, sign_in, rules):
    """The demo's company with a credit note: the zip holds PDF + XML for each, all passing the rules."""
    assert runner.invoke(args=["portal", "demo"]).exit_code == 0
    with app.app_context():
        note = db.session.scalars(
            select(CreditNote).join(Customer).where(Customer.company.is_not(None)).order_by(CreditNote.id)
        ).first()
        invoice = db.session.get(Invoice, note.invoice_id)
        sign_in(invoice.customer)
        names = {
            f"invoice-{invoice.number}": invoice,
            **{f"credit-note-{n.number}": n for n in invoice.credit_notes},
        }

        files = members(client.get(f"/invoices/{invoice.number}/download"))

        assert sorted(files) == sorted(f"{name}.{ext}" for name in names for ext in ("pdf", "xml"))
        for name, document in names.items():
            rules.assert_valid(files[f"{name}.xml"])
            embedded = rules.embedded_xml(files[f"{name}.pdf"])
            assert embedded == einvoices.facturx_cii(document)
            rules.assert_valid(embedded)

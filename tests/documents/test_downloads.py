"""GET /invoices/<number>/pdf, /credit-notes/<number>/pdf, /invoices/<number>/download and attachments."""

from __future__ import annotations

import io
import zipfile
from datetime import date

import pypdf
import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models.document import InvoiceAttachment, RenderedDocument
from tests.factories import credit, make_customer, make_invoice, make_merchant


@pytest.fixture
def jane(ctx):
    merchant = make_merchant("Acme")
    customer = make_customer(merchant, "Jane Cooper")
    invoice = make_invoice(customer)
    db.session.commit()
    return customer, invoice


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)


def test_documents_need_a_portal_session(client, jane):
    _, invoice = jane
    for path in (
        "/invoices/2026-0001/pdf",
        "/invoices/2026-0001/download",
        "/credit-notes/CN-2026-0001/pdf",
        "/invoices/2026-0001/attachments/1",
    ):
        assert client.get(path).status_code == 401


def test_the_invoice_pdf(client, sign_in, jane):
    customer, invoice = jane
    sign_in(customer)

    response = client.get("/invoices/2026-0001/pdf")

    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == 'inline; filename="invoice-2026-0001.pdf"'
    assert "no-store" in response.headers["Cache-Control"]
    assert "2026-0001" in pdf_text(response.data)


def test_someone_elses_or_a_draft_or_a_missing_number_is_not_found(client, sign_in, jane):
    customer, invoice = jane
    other = make_customer(invoice.merchant, "Someone Else")
    theirs = make_invoice(other)  # 2026-0002
    make_invoice(customer, finalize=False)
    stranger = make_merchant("Other")
    make_invoice(make_customer(stranger))  # the other merchant's 2026-0001 is not Jane's either
    db.session.commit()
    sign_in(customer)

    assert client.get(f"/invoices/{theirs.number}/pdf").status_code == 404
    assert client.get(f"/invoices/{theirs.number}/download").status_code == 404
    assert client.get("/invoices/2026-9999/pdf").status_code == 404
    assert client.get("/invoices/None/pdf").status_code == 404


def test_download_without_credit_notes_is_the_pdf_alone(client, sign_in, jane):
    customer, _ = jane
    sign_in(customer)

    response = client.get("/invoices/2026-0001/download")

    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == 'attachment; filename="invoice-2026-0001.pdf"'


def test_download_with_credit_notes_and_attachments_is_a_zip_of_exactly_those(client, sign_in, jane):
    customer, invoice = jane
    credit(invoice, 10000, date(2026, 1, 10))
    credit(invoice, 5000, date(2026, 1, 12))
    db.session.add(
        InvoiceAttachment(
            merchant_id=invoice.merchant_id,
            invoice_id=invoice.id,
            filename="../../timesheet March.pdf",
            content_type="application/pdf",
            size=9,
            data=b"%PDF-fake",
        )
    )
    db.session.commit()
    sign_in(customer)

    response = client.get("/invoices/2026-0001/download")

    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert response.headers["Content-Disposition"] == 'attachment; filename="invoice-2026-0001.zip"'
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        assert archive.testzip() is None
        assert archive.namelist() == [
            "invoice-2026-0001.pdf",
            "credit-note-CN-2026-0001.pdf",
            "credit-note-CN-2026-0002.pdf",
            "timesheet_March.pdf",
        ]
        for name in archive.namelist():
            assert "/" not in name and "\\" not in name and ".." not in name
        assert "CN-2026-0002" in pdf_text(archive.read("credit-note-CN-2026-0002.pdf"))
        assert "2026-0001" in pdf_text(archive.read("invoice-2026-0001.pdf"))
        assert archive.read("timesheet_March.pdf") == b"%PDF-fake"


def test_the_credit_note_pdf_and_an_attachment(client, sign_in, jane):
    customer, invoice = jane
    credit(invoice, 10000, date(2026, 1, 10))
    attachment = InvoiceAttachment(
        merchant_id=invoice.merchant_id,
        invoice_id=invoice.id,
        filename="plan.png",
        content_type="image/png",
        size=3,
        data=b"png",
    )
    db.session.add(attachment)
    db.session.commit()
    sign_in(customer)

    note = client.get("/credit-notes/CN-2026-0001/pdf")
    file = client.get(f"/invoices/2026-0001/attachments/{attachment.id}")

    assert note.headers["Content-Disposition"] == 'inline; filename="credit-note-CN-2026-0001.pdf"'
    assert "CN-2026-0001" in pdf_text(note.data)
    assert file.data == b"png" and file.mimetype == "image/png"
    assert file.headers["Content-Disposition"] == 'attachment; filename="plan.png"'
    assert client.get(f"/invoices/2026-0001/attachments/{attachment.id + 1}").status_code == 404


def test_another_invoices_attachment_is_not_found(client, sign_in, jane):
    customer, invoice = jane
    other = make_invoice(customer)
    attachment = InvoiceAttachment(
        merchant_id=other.merchant_id,
        invoice_id=other.id,
        filename="x.pdf",
        content_type="application/pdf",
        size=1,
        data=b"x",
    )
    db.session.add(attachment)
    db.session.commit()
    sign_in(customer)

    assert client.get(f"/invoices/2026-0001/attachments/{attachment.id}").status_code == 404


def test_the_second_download_reuses_the_rendered_pdf(client, sign_in, jane):
    customer, _ = jane
    sign_in(customer)

    first = client.get("/invoices/2026-0001/pdf")
    rendered_at = db.session.scalar(select(RenderedDocument.rendered_at))
    second = client.get("/invoices/2026-0001/pdf")

    assert first.data == second.data
    db.session.expire_all()
    assert db.session.scalar(select(RenderedDocument.rendered_at)) == rendered_at


def test_the_invoice_page_links_to_the_downloads(client, sign_in, jane):
    customer, invoice = jane
    credit(invoice, 10000, date(2026, 1, 10))
    db.session.commit()
    sign_in(customer)

    page = client.get("/invoices/2026-0001").get_data(as_text=True)

    assert 'href="/invoices/2026-0001/pdf"' in page
    assert 'href="/invoices/2026-0001/download"' in page
    assert 'href="/credit-notes/CN-2026-0001/pdf"' in page


def test_the_invoice_page_lists_attachments_and_the_credit_note_page_its_pdf(client, sign_in, jane):
    customer, invoice = jane
    attachment = InvoiceAttachment(
        merchant_id=invoice.merchant_id,
        invoice_id=invoice.id,
        filename="timesheet.pdf",
        content_type="application/pdf",
        size=9,
        data=b"%PDF-fake",
    )
    db.session.add(attachment)
    credit(invoice, 10000, date(2026, 1, 10))
    db.session.commit()
    sign_in(customer)

    page = client.get("/invoices/2026-0001").get_data(as_text=True)
    assert f'href="/invoices/2026-0001/attachments/{attachment.id}"' in page and "timesheet.pdf" in page
    assert 'href="/invoices/2026-0001/download"' in page
    note_page = client.get("/credit-notes/CN-2026-0001").get_data(as_text=True)
    assert 'href="/credit-notes/CN-2026-0001/pdf"' in note_page


def test_attachments_alone_make_the_download_a_zip(client, sign_in, jane):
    customer, invoice = jane
    db.session.add(
        InvoiceAttachment(
            merchant_id=invoice.merchant_id,
            invoice_id=invoice.id,
            filename="plan.png",
            content_type="image/png",
            size=3,
            data=b"png",
        )
    )
    db.session.commit()
    sign_in(customer)

    assert 'href="/invoices/2026-0001/download"' in client.get("/invoices/2026-0001").get_data(as_text=True)
    download = client.get("/invoices/2026-0001/download")
    assert download.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(download.data)) as archive:
        assert sorted(archive.namelist()) == ["invoice-2026-0001.pdf", "plan.png"]

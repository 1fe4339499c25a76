"""Attachments staff add to an invoice, and which providers an invoice offers."""

from __future__ import annotations

import io
import time
import tracemalloc
import zipfile
from datetime import date

import pytest
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from portal.domain.payment_references import format_reference
from portal.extensions import db
from portal.models import Customer, Invoice
from portal.models.document import InvoiceAttachment
from portal.services import payment_choices, payment_settings
from portal.services.links import make_portal_link
from tests.factories import make_invoice


@pytest.fixture
def invoice_id(app, staff) -> int:
    with app.app_context():
        invoice = make_invoice(db.session.get(Customer, staff.customer_id))
        db.session.commit()
        return invoice.id


def attach(staff, invoice_id: int, data: bytes, filename: str):
    page = f"/admin/invoices/{invoice_id}"
    boundary, body = encode_multipart(
        {"csrf_token": staff.token(page), "file": FileStorage(io.BytesIO(data), filename)}
    )
    return staff.client.post(f"{page}/attachments", data=body, content_type=f"multipart/form-data; boundary={boundary}")


def docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


def test_attach_download_and_remove(app, staff, invoice_id):
    assert attach(staff, invoice_id, b"%PDF-1.7\n...", "../../timesheet.pdf").status_code == 303
    assert attach(staff, invoice_id, docx(), "report.docx").status_code == 303
    with app.app_context():
        rows = list(db.session.scalars(select(InvoiceAttachment).order_by(InvoiceAttachment.id)))
        assert [(a.filename, a.content_type) for a in rows] == [
            ("timesheet.pdf", "application/pdf"),
            ("report.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ]
        first_id = rows[0].id
        number = db.session.get(Invoice, invoice_id).number
        with app.test_request_context():
            link = make_portal_link(db.session.get(Customer, staff.customer_id)).url
    download = staff.get(f"/admin/invoices/{invoice_id}/attachments/{first_id}")
    assert download.data.startswith(b"%PDF") and download.headers["Content-Disposition"].startswith("attachment")

    # The customer gets them in the invoice's zip.
    customer = app.test_client()
    customer.get(link.replace("http://portal.test", ""))
    archive = zipfile.ZipFile(io.BytesIO(customer.get(f"/invoices/{number}/download").data))
    assert {"timesheet.pdf", "report.docx"} <= set(archive.namelist())

    assert staff.post(f"/admin/invoices/{invoice_id}/attachments/{first_id}/delete").status_code == 303
    with app.app_context():
        assert db.session.get(InvoiceAttachment, first_id) is None


@pytest.mark.parametrize(
    "data, filename",
    [
        (b"<html><script>alert(1)</script></html>", "invoice.pdf"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"/>', "logo.png"),
        (b"MZ\x90\x00 executable", "setup.doc"),
        (b"PK\x03\x04 not really a zip", "sheet.xlsx"),
    ],
    ids=["html-as-pdf", "svg-as-png", "exe-as-doc", "broken-zip"],
)
def test_other_files_are_refused(app, staff, invoice_id, data, filename):
    response = attach(staff, invoice_id, data, filename)
    assert response.status_code == 422
    assert "Attach PDF, PNG, JPEG, WebP, Word, Excel" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(InvoiceAttachment)) is None


def test_attachments_are_size_limited(app, staff, invoice_id):
    response = attach(staff, invoice_id, b"%PDF-" + b"0" * (10 * 1024 * 1024), "huge.pdf")
    assert response.status_code == 422
    assert "at most 10 MB" in response.get_data(as_text=True)


def zip_bomb(name: str, size: int, others: tuple[tuple[str, str], ...] = ()) -> bytes:
    """Write a real zip whose member `name` holds `size` bytes of zeros (deflate shrinks them about 1000 times)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for other, text in others:
            archive.writestr(other, text)
        info = zipfile.ZipInfo(name)
        info.compress_type = zipfile.ZIP_DEFLATED
        chunk = bytes(1024 * 1024)
        with archive.open(info, "w") as member:
            for _ in range(size // len(chunk)):
                member.write(chunk)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def bombs() -> dict[str, bytes]:
    return {
        # OpenDocument's type check reads the "mimetype" member: 320 MB of it.
        "odt-mimetype": zip_bomb("mimetype", 320 * 1024 * 1024),
        # A Word file whose document inflates to 200 MB: stored, it would reach the customers.
        "docx-document": zip_bomb("word/document.xml", 200 * 1024 * 1024, (("[Content_Types].xml", "<Types/>"),)),
    }


@pytest.mark.parametrize("kind", ["odt-mimetype", "docx-document"])
def test_a_zip_bomb_is_refused_quickly_without_unpacking_it(app, staff, invoice_id, bombs, kind):
    bomb = bombs[kind]
    assert len(bomb) < 1024 * 1024
    tracemalloc.start()
    started = time.monotonic()
    try:
        response = attach(staff, invoice_id, bomb, "contract.odt" if kind == "odt-mimetype" else "contract.docx")
        elapsed = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 422
    assert "unpacks to far more than its size" in response.get_data(as_text=True)
    assert elapsed < 5
    assert peak < 32 * 1024 * 1024, f"{peak} bytes allocated"
    with app.app_context():
        assert db.session.scalar(select(InvoiceAttachment)) is None


def test_a_zip_of_too_many_members_is_refused(app, staff, invoice_id):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        for n in range(5000):
            archive.writestr(f"word/media/{n}.xml", "")
    response = attach(staff, invoice_id, buffer.getvalue(), "many.docx")
    assert response.status_code == 422
    assert "too many files" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(InvoiceAttachment)) is None


def test_an_opendocument_file_with_a_lying_mimetype_header_is_read_within_bounds(app, staff, invoice_id):
    """The members' sizes are checked from the directory, and the one member read is read in bounded chunks."""
    from portal.services.attachments import UnsafeArchive, _read_bounded

    bomb = zip_bomb("mimetype", 8 * 1024 * 1024)
    with zipfile.ZipFile(io.BytesIO(bomb)) as archive:
        archive.getinfo("mimetype").file_size = 50  # a header that understates what the member holds
        with pytest.raises((UnsafeArchive, zipfile.BadZipFile)):
            _read_bounded(archive, "mimetype", 100)
    odt = io.BytesIO()
    with zipfile.ZipFile(odt, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        archive.writestr("content.xml", "<office:document-content/>" * 2000)
    assert attach(staff, invoice_id, odt.getvalue(), "letter.odt").status_code == 303


def legacy_office(stream: str) -> bytes:
    """An OLE compound file's header and a directory entry naming its main stream (UTF-16, as Office writes it)."""
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)
    return header + (stream + "\0").encode("utf-16-le").ljust(64, b"\0") + bytes(448)


def customer_client(app, staff):
    client = app.test_client()
    with app.app_context():
        link = make_portal_link(db.session.get(Customer, staff.customer_id)).url
    assert client.get(link.replace("http://portal.test", "")).status_code == 303
    return client


def test_names_lose_direction_and_control_characters_and_take_the_detected_types_extension(app, staff, invoice_id):
    png = b"\x89PNG\r\n\x1a\n" + bytes(32)
    uploads = [
        (b"%PDF-1.7\n...", "x.exe", "x.pdf"),
        (png, "invoice\u202egnp.exe", "invoicegnp.png"),  # shown as "invoiceexe.png" with the override
        (b"%PDF-1.7\n...", "\u2066Quote\u2069\u200f\u061c\x01 été.pdf", "Quote été.pdf"),
        (legacy_office("WordDocument"), "letter.txt", "letter.doc"),
        (legacy_office("Workbook"), "budget.doc", "budget.xls"),
    ]
    for data, name, _ in uploads:
        response = attach(staff, invoice_id, data, name)
        assert response.status_code == 303, response.get_data(as_text=True)
    with app.app_context():
        rows = list(db.session.scalars(select(InvoiceAttachment).order_by(InvoiceAttachment.id)))
        assert [row.filename for row in rows] == [served for _, _, served in uploads]
        assert [row.content_type for row in rows][-2:] == ["application/msword", "application/vnd.ms-excel"]
        ids = [row.id for row in rows]
        number = db.session.get(Invoice, invoice_id).number

    admin_page = staff.get(f"/admin/invoices/{invoice_id}").get_data(as_text=True)
    customer = customer_client(app, staff)
    customer_page = customer.get(f"/invoices/{number}").get_data(as_text=True)
    for page in (admin_page, customer_page):
        assert "invoicegnp.png" in page and "Quote été.pdf" in page
        assert not any(char in page for char in "\u202e\u2066\u2069\u200f\u061c\x01")

    staff_download = staff.get(f"/admin/invoices/{invoice_id}/attachments/{ids[0]}")
    assert staff_download.headers["Content-Disposition"] == 'attachment; filename="x.pdf"'
    unicode_download = customer.get(f"/invoices/{number}/attachments/{ids[2]}")
    assert unicode_download.headers["Content-Disposition"] == (
        "attachment; filename=\"Quote_t_.pdf\"; filename*=UTF-8''Quote%20%C3%A9t%C3%A9.pdf"
    )
    archive = zipfile.ZipFile(io.BytesIO(customer.get(f"/invoices/{number}/download").data))
    assert {"x.pdf", "invoicegnp.png", "letter.doc", "budget.xls"} <= set(archive.namelist())


def test_a_name_stored_before_the_rule_is_cleaned_when_served(app, staff, invoice_id):
    with app.app_context():
        invoice = db.session.get(Invoice, invoice_id)
        row = InvoiceAttachment(
            merchant_id=invoice.merchant_id,
            invoice_id=invoice.id,
            filename="report\u202efdp.exe",
            content_type="application/pdf",
            size=12,
            data=b"%PDF-1.7\n...",
        )
        db.session.add(row)
        db.session.commit()
        attachment_id, number = row.id, invoice.number
    download = customer_client(app, staff).get(f"/invoices/{number}/attachments/{attachment_id}")
    assert download.headers["Content-Disposition"] == 'attachment; filename="reportfdp.pdf"'
    page = staff.get(f"/admin/invoices/{invoice_id}").get_data(as_text=True)
    assert "reportfdp.pdf" in page and "\u202e" not in page


def test_other_compound_files_such_as_installers_are_refused(app, staff, invoice_id):
    response = attach(staff, invoice_id, legacy_office("SummaryInformation"), "setup.doc")
    assert response.status_code == 422
    with app.app_context():
        assert db.session.scalar(select(InvoiceAttachment)) is None


def test_ways_to_pay_per_invoice(app, staff, invoice_id):
    with app.app_context():
        invoice = db.session.get(Invoice, invoice_id)
        payment_settings.set_provider_account(
            invoice.merchant, "mollie", enabled=True, api_key="test_abcdefghijklmnopq"
        )
        db.session.commit()
        assert payment_choices.offered_providers(invoice) == ["mollie"]
    detail = f"/admin/invoices/{invoice_id}"
    page = staff.get(detail).get_data(as_text=True)
    assert 'name="provider" value="mollie" checked' in page and 'name="bank_transfer" value="1" checked' in page
    # Bank transfer only.
    assert staff.post(f"{detail}/payment-methods", {"bank_transfer": "1"}, page=detail).status_code == 303
    with app.app_context():
        invoice = db.session.get(Invoice, invoice_id)
        assert payment_choices.offered_providers(invoice) == [] and payment_choices.offers_bank_transfer(invoice)
    # Online only.
    staff.post(f"{detail}/payment-methods", {"provider": "mollie"}, page=detail)
    with app.app_context():
        invoice = db.session.get(Invoice, invoice_id)
        assert payment_choices.offered_providers(invoice) == ["mollie"]
        assert not payment_choices.offers_bank_transfer(invoice)
    page = staff.get(detail).get_data(as_text=True)
    assert 'name="provider" value="mollie" checked' in page and 'name="bank_transfer" value="1">' in page
    bogus = staff.post(f"{detail}/payment-methods", {"provider": "paypal"}, page=detail, follow_redirects=True)
    assert "Unknown provider" in bogus.get_data(as_text=True)


def test_staff_turn_bank_transfer_off_for_one_invoice(app, staff):
    """Without any provider the transfer is the way to pay; staff can still take it off one invoice."""
    with app.app_context():
        merchant = db.session.get(Customer, staff.customer_id).merchant
        merchant.iban, merchant.bic = "BE68539007547034", "GKCCBEBB"
        invoice = make_invoice(db.session.get(Customer, staff.customer_id), due_date=date(2099, 1, 31))
        other = make_invoice(db.session.get(Customer, staff.customer_id), due_date=date(2099, 1, 31))
        db.session.commit()
        invoice_id, number, other_number = invoice.id, invoice.number, other.number
        reference = format_reference(invoice.payment_reference)
        with app.test_request_context():
            link = make_portal_link(db.session.get(Customer, staff.customer_id)).url
    detail = f"/admin/invoices/{invoice_id}"
    page = staff.get(detail).get_data(as_text=True)
    assert f'data-testid="payment-reference">{reference}<' in page
    assert 'name="bank_transfer" value="1" checked> By bank transfer to BE68 5390 0754 7034' in page
    assert "No payment provider is enabled" in page

    customer = app.test_client()
    customer.get(link.split("portal.test", 1)[1])
    assert 'data-testid="bank-transfer"' in customer.get(f"/invoices/{number}").get_data(as_text=True)

    assert staff.post(f"{detail}/payment-methods", {}, page=detail).status_code == 303

    assert 'data-testid="bank-transfer"' not in customer.get(f"/invoices/{number}").get_data(as_text=True)
    # Only that invoice.
    assert 'data-testid="bank-transfer"' in customer.get(f"/invoices/{other_number}").get_data(as_text=True)
    assert 'name="bank_transfer" value="1">' in staff.get(detail).get_data(as_text=True)


def test_staff_choose_the_payment_methods_of_one_invoice(app, staff, invoice_id):
    with app.app_context():
        invoice = db.session.get(Invoice, invoice_id)
        payment_settings.set_provider_account(
            invoice.merchant, "mollie", enabled=True, api_key="test_abcdefghijklmnopq", methods=["card", "bancontact"]
        )
        db.session.commit()
    detail = f"/admin/invoices/{invoice_id}"
    page = staff.get(detail).get_data(as_text=True)
    # Only what the Mollie account has on can be offered; both ticked by default.
    assert 'name="method" value="card" checked' in page and 'name="method" value="bancontact" checked' in page
    assert 'value="ideal"' not in page
    form = {"provider": "mollie", "bank_transfer": "1", "methods_shown": "1", "method": ["bancontact"]}
    assert staff.post(f"{detail}/payment-methods", form, page=detail).status_code == 303
    with app.app_context():
        invoice = db.session.get(Invoice, invoice_id)
        assert payment_choices.checkout_methods(invoice, "mollie") == ["bancontact"]
    page = staff.get(detail).get_data(as_text=True)
    assert 'name="method" value="card">' in page and 'name="method" value="bancontact" checked' in page
    # Settings → Payment providers records what the account has on.
    settings = staff.get("/admin/settings/payments").get_data(as_text=True)
    assert 'name="mollie-methods" value="card" checked' in settings
    assert 'name="mollie-methods" value="sepa_debit"' not in settings  # Mollie: only on mandates

"""Exports for the accountant: CSV of invoices, credit notes and payments of a period, and a zip of the documents."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date

import time_machine

from portal.extensions import db
from portal.models import Customer
from portal.services import customers, invoices
from tests.factories import credit, line, make_company_customer, make_invoice, pay


def _rows(response) -> list[dict[str, str]]:
    text = response.get_data().decode("utf-8")
    assert text.startswith("\ufeff")  # spreadsheets read it as UTF-8
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))


@time_machine.travel(date(2026, 4, 10), tick=False)
def test_csv_exports_of_a_period_read_the_documents_as_issued(app, staff, rival):
    staff.sign_in_again()
    with app.app_context():
        jane = db.session.get(Customer, staff.customer_id)
        march = make_invoice(
            jane,
            issue_date=date(2026, 3, 2),
            due_date=date(2026, 4, 1),
            lines=[line(unit_amount=100000, tax_rate="21")],
        )
        make_invoice(jane, issue_date=date(2026, 2, 27), due_date=date(2026, 3, 29))  # before the period
        make_invoice(
            jane, issue_date=date(2026, 3, 5), due_date=date(2026, 4, 28), finalize=False
        )  # a draft: never exported
        void = make_invoice(jane, issue_date=date(2026, 3, 20), due_date=date(2026, 4, 28))
        invoices.void_invoice(void)
        credit(march, 10000, date(2026, 3, 10), reason='=HYPERLINK("http://evil.example")')
        pay(march, 50000, date(2026, 3, 15))
        # The customer's name changes after issue: the export keeps the name the documents carry.
        customers.update_customer(jane, name="Jane Cooper-Smith")
        make_invoice(
            db.session.get(Customer, rival.customer_id), issue_date=date(2026, 3, 3), due_date=date(2026, 4, 28)
        )  # another merchant's
        db.session.commit()
        march_number, void_number = march.number, void.number

    period = "from=2026-03-01&to=2026-03-31"
    rows = _rows(staff.get(f"/admin/exports/invoices.csv?{period}"))
    assert [(row["number"], row["status"]) for row in rows] == [(march_number, "open"), (void_number, "void")]
    first = rows[0]
    assert (first["customer"], first["net"], first["tax"], first["total"]) == (
        "Jane Cooper",
        "1000.00",
        "210.00",
        "1210.00",
    )
    assert first["issue_date"] == "2026-03-02" and first["due_date"] == "2026-04-01"

    [note] = _rows(staff.get(f"/admin/exports/credit-notes.csv?{period}"))
    assert note["invoice_number"] == march_number and note["total"] == "100.00"
    assert note["reason"] == '\'=HYPERLINK("http://evil.example")'  # shown, never run

    [payment] = _rows(staff.get(f"/admin/exports/payments.csv?{period}"))
    assert (payment["paid_on"], payment["amount"], payment["method"]) == ("2026-03-15", "500.00", "bank_transfer")
    response = staff.get(f"/admin/exports/payments.csv?{period}")
    assert response.headers["Content-Type"].startswith("text/csv")
    assert 'attachment; filename="payments-2026-03-01-2026-03-31.csv"' in response.headers["Content-Disposition"]


def test_a_bad_period_is_a_clear_error(staff):
    response = staff.get("/admin/exports/invoices.csv?from=2026-13-01&to=2026-03-31")
    assert response.status_code == 400
    assert "&#39;from&#39; must be a date written YYYY-MM-DD" in response.get_data(as_text=True)
    backwards = staff.get("/admin/exports/documents.zip?from=2026-03-31&to=2026-03-01")
    assert backwards.status_code == 400 and "before" in backwards.get_data(as_text=True)
    assert staff.get("/admin/exports/invoices.csv").status_code == 400
    assert staff.get("/admin/exports/secrets.csv?from=2026-01-01&to=2026-01-31").status_code == 404


@time_machine.travel(date(2026, 4, 10), tick=False)
def test_the_documents_zip_holds_each_pdf_and_the_e_invoices(app, staff):
    staff.sign_in_again()
    with app.app_context():
        jane = db.session.get(Customer, staff.customer_id)
        company = make_company_customer(jane.merchant)  # on Peppol: its documents have a UBL
        plain = make_invoice(jane, issue_date=date(2026, 3, 2), due_date=date(2026, 4, 28))
        peppol = make_invoice(company, issue_date=date(2026, 3, 3), due_date=date(2026, 4, 28))
        note = credit(peppol, 10000, date(2026, 3, 4))
        db.session.commit()
        names = {
            f"invoice-{plain.number}.pdf",
            f"invoice-{peppol.number}.pdf",
            f"invoice-{peppol.number}.xml",
            f"credit-note-{note.number}.pdf",
            f"credit-note-{note.number}.xml",
        }
    response = staff.get("/admin/exports/documents.zip?from=2026-03-01&to=2026-03-31")
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.get_data()))
    assert set(archive.namelist()) == names
    for name in names:
        data = archive.read(name)
        assert data.startswith(b"%PDF") if name.endswith(".pdf") else b"<Invoice" in data or b"<CreditNote" in data


def test_the_exports_page_offers_each_export_for_a_period(staff):
    page = staff.get("/admin/exports").get_data(as_text=True)
    for path in ("/admin/exports/invoices.csv", "/admin/exports/credit-notes.csv", "/admin/exports/payments.csv",
                 "/admin/exports/documents.zip"):  # fmt: skip
        assert path in page
    assert 'type="date" name="from"' in page and 'type="date" name="to"' in page


def test_exports_need_a_signed_in_staff_member(client):
    response = client.get("/admin/exports/invoices.csv?from=2026-01-01&to=2026-12-31")
    assert response.status_code in (302, 303) and "/admin/login" in response.headers["Location"]

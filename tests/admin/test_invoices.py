"""The draft editor, the invoice list and every lifecycle action, through the admin's forms."""

from __future__ import annotations

from datetime import date

import time_machine
from sqlalchemy import select

from portal.extensions import db
from portal.models import CreditNote, Customer, Invoice, Payment
from portal.models.mail import OutboxMessage
from tests.factories import line, make_invoice, run_jobs

EDITOR = "/admin/invoices/new"


def draft_form(customer_id: int, **overrides) -> dict:
    """Two lines (21 % and 6 %), a line discount and a 10 % invoice discount."""
    data = {
        "customer_id": str(customer_id),
        "currency": "EUR",
        "issue_date": "2026-03-01",
        "due_date": "2026-03-31",
        "lines-0-product_id": "",
        "lines-0-description": "Website design",
        "lines-0-quantity": "2",
        "lines-0-unit_price": "500.00",
        "lines-0-tax_rate": "21",
        "lines-0-discount_percent": "0",
        "lines-1-product_id": "",
        "lines-1-description": "Printed brochure",
        "lines-1-quantity": "100",
        "lines-1-unit_price": "1.20",
        "lines-1-tax_rate": "6",
        "lines-1-discount_percent": "50",
        # The editor always sends a spare empty row; it is ignored.
        "lines-2-product_id": "",
        "lines-2-description": "",
        "lines-2-quantity": "1",
        "lines-2-unit_price": "",
        "lines-2-tax_rate": "0",
        "lines-2-discount_percent": "0",
        "discount_percent": "10",
        "notes": "Thanks!",
        "terms": "",
    }
    data.update(overrides)
    return data


def _only_invoice(app, merchant_id: int) -> Invoice:
    return db.session.scalar(select(Invoice).where(Invoice.merchant_id == merchant_id))


@time_machine.travel(date(2026, 3, 5), tick=False)
def test_create_a_draft_with_two_lines_and_a_discount(app, staff):
    staff.sign_in_again()
    response = staff.post(EDITOR, draft_form(staff.customer_id), page=EDITOR)
    assert response.status_code == 303, response.get_data(as_text=True)
    with app.app_context():
        invoice = _only_invoice(app, staff.merchant_id)
        assert invoice.status == "draft"
        assert [line.net_amount for line in invoice.lines] == [100000, 6000]
        # 10 % off each rate: 21 % on 900.00 = 189.00; 6 % on 54.00 = 3.24.
        assert (invoice.discount_amount, invoice.net_amount, invoice.tax_amount, invoice.total) == (
            10600,
            95400,
            19224,
            114624,
        )
        invoice_id = invoice.id
    html = staff.get(f"/admin/invoices/{invoice_id}").get_data(as_text=True)
    assert "€1,146.24" in html and "Draft" in html


def test_live_totals_come_from_the_domain(staff):
    response = staff.post("/admin/invoices/totals", draft_form(staff.customer_id), page=EDITOR)
    data = response.get_json()
    assert data["ok"] is True
    assert data["total"] == "€1,146.24"
    assert data["lines"] == ["€1,000.00", "€60.00", ""]
    assert [tax["rate"] for tax in data["taxes"]] == ["6", "21"]

    bad = staff.post(
        "/admin/invoices/totals", draft_form(staff.customer_id, **{"lines-0-unit_price": "abc"}), page=EDITOR
    )
    assert bad.get_json()["ok"] is False


def test_the_editor_refuses_bad_input_with_the_domain_message(app, staff):
    response = staff.post(EDITOR, draft_form(staff.customer_id, due_date="2026-02-01"), page=EDITOR)
    assert response.status_code == 422
    assert "The due date cannot be before the issue date" in response.get_data(as_text=True)
    response = staff.post(EDITOR, draft_form(staff.customer_id, **{"lines-0-quantity": "1.2345"}), page=EDITOR)
    assert response.status_code == 422
    assert "at most 3 decimals" in response.get_data(as_text=True)
    with app.app_context():
        assert _only_invoice(app, staff.merchant_id) is None


def test_edit_then_delete_a_draft(app, staff):
    staff.post(EDITOR, draft_form(staff.customer_id), page=EDITOR)
    with app.app_context():
        invoice_id = _only_invoice(app, staff.merchant_id).id
    edit = f"/admin/invoices/{invoice_id}/edit"
    page = staff.get(edit).get_data(as_text=True)
    assert 'value="Printed brochure"' in page
    form = draft_form(staff.customer_id, discount_percent="0")
    form = {k: v for k, v in form.items() if not k.startswith("lines-1")}
    assert staff.post(edit, form, page=edit).status_code == 303
    with app.app_context():
        invoice = db.session.get(Invoice, invoice_id)
        assert (len(invoice.lines), invoice.total) == (1, 121000)

    assert staff.post(f"/admin/invoices/{invoice_id}/delete").status_code == 303
    with app.app_context():
        assert db.session.get(Invoice, invoice_id) is None


@time_machine.travel(date(2026, 3, 5), tick=False)
def test_finalize_and_send_queues_the_mail(app, staff):
    staff.sign_in_again()
    staff.post(EDITOR, draft_form(staff.customer_id), page=EDITOR)
    with app.app_context():
        invoice_id = _only_invoice(app, staff.merchant_id).id
    response = staff.post(f"/admin/invoices/{invoice_id}/finalize", {"send": "1"})
    assert response.status_code == 303
    with app.app_context():
        invoice = db.session.get(Invoice, invoice_id)
        assert (invoice.status, invoice.number) == ("open", "2026-0001")
        run_jobs()  # the worker renders the PDF and composes the mail
        mails = list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.invoice_id == invoice_id)))
        assert [(m.kind, m.to_address) for m in mails] == [("invoice", "jane@customer.example")]

    # Finalized invoices are locked: the editor sends staff back, finalizing again is a conflict.
    assert staff.get(f"/admin/invoices/{invoice_id}/edit").status_code == 303
    again = staff.post(f"/admin/invoices/{invoice_id}/finalize", follow_redirects=True)
    assert "cannot become open" in again.get_data(as_text=True)
    assert staff.post(f"/admin/invoices/{invoice_id}/delete", follow_redirects=True).status_code == 200
    with app.app_context():
        assert db.session.get(Invoice, invoice_id) is not None


def test_finalize_only_sends_nothing_then_test_copy_and_resend(app, staff):
    staff.post(EDITOR, draft_form(staff.customer_id), page=EDITOR)
    with app.app_context():
        invoice_id = _only_invoice(app, staff.merchant_id).id
    staff.post(f"/admin/invoices/{invoice_id}/finalize")
    staff.post(f"/admin/invoices/{invoice_id}/send", {"test": "1"})
    staff.post(f"/admin/invoices/{invoice_id}/send")
    with app.app_context():
        run_jobs()
        mails = list(
            db.session.scalars(
                select(OutboxMessage).where(OutboxMessage.invoice_id == invoice_id).order_by(OutboxMessage.id)
            )
        )
        assert [(m.kind, m.to_address) for m in mails] == [
            ("invoice_test", staff.email),
            ("invoice", "jane@customer.example"),
        ]
        assert mails[0].subject.startswith("[TEST]")


def test_a_draft_cannot_be_sent(app, staff):
    staff.post(EDITOR, draft_form(staff.customer_id), page=EDITOR)
    with app.app_context():
        invoice_id = _only_invoice(app, staff.merchant_id).id
    html = staff.post(f"/admin/invoices/{invoice_id}/send", follow_redirects=True).get_data(as_text=True)
    assert "A draft cannot be sent" in html


def _open_invoice(app, staff) -> int:
    with app.app_context():
        customer = db.session.get(Customer, staff.customer_id)
        invoice = make_invoice(customer, lines=[line(unit_amount=100000)])
        db.session.commit()
        return invoice.id


@time_machine.travel(date(2026, 3, 2), tick=False)
def test_record_payments_until_paid(app, staff):
    staff.sign_in_again()
    invoice_id = _open_invoice(app, staff)
    detail = f"/admin/invoices/{invoice_id}"
    html = staff.get(detail).get_data(as_text=True)
    assert "€1,049.86" in html  # the SPEC's vector: 30 days late, interest 9.86 and a 40.00 fee

    too_much = staff.post(
        f"{detail}/payments", {"amount": "1000.01", "paid_on": "2026-03-01", "method": "bank_transfer"}, page=detail
    )
    assert too_much.status_code == 422
    future = staff.post(f"{detail}/payments", {"amount": "10", "paid_on": "2026-03-09", "method": "cash"}, page=detail)
    assert future.status_code == 422 and "future" in future.get_data(as_text=True)

    assert (
        staff.post(
            f"{detail}/payments", {"amount": "400", "paid_on": "2026-02-15", "method": "bank_transfer"}, page=detail
        ).status_code
        == 303
    )
    assert (
        staff.post(
            f"{detail}/payments",
            {"amount": "600.00", "paid_on": "2026-03-01", "method": "cash", "reference": "till"},
            page=detail,
        ).status_code
        == 303
    )
    with app.app_context():
        invoice = db.session.get(Invoice, invoice_id)
        assert (invoice.status, invoice.paid_on) == ("paid", date(2026, 3, 1))
        assert {p.recorded_by_id for p in db.session.scalars(select(Payment))} != {None}
    closed = staff.post(f"{detail}/payments", {"amount": "1", "paid_on": "2026-03-01", "method": "cash"}, page=detail)
    assert closed.status_code == 409  # only an open invoice takes payments
    assert "Record a payment" not in staff.get(detail).get_data(as_text=True)


@time_machine.travel(date(2026, 3, 2), tick=False)
def test_credit_notes_and_void(app, staff):
    staff.sign_in_again()
    invoice_id = _open_invoice(app, staff)
    detail = f"/admin/invoices/{invoice_id}"
    over = staff.post(
        f"{detail}/credit-notes", {"description": "Too much", "amount": "1000.01", "tax_rate": "0"}, page=detail
    )
    assert over.status_code == 422
    ok = staff.post(
        f"{detail}/credit-notes",
        {"description": "Refund", "amount": "200", "tax_rate": "0", "issue_date": "2026-01-20"},
        page=detail,
    )
    assert ok.status_code == 303
    with app.app_context():
        note = db.session.scalar(select(CreditNote).where(CreditNote.invoice_id == invoice_id))
        assert (note.number, note.total) == ("CN-2026-0001", 20000)
    assert "€847.89" in staff.get(detail).get_data(as_text=True)  # the SPEC's credit-note vector

    assert staff.post(f"{detail}/void").status_code == 303
    with app.app_context():
        assert db.session.get(Invoice, invoice_id).status == "void"
    again = staff.post(f"{detail}/void", follow_redirects=True).get_data(as_text=True)
    assert "cannot become void" in again


def test_list_filters_by_status_dates_and_search(app, staff):
    with app.app_context():
        customer = db.session.get(Customer, staff.customer_id)
        early = make_invoice(customer, issue_date=date(2025, 6, 1), due_date=date(2025, 7, 1))
        late = make_invoice(customer, issue_date=date(2026, 1, 1), due_date=date(2099, 1, 1))
        make_invoice(customer, finalize=False)
        db.session.commit()
        early_number, late_number = early.number, late.number
    overdue = staff.get("/admin/invoices?status=overdue").get_data(as_text=True)
    assert early_number in overdue and late_number not in overdue
    drafts = staff.get("/admin/invoices?status=draft").get_data(as_text=True)
    assert "Draft #" in drafts and early_number not in drafts
    dated = staff.get("/admin/invoices?from=2025-12-01&to=2026-12-31").get_data(as_text=True)
    assert late_number in dated and early_number not in dated
    searched = staff.get(f"/admin/invoices?q={early_number}").get_data(as_text=True)
    assert early_number in searched and late_number not in searched
    assert staff.get("/admin/invoices?q=jane").get_data(as_text=True).count("Jane Cooper") == 3


def test_previews_page_pdf_and_email(app, staff):
    staff.post(EDITOR, draft_form(staff.customer_id), page=EDITOR)
    with app.app_context():
        invoice_id = _only_invoice(app, staff.merchant_id).id
    assert staff.get(f"/admin/invoices/{invoice_id}/preview").status_code == 200
    page = staff.get(f"/admin/invoices/{invoice_id}/preview/page")
    assert page.status_code == 200 and "Website design" in page.get_data(as_text=True)
    pdf = staff.get(f"/admin/invoices/{invoice_id}/preview.pdf")
    assert pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    mail = staff.get(f"/admin/invoices/{invoice_id}/preview/email")
    assert "Jane Cooper" in mail.get_data(as_text=True)
    assert "frame-ancestors 'self'" in mail.headers["Content-Security-Policy"]
    assert "script-src" not in mail.headers["Content-Security-Policy"]  # default-src 'none' forbids it
    with app.app_context():
        assert db.session.scalar(select(OutboxMessage)) is None  # a preview sends nothing


def test_copy_link_of_an_invoice(app, staff):
    invoice_id = _open_invoice(app, staff)
    html = staff.post(f"/admin/invoices/{invoice_id}/link", page=f"/admin/invoices/{invoice_id}").get_data(as_text=True)
    assert "http://portal.test/l/" in html


def test_a_refused_line_is_named_and_marked(staff):
    form = draft_form(staff.customer_id, **{"lines-1-tax_rate": "5.555"})
    response = staff.post(EDITOR, form, page=EDITOR)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Line 2: The tax rate allows at most 2 decimals" in html


def test_the_comment_inbox_counts_open_comments_in_the_navigation(app, staff):
    from portal.services.comments import add_customer_comment

    with app.app_context():
        customer = db.session.get(Customer, staff.customer_id)
        invoice = make_invoice(customer)
        add_customer_comment(invoice, customer, "Hello?")
        db.session.commit()
    assert 'aria-label="1 open"' in staff.get("/admin/invoices").get_data(as_text=True)


def test_prices_with_more_decimals_than_the_currency_are_refused(staff):
    response = staff.post(EDITOR, draft_form(staff.customer_id, **{"lines-0-unit_price": "500.005"}), page=EDITOR)
    assert response.status_code == 422
    assert "Line 1: EUR amounts have at most 2 decimals" in response.get_data(as_text=True)
    yen = staff.post(EDITOR, draft_form(staff.customer_id, currency="JPY"), page=EDITOR)
    assert "Line 2: JPY amounts have at most 0 decimals" in yen.get_data(as_text=True)  # 500.00 is fine, 1.20 is not


@time_machine.travel(date(2026, 3, 5), tick=False)
def test_invoice_ready_for_payment_mails_each_finalized_invoice_once(app, staff):
    staff.sign_in_again()
    page = "/admin/settings/email-templates"
    assert 'name="enabled"' in staff.get(page).get_data(as_text=True)
    assert staff.post("/admin/settings/ready-notification", {"enabled": "y"}, page=page).status_code == 303

    def mails_of(invoice_id):
        with app.app_context():
            run_jobs()
            return [
                (m.kind, m.to_address)
                for m in db.session.scalars(select(OutboxMessage).where(OutboxMessage.invoice_id == invoice_id))
            ]

    staff.post(EDITOR, draft_form(staff.customer_id), page=EDITOR)
    with app.app_context():
        first = _only_invoice(app, staff.merchant_id).id
    staff.post(f"/admin/invoices/{first}/finalize")  # "finalize only" still mails: the merchant asked for it
    assert mails_of(first) == [("invoice", "jane@customer.example")]

    staff.post(EDITOR, draft_form(staff.customer_id), page=EDITOR)
    with app.app_context():
        second = db.session.scalar(select(Invoice.id).where(Invoice.status == "draft"))
    staff.post(f"/admin/invoices/{second}/finalize", {"send": "1"})  # never twice
    assert mails_of(second) == [("invoice", "jane@customer.example")]

    # Switched off again, finalizing mails nothing.
    staff.post("/admin/settings/ready-notification", {}, page=page)
    staff.post(EDITOR, draft_form(staff.customer_id), page=EDITOR)
    with app.app_context():
        third = db.session.scalar(select(Invoice.id).where(Invoice.status == "draft"))
    staff.post(f"/admin/invoices/{third}/finalize")
    assert mails_of(third) == []


@time_machine.travel(date(2026, 3, 5), tick=False)
def test_with_ready_mail_on_the_page_says_finalizing_mails_and_offers_finalizing_without_mailing(app, staff):
    staff.sign_in_again()
    page = "/admin/settings/email-templates"
    assert staff.post("/admin/settings/ready-notification", {"enabled": "y"}, page=page).status_code == 303
    staff.post(EDITOR, draft_form(staff.customer_id), page=EDITOR)
    with app.app_context():
        draft = _only_invoice(app, staff.merchant_id).id
    detail = staff.get(f"/admin/invoices/{draft}").get_data(as_text=True)
    # No button finalizes silently while it mails: the one that does not mail says so.
    assert "Finalize only" not in detail
    assert "Finalize without mailing" in detail and "jane@customer.example is not told" in detail

    staff.post(f"/admin/invoices/{draft}/finalize", {"send": "0"}, page=f"/admin/invoices/{draft}")
    with app.app_context():
        run_jobs()
        invoice = db.session.get(Invoice, draft)
        assert invoice.status == "open"
        assert db.session.scalars(select(OutboxMessage).where(OutboxMessage.invoice_id == draft)).all() == []
    # Sent later, by hand, once.
    staff.post(f"/admin/invoices/{draft}/send", {}, page=f"/admin/invoices/{draft}")
    with app.app_context():
        run_jobs()
        kinds = db.session.scalars(select(OutboxMessage.kind).where(OutboxMessage.invoice_id == draft)).all()
        assert kinds == ["invoice"]


def test_a_bad_date_or_an_overlong_search_in_the_invoice_list_is_said_not_ignored(app, staff):
    with app.app_context():
        make_invoice(db.session.get(Customer, staff.customer_id))
        db.session.commit()
    response = staff.get("/admin/invoices?from=2026-02-30&to=2026-03-31")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "“2026-02-30” is not a date (issued from): write it as YYYY-MM-DD." in page
    long = staff.get("/admin/invoices?q=" + "x" * 150)
    assert long.status_code == 400 and "at most 100 characters; this one has 150" in long.get_data(as_text=True)
    assert staff.get("/admin/invoices?from=2026-01-01").status_code == 200

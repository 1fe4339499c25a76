"""Staff set the reminder schedule and its wording, pause reminders, resolve disputes and read the timeline."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from portal.extensions import db
from portal.models import Customer, Invoice, Merchant
from portal.models.reminder import ReminderStep
from portal.services.disputes import open_dispute
from tests.factories import make_invoice, run_jobs


def test_staff_set_the_schedule_and_the_b2c_preset(app, staff):
    page = staff.get("/admin/settings/reminders")
    assert page.status_code == 200 and "Belgian B2C preset" in page.text
    response = staff.post(
        "/admin/settings/reminders",
        {
            "enabled": "y",
            "step_1": "30",
            "step_2": "-3",
            "step_3": "1",
            "step_4": "",
            "step_5": "14",
            "consumer_preset": "y",
            "legal_interest_rate": "4.5",
        },
        page="/admin/settings/reminders",
    )
    assert response.status_code == 303
    with app.app_context():
        merchant = db.session.get(Merchant, staff.merchant_id)
        assert merchant.reminders_enabled and merchant.consumer_preset
        assert merchant.legal_interest_rate == Decimal("4.5")
        steps = db.session.query(ReminderStep).filter_by(merchant_id=staff.merchant_id).all()
        assert sorted(step.offset_days for step in steps) == [-3, 1, 14, 30]
    # Six steps are too many; a preset without a step after the due date is refused.
    refused = staff.post(
        "/admin/settings/reminders",
        {"enabled": "y", "step_1": "-3", "consumer_preset": "y", "legal_interest_rate": "4.5"},
        page="/admin/settings/reminders",
    )
    assert refused.status_code == 422 and "requires that first reminder" in refused.text


def test_step_wording_is_checked_for_placeholders(app, staff):
    staff.post(
        "/admin/settings/reminders",
        {"enabled": "y", "step_1": "7", "legal_interest_rate": "0"},
        page="/admin/settings/reminders",
    )
    with app.app_context():
        step_id = db.session.query(ReminderStep.id).filter_by(merchant_id=staff.merchant_id).scalar()
    path = f"/admin/settings/reminders/{step_id}"
    page = staff.get(path)
    assert "is now {days_late} days overdue" in page.text  # the built-in wording, until replaced
    bad = staff.post(
        path, {"language": "nl", "nl-subject": "Herinnering", "nl-body": "Boete {fee}\n\n{link}"}, page=path
    )
    assert bad.status_code == 422 and "Unknown placeholder {fee}" in bad.text
    good = staff.post(
        path,
        {"language": "nl", "nl-subject": "Herinnering {number}", "nl-body": "Nog {amount_due}.\n\n{link}"},
        page=path,
    )
    assert good.status_code == 303
    with app.app_context():
        step = db.session.get(ReminderStep, step_id)
        assert step.templates == {"nl": {"subject": "Herinnering {number}", "body": "Nog {amount_due}.\n\n{link}"}}
    # Another merchant's step is not found.
    assert staff.get(f"/admin/settings/reminders/{step_id + 1000}").status_code == 404


def test_send_reads_send_until_sent_then_resend_and_reminders_pause(app, staff, time_machine):
    time_machine.move_to("2026-01-10 09:00", tick=False)
    staff.sign_in_again()
    with app.app_context():
        invoice = make_invoice(db.session.get(Customer, staff.customer_id))
        db.session.commit()
        invoice_id = invoice.id
    path = f"/admin/invoices/{invoice_id}"
    page = staff.get(path).text
    assert ">Send<" in page and ">Resend<" not in page
    assert staff.post(f"{path}/send", page=path).status_code == 303
    page = staff.get(path).text
    assert ">Resend<" in page and ">Send<" not in page

    assert staff.post(f"{path}/reminders", {"paused": "1"}, page=path).status_code == 303
    page = staff.get(path).text
    assert "Reminders are paused for this invoice" in page and "Resume reminders" in page
    with app.app_context():
        assert db.session.get(Invoice, invoice_id).reminders_paused


def test_staff_see_the_dispute_resolve_it_and_read_the_timeline(app, staff, time_machine):
    time_machine.move_to("2026-02-10 09:00", tick=False)
    staff.sign_in_again()
    with app.app_context():
        customer = db.session.get(Customer, staff.customer_id)
        invoice = make_invoice(customer)
        open_dispute(invoice, customer, "Wrong hours billed.")
        db.session.commit()
        run_jobs()
        invoice_id = invoice.id
    path = f"/admin/invoices/{invoice_id}"
    page = staff.get(path).text
    assert "Disputed by the customer since 2026-02-10" in page and "Wrong hours billed." in page
    assert "Disputed 2026-02-10 – today" in page
    assert "Finalized as" in page and "Disputed by the customer" in page
    assert staff.post(f"{path}/resolve-dispute", page=path).status_code == 303
    page = staff.get(path).text
    assert "Resolve dispute" not in page and "Dispute resolved" in page
    with app.app_context():
        assert db.session.get(Invoice, invoice_id).disputes[0].resolved_on == date(2026, 2, 10)


def test_the_customer_form_marks_a_consumer_and_pauses_reminders(app, staff):
    path = f"/admin/customers/{staff.customer_id}/edit"
    page = staff.get(path)
    assert page.status_code == 200 and "Consumer: a private person" in page.text
    response = staff.post(
        path,
        {
            "name": "Jane Cooper",
            "email": "jane@customer.example",
            "language": "en",
            "consumer": "y",
            "reminders_paused": "y",
        },
        page=path,
    )
    assert response.status_code == 303, response.text
    with app.app_context():
        customer = db.session.get(Customer, staff.customer_id)
        assert customer.consumer and customer.reminders_paused

"""Staff mail a statement (admin and API); a monthly statement goes out once per customer and month."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select

from portal.extensions import db
from portal.jobs.schedule import DUTIES, run_schedule
from portal.models import Customer
from portal.models.mail import OutboxMessage
from portal.models.statement import StatementRun
from tests.api.conftest import Api
from tests.factories import make_api_key, make_customer, make_invoice, make_merchant, pay, run_jobs


def statement_mails() -> list[OutboxMessage]:
    return list(
        db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "statement").order_by(OutboxMessage.id))
    )


def test_the_api_answers_the_figures_and_mails_the_pdf_when_asked(ctx, client, time_machine):
    time_machine.move_to(datetime(2026, 3, 2, 12, tzinfo=UTC), tick=False)
    merchant = make_merchant()
    customer = make_customer(merchant, language="fr")
    invoice = make_invoice(customer)
    pay(invoice, 40000, date(2026, 2, 15))
    api = Api(client, make_api_key(merchant))
    db.session.commit()

    figures = api.post(f"/customers/{customer.id}/statements", {"from": "2026-01-01", "to": "2026-03-02"})

    assert figures.status_code == 200
    [account] = figures.json["accounts"]
    assert (figures.json["from"], figures.json["to"], figures.json["sent"]) == ("2026-01-01", "2026-03-02", 0)
    assert [(row["kind"], row["amount"], row["balance"]) for row in account["lines"]] == [
        ("invoice", 100000, 100000),
        ("payment", -40000, 60000),
    ]
    outstanding = api.get(f"/invoices/{invoice.id}").json["outstanding"]
    assert account["closing_balance"] == outstanding == account["open_items"][0]["outstanding"]
    assert account["amount_due"] > outstanding  # late charges apart, due today
    assert statement_mails() == []

    sent = api.post(
        f"/customers/{customer.id}/statements",
        {"from": "2026-01-01", "to": "2026-03-02", "send": True},
        headers={"Idempotency-Key": "statement-1"},
    )
    again = api.post(
        f"/customers/{customer.id}/statements",
        {"from": "2026-01-01", "to": "2026-03-02", "send": True},
        headers={"Idempotency-Key": "statement-1"},
    )

    assert sent.json["sent"] == 1 and again.json == sent.json
    [mail] = statement_mails()
    assert mail.to_address == customer.email
    assert mail.subject.startswith("Votre relevé de compte")
    [pdf] = [a for a in mail.attachments if a.content_type == "application/pdf"]
    assert pdf.filename == "statement-2026-01-01-2026-03-02.pdf" and pdf.data.startswith(b"%PDF")


def test_the_api_refuses_a_period_that_is_not_one(ctx, client):
    merchant = make_merchant()
    customer = make_customer(merchant)
    api = Api(client, make_api_key(merchant))
    other = make_customer(make_merchant("Rival"))
    db.session.commit()
    backwards = api.post(f"/customers/{customer.id}/statements", {"from": "2026-03-01", "to": "2026-01-01"})
    assert backwards.status_code == 422 and backwards.json["error"]["field"] == "from"
    assert (
        api.post(f"/customers/{customer.id}/statements", {"from": "2026-02-30", "to": "2026-03-01"}).status_code == 422
    )
    assert api.post(f"/customers/{other.id}/statements", {"from": "2026-01-01", "to": "2026-03-01"}).status_code == 404


def test_the_monthly_statement_goes_out_once_per_month(ctx, time_machine):
    time_machine.move_to(datetime(2026, 3, 1, 8, tzinfo=UTC), tick=False)
    merchant = make_merchant()
    subscribed = make_customer(merchant, name="Monthly")
    make_customer(merchant, name="Not subscribed")
    make_invoice(subscribed, issue_date=date(2026, 2, 3), due_date=date(2026, 3, 3))
    subscribed.monthly_statement = True
    db.session.commit()

    duty = {"monthly-statements": DUTIES["monthly-statements"]}
    assert run_schedule(datetime(2026, 3, 1, 8, tzinfo=UTC), duty) == ["monthly-statements"]
    run_jobs()
    # The next hour's run, and a second worker's, find February sent already.
    assert run_schedule(datetime(2026, 3, 1, 9, tzinfo=UTC), duty) == ["monthly-statements"]
    run_jobs()

    [mail] = statement_mails()
    assert mail.to_address == subscribed.email
    [pdf] = [a for a in mail.attachments if a.content_type == "application/pdf"]
    assert pdf.filename == "statement-2026-02-01-2026-02-28.pdf"
    assert [(run.customer_id, run.period) for run in db.session.scalars(select(StatementRun))] == [
        (subscribed.id, "2026-02")
    ]


def test_staff_mail_a_statement_and_switch_the_monthly_one_on(staff, app):
    page = staff.get(f"/admin/customers/{staff.customer_id}").get_data(as_text=True)
    assert "Statement of account" in page and "Mail statement" in page
    answer = staff.post(
        f"/admin/customers/{staff.customer_id}/statements",
        {"start": "2026-01-01", "end": "2026-02-28"},
        page=f"/admin/customers/{staff.customer_id}",
    )
    assert answer.status_code == 303
    switched = staff.post(
        f"/admin/customers/{staff.customer_id}/monthly-statement",
        {"monthly_statement": "y"},
        page=f"/admin/customers/{staff.customer_id}",
    )
    assert switched.status_code == 303
    with app.app_context():
        assert [mail.to_address for mail in statement_mails()] == ["jane@customer.example"]
        assert db.session.get(Customer, staff.customer_id).monthly_statement is True

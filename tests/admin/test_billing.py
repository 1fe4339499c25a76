"""Charges, drafting from charges, and the idempotent monthly billing run."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import time_machine
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Customer, Invoice
from portal.models.billing import BillingRun, Charge
from portal.models.job import Job
from portal.models.mail import OutboxMessage
from portal.services import billing, invoices
from tests.factories import make_customer, make_merchant, run_jobs


def _charge(staff, description: str, price: str, on: str = "2026-02-10"):
    detail = f"/admin/customers/{staff.customer_id}"
    return staff.post(
        f"{detail}/charges",
        {"description": description, "charged_on": on, "quantity": "2", "unit_price": price, "tax_rate": "21"},
        page=detail,
    )


def _charges(app, staff) -> dict[str, str]:
    with app.app_context():
        rows = db.session.scalars(select(Charge).where(Charge.customer_id == staff.customer_id))
        return {charge.description: charge.status for charge in rows}


def test_charges_drafted_returned_and_locked(app, staff):
    for name, price in (("Repair", "50"), ("Parts", "20.50"), ("Travel", "15")):
        assert _charge(staff, name, price).status_code == 303
    detail = f"/admin/customers/{staff.customer_id}"
    assert "Repair" in staff.get(detail).get_data(as_text=True)
    with app.app_context():
        ids = {c.description: c.id for c in db.session.scalars(select(Charge))}

    # The selected ones only.
    response = staff.post(
        f"{detail}/draft-from-charges", {"charge_id": [str(ids["Repair"]), str(ids["Parts"])]}, page=detail
    )
    assert response.status_code == 303
    assert _charges(app, staff) == {"Repair": "drafted", "Parts": "drafted", "Travel": "open"}
    with app.app_context():
        invoice = db.session.scalar(select(Invoice).where(Invoice.customer_id == staff.customer_id))
        assert [line.description for line in invoice.lines] == ["Repair", "Parts"]
        assert invoice.net_amount == 14100
        invoice_id = invoice.id

    # A drafted charge cannot go on a second invoice, nor be deleted.
    again = staff.post(
        f"{detail}/draft-from-charges", {"charge_id": str(ids["Repair"])}, page=detail, follow_redirects=True
    )
    assert "already on an invoice" in again.get_data(as_text=True)
    staff.post(f"/admin/charges/{ids['Repair']}/delete", page=detail)
    assert "Repair" in _charges(app, staff)

    # Deleting the draft returns them to open.
    assert staff.post(f"/admin/invoices/{invoice_id}/delete").status_code == 303
    assert _charges(app, staff) == {"Repair": "open", "Parts": "open", "Travel": "open"}

    # All open charges, then finalizing locks them.
    staff.post(f"{detail}/draft-from-charges", page=detail)
    with app.app_context():
        invoice = db.session.scalar(select(Invoice).where(Invoice.customer_id == staff.customer_id))
        assert len(invoice.lines) == 3
        invoice_id = invoice.id
    staff.post(f"/admin/invoices/{invoice_id}/finalize")
    assert set(_charges(app, staff).values()) == {"billed"}
    staff.post(f"/admin/charges/{ids['Travel']}/delete", page=detail)
    assert "Travel" in _charges(app, staff)


def test_open_charge_can_be_deleted(app, staff):
    _charge(staff, "Oops", "1")
    with app.app_context():
        charge_id = db.session.scalar(select(Charge.id))
    assert (
        staff.post(f"/admin/charges/{charge_id}/delete", page=f"/admin/customers/{staff.customer_id}").status_code
        == 303
    )
    assert _charges(app, staff) == {}


def test_no_open_charges_is_a_clear_message(staff):
    detail = f"/admin/customers/{staff.customer_id}"
    html = staff.post(f"{detail}/draft-from-charges", page=detail, follow_redirects=True).get_data(as_text=True)
    assert "no open charges" in html


def _monthly_customer(auto_send: bool, day: int = 1) -> int:
    merchant = make_merchant("Monthly Co")
    customer = make_customer(merchant, name="Subscriber", email="sub@example.com")
    billing.add_recurring_line(
        customer, description="Hosting", quantity=Decimal(1), unit_amount=2500, tax_rate=Decimal(21)
    )
    billing.record_charge(
        customer,
        description="Extra support",
        charged_on=date(2026, 4, 20),
        quantity=Decimal("1.5"),
        unit_amount=8000,
        tax_rate=Decimal(21),
    )
    # Dated after the run: stays open for next month.
    billing.record_charge(
        customer,
        description="Next month",
        charged_on=date(2026, 5, 20),
        quantity=Decimal(1),
        unit_amount=100,
        tax_rate=Decimal(21),
    )
    billing.set_billing_cycle(customer, active=True, day_of_month=day, payment_days=14, auto_send=auto_send)
    db.session.commit()
    return customer.id


def _invoices_of(customer_id: int) -> list[Invoice]:
    return list(db.session.scalars(select(Invoice).where(Invoice.customer_id == customer_id).order_by(Invoice.id)))


def test_bill_monthly_twice_makes_each_invoice_once(app, runner):
    with app.app_context():
        customer_id = _monthly_customer(auto_send=False, day=5)
    with time_machine.travel(datetime(2026, 5, 4, 12, tzinfo=UTC), tick=False):
        result = runner.invoke(args=["portal", "bill-monthly"])
        assert "0 invoice(s) made" in result.output  # not the billing day yet
    with time_machine.travel(datetime(2026, 5, 5, 8, tzinfo=UTC), tick=False):
        first = runner.invoke(args=["portal", "bill-monthly"])
        second = runner.invoke(args=["portal", "bill-monthly"])
    with time_machine.travel(datetime(2026, 5, 28, 8, tzinfo=UTC), tick=False):
        third = runner.invoke(args=["portal", "bill-monthly"])
    assert first.exit_code == 0, first.output
    assert "1 invoice(s) made" in first.output
    assert "0 invoice(s) made" in second.output and "0 invoice(s) made" in third.output
    with app.app_context():
        made = _invoices_of(customer_id)
        assert len(made) == 1
        invoice = made[0]
        assert invoice.status == "draft"
        assert (invoice.issue_date, invoice.due_date) == (date(2026, 5, 5), date(2026, 5, 19))
        assert [line.description for line in invoice.lines] == ["Hosting", "Extra support"]
        assert invoice.net_amount == 2500 + 12000
        assert db.session.scalar(select(func.count()).select_from(BillingRun)) == 1

    # Deleting the month's draft does not make the run bill the month again.
    with app.app_context():
        invoices.delete_draft(_invoices_of(customer_id)[0])
        db.session.commit()
    with time_machine.travel(datetime(2026, 5, 30, 8, tzinfo=UTC), tick=False):
        assert "0 invoice(s) made" in runner.invoke(args=["portal", "bill-monthly"]).output
    # Next month bills again, with the charge that was left for it and those the deleted draft released.
    with time_machine.travel(datetime(2026, 6, 5, 8, tzinfo=UTC), tick=False):
        assert "1 invoice(s) made" in runner.invoke(args=["portal", "bill-monthly"]).output
    with app.app_context():
        (june,) = _invoices_of(customer_id)
        assert [line.description for line in june.lines] == ["Hosting", "Extra support", "Next month"]


def test_bill_monthly_with_auto_send_finalizes_and_mails(app, runner):
    with app.app_context():
        customer_id = _monthly_customer(auto_send=True)
    with time_machine.travel(datetime(2026, 5, 1, 9, tzinfo=UTC), tick=False):
        first = runner.invoke(args=["portal", "bill-monthly"])
        runner.invoke(args=["portal", "bill-monthly"])
    assert "Finalized invoice 2026-0001" in first.output and "its mail is queued" in first.output
    with app.app_context():
        (invoice,) = _invoices_of(customer_id)
        assert invoice.status == "open"
        # bill-monthly only drafts, finalizes and enqueues: the worker renders and mails.
        assert db.session.scalars(select(OutboxMessage)).all() == []
        assert [job.kind for job in db.session.scalars(select(Job))] == ["invoice.send"]
        run_jobs()
        mails = list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.invoice_id == invoice.id)))
        assert [(m.kind, m.to_address) for m in mails] == [("invoice", "sub@example.com")]


def test_an_inactive_cycle_is_not_billed(app, runner):
    with app.app_context():
        customer_id = _monthly_customer(auto_send=False)
        billing.set_billing_cycle(
            db.session.get(Customer, customer_id), active=False, day_of_month=1, payment_days=30, auto_send=False
        )
        db.session.commit()
    with time_machine.travel(datetime(2026, 5, 2, tzinfo=UTC), tick=False):
        runner.invoke(args=["portal", "bill-monthly"])
    with app.app_context():
        assert _invoices_of(customer_id) == []


def test_billing_settings_form(app, staff):
    detail = f"/admin/customers/{staff.customer_id}"
    bad = staff.post(
        f"{detail}/billing-cycle", {"active": "y", "day_of_month": "31", "payment_days": "30"}, page=detail
    )
    assert bad.status_code == 422
    ok = staff.post(
        f"{detail}/billing-cycle",
        {"active": "y", "day_of_month": "3", "payment_days": "10", "auto_send": "y"},
        page=detail,
    )
    assert ok.status_code == 303
    line = staff.post(
        f"{detail}/recurring-lines",
        {"description": "Licence", "quantity": "1", "unit_price": "9.99", "tax_rate": "21"},
        page=detail,
    )
    assert line.status_code == 303
    html = staff.get(detail).get_data(as_text=True)
    assert "Billed on day 3" in html and "Licence" in html and "€9.99" in html


def test_monthly_run_on_postgresql(pg, postgres_app):
    with postgres_app.app_context():
        customer_id = _monthly_customer(auto_send=False)
    runner = postgres_app.test_cli_runner()
    with time_machine.travel(datetime(2026, 5, 1, 9, tzinfo=UTC), tick=False):
        runner.invoke(args=["portal", "bill-monthly"])
        runner.invoke(args=["portal", "bill-monthly"])
    with postgres_app.app_context():
        assert len(_invoices_of(customer_id)) == 1


def test_two_monthly_runs_at_once_bill_once_on_postgresql(pg, postgres_app):
    import threading

    from portal.services.billing import bill_monthly

    with postgres_app.app_context():
        customer_id = _monthly_customer(auto_send=True)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with postgres_app.app_context():
                barrier.wait()
                bill_monthly()
                db.session.commit()
                db.session.remove()
        except BaseException as exc:  # reported to the test thread below
            errors.append(exc)

    with time_machine.travel(datetime(2026, 5, 1, 9, tzinfo=UTC), tick=True):
        threads = [threading.Thread(target=run) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert errors == []
    with postgres_app.app_context():
        (invoice,) = _invoices_of(customer_id)
        assert invoice.number == "2026-0001"
        run_jobs()
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 1

"""Races on PostgreSQL: identical refund webhooks at once, and two drafts claiming the same charges."""

from __future__ import annotations

import threading
import time
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from portal.domain.errors import DomainError
from portal.extensions import db, limiter
from portal.models import Customer, Invoice, InvoiceLine
from portal.models.billing import BillingCycle, Charge
from portal.models.ledger import PaymentReversal
from portal.models.online_payment import PaymentAttempt
from portal.services import billing
from tests.factories import make_customer, make_merchant
from tests.payments.conftest import load_invoice, make_shop, point_at_fakes, press_pay, sign_in


@pytest.fixture
def pg_pay(pg, fake_mollie, fake_stripe, monkeypatch):
    for key, value in point_at_fakes(pg.config, fake_mollie, fake_stripe).items():
        monkeypatch.setitem(pg.config, key, value)
    with pg.app_context():
        limiter.reset()
    return pg


def _waiting_on_locks() -> int:
    # Another connection each time: a transaction's view of pg_stat_activity is frozen.
    with db.engine.connect() as observer:
        return observer.execute(
            sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
        ).scalar()


def _race_on_row(app, table: str, row_id: int, sends: list) -> list:
    """Hold a row's lock, start every send at once, wait until all queue on the lock, then let go."""
    results: list = []
    with app.app_context():
        connection = db.engine.connect()
        transaction = connection.begin()
        threads = [threading.Thread(target=lambda send=send: results.append(send())) for send in sends]
        try:
            connection.execute(sa.text(f"SELECT id FROM {table} WHERE id = :id FOR UPDATE"), {"id": row_id})
            for thread in threads:
                thread.start()
            deadline = time.monotonic() + 30
            waiting = 0
            while waiting < len(sends) and time.monotonic() < deadline:
                time.sleep(0.05)
                waiting = _waiting_on_locks()
        finally:
            transaction.rollback()
            connection.close()
            for thread in threads:
                thread.join(timeout=60)
        db.session.remove()
    assert waiting >= len(sends), f"only {waiting} of {len(sends)} queued on the lock"
    return results


@pytest.mark.postgres
def test_identical_refund_webhooks_at_once_book_one_refund(pg_pay, fake_mollie):
    shop = make_shop(pg_pay, due_date=date(2099, 1, 31))
    client = pg_pay.test_client()
    sign_in(pg_pay, client, shop.customer_id)
    press_pay(client, shop.number, "mollie")
    with pg_pay.app_context():
        attempt = db.session.scalars(select(PaymentAttempt)).one()
        attempt_id, payment_id = attempt.id, attempt.provider_payment_id
        db.session.remove()
    fake_mollie.set_status(payment_id, "paid")
    assert pg_pay.test_client().post("/webhooks/mollie", data={"id": payment_id}).status_code == 200
    fake_mollie.refund(payment_id, "300.00")

    def deliver():
        return pg_pay.test_client().post("/webhooks/mollie", data={"id": payment_id}).status_code

    # As many as the connection pool serves at once (the rest would only queue for a connection).
    assert _race_on_row(pg_pay, "payment_attempts", attempt_id, [deliver] * 10) == [200] * 10

    with pg_pay.app_context():
        assert db.session.scalar(select(func.count()).select_from(PaymentReversal)) == 1
        db.session.remove()
    invoice = load_invoice(pg_pay, shop.invoice_id)
    assert invoice.status == "open" and invoice.paid == 70000


# --- charges are billed once ----------------------------------------------------------------------


def _customer_with_charges(app, count: int = 3) -> int:
    with app.app_context():
        merchant = make_merchant()
        customer = make_customer(merchant)
        for number in range(count):
            billing.record_charge(
                customer,
                description=f"Support hour {number + 1}",
                charged_on=date(2026, 1, 5),
                quantity=Decimal("1"),
                unit_amount=9000,
                tax_rate=Decimal("21"),
            )
        billing.set_billing_cycle(customer, active=True, day_of_month=1, payment_days=30, auto_send=False)
        db.session.commit()
        customer_id = customer.id
        db.session.remove()
    return customer_id


def _billed_lines(app, customer_id: int) -> tuple[int, int, list[int | None]]:
    """Return (invoices, lines on them, each charge's invoice) for the customer."""
    with app.app_context():
        invoices = db.session.scalar(
            select(func.count()).select_from(Invoice).where(Invoice.customer_id == customer_id)
        )
        lines = db.session.scalar(
            select(func.count())
            .select_from(InvoiceLine)
            .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
            .where(Invoice.customer_id == customer_id)
        )
        owners = list(db.session.scalars(select(Charge.invoice_id).where(Charge.customer_id == customer_id)))
        db.session.remove()
    return invoices, lines, owners


def _second_draft_while_the_first_is_uncommitted(app, customer_id: int, second) -> object:
    """Draft from all open charges in one session and, before it commits, run `second` in another thread."""
    outcome: dict = {}
    with app.app_context():
        customer = db.session.get(Customer, customer_id)
        billing.draft_from_charges(customer)  # flushed, rows changed, not committed yet

        def run():
            with app.app_context():
                try:
                    outcome["value"] = second(customer_id)
                    db.session.commit()
                except DomainError as exc:
                    db.session.rollback()
                    outcome["value"] = exc
                finally:
                    db.session.remove()

        thread = threading.Thread(target=run)
        thread.start()
        thread.join(timeout=2)  # it either finished (skipped the locked charges) or waits on them
        db.session.commit()
        thread.join(timeout=60)
        db.session.remove()
    return outcome.get("value")


@pytest.mark.postgres
def test_two_drafts_from_all_open_charges_at_once_bill_each_charge_once(pg):
    customer_id = _customer_with_charges(pg)

    def draft(customer_id):
        return billing.draft_from_charges(db.session.get(Customer, customer_id))

    second = _second_draft_while_the_first_is_uncommitted(pg, customer_id, draft)

    assert isinstance(second, DomainError)
    invoices, lines, owners = _billed_lines(pg, customer_id)
    assert (invoices, lines) == (1, 3)
    assert len(set(owners)) == 1 and None not in owners


@pytest.mark.postgres
def test_ticked_charges_already_being_drafted_are_refused(pg):
    customer_id = _customer_with_charges(pg)
    with pg.app_context():
        charge_ids = list(db.session.scalars(select(Charge.id).where(Charge.customer_id == customer_id)))
        db.session.remove()

    def draft_ticked(customer_id):
        return billing.draft_from_charges(db.session.get(Customer, customer_id), charge_ids=charge_ids)

    second = _second_draft_while_the_first_is_uncommitted(pg, customer_id, draft_ticked)

    assert isinstance(second, DomainError)
    assert _billed_lines(pg, customer_id)[:2] == (1, 3)


@pytest.mark.postgres
def test_bill_monthly_while_staff_draft_from_charges_bills_each_charge_once(pg, time_machine):
    time_machine.move_to("2026-02-01 09:00:00+00:00", tick=False)
    customer_id = _customer_with_charges(pg)

    def bill_monthly(customer_id):
        return billing.bill_monthly()

    _second_draft_while_the_first_is_uncommitted(pg, customer_id, bill_monthly)

    invoices, lines, owners = _billed_lines(pg, customer_id)
    assert lines == 3  # the staff's draft holds them; the monthly run found none left to bill
    assert len(set(owners)) == 1 and None not in owners
    assert invoices == 1


def test_bill_monthly_commits_each_customer_so_one_failure_does_not_undo_the_others(app, time_machine):
    time_machine.move_to("2026-02-01 09:00:00+00:00", tick=False)
    broken = _customer_with_charges(app)
    fine = _customer_with_charges(app)
    with app.app_context():
        # A merchant whose stored time zone no longer exists: its billing fails with a non-domain error.
        merchant_id = db.session.get(Customer, broken).merchant_id
        db.session.execute(
            sa.text("UPDATE merchants SET timezone = 'Nowhere/Gone' WHERE id = :id"), {"id": merchant_id}
        )
        db.session.commit()
        results = billing.bill_monthly()
        outcome = {result.customer.id: result for result in results}
        db.session.remove()

    assert outcome[broken].error and outcome[broken].invoice is None
    assert outcome[fine].invoice is not None and outcome[fine].error is None
    assert _billed_lines(app, fine)[:2] == (1, 3)
    assert _billed_lines(app, broken)[:2] == (0, 0)
    with app.app_context():
        assert db.session.get(BillingCycle, fine) is not None
        db.session.remove()

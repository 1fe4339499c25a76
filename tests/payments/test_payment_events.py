"""Online payments announce themselves: payment.failed for a failed attempt, payment.succeeded and invoice.paid."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models.api import Event
from portal.models.online_payment import PaymentAttempt
from tests.payments.conftest import press_pay


@pytest.fixture
def late(time_machine):
    time_machine.move_to(datetime(2026, 3, 2, 10, 0, tzinfo=UTC), tick=True)


def _events(app) -> list[tuple[str, dict]]:
    with app.app_context():
        rows = [(e.type, e.data) for e in db.session.scalars(select(Event).order_by(Event.id))]
        db.session.remove()
    return rows


def _attempt_ids(app) -> list[tuple[int, str]]:
    with app.app_context():
        rows = list(db.session.execute(select(PaymentAttempt.id, PaymentAttempt.provider_payment_id)))
        db.session.remove()
    return [tuple(row) for row in rows]


def test_a_failed_then_a_paid_mollie_payment(late, pay_app, shop, customer_client, fake_mollie):
    webhook = pay_app.test_client()
    press_pay(customer_client, shop.number, "mollie")
    [(attempt_id, payment_id)] = _attempt_ids(pay_app)
    fake_mollie.set_status(payment_id, "failed")
    assert webhook.post("/webhooks/mollie", data={"id": payment_id}).status_code == 200
    assert webhook.post("/webhooks/mollie", data={"id": payment_id}).status_code == 200  # redelivered: once

    press_pay(customer_client, shop.number, "mollie")
    [_, (_, second)] = _attempt_ids(pay_app)
    fake_mollie.set_status(second, "paid")
    assert webhook.post("/webhooks/mollie", data={"id": second}).status_code == 200

    events = [(kind, data) for kind, data in _events(pay_app) if kind not in ("invoice.viewed", "invoice.finalized")]
    assert [kind for kind, _ in events] == ["payment.failed", "payment.succeeded", "invoice.paid"]
    failed = events[0][1]
    assert (failed["id"], failed["status"], failed["provider"], failed["amount"]) == (
        attempt_id,
        "failed",
        "mollie",
        104986,
    )
    paid = events[1][1]
    assert (paid["amount"], paid["fee_amount"], paid["interest_amount"], paid["method"]) == (
        100000,
        4000,
        986,
        "mollie",
    )
    assert events[2][1]["status"] == "paid" and events[2][1]["number"] == shop.number

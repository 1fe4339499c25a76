"""A process killed mid-payment charges nothing twice, and `flask portal reconcile` settles what is left."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Payment
from portal.models.online_payment import PaymentAttempt
from tests.fakes.server import HangUp
from tests.fakes.stripe import sign
from tests.payments.conftest import STRIPE_WEBHOOK_SECRET, load_invoice, point_at_fakes, press_pay

ROOT = Path(__file__).resolve().parents[2]
LATE = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def attempts(app) -> list[PaymentAttempt]:
    with app.app_context():
        rows = list(db.session.scalars(select(PaymentAttempt).order_by(PaymentAttempt.id)))
        db.session.expunge_all()
        db.session.remove()
    return rows


def payment_rows(app) -> int:
    with app.app_context():
        value = db.session.scalar(select(func.count()).select_from(Payment))
        db.session.remove()
    return value


def reconcile(runner) -> str:
    result = runner.invoke(args=["portal", "reconcile", "--older-than", "0"])
    assert result.exit_code == 0, result.output
    return result.output


class ChildPress:
    """Press Pay in a child process that the fake provider kills at a chosen moment."""

    def __init__(self, database_url, shop, provider, mollie, stripe):
        config = point_at_fakes(None, mollie, stripe)
        self.settings = {
            "DATABASE_URL": database_url,
            "config": config,
            "customer_id": shop.customer_id,
            "number": shop.number,
            "provider": provider,
        }
        self.process: subprocess.Popen | None = None
        self.killed = threading.Event()

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=30)
        self.killed.set()

    def run(self) -> str:
        env = {**os.environ, "PAY_CHILD_SETTINGS": json.dumps(self.settings)}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.payments.pay_in_child"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        output, _ = self.process.communicate(timeout=60)
        assert self.killed.wait(10), output
        return output


@pytest.fixture
def late(time_machine):
    # Moves only this process's clock; the child's "today" is real, so give it no late fees to disagree on.
    time_machine.move_to(LATE, tick=True)


def test_killed_before_the_provider_call_charges_once(pay_app, database_url, fake_mollie, fake_stripe, runner):
    from tests.payments.conftest import make_shop, sign_in

    shop = make_shop(pay_app, due_date=datetime(2099, 1, 1).date())
    child = ChildPress(database_url, shop, "mollie", fake_mollie, fake_stripe)

    def die_before_mollie_hears(request):
        if request.method == "POST" and request.path == "/v2/payments":
            child.kill()
            raise HangUp()  # the request never took effect at Mollie

    fake_mollie.on_request = die_before_mollie_hears
    child.run()
    fake_mollie.on_request = None

    [attempt] = attempts(pay_app)
    assert attempt.status == "creating" and attempt.provider_payment_id is None
    assert fake_mollie.payments == {}

    assert f"attempt {attempt.id} (mollie): unchanged" in reconcile(runner)
    [attempt] = attempts(pay_app)
    assert attempt.status == "open" and len(fake_mollie.payments) == 1

    # The customer comes back and presses again: the same payment, not a second one.
    client = pay_app.test_client()
    sign_in(pay_app, client, shop.customer_id)
    response = press_pay(client, shop.number, "mollie")
    assert response.headers["Location"] == f"{fake_mollie.url}/checkout/{attempt.provider_payment_id}"
    fake_mollie.set_status(attempt.provider_payment_id, "paid")
    pay_app.test_client().post("/webhooks/mollie", data={"id": attempt.provider_payment_id})

    assert len(fake_mollie.payments) == 1
    assert payment_rows(pay_app) == 1
    assert load_invoice(pay_app, shop.invoice_id).status == "paid"
    idempotency_keys = {r.headers["idempotency-key"] for r in fake_mollie.requests_to("POST", "/v2/payments")}
    assert idempotency_keys == {f"portal-attempt-{attempt.id}"}


@pytest.mark.parametrize("provider", ["mollie", "stripe"])
def test_killed_after_the_provider_answered_is_settled_by_reconcile(
    pay_app, database_url, fake_mollie, fake_stripe, runner, provider
):
    from tests.payments.conftest import make_shop

    shop = make_shop(pay_app, due_date=datetime(2099, 1, 1).date())
    child = ChildPress(database_url, shop, provider, fake_mollie, fake_stripe)
    fake = fake_mollie if provider == "mollie" else fake_stripe
    create_path = "/v2/payments" if provider == "mollie" else "/v1/checkout/sessions"

    def die_before_storing(request, answer):
        if request.method == "POST" and request.path == create_path:
            child.kill()
            raise HangUp()  # created at the provider; the answer never reached the database

    fake.on_answer = die_before_storing
    child.run()
    fake.on_answer = None

    [attempt] = attempts(pay_app)
    assert attempt.status == "creating" and attempt.provider_payment_id is None
    if provider == "mollie":
        [created] = fake_mollie.payments
        fake_mollie.set_status(created, "paid")  # say the customer paid through some other path
    else:
        [created] = fake_stripe.sessions
        fake_stripe.complete(created)

    output = reconcile(runner)

    assert f"attempt {attempt.id} ({provider}): paid" in output
    [attempt] = attempts(pay_app)
    assert attempt.provider_payment_id == created and attempt.status == "paid"
    assert load_invoice(pay_app, shop.invoice_id).status == "paid"
    assert payment_rows(pay_app) == 1
    created_count = len(fake_mollie.payments) if provider == "mollie" else len(fake_stripe.sessions)
    assert created_count == 1  # the retry found the first payment by its idempotency key
    # Running it again finds nothing left to do.
    assert "0 attempt(s) checked" in reconcile(runner)


def test_stripe_event_for_an_attempt_whose_answer_was_lost_is_applied(pay_app, database_url, fake_mollie, fake_stripe):
    from tests.payments.conftest import make_shop

    shop = make_shop(pay_app, due_date=datetime(2099, 1, 1).date())
    child = ChildPress(database_url, shop, "stripe", fake_mollie, fake_stripe)

    def die_before_storing(request, answer):
        if request.method == "POST" and request.path == "/v1/checkout/sessions":
            child.kill()
            raise HangUp()

    fake_stripe.on_answer = die_before_storing
    child.run()
    fake_stripe.on_answer = None
    [session_id] = fake_stripe.sessions
    fake_stripe.complete(session_id)
    payload = fake_stripe.event(session_id, "checkout.session.completed")

    response = pay_app.test_client().post(
        "/webhooks/stripe", data=payload.encode(), headers={"Stripe-Signature": sign(payload, STRIPE_WEBHOOK_SECRET)}
    )

    assert response.status_code == 200
    [attempt] = attempts(pay_app)
    assert attempt.provider_payment_id == session_id and attempt.status == "paid"
    assert load_invoice(pay_app, shop.invoice_id).status == "paid"


@pytest.mark.parametrize(
    "provider,final", [("mollie", "paid"), ("mollie", "expired"), ("stripe", "paid"), ("stripe", "expired")]
)
def test_reconcile_applies_what_the_provider_says_when_no_webhook_came(
    late, pay_app, shop, customer_client, fake_mollie, fake_stripe, runner, provider, final
):
    press_pay(customer_client, shop.number, provider)
    [attempt] = attempts(pay_app)
    if provider == "mollie":
        fake_mollie.set_status(attempt.provider_payment_id, final)
    elif final == "paid":
        fake_stripe.complete(attempt.provider_payment_id)
    else:
        fake_stripe.expire(attempt.provider_payment_id)

    # Too recent for the default delay: left alone.
    assert "0 attempt(s) checked" in runner.invoke(args=["portal", "reconcile"]).output
    output = reconcile(runner)

    assert f"attempt {attempt.id} ({provider}): {final}" in output
    assert attempts(pay_app)[0].status == final
    assert load_invoice(pay_app, shop.invoice_id).status == ("paid" if final == "paid" else "open")


def test_reconcile_sees_a_failed_stripe_bank_transfer(late, pay_app, shop, customer_client, fake_stripe, runner):
    press_pay(customer_client, shop.number, "stripe")
    [attempt] = attempts(pay_app)
    fake_stripe.complete(attempt.provider_payment_id, paid=False)
    assert "pending" in reconcile(runner)
    fake_stripe.settle_async(attempt.provider_payment_id, succeeded=False)

    assert "failed" in reconcile(runner)
    assert attempts(pay_app)[0].status == "failed"


def test_reconcile_survives_a_provider_outage(late, pay_app, shop, customer_client, fake_mollie, runner):
    press_pay(customer_client, shop.number, "mollie")
    [attempt] = attempts(pay_app)
    fake_mollie.set_status(attempt.provider_payment_id, "paid")
    fake_mollie.inject("GET", "/v2/payments/", 500)

    assert "unreachable" in reconcile(runner)
    assert "paid" in reconcile(runner)
    assert load_invoice(pay_app, shop.invoice_id).status == "paid"

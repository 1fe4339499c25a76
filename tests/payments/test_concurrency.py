"""Races: two identical webhooks at once (PostgreSQL), and two app instances sharing one Redis limit."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Customer, Payment
from portal.models.online_payment import PaymentAttempt, WebhookEvent
from portal.services.links import make_portal_link
from tests.conftest import redis_url
from tests.fakes.stripe import sign
from tests.payments.conftest import STRIPE_WEBHOOK_SECRET, load_invoice, make_shop, point_at_fakes, press_pay, sign_in

ROOT = Path(__file__).resolve().parents[2]


# --- PostgreSQL: one paid transition under a race -------------------------------------------


def _attempt(app) -> PaymentAttempt:
    with app.app_context():
        [attempt] = db.session.scalars(select(PaymentAttempt)).all()
        db.session.expunge(attempt)
        db.session.remove()
    return attempt


def _race(app, attempt_id: int, send) -> list[int]:
    """Hold the attempt's row lock, start two deliveries, wait until both queue on it, then let go."""
    statuses: list[int] = []
    with app.app_context():
        connection = db.engine.connect()
        transaction = connection.begin()
        threads = [threading.Thread(target=lambda: statuses.append(send())) for _ in range(2)]
        try:
            connection.execute(sa.text("SELECT id FROM payment_attempts WHERE id = :id FOR UPDATE"), {"id": attempt_id})
            for thread in threads:
                thread.start()
            deadline = time.monotonic() + 20
            waiting = 0
            while waiting < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
                # Another connection: this one's snapshot of pg_stat_activity is frozen for its transaction.
                with db.engine.connect() as observer:
                    waiting = observer.execute(
                        sa.text(
                            "SELECT count(*) FROM pg_stat_activity"
                            " WHERE wait_event_type = 'Lock' AND datname = current_database()"
                        )
                    ).scalar()
        finally:
            transaction.rollback()
            connection.close()
            for thread in threads:
                if thread.is_alive() or thread.ident:
                    thread.join(timeout=30)
        db.session.remove()
    assert waiting >= 2, "both deliveries should have queued on the attempt's row lock"
    return statuses


def _counts(app) -> tuple[int, int]:
    with app.app_context():
        payments = db.session.scalar(select(func.count()).select_from(Payment))
        events = db.session.scalar(select(func.count()).select_from(WebhookEvent))
        db.session.remove()
    return payments, events


@pytest.mark.postgres
def test_two_identical_mollie_webhooks_at_once_pay_once(pg_pay, fake_mollie):
    shop = make_shop(pg_pay)
    client = pg_pay.test_client()
    sign_in(pg_pay, client, shop.customer_id)
    press_pay(client, shop.number, "mollie")
    attempt = _attempt(pg_pay)
    fake_mollie.set_status(attempt.provider_payment_id, "paid")

    def deliver():
        return pg_pay.test_client().post("/webhooks/mollie", data={"id": attempt.provider_payment_id}).status_code

    assert _race(pg_pay, attempt.id, deliver) == [200, 200]
    assert _counts(pg_pay)[0] == 1
    assert _attempt(pg_pay).status == "paid"
    assert load_invoice(pg_pay, shop.invoice_id).status == "paid"


@pytest.mark.postgres
def test_two_identical_stripe_events_at_once_pay_once(pg_pay, fake_stripe):
    shop = make_shop(pg_pay)
    client = pg_pay.test_client()
    sign_in(pg_pay, client, shop.customer_id)
    press_pay(client, shop.number, "stripe")
    attempt = _attempt(pg_pay)
    fake_stripe.complete(attempt.provider_payment_id)
    payload = fake_stripe.event(attempt.provider_payment_id, "checkout.session.completed")
    header = sign(payload, STRIPE_WEBHOOK_SECRET)

    def deliver():
        return (
            pg_pay.test_client()
            .post("/webhooks/stripe", data=payload.encode(), headers={"Stripe-Signature": header})
            .status_code
        )

    assert _race(pg_pay, attempt.id, deliver) == [200, 200]
    after = _attempt(pg_pay)
    assert (after.status, after.payment_id is not None) == ("paid", True)
    assert _counts(pg_pay) == (1, 1)
    assert load_invoice(pg_pay, shop.invoice_id).status == "paid"


@pytest.mark.postgres
def test_two_presses_at_once_create_one_live_payment(pg_pay, fake_mollie):
    shop = make_shop(pg_pay)
    from tests.payments.conftest import csrf_token

    barrier = threading.Barrier(2)
    results: list[int] = []

    def press():
        own = pg_pay.test_client()
        sign_in(pg_pay, own, shop.customer_id)
        barrier.wait()
        results.append(press_pay(own, shop.number, "mollie", csrf_token(own, shop.number)).status_code)

    threads = [threading.Thread(target=press) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert results == [303, 303]
    with pg_pay.app_context():
        live = db.session.scalars(select(PaymentAttempt).where(PaymentAttempt.status == "open")).all()
        db.session.remove()
    assert len(live) == 1
    assert len(fake_mollie.payments) == 1


# --- Redis: two app instances share the pay route's limit -----------------------------------


class Instance:
    """One app instance in a process of its own, as a gunicorn worker would be."""

    def __init__(self, database_url: str, config: dict) -> None:
        env = {**os.environ, "SERVE_APP_SETTINGS": json.dumps({"DATABASE_URL": database_url, "config": config})}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.payments.serve_app"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        line = self.process.stdout.readline().strip()
        assert line.isdigit(), f"instance did not start: {line!r}"
        self.url = f"http://127.0.0.1:{line}"

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
        self.process.stdout.close()


def _presses(app, database_url, fake_mollie, fake_stripe, storage: str, prefix: str) -> list[int]:
    shop = make_shop(app)
    config = {
        **point_at_fakes(None, fake_mollie, fake_stripe),
        "RATELIMIT_STORAGE_URI": storage,
        "RATELIMIT_KEY_PREFIX": prefix,
        "PAY_RATE_LIMIT_PER_CUSTOMER": "3/minute",
    }
    instances = [Instance(database_url, config) for _ in range(2)]
    try:
        with app.app_context():
            link = make_portal_link(db.session.get(Customer, shop.customer_id))
            db.session.remove()
        browser = requests.Session()
        browser.trust_env = False
        first, second = instances
        browser.get(first.url + "/l/" + link.url.rsplit("/l/", 1)[1], allow_redirects=False)
        page = browser.get(f"{second.url}/invoices/{shop.number}").text  # the session works on both
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        statuses = []
        for instance in (first, second, first, second, first):
            response = browser.post(
                f"{instance.url}/invoices/{shop.number}/pay",
                data={"csrf_token": token, "provider": "mollie"},
                allow_redirects=False,
            )
            statuses.append(response.status_code)
            if response.status_code == 429:
                assert int(response.headers["Retry-After"]) > 0
        browser.close()
        return statuses
    finally:
        for instance in instances:
            instance.stop()


def test_two_instances_sharing_redis_share_the_limit(app, database_url, fake_mollie, fake_stripe):
    url = redis_url()
    prefix = f"test-{uuid.uuid4().hex}"

    statuses = _presses(app, database_url, fake_mollie, fake_stripe, url, prefix)

    assert statuses == [303, 303, 303, 429, 429]


def test_without_redis_each_instance_counts_alone(app, database_url, fake_mollie, fake_stripe):
    # The control experiment: in-process storage gives each worker its own count.
    statuses = _presses(app, database_url, fake_mollie, fake_stripe, "memory://", "")

    assert statuses == [303, 303, 303, 303, 303]

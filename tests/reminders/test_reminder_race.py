"""Two reminder runs at once send each step once: the (invoice, step) key decides on PostgreSQL."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Merchant
from portal.models.mail import OutboxMessage
from portal.models.reminder import ReminderSent
from portal.services.reminders import send_reminders, set_reminder_settings
from tests.conftest import build_app, dispose
from tests.factories import make_customer, make_invoice, make_merchant


def test_two_runs_at_once_send_each_reminder_once_on_postgresql(pg):
    racers = 2
    racing = build_app(
        pg.config["SQLALCHEMY_DATABASE_URI"], SQLALCHEMY_ENGINE_OPTIONS={"pool_size": racers, "max_overflow": 0}
    )
    with pg.app_context():
        merchant = make_merchant("Atelier")
        set_reminder_settings(
            merchant, enabled=True, offsets=[1], consumer_preset=False, legal_interest_rate=Decimal(0)
        )
        customer = make_customer(merchant)
        for _ in range(5):
            make_invoice(customer, issue_date=date(2026, 1, 1), due_date=date(2026, 1, 31))
        merchant_id = merchant.id
        db.session.commit()

    barrier = threading.Barrier(racers, timeout=30)

    def run(_: int) -> int:
        with racing.app_context():
            try:
                merchant = db.session.get(Merchant, merchant_id)
                barrier.wait()
                sent = send_reminders(merchant, date(2026, 2, 1)).sent
                db.session.commit()
                return sent
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=racers) as pool:
        results = list(pool.map(run, range(racers)))

    assert sum(results) == 5
    with pg.app_context():
        assert db.session.scalar(select(func.count()).select_from(ReminderSent)) == 5
        assert db.session.scalar(select(func.count()).where(OutboxMessage.kind == "reminder")) == 5
    dispose(racing)

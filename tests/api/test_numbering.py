"""Invoice numbers are gapless and unique per merchant, also when finalizes race."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select

from portal.extensions import db
from portal.models import Invoice, Merchant
from portal.services import invoices
from tests.conftest import build_app, dispose
from tests.factories import make_customer, make_invoice, make_merchant


def test_sequences_are_per_merchant_kind_and_year(ctx):
    first, second = make_merchant("One"), make_merchant("Two")
    a = make_customer(first)
    b = make_customer(second)
    from datetime import date

    assert make_invoice(a).number == "2026-0001"
    assert make_invoice(b).number == "2026-0001"
    assert make_invoice(a).number == "2026-0002"
    assert make_invoice(a, issue_date=date(2027, 1, 2), due_date=date(2027, 2, 1)).number == "2027-0001"


def test_a_rolled_back_finalize_gives_its_number_back(app):
    with app.app_context():
        customer = make_customer(make_merchant())
        draft = make_invoice(customer, finalize=False)
        db.session.commit()
        draft_id, merchant_id = draft.id, customer.merchant_id
    with app.app_context():
        merchant = db.session.get(Merchant, merchant_id)
        invoices.finalize_invoice(invoices.get_invoice(merchant, draft_id))
        db.session.rollback()
    with app.app_context():
        merchant = db.session.get(Merchant, merchant_id)
        assert invoices.finalize_invoice(invoices.get_invoice(merchant, draft_id)).number == "2026-0001"
        db.session.commit()


def test_fifty_concurrent_finalizes_on_postgresql(pg):
    count = 50
    # A pool big enough that every racer holds its own connection at the barrier.
    racing = build_app(
        pg.config["SQLALCHEMY_DATABASE_URI"], SQLALCHEMY_ENGINE_OPTIONS={"pool_size": count, "max_overflow": 0}
    )
    with pg.app_context():
        customer = make_customer(make_merchant())
        ids = [make_invoice(customer, finalize=False).id for _ in range(count)]
        merchant_id = customer.merchant_id
        db.session.commit()

    barrier = threading.Barrier(count, timeout=30)

    def finalize(invoice_id: int) -> str:
        with racing.app_context():
            try:
                merchant = db.session.get(Merchant, merchant_id)
                invoice = invoices.get_invoice(merchant, invoice_id)
                barrier.wait()
                number = invoices.finalize_invoice(invoice).number
                db.session.commit()
                return number
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=count) as pool:
        numbers = list(pool.map(finalize, ids))

    assert sorted(numbers) == [f"2026-{n:04d}" for n in range(1, count + 1)]
    with pg.app_context():
        stored = db.session.scalars(select(Invoice.number).where(Invoice.merchant_id == merchant_id))
        assert sorted(stored) == sorted(numbers)
    dispose(racing)

"""Two imports of the same statement at once book each transfer once: the entry key is unique per merchant."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date

from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Merchant, Payment
from portal.models.bank import BankTransaction
from portal.models.ledger import Receipt
from portal.services import bank_import
from tests.bank.camt import Account, Transfer, build
from tests.conftest import build_app, dispose
from tests.factories import make_customer, make_invoice, make_merchant


def test_two_imports_of_the_same_file_at_once_book_once_on_postgresql(pg):
    racers = 2
    racing = build_app(
        pg.config["SQLALCHEMY_DATABASE_URI"], SQLALCHEMY_ENGINE_OPTIONS={"pool_size": racers, "max_overflow": 0}
    )
    with pg.app_context():
        merchant = make_merchant("Atelier", iban="BE68539007547034")
        customer = make_customer(merchant)
        invoices = [make_invoice(customer, due_date=date(2099, 1, 1)) for _ in range(5)]
        data = build(
            Account(
                entries=[
                    Transfer("1000.00", account_servicer_reference=f"R-{n}", structured_reference=i.payment_reference)
                    for n, i in enumerate(invoices)
                ]
                + [Transfer("1.00", account_servicer_reference="R-unknown")]
            )
        )
        merchant_id = merchant.id
        db.session.commit()

    barrier = threading.Barrier(racers, timeout=30)

    def run(_: int) -> dict[str, int]:
        with racing.app_context():
            try:
                merchant = db.session.get(Merchant, merchant_id)
                barrier.wait()
                result = bank_import.import_statement(merchant, data)
                db.session.commit()
                return result.as_dict()
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=racers) as pool:
        results = list(pool.map(run, range(racers)))

    assert sum(r["matched"] for r in results) == 5
    assert sum(r["unmatched"] for r in results) == 1
    assert sum(r["duplicates"] for r in results) == 6
    with pg.app_context():
        assert db.session.scalar(select(func.count()).select_from(BankTransaction)) == 6
        assert db.session.scalar(select(func.count()).select_from(Receipt)) == 5
        assert db.session.scalar(select(func.sum(Payment.amount))) == 5 * 100000
    dispose(racing)

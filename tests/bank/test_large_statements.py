"""Large statements posted to the API are imported by a job: 202, then the counts once the worker ran it."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from portal.domain.payment_references import format_reference
from portal.extensions import db
from portal.jobs.queue import RunReport, claim_next, run_claimed
from portal.jobs.worker import Worker
from portal.models import Invoice, Payment
from portal.models.bank import BankStatementImport, BankTransaction
from portal.models.ledger import CreditEntry, Receipt
from portal.models.mail import OutboxMessage
from tests.api.conftest import Api
from tests.bank.camt import Account, Transfer, build
from tests.conftest import build_app, dispose
from tests.factories import make_api_key, make_customer, make_invoice, make_merchant


@pytest.fixture(autouse=True)
def _march(time_machine):
    time_machine.move_to(datetime(2026, 3, 3, 10, tzinfo=UTC), tick=False)


def _shop(app, client, invoices: int = 4):
    with app.app_context():
        merchant = make_merchant("Atelier", iban="BE68539007547034")
        customer = make_customer(merchant, "Jane Cooper")
        made = [make_invoice(customer, due_date=date(2026, 3, 31)) for _ in range(invoices)]
        key = make_api_key(merchant)
        db.session.commit()
        return Api(client, key), [(i.id, i.payment_reference) for i in made]


def _statement(invoices) -> bytes:
    """Four entries on invoices by reference (the last one 50.00 too much), one from a stranger."""
    entries = [
        Transfer(
            "1050.00" if n == len(invoices) - 1 else "1000.00",
            account_servicer_reference=f"L-{n}",
            structured_reference=format_reference(reference),
        )
        for n, (_, reference) in enumerate(invoices)
    ]
    entries.append(Transfer("12.34", account_servicer_reference="L-stranger", debtor_name="Unknown Ltd"))
    return build(Account(entries=entries))


def post_statement(api: Api, data: bytes):
    return api.client.post(
        "/api/v1/bank-statements",
        data=data,
        content_type="application/xml",
        headers={"Authorization": f"Bearer {api.key}"},
    )


def run_worker(app) -> None:
    """Run the real worker loop once over every due job (the import, then its mails), as `flask portal worker --once`."""
    Worker(app, once=True).run()


def test_a_large_statement_is_accepted_imported_by_the_worker_and_its_counts_polled(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "BANK_IMPORT_JOB_ENTRIES", 3)
    api, invoices = _shop(app, client)

    accepted = post_statement(api, _statement(invoices))

    assert accepted.status_code == 202, accepted.json
    assert accepted.json["status"] == "pending" and accepted.json["entries"] == 5
    assert accepted.json["matched"] is None
    location = accepted.headers["Location"]
    assert location.endswith(f"/api/v1/bank-statements/{accepted.json['id']}")
    assert api.get(location.removeprefix("/api/v1")).json["status"] == "pending"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(BankTransaction)) == 0

    run_worker(app)

    done = api.get(location.removeprefix("/api/v1"))
    assert done.status_code == 200
    assert {k: done.json[k] for k in ("status", "entries", "matched", "suggested", "unmatched", "duplicates")} == {
        "status": "done",
        "entries": 5,
        "matched": 4,
        "suggested": 0,
        "unmatched": 1,
        "duplicates": 0,
    }
    assert done.json["finished_at"] is not None
    with app.app_context():
        assert {i.status for i in db.session.scalars(select(Invoice))} == {"paid"}
        assert db.session.scalar(select(func.sum(CreditEntry.amount))) == 5000
        assert db.session.get(BankStatementImport, accepted.json["id"]).document is None
        # The same mails as an online payment, composed by the job the import wrote.
        kinds = list(db.session.scalars(select(OutboxMessage.kind)))
        assert kinds.count("payment_confirmation") == 4 and kinds.count("credit_added") == 1


def test_the_same_large_statement_twice_books_nothing_twice(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "BANK_IMPORT_JOB_ENTRIES", 3)
    api, invoices = _shop(app, client)
    first = post_statement(api, _statement(invoices))
    run_worker(app)
    again = post_statement(api, _statement(invoices))
    assert (first.status_code, again.status_code) == (202, 202)
    run_worker(app)

    second = api.get(f"/bank-statements/{again.json['id']}").json
    assert (second["matched"], second["unmatched"], second["duplicates"]) == (0, 0, 5)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Receipt)) == 4
        assert db.session.scalar(select(func.count()).select_from(BankTransaction)) == 5
        assert db.session.scalar(select(func.sum(Payment.amount))) == 4 * 100000
        assert db.session.scalar(select(func.sum(CreditEntry.amount))) == 5000


def test_a_small_statement_keeps_its_immediate_answer(app, client):
    api, invoices = _shop(app, client)
    answer = post_statement(api, _statement(invoices))
    assert answer.status_code == 201
    assert answer.json == {"entries": 5, "matched": 4, "suggested": 0, "unmatched": 1, "duplicates": 0}


def test_another_merchants_statement_import_is_404(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "BANK_IMPORT_JOB_ENTRIES", 3)
    api, invoices = _shop(app, client)
    accepted = post_statement(api, _statement(invoices))
    with app.app_context():
        other = Api(client, make_api_key(make_merchant("Rival")))
        db.session.commit()
    assert other.get(f"/bank-statements/{accepted.json['id']}").status_code == 404
    assert api.get(f"/bank-statements/{accepted.json['id'] + 1}").status_code == 404


def test_two_workers_importing_overlapping_statements_at_once_book_each_entry_once_on_postgresql(pg):
    """Two statements sharing most entries (in another order), posted at once, run by two workers at once."""
    racers = 2
    racing = build_app(
        pg.config["SQLALCHEMY_DATABASE_URI"],
        BANK_IMPORT_JOB_ENTRIES=3,
        SQLALCHEMY_ENGINE_OPTIONS={"pool_size": racers + 1, "max_overflow": 0},
    )
    api, invoices = _shop(racing, racing.test_client(), invoices=30)
    shared = [
        Transfer("1000.00", account_servicer_reference=f"R-{n}", structured_reference=reference)
        for n, (_, reference) in enumerate(invoices[:25])
    ]
    own = [
        [Transfer("1000.00", account_servicer_reference=f"R-{n}", structured_reference=reference)]
        for n, (_, reference) in list(enumerate(invoices))[25:27]
    ]
    first = build(Account(statement_id="S1", entries=shared + own[0]))
    second = build(Account(statement_id="S2", entries=list(reversed(shared)) + own[1]))
    accepted = [post_statement(api, first), post_statement(api, second)]
    assert [a.status_code for a in accepted] == [202, 202]

    barrier = threading.Barrier(racers, timeout=30)
    report = RunReport()

    def work() -> None:
        # The worker's own steps: each claims one import job, then both run at once.
        with racing.app_context():
            try:
                claim = claim_next()
                barrier.wait()
                run_claimed(claim, report)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=work) for _ in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert (report.done, report.kinds) == (2, {"bank.import_statement": 2})

    results = [api.get(f"/bank-statements/{a.json['id']}").json for a in accepted]
    assert [r["status"] for r in results] == ["done", "done"]
    assert sum(r["matched"] for r in results) == 27  # 25 shared, booked once, and one of each statement's own
    assert sum(r["duplicates"] for r in results) == 25
    with racing.app_context():
        assert db.session.scalar(select(func.count()).select_from(BankTransaction)) == 27
        assert db.session.scalar(select(func.count()).select_from(Receipt)) == 27
        assert db.session.scalar(select(func.sum(Payment.amount))) == 27 * 100000
        assert db.session.scalar(select(func.count()).select_from(CreditEntry)) == 0
    dispose(racing)

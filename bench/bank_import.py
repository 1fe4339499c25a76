"""Benchmark the bank statement import: entries per second, and how the time grows with the statement.

A CAMT.053 statement of N entries is matched against N open invoices, for N = 1,000 and 10,000.
Measured: parsing the XML, then matching (building the index included); then the whole import
as staff run it (portal.services.bank_import: loading the merchant's invoices and payers, storing
every transaction, booking the matched ones through the ledger with their mails in the outbox,
one commit) on a database of the benchmark's own with 10,000 open invoices.

Run: .venv/bin/python bench/bank_import.py [--database-url URL] [--booked-size N] [--no-database]
(default URL: $BENCH_DATABASE_URL, else postgresql+psycopg://postgres@127.0.0.1:5432/bench_bank;
a sqlite:/// URL works too).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from portal.domain.bank_matching import InvoiceIndex, InvoiceToMatch, KnownPayer, plan_import  # noqa: E402
from portal.domain.bank_statements import parse_statement  # noqa: E402
from portal.domain.payment_references import format_reference, ogm_reference  # noqa: E402
from tests.bank.camt import Account, Transfer, build  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_bank"

SIZES = (1_000, 10_000)
#: The goal: a month of a busy account (10,000 entries) imported in under 10 s, and linear growth.
GOAL_ENTRIES_PER_SECOND = 1_000
REPEATS = 3


def amount_text(minor: int) -> str:
    return f"{minor // 100}.{minor % 100:02d}"


def scenario(size: int, seed: int = 12) -> tuple[bytes, list[InvoiceToMatch], list[KnownPayer]]:
    """Return a statement of `size` entries, `size` open invoices and the payers known for them."""
    rng = random.Random(seed)
    customers = max(1, size // 10)
    invoices = [
        InvoiceToMatch(
            invoice_id=n,
            customer_id=n % customers,
            number=f"2026-{n:04d}",
            reference=ogm_reference(2026, n),
            currency="EUR",
            amount_due=rng.randrange(1_000, 500_000),
            outstanding=0,
        )
        for n in range(1, size + 1)
    ]
    invoices = [
        InvoiceToMatch(**{**i.__dict__, "outstanding": i.amount_due}) for i in invoices
    ]  # no late fees: outstanding = amount due
    payers = [
        KnownPayer(c, names=[f"Customer {c} BV"], ibans=[f"BE{c % 90 + 10:02d}0000{c:08d}"])
        for c in range(0, customers, 2)
    ]
    return statement_for(invoices, size, rng), invoices, payers


def statement_for(invoices: list[InvoiceToMatch], size: int, rng: random.Random) -> bytes:
    """Return a statement of `size` transfers aimed at the invoices: references, typos, bare amounts, strangers."""
    transfers = []
    for n in range(size):
        target = invoices[rng.randrange(len(invoices))]
        kind = rng.random()
        common = {
            "account_servicer_reference": f"BENCH-{n:06d}",
            "debtor_name": f"Customer {target.customer_id} BV",
            "debtor_iban": f"BE{target.customer_id % 90 + 10:02d}0000{target.customer_id:08d}",
        }
        if kind < 0.60:  # structured reference, the exact amount
            transfer = Transfer(
                amount_text(target.amount_due), structured_reference=format_reference(target.reference), **common
            )
        elif kind < 0.75:  # the reference in free text, with spaces
            digits = target.reference
            text = f"Invoice {target.number} ref {digits[:3]} {digits[3:7]} {digits[7:]} thank you"
            transfer = Transfer(amount_text(target.amount_due), unstructured=[text], **common)
        elif kind < 0.80:  # a typo in the reference
            wrong = target.reference[:5] + str((int(target.reference[5]) + 1) % 10) + target.reference[6:]
            transfer = Transfer(amount_text(target.amount_due), unstructured=[wrong], **common)
        elif kind < 0.90:  # no reference, the amount due, a payer maybe known
            transfer = Transfer(amount_text(target.amount_due), unstructured=["Payment"], **common)
        else:  # nothing to go on
            transfer = Transfer(
                amount_text(rng.randrange(1, 999)), debtor_name=f"Stranger {n}", account_servicer_reference=f"X-{n}"
            )
        transfers.append(transfer)
    return build(Account(entries=transfers))


def measure(size: int) -> dict[str, float]:
    document, invoices, payers = scenario(size)
    best = {"parse": float("inf"), "match": float("inf")}
    for _ in range(REPEATS):
        start = time.perf_counter()
        statement = parse_statement(document)
        parsed = time.perf_counter()
        plan = plan_import(statement.entries, InvoiceIndex.build(invoices, payers), seen_keys=frozenset())
        matched = time.perf_counter()
        best["parse"] = min(best["parse"], parsed - start)
        best["match"] = min(best["match"], matched - parsed)
    assert len(statement.entries) == size
    best["bytes"] = len(document)
    best.update(plan.summary)
    return best


def measure_parse_and_match() -> None:
    results = {size: measure(size) for size in SIZES}
    print(f"Bank statement import, parse + match (best of {REPEATS}); N entries against N open invoices")
    for size, r in results.items():
        total = r["parse"] + r["match"]
        print(
            f"N = {size:>6,}: {r['bytes'] / 1e6:5.1f} MB  parse {r['parse'] * 1000:7.1f} ms  "
            f"match {r['match'] * 1000:7.1f} ms  total {total * 1000:7.1f} ms  "
            f"= {size / total:8,.0f} entries/s   (goal ≥ {GOAL_ENTRIES_PER_SECOND:,} entries/s)"
        )
        print(f"            matched {r['matched']:,}, suggested {r['suggested']:,}, unmatched {r['unmatched']:,}")
    small, large = (results[s] for s in SIZES)
    ratio = lambda key: large[key] / small[key]  # noqa: E731
    growth = SIZES[1] / SIZES[0]
    print(
        f"time 10,000 / 1,000: parse ×{ratio('parse'):.1f}, match ×{ratio('match'):.1f}, "
        f"total ×{(large['parse'] + large['match']) / (small['parse'] + small['match']):.1f}  "
        f"(goal: linear, ≈ ×{growth:.0f}; quadratic matching would be ≈ ×{growth**2:.0f})"
    )


def ensure_database(url: str) -> None:
    import sqlalchemy as sa

    target = sa.engine.make_url(url)
    if not target.drivername.startswith("postgresql"):
        return
    if target.database in ("test", None):
        raise SystemExit("Use a database of the benchmark's own (e.g. bench_bank), never the tests'")
    admin = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        exists = connection.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": target.database})
        if not exists:
            connection.execute(sa.text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()


class DatabaseClock:
    """Count the SQL statements run and the time spent waiting on the database while active."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self.statements = 0
        self.seconds = 0.0
        self._started: list[float] = []

    def _before(self, *args) -> None:
        self._started.append(time.perf_counter())

    def _after(self, *args) -> None:
        self.statements += 1
        self.seconds += time.perf_counter() - self._started.pop()

    def __enter__(self):
        import sqlalchemy as sa

        sa.event.listen(self.engine, "before_cursor_execute", self._before)
        sa.event.listen(self.engine, "after_cursor_execute", self._after)
        return self

    def __exit__(self, *exc) -> None:
        import sqlalchemy as sa

        sa.event.remove(self.engine, "before_cursor_execute", self._before)
        sa.event.remove(self.engine, "after_cursor_execute", self._after)


def fresh_bench_merchant():
    """Empty the benchmark's own database, migrate it, and create a Belgian merchant with its legal details and IBAN.

    Inside an app context; the other database benchmarks (bench/mail_worker.py) start from it too.
    """
    import sqlalchemy as sa
    from flask_migrate import upgrade

    from portal.extensions import db
    from portal.services import merchants

    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as connection:
            connection.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    else:
        db.drop_all()
        with db.engine.begin() as connection:
            connection.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
    upgrade()
    merchant = merchants.create_merchant(name="Atelier Lumen", slug="bench", timezone="UTC")
    for key, value in {
        "legal_name": "Atelier Lumen",
        "address_line1": "Rue de la Loi 16",
        "postal_code": "1000",
        "city": "Brussels",
        "country": "BE",
        "vat_number": "BE0403170701",
        "support_email": "billing@lumen.example",
        "iban": "BE68539007547034",
    }.items():
        setattr(merchant, key, value)
    return merchant


def measure_import(url: str, size: int) -> None:
    """Time the whole import with booking: size entries against size open invoices of one merchant."""

    from portal import create_app
    from portal.domain.invoices import Line
    from portal.extensions import db
    from portal.services import bank_import, customers, invoices

    ensure_database(url)
    app = create_app({"SECRET_KEY": "bench-secret", "DATABASE_URL": url, "TESTING": True})
    app.config["PUBLIC_URL"] = "http://bench.test"
    rng = random.Random(12)
    started = time.perf_counter()
    with app.app_context():
        merchant = fresh_bench_merchant()
        people = [
            customers.create_customer(merchant, name=f"Customer {c} BV", email=f"c{c}@example.com", language="en")
            for c in range(max(1, size // 10))
        ]
        indexed = []
        for n in range(size):
            customer = people[n % len(people)]
            amount = rng.randrange(1_000, 500_000)
            invoice = invoices.create_draft(
                merchant,
                customer=customer,
                currency="EUR",
                issue_date=date(2026, 1, 1),
                due_date=date(2099, 12, 31),
                lines=[Line("Consulting", Decimal(1), amount, Decimal(0), Decimal(0))],
            )
            invoices.finalize_invoice(invoice)
            indexed.append(
                InvoiceToMatch(
                    invoice.id, customer.id, invoice.number, invoice.payment_reference, "EUR", amount, amount
                )
            )
            if n % 500 == 499:
                db.session.commit()
        db.session.commit()
        document = statement_for(indexed, size, rng)
        print(f"set-up: {size:,} open invoices on {db.engine.dialect.name}, {time.perf_counter() - started:.1f} s")
        merchant = db.session.get(type(merchant), merchant.id)
        database = DatabaseClock(db.engine)
        start = time.perf_counter()
        with database:
            result = bank_import.import_statement(merchant, document)
            commit_start = time.perf_counter()
            db.session.commit()
            commit = time.perf_counter() - commit_start
        elapsed = time.perf_counter() - start
        again_start = time.perf_counter()
        again = bank_import.import_statement(merchant, document)
        db.session.commit()
        again_elapsed = time.perf_counter() - again_start
        backend = db.engine.dialect.name
    print(
        f"Whole import with booking ({backend}): {size:,} entries against {size:,} open "
        f"invoices in {elapsed:.1f} s = {size / elapsed:,.0f} entries/s   "
        f"(goal ≥ {GOAL_ENTRIES_PER_SECOND:,} entries/s)"
    )
    print(f"            {result.as_dict()}")
    parse = elapsed - sum(result.timings.values()) - commit
    print(
        f"  where the time goes ({database.statements:,} SQL statements, {database.seconds:.1f} s waiting on the database):"
    )
    for step, seconds in [("parse the XML", parse), *result.timings.items(), ("commit", commit)]:
        print(f"    {step:<34} {seconds:6.2f} s  {seconds / elapsed:4.0%}")
    print(
        f"The same statement again (all duplicates): {again_elapsed:.1f} s = {size / again_elapsed:,.0f} entries/s; "
        f"{again.as_dict()}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--booked-size", type=int, default=10_000)
    parser.add_argument("--no-database", action="store_true", help="Only parse and match.")
    args = parser.parse_args()
    measure_parse_and_match()
    if not args.no_database:
        measure_import(args.database_url, args.booked_size)


if __name__ == "__main__":
    main()

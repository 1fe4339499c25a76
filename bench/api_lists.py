"""Benchmark the API's invoice list at 1,000,000 invoices on PostgreSQL: the first page, a page far in, a search.

Bulk-loads one merchant with 1,000 customers and 1,000,000 invoices (one line each; a tenth drafts,
a fifth open, the rest paid; issue dates spread over five years) by cloning one real finalized
invoice in SQL, then times GET /api/v1/invoices through the app (authentication, rate limit,
serialization of every invoice included):

- the first page of 200 invoices, and the 5,000th page of 200 (rows 999,801–1,000,000), each read
  as two requests of 100 (the API's largest page) following the cursor;
- a search by customer (q=<part of an email>, 1,000 matching invoices) and by invoice number;

and prints PostgreSQL's plan of the keyset query, which walks ix_invoices_merchant_id_issue_date_id
from the cursor instead of counting rows off (no OFFSET). Uses its own database (emptied first; never
the tests' `test`):

    .venv/bin/python bench/api_lists.py [--invoices 1000000]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_api_lists]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from flask_migrate import upgrade  # noqa: E402

from portal import create_app  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.services import customers, merchants  # noqa: E402
from tests.factories import LEGAL_IDENTITY, line, make_invoice  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_api_lists"
CUSTOMERS = 1_000
PAGE = 200
REPEATS = 5


def ensure_database(url: str) -> None:
    target = sa.engine.make_url(url)
    if target.database in ("test", None):
        raise SystemExit("Use a database of the benchmark's own (e.g. bench_api_lists), never the tests'")
    engine = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        exists = connection.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": target.database})
        if exists.first() is None:
            connection.execute(sa.text(f'CREATE DATABASE "{target.database}"'))
    engine.dispose()


def build(app, invoices: int) -> str:
    """Empty the database, load the merchant, its customers and `invoices` invoices; return an API key."""
    with app.app_context():
        with db.engine.begin() as connection:
            connection.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade()
        merchant = merchants.create_merchant(name="Bench", slug="bench", timezone="UTC")
        for key, value in {**LEGAL_IDENTITY, "legal_name": "Bench SA", "support_email": "b@bench.example"}.items():
            setattr(merchant, key, value)
        _key, token = merchants.create_api_key(merchant)
        first = customers.create_customer(merchant, name="Customer 0000", email="customer0000@bench.example")
        template = make_invoice(first, lines=[line(tax_rate="21")])
        db.session.commit()
        merchant_id, template_id, first_customer = merchant.id, template.id, first.id
        started = time.perf_counter()
        with db.engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO customers (merchant_id, name, email, language, link_version, created_at)"
                    " SELECT :m, 'Customer ' || lpad(n::text, 4, '0'),"
                    " 'customer' || lpad(n::text, 4, '0') || '@bench.example', 'en', 1, now()"
                    " FROM generate_series(1, :count) AS n"
                ),
                {"m": merchant_id, "count": CUSTOMERS - 1},
            )
            columns = [
                c.name
                for c in db.metadata.tables["invoices"].columns
                if c.name
                not in ("id", "number", "status", "customer_id", "issue_date", "due_date", "paid_on", "created_at")
                and c.name not in ("updated_at", "seller", "buyer", "language", "exemption_reasons", "finalized_at")
            ]
            copied = ", ".join(columns)
            # One template row, cloned: a tenth drafts, a fifth open, the rest paid; five years of issue dates.
            connection.execute(
                sa.text(
                    f"INSERT INTO invoices ({copied}, number, status, customer_id, issue_date, due_date, paid_on,"
                    " created_at, updated_at, seller, buyer, language, exemption_reasons, finalized_at)"
                    f" SELECT {copied},"
                    " CASE WHEN n % 10 = 0 THEN NULL ELSE 'B' || lpad(n::text, 7, '0') END,"
                    " CASE WHEN n % 10 = 0 THEN 'draft' WHEN n % 10 < 3 THEN 'open' ELSE 'paid' END,"
                    " :first + (n % :customers),"
                    " date '2021-01-01' + ((n::bigint * 7919) % 1826)::int,"
                    " date '2021-01-01' + ((n::bigint * 7919) % 1826)::int + 30,"
                    " CASE WHEN n % 10 >= 3 THEN date '2021-01-01' + ((n::bigint * 7919) % 1826)::int + 10 END,"
                    " now() - make_interval(secs => :count - n), now() - make_interval(secs => :count - n),"
                    " CASE WHEN n % 10 = 0 THEN NULL ELSE seller END,"
                    " CASE WHEN n % 10 = 0 THEN NULL ELSE buyer END,"
                    " CASE WHEN n % 10 = 0 THEN NULL ELSE language END,"
                    " CASE WHEN n % 10 = 0 THEN NULL ELSE exemption_reasons END,"
                    " CASE WHEN n % 10 = 0 THEN NULL ELSE finalized_at END"
                    " FROM invoices, generate_series(1, :count) AS n WHERE invoices.id = :template"
                ),
                {"first": first_customer, "customers": CUSTOMERS, "count": invoices - 1, "template": template_id},
            )
            line_columns = [
                c.name for c in db.metadata.tables["invoice_lines"].columns if c.name not in ("id", "invoice_id")
            ]
            copied_lines = ", ".join(line_columns)
            connection.execute(
                sa.text(
                    f"INSERT INTO invoice_lines (invoice_id, {copied_lines})"
                    f" SELECT invoices.id, {', '.join('l.' + name for name in line_columns)}"
                    " FROM invoices JOIN invoice_lines l ON l.invoice_id = :template WHERE invoices.id <> :template"
                ),
                {"template": template_id},
            )
            connection.execute(sa.text("ANALYZE"))
        print(f"loaded {invoices:,} invoices and {CUSTOMERS:,} customers in {time.perf_counter() - started:.0f} s")
        db.session.remove()
    return token


def timed(client, token: str, path: str) -> tuple[float, dict]:
    started = time.perf_counter()
    answer = client.get("/api/v1" + path, headers={"Authorization": f"Bearer {token}"})
    elapsed = time.perf_counter() - started
    if answer.status_code != 200:
        raise SystemExit(f"GET {path}: {answer.status_code} {answer.get_data(as_text=True)[:300]}")
    return elapsed, answer.json


def page_of_200(client, token: str, after: int | None, query: str = "") -> tuple[float, list[dict]]:
    """Read 200 invoices as two pages of 100 following the cursor; return the time and the rows."""
    total, rows = 0.0, []
    for _ in range(2):
        cursor = f"&starting_after={after}" if after is not None else ""
        elapsed, body = timed(client, token, f"/invoices?limit=100{cursor}{query}")
        total += elapsed
        rows += body["data"]
        if not body["has_more"]:
            break
        after = body["data"][-1]["id"]
    return total, rows


def median_ms(samples: list[float]) -> str:
    return f"{statistics.median(samples) * 1000:7.1f} ms (median of {len(samples)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    args = parser.parse_args()
    ensure_database(args.database_url)
    app = create_app(
        {
            "DATABASE_URL": args.database_url,
            "SECRET_KEY": "bench",
            "TESTING": True,
            "API_RATE_LIMIT": "100000/minute",
            # Loading a million rows takes longer than a request may.
            "DATABASE_STATEMENT_TIMEOUT_MS": 0,
        }
    )
    token = build(app, args.invoices)
    client = app.test_client()
    with app.app_context():
        # The cursor of the last page of 200 (the 5,000th at a million): the row just before it, found once.
        pages = args.invoices // PAGE
        row = PAGE * (pages - 1)
        far = db.session.execute(
            sa.text("SELECT id, issue_date FROM invoices ORDER BY issue_date DESC, id DESC OFFSET :n LIMIT 1"),
            {"n": row - 1},
        ).first()
        plan = db.session.execute(
            sa.text(
                "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) SELECT * FROM invoices WHERE merchant_id = 1"
                " AND (issue_date, id) < (:d, :i) ORDER BY issue_date DESC, id DESC LIMIT 101"
            ),
            {"d": far.issue_date, "i": far.id},
        ).scalars()
        plan = list(plan)
        db.session.remove()

    timed(client, token, "/invoices?limit=1")  # warm up the app and the pool
    first = [page_of_200(client, token, None)[0] for _ in range(REPEATS)]
    deep_samples, deep_rows = [], []
    for _ in range(REPEATS):
        elapsed, deep_rows = page_of_200(client, token, far.id)
        deep_samples.append(elapsed)
    by_customer = [page_of_200(client, token, None, "&q=customer0042@")[0] for _ in range(REPEATS)]
    by_number = [timed(client, token, "/invoices?limit=100&q=b0500003")[0] for _ in range(REPEATS)]
    filtered = [
        page_of_200(client, token, None, "&status=open&issue_date[gte]=2024-01-01&issue_date[lte]=2024-12-31")[0]
        for _ in range(REPEATS)
    ]

    print(f"\nGET /api/v1/invoices at {args.invoices:,} invoices (pages of {PAGE} read as 2 × 100):")
    print(f"  first page                               {median_ms(first)}")
    print(f"  page {pages:,} (rows {row + 1:,}–{row + PAGE:,})    {median_ms(deep_samples)}  ({len(deep_rows)} rows)")
    print(f"  search a customer (q=customer0042@)      {median_ms(by_customer)}")
    print(f"  search a number (q=b0500003)             {median_ms(by_number)}")
    print(f"  status=open, issued in 2024              {median_ms(filtered)}")
    print("\nPostgreSQL's plan of the page far in:")
    for text in plan:
        print("  " + text)


if __name__ == "__main__":
    main()

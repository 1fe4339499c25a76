"""Benchmark the customer portal's pages for customers with 10, 10,000 and 100,000 invoices.

Prints the median server time of the overview and of an invoice page for each customer and the
ratio largest / 10 (goal ≤ 1.2: flat in the number of invoices), the SQL statements per page (they
must be equal), the overview's first visit of the day (when it sums every open invoice's amount
due once and keeps it, portal.models.dues), and the invoice page's and the overview's requests per
second under gunicorn with 2 workers, as a ratio to the trivial /healthz route (goals ≥ 0.5, ≥ 0.3).

Ten real invoices per customer are made through the services (paid, credited, partly paid, void,
open); the rest are cloned from one of them in SQL (a tenth void, three tenths open, the rest paid).

Run: .venv/bin/python bench/portal_pages.py [--sizes 10,10000,100000]
     (a few minutes; needs nothing but the venv: a temporary SQLite database)
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from sqlalchemy import event  # noqa: E402

from portal import create_app  # noqa: E402
from portal.domain.invoices import Line  # noqa: E402
from portal.domain.late_fees import LateFeePolicy  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.services import credit_notes, customers, invoices, links, merchants  # noqa: E402
from portal.services.portal_pages import PAGE_SIZE  # noqa: E402
from tests.factories import LEGAL_IDENTITY  # noqa: E402

SIZES = (10, 10_000, 100_000)
REAL = 10  # invoices made through the services per customer; the rest are cloned in SQL
TIMED_REQUESTS = 30
COLD_REQUESTS = 3
GOAL_FLAT = 1.2
GOAL_INVOICE_PAGE = 0.5
GOAL_OVERVIEW = 0.3
LOAD_SECONDS = 4.0
LOAD_MAX_REQUESTS = 4000
LOAD_THREADS = 8
SECRET = "bench-secret-key"


def build_app(database_url: str):
    return create_app(
        {
            "SECRET_KEY": SECRET,
            "DEVELOPMENT": True,
            "DATABASE_URL": database_url,
            "PUBLIC_URL": "http://bench",
            "LOG_LEVEL": "WARNING",  # no line per request in the figures
        }
    )


def fill(app, sizes: tuple[int, ...]) -> list[tuple[int, str]]:
    """Create a merchant and one customer per size; return each customer's id and a partly paid open invoice."""
    from flask_migrate import upgrade

    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        merchant = merchants.create_merchant(name="Bench & Co", slug="bench", timezone="UTC")
        # Documents cannot be finalized without the seller's legal identity (art. 226).
        for key, value in {**LEGAL_IDENTITY, "legal_name": "Bench & Co SA", "support_email": "b@bench.example"}.items():
            setattr(merchant, key, value)
        merchants.set_late_fee_policy(merchant, LateFeePolicy(Decimal("12"), Decimal("0"), 4000, 0))
        today = merchant.today()
        lines = [
            Line("Consulting", Decimal("8"), 12000, Decimal("21")),
            Line("Travel", Decimal("1"), 4550, Decimal("6")),
            Line("Licence", Decimal("3"), 9900, Decimal("21"), Decimal("10")),
        ]
        customers_made = []
        for size in sizes:
            customer = customers.create_customer(merchant, name=f"{size:,} Invoices Ltd", email=f"{size}@bench.example")
            template = sample = None
            for n in range(REAL):
                issued = today - timedelta(days=3 * (REAL - n))
                invoice = invoices.create_draft(
                    merchant,
                    customer=customer,
                    currency="EUR",
                    issue_date=issued,
                    due_date=issued + timedelta(days=30),
                    lines=lines,
                )
                invoices.finalize_invoice(invoice)
                kind = n % 10
                if kind < 4:
                    invoices.record_payment(
                        invoice, amount=invoice.total, paid_on=min(today, issued + timedelta(days=20)), method="cash"
                    )
                elif kind == 6:
                    credit_notes.issue_credit_note(
                        invoice,
                        lines=[Line("Goodwill", Decimal("1"), 5000, Decimal("21"))],
                        issue_date=min(today, issued + timedelta(days=5)),
                    )
                elif kind == 7:
                    invoices.record_payment(invoice, amount=20000, paid_on=today, method="bank_transfer")
                    sample = invoice.number
                elif kind == 8:
                    invoices.void_invoice(invoice)
                elif kind == 9:
                    template = invoice
            db.session.commit()
            if size > REAL:
                clone(template, size - REAL)
            customers_made.append((customer.id, sample))
        return customers_made


def clone(template, count: int) -> None:
    """Add `count` invoices to the template's customer, copied in SQL: older, a tenth void, 3/10 open, the rest paid."""
    table = db.metadata.tables["invoices"]
    varying = {"id", "number", "payment_reference", "status", "issue_date", "due_date", "paid_on", "voided_at"}
    kept = [c.name for c in table.columns if c.name not in varying]
    copied = ", ".join(kept)
    with db.engine.begin() as connection:
        connection.execute(
            sa.text(
                f"WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < :count) "
                f"INSERT INTO invoices ({copied}, number, status, issue_date, due_date, paid_on, voided_at) "
                f"SELECT {copied}, 'C' || customer_id || '-' || n,"
                " CASE WHEN n % 10 < 6 THEN 'paid' WHEN n % 10 = 8 THEN 'void' ELSE 'open' END,"
                " date(:start, '-' || (n / 3) || ' days'), date(:start, '-' || (n / 3) || ' days', '+30 days'),"
                " CASE WHEN n % 10 < 6 THEN date(:start, '-' || (n / 3) || ' days', '+20 days') END,"
                " CASE WHEN n % 10 = 8 THEN finalized_at END"
                " FROM invoices, seq WHERE invoices.id = :template"
            ),
            {"count": count, "template": template.id, "start": (template.issue_date - timedelta(days=40)).isoformat()},
        )
        line_columns = [
            c.name for c in db.metadata.tables["invoice_lines"].columns if c.name not in ("id", "invoice_id")
        ]
        connection.execute(
            sa.text(
                f"INSERT INTO invoice_lines (invoice_id, {', '.join(line_columns)})"
                f" SELECT i.id, {', '.join('l.' + name for name in line_columns)}"
                " FROM invoices i JOIN invoice_lines l ON l.invoice_id = :template"
                " WHERE i.customer_id = :customer AND i.number LIKE 'C%'"
            ),
            {"template": template.id, "customer": template.customer_id},
        )
        # Money on the clones as on real invoices: paid ones paid in full, a tenth partly paid.
        connection.execute(
            sa.text(
                "INSERT INTO payments (merchant_id, invoice_id, amount, fee_amount, interest_amount, currency, paid_on,"
                " method, created_at)"
                " SELECT merchant_id, id, CASE WHEN status = 'paid' THEN total ELSE 20000 END, 0, 0, currency,"
                " COALESCE(paid_on, date(issue_date, '+10 days')), 'cash', created_at FROM invoices"
                " WHERE customer_id = :customer AND number LIKE 'C%'"
                " AND (status = 'paid' OR CAST(substr(number, instr(substr(number, 2), '-') + 2) AS INTEGER) % 10 = 7)"
            ),
            {"customer": template.customer_id},
        )
        connection.execute(sa.text("ANALYZE"))


def signed_in_client(app, customer_id: int):
    client = app.test_client()
    with app.app_context():
        customer = db.session.get(customers.Customer, customer_id)
        path = "/l/" + links.make_portal_link(customer).url.rsplit("/l/", 1)[1]
    assert client.get(path).status_code == 303
    return client, path


def median_ms(client, path: str, repeats: int = TIMED_REQUESTS) -> float:
    client.get(path)  # warm caches and Jinja
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        response = client.get(path)
        times.append(time.perf_counter() - start)
        assert response.status_code == 200, (path, response.status_code)
    return statistics.median(times) * 1000


def cold_overview_ms(app, client, customer_id: int) -> float:
    """Time the overview when its kept amounts due are out of date (the day's first visit, or after a payment)."""
    times = []
    for _ in range(COLD_REQUESTS):
        with app.app_context():
            db.session.execute(
                sa.text(
                    "UPDATE customer_dues SET version = version + 1, as_of = NULL, amounts = NULL WHERE customer_id = :c"
                ),
                {"c": customer_id},
            )
            db.session.commit()
        start = time.perf_counter()
        assert client.get("/").status_code == 200
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def statements(app, client, path: str) -> int:
    seen = []

    def count(*_args):
        seen.append(1)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        assert client.get(path).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(seen)


def where_time_goes(app, client, path: str, repeats: int = TIMED_REQUESTS) -> dict[str, float]:
    """Split a page's median server time into database round trips, Jinja rendering and the rest (ms)."""
    from flask import before_render_template, template_rendered

    spans: dict[str, float] = {}
    started: dict[str, list[float]] = {"db": [], "render": []}

    def db_start(*_args, **_kwargs):
        started["db"].append(time.perf_counter())

    def db_end(*_args, **_kwargs):
        if started["db"]:
            spans["db"] += time.perf_counter() - started["db"].pop()

    def render_start(*_args, **_kwargs):
        started["render"].append(time.perf_counter())

    def render_end(*_args, **_kwargs):
        if started["render"]:
            spans["render"] += time.perf_counter() - started["render"].pop()

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", db_start)
    event.listen(engine, "after_cursor_execute", db_end)
    before_render_template.connect(render_start, app)
    template_rendered.connect(render_end, app)
    samples = []
    try:
        for _ in range(repeats):
            spans.update(db=0.0, render=0.0)
            start = time.perf_counter()
            assert client.get(path).status_code == 200
            total = time.perf_counter() - start
            samples.append((total, spans["db"], spans["render"]))
    finally:
        event.remove(engine, "before_cursor_execute", db_start)
        event.remove(engine, "after_cursor_execute", db_end)
        before_render_template.disconnect(render_start, app)
        template_rendered.disconnect(render_end, app)
    total, database, render = sorted(samples)[len(samples) // 2]  # the request of median total time
    return {"total": total * 1000, "db": database * 1000, "render": render * 1000}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(port: int, path: str, cookie: str = "") -> tuple[int, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers={"Cookie": cookie} if cookie else {})
        response = connection.getresponse()
        response.read()
        return response.status, dict(response.getheaders())
    finally:
        connection.close()


def requests_per_second(port: int, path: str, cookie: str) -> float:
    """Hit path from a thread pool for LOAD_SECONDS (at most LOAD_MAX_REQUESTS) and return the rate."""
    deadline = time.perf_counter() + LOAD_SECONDS

    def worker(_):
        done = 0
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        while time.perf_counter() < deadline and done < LOAD_MAX_REQUESTS // LOAD_THREADS:
            connection.request("GET", path, headers={"Cookie": cookie})
            response = connection.getresponse()
            response.read()
            assert response.status == 200, response.status
            done += 1
            if response.getheader("Connection", "").lower() == "close":
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.close()
        return done

    start = time.perf_counter()
    with ThreadPoolExecutor(LOAD_THREADS) as pool:
        total = sum(pool.map(worker, range(LOAD_THREADS)))
    return total / (time.perf_counter() - start)


def gunicorn_rates(database_url: str, link_path: str, invoice_path: str) -> tuple[float, float, float]:
    """Return the requests per second of the invoice page, the overview and /healthz under gunicorn."""
    port = free_port()
    env = dict(
        os.environ,
        PORTAL_DATABASE_URL=database_url,
        PORTAL_DEVELOPMENT="true",
        PORTAL_SECRET_KEY=SECRET,
        PORTAL_PUBLIC_URL="http://bench",
        PORTAL_RATELIMIT_ENABLED="false",
        # One log line per request would flood the figures (and cost the same on both routes).
        PORTAL_LOG_LEVEL="WARNING",
    )
    gunicorn = Path(sys.executable).with_name("gunicorn")
    process = subprocess.Popen(
        [
            str(gunicorn),
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
            "--chdir",
            str(ROOT),
            "--log-level",
            "warning",
            "wsgi:app",
        ],
        env=env,
    )
    try:
        for _ in range(100):
            try:
                if get(port, "/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError("gunicorn did not start")
        status, headers = get(port, link_path)
        assert status == 303, status
        cookie = headers["Set-Cookie"].split(";", 1)[0]
        assert get(port, invoice_path, cookie)[0] == 200
        assert get(port, "/", cookie)[0] == 200
        page = requests_per_second(port, invoice_path, cookie)
        overview = requests_per_second(port, "/", cookie)
        trivial = requests_per_second(port, "/healthz", cookie)
        return page, overview, trivial
    finally:
        process.terminate()
        process.wait(timeout=10)


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(str(n) for n in SIZES), help="invoices per customer")
    args = parser.parse_args()
    sizes = tuple(sorted(int(n) for n in args.sizes.split(",")))
    with tempfile.TemporaryDirectory(prefix="portal-bench-") as folder:
        database_url = f"sqlite:///{folder}/bench.db"
        app = build_app(database_url)
        started = time.perf_counter()
        made = fill(app, sizes)
        print(
            f"Filled customers with {', '.join(f'{n:,}' for n in sizes)} invoices in {time.perf_counter() - started:.1f} s"
        )

        results = {}
        for size, (customer_id, number) in zip(sizes, made, strict=True):
            client, link_path = signed_in_client(app, customer_id)
            invoice_path = f"/invoices/{number}"
            cold = cold_overview_ms(app, client, customer_id)
            results[size] = {
                "overview": median_ms(client, "/"),
                "invoice": median_ms(client, invoice_path),
                "cold": cold,
                "overview_sql": statements(app, client, "/"),
                "invoice_sql": statements(app, client, invoice_path),
                "link": link_path,
                "path": invoice_path,
            }
        print(f"\nServer time in process (median of {TIMED_REQUESTS}; test client, SQLite):")
        print(
            f"  {'invoices':>9}  {'overview':>10}  {'invoice page':>12}  {'SQL overview/page':>17}  {'overview, 1st visit of day':>26}"
        )
        for size, r in results.items():
            print(
                f"  {size:>9,}  {r['overview']:7.1f} ms  {r['invoice']:9.1f} ms  {r['overview_sql']:>8} / {r['invoice_sql']:<6}"
                f"  {r['cold']:12.1f} ms (median of {COLD_REQUESTS})"
            )
        small, large = results[sizes[0]], results[sizes[-1]]
        overview_ratio = large["overview"] / small["overview"]
        invoice_ratio = large["invoice"] / small["invoice"]
        print(
            f"  ratio {sizes[-1]:,} / {sizes[0]:,}: overview {overview_ratio:.2f}, invoice page {invoice_ratio:.2f}"
            f"  (goal ≤ {GOAL_FLAT}: {verdict(overview_ratio <= GOAL_FLAT)}, {verdict(invoice_ratio <= GOAL_FLAT)})"
        )
        if len(sizes) > 2:
            middle = results[sizes[-2]]
            print(
                f"  ratio {sizes[-1]:,} / {sizes[-2]:,} (both show full pages of {PAGE_SIZE} rows per section):"
                f" overview {large['overview'] / middle['overview']:.2f}, invoice page"
                f" {large['invoice'] / middle['invoice']:.2f}; with {sizes[0]} invoices the overview shows"
                f" {sizes[0]} rows in all, so its rendering is lighter"
            )
        print(
            f"  the overview's first visit of the day sums every open invoice once ({large['cold']:.0f} ms at"
            f" {sizes[-1]:,}); later visits read the kept sums"
        )
        same_sql = len({(r["overview_sql"], r["invoice_sql"]) for r in results.values()}) == 1
        print(f"  SQL statements equal at every size: {verdict(same_sql)}")

        page_rps, overview_rps, trivial_rps = gunicorn_rates(database_url, large["link"], large["path"])
        print(
            f"\ngunicorn, 2 workers, {LOAD_THREADS} client threads, {LOAD_SECONDS:.0f} s each, customer with {sizes[-1]:,} invoices:"
        )
        print(
            f"  invoice page {page_rps:7.0f} req/s, overview {overview_rps:7.0f} req/s, /healthz {trivial_rps:7.0f} req/s"
        )
        print(
            f"  ratio invoice page / healthz {page_rps / trivial_rps:.2f} (goal ≥ {GOAL_INVOICE_PAGE}:"
            f" {verdict(page_rps / trivial_rps >= GOAL_INVOICE_PAGE)}),"
            f" overview / healthz {overview_rps / trivial_rps:.2f} (goal ≥ {GOAL_OVERVIEW}:"
            f" {verdict(overview_rps / trivial_rps >= GOAL_OVERVIEW)})"
        )
        print("\nWhere a request's server time goes (customer with the most invoices, median, in process):")
        client, _ = signed_in_client(app, made[-1][0])
        for label, path in (("invoice page", large["path"]), ("overview", "/")):
            split = where_time_goes(app, client, path)
            rest = split["total"] - split["db"] - split["render"]
            print(
                f"  {label:12} {split['total']:6.1f} ms: SQL round trips {split['db']:5.1f} ms"
                f" ({split['db'] / split['total']:.0%}), Jinja rendering {split['render']:5.1f} ms"
                f" ({split['render'] / split['total']:.0%}), the rest (ORM, breakdowns, Flask, session) {rest:5.1f} ms"
            )
        if not same_sql:
            sys.exit("The number of SQL statements grows with the number of invoices")


if __name__ == "__main__":
    main()

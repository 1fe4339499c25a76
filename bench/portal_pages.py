"""Benchmark the customer portal's pages for a customer with 1,000 invoices.

Prints the median server time of the overview and of an invoice page, the SQL statements
per page for 10 and for 1,000 invoices (they must be equal), and the invoice page's
requests per second under gunicorn with 2 workers, as a ratio to the trivial /healthz route.

Run: .venv/bin/python bench/portal_pages.py   (about a minute; needs nothing but the venv)
"""

from __future__ import annotations

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

from sqlalchemy import event  # noqa: E402

from portal import create_app  # noqa: E402
from portal.domain.invoices import Line  # noqa: E402
from portal.domain.late_fees import LateFeePolicy  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.services import credit_notes, customers, invoices, links, merchants  # noqa: E402

INVOICES = 1000
FEW = 10
TIMED_REQUESTS = 30
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


def fill(app) -> tuple[int, int, str, str]:
    """Create a merchant, a customer with 1,000 invoices and one with 10; return their ids and a
    partly paid open invoice of each (pages of the same kind, so their statements compare)."""
    from flask_migrate import upgrade

    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        merchant = merchants.create_merchant(name="Bench & Co", slug="bench", timezone="UTC")
        merchants.set_late_fee_policy(merchant, LateFeePolicy(Decimal("12"), Decimal("0"), 4000, 0))
        today = merchant.today()
        lines = [
            Line("Consulting", Decimal("8"), 12000, Decimal("21")),
            Line("Travel", Decimal("1"), 4550, Decimal("6")),
            Line("Licence", Decimal("3"), 9900, Decimal("21"), Decimal("10")),
        ]
        ids = []
        samples = []
        for name, count in (("Many Invoices Ltd", INVOICES), ("Few Invoices Ltd", FEW)):
            customer = customers.create_customer(merchant, name=name, email=f"{count}@bench.example")
            for n in range(count):
                issued = today - timedelta(days=3 * (count - n))
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
                if kind < 6:  # most of a long history is paid
                    invoices.record_payment(
                        invoice,
                        amount=invoice.total,
                        paid_on=min(today, issued + timedelta(days=20)),
                        method="bank_transfer",
                    )
                elif kind == 6:
                    credit_notes.issue_credit_note(
                        invoice,
                        lines=[Line("Goodwill", Decimal("1"), 5000, Decimal("21"))],
                        issue_date=min(today, issued + timedelta(days=5)),
                    )
                elif kind == 7:
                    invoices.record_payment(
                        invoice, amount=20000, paid_on=min(today, issued + timedelta(days=40)), method="bank_transfer"
                    )
                elif kind == 8 and n < count - 20:
                    invoices.void_invoice(invoice)
                if kind == 7:
                    sample = invoice.number
                if n % 100 == 0:
                    db.session.commit()
            db.session.commit()
            ids.append(customer.id)
            samples.append(sample)
        return ids[0], ids[1], samples[0], samples[1]


def signed_in_client(app, customer_id: int):
    client = app.test_client()
    with app.app_context():
        customer = db.session.get(customers.Customer, customer_id)
        path = "/l/" + links.make_portal_link(customer).url.rsplit("/l/", 1)[1]
    assert client.get(path).status_code == 303
    return client, path


def median_ms(client, path: str) -> float:
    client.get(path)  # warm caches and Jinja
    times = []
    for _ in range(TIMED_REQUESTS):
        start = time.perf_counter()
        response = client.get(path)
        times.append(time.perf_counter() - start)
        assert response.status_code == 200, (path, response.status_code)
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


def gunicorn_ratio(database_url: str, link_path: str, invoice_path: str) -> tuple[float, float]:
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
        page = requests_per_second(port, invoice_path, cookie)
        trivial = requests_per_second(port, "/healthz", cookie)
        return page, trivial
    finally:
        process.terminate()
        process.wait(timeout=10)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="portal-bench-") as folder:
        database_url = f"sqlite:///{folder}/bench.db"
        app = build_app(database_url)
        started = time.perf_counter()
        many_id, few_id, number, few_number = fill(app)
        print(f"Filled {INVOICES} + {FEW} invoices in {time.perf_counter() - started:.1f} s")

        many, link_path = signed_in_client(app, many_id)
        few, _ = signed_in_client(app, few_id)
        invoice_path = f"/invoices/{number}"

        print(
            f"Overview, {INVOICES} invoices:      median {median_ms(many, '/'):6.1f} ms over {TIMED_REQUESTS} requests"
        )
        print(
            f"Invoice page ({number}):    median {median_ms(many, invoice_path):6.1f} ms over {TIMED_REQUESTS} requests"
        )
        overview_few, overview_many = statements(app, few, "/"), statements(app, many, "/")
        invoice_few = statements(app, few, f"/invoices/{few_number}")
        invoice_many = statements(app, many, invoice_path)
        print(f"SQL statements, overview:     {overview_few} with {FEW} invoices, {overview_many} with {INVOICES}")
        print(f"SQL statements, invoice page: {invoice_few} with {FEW} invoices, {invoice_many} with {INVOICES}")

        page_rps, trivial_rps = gunicorn_ratio(database_url, link_path, invoice_path)
        print(f"gunicorn, 2 workers, {LOAD_THREADS} client threads, {LOAD_SECONDS:.0f} s each:")
        print(
            f"  invoice page {page_rps:7.0f} req/s, /healthz {trivial_rps:7.0f} req/s, "
            f"ratio {page_rps / trivial_rps:.2f}"
        )
        if overview_few != overview_many or invoice_few != invoice_many:
            sys.exit("The number of SQL statements grows with the number of invoices")


if __name__ == "__main__":
    main()

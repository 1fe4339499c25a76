"""Benchmark month-end: N customers with a recurring line, bill-monthly with sending on, 1 and 2 worker processes.

Times how long it takes until every invoice mail (PDF attached) reached a local SMTP sink (aiosmtpd),
with one `flask portal worker` process and with two, prints the speed-up and projects 100,000
invoices on several machines. Uses its own PostgreSQL database (created when missing, emptied
at the start; never the tests' one):

    .venv/bin/python bench/month_end.py [--customers 10000] [--workers 1,2]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_jobs]
"""

from __future__ import annotations

import argparse
import os
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from aiosmtpd.controller import Controller  # noqa: E402
from flask_migrate import upgrade  # noqa: E402

from portal import create_app  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.models.job import Job  # noqa: E402
from portal.services import billing, customers, merchants  # noqa: E402
from portal.services.demo import _logo  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_jobs"
LANGUAGES = ("en", "fr", "nl", "de")
#: Everything a month's run leaves behind, emptied before the next measurement.
RUN_TABLES = (
    "outbox_attachments",
    "outbox_messages",
    "rendered_documents",
    "scheduled_runs",
    "jobs",
    "billing_runs",
    "invoice_lines",
    "invoices",
    "number_sequences",
)


class Sink:
    """An SMTP server that only counts what it accepted."""

    def __init__(self) -> None:
        self.count = 0
        self.bytes = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        with self.lock:
            self.count += 1
            self.bytes += len(envelope.original_content or b"")
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def ensure_database(url: str) -> None:
    target = sa.engine.make_url(url)
    if target.database in ("test", None):
        raise SystemExit("Use a database of the benchmark's own (e.g. bench_jobs), never the tests'")
    admin = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        exists = connection.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": target.database})
        if not exists:
            connection.execute(sa.text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()


def build(app, n_customers: int) -> None:
    """Fresh schema, one merchant, n customers each billed monthly (with sending on) for a recurring line."""
    with app.app_context():
        with db.engine.begin() as connection:
            connection.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade()
        merchant = merchants.create_merchant(name="Atelier Lumen", slug="bench", timezone="UTC")
        merchant.logo_png = _logo()
        merchant.support_email = "billing@lumen.example"
        merchant.terms = "Payment within 30 days."
        for n in range(n_customers):
            customer = customers.create_customer(
                merchant, name=f"Customer {n:06d}", email=f"c{n}@example.com", language=LANGUAGES[n % 4]
            )
            billing.add_recurring_line(
                customer,
                description="Monthly subscription",
                quantity=Decimal(1),
                unit_amount=4900,
                tax_rate=Decimal(21),
            )
            billing.set_billing_cycle(customer, active=True, day_of_month=1, payment_days=30, auto_send=True)
            if n % 500 == 499:
                db.session.commit()
                db.session.expunge_all()
                merchant = db.session.merge(merchant)
        db.session.commit()


def reset_run(app) -> None:
    with app.app_context(), db.engine.begin() as connection:
        connection.execute(sa.text(f"TRUNCATE {', '.join(RUN_TABLES)} RESTART IDENTITY CASCADE"))


def start_workers(count: int, url: str, smtp_port: int) -> list[subprocess.Popen]:
    worker_url = sa.engine.make_url(url).update_query_dict({"application_name": "bench-worker"})
    env = {
        **os.environ,
        "PORTAL_DATABASE_URL": worker_url.render_as_string(hide_password=False),
        "PORTAL_SECRET_KEY": "bench-secret",
        "PORTAL_SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
        "PORTAL_PUBLIC_URL": "http://bench.test",
        "PORTAL_WORKER_POLL_SECONDS": "0.2",
    }
    return [
        subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi:app", "portal", "worker", "--no-schedule"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(count)
    ]


def wait_until_polling(app, processes: list[subprocess.Popen]) -> None:
    """Wait until every worker has imported the app and queried the queue (so start-up is not timed)."""
    deadline = time.monotonic() + 120
    with app.app_context():
        while time.monotonic() < deadline:
            polling = db.session.scalar(
                sa.text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND application_name = 'bench-worker'"
                )
            )
            db.session.rollback()
            if polling >= len(processes):
                return
            if any(p.poll() is not None for p in processes):
                raise SystemExit("a worker exited at start-up")
            time.sleep(0.2)
    raise SystemExit("the workers did not start")


def job_seconds(app, kind: str) -> float:
    """Mean wall time of one job of this kind, from the jobs table."""
    with app.app_context():
        jobs = db.session.execute(sa.select(Job.started_at, Job.finished_at).where(Job.kind == kind)).all()
        return sum((f - s).total_seconds() for s, f in jobs) / max(len(jobs), 1)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(app, url: str, n: int, workers: int, sink: Sink, smtp_port: int) -> dict:
    from portal.services.billing import bill_monthly

    reset_run(app)
    processes = start_workers(workers, url, smtp_port)
    try:
        wait_until_polling(app, processes)
        with sink.lock:
            sink.count = 0
        cpu_before = children_cpu()
        load_before = os.getloadavg()[0]
        started = time.perf_counter()
        with app.app_context():
            made = sum(1 for r in bill_monthly() if r.invoice is not None)
            db.session.commit()
        billed = time.perf_counter() - started
        assert made == n, f"bill-monthly made {made} invoices, expected {n}"
        while sink.count < n:
            if any(p.poll() is not None for p in processes):
                raise SystemExit("a worker died during the run")
            time.sleep(0.05)
        finished = time.perf_counter()
        load_after = os.getloadavg()[0]
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(timeout=120)
    return {
        "workers": workers,
        "bill": billed,
        "send": finished - started - billed,
        "total": finished - started,
        "worker_cpu": children_cpu() - cpu_before,
        "render_job": job_seconds(app, "invoice.send"),
        "mail_job": job_seconds(app, "mail.deliver"),
        "load": (load_before, load_after),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--workers", default="1,2", help="worker process counts to measure, e.g. 1,2")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    args = parser.parse_args()
    counts = [int(c) for c in args.workers.split(",")]
    n = args.customers

    ensure_database(args.database_url)
    app = create_app({"SECRET_KEY": "bench-secret", "DATABASE_URL": args.database_url, "TESTING": True})
    app.config["PUBLIC_URL"] = "http://bench.test"
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} before the set-up")
    started = time.perf_counter()
    build(app, n)
    print(
        f"set-up: {n:,} customers with a recurring line and monthly billing with sending on, "
        f"{time.perf_counter() - started:.1f} s"
    )

    sink, port = Sink(), free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    results = []
    try:
        for workers in counts:
            result = measure(app, args.database_url, n, workers, sink, port)
            results.append(result)
            print(
                f"{workers} worker process(es): bill-monthly {result['bill']:.1f} s (drafts, finalizes, enqueues), "
                f"then every mail in the sink after {result['send']:.1f} s more; total {result['total']:.1f} s; "
                f"{n / result['send']:.1f} invoices/s; load average {result['load'][0]:.2f} → {result['load'][1]:.2f}"
            )
            print(
                f"   per invoice: render+compose job {result['render_job'] * 1000:.0f} ms, "
                f"SMTP delivery job {result['mail_job'] * 1000:.0f} ms, "
                f"worker CPU {result['worker_cpu'] / n * 1000:.0f} ms"
            )
    finally:
        controller.stop()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()

    base = results[0]
    for result in results[1:]:
        ratio = base["send"] / result["send"]
        print(
            f"speed-up of the sending, {result['workers']} workers over {base['workers']}: {ratio:.2f}x "
            f"(goal >= 1.8x for 2 on 2 cores); whole month-end incl. bill-monthly: "
            f"{base['total'] / result['total']:.2f}x"
        )
    best = results[-1]
    per_machine = n / best["send"]  # invoices a second on one machine of this size, all its cores working
    render_rate = 1 / best["render_job"] if best["render_job"] else 0
    mail_rate = 1 / best["mail_job"] if best["mail_job"] else 0
    bill_rate = n / best["bill"]
    print(
        f"capacity: {render_rate:.1f} PDFs per worker-second (render+compose job), "
        f"{mail_rate:.1f} mails per worker-second (SMTP delivery job), "
        f"{n / best['worker_cpu']:.1f} invoices per worker CPU-second; "
        f"bill-monthly drafts {bill_rate:.0f} invoices/s (one process)"
    )
    print("projection for 100,000 invoices (machines like this one, one worker process per core):")
    for machines in (1, 2, 4, 8, 16):
        sending = 100_000 / (per_machine * machines)
        print(
            f"  {machines:2d} machine(s): bill-monthly {100_000 / bill_rate / 60:5.1f} min + sending "
            f"{sending / 60:6.1f} min = {(100_000 / bill_rate + sending) / 60:6.1f} min"
        )


if __name__ == "__main__":
    main()

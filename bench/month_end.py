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
import re
import signal
import socket
import subprocess
import sys
import tempfile
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


JOB_LOG = re.compile(r"job \d+ \(([\w.-]+)\) finished in ([\d.]+) s, CPU ([\d.]+) s")


def job_costs(logs: list[Path]) -> dict[str, tuple[float, float]]:
    """Mean (wall, CPU) seconds per job kind, from the workers' log lines."""
    totals: dict[str, list[float]] = {}
    for path in logs:
        for kind, wall, cpu in JOB_LOG.findall(path.read_text()):
            entry = totals.setdefault(kind, [0, 0.0, 0.0])
            entry[0] += 1
            entry[1] += float(wall)
            entry[2] += float(cpu)
    return {kind: (wall / n, cpu / n) for kind, (n, wall, cpu) in totals.items()}


def start_workers(count: int, url: str, smtp_port: int, logs: Path) -> list[subprocess.Popen]:
    worker_url = sa.engine.make_url(url).update_query_dict({"application_name": "bench-worker"})
    env = {
        **os.environ,
        "PORTAL_DATABASE_URL": worker_url.render_as_string(hide_password=False),
        "PORTAL_SECRET_KEY": "bench-secret",
        "PORTAL_SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
        "PORTAL_PUBLIC_URL": "http://bench.test",
        "PORTAL_WORKER_POLL_SECONDS": "0.2",
    }
    processes = []
    for n in range(count):
        with open(logs / f"worker-{count}-{n}.log", "w") as log:
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "flask", "--app", "wsgi:app", "portal", "worker", "--no-schedule"],
                    cwd=ROOT,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=log,
                )
            )
    return processes


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


def job_cpu(result: dict) -> float:
    """CPU seconds one invoice costs the workers: its render+compose job and its delivery job."""
    return result["render_job"][1] + result["mail_job"][1]


def measure(app, url: str, n: int, workers: int, sink: Sink, smtp_port: int, logs: Path) -> dict:
    from portal.services.billing import bill_monthly

    reset_run(app)
    processes = start_workers(workers, url, smtp_port, logs)
    try:
        wait_until_polling(app, processes)
        with sink.lock:
            sink.count = 0
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
    costs = job_costs(sorted(logs.glob(f"worker-{workers}-*.log")))
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).where(Job.status != "done")) == 0
    return {
        "workers": workers,
        "bill": billed,
        "send": finished - started - billed,
        "total": finished - started,
        "render_job": costs["invoice.send"],
        "mail_job": costs["mail.deliver"],
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
    logs = Path(tempfile.mkdtemp(prefix="month-end-"))
    try:
        for workers in counts:
            result = measure(app, args.database_url, n, workers, sink, port, logs)
            results.append(result)
            print(
                f"{workers} worker process(es): bill-monthly {result['bill']:.1f} s (drafts, finalizes, enqueues), "
                f"then every mail in the sink after {result['send']:.1f} s more; total {result['total']:.1f} s; "
                f"{n / result['send']:.1f} invoices/s; load average {result['load'][0]:.2f} → {result['load'][1]:.2f}"
            )
            (render_wall, render_cpu), (mail_wall, mail_cpu) = result["render_job"], result["mail_job"]
            print(
                f"   per invoice: render+compose job {render_wall * 1000:.0f} ms ({render_cpu * 1000:.0f} ms CPU), "
                f"SMTP delivery job {mail_wall * 1000:.0f} ms ({mail_cpu * 1000:.0f} ms CPU)"
            )
    finally:
        controller.stop()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()

    base = results[0]
    for result in results[1:]:
        ratio = base["send"] / result["send"]
        # On a machine whose cores are busy with other work, wall time understates what a second
        # process brings; the CPU each invoice cost says what it brings on cores of its own.
        cpu_ratio = result["workers"] / base["workers"] * (job_cpu(base) / job_cpu(result))
        print(
            f"speed-up of the sending, {result['workers']} workers over {base['workers']}: {ratio:.2f}x measured "
            f"(goal >= 1.8x for 2 on 2 cores); {cpu_ratio:.2f}x from the CPU per invoice (cores of their own); "
            f"whole month-end incl. bill-monthly: {base['total'] / result['total']:.2f}x"
        )
    best = results[-1]
    render_cpu = best["render_job"][1]
    mail_wall, mail_cpu = best["mail_job"]
    per_invoice_cpu = job_cpu(best)
    bill_rate = n / best["bill"]
    print(
        f"capacity model: {1 / render_cpu:.1f} PDFs (render+compose jobs) per core-second; "
        f"{1 / mail_wall:.1f} mails per worker-second (a delivery waits on SMTP; {mail_cpu * 1000:.0f} ms CPU); "
        f"{1 / per_invoice_cpu:.1f} invoices per worker CPU-second all in; "
        f"bill-monthly drafts {bill_rate:.0f} invoices/s (one process)"
    )
    cores = os.cpu_count() or 1
    print(f"projection for 100,000 invoices, machines of {cores} cores each running {cores} worker processes:")
    for machines in (1, 2, 4, 8, 16):
        sending = 100_000 * per_invoice_cpu / (cores * machines)
        measured = 100_000 / (n / best["send"] * machines)
        drafting = 100_000 / bill_rate
        print(
            f"  {machines:2d} machine(s): bill-monthly {drafting / 60:5.1f} min + sending {sending / 60:6.1f} min "
            f"on cores of their own = {(drafting + sending) / 60:6.1f} min "
            f"(at the load measured here: sending {measured / 60:6.1f} min)"
        )


if __name__ == "__main__":
    main()

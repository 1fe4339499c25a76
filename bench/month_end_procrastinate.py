"""Prototype for comparison: the same month-end as bench/month_end.py, with procrastinate as the job queue.

Not a dependency of the project: it exists to measure the alternative the README weighs. Needs
`pip install procrastinate` (3.x) in the environment. The invoice and mail jobs become procrastinate
tasks; rendering, composing and SMTP are the portal's own code, so only the queue differs.

    .venv/bin/python bench/month_end_procrastinate.py [--customers 10000] [--workers 1,2]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

try:
    import procrastinate
except ImportError:  # pragma: no cover - a prototype, not part of the product
    raise SystemExit("This prototype needs procrastinate: pip install 'procrastinate>=3'") from None

import sqlalchemy as sa  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_jobs"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args()


def conninfo(url: str) -> str:
    plain = sa.engine.make_url(url).set(drivername="postgresql")
    return plain.update_query_dict({"application_name": "bench-worker"}).render_as_string(hide_password=False)


ARGS = parse_args()
queue = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=conninfo(ARGS.database_url)))
_flask_app = None


def flask_app():
    global _flask_app
    if _flask_app is None:
        from portal import create_app

        _flask_app = create_app()
    return _flask_app


@queue.task(name="invoice_send", retry=3)
def invoice_send(invoice_id: int, to: str) -> None:
    """Render the PDF and compose the mail (the portal's code), then defer its delivery."""
    import portal.mail.outbox as outbox
    from portal.extensions import db
    from portal.mail.notifications import queue_invoice_mail
    from portal.models import Invoice

    with flask_app().app_context():
        captured: list[int] = []
        # The portal would enqueue its own delivery job here; the prototype defers a procrastinate task instead.
        outbox.enqueue = lambda kind, payload, **options: captured.append(payload["message_id"])
        queue_invoice_mail(db.session.get(Invoice, invoice_id), to=to)
        db.session.commit()  # not atomic with the defer below: the dual write the portal's own queue avoids
        for message_id in captured:
            deliver_mail.defer(message_id=message_id)


@queue.task(name="deliver_mail", retry=8)
def deliver_mail(message_id: int) -> None:
    from flask import current_app

    from portal.extensions import db
    from portal.mail.outbox import build_email
    from portal.mail.transport import configured_transport
    from portal.models.base import utcnow
    from portal.models.mail import OutboxMessage

    with flask_app().app_context():
        message = db.session.get(OutboxMessage, message_id)
        email = build_email(message, current_app.config["MAIL_FROM"])
        db.session.commit()
        configured_transport().send(email)
        message = db.session.get(OutboxMessage, message_id)
        message.status, message.sent_at, message.delivered_via = "sent", utcnow(), "smtp"
        db.session.commit()


def main() -> None:
    from bench import month_end as base
    from portal import create_app
    from portal.extensions import db
    from portal.models.job import Job
    from portal.services.billing import bill_monthly

    args = ARGS
    n, url = args.customers, args.database_url

    base.ensure_database(url)
    app = create_app({"SECRET_KEY": "bench-secret", "DATABASE_URL": url, "TESTING": True})
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} before the set-up")
    base.build(app, n)
    with queue.open():
        queue.schema_manager.apply_schema()

    sink, port = base.Sink(), base.free_port()
    controller = base.Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    results = {}
    try:
        for workers in [int(c) for c in args.workers.split(",")]:
            base.reset_run(app)
            with app.app_context(), db.engine.begin() as connection:
                connection.execute(sa.text("TRUNCATE procrastinate_jobs CASCADE"))
            env = {
                **os.environ,
                "PORTAL_DATABASE_URL": url,
                "PORTAL_SECRET_KEY": "bench-secret",
                "PORTAL_SMTP_URL": f"smtp://127.0.0.1:{port}",
                "PORTAL_PUBLIC_URL": "http://bench.test",
                "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
            }
            processes = [
                subprocess.Popen(
                    [sys.executable, __file__, "--worker", "--database-url", url],
                    cwd=ROOT,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                for _ in range(workers)
            ]
            try:
                base.wait_until_polling(app, processes)
                with sink.lock:
                    sink.count = 0
                started = time.perf_counter()
                with app.app_context():
                    assert sum(1 for r in bill_monthly() if r.invoice is not None) == n
                    db.session.commit()
                    jobs = db.session.scalars(sa.select(Job).where(Job.kind == "invoice.send")).all()
                    payloads = [{"invoice_id": j.payload["invoice_id"], "to": j.payload["to"]} for j in jobs]
                    db.session.execute(sa.delete(Job))
                    db.session.commit()
                with queue.open():
                    invoice_send.batch_defer(*payloads)
                billed = time.perf_counter() - started
                while sink.count < n:
                    if any(p.poll() is not None for p in processes):
                        raise SystemExit("a worker died")
                    time.sleep(0.05)
                total = time.perf_counter() - started
            finally:
                for process in processes:
                    process.send_signal(signal.SIGTERM)
                for process in processes:
                    process.wait(timeout=120)
            results[workers] = total - billed
            print(
                f"procrastinate, {workers} worker process(es): bill-monthly + defer {billed:.1f} s, "
                f"then every mail in the sink after {total - billed:.1f} s more ({n / (total - billed):.1f} invoices/s); "
                f"load average {os.getloadavg()[0]:.2f}"
            )
    finally:
        controller.stop()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    if 1 in results and 2 in results:
        print(f"speed-up of the sending, 2 workers over 1: {results[1] / results[2]:.2f}x")


def worker() -> None:
    flask_app()  # imported and configured before polling, as `flask portal worker` is
    queue.run_worker(concurrency=1, wait=True, install_signal_handlers=True)


if __name__ == "__main__":
    worker() if ARGS.worker else main()

"""Benchmark the mail worker: invoice mails per second to a local SMTP sink, PDFs from the render cache.

N finalized invoices whose PDFs are already in the cache (as after month-end's render or a first
download) are sent (send_invoice). Then the worker's two halves run as `flask portal worker` runs
them: each invoice's job takes its PDF from the cache and composes the mail into the outbox; each
mail job hands its message to the relay (an aiosmtpd sink on loopback). Timed until the sink holds
every mail, once with the relay connection kept for the batch and once with a new connection per
mail (what the worker did before), so the gain of the kept connection shows in the same run.

    .venv/bin/python bench/mail_worker.py [--invoices 200]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_mail]

(default URL: $BENCH_DATABASE_URL, else the one above; a sqlite:/// URL works too.)
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from aiosmtpd.controller import Controller  # noqa: E402

from bench.bank_import import fresh_bench_merchant  # noqa: E402
from bench.month_end import Sink, ensure_database, free_port  # noqa: E402
from portal import create_app  # noqa: E402
from portal.documents.pdf import invoice_pdf  # noqa: E402
from portal.domain.invoices import Line  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.jobs.queue import DEFAULT_QUEUE, run_due  # noqa: E402
from portal.mail.notifications import send_invoice  # noqa: E402
from portal.mail.outbox import MAIL_QUEUE  # noqa: E402
from portal.mail.transport import SmtpTransport  # noqa: E402
from portal.models import Invoice  # noqa: E402
from portal.services import customers, invoices  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_mail"
#: Issue 18's goal for one worker.
GOAL_MAILS_PER_SECOND = 100


def set_up(app, size: int) -> list[int]:
    """Create a merchant and `size` finalized invoices, their PDFs rendered into the cache; return their ids."""
    with app.app_context():
        merchant = fresh_bench_merchant()
        people = [
            customers.create_customer(merchant, name=f"Customer {c} BV", email=f"c{c}@example.com", language="en")
            for c in range(max(1, size // 4))
        ]
        ids = []
        for n in range(size):
            invoice = invoices.create_draft(
                merchant,
                customer=people[n % len(people)],
                currency="EUR",
                issue_date=date(2026, 11, 1),
                due_date=date(2099, 12, 31),
                lines=[Line("Consulting", Decimal(8), 9_500 + n, Decimal(21), Decimal(0))],
            )
            invoices.finalize_invoice(invoice)
            invoice_pdf(invoice)  # into the render cache
            ids.append(invoice.id)
            if n % 50 == 49:
                db.session.commit()
        db.session.commit()
        return ids


def measure(app, ids: list[int], sink: Sink, port: int, messages_per_connection: int) -> dict[str, float]:
    """Send every invoice, then run the worker's jobs; return the seconds of each half and in all."""
    with app.app_context():
        db.session.execute(sa.text("DELETE FROM jobs"))
        db.session.commit()
        for invoice in db.session.scalars(sa.select(Invoice).where(Invoice.id.in_(ids))):
            send_invoice(invoice)
        db.session.commit()
    sink.count = 0
    SmtpTransport.MESSAGES_PER_CONNECTION = messages_per_connection
    with app.app_context():
        started = time.perf_counter()
        composed = run_due([DEFAULT_QUEUE], limit=len(ids) + 10)
        compose = time.perf_counter() - started
        delivered = run_due([MAIL_QUEUE], limit=len(ids) + 10)
        total = time.perf_counter() - started
    if composed.done != len(ids) or delivered.done != len(ids) or sink.count != len(ids):
        raise SystemExit(
            f"Expected {len(ids)} mails; composed {composed.done}, sent {delivered.done}, sink {sink.count}"
        )
    return {"compose": compose, "deliver": total - compose, "total": total}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--invoices", type=int, default=200)
    args = parser.parse_args()
    ensure_database(args.database_url)
    sink, port = Sink(), free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        app = create_app(
            {
                "SECRET_KEY": "bench-secret",
                "DATABASE_URL": args.database_url,
                "TESTING": True,
            }
        )
        app.config["PUBLIC_URL"] = "http://bench.test"
        app.config["SMTP_URL"] = f"smtp://127.0.0.1:{port}"
        started = time.perf_counter()
        ids = set_up(app, args.invoices)
        print(f"set-up: {len(ids):,} finalized invoices with cached PDFs, {time.perf_counter() - started:.1f} s")
        kept = measure(app, ids, sink, port, SmtpTransport.MESSAGES_PER_CONNECTION)
        fresh = measure(app, ids, sink, port, 1)
    finally:
        controller.stop()
    size = len(ids)
    for label, run in (("relay connection kept", kept), ("a connection per mail", fresh)):
        print(
            f"Mail worker, {label}: {size:,} invoice mails in {run['total']:.2f} s = {size / run['total']:,.0f} mails/s"
            f"   (goal ≥ {GOAL_MAILS_PER_SECOND} mails/s: {'met' if size / run['total'] >= GOAL_MAILS_PER_SECOND else 'not met'})"
        )
        print(
            f"    compose (PDF from the cache, mail into the outbox) {run['compose'] / size * 1000:6.2f} ms/mail;"
            f" hand to the relay {run['deliver'] / size * 1000:6.2f} ms/mail"
        )
    print(f"Kept connection vs one per mail: {fresh['total'] / kept['total']:.2f}× as fast")


if __name__ == "__main__":
    main()

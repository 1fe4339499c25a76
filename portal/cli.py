"""flask portal …: operators' commands."""

from __future__ import annotations

import json
import sys

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import select

from portal.domain.errors import DomainError
from portal.extensions import db
from portal.models import Merchant
from portal.models.merchant import STAFF_ROLES

portal_cli = AppGroup("portal", help="Invoice Portal commands.")


def register(app: Flask) -> None:
    """Attach the `flask portal` command group."""
    app.cli.add_command(portal_cli)


def _merchant(slug: str) -> Merchant:
    merchant = db.session.scalar(select(Merchant).where(Merchant.slug == slug))
    if merchant is None:
        raise click.ClickException(f"No merchant with slug {slug!r}")
    return merchant


def _fail(exc: DomainError) -> None:
    db.session.rollback()
    where = f" ({exc.field})" if exc.field else ""
    raise click.ClickException(f"{exc.message}{where}")


@portal_cli.command("create-merchant")
@click.option("--name", required=True)
@click.option("--slug", required=True)
@click.option("--timezone", default="Europe/Brussels", show_default=True)
@click.option("--currency", default="EUR", show_default=True)
def create_merchant_command(name: str, slug: str, timezone: str, currency: str) -> None:
    """Create a merchant."""
    from portal.services.merchants import create_merchant

    try:
        merchant = create_merchant(name=name, slug=slug, timezone=timezone, currency=currency)
    except DomainError as exc:
        _fail(exc)
    db.session.commit()
    click.echo(f"Created merchant {merchant.slug} (id {merchant.id})")


@portal_cli.command("create-admin")
@click.option("--merchant", "slug", required=True, help="The merchant's slug.")
@click.option("--email", required=True)
@click.option("--name", default="")
@click.option(
    "--role",
    type=click.Choice(STAFF_ROLES),
    default="owner",
    show_default=True,
    help="owner: everything; accountant: the books, not the settings; viewer: read only.",
)
@click.password_option(help="Asked for when not given.")
def create_admin_command(slug: str, email: str, name: str, role: str, password: str) -> None:
    """Create a staff login for a merchant."""
    from portal.services.merchants import create_staff_user

    try:
        user = create_staff_user(_merchant(slug), email=email, name=name, password=password, role=role)
    except DomainError as exc:
        _fail(exc)
    db.session.commit()
    click.echo(f"Created staff account {user.email} ({user.role})")


@portal_cli.command("rotate-encryption-key")
def rotate_encryption_key_command() -> None:
    """Re-encrypt every stored provider key with the first PORTAL_ENCRYPTION_KEY (safe to run again).

    Put the new key first and the old ones after it, run this, then drop the old ones.
    """
    from portal.services.payment_settings import rotate_encryption_key

    try:
        rotation = rotate_encryption_key()
    except RuntimeError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(
        f"Re-encrypted {rotation.reencrypted} stored provider secret(s) with the first key; "
        f"{rotation.unchanged} already used it."
    )


@portal_cli.command("create-api-key")
@click.option("--merchant", "slug", required=True, help="The merchant's slug.")
@click.option("--name", default="default")
def create_api_key_command(slug: str, name: str) -> None:
    """Create an API key; it is shown once and stored only hashed."""
    from portal.services.merchants import create_api_key

    _, token = create_api_key(_merchant(slug), name=name)
    db.session.commit()
    click.echo(token)


@portal_cli.command("import-statement")
@click.argument("file", type=click.File("rb"))
@click.option(
    "--merchant", "slug", default=None, help="The merchant's slug (may be left out when there is only one merchant)."
)
def import_statement_command(file, slug: str | None) -> None:
    """Import a bank statement (CAMT.053/054 XML): book the transfers whose reference names an invoice."""
    from portal.services.bank_import import import_statement

    if slug is None:
        merchants = db.session.scalars(select(Merchant).limit(2)).all()
        if len(merchants) != 1:
            raise click.ClickException("Name the merchant with --merchant SLUG")
        merchant = merchants[0]
    else:
        merchant = _merchant(slug)
    try:
        result = import_statement(merchant, file.read())
        db.session.commit()
    except DomainError as exc:
        _fail(exc)
    click.echo(" ".join(f"{name}={count}" for name, count in result.as_dict().items()))
    if result.skipped:
        click.echo(f"{result.skipped} debit, reversed or pending entries skipped")


@portal_cli.command("demo")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
@click.option("--reset-password", is_flag=True, help="Give the demo's admin login a new password and print it.")
@click.option(
    "--reset-hint",
    default="flask portal demo --reset-password",
    hidden=True,
    help="The command shown for resetting the password (make run shows its own).",
)
def demo_command(as_json: bool, reset_password: bool, reset_hint: str) -> None:
    """Fill the database with a demo merchant, customers and invoices in every state."""
    from flask import current_app

    from portal.services.demo import load_demo, reset_demo_password

    logins = load_demo()
    password = logins.admin_password
    if reset_password and password is None:
        password = reset_demo_password()
    db.session.commit()
    if as_json:
        click.echo(
            json.dumps(
                {
                    "portal_url": logins.portal_url,
                    "admin_email": logins.admin_email,
                    "admin_password": password,
                    "api_key": logins.api_key,
                    "created": logins.created,
                }
            )
        )
        return
    if logins.created:
        click.echo("Demo data loaded.")
    else:
        click.echo("The demo is already loaded; here is a fresh portal link.")
    click.echo(f"  Customer portal: {logins.portal_url}")
    click.echo(f"  Admin area:      {current_app.config['PUBLIC_URL'].rstrip('/')}/admin")
    if password:
        click.echo(f"  Admin login:     {logins.admin_email} / {password}")
    else:
        click.echo(f"  Admin login:     {logins.admin_email} (password shown when the demo was loaded)")
        click.echo(f"  New password:    {reset_hint}")
    if logins.api_key:
        click.echo(f"  API key:         {logins.api_key}")
    sys.stdout.flush()


@portal_cli.command("reconcile")
@click.option(
    "--older-than",
    "older_than",
    type=click.IntRange(min=0),
    default=None,
    help="Minutes an attempt must have been open (default: RECONCILE_AFTER_MINUTES).",
)
def reconcile_command(older_than: int | None) -> None:
    """Ask the providers about payments still open, and recent paid ones for refunds and chargebacks, and apply what they say, now (the workers also do it every 10 minutes)."""
    from datetime import timedelta

    from flask import current_app

    from portal.services.online_payments import reconcile

    minutes = current_app.config["RECONCILE_AFTER_MINUTES"] if older_than is None else older_than
    days = current_app.config["RECONCILE_REFUNDS_DAYS"]
    results = reconcile(timedelta(minutes=int(minutes)), refunds_within=timedelta(days=int(days)))
    for result in results:
        if not result.was_paid or result.outcome != "final":
            click.echo(f"attempt {result.attempt_id} ({result.provider}): {result.outcome}")
    click.echo(f"{sum(1 for r in results if not r.was_paid)} attempt(s) checked")
    paid = sum(1 for r in results if r.was_paid)
    if paid:
        click.echo(f"{paid} paid attempt(s) checked for refunds and chargebacks")


def _run_worker(
    queues: tuple[str, ...], concurrency: int, once: bool, poll: float | None = None, schedule: bool = True
) -> None:
    import logging
    import signal
    import threading

    from flask import current_app

    from portal.jobs.worker import run_workers

    app = current_app._get_current_object()
    if poll is not None:
        app.config["WORKER_POLL_SECONDS"] = poll
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    stop = threading.Event()

    def finish_then_stop(signum, frame) -> None:
        if not stop.is_set():
            click.echo(f"worker: {signal.Signals(signum).name}: finishing the current job, then stopping", err=True)
        stop.set()

    previous = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous[signum] = signal.signal(signum, finish_then_stop)
    # Said once the stop signals are handled: a supervisor (or a test) may stop it cleanly from here on.
    click.echo(f"worker: started ({', '.join(queues) or 'all queues'}, {concurrency} thread(s))", err=True)
    try:
        report = run_workers(
            app, queues=list(queues) or None, concurrency=concurrency, once=once, stop=stop, schedule=schedule
        )
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if report.handled:
        kinds = ", ".join(f"{count} {kind}" for kind, count in sorted(report.kinds.items()))
        click.echo(
            f"jobs: {report.done} done, {report.retrying} to retry, {report.failed} failed ({kinds})",
            err=True,
        )


@portal_cli.command("worker")
@click.option(
    "--queues",
    "queues",
    multiple=True,
    help="Take only jobs of these queues (repeat, or separate with commas): mail, default. All when not given.",
)
@click.option("--concurrency", default=1, show_default=True, type=click.IntRange(1, 64), help="Worker threads.")
@click.option("--once", is_flag=True, help="Run every job that is due now, then exit (scripts and tests).")
@click.option(
    "--schedule/--no-schedule",
    default=True,
    show_default=True,
    help="Also fire the scheduled duties (each fires once per period however many workers do).",
)
def worker_command(queues: tuple[str, ...], concurrency: int, once: bool, schedule: bool) -> None:
    """Run background jobs of any type and the scheduled duties; SIGTERM or SIGINT finish the current job and stop."""
    names = tuple(name.strip() for value in queues for name in value.split(",") if name.strip())
    _run_worker(names, concurrency, once, schedule=schedule)


@portal_cli.command("deliver-mail")
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
@click.option("--interval", default=5.0, show_default=True, help="Seconds to wait when nothing is due.")
def deliver_mail_command(once: bool, interval: float) -> None:
    """Deliver queued mail (kept for one release: the same as `flask portal worker`, which also renders invoice mails)."""
    _run_worker((), 1, once, poll=interval)


@portal_cli.command("deliver-webhooks")
@click.option("--once", is_flag=True, help="Make the delivery attempts that are due now, then exit.")
@click.option("--interval", default=1.0, show_default=True, help="Seconds to wait when nothing is due.")
def deliver_webhooks_command(once: bool, interval: float) -> None:
    """Post queued events to the merchants' webhook endpoints, with retries (the same as `worker --queues webhooks`)."""
    _run_worker(("webhooks",), 1, once, poll=None if once else interval, schedule=False)


@portal_cli.command("bill-monthly")
def bill_monthly_command() -> None:
    """Draft (or draft and enqueue the sending of) each monthly invoice that is due, now; never twice for one month.

    The workers' schedule runs this every hour; the command stays for one release.
    """
    from portal.services.billing import bill_monthly

    results = bill_monthly()
    db.session.commit()
    for result in results:
        who = f"{result.customer.name} ({result.period})"
        if result.error:
            click.echo(f"Skipped {who}: {result.error}", err=True)
        elif result.invoice is None:
            click.echo(f"Nothing to bill for {who}")
        elif result.sent:
            click.echo(f"Finalized invoice {result.invoice.number} for {who}; its mail is queued")
        else:
            click.echo(f"Drafted invoice #{result.invoice.id} for {who}")
    click.echo(f"{sum(1 for r in results if r.invoice is not None)} invoice(s) made.")


@portal_cli.command("autopay")
def autopay_command() -> None:
    """Charge the saved method of each customer with autopay on for the invoices due today (each invoice once), now.

    The workers' schedule runs this every hour.
    """
    from portal.models.online_payment import ATTEMPT_STATUSES
    from portal.services.saved_methods import run_autopay

    results = run_autopay()
    charged = [outcome for _invoice, outcome in results if outcome in ATTEMPT_STATUSES]
    click.echo(f"{len(charged)} invoice(s) charged, {charged.count('paid')} paid at once.")


@portal_cli.command("send-reminders")
def send_reminders_command() -> None:
    """Send each open invoice the reminder step due today (each step once, never two on one day), now.

    The workers' schedule runs this every hour, so each merchant's new day is met soon.
    """
    from portal.services.reminders import send_all_reminders

    run = send_all_reminders()
    click.echo(f"{run.sent} reminder(s) queued.")

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
@click.password_option(help="Asked for when not given.")
def create_admin_command(slug: str, email: str, name: str, password: str) -> None:
    """Create a staff login for a merchant."""
    from portal.services.merchants import create_staff_user

    try:
        user = create_staff_user(_merchant(slug), email=email, name=name, password=password)
    except DomainError as exc:
        _fail(exc)
    db.session.commit()
    click.echo(f"Created staff account {user.email}")


@portal_cli.command("create-api-key")
@click.option("--merchant", "slug", required=True, help="The merchant's slug.")
@click.option("--name", default="default")
def create_api_key_command(slug: str, name: str) -> None:
    """Create an API key; it is shown once and stored only hashed."""
    from portal.services.merchants import create_api_key

    _, token = create_api_key(_merchant(slug), name=name)
    db.session.commit()
    click.echo(token)


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
    """Ask the providers about payments still open and apply what they say."""
    from datetime import timedelta

    from flask import current_app

    from portal.services.online_payments import reconcile

    minutes = current_app.config["RECONCILE_AFTER_MINUTES"] if older_than is None else older_than
    results = reconcile(timedelta(minutes=int(minutes)))
    for result in results:
        click.echo(f"attempt {result.attempt_id} ({result.provider}): {result.outcome}")
    click.echo(f"{len(results)} attempt(s) checked")


@portal_cli.command("deliver-mail")
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
@click.option("--interval", default=5.0, show_default=True, help="Seconds to wait when nothing is due.")
def deliver_mail_command(once: bool, interval: float) -> None:
    """Deliver queued mail over SMTP (PORTAL_SMTP_URL), or print it when no server is configured."""
    import time

    from portal.mail.outbox import deliver_due
    from portal.mail.transport import configured_transport

    transport = configured_transport()
    batch = 100
    try:
        while True:
            report = deliver_due(transport, limit=batch)
            handled = report.sent + report.retrying + report.failed
            if handled:
                click.echo(
                    f"mail: {report.sent} sent ({transport.name}), {report.retrying} to retry, {report.failed} failed",
                    err=True,
                )
            if handled < batch:
                if once:
                    break
                time.sleep(interval)
    except KeyboardInterrupt:
        pass


@portal_cli.command("bill-monthly")
def bill_monthly_command() -> None:
    """Draft (or draft and send) each customer's monthly invoice that is due; never twice for one month."""
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
            click.echo(f"Sent invoice {result.invoice.number} to {who}")
        else:
            click.echo(f"Drafted invoice #{result.invoice.id} for {who}")
    click.echo(f"{sum(1 for r in results if r.invoice is not None)} invoice(s) made.")

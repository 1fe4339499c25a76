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
def demo_command(as_json: bool) -> None:
    """Fill the database with a demo merchant, customers and invoices in every state."""
    from portal.services.demo import load_demo

    logins = load_demo()
    db.session.commit()
    if as_json:
        click.echo(
            json.dumps(
                {
                    "portal_url": logins.portal_url,
                    "admin_email": logins.admin_email,
                    "admin_password": logins.admin_password,
                    "api_key": logins.api_key,
                    "created": logins.created,
                }
            )
        )
        return
    if logins.created:
        click.echo("Demo data loaded.")
    else:
        click.echo("The demo is already loaded; here is a fresh portal link.", err=False)
    click.echo(f"  Customer portal: {logins.portal_url}")
    click.echo(f"  Admin login:     {logins.admin_email}" + (f" / {logins.admin_password}" if logins.admin_password else ""))
    if logins.api_key:
        click.echo(f"  API key:         {logins.api_key}")
    sys.stdout.flush()

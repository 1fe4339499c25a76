"""Operators' commands: create merchants, staff and keys, and load the demo."""

from __future__ import annotations

import json

from sqlalchemy import select
from werkzeug.security import check_password_hash

from portal.extensions import db
from portal.models import ApiKey, Invoice, StaffUser


def test_create_merchant_admin_and_key(app, runner):
    result = runner.invoke(args=["portal", "create-merchant", "--name", "Bakery", "--slug", "bakery"])
    assert result.exit_code == 0, result.output
    again = runner.invoke(args=["portal", "create-merchant", "--name", "Bakery", "--slug", "bakery"])
    assert again.exit_code != 0 and "exists already" in again.output
    bad_zone = runner.invoke(
        args=["portal", "create-merchant", "--name", "X", "--slug", "x", "--timezone", "Mars/Base"]
    )
    assert bad_zone.exit_code != 0 and "time zone" in bad_zone.output

    admin = runner.invoke(
        args=[
            "portal",
            "create-admin",
            "--merchant",
            "bakery",
            "--email",
            "Owner@Bakery.example",
            "--password",
            "correct horse battery",
        ]
    )
    assert admin.exit_code == 0, admin.output
    short = runner.invoke(
        args=["portal", "create-admin", "--merchant", "bakery", "--email", "b@x.example", "--password", "short"]
    )
    assert short.exit_code != 0 and "10 characters" in short.output
    nobody = runner.invoke(
        args=[
            "portal",
            "create-admin",
            "--merchant",
            "nope",
            "--email",
            "c@x.example",
            "--password",
            "long enough password",
        ]
    )
    assert nobody.exit_code != 0 and "No merchant" in nobody.output

    key = runner.invoke(args=["portal", "create-api-key", "--merchant", "bakery"]).output.strip()
    assert key.startswith("ipk_")
    with app.app_context():
        user = db.session.scalar(select(StaffUser))
        assert user.email == "owner@bakery.example"
        assert user.password_hash.startswith(("scrypt:", "pbkdf2:"))
        assert check_password_hash(user.password_hash, "correct horse battery")
        stored = db.session.scalar(select(ApiKey))
        assert stored.key_hash != key and key not in stored.key_hash  # only the hash is kept
    response = app.test_client().get("/api/v1/invoices", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 200 and response.json["data"] == []


def test_demo_json_gives_working_logins_and_every_state(app, runner):
    result = runner.invoke(args=["portal", "demo", "--json"])
    assert result.exit_code == 0, result.output
    logins = json.loads(result.output)
    assert set(logins) >= {"portal_url", "admin_email", "admin_password", "api_key"}
    assert logins["portal_url"].startswith("http://portal.test/l/")

    client = app.test_client()
    headers = {"Authorization": f"Bearer {logins['api_key']}"}
    everything = client.get("/api/v1/invoices?limit=100", headers=headers).json["data"]
    statuses = {invoice["status"] for invoice in everything}
    assert statuses == {"draft", "open", "paid", "void"}
    assert any(i["overdue"] and i["late_fee"] > 0 and i["interest"] > 0 for i in everything)
    assert any(i["status"] == "open" and 0 < i["paid"] < i["total"] for i in everything)  # partly paid
    assert any(i["credit_notes"] for i in everything)
    with app.app_context():
        user = db.session.scalar(select(StaffUser).where(StaffUser.email == logins["admin_email"]))
        assert check_password_hash(user.password_hash, logins["admin_password"])
        languages = {invoice.customer.language for invoice in db.session.scalars(select(Invoice))}
        assert languages == {"en", "fr", "nl", "de"}
        from portal.models import Comment
        from portal.models.billing import BillingCycle, Charge

        assert {c.author_kind for c in db.session.scalars(select(Comment))} == {"customer", "staff"}
        assert len(db.session.scalars(select(Charge).where(Charge.invoice_id.is_(None))).all()) == 2
        assert db.session.scalars(select(BillingCycle)).one().active
        from portal.models.ledger import CreditEntry

        [credit] = db.session.scalars(select(CreditEntry)).all()  # an overpayment on the credit balance
        assert (credit.reason, credit.amount) == ("overpayment", 5000)

    # Running it again keeps the data and prints a fresh link instead of failing.
    again = json.loads(runner.invoke(args=["portal", "demo", "--json"]).output)
    assert again["portal_url"].startswith("http://portal.test/l/") and again["api_key"] is None
    assert len(client.get("/api/v1/invoices?limit=100", headers=headers).json["data"]) == len(everything)

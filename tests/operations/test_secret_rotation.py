"""Rotating secrets without logging everyone out: SECRET_KEY_FALLBACKS, and MultiFernet for the stored provider keys."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from portal import create_app
from portal.extensions import db
from portal.models import Customer
from portal.payments.registry import merchant_credentials
from portal.services import payment_settings
from portal.services.links import make_portal_link
from tests.admin.conftest import login, make_staff
from tests.conftest import build_app, dispose
from tests.factories import make_customer, make_invoice, make_merchant

OLD, NEW = "the-old-secret-key-" + "o" * 32, "the-new-secret-key-" + "n" * 32


@pytest.fixture
def apps(app, database_url) -> Iterator[dict[str, Flask]]:
    """The same database served before, during and after a rotation of SECRET_KEY (fallbacks as the env gives them)."""
    built = {
        "old": build_app(database_url, SECRET_KEY=OLD),
        "rotated": build_app(database_url, SECRET_KEY=NEW, SECRET_KEY_FALLBACKS=f"an-older-one, {OLD}"),
        "new only": build_app(database_url, SECRET_KEY=NEW),
    }
    yield built
    for each in built.values():
        dispose(each)


def _path(url: str) -> str:
    return url.split("portal.test", 1)[1]


def test_portal_links_signed_with_a_rotated_out_key_still_open(apps):
    old = apps["old"]
    with old.app_context():
        customer = make_customer(make_merchant())
        make_invoice(customer)
        db.session.commit()
        link = _path(make_portal_link(customer).url)
        customer_id = customer.id

    assert apps["rotated"].test_client().get(link).status_code == 303
    assert apps["new only"].test_client().get(link).status_code == 404  # without the fallback: tampered

    # New links are signed with the new key: the old key alone does not open them.
    with apps["rotated"].app_context():
        fresh = _path(make_portal_link(db.session.get(Customer, customer_id)).url)
    assert apps["new only"].test_client().get(fresh).status_code == 303
    assert old.test_client().get(fresh).status_code == 404


def test_sessions_signed_with_a_rotated_out_key_stay_signed_in(apps):
    old = apps["old"]
    with old.app_context():
        merchant = make_merchant()
        make_staff(merchant, "rotation@example.com")
        customer = make_customer(merchant)
        invoice = make_invoice(customer)
        db.session.commit()
        link, number = _path(make_portal_link(customer).url), invoice.number
    staff, shopper = old.test_client(), old.test_client()
    assert login(staff, "rotation@example.com").status_code == 303
    assert shopper.get(link).status_code == 303

    for name, expected_admin, expected_portal in (("rotated", 200, 200), ("new only", 302, 401)):
        for client, path, expected in (
            (staff, "/admin/invoices", expected_admin),
            (shopper, f"/invoices/{number}", expected_portal),
        ):
            copy = apps[name].test_client()
            copy.set_cookie("session", client.get_cookie("session").value)
            assert copy.get(path).status_code == expected, (name, path)


def test_the_encryption_key_is_required_outside_development(monkeypatch, tmp_path):
    for name in ("PORTAL_ENCRYPTION_KEY", "PORTAL_DEVELOPMENT", "PORTAL_SECRET_KEY_FALLBACKS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PORTAL_SECRET_KEY", NEW)
    monkeypatch.setenv("PORTAL_DATABASE_URL", f"sqlite:///{tmp_path / 'portal.db'}")
    with pytest.raises(RuntimeError, match="Set PORTAL_ENCRYPTION_KEY"):
        create_app()

    monkeypatch.setenv("PORTAL_ENCRYPTION_KEY", "first-key , second-key")
    monkeypatch.setenv("PORTAL_SECRET_KEY_FALLBACKS", f"{OLD},older")
    configured = create_app()
    assert configured.config["ENCRYPTION_KEY"] == ["first-key", "second-key"]
    assert configured.config["SECRET_KEY_FALLBACKS"] == [OLD, "older"]

    monkeypatch.setenv("PORTAL_ENCRYPTION_KEY", "first-key,")
    with pytest.raises(RuntimeError, match="empty secret"):
        create_app()


MOLLIE_KEY, STRIPE_KEY, WEBHOOK_SECRET = (
    "test_mollie0123456789abcdef",
    "sk_test_stripe0123456789",
    "whsec_signing0123456",
)


def test_provider_keys_rotate_to_the_first_encryption_key(app, database_url):
    before = build_app(database_url, ENCRYPTION_KEY="old-encryption-key")
    during = build_app(database_url, ENCRYPTION_KEY="new-encryption-key, old-encryption-key")
    after = build_app(database_url, ENCRYPTION_KEY="new-encryption-key")
    try:
        with before.app_context():
            merchant = make_merchant()
            payment_settings.set_provider_account(merchant, "mollie", enabled=True, api_key=MOLLIE_KEY)
            payment_settings.set_provider_account(
                merchant, "stripe", enabled=True, api_key=STRIPE_KEY, webhook_secret=WEBHOOK_SECRET
            )
            db.session.commit()
            merchant_id = merchant.id

        def credentials(flask_app):
            with flask_app.app_context():
                found = (
                    merchant_credentials(merchant_id, "mollie").api_key,
                    merchant_credentials(merchant_id, "stripe").api_key,
                    merchant_credentials(merchant_id, "stripe").webhook_secret,
                )
                db.session.remove()
                return found

        with pytest.raises(RuntimeError, match="cannot be decrypted"):
            credentials(after)  # the new key alone cannot read what the old one encrypted
        assert credentials(during) == (MOLLIE_KEY, STRIPE_KEY, WEBHOOK_SECRET)

        refused = after.test_cli_runner().invoke(args=["portal", "rotate-encryption-key"])
        assert refused.exit_code != 0 and "cannot be decrypted with any key" in refused.output

        rotated = during.test_cli_runner().invoke(args=["portal", "rotate-encryption-key"])
        assert rotated.exit_code == 0, rotated.output
        assert "Re-encrypted 3 stored provider secret(s) with the first key; 0 already used it." in rotated.output
        assert credentials(after) == (MOLLIE_KEY, STRIPE_KEY, WEBHOOK_SECRET)

        again = during.test_cli_runner().invoke(args=["portal", "rotate-encryption-key"])
        assert "Re-encrypted 0 stored provider secret(s) with the first key; 3 already used it." in again.output
        assert credentials(after) == (MOLLIE_KEY, STRIPE_KEY, WEBHOOK_SECRET)
    finally:
        for each in (before, during, after):
            dispose(each)

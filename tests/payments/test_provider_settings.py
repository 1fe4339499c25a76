"""Per-merchant provider settings through the API: stored encrypted, never returned."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models.online_payment import PaymentAttempt, ProviderAccount
from portal.payments.encryption import decrypt_secret
from tests.factories import make_api_key
from tests.payments.conftest import press_pay


@pytest.fixture
def api_key(pay_app, shop):
    from portal.models import Merchant

    with pay_app.app_context():
        key = make_api_key(db.session.get(Merchant, shop.merchant_id))
        db.session.commit()
        db.session.remove()
    return key


def put(client, key, body):
    return client.put("/api/v1/settings/payment-providers", json=body, headers={"Authorization": f"Bearer {key}"})


def test_keys_are_stored_encrypted_and_only_hinted(pay_app, client, api_key, shop):
    response = put(
        client,
        api_key,
        {
            "mollie": {"api_key": "test_merchantmolliekey99"},
            "stripe": {"api_key": "sk_test_merchantstripe77", "webhook_secret": "whsec_merchantsecret55"},
        },
    )

    assert response.status_code == 200, response.json
    assert response.json == {
        "mollie": {
            "enabled": True,
            "source": "merchant",
            "api_key_hint": "test_…ey99",
            "webhook_secret_set": False,
            "methods": None,
        },
        "stripe": {
            "enabled": True,
            "source": "merchant",
            "api_key_hint": "sk_test_…pe77",
            "webhook_secret_set": True,
            "methods": None,
        },
    }
    assert "merchantmolliekey" not in response.get_data(as_text=True)
    with pay_app.app_context():
        rows = {row.provider: row for row in db.session.scalars(select(ProviderAccount))}
        assert b"merchantmolliekey" not in rows["mollie"].api_key_encrypted
        assert decrypt_secret(rows["mollie"].api_key_encrypted) == "test_merchantmolliekey99"
        assert decrypt_secret(rows["stripe"].webhook_secret_encrypted) == "whsec_merchantsecret55"
        assert all(row.merchant_id == shop.merchant_id for row in rows.values())
        db.session.remove()


def test_merchant_key_is_used_instead_of_the_environments(pay_app, client, api_key, shop, customer_client, fake_mollie):
    put(client, api_key, {"mollie": {"api_key": "test_merchantmolliekey99"}})

    press_pay(customer_client, shop.number, "mollie")

    [request] = fake_mollie.requests_to("POST", "/v2/payments")
    assert request.headers["authorization"] == "Bearer test_merchantmolliekey99"


def test_disabling_a_provider_hides_it(pay_app, client, api_key, shop, customer_client, fake_mollie):
    response = put(client, api_key, {"mollie": {"api_key": "test_merchantmolliekey99", "enabled": False}})
    assert response.json["mollie"]["enabled"] is False

    html = customer_client.get(f"/invoices/{shop.number}").get_data(as_text=True)
    assert "pay-button-mollie" not in html
    assert 'name="provider" value="stripe"' in html  # the one left needs no choice
    assert press_pay(customer_client, shop.number, "mollie").status_code == 303
    with pay_app.app_context():
        assert db.session.scalars(select(PaymentAttempt)).all() == []
        db.session.remove()


def test_environment_defaults_are_reported_masked(pay_app, client, api_key):
    response = put(client, api_key, {})
    assert response.json["mollie"] == {
        "enabled": True,
        "source": "environment",
        "api_key_hint": "test_…1234",
        "webhook_secret_set": False,
        "methods": None,
    }


@pytest.mark.parametrize(
    "body,field",
    [
        ({"mollie": {"api_key": "sk_test_wrongprovider"}}, "mollie.api_key"),
        ({"stripe": {"api_key": "sk_test_nosecretgiven"}}, "stripe.webhook_secret"),
        ({"stripe": {"api_key": "sk_test_abcdefgh", "webhook_secret": "nope12345"}}, "stripe.webhook_secret"),
        ({"mollie": {"enabled": True}}, "mollie.api_key"),
        ({"paypal": {"api_key": "x" * 10}}, "paypal"),
    ],
)
def test_bad_settings_are_refused(pay_app, client, api_key, body, field):
    response = put(client, api_key, body)
    assert response.status_code == 422
    assert response.json["error"]["field"] == field


def test_settings_need_an_api_key(client):
    assert put(client, "wrong", {}).status_code == 401


def test_operation_is_in_the_openapi_document(client):
    document = client.get("/api/v1/openapi.json").json
    assert "put" in document["paths"]["/settings/payment-providers"]

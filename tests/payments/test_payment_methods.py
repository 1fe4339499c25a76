"""Payment methods per invoice: staff choose card, Bancontact, iDEAL, SEPA Direct Debit, PayPal or crypto;
the checkout offers exactly those (Mollie's `method`, Stripe's `payment_method_types`), limited to
what the merchant's providers take and have activated."""

from __future__ import annotations

import pytest

from portal.domain.errors import DomainError
from portal.extensions import db
from portal.models import Invoice, Merchant
from portal.models.online_payment import PaymentAttempt
from portal.services import payment_settings
from portal.services.payment_choices import available_methods, set_payment_choice
from tests.api.conftest import Api
from tests.factories import make_api_key
from tests.payments.conftest import MOLLIE_KEY, csrf_token, make_shop, press_pay


def _choose(app, invoice_id: int, providers=("mollie", "stripe"), **options) -> None:
    with app.app_context():
        set_payment_choice(db.session.get(Invoice, invoice_id), list(providers), **options)
        db.session.commit()


def _mollie_sent(fake_mollie) -> dict:
    return fake_mollie.requests_to("POST", "/v2/payments")[-1].data


def _stripe_sent(fake_stripe) -> dict:
    return fake_stripe.requests_to("POST", "/v1/checkout/sessions")[-1].data


def _stripe_types(sent: dict) -> list[str] | None:
    types = sent.get("payment_method_types")
    return list(types.values()) if isinstance(types, dict) else types


def test_by_default_the_providers_checkout_decides(pay_app, shop, customer_client, fake_mollie, fake_stripe):
    press_pay(customer_client, shop.number, "mollie")
    assert "method" not in _mollie_sent(fake_mollie)
    press_pay(customer_client, shop.number, "stripe")
    assert _stripe_types(_stripe_sent(fake_stripe)) is None


def test_the_checkout_offers_exactly_the_methods_staff_chose(pay_app, shop, customer_client, fake_mollie, fake_stripe):
    _choose(pay_app, shop.invoice_id, methods=["bancontact", "card"])
    assert press_pay(customer_client, shop.number, "mollie").status_code == 303
    assert _mollie_sent(fake_mollie)["method"] == ["creditcard", "bancontact"]
    assert press_pay(customer_client, shop.number, "stripe").status_code == 303
    assert _stripe_types(_stripe_sent(fake_stripe)) == ["card", "bancontact"]
    with pay_app.app_context():
        # Kept with the attempt, so a retry (reconcile) sends the very same request.
        latest = db.session.query(PaymentAttempt).order_by(PaymentAttempt.id.desc()).first()
        assert latest.methods == ["card", "bancontact"]


def test_a_method_only_one_provider_takes_leaves_the_other_out(
    pay_app, shop, customer_client, fake_mollie, fake_stripe
):
    _choose(pay_app, shop.invoice_id, methods=["sepa_debit"])  # Mollie takes SEPA Direct Debit only on mandates
    html = customer_client.get(f"/invoices/{shop.number}").get_data(as_text=True)
    assert 'value="stripe"' in html and 'value="mollie"' not in html
    token = csrf_token(customer_client, shop.number)
    press_pay(customer_client, shop.number, "mollie", token=token)
    assert fake_mollie.requests_to("POST", "/v2/payments") == []
    assert press_pay(customer_client, shop.number, "stripe", token=token).status_code == 303
    assert _stripe_types(_stripe_sent(fake_stripe)) == ["sepa_debit"]


def test_methods_are_limited_to_the_currency_and_what_the_accounts_activated(pay_app, fake_mollie, fake_stripe):
    euro = make_shop(pay_app)
    dollar = make_shop(pay_app, currency="USD")
    with pay_app.app_context():
        invoice = db.session.get(Invoice, euro.invoice_id)
        assert available_methods(invoice) == ["card", "bancontact", "ideal", "sepa_debit", "paypal"]
        with pytest.raises(DomainError) as refused:
            set_payment_choice(invoice, ["stripe"], methods=["crypto"])  # stablecoins settle in dollars
        assert refused.value.field == "methods" and "Cryptocurrency" in refused.value.message
        usd = db.session.get(Invoice, dollar.invoice_id)
        assert "crypto" in available_methods(usd) and "ideal" not in available_methods(usd)
        set_payment_choice(usd, ["mollie", "stripe"], methods=["crypto"])

        # The merchant says which methods its Mollie account has on: nothing else is asked of it.
        merchant = db.session.get(Merchant, euro.merchant_id)
        payment_settings.set_provider_account(merchant, "mollie", enabled=True, api_key=MOLLIE_KEY, methods=["card"])
        with pytest.raises(DomainError) as refused:
            payment_settings.set_provider_account(merchant, "mollie", enabled=True, methods=["crypto"])
        assert "Mollie does not take Cryptocurrency" in refused.value.message
        db.session.commit()
    client = pay_app.test_client()
    from tests.payments.conftest import sign_in

    sign_in(pay_app, client, dollar.customer_id)
    html = client.get(f"/invoices/{dollar.number}").get_data(as_text=True)
    assert 'value="stripe"' in html and 'value="mollie"' not in html  # Mollie takes no crypto
    press_pay(client, dollar.number, "stripe")
    assert _stripe_types(_stripe_sent(fake_stripe)) == ["crypto"]

    sign_in(pay_app, client, euro.customer_id)
    press_pay(client, euro.number, "mollie")
    assert _mollie_sent(fake_mollie)["method"] == ["creditcard"]  # the account's own list, without a choice


def test_the_api_sets_and_shows_the_invoices_methods(pay_app, client, fake_mollie, fake_stripe):
    shop = make_shop(pay_app)
    with pay_app.app_context():
        api = Api(client, make_api_key(db.session.get(Merchant, shop.merchant_id)))
        db.session.commit()
    path = f"/invoices/{shop.invoice_id}/payment-methods"
    shown = api.get(path).get_json()
    assert shown["methods"] is None and shown["bank_transfer"] is True
    assert shown["checkout_methods"] == {"mollie": None, "stripe": None}

    chosen = api.put(path, {"providers": None, "methods": ["ideal", "paypal"], "bank_transfer": False})
    assert chosen.status_code == 200, chosen.get_json()
    body = chosen.get_json()
    assert body["methods"] == ["ideal", "paypal"] and body["bank_transfer"] is False
    assert body["checkout_methods"] == {"mollie": ["ideal", "paypal"], "stripe": ["ideal", "paypal"]}

    refused = api.put(path, {"providers": ["mollie"], "methods": ["crypto"]})
    assert refused.status_code == 422 and refused.get_json()["error"]["field"] == "methods"
    assert api.put(path, {"providers": None, "methods": ["bitcoin"]}).status_code == 422
    assert api.get(path).get_json()["methods"] == ["ideal", "paypal"]  # unchanged by the refusals

    assert api.put(path, {"providers": None}).get_json()["methods"] is None  # back to the default

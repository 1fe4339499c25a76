"""The overview's Pay, "Pay selected" and "Pay all" respect each invoice's ways to pay.

A checkout for several invoices offers only the payment methods allowed on every one of them, and
the customer is told when they have none in common; a row's Pay shows only where a provider can
take one of the invoice's methods (as on the invoice page).
"""

from __future__ import annotations

from sqlalchemy import select

from portal.extensions import db
from portal.models import Invoice
from portal.models.online_payment import PaymentAttempt
from portal.services.payment_choices import set_payment_choice
from tests.payments.test_pay_several import (  # noqa: F401 - fixtures
    client,
    late,
    press_pay_several,
    rows,
    two_invoices,
)


def _choose(app, number: str, providers=("mollie", "stripe"), **options) -> None:
    with app.app_context():
        invoice = db.session.scalar(select(Invoice).where(Invoice.number == number))
        set_payment_choice(invoice, list(providers), **options)
        db.session.commit()
        db.session.remove()


def _stripe_types(sent: dict) -> list[str] | None:
    types = sent.get("payment_method_types")
    return list(types.values()) if isinstance(types, dict) else types


def test_a_checkout_of_several_offers_only_the_methods_allowed_on_all(
    late,  # noqa: F811
    pay_app,
    two_invoices,  # noqa: F811
    client,  # noqa: F811
    fake_mollie,
):
    first, later, _, _ = two_invoices
    _choose(pay_app, first, methods=["card", "bancontact"])
    _choose(pay_app, later, methods=["bancontact", "ideal"])

    response = press_pay_several(client, first, invoice=[first, later])

    assert response.status_code == 303
    [created] = fake_mollie.requests_to("POST", "/v2/payments")
    assert created.data["method"] == ["bancontact"]  # card and iDEAL are allowed on one of them only
    [attempt] = rows(pay_app, PaymentAttempt)
    assert attempt.methods == ["bancontact"] and len(attempt.allocations) == 2


def test_pay_all_goes_to_the_provider_that_can_take_a_method_of_every_invoice(
    late,  # noqa: F811
    pay_app,
    two_invoices,  # noqa: F811
    client,  # noqa: F811
    fake_mollie,
    fake_stripe,
):
    first, later, _, _ = two_invoices
    _choose(pay_app, first, methods=["sepa_debit"])  # Mollie takes SEPA Direct Debit only on mandates

    response = press_pay_several(client, first, all="1", currency="EUR")

    assert response.status_code == 303
    assert fake_mollie.requests_to("POST", "/v2/payments") == []
    [created] = fake_stripe.requests_to("POST", "/v1/checkout/sessions")
    assert _stripe_types(created.data) == ["sepa_debit"]


def test_invoices_with_no_method_in_common_are_told_so_and_nothing_is_created(
    late,  # noqa: F811
    pay_app,
    two_invoices,  # noqa: F811
    client,  # noqa: F811
    fake_mollie,
    fake_stripe,
):
    first, later, _, _ = two_invoices
    _choose(pay_app, first, methods=["sepa_debit"])
    _choose(pay_app, later, methods=["card"])

    for form in ({"invoice": [first, later]}, {"all": "1"}, {"invoice": [first, later], "provider": "stripe"}):
        response = press_pay_several(client, first, **form)
        assert response.status_code == 303 and response.headers["Location"] == "/"
        page = client.get("/").get_data(as_text=True)
        assert "have no online payment method in common" in page, form

    assert rows(pay_app, PaymentAttempt) == []
    assert fake_mollie.requests_to("POST", "/v2/payments") == []
    assert fake_stripe.requests_to("POST", "/v1/checkout/sessions") == []
    # Each of them alone still goes to the checkout that takes its method.
    assert press_pay_several(client, first, invoice=[later]).status_code == 303
    assert fake_mollie.requests_to("POST", "/v2/payments")[0].data["method"] == ["creditcard"]


def test_a_row_gets_pay_and_a_checkbox_only_when_a_provider_takes_one_of_its_methods(
    late,  # noqa: F811
    pay_app,
    two_invoices,  # noqa: F811
    client,  # noqa: F811
):
    first, later, _, _ = two_invoices
    # Staff offer only Mollie, and only SEPA Direct Debit, which Mollie cannot take in a checkout.
    _choose(pay_app, later, providers=["mollie"], methods=["sepa_debit"])

    page = client.get("/").get_data(as_text=True)

    assert f'data-testid="pay-row-{first}"' in page and f'data-testid="select-{first}"' in page
    assert f'data-testid="pay-row-{later}"' not in page and f'data-testid="select-{later}"' not in page
    invoice_page = client.get(f"/invoices/{later}").get_data(as_text=True)
    assert 'value="mollie"' not in invoice_page  # the invoice page agrees: no online payment there

"""No money gets lost: late, double and mismatched payments, void invoices, refunds and chargebacks (issue 11)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Customer, Invoice, Payment
from portal.models.ledger import CreditEntry, PaymentReversal
from portal.models.mail import OutboxMessage
from portal.models.online_payment import PaymentAttempt
from portal.services import invoices
from portal.services.ledger import credit_balances, money_totals
from tests.factories import credit, pay
from tests.fakes.stripe import sign
from tests.payments.conftest import STRIPE_WEBHOOK_SECRET, load_invoice, make_shop, press_pay, sign_in

NOT_DUE = date(2099, 1, 31)  # no late fees: the amount due is the outstanding amount


@pytest.fixture
def shop(pay_app):
    return make_shop(pay_app, due_date=NOT_DUE)


@pytest.fixture
def customer_client(pay_app, shop):
    client = pay_app.test_client()
    sign_in(pay_app, client, shop.customer_id)
    return client


def attempts(app) -> list[PaymentAttempt]:
    with app.app_context():
        rows = db.session.scalars(select(PaymentAttempt).order_by(PaymentAttempt.id)).all()
        db.session.expunge_all()
        db.session.remove()
    return rows


def balances(app, customer_id: int) -> dict[str, int]:
    with app.app_context():
        value = credit_balances(db.session.get(Customer, customer_id))
        db.session.remove()
    return value


def outstanding(app, invoice_id: int) -> int:
    with app.app_context():
        value = invoices.outstanding(db.session.get(Invoice, invoice_id))
        db.session.remove()
    return value


def mail_kinds(app) -> list[str]:
    with app.app_context():
        kinds = list(db.session.scalars(select(OutboxMessage.kind).order_by(OutboxMessage.id)))
        db.session.remove()
    return kinds


def count(app, model) -> int:
    with app.app_context():
        value = db.session.scalar(select(func.count()).select_from(model))
        db.session.remove()
    return value


def assert_balanced(app, customer_id: int, currency: str = "EUR") -> None:
    with app.app_context():
        totals = money_totals(db.session.get(Customer, customer_id), currency)
        db.session.remove()
    assert totals.balanced, totals


def staff_pays(app, invoice_id: int, amount: int, on: date = date(2026, 3, 1)) -> None:
    with app.app_context():
        pay(db.session.get(Invoice, invoice_id), amount, on)
        db.session.commit()
        db.session.remove()


def mollie_webhook(app, payment_id: str) -> int:
    return app.test_client().post("/webhooks/mollie", data={"id": payment_id}).status_code


def stripe_webhook(app, payload: str) -> int:
    return (
        app.test_client()
        .post(
            "/webhooks/stripe",
            data=payload.encode(),
            headers={"Stripe-Signature": sign(payload, STRIPE_WEBHOOK_SECRET), "Content-Type": "application/json"},
        )
        .status_code
    )


def paid_by_mollie(app, shop, customer_client, fake_mollie) -> PaymentAttempt:
    assert press_pay(customer_client, shop.number, "mollie").status_code == 303
    [attempt] = attempts(app)
    fake_mollie.set_status(attempt.provider_payment_id, "paid")
    assert mollie_webhook(app, attempt.provider_payment_id) == 200
    assert load_invoice(app, shop.invoice_id).status == "paid"
    return attempt


def paid_by_stripe(app, shop, customer_client, fake_stripe) -> PaymentAttempt:
    assert press_pay(customer_client, shop.number, "stripe").status_code == 303
    [attempt] = attempts(app)
    fake_stripe.complete(attempt.provider_payment_id)
    assert stripe_webhook(app, fake_stripe.event(attempt.provider_payment_id, "checkout.session.completed")) == 200
    assert load_invoice(app, shop.invoice_id).status == "paid"
    return attempt


# --- money in -------------------------------------------------------------------------------------


def test_manual_payment_then_card_payment_books_the_surplus_on_the_balance(pay_app, shop, customer_client, fake_mollie):
    """The fault run: card 100.00 paid after staff booked a 30.00 transfer on a 100.00 invoice."""
    assert press_pay(customer_client, shop.number, "mollie").status_code == 303
    [attempt] = attempts(pay_app)
    staff_pays(pay_app, shop.invoice_id, 30000)
    fake_mollie.set_status(attempt.provider_payment_id, "paid")

    assert mollie_webhook(pay_app, attempt.provider_payment_id) == 200

    invoice = load_invoice(pay_app, shop.invoice_id)
    assert invoice.status == "paid"
    assert sorted(p.amount for p in invoice.payments) == [30000, 70000]
    assert balances(pay_app, shop.customer_id) == {"EUR": 30000}
    assert {"credit_added", "credit_notice", "payment_notice"} <= set(mail_kinds(pay_app))
    assert_balanced(pay_app, shop.customer_id)
    # No second checkout: the invoice is paid, the pay button is gone and pressing it creates nothing.
    page = customer_client.get(f"/invoices/{shop.number}").get_data(as_text=True)
    assert 'data-testid="pay-button' not in page
    press_pay(customer_client, shop.number, "mollie")
    assert len(fake_mollie.payments) == 1


def test_staff_payment_that_settles_the_invoice_cancels_its_open_checkout(pay_app, shop, customer_client, fake_mollie):
    assert press_pay(customer_client, shop.number, "mollie").status_code == 303
    [attempt] = attempts(pay_app)

    staff_pays(pay_app, shop.invoice_id, 100000)

    assert fake_mollie.payments[attempt.provider_payment_id]["status"] == "canceled"
    assert attempts(pay_app)[0].status == "superseded"


@pytest.mark.parametrize("provider", ["mollie", "stripe"])
def test_void_cancels_the_checkout_and_a_payment_that_still_succeeds_goes_to_the_balance(
    pay_app, shop, customer_client, fake_mollie, fake_stripe, provider
):
    assert press_pay(customer_client, shop.number, provider).status_code == 303
    [attempt] = attempts(pay_app)
    with pay_app.app_context():
        invoices.void_invoice(db.session.get(Invoice, shop.invoice_id))
        db.session.commit()
        db.session.remove()

    assert attempts(pay_app)[0].status == "superseded"
    if provider == "mollie":
        assert fake_mollie.payments[attempt.provider_payment_id]["status"] == "canceled"
        # Say the customer's bank had already sent the money: Mollie reports it paid after all.
        fake_mollie.set_status(attempt.provider_payment_id, "paid")
        assert mollie_webhook(pay_app, attempt.provider_payment_id) == 200
    else:
        assert fake_stripe.sessions[attempt.provider_payment_id]["status"] == "expired"
        fake_stripe.sessions[attempt.provider_payment_id]["status"] = "complete"
        fake_stripe.sessions[attempt.provider_payment_id]["payment_status"] = "paid"
        payload = fake_stripe.event(attempt.provider_payment_id, "checkout.session.completed")
        assert stripe_webhook(pay_app, payload) == 200

    assert load_invoice(pay_app, shop.invoice_id).status == "void"
    assert balances(pay_app, shop.customer_id) == {"EUR": 100000}
    with pay_app.app_context():
        [entry] = db.session.scalars(select(CreditEntry)).all()
        assert (entry.reason, entry.amount) == ("invoice_void", 100000)
        db.session.remove()
    assert_balanced(pay_app, shop.customer_id)


def test_full_credit_note_cancels_the_checkout(pay_app, shop, customer_client, fake_mollie):
    assert press_pay(customer_client, shop.number, "mollie").status_code == 303
    [attempt] = attempts(pay_app)
    with pay_app.app_context():
        credit(db.session.get(Invoice, shop.invoice_id), 100000, date(2026, 3, 1))
        db.session.commit()
        db.session.remove()

    assert load_invoice(pay_app, shop.invoice_id).status == "paid"
    assert fake_mollie.payments[attempt.provider_payment_id]["status"] == "canceled"


def test_a_larger_amount_than_asked_pays_the_invoice_and_the_rest_is_credit(
    pay_app, shop, customer_client, fake_mollie
):
    assert press_pay(customer_client, shop.number, "mollie").status_code == 303
    [attempt] = attempts(pay_app)
    payment = fake_mollie.set_status(attempt.provider_payment_id, "paid")
    payment["amount"] = {"value": "1200.00", "currency": "EUR"}

    mollie_webhook(pay_app, attempt.provider_payment_id)

    assert load_invoice(pay_app, shop.invoice_id).status == "paid"
    assert balances(pay_app, shop.customer_id) == {"EUR": 20000}
    assert_balanced(pay_app, shop.customer_id)


# --- money out ------------------------------------------------------------------------------------


def test_mollie_refund_reopens_the_invoice_and_is_shown_to_staff_and_customer(
    pay_app, shop, customer_client, fake_mollie
):
    attempt = paid_by_mollie(pay_app, shop, customer_client, fake_mollie)
    fake_mollie.refund(attempt.provider_payment_id, "400.00")

    assert mollie_webhook(pay_app, attempt.provider_payment_id) == 200

    invoice = load_invoice(pay_app, shop.invoice_id)
    assert invoice.status == "open" and invoice.paid_on is None
    assert outstanding(pay_app, shop.invoice_id) == 40000
    with pay_app.app_context():
        [reversal] = db.session.scalars(select(PaymentReversal)).all()
        assert (reversal.kind, reversal.amount, reversal.principal_amount) == ("refunded", 40000, 40000)
        db.session.remove()
    assert "refund_notice" in mail_kinds(pay_app)
    page = customer_client.get(f"/invoices/{shop.number}").get_data(as_text=True)
    assert 'data-testid="refund"' in page
    assert 'data-testid="pay-button' in page  # the rest can be paid again
    # The rest of it refunded too: everything is outstanding again.
    fake_mollie.refund(attempt.provider_payment_id, "600.00")
    mollie_webhook(pay_app, attempt.provider_payment_id)
    assert outstanding(pay_app, shop.invoice_id) == 100000
    assert_balanced(pay_app, shop.customer_id)


def test_mollie_chargeback_reopens_the_invoice(pay_app, shop, customer_client, fake_mollie):
    attempt = paid_by_mollie(pay_app, shop, customer_client, fake_mollie)
    fake_mollie.chargeback(attempt.provider_payment_id, "1000.00")

    mollie_webhook(pay_app, attempt.provider_payment_id)

    assert load_invoice(pay_app, shop.invoice_id).status == "open"
    assert outstanding(pay_app, shop.invoice_id) == 100000
    with pay_app.app_context():
        assert db.session.scalars(select(PaymentReversal.kind)).all() == ["charged_back"]
        db.session.remove()
    assert_balanced(pay_app, shop.customer_id)


def test_fifty_identical_refund_webhooks_book_one_refund(pay_app, shop, customer_client, fake_mollie):
    attempt = paid_by_mollie(pay_app, shop, customer_client, fake_mollie)
    fake_mollie.refund(attempt.provider_payment_id, "250.00")

    assert {mollie_webhook(pay_app, attempt.provider_payment_id) for _ in range(50)} == {200}

    assert count(pay_app, PaymentReversal) == 1
    assert outstanding(pay_app, shop.invoice_id) == 25000
    assert mail_kinds(pay_app).count("refund_notice") == 1


def test_reconcile_books_a_refund_whose_webhook_never_came(pay_app, shop, customer_client, fake_mollie, runner):
    attempt = paid_by_mollie(pay_app, shop, customer_client, fake_mollie)
    fake_mollie.refund(attempt.provider_payment_id, "100.00")

    output = runner.invoke(args=["portal", "reconcile"]).output

    assert f"attempt {attempt.id} (mollie): reversed" in output
    assert outstanding(pay_app, shop.invoice_id) == 10000
    assert "reversed" not in runner.invoke(args=["portal", "reconcile"]).output  # booked once


def test_stripe_partial_refund_and_dispute_reopen_the_invoice_once(pay_app, shop, customer_client, fake_stripe):
    attempt = paid_by_stripe(pay_app, shop, customer_client, fake_stripe)
    session_id = attempt.provider_payment_id
    fake_stripe.refund(session_id, 20000)
    refunded = fake_stripe.charge_event(session_id)

    for _ in range(3):
        assert stripe_webhook(pay_app, refunded) == 200
    assert outstanding(pay_app, shop.invoice_id) == 20000
    assert load_invoice(pay_app, shop.invoice_id).status == "open"

    dispute = fake_stripe.dispute_event(session_id, 80000)
    assert stripe_webhook(pay_app, dispute) == 200
    assert stripe_webhook(pay_app, dispute) == 200

    assert outstanding(pay_app, shop.invoice_id) == 100000
    with pay_app.app_context():
        rows = db.session.execute(select(PaymentReversal.kind, PaymentReversal.amount).order_by(PaymentReversal.id))
        assert [tuple(row) for row in rows] == [("refunded", 20000), ("charged_back", 80000)]
        db.session.remove()
    assert_balanced(pay_app, shop.customer_id)


def test_stripe_refund_before_the_payment_is_booked_is_asked_again(pay_app, shop, customer_client, fake_stripe):
    assert press_pay(customer_client, shop.number, "stripe").status_code == 303
    [attempt] = attempts(pay_app)
    fake_stripe.complete(attempt.provider_payment_id)
    fake_stripe.refund(attempt.provider_payment_id, 100000)

    assert stripe_webhook(pay_app, fake_stripe.charge_event(attempt.provider_payment_id)) == 503


def test_a_refund_of_money_that_went_to_the_balance_comes_out_of_the_balance(
    pay_app, shop, customer_client, fake_mollie
):
    assert press_pay(customer_client, shop.number, "mollie").status_code == 303
    [attempt] = attempts(pay_app)
    staff_pays(pay_app, shop.invoice_id, 100000)
    fake_mollie.set_status(attempt.provider_payment_id, "paid")
    mollie_webhook(pay_app, attempt.provider_payment_id)
    assert balances(pay_app, shop.customer_id) == {"EUR": 100000}

    fake_mollie.refund(attempt.provider_payment_id, "1000.00")
    mollie_webhook(pay_app, attempt.provider_payment_id)

    assert balances(pay_app, shop.customer_id) == {}
    assert load_invoice(pay_app, shop.invoice_id).status == "paid"  # the staff's payment still stands
    assert_balanced(pay_app, shop.customer_id)


def test_staff_payment_above_the_outstanding_is_refused_unless_the_surplus_goes_to_credit(pay_app, shop):
    from portal.domain.errors import PaymentExceedsOutstanding

    with pay_app.app_context():
        invoice = db.session.get(Invoice, shop.invoice_id)
        with pytest.raises(PaymentExceedsOutstanding):
            invoices.record_payment(invoice, amount=120000, paid_on=date(2026, 3, 1), method="bank_transfer")
        payment = invoices.record_payment(
            invoice, amount=120000, paid_on=date(2026, 3, 1), method="bank_transfer", surplus_to_credit=True
        )
        db.session.commit()
        assert payment.amount == 100000 and invoice.status == "paid"
        assert credit_balances(invoice.customer) == {"EUR": 20000}
        assert db.session.scalar(select(func.count()).select_from(Payment)) == 1
        db.session.remove()

"""Refunds and chargebacks of one checkout that paid several invoices: reversed invoice by invoice, the one due last first.

The rule (portal.services.online_payments.receipts_giving_back): money that goes back comes off the
invoice due last first, each invoice giving back up to what it received (principal, then its late
charges), so a partial refund reopens the latest invoices and leaves the oldest debts paid. Every
part is booked in the webhook's transaction; a replayed report books nothing twice.
"""

from __future__ import annotations

from sqlalchemy import select

from portal.extensions import db
from portal.models import Invoice, Payment
from portal.models.ledger import CreditEntry, PaymentReversal
from portal.models.online_payment import PaymentAttempt
from portal.services import invoices, refunds
from tests.payments.test_money_kept import assert_balanced, mollie_webhook, stripe_webhook
from tests.payments.test_pay_several import (  # noqa: F401 - fixtures
    client,
    invoice_status,
    late,
    press_pay_several,
    rows,
    two_invoices,
)

TOTAL = 124986  # 1,049.86 for the overdue invoice (1,000.00 + 40.00 fee + 9.86 interest) + 200.00


def _outstanding(app, number: str) -> int:
    with app.app_context():
        value = invoices.outstanding(db.session.scalar(select(Invoice).where(Invoice.number == number)))
        db.session.remove()
    return value


def _reversals(app) -> list[tuple[str, str, int]]:
    """(invoice number, kind, amount) of every reversal, in booking order."""
    with app.app_context():
        found = [
            (db.session.get(Payment, reversal.payment_id).invoice.number, reversal.kind, reversal.amount)
            for reversal in db.session.scalars(select(PaymentReversal).order_by(PaymentReversal.id))
        ]
        db.session.remove()
    return found


def _paid_together(app, client, first: str, provider: str, fake) -> PaymentAttempt:  # noqa: F811
    assert press_pay_several(client, first, all="1", provider=provider).status_code == 303
    [attempt] = rows(app, PaymentAttempt)
    assert attempt.amount == TOTAL and len(attempt.allocations) == 2
    if provider == "mollie":
        fake.set_status(attempt.provider_payment_id, "paid")
        assert mollie_webhook(app, attempt.provider_payment_id) == 200
    else:
        fake.complete(attempt.provider_payment_id)
        assert stripe_webhook(app, fake.event(attempt.provider_payment_id, "checkout.session.completed")) == 200
    return attempt


def test_a_partial_mollie_refund_reopens_the_invoice_due_last_first(
    late,  # noqa: F811
    pay_app,
    two_invoices,  # noqa: F811
    client,  # noqa: F811
    fake_mollie,
):
    first, later, customer_id, _ = two_invoices
    attempt = _paid_together(pay_app, client, first, "mollie", fake_mollie)

    fake_mollie.refund(attempt.provider_payment_id, "150.00")
    for _ in range(3):  # Mollie calls again after every change, and retries
        assert mollie_webhook(pay_app, attempt.provider_payment_id) == 200

    assert (invoice_status(pay_app, later), _outstanding(pay_app, later)) == ("open", 15000)
    assert (invoice_status(pay_app, first), _outstanding(pay_app, first)) == ("paid", 0)
    assert _reversals(pay_app) == [(later, "refunded", 15000)]

    # 250.00 refunded in total: the later invoice gives back all of its 200.00, the first 50.00.
    fake_mollie.refund(attempt.provider_payment_id, "100.00")
    assert mollie_webhook(pay_app, attempt.provider_payment_id) == 200
    assert mollie_webhook(pay_app, attempt.provider_payment_id) == 200

    assert _outstanding(pay_app, later) == 20000
    assert (invoice_status(pay_app, first), _outstanding(pay_app, first)) == ("open", 5000)
    assert _reversals(pay_app) == [(later, "refunded", 15000), (later, "refunded", 5000), (first, "refunded", 5000)]
    assert rows(pay_app, CreditEntry) == []
    assert_balanced(pay_app, customer_id)


def test_a_full_mollie_chargeback_reopens_both_with_the_late_charges_given_back(
    late,  # noqa: F811
    pay_app,
    two_invoices,  # noqa: F811
    client,  # noqa: F811
    fake_mollie,
):
    first, later, customer_id, _ = two_invoices
    attempt = _paid_together(pay_app, client, first, "mollie", fake_mollie)

    fake_mollie.chargeback(attempt.provider_payment_id, "1249.86")
    assert mollie_webhook(pay_app, attempt.provider_payment_id) == 200
    assert mollie_webhook(pay_app, attempt.provider_payment_id) == 200

    assert (invoice_status(pay_app, first), _outstanding(pay_app, first)) == ("open", 100000)
    assert (invoice_status(pay_app, later), _outstanding(pay_app, later)) == ("open", 20000)
    with pay_app.app_context():
        parts = db.session.execute(
            select(PaymentReversal.kind, PaymentReversal.principal_amount, PaymentReversal.late_amount).order_by(
                PaymentReversal.id
            )
        ).all()
        db.session.remove()
    assert [tuple(part) for part in parts] == [("charged_back", 20000, 0), ("charged_back", 100000, 4986)]
    assert rows(pay_app, CreditEntry) == []  # nothing came out of the balance: it all went back invoice by invoice
    assert_balanced(pay_app, customer_id)


def test_a_stripe_dispute_reported_twice_is_booked_once_across_the_invoices(
    late,  # noqa: F811
    pay_app,
    two_invoices,  # noqa: F811
    client,  # noqa: F811
    fake_stripe,
):
    first, later, customer_id, _ = two_invoices
    attempt = _paid_together(pay_app, client, first, "stripe", fake_stripe)
    assert [invoice_status(pay_app, number) for number in (first, later)] == ["paid", "paid"]

    dispute = fake_stripe.dispute_event(attempt.provider_payment_id, 30000, dispute_id="dp_several")
    assert stripe_webhook(pay_app, dispute) == 200
    assert stripe_webhook(pay_app, dispute) == 200  # the same event again
    # The same dispute in another event (Stripe's update): the dispute is booked already.
    again = fake_stripe.dispute_event(attempt.provider_payment_id, 30000, dispute_id="dp_several")
    assert stripe_webhook(pay_app, again) == 200

    assert _reversals(pay_app) == [(later, "charged_back", 20000), (first, "charged_back", 10000)]
    assert _outstanding(pay_app, later) == 20000 and _outstanding(pay_app, first) == 10000
    assert_balanced(pay_app, customer_id)


def test_a_stripe_refund_event_books_the_difference_once(
    late,  # noqa: F811
    pay_app,
    two_invoices,  # noqa: F811
    client,  # noqa: F811
    fake_stripe,
):
    first, later, customer_id, _ = two_invoices
    attempt = _paid_together(pay_app, client, first, "stripe", fake_stripe)

    fake_stripe.refund(attempt.provider_payment_id, 5000)
    refunded = fake_stripe.charge_event(attempt.provider_payment_id)
    for _ in range(3):
        assert stripe_webhook(pay_app, refunded) == 200

    assert _reversals(pay_app) == [(later, "refunded", 5000)]
    assert (invoice_status(pay_app, later), _outstanding(pay_app, later)) == ("open", 5000)
    assert invoice_status(pay_app, first) == "paid"
    assert_balanced(pay_app, customer_id)


def test_staff_refund_one_invoice_of_a_shared_checkout_through_the_provider(
    late,  # noqa: F811
    pay_app,
    two_invoices,  # noqa: F811
    client,  # noqa: F811
    fake_mollie,
):
    first, later, customer_id, _ = two_invoices
    attempt = _paid_together(pay_app, client, first, "mollie", fake_mollie)
    with pay_app.app_context():
        payment = db.session.scalar(select(Payment).join(Invoice).where(Invoice.number == first))
        refunds.refund_payment(payment, 30000)
        db.session.commit()
        db.session.remove()

    [refund] = fake_mollie.refunds[attempt.provider_payment_id]
    assert refund["amount"] == {"value": "300.00", "currency": "EUR"}
    # Mollie then reports 300.00 refunded on the payment: booked already, on the invoice staff chose.
    assert mollie_webhook(pay_app, attempt.provider_payment_id) == 200
    assert _reversals(pay_app) == [(first, "refunded", 30000)]
    assert invoice_status(pay_app, later) == "paid"
    assert _outstanding(pay_app, first) == 30000
    assert_balanced(pay_app, customer_id)

"""Saved cards and mandates: kept at checkout, charged off-session by staff and the API, autopay, removal."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Customer, Invoice, Merchant, Payment
from portal.models.mail import OutboxMessage
from portal.models.online_payment import PayLock, PaymentAttempt
from portal.models.saved_method import SavedPaymentMethod
from tests.admin.conftest import login, make_staff
from tests.factories import make_api_key, make_invoice
from tests.fakes.stripe import sign
from tests.payments.conftest import STRIPE_WEBHOOK_SECRET, csrf_token, load_invoice, make_shop, sign_in

# 30 days after the SPEC invoice's due date: 1,000.00 + 40.00 fee + 9.86 interest.
LATE = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.fixture
def late(time_machine):
    time_machine.move_to(LATE, tick=True)


def press_pay_saving(client, number: str, provider: str):
    """Press Pay with "Save my card or bank account" ticked."""
    token = csrf_token(client, number)
    return client.post(f"/invoices/{number}/pay", data={"csrf_token": token, "provider": provider, "save_method": "1"})


def last_attempt(app) -> PaymentAttempt:
    with app.app_context():
        attempt = db.session.scalars(select(PaymentAttempt).order_by(PaymentAttempt.id.desc())).first()
        db.session.expunge(attempt)
        db.session.remove()
    return attempt


def methods_of(app, customer_id: int) -> list[SavedPaymentMethod]:
    with app.app_context():
        rows = list(
            db.session.scalars(
                select(SavedPaymentMethod)
                .where(SavedPaymentMethod.customer_id == customer_id)
                .order_by(SavedPaymentMethod.id)
            )
        )
        db.session.expunge_all()
        db.session.remove()
    return rows


def post_stripe_event(app, payload: str) -> int:
    return (
        app.test_client()
        .post(
            "/webhooks/stripe",
            data=payload.encode(),
            headers={"Stripe-Signature": sign(payload, STRIPE_WEBHOOK_SECRET), "Content-Type": "application/json"},
        )
        .status_code
    )


def save_card_at_stripe(app, client, shop, fake_stripe) -> SavedPaymentMethod:
    """Pay the shop's invoice at Stripe's checkout with the card saved; return the saved card."""
    assert press_pay_saving(client, shop.number, "stripe").status_code == 303
    attempt = last_attempt(app)
    fake_stripe.complete(attempt.provider_payment_id)
    assert post_stripe_event(app, fake_stripe.event(attempt.provider_payment_id, "checkout.session.completed")) == 200
    [method] = methods_of(app, shop.customer_id)
    return method


def save_mandate_at_mollie(app, client, shop, fake_mollie) -> SavedPaymentMethod:
    assert press_pay_saving(client, shop.number, "mollie").status_code == 303
    attempt = last_attempt(app)
    fake_mollie.set_status(attempt.provider_payment_id, "paid")
    assert app.test_client().post("/webhooks/mollie", data={"id": attempt.provider_payment_id}).status_code == 200
    [method] = methods_of(app, shop.customer_id)
    return method


def another_invoice(app, shop, due: date = date(2026, 2, 28)) -> tuple[int, str]:
    """A second open invoice of the shop's customer (1,000.00 EUR)."""
    with app.app_context():
        customer = db.session.get(Customer, shop.customer_id)
        invoice = make_invoice(customer, issue_date=date(2026, 2, 1), due_date=due)
        db.session.commit()
        found = invoice.id, invoice.number
        db.session.remove()
    return found


def api_client(app, merchant_id: int):
    with app.app_context():
        key = make_api_key(db.session.get(Merchant, merchant_id))
        db.session.commit()
        db.session.remove()
    client = app.test_client()

    def post(path: str, json: object = None, headers: dict | None = None):
        return client.post("/api/v1" + path, json=json, headers={"Authorization": f"Bearer {key}", **(headers or {})})

    return post


def staff_client(app, merchant_id: int):
    email = f"staff-{merchant_id}@merchant.example"
    with app.app_context():
        make_staff(db.session.get(Merchant, merchant_id), email)
        db.session.commit()
        db.session.remove()
    client = app.test_client()
    assert login(client, email).status_code == 303
    return client


def staff_charge(client, invoice_id: int, method_id: int):
    page = client.get(f"/admin/invoices/{invoice_id}").get_data(as_text=True)
    assert "Charge saved card" in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]
    return client.post(
        f"/admin/invoices/{invoice_id}/charge-saved-method",
        data={"csrf_token": token, "saved_method_id": str(method_id)},
    )


def mails(app, kind: str) -> list[OutboxMessage]:
    with app.app_context():
        rows = list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind)))
        db.session.expunge_all()
        db.session.remove()
    return rows


def count(app, model, *where) -> int:
    with app.app_context():
        value = db.session.scalar(select(func.count()).select_from(model).where(*where))
        db.session.remove()
    return value


# --- saving at checkout, charging off-session -----------------------------------------------------


def test_a_card_saved_at_stripe_checkout_is_charged_off_session_by_staff(
    late, pay_app, shop, customer_client, fake_stripe
):
    html = customer_client.get(f"/invoices/{shop.number}").get_data(as_text=True)
    assert 'data-testid="save-method"' in html

    card = save_card_at_stripe(pay_app, customer_client, shop, fake_stripe)

    [session_request] = fake_stripe.requests_to("POST", "/v1/checkout/sessions")
    [customer_request] = fake_stripe.requests_to("POST", "/v1/customers")
    assert customer_request.data["email"].endswith("@example.com")
    assert session_request.data["customer"] == card.provider_customer_id
    assert session_request.data["payment_intent_data"]["setup_future_usage"] == "off_session"
    assert (card.kind, card.brand, card.last4, card.expiry_month, card.expiry_year) == (
        "card",
        "visa",
        "4242",
        12,
        2030,
    )
    assert card.provider_method_id.startswith("pm_") and card.provider_customer_id.startswith("cus_")
    assert load_invoice(pay_app, shop.invoice_id).status == "paid"

    invoice_id, _number = another_invoice(pay_app, shop)
    staff = staff_client(pay_app, shop.merchant_id)
    response = staff_charge(staff, invoice_id, card.id)

    assert response.status_code == 303
    [intent_request] = fake_stripe.requests_to("POST", "/v1/payment_intents")
    params = intent_request.data
    assert (params["off_session"], params["confirm"]) == ("true", "true")
    assert params["customer"] == card.provider_customer_id and params["payment_method"] == card.provider_method_id
    # Due 2026-02-28, viewed 2026-03-02: 2 days of interest at 12 % (0.66) and the 40.00 fee.
    assert params["amount"] == "104066" and params["currency"] == "eur"
    attempt = last_attempt(pay_app)
    assert intent_request.headers["idempotency-key"] == f"portal-attempt-{attempt.id}"
    assert (attempt.status, attempt.initiated_by, attempt.saved_method_id) == ("paid", "staff", card.id)
    invoice = load_invoice(pay_app, invoice_id)
    assert invoice.status == "paid"
    [payment] = invoice.payments
    assert payment.method == "stripe" and payment.reference == attempt.provider_payment_id
    admin_page = staff.get(f"/admin/invoices/{invoice_id}").get_data(as_text=True)
    assert "charged to the saved payment method" in admin_page
    assert "saved method charged by staff" in admin_page  # the timeline says who started the charge

    # Stripe's own payment_intent.succeeded arrives later: the same ledger path books nothing twice.
    assert post_stripe_event(pay_app, fake_stripe.intent_event(attempt.provider_payment_id)) == 200
    assert count(pay_app, Payment, Payment.invoice_id == invoice_id) == 1


def test_a_mollie_first_payment_leaves_a_mandate_that_the_api_charges_as_a_recurring_payment(
    late, pay_app, shop, customer_client, fake_mollie
):
    mandate = save_mandate_at_mollie(pay_app, customer_client, shop, fake_mollie)

    [first] = fake_mollie.requests_to("POST", "/v2/payments")
    assert first.data["sequenceType"] == "first"
    assert first.data["customerId"] == mandate.provider_customer_id
    assert mandate.provider_method_id.startswith("mdt_")
    assert (mandate.kind, mandate.brand, mandate.last4, mandate.expiry_month, mandate.expiry_year) == (
        "card",
        "Mastercard",
        "6787",
        5,
        2031,
    )

    invoice_id, _number = another_invoice(pay_app, shop)
    post = api_client(pay_app, shop.merchant_id)
    response = post(f"/invoices/{invoice_id}/charge-saved-method", {})

    assert response.status_code == 201, response.json
    body = response.json
    assert (body["status"], body["initiated_by"], body["saved_method_id"]) == ("paid", "api", mandate.id)
    assert body["amount"] == 104066 and body["payment_id"] is not None
    recurring = fake_mollie.requests_to("POST", "/v2/payments")[-1].data
    assert recurring["sequenceType"] == "recurring"
    assert (recurring["customerId"], recurring["mandateId"]) == (
        mandate.provider_customer_id,
        mandate.provider_method_id,
    )
    assert recurring["amount"] == {"currency": "EUR", "value": "1040.66"}
    assert load_invoice(pay_app, invoice_id).status == "paid"
    # Mollie's webhook for the recurring payment changes nothing more.
    webhook = pay_app.test_client().post("/webhooks/mollie", data={"id": body["provider_payment_id"]})
    assert webhook.status_code == 200
    assert count(pay_app, Payment, Payment.invoice_id == invoice_id) == 1


def test_without_the_box_ticked_nothing_is_saved(late, pay_app, shop, customer_client, fake_stripe):
    token = csrf_token(customer_client, shop.number)
    customer_client.post(f"/invoices/{shop.number}/pay", data={"csrf_token": token, "provider": "stripe"})
    attempt = last_attempt(pay_app)
    fake_stripe.complete(attempt.provider_payment_id)
    post_stripe_event(pay_app, fake_stripe.event(attempt.provider_payment_id, "checkout.session.completed"))

    [session_request] = fake_stripe.requests_to("POST", "/v1/checkout/sessions")
    assert "customer" not in session_request.data
    assert "setup_future_usage" not in session_request.data["payment_intent_data"]
    assert methods_of(pay_app, shop.customer_id) == []


# --- failures -------------------------------------------------------------------------------------


def test_a_declined_card_mails_the_customer_a_pay_link_and_never_locks_their_pay_button(
    late, pay_app, shop, customer_client, fake_stripe
):
    card = save_card_at_stripe(pay_app, customer_client, shop, fake_stripe)
    fake_stripe.decline_card(card.provider_method_id)
    invoice_id, number = another_invoice(pay_app, shop)
    post = api_client(pay_app, shop.merchant_id)

    answers = [post(f"/invoices/{invoice_id}/charge-saved-method", {}) for _ in range(6)]

    assert [answer.status_code for answer in answers] == [201] * 6
    assert {answer.json["status"] for answer in answers} == {"failed"}
    assert load_invoice(pay_app, invoice_id).status == "open"
    failed = mails(pay_app, "saved_method_failed")
    assert len(failed) == 6
    mail = failed[0]
    assert mail.to_address == load_customer_email(pay_app, shop.customer_id)
    assert number in mail.subject and "1,040.66" in mail.text_body
    link = re.search(r"http://portal\.test/\S+", mail.text_body)[0]
    # Six declines by staff or the API lock nothing: the customer still has a pay button.
    assert count(pay_app, PayLock, PayLock.customer_id == shop.customer_id, PayLock.locked_until.is_not(None)) == 0
    opened = pay_app.test_client()
    assert opened.get(urlsplit(link).path).status_code == 303
    assert 'data-testid="pay-button' in opened.get(f"/invoices/{number}").get_data(as_text=True)


def load_customer_email(app, customer_id: int) -> str:
    with app.app_context():
        email = db.session.get(Customer, customer_id).email
        db.session.remove()
    return email


def test_an_unreachable_provider_mails_the_customer_and_reconcile_settles_the_charge(
    late, pay_app, shop, customer_client, fake_stripe
):
    from portal.services.online_payments import reconcile

    card = save_card_at_stripe(pay_app, customer_client, shop, fake_stripe)
    invoice_id, _number = another_invoice(pay_app, shop)
    fake_stripe.inject("POST", "/v1/payment_intents", None, after=True)  # charged, but the answer is lost
    post = api_client(pay_app, shop.merchant_id)

    answer = post(f"/invoices/{invoice_id}/charge-saved-method", {"saved_method_id": card.id})

    assert answer.status_code == 201 and answer.json["status"] == "creating"
    assert len(mails(pay_app, "saved_method_failed")) == 1
    assert post(f"/invoices/{invoice_id}/charge-saved-method", {}).status_code == 409  # never two live charges

    with pay_app.app_context():
        reconcile(timedelta(0))
        db.session.remove()
    # The same idempotency key found the charge that went through: booked once.
    assert len(fake_stripe.off_session_intents()) == 1
    assert load_invoice(pay_app, invoice_id).status == "paid"
    assert count(pay_app, Payment, Payment.invoice_id == invoice_id) == 1


def test_charging_is_refused_without_a_saved_method_or_with_nothing_due(late, pay_app, shop, fake_stripe):
    post = api_client(pay_app, shop.merchant_id)

    none_saved = post(f"/invoices/{shop.invoice_id}/charge-saved-method", {})
    assert none_saved.status_code == 409
    assert none_saved.json["error"]["code"] == "no_saved_method"
    assert "no saved card" in none_saved.json["error"]["message"]

    client = pay_app.test_client()
    sign_in(pay_app, client, shop.customer_id)
    save_card_at_stripe(pay_app, client, shop, fake_stripe)  # pays the invoice
    nothing_due = post(f"/invoices/{shop.invoice_id}/charge-saved-method", {})
    assert nothing_due.status_code == 409
    assert nothing_due.json["error"]["code"] == "nothing_due"
    assert fake_stripe.requests_to("POST", "/v1/payment_intents") == []


def test_another_merchants_invoice_and_saved_method_are_404(late, pay_app, shop, customer_client, fake_stripe):
    card = save_card_at_stripe(pay_app, customer_client, shop, fake_stripe)
    invoice_id, _number = another_invoice(pay_app, shop)
    other = make_shop(pay_app, issue_date=date(2025, 12, 1), due_date=date(2025, 12, 31))
    rival = api_client(pay_app, other.merchant_id)

    assert rival(f"/invoices/{invoice_id}/charge-saved-method", {}).status_code == 404
    # Nor can one charge its own invoice to someone else's card.
    assert rival(f"/invoices/{other.invoice_id}/charge-saved-method", {"saved_method_id": card.id}).status_code == 404
    rival_staff = staff_client(pay_app, other.merchant_id)
    token_page = rival_staff.get(f"/admin/invoices/{other.invoice_id}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', token_page)[1]
    assert (
        rival_staff.post(f"/admin/invoices/{invoice_id}/charge-saved-method", data={"csrf_token": token}).status_code
        == 404
    )
    assert fake_stripe.requests_to("POST", "/v1/payment_intents") == []
    assert load_invoice(pay_app, invoice_id).status == "open"


def test_the_api_charge_respects_idempotency_keys(late, pay_app, shop, customer_client, fake_stripe):
    save_card_at_stripe(pay_app, customer_client, shop, fake_stripe)
    invoice_id, _number = another_invoice(pay_app, shop)
    post = api_client(pay_app, shop.merchant_id)
    headers = {"Idempotency-Key": "charge-once-please"}

    first = post(f"/invoices/{invoice_id}/charge-saved-method", {}, headers)
    again = post(f"/invoices/{invoice_id}/charge-saved-method", {}, headers)

    assert first.status_code == again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true" and again.json == first.json
    assert len(fake_stripe.requests_to("POST", "/v1/payment_intents")) == 1


# --- the portal: seeing, removing, autopay --------------------------------------------------------


def portal_token(client) -> str:
    page = client.get("/payment-methods").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page)[1]


def test_removing_a_card_detaches_it_at_stripe_and_stops_autopay(late, pay_app, shop, customer_client, fake_stripe):
    card = save_card_at_stripe(pay_app, customer_client, shop, fake_stripe)
    page = customer_client.get("/payment-methods").get_data(as_text=True)
    assert "visa" in page and "4242" in page and "12/2030" in page
    customer_client.post(
        "/payment-methods/autopay", data={"csrf_token": portal_token(customer_client), "method": card.id}
    )
    assert methods_of(pay_app, shop.customer_id)[0].autopay

    response = customer_client.post(
        f"/payment-methods/{card.id}/remove", data={"csrf_token": portal_token(customer_client)}
    )

    assert response.status_code == 303
    assert fake_stripe.payment_methods[card.provider_method_id]["customer"] is None
    [removed] = methods_of(pay_app, shop.customer_id)
    assert removed.removed_at is not None and not removed.autopay
    assert 'data-testid="no-saved-methods"' in customer_client.get("/payment-methods").get_data(as_text=True)
    invoice_id, _number = another_invoice(pay_app, shop)
    refused = api_client(pay_app, shop.merchant_id)(f"/invoices/{invoice_id}/charge-saved-method", {})
    assert refused.status_code == 409


def test_removing_a_mollie_mandate_revokes_it(late, pay_app, shop, customer_client, fake_mollie):
    mandate = save_mandate_at_mollie(pay_app, customer_client, shop, fake_mollie)

    customer_client.post(f"/payment-methods/{mandate.id}/remove", data={"csrf_token": portal_token(customer_client)})

    assert fake_mollie.valid_mandates(mandate.provider_customer_id) == []
    assert methods_of(pay_app, shop.customer_id)[0].removed_at is not None


def test_a_customer_cannot_remove_someone_elses_method(late, pay_app, shop, customer_client, fake_stripe):
    card = save_card_at_stripe(pay_app, customer_client, shop, fake_stripe)
    other = make_shop(pay_app, issue_date=date(2025, 12, 1), due_date=date(2025, 12, 31))
    stranger = pay_app.test_client()
    sign_in(pay_app, stranger, other.customer_id)

    stranger.post(f"/payment-methods/{card.id}/remove", data={"csrf_token": portal_token(stranger)})

    assert fake_stripe.payment_methods[card.provider_method_id]["customer"] == card.provider_customer_id
    assert methods_of(pay_app, shop.customer_id)[0].removed_at is None


def test_autopay_charges_each_invoice_on_its_due_date_once(pay_app, shop, fake_stripe, time_machine):
    from portal.jobs.schedule import DUTIES, run_schedule
    from tests.factories import run_jobs

    time_machine.move_to(datetime(2026, 3, 2, 10, 0, tzinfo=UTC), tick=False)
    client = pay_app.test_client()
    sign_in(pay_app, client, shop.customer_id)
    card = save_card_at_stripe(pay_app, client, shop, fake_stripe)
    client.post("/payment-methods/autopay", data={"csrf_token": portal_token(client), "method": str(card.id)})
    assert 'data-testid="autopay-on"' in client.get("/payment-methods").get_data(as_text=True)
    invoice_id, _number = another_invoice(pay_app, shop, due=date(2026, 3, 20))
    assert "autopay" in DUTIES

    def run_hour(when: datetime) -> None:
        time_machine.move_to(when, tick=False)
        with pay_app.app_context():
            run_schedule(when)
            run_jobs()
            db.session.remove()

    run_hour(datetime(2026, 3, 19, 12, 0, tzinfo=UTC))  # the day before
    assert fake_stripe.requests_to("POST", "/v1/payment_intents") == []
    assert load_invoice(pay_app, invoice_id).status == "open"

    run_hour(datetime(2026, 3, 20, 0, 5, tzinfo=UTC))  # the due date
    [charge] = fake_stripe.requests_to("POST", "/v1/payment_intents")
    assert charge.data["amount"] == "100000"  # on the due date: no fee, no interest
    assert load_invoice(pay_app, invoice_id).status == "paid"
    assert last_attempt(pay_app).initiated_by == "autopay"
    # The invoice's history says who took the money: the customer's own autopay.
    page = client.get(f"/invoices/{_number}").get_data(as_text=True)
    assert "Your saved payment method was charged automatically (autopay)" in page

    run_hour(datetime(2026, 3, 20, 1, 5, tzinfo=UTC))  # the next hour
    run_hour(datetime(2026, 3, 21, 9, 5, tzinfo=UTC))  # the next day
    assert len(fake_stripe.requests_to("POST", "/v1/payment_intents")) == 1


def test_a_failed_autopay_charge_is_not_tried_again_and_locks_nothing(pay_app, shop, fake_stripe, time_machine):
    from portal.services.saved_methods import run_autopay

    time_machine.move_to(datetime(2026, 3, 2, 10, 0, tzinfo=UTC), tick=False)
    client = pay_app.test_client()
    sign_in(pay_app, client, shop.customer_id)
    card = save_card_at_stripe(pay_app, client, shop, fake_stripe)
    client.post("/payment-methods/autopay", data={"csrf_token": portal_token(client), "method": str(card.id)})
    fake_stripe.decline_card(card.provider_method_id)
    invoice_id, _number = another_invoice(pay_app, shop, due=date(2026, 3, 20))

    time_machine.move_to(datetime(2026, 3, 20, 8, 0, tzinfo=UTC), tick=False)
    with pay_app.app_context():
        assert run_autopay() == [(invoice_id, "failed")]
        assert run_autopay() == []
        db.session.remove()

    assert len(mails(pay_app, "saved_method_failed")) == 1
    assert count(pay_app, PayLock, PayLock.customer_id == shop.customer_id, PayLock.consecutive_failures > 0) == 0
    assert load_invoice(pay_app, invoice_id).status == "open"


def test_autopay_does_not_reach_back_to_invoices_due_before_it_was_turned_on(pay_app, shop, fake_stripe, time_machine):
    from portal.services.saved_methods import run_autopay

    time_machine.move_to(datetime(2026, 3, 2, 10, 0, tzinfo=UTC), tick=False)
    old_id, _number = another_invoice(pay_app, shop, due=date(2026, 2, 28))
    client = pay_app.test_client()
    sign_in(pay_app, client, shop.customer_id)
    card = save_card_at_stripe(pay_app, client, shop, fake_stripe)
    client.post("/payment-methods/autopay", data={"csrf_token": portal_token(client), "method": str(card.id)})

    with pay_app.app_context():
        assert run_autopay() == []
        db.session.remove()
    assert load_invoice(pay_app, old_id).status == "open"


# --- PostgreSQL: two charges at once --------------------------------------------------------------


@pytest.mark.postgres
def test_two_charge_requests_at_once_charge_once(pg_pay, fake_stripe, time_machine):
    import threading
    import time

    import sqlalchemy as sa

    time_machine.move_to(LATE, tick=True)
    shop = make_shop(pg_pay)
    client = pg_pay.test_client()
    sign_in(pg_pay, client, shop.customer_id)
    save_card_at_stripe(pg_pay, client, shop, fake_stripe)
    invoice_id, _number = another_invoice(pg_pay, shop)
    post = api_client(pg_pay, shop.merchant_id)
    answers: list[int] = []
    threads = [
        threading.Thread(
            target=lambda: answers.append(post(f"/invoices/{invoice_id}/charge-saved-method", {}).status_code)
        )
        for _ in range(2)
    ]
    with pg_pay.app_context():
        # Hold the invoice's row until both requests wait on it, then let go: they reach it together.
        connection = db.engine.connect()
        transaction = connection.begin()
        try:
            connection.execute(sa.text("SELECT id FROM invoices WHERE id = :id FOR UPDATE"), {"id": invoice_id})
            for thread in threads:
                thread.start()
            deadline = time.monotonic() + 20
            waiting = 0
            while waiting < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
                with db.engine.connect() as observer:
                    waiting = observer.execute(
                        sa.text(
                            "SELECT count(*) FROM pg_stat_activity"
                            " WHERE wait_event_type = 'Lock' AND datname = current_database()"
                        )
                    ).scalar()
        finally:
            transaction.rollback()
            connection.close()
            for thread in threads:
                thread.join(timeout=60)
        db.session.remove()
    assert waiting >= 2, "both requests should have queued on the invoice's row lock"

    assert sorted(answers) == [201, 409]
    assert len(fake_stripe.requests_to("POST", "/v1/payment_intents")) == 1
    assert count(pg_pay, Payment, Payment.invoice_id == invoice_id) == 1
    assert load_invoice(pg_pay, invoice_id).status == "paid"
    assert count(pg_pay, Invoice, Invoice.id == invoice_id) == 1


def test_autopay_leaves_a_disputed_invoice_until_staff_resolve_it(pay_app, shop, fake_stripe, time_machine):
    from portal.services.disputes import open_dispute, resolve_dispute

    time_machine.move_to(datetime(2026, 3, 2, 10, 0, tzinfo=UTC), tick=False)
    client = pay_app.test_client()
    sign_in(pay_app, client, shop.customer_id)
    card = save_card_at_stripe(pay_app, client, shop, fake_stripe)
    client.post("/payment-methods/autopay", data={"csrf_token": portal_token(client), "method": str(card.id)})
    invoice_id, _number = another_invoice(pay_app, shop, due=date(2026, 3, 20))
    with pay_app.app_context():
        invoice = db.session.get(Invoice, invoice_id)
        open_dispute(invoice, invoice.customer, "We never received the goods.")
        db.session.commit()
        db.session.remove()
    runner = pay_app.test_cli_runner()

    time_machine.move_to(datetime(2026, 3, 20, 8, 0, tzinfo=UTC), tick=False)
    result = runner.invoke(args=["portal", "autopay"])
    assert result.exit_code == 0, result.output
    assert "0 invoice(s) charged" in result.output
    assert fake_stripe.requests_to("POST", "/v1/payment_intents") == []

    with pay_app.app_context():
        resolve_dispute(db.session.get(Invoice, invoice_id))
        db.session.commit()
        db.session.remove()
    time_machine.move_to(datetime(2026, 3, 20, 9, 0, tzinfo=UTC), tick=False)
    result = runner.invoke(args=["portal", "autopay"])
    assert "1 invoice(s) charged, 1 paid at once." in result.output
    assert load_invoice(pay_app, invoice_id).status == "paid"

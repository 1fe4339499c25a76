"""Comments under an invoice: plain text, 1–2000 characters, escaped, CSRF-protected, rate-limited."""

from __future__ import annotations

import re

from sqlalchemy import select

from portal.extensions import db
from portal.models import Comment
from tests.factories import make_customer, make_invoice, make_merchant
from tests.portal.conftest import sign_in


def _csrf(client, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def test_a_comment_is_posted_and_shown_in_the_thread(ctx, client, spec_day):
    customer = make_customer(make_merchant())
    invoice = make_invoice(customer)
    sign_in(client, customer)
    path = f"/invoices/{invoice.number}"

    response = client.post(
        f"{path}/comments", data={"csrf_token": _csrf(client, path), "body": "  Can I pay in two parts?  "}
    )

    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"{path}#comments")
    page = client.get(path).get_data(as_text=True)
    assert "Can I pay in two parts?" in page
    assert "Your message was sent" in page
    comment = db.session.scalar(select(Comment))
    assert (comment.author_kind, comment.body, comment.merchant_id) == (
        "customer",
        "Can I pay in two parts?",
        invoice.merchant_id,
    )


def test_empty_and_too_long_comments_are_refused(ctx, client, spec_day):
    customer = make_customer(make_merchant())
    invoice = make_invoice(customer)
    sign_in(client, customer)
    path = f"/invoices/{invoice.number}"

    for body in ("", "   \n ", "x" * 2001):
        response = client.post(f"{path}/comments", data={"csrf_token": _csrf(client, path), "body": body})
        # Post-redirect-get: back on the invoice's address, at the form, so a reload never shows 405.
        assert response.status_code == 303
        assert response.headers["Location"] == f"{path}#comment-form"
        page = client.get(path).get_data(as_text=True)
        assert 'role="alert" aria-live="assertive"' in page
        assert "autofocus" in page and 'aria-invalid="true"' in page
        if body.startswith("x"):
            assert "x" * 2001 in page  # what they wrote is not lost
        assert 'role="alert"' not in client.get(path).get_data(as_text=True)  # shown once

    ok = client.post(f"{path}/comments", data={"csrf_token": _csrf(client, path), "body": "y" * 2000})
    assert ok.status_code == 303
    assert db.session.scalar(select(db.func.count()).select_from(Comment)) == 1


def test_a_comment_needs_the_csrf_token(ctx, client, spec_day):
    customer = make_customer(make_merchant())
    invoice = make_invoice(customer)
    sign_in(client, customer)

    response = client.post(f"/invoices/{invoice.number}/comments", data={"body": "hello"})

    assert response.status_code == 400
    assert db.session.scalar(select(db.func.count()).select_from(Comment)) == 0


def test_comments_are_rate_limited_per_customer(app, client, spec_day):
    # No shared app context here: each client's request must get its own `g` (and CSRF token).
    with app.app_context():
        merchant = make_merchant()
        customer, other = make_customer(merchant), make_customer(merchant)
        invoice, other_invoice = make_invoice(customer), make_invoice(other)
        db.session.commit()
        sign_in(client, customer)
        other_client = app.test_client()
        sign_in(other_client, other)
        path, other_path = f"/invoices/{invoice.number}", f"/invoices/{other_invoice.number}"
    csrf = _csrf(client, path)

    codes = [client.post(f"{path}/comments", data={"csrf_token": csrf, "body": f"n{i}"}).status_code for i in range(11)]

    assert codes[:10] == [303] * 10
    assert codes[10] == 429
    assert "Too many requests" in client.post(f"{path}/comments", data={"csrf_token": csrf, "body": "x"}).get_data(
        as_text=True
    )

    # Another customer behind the same address is not held back.
    response = other_client.post(
        f"{other_path}/comments", data={"csrf_token": _csrf(other_client, other_path), "body": "hi"}
    )
    assert response.status_code == 303


def test_the_merchants_staff_are_notified_of_a_comment(ctx, client, spec_day):
    from portal.models.mail import OutboxMessage
    from portal.services.merchants import create_staff_user

    merchant = make_merchant()
    create_staff_user(merchant, email="ann@shop.example", name="Ann", password="correct horse battery")
    create_staff_user(merchant, email="bob@shop.example", name="Bob", password="correct horse battery")
    customer = make_customer(merchant)
    invoice = make_invoice(customer)
    sign_in(client, customer)
    path = f"/invoices/{invoice.number}"

    client.post(f"{path}/comments", data={"csrf_token": _csrf(client, path), "body": "Is the fee right?"})

    queued = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.to_address)).all()
    assert [(m.kind, m.to_address, m.invoice_id) for m in queued] == [
        ("comment", "ann@shop.example", invoice.id),
        ("comment", "bob@shop.example", invoice.id),
    ]
    assert "Is the fee right?" in queued[0].text_body

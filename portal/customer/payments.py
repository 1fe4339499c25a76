"""The pay button and the provider's return page."""

from __future__ import annotations

import math

from flask import Response, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import format_currency
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address

from portal.customer import bp
from portal.customer.access import (
    current_customer,
    customer_invoice,
    customer_rate_key,
    require_acting_contact,
    require_customer,
)
from portal.domain.errors import DomainError
from portal.domain.ledger import AskedFor
from portal.domain.money import Money
from portal.extensions import db, limiter
from portal.models import Invoice
from portal.models.base import utcnow
from portal.models.online_payment import FAILED_STATUSES
from portal.services.invoices import invoice_breakdown
from portal.services.ledger import apply_credit, credit_balance
from portal.services.online_payments import (
    NothingToPay,
    PayLocked,
    PaymentInProgress,
    PaymentNotStarted,
    PayState,
    ProviderNotEnabled,
    customer_attempt,
    pay_state,
    start_payment,
)
from portal.services.payment_choices import offered_providers

#: What the return page says, by attempt status.
_RETURN_STATES = {
    "creating": "processing",
    "open": "processing",
    "pending": "pending",
    "paid": "paid",
    "superseded": "replaced",
    **{status: "failed" for status in FAILED_STATUSES},
}


@bp.app_template_global()
def pay_state_for(invoice: Invoice, amount_due: int) -> PayState | None:
    """Return what the pay actions of an invoice page offer the signed-in customer."""
    customer = current_customer()
    if customer is None or invoice.customer_id != customer.id:
        return None
    return pay_state(customer, invoice, amount_due)


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


def _per_customer() -> str:
    return current_app.config["PAY_RATE_LIMIT_PER_CUSTOMER"]


def _per_address() -> str:
    return current_app.config["PAY_RATE_LIMIT_PER_ADDRESS"]


@bp.post("/invoices/<number>/pay")
@limiter.limit(_per_customer, key_func=customer_rate_key)
@limiter.limit(_per_address, key_func=get_remote_address)
def pay(number: str):
    """Create (or reuse) the payment of the amount due and send the customer to the checkout."""
    require_acting_contact()
    customer = require_customer()
    invoice = customer_invoice(customer, number)
    back = redirect(url_for("customer.invoice", number=invoice.number), 303)
    provider = request.form.get("provider", "")
    if not provider:
        offered = offered_providers(invoice)
        provider = offered[0] if offered else ""
    try:
        attempt = start_payment(customer, invoice, provider)
    except PayLocked as exc:
        db.session.rollback()
        seconds = max(1, math.ceil((exc.until - utcnow()).total_seconds()))
        html = render_template(
            "customer/pay_locked.html",
            merchant=customer.merchant,
            customer=customer,
            invoice=invoice,
            locked_until=exc.until,
        )
        response = _no_store(Response(html, 429))
        response.headers["Retry-After"] = str(seconds)
        return response
    except (NothingToPay, ProviderNotEnabled):
        db.session.rollback()
        flash(_("This invoice cannot be paid online right now."), "error")
        return back
    except PaymentInProgress:
        db.session.rollback()
        flash(_("A payment for this invoice is already under way. Please wait for it to finish."), "info")
        return back
    except PaymentNotStarted as exc:
        db.session.rollback()
        if exc.refused:
            flash(_("The payment provider did not accept this payment. Please try again later."), "error")
        else:
            flash(_("The payment provider could not be reached. Please try again in a moment."), "error")
        return back
    if attempt.status == "open" and attempt.checkout_url:
        return redirect(attempt.checkout_url, 303)
    return redirect(url_for("customer.payment_return", attempt_id=attempt.id), 303)


@bp.app_template_global()
def credit_for(invoice: Invoice) -> int:
    """Return the signed-in customer's credit balance in the invoice's currency (0 for anyone else's invoice)."""
    customer = current_customer()
    if customer is None or invoice.customer_id != customer.id:
        return 0
    return max(0, credit_balance(customer, invoice.currency))


@bp.post("/invoices/<number>/settle-from-credit")
@limiter.limit(_per_customer, key_func=customer_rate_key)
def settle_from_credit(number: str):
    """Pay the amount due (or as much of it as the balance holds) from the customer's credit balance."""
    require_acting_contact()
    customer = require_customer()
    invoice = customer_invoice(customer, number)
    back = redirect(url_for("customer.invoice", number=invoice.number), 303)
    breakdown = invoice_breakdown(invoice, invoice.merchant.today())
    if invoice.status != "open" or breakdown is None or breakdown.amount_due <= 0:
        flash(_("This invoice has nothing left to pay."), "info")
        return back
    try:
        payment = apply_credit(
            customer,
            invoice,
            asked=AskedFor(breakdown.outstanding, breakdown.fee, breakdown.interest),
            breakdown=breakdown.steps(),
            confirm=True,
        )
        db.session.commit()
    except DomainError:
        db.session.rollback()
        flash(_("Your credit balance could not be used for this invoice."), "error")
        return back
    if invoice.status == "paid":
        flash(_("Paid from your credit balance. Thank you!"), "success")
    else:
        flash(
            _(
                "%(amount)s of your credit balance was used; the rest is still due.",
                amount=format_currency(Money(payment.gross, payment.currency).to_decimal(), payment.currency),
            ),
            "success",
        )
    return back


def _attempt_or_404(attempt_id: int):
    customer = require_customer()
    attempt = customer_attempt(customer, attempt_id)
    if attempt is None:
        abort(404)
    return customer, attempt


@bp.get("/payments/<int:attempt_id>/return")
def payment_return(attempt_id: int):
    """Show what the database knows about the payment; the webhook, never this page, marks it paid."""
    customer, attempt = _attempt_or_404(attempt_id)
    state = _RETURN_STATES[attempt.status]
    html = render_template(
        "customer/payment_return.html",
        merchant=customer.merchant,
        customer=customer,
        attempt=attempt,
        invoice=attempt.invoice,
        state=state,
    )
    response = _no_store(Response(html))
    if state == "processing":
        # A Refresh header rather than a script: the CSP allows no inline code, and it works without JS.
        response.headers["Refresh"] = "3"
    return response


@bp.get("/payments/<int:attempt_id>/status")
def payment_status(attempt_id: int):
    """Answer the payment's state as JSON, for scripts that poll instead of reloading."""
    _, attempt = _attempt_or_404(attempt_id)
    return _no_store(jsonify({"state": _RETURN_STATES[attempt.status], "invoice_status": attempt.invoice.status}))

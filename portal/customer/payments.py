"""The pay button and the provider's return page."""

from __future__ import annotations

import math

from flask import Response, abort, current_app, flash, g, jsonify, redirect, render_template, request, session, url_for
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
from portal.payments.registry import enabled_among, provider_accounts
from portal.services.invoices import invoice_breakdown
from portal.services.ledger import apply_credit, credit_balance
from portal.services.online_payments import (
    MixedCurrencies,
    NoCommonMethod,
    NothingToPay,
    PayLocked,
    PaymentInProgress,
    PaymentNotStarted,
    PayState,
    ProviderNotEnabled,
    customer_attempt,
    locked_until,
    pay_state,
    payable_invoices,
    payable_now,
    start_payment,
    start_several_payment,
)
from portal.services.payment_choices import common_provider, offered_providers

#: Set when the provider could not start a payment: the next page offers the other ways to pay.
SESSION_PAY_TROUBLE = "pay_trouble"

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


@bp.app_template_global()
def pay_trouble() -> bool:
    """Return (once) whether the last press of Pay failed at the provider, to offer the other ways to pay."""
    return bool(session.pop(SESSION_PAY_TROUBLE, False))


@bp.app_template_global()
def payable_invoice_ids(rows) -> set[int]:
    """Return which listed overview rows (InvoiceRow) get a Pay action and a checkbox."""
    customer = current_customer()
    if customer is None or not can_pay_several():
        return set()
    return payable_now(
        customer,
        [(row.invoice, row.amount_due) for row in rows],
        enabled=_pay_context()[0],
        lock_checked=True,
        accounts=g.portal_pay_accounts,
    )


@bp.app_template_global()
def can_pay_several() -> bool:
    """Return whether the overview offers paying several invoices at once (a provider, no pay lock)."""
    if current_customer() is None:
        return False
    enabled, locked = _pay_context()
    return bool(enabled) and not locked


def _pay_context() -> tuple[list[str], bool]:
    """Return the merchant's enabled providers and whether the customer's pay button is locked, once per request.

    The lock is only looked up when a provider is enabled (without one, nothing can be paid online anyway).
    """
    if "portal_pay_context" not in g:
        customer = current_customer()
        g.portal_pay_accounts = provider_accounts(customer.merchant_id)  # read once: payable_invoice_ids needs them
        enabled = enabled_among(g.portal_pay_accounts)
        g.portal_pay_context = (enabled, bool(enabled) and locked_until(customer) is not None)
    return g.portal_pay_context


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
    save = request.form.get("save_method") == "1"
    return _send_to_checkout(
        customer, lambda: start_payment(customer, invoice, provider, save_method=save), back, invoice
    )


#: At most this many invoices in one checkout (a form cannot name more on a page of the overview anyway).
MAX_INVOICES_PER_CHECKOUT = 100


@bp.post("/pay")
@limiter.limit(_per_customer, key_func=customer_rate_key)
@limiter.limit(_per_address, key_func=get_remote_address)
def pay_several():
    """Pay several open invoices of one currency in one checkout: those named (field invoice) or all=1."""
    customer = require_customer()
    require_acting_contact()  # a viewer the merchant lets only look cannot pay
    back = redirect(url_for("customer.overview"), 303)
    numbers = None if request.form.get("all") == "1" else request.form.getlist("invoice")
    if numbers is not None:
        numbers = list(dict.fromkeys(number.strip()[:64] for number in numbers if number.strip()))
        if not numbers:
            flash(_("Choose the invoices you want to pay."), "error")
            return back
        if len(numbers) > MAX_INVOICES_PER_CHECKOUT:
            flash(_("Please pay at most %(num)d invoices at once.", num=MAX_INVOICES_PER_CHECKOUT), "error")
            return back
    try:
        invoices = payable_invoices(customer, numbers)
    except NothingToPay:
        db.session.rollback()
        if numbers is None:
            flash(_("You have no open invoices to pay."), "info")
        else:
            flash(_("These invoices cannot be paid online right now."), "error")
        return back
    currency = request.form.get("currency", "").strip().upper()
    if numbers is None and currency:
        invoices = [invoice for invoice in invoices if invoice.currency == currency]
        if not invoices:
            flash(_("You have no open invoices to pay."), "info")
            return back
    # One checkout offers only the payment methods allowed on every one of these invoices.
    provider = request.form.get("provider", "") or common_provider(invoices) or ""
    if not provider and len(invoices) > 1:
        _flash_no_common_method()
        return back
    return _send_to_checkout(customer, lambda: start_several_payment(customer, invoices, provider), back)


def _flash_no_common_method() -> None:
    flash(
        _(
            "These invoices have no online payment method in common, so they cannot be paid in one checkout. "
            "Please pay them one at a time."
        ),
        "error",
    )


# The contract other pages post to (the statement of account): portal.pay_several, same view and limits.
bp.record_once(
    lambda state: state.app.add_url_rule("/pay", endpoint="portal.pay_several", view_func=pay_several, methods=["POST"])
)


def _send_to_checkout(customer, start, back, invoice: Invoice | None = None):
    """Start (or reuse) a payment and send the customer to its checkout, or back with what went wrong."""
    try:
        attempt = start()
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
    except MixedCurrencies:
        db.session.rollback()
        flash(
            _("These invoices are in different currencies. Please pay the invoices of each currency separately."),
            "error",
        )
        return back
    except NoCommonMethod:
        db.session.rollback()
        _flash_no_common_method()
        return back
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
        session[SESSION_PAY_TROUBLE] = True
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

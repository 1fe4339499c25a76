"""The customer's saved cards and mandates: see them, remove one, turn autopay on or off."""

from __future__ import annotations

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from portal.customer import bp
from portal.customer.access import require_acting_contact, require_customer
from portal.extensions import db
from portal.input_checks import parse_db_id
from portal.payments.base import ProviderError
from portal.services import saved_methods
from portal.services.errors import NotFound


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


def _back():
    return redirect(url_for("customer.payment_methods_page"), 303)


@bp.get("/payment-methods")
def payment_methods_page():
    """List the cards and mandates the customer saved, with autopay and a remove button for each."""
    customer = require_customer()
    html = render_template(
        "customer/payment_methods.html",
        merchant=customer.merchant,
        customer=customer,
        methods=saved_methods.saved_methods(customer),
        autopay=saved_methods.autopay_method(customer),
    )
    return _no_store(Response(html))


@bp.post("/payment-methods/<int:method_id>/remove")
def remove_payment_method(method_id: int):
    """Remove a saved method: detached at Stripe or its mandate revoked at Mollie; autopay on it stops."""
    require_acting_contact()
    customer = require_customer()
    try:
        method = saved_methods.customer_saved_method(customer, method_id)
    except NotFound:
        db.session.rollback()
        flash(_("This payment method was already removed."), "info")
        return _back()
    had_autopay = method.autopay
    try:
        saved_methods.remove_saved_method(method)
        db.session.commit()
    except ProviderError:
        db.session.rollback()
        flash(_("The payment provider could not be reached. Please try again in a moment."), "error")
        return _back()
    flash(_("The payment method was removed."), "success")
    if had_autopay:
        flash(_("Automatic payment is now off."), "info")
    return _back()


@bp.post("/payment-methods/autopay")
def set_autopay():
    """Turn automatic payment on with one saved method (field method), or off (method empty)."""
    require_acting_contact()
    customer = require_customer()
    method_id = parse_db_id(request.form.get("method", ""))
    if method_id is None:
        saved_methods.set_autopay(customer, None)
        db.session.commit()
        flash(_("Automatic payment is now off."), "success")
        return _back()
    try:
        method = saved_methods.customer_saved_method(customer, method_id)
    except NotFound:
        db.session.rollback()
        flash(_("Choose one of your saved payment methods."), "error")
        return _back()
    saved_methods.set_autopay(customer, method)
    db.session.commit()
    flash(_("Automatic payment is on: each new invoice is charged on its due date."), "success")
    return _back()

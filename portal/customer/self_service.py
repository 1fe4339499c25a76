"""Pages where customers keep their own billing details and contacts."""

from __future__ import annotations

import pycountry
from flask import Response, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from wtforms import SelectChoice

from portal.customer import bp
from portal.customer.access import require_customer
from portal.customer.forms import BillingDetailsForm
from portal.documents.html import format_country
from portal.domain.errors import DomainError
from portal.extensions import db
from portal.services import billing_details


def _country_choices() -> list[SelectChoice]:
    named = [SelectChoice(country.alpha_2, format_country(country.alpha_2)) for country in pycountry.countries]
    return [SelectChoice("", "—"), *sorted(named, key=lambda choice: choice.label)]


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


def _field_message(field: str | None) -> str:
    if field == "vat_number":
        return _("This is not a valid VAT number. Write it with its country prefix, e.g. BE0403170701.")
    if field and field.startswith("address"):
        return _("Give the whole address: street, postal code, city and country.")
    return _("Please check this field.")


@bp.route("/billing-details", methods=["GET", "POST"])
def billing_details_page():
    """Show and change the billing details printed on the customer's future invoices."""
    customer = require_customer()
    details = billing_details.current_details(customer)
    address = details.address
    form = BillingDetailsForm(
        company=details.company,
        line1=address.line1 if address else "",
        line2=address.line2 if address else "",
        postal_code=address.postal_code if address else "",
        city=address.city if address else "",
        country=address.country if address else "",
        vat_number=details.vat_number,
        purchase_order=details.purchase_order,
        language=details.language,
    )
    form.country.choices = _country_choices()
    status = 200
    if form.validate_on_submit():
        try:
            checked = billing_details.check_details(
                customer,
                company=form.company.data,
                line1=form.line1.data,
                line2=form.line2.data,
                postal_code=form.postal_code.data,
                city=form.city.data,
                country=form.country.data,
                vat_number=form.vat_number.data,
                purchase_order=form.purchase_order.data,
                language=form.language.data,
            )
            change = billing_details.request_change(customer, checked)
        except DomainError as exc:
            db.session.rollback()
            name = (exc.field or "").removeprefix("address.")
            target = getattr(form, {"address": "line1", "vat_number": "vat_number"}.get(name, name), None)
            (target or form.company).errors = [_field_message(exc.field)]
            status = 400
        else:
            db.session.commit()
            if change is None:
                flash(_("Nothing changed."), "info")
            elif change.status == "pending":
                flash(
                    _(
                        "Thank you. Your new billing details will apply once %(merchant)s has approved them.",
                        merchant=customer.merchant.name,
                    ),
                    "success",
                )
            else:
                flash(_("Your billing details were saved. Invoices issued from now on will use them."), "success")
            return redirect(url_for("customer.billing_details_page"), 303)
    elif form.is_submitted():
        status = 400
    html = render_template(
        "customer/billing_details.html",
        merchant=customer.merchant,
        customer=customer,
        form=form,
        pending=billing_details.pending_change(customer),
    )
    return _no_store(Response(html, status))

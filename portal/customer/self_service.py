"""Pages where customers keep their own billing details and contacts."""

from __future__ import annotations

import pycountry
from flask import Response, abort, flash, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from wtforms import SelectChoice

from portal.customer import bp
from portal.customer.access import current_contact, require_customer
from portal.customer.forms import BillingDetailsForm, ContactForm, PreferencesForm
from portal.documents.html import format_country
from portal.domain.errors import DomainError
from portal.extensions import db
from portal.mail.notifications import notify_staff_of_new_contact, send_contact_welcome
from portal.services import billing_details, contacts


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
    reader = current_contact()
    if form.is_submitted() and reader is not None and not reader.is_billing:
        abort(403)  # a viewer only looks
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
            change = billing_details.request_change(customer, checked, contact_id=reader.id if reader else None)
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


@bp.route("/contacts", methods=["GET", "POST"])
def contacts_page():
    """List the company's contacts; a billing contact adds a colleague, who is mailed a link of their own."""
    customer = require_customer()
    contact = current_contact()
    form = ContactForm(language=str(get_locale() or "en"))
    status = 200
    if form.is_submitted():
        if contact is None or not contact.is_billing:
            abort(403)
        if form.validate():
            try:
                added = contacts.add_contact(
                    customer,
                    name=form.name.data,
                    email=form.email.data,
                    language=form.language.data,
                    role=form.role.data,
                )
            except DomainError as exc:
                db.session.rollback()
                target = getattr(form, exc.field or "", None) or form.email
                target.errors = [
                    _("This is not a valid email address.") if exc.field == "email" else _("Please check this field.")
                ]
                status = 400
            else:
                send_contact_welcome(added, added_by=contact.name)
                notify_staff_of_new_contact(added, contact.name)
                db.session.commit()
                flash(_("%(name)s was added and will receive their own link by email.", name=added.name), "success")
                return redirect(url_for("customer.contacts_page"), 303)
        else:
            status = 400
    html = render_template(
        "customer/contacts.html",
        merchant=customer.merchant,
        customer=customer,
        contacts=contacts.list_contacts(customer),
        reader=contact,
        form=form,
        preferences=PreferencesForm(formdata=None, obj=contact) if contact is not None else None,
    )
    return _no_store(Response(html, status))


@bp.post("/contacts/preferences")
def contact_preferences():
    """Save which mails the signed-in contact receives."""
    require_customer()
    contact = current_contact()
    form = PreferencesForm()
    if contact is None or not form.validate_on_submit():
        abort(400)
    contacts.update_contact(contact, **{name: getattr(form, name).data for name in contacts.PREFERENCES.values()})
    db.session.commit()
    flash(_("Your mail preferences were saved."), "success")
    return redirect(url_for("customer.contacts_page", _anchor="preferences"), 303)

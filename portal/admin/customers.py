"""Admin pages for customers and the product catalogue."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms import SelectChoice

from portal.admin.forms import (
    AdminContactForm,
    ApplyCreditForm,
    BillingCycleForm,
    ChargeForm,
    CustomerForm,
    MonthlyStatementForm,
    ProductForm,
    RecurringLineForm,
    RefundCreditForm,
    StatementForm,
    major_units,
    minor_units,
)
from portal.admin.views import admin_money, bp, failure, form_status, load, merchant
from portal.domain.errors import DomainError
from portal.extensions import db
from portal.input_checks import db_int, parse_db_id
from portal.services import (
    billing,
    billing_details,
    contacts,
    customers,
    invoices,
    ledger,
    links,
    products,
    refunds,
    statements,
)
from portal.services.invoice_lists import InvoiceFilters, search_invoices

#: How staff may have sent credit back by hand.
MANUAL_REFUND_METHODS = (("bank_transfer", "Bank transfer"), ("cash", "Cash"), ("cheque", "Cheque"), ("other", "Other"))

PAGE_SIZE = 50


def _default_rate() -> dict:
    """The merchant's default tax rate (Settings → Invoice defaults) for a new line's form; none set: the form's own."""
    rate = merchant().default_tax_rate
    return {} if rate is None else {"tax_rate": rate}


@bp.get("/customers")
def customer_list():
    query = request.args.get("q", "")
    page = max(1, request.args.get("page", 1, type=db_int))
    rows, has_more = customers.search_customers(merchant(), query, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    return render_template("admin/customers/list.html", customers=rows, query=query, page=page, has_more=has_more)


@bp.route("/customers/new", methods=["GET", "POST"])
def customer_new():
    form = CustomerForm()
    status = None
    if form.validate_on_submit():
        try:
            customer = customers.create_customer(merchant(), **form.values())
            db.session.commit()
        except DomainError as exc:
            status = failure(exc, form)
        else:
            flash(f"Customer {customer.name} created.", "success")
            return redirect(url_for("admin.customer_detail", customer_id=customer.id), code=303)
    return render_template("admin/customers/form.html", form=form, customer=None), status or form_status(form)


@bp.route("/customers/<int:customer_id>/edit", methods=["GET", "POST"])
def customer_edit(customer_id: int):
    customer = load(customers.get_customer, customer_id)
    form = CustomerForm() if request.method == "POST" else CustomerForm(data=CustomerForm.data_of(customer))
    status = None
    if form.validate_on_submit():
        try:
            customers.update_customer(customer, **form.values())
            db.session.commit()
        except DomainError as exc:
            status = failure(exc, form)
        else:
            flash("Customer saved.", "success")
            return redirect(url_for("admin.customer_detail", customer_id=customer.id), code=303)
    return render_template("admin/customers/form.html", form=form, customer=customer), status or form_status(form)


def _credit_choices(customer, balances: dict[str, int], apply_form, refund_form) -> list:
    """Fill the credit forms' choices: open invoices the balance can pay, and the ways credit can go back."""
    open_rows, _ = search_invoices(merchant(), InvoiceFilters(customer_id=customer.id, status="open"), limit=200)
    apply_form.invoice_id.choices = [
        SelectChoice(
            row.invoice.id,
            f"{row.invoice.number} · {admin_money(row.outstanding, row.invoice.currency)} outstanding",
        )
        for row in open_rows
        if balances.get(row.invoice.currency, 0) > 0
    ]
    sources = []
    for currency in balances:
        for item in ledger.refundable_credit(customer, currency):
            receipt = item.receipt
            how = (
                f"through {receipt.method.capitalize()}" if receipt.online else f"({receipt.method.replace('_', ' ')})"
            )
            sources.append(
                (
                    f"receipt:{receipt.id}",
                    f"Back {how}: {receipt.reference or 'received'} on {receipt.received_on.isoformat()}, "
                    f"up to {admin_money(item.amount, currency)}",
                )
            )
    refund_form.source.choices = [SelectChoice(value, label) for value, label in sources] + [
        SelectChoice(f"manual:{method}", f"Sent back by hand: {label.lower()}")
        for method, label in MANUAL_REFUND_METHODS
    ]
    refund_form.currency.choices = [SelectChoice(currency, currency) for currency in sorted(balances)]
    return sources


def _customer_page(customer, *, portal_link=None, status: int = 200, **forms):
    cycle = billing.billing_cycle(customer)
    defaults = {
        "charge_form": ChargeForm(formdata=None, charged_on=merchant().today(), **_default_rate()),
        "recurring_form": RecurringLineForm(formdata=None, **_default_rate()),
        "cycle_form": BillingCycleForm(formdata=None, obj=cycle) if cycle else BillingCycleForm(formdata=None),
        "apply_form": ApplyCreditForm(formdata=None),
        "refund_credit_form": RefundCreditForm(formdata=None),
        "statement_form": StatementForm(
            formdata=None, start=statements.default_period(merchant().today())[0], end=merchant().today()
        ),
        "monthly_statement_form": MonthlyStatementForm(formdata=None, obj=customer),
        "contact_form": AdminContactForm(formdata=None, language=customer.language),
    }
    defaults.update(forms)
    balances = ledger.credit_balances(customer)
    _credit_choices(customer, balances, defaults["apply_form"], defaults["refund_credit_form"])
    rows, has_more = search_invoices(merchant(), InvoiceFilters(customer_id=customer.id), limit=20)
    return (
        render_template(
            "admin/customers/detail.html",
            customer=customer,
            invoices=rows,
            more_invoices=has_more,
            charges=billing.customer_charges(customer),
            recurring_lines=billing.recurring_lines(customer),
            cycle=cycle,
            portal_link=portal_link,
            today=merchant().today(),
            balances=balances,
            credit_entries=ledger.credit_entries(customer, limit=100),
            billing_changes=billing_details.change_log(customer),
            contacts=contacts.list_contacts(customer),
            **defaults,
        ),
        status,
    )


@bp.get("/customers/<int:customer_id>")
def customer_detail(customer_id: int):
    return _customer_page(load(customers.get_customer, customer_id))


@bp.post("/customers/<int:customer_id>/link")
def customer_link(customer_id: int):
    customer = load(customers.get_customer, customer_id)
    return _customer_page(customer, portal_link=links.make_portal_link(customer))


@bp.post("/customers/<int:customer_id>/revoke-links")
def customer_revoke_links(customer_id: int):
    customer = load(customers.get_customer, customer_id)
    customers.revoke_links(customer)
    db.session.commit()
    flash(f"Every portal link sent to {customer.name} so far no longer works.", "success")
    return redirect(url_for("admin.customer_detail", customer_id=customer.id), code=303)


# -- The credit balance ----------------------------------------------------------------------------


def _to_credit(customer):
    return redirect(url_for("admin.customer_detail", customer_id=customer.id, _anchor="credit"), code=303)


@bp.post("/customers/<int:customer_id>/credit/apply")
def credit_apply(customer_id: int):
    customer = load(customers.get_customer, customer_id)
    form = ApplyCreditForm()
    if not form.validate_on_submit():
        return _customer_page(customer, status=422, apply_form=form)
    try:
        invoice = load(invoices.get_invoice, form.invoice_id.data)
        amount = minor_units(form.amount.data, invoice.currency) if form.amount.data else None
        payment = ledger.apply_credit(customer, invoice, amount, created_by_id=current_user.id)
        db.session.commit()
    except DomainError as exc:
        return _customer_page(customer, status=failure(exc, form), apply_form=form)
    flash(
        f"{admin_money(payment.amount, payment.currency)} of credit applied to invoice {invoice.number}."
        + (" It is paid." if invoice.status == "paid" else ""),
        "success",
    )
    return _to_credit(customer)


@bp.post("/customers/<int:customer_id>/credit/refund")
def credit_refund(customer_id: int):
    customer = load(customers.get_customer, customer_id)
    form = RefundCreditForm()
    if not form.validate_on_submit():
        return _customer_page(customer, status=422, refund_credit_form=form)
    kind, _, value = (form.source.data or "").partition(":")
    try:
        currency = form.currency.data or merchant().default_currency
        if kind == "receipt" and parse_db_id(value) is not None:
            receipt_id, method = parse_db_id(value), "bank_transfer"
        elif kind == "manual":
            receipt_id, method = None, value
        else:
            raise DomainError("Choose how the credit goes back", "source")
        if receipt_id is not None:
            receipt = next(
                (r for r in ledger.refundable_credit(customer, currency) if r.receipt.id == receipt_id), None
            )
            currency = receipt.receipt.currency if receipt is not None else currency
        reversal = refunds.refund_credit(
            customer,
            minor_units(form.amount.data, currency),
            currency,
            receipt_id=receipt_id,
            method=method,
            note=form.note.data or None,
            created_by_id=current_user.id,
        )
        db.session.commit()
    except DomainError as exc:
        return _customer_page(customer, status=failure(exc, form), refund_credit_form=form)
    flash(f"{admin_money(reversal.amount, reversal.currency)} of credit refunded.", "success")
    return _to_credit(customer)


# -- Charges, recurring lines and the monthly cycle ------------------------------------------------


@bp.post("/customers/<int:customer_id>/charges")
def charge_new(customer_id: int):
    customer = load(customers.get_customer, customer_id)
    form = ChargeForm()
    currency = merchant().default_currency
    if form.validate_on_submit():
        try:
            billing.record_charge(
                customer,
                description=form.description.data,
                charged_on=form.charged_on.data,
                quantity=form.quantity.data,
                unit_amount=minor_units(form.unit_price.data, currency, "unit_price"),
                tax_rate=form.tax_rate.data,
                tax_category=form.tax_category.data or None,
            )
            db.session.commit()
        except DomainError as exc:
            return _customer_page(customer, status=failure(exc, form), charge_form=form)
        flash("Charge recorded.", "success")
        return redirect(url_for("admin.customer_detail", customer_id=customer.id, _anchor="charges"), code=303)
    return _customer_page(customer, status=422, charge_form=form)


@bp.post("/charges/<int:charge_id>/delete")
def charge_delete(charge_id: int):
    charge = load(billing.get_charge, charge_id)
    customer_id = charge.customer_id
    try:
        billing.delete_charge(charge)
        db.session.commit()
        flash("Charge deleted.", "success")
    except DomainError as exc:
        failure(exc)
    return redirect(url_for("admin.customer_detail", customer_id=customer_id, _anchor="charges"), code=303)


def _charge_ids(values: list[str]) -> list[int]:
    return [n for n in map(parse_db_id, values) if n is not None]


@bp.get("/customers/<int:customer_id>/draft-from-charges")
def draft_from_charges_confirm(customer_id: int):
    """Show what drafting will take (the ticked charges, or all open ones) and their total, before anything is taken."""
    customer = load(customers.get_customer, customer_id)
    selected = _charge_ids(request.args.getlist("charge_id"))
    try:
        preview = billing.preview_draft_from_charges(customer, charge_ids=selected or None)
    except DomainError as exc:
        failure(exc)
        return redirect(url_for("admin.customer_detail", customer_id=customer.id, _anchor="charges"), code=303)
    return render_template(
        "admin/customers/draft_from_charges.html", customer=customer, preview=preview, all_open=not selected
    )


@bp.post("/customers/<int:customer_id>/draft-from-charges")
def draft_from_charges(customer_id: int):
    customer = load(customers.get_customer, customer_id)
    selected = _charge_ids(request.form.getlist("charge_id"))
    try:
        invoice = billing.draft_from_charges(customer, charge_ids=selected or None)
        db.session.commit()
    except DomainError as exc:
        failure(exc)
        return redirect(url_for("admin.customer_detail", customer_id=customer.id, _anchor="charges"), code=303)
    flash("Draft invoice created from the charges: check it, then finalize.", "success")
    return redirect(url_for("admin.invoice_edit", invoice_id=invoice.id), code=303)


@bp.post("/customers/<int:customer_id>/recurring-lines")
def recurring_line_new(customer_id: int):
    customer = load(customers.get_customer, customer_id)
    form = RecurringLineForm()
    if form.validate_on_submit():
        try:
            billing.add_recurring_line(
                customer,
                description=form.description.data,
                quantity=form.quantity.data,
                unit_amount=minor_units(form.unit_price.data, merchant().default_currency, "unit_price"),
                tax_rate=form.tax_rate.data,
                tax_category=form.tax_category.data or None,
            )
            db.session.commit()
        except DomainError as exc:
            return _customer_page(customer, status=failure(exc, form), recurring_form=form)
        flash("Recurring line added.", "success")
        return redirect(url_for("admin.customer_detail", customer_id=customer.id, _anchor="billing"), code=303)
    return _customer_page(customer, status=422, recurring_form=form)


@bp.post("/customers/<int:customer_id>/recurring-lines/<int:line_id>/delete")
def recurring_line_delete(customer_id: int, line_id: int):
    customer = load(customers.get_customer, customer_id)
    try:
        billing.delete_recurring_line(merchant(), line_id)
        db.session.commit()
        flash("Recurring line removed.", "success")
    except DomainError as exc:
        failure(exc)
    return redirect(url_for("admin.customer_detail", customer_id=customer.id, _anchor="billing"), code=303)


@bp.post("/customers/<int:customer_id>/billing-cycle")
def billing_cycle_save(customer_id: int):
    customer = load(customers.get_customer, customer_id)
    form = BillingCycleForm()
    if form.validate_on_submit():
        try:
            billing.set_billing_cycle(
                customer,
                active=form.active.data,
                day_of_month=form.day_of_month.data,
                payment_days=form.payment_days.data,
                auto_send=form.auto_send.data,
            )
            db.session.commit()
        except DomainError as exc:
            return _customer_page(customer, status=failure(exc, form), cycle_form=form)
        flash("Monthly billing saved.", "success")
        return redirect(url_for("admin.customer_detail", customer_id=customer.id, _anchor="billing"), code=303)
    return _customer_page(customer, status=422, cycle_form=form)


# -- Statements of account -----------------------------------------------------------------------


@bp.post("/customers/<int:customer_id>/statements")
def statement_send(customer_id: int):
    customer = load(customers.get_customer, customer_id)
    form = StatementForm()
    if form.validate_on_submit():
        if form.start.data > form.end.data:
            form.end.errors = ["The end date is before the start date."]
        else:
            statements.send_statement(customer, form.start.data, form.end.data)
            db.session.commit()
            flash(f"The statement of account was mailed to {customer.name}.", "success")
            return redirect(url_for("admin.customer_detail", customer_id=customer.id, _anchor="statements"), code=303)
    return _customer_page(customer, status=422, statement_form=form)


@bp.post("/customers/<int:customer_id>/monthly-statement")
def monthly_statement_save(customer_id: int):
    customer = load(customers.get_customer, customer_id)
    form = MonthlyStatementForm()
    if form.validate_on_submit():
        customer.monthly_statement = bool(form.monthly_statement.data)
        db.session.commit()
        flash("Monthly statement " + ("switched on." if customer.monthly_statement else "switched off."), "success")
        return redirect(url_for("admin.customer_detail", customer_id=customer.id, _anchor="statements"), code=303)
    return _customer_page(customer, status=422, monthly_statement_form=form)


@bp.post("/customers/<int:customer_id>/contacts")
def contact_new(customer_id: int):
    customer = load(customers.get_customer, customer_id)
    form = AdminContactForm()
    if form.validate_on_submit():
        try:
            contact = contacts.add_contact(
                customer, name=form.name.data, email=form.email.data, language=form.language.data, role=form.role.data
            )
            db.session.commit()
        except DomainError as exc:
            return _customer_page(customer, status=failure(exc, form), contact_form=form)
        flash(f"{contact.name} was added; use “Copy link” to give them their portal link.", "success")
        return redirect(url_for("admin.customer_detail", customer_id=customer.id, _anchor="contacts"), code=303)
    return _customer_page(customer, status=422, contact_form=form)


@bp.post("/contacts/<int:contact_id>/<any(link, revoke, remove):action>")
def contact_action(contact_id: int, action: str):
    contact = load(contacts.get_contact, contact_id)
    customer = contact.customer
    try:
        if action == "link":
            return _customer_page(customer, portal_link=links.make_portal_link(customer, contact=contact))
        if action == "revoke":
            contacts.revoke_contact_links(contact)
            message = f"The links sent to {contact.name} no longer work; the other contacts keep theirs."
        else:
            contacts.remove_contact(contact)
            message = f"{contact.name} was removed."
        db.session.commit()
        flash(message, "success")
    except DomainError as exc:
        failure(exc)
    return redirect(url_for("admin.customer_detail", customer_id=customer.id, _anchor="contacts"), code=303)


@bp.post("/billing-changes/<int:change_id>/<any(approve, reject):decision>")
def billing_change_decide(change_id: int, decision: str):
    change = load(billing_details.get_change, change_id)
    try:
        billing_details.decide_change(change, approve=decision == "approve", staff=current_user)
        db.session.commit()
        flash(
            "Change applied: invoices finalized from now on use it." if decision == "approve" else "Change rejected.",
            "success",
        )
    except DomainError as exc:
        db.session.rollback()
        failure(exc)
    return redirect(
        url_for("admin.customer_detail", customer_id=change.customer_id, _anchor="billing-details"), code=303
    )


# -- Products ------------------------------------------------------------------------------------


@bp.get("/products")
def product_list():
    return render_template("admin/products/list.html", products=products.list_products(merchant()))


def _product_values(form: ProductForm) -> dict:
    currency = (form.currency.data or "").strip().upper()
    return {
        "name": form.name.data,
        "unit_amount": minor_units(form.unit_price.data, currency, "unit_price"),
        "currency": currency,
        "tax_rate": form.tax_rate.data,
        "tax_category": form.tax_category.data or None,
    }


@bp.route("/products/new", methods=["GET", "POST"])
def product_new():
    form = (
        ProductForm(currency=merchant().default_currency, **_default_rate())
        if request.method == "GET"
        else ProductForm()
    )
    status = None
    if form.validate_on_submit():
        try:
            product = products.create_product(merchant(), **_product_values(form))
            db.session.commit()
        except DomainError as exc:
            status = failure(exc, form)
        else:
            flash(f"Product {product.name} added to the catalogue.", "success")
            return redirect(url_for("admin.product_list"), code=303)
    return render_template("admin/products/form.html", form=form, product=None), status or form_status(form)


@bp.route("/products/<int:product_id>/edit", methods=["GET", "POST"])
def product_edit(product_id: int):
    product = load(products.get_product, product_id)
    if request.method == "GET":
        form = ProductForm(
            name=product.name,
            unit_price=major_units(product.unit_amount, product.currency),
            currency=product.currency,
            tax_rate=product.tax_rate,
            tax_category=product.tax_category,
        )
    else:
        form = ProductForm()
    status = None
    if form.validate_on_submit():
        try:
            products.update_product(product, **_product_values(form))
            db.session.commit()
        except DomainError as exc:
            status = failure(exc, form)
        else:
            flash("Product saved.", "success")
            return redirect(url_for("admin.product_list"), code=303)
    return render_template("admin/products/form.html", form=form, product=product), status or form_status(form)


@bp.post("/products/<int:product_id>/delete")
def product_delete(product_id: int):
    product = load(products.get_product, product_id)
    products.delete_product(product)
    db.session.commit()
    flash(f"Product {product.name} removed from the catalogue.", "success")
    return redirect(url_for("admin.product_list"), code=303)

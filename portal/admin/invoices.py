"""Admin pages for invoices: the list, the draft editor, previews, lifecycle actions and comments."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask import Response, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms import SelectChoice

from portal.admin.forms import (
    MAX_STATEMENT_UPLOAD_BYTES,
    NEW_CUSTOMER,
    AttachmentForm,
    CreditNoteForm,
    InvoiceForm,
    PaymentForm,
    RefundForm,
    ReplyForm,
    major_units,
    minor_units,
)
from portal.admin.views import admin_money, admin_number, bp, failure, form_status, load, merchant
from portal.documents.archive import content_disposition
from portal.documents.pdf import invoice_pdf
from portal.domain.errors import DomainError
from portal.domain.identifiers import format_iban
from portal.domain.invoices import Line, compute_totals
from portal.domain.payment_references import format_reference
from portal.extensions import db
from portal.i18n import LANGUAGE_NAMES
from portal.input_checks import db_int, parse_db_id
from portal.mail import notifications
from portal.payments.methods import METHOD_LABELS
from portal.payments.registry import PROVIDERS, enabled_providers
from portal.services import (
    attachments,
    branding,
    comment_inbox,
    credit_notes,
    customers,
    disputes,
    invoices,
    issuing,
    links,
    payment_choices,
    products,
    refunds,
    reminders,
    saved_methods,
    send_log,
    sms,
    timeline,
)
from portal.services.checkouts import live_checkouts
from portal.services.errors import NotFound
from portal.services.invoice_lists import STATUSES, InvoiceFilters, search_invoices, status_counts
from portal.services.mail_preview import preview_invoice_mail, preview_invoice_page
from portal.services.money_in_view import money_in_view

PAGE_SIZE = 50
#: The e-mail and page previews are pages of their own, framed by the preview page only; they may carry
#: inline styles and data: images, and nothing else.
EMAIL_PREVIEW_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'"


QUERY_MAX = 100


def _day(value: str | None, label: str, errors: list[str]) -> date | None:
    """Read a filter's date; a wrong one is named in `errors` (and the filter left out), never silently dropped."""
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        errors.append(f"“{value[:40]}” is not a date ({label}): write it as YYYY-MM-DD.")
        return None


@bp.get("/invoices", endpoint="invoices")
def invoices_list():
    errors: list[str] = []
    query = request.args.get("q", "")
    if len(query) > QUERY_MAX:
        errors.append(f"A search is at most {QUERY_MAX} characters; this one has {len(query)}.")
        query = ""
    filters = InvoiceFilters(
        status=request.args.get("status", "") if request.args.get("status") in STATUSES else "",
        issued_from=_day(request.args.get("from"), "issued from", errors),
        issued_to=_day(request.args.get("to"), "issued to", errors),
        query=query,
        not_sent=request.args.get("sent") == "no",
    )
    page = max(1, request.args.get("page", 1, type=db_int))
    rows, has_more = search_invoices(merchant(), filters, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    # When each was last sent to its customer (test copies aside), on the merchant's calendar.
    zone = ZoneInfo(merchant().timezone)
    sent_on = {
        invoice_id: last.astimezone(zone).date() if last is not None else None
        for invoice_id, (last, _count) in send_log.send_summaries([row.invoice for row in rows]).items()
    }
    return render_template(
        "admin/invoices/list.html",
        rows=rows,
        sent_on=sent_on,
        filters=filters,
        counts=status_counts(merchant()),
        statuses=STATUSES,
        page=page,
        has_more=has_more,
        filter_errors=errors,
        query_max=QUERY_MAX,
    ), (400 if errors else 200)


# -- The draft editor ----------------------------------------------------------------------------


def _editor_form(invoice=None) -> InvoiceForm:
    """Build the editor's form with the merchant's customers and catalogue as choices."""
    if request.method == "POST":
        form = InvoiceForm()
    elif invoice is not None:
        form = InvoiceForm(
            formdata=None,
            customer_id=invoice.customer_id,
            currency=invoice.currency,
            issue_date=invoice.issue_date,
            due_date=invoice.due_date,
            discount_percent=invoice.discount_percent,
            discount_fixed=major_units(invoice.discount_fixed, invoice.currency) if invoice.discount_fixed else None,
            notes=invoice.notes,
            terms=invoice.terms,
            supply_date=invoice.supply_date,
            lines=[
                {
                    "product_id": "",
                    "description": line.description,
                    "quantity": line.quantity,
                    "unit_price": major_units(line.unit_amount, invoice.currency),
                    "tax_rate": line.tax_rate,
                    "tax_category": line.tax_category,
                    "discount_percent": line.discount_percent,
                    "discount_fixed": major_units(line.discount_fixed, invoice.currency)
                    if line.discount_fixed
                    else None,
                }
                for line in invoice.lines
            ],
            **{f"reason_{code}": text for code, text in (invoice.exemption_reasons or {}).items()},
        )
    else:
        today = merchant().today()
        form = InvoiceForm(
            formdata=None,
            customer_id=request.args.get("customer_id", type=db_int),
            currency=merchant().default_currency,
            issue_date=today,
            due_date=today + timedelta(days=30),
            # The first line takes the merchant's default tax rate, as every line added later does.
            lines=[{"tax_rate": default_tax_rate()}],
        )
    rows, _ = customers.search_customers(merchant(), limit=1000)
    catalogue = products.list_products(merchant())
    form.customer_id.choices = [
        SelectChoice(customer.id, f"{customer.company or customer.name} <{customer.email}>") for customer in rows
    ] + [SelectChoice(NEW_CUSTOMER, "+ New customer (fill in below)")]
    for row in form.lines:
        row.form.product_id.choices = [SelectChoice("", "Free line")] + [
            SelectChoice(str(product.id), product.name) for product in catalogue
        ]
    return form


def _render_editor(form: InvoiceForm, invoice, status: int):
    catalogue = [
        {
            "id": product.id,
            "name": product.name,
            "price": str(major_units(product.unit_amount, product.currency)),
            "tax": admin_number(product.tax_rate),
            "category": product.tax_category,
        }
        for product in products.list_products(merchant())
    ]
    return (
        render_template(
            "admin/invoices/edit.html",
            form=form,
            invoice=invoice,
            catalogue=catalogue,
            default_tax_rate=admin_number(default_tax_rate()),
        ),
        status,
    )


def default_tax_rate() -> Decimal:
    """Return the tax rate a new line of the editor starts with: the merchant's default, else 0."""
    rate = merchant().default_tax_rate
    return Decimal(0) if rate is None else rate


def _editor_customer(form: InvoiceForm):
    """Return the chosen customer, or create the one typed into the editor's "new customer" fields."""
    if form.customer_id.data != NEW_CUSTOMER:
        return customers.get_customer(merchant(), form.customer_id.data, "customer_id")
    try:
        return customers.create_customer(merchant(), **form.new_customer.form.values())
    except DomainError as exc:
        exc.field = f"new_customer.{exc.field}" if exc.field else "customer_id"
        raise


@bp.route("/invoices/new", methods=["GET", "POST"])
def invoice_new():
    form = _editor_form()
    status = None
    if form.validate_on_submit():
        try:
            customer = _editor_customer(form)
            invoice = invoices.create_draft(merchant(), customer=customer, **form.draft_fields())
            db.session.commit()
        except DomainError as exc:
            status = failure(exc, form)
        else:
            flash("Draft saved. Preview it, then finalize when it is right.", "success")
            return redirect(url_for("admin.invoice_detail", invoice_id=invoice.id), code=303)
    return _render_editor(form, None, status or form_status(form))


@bp.route("/invoices/<int:invoice_id>/edit", methods=["GET", "POST"])
def invoice_edit(invoice_id: int):
    invoice = load(invoices.get_invoice, invoice_id)
    if invoice.status != "draft":
        flash(f"Invoice {invoice.number} is {invoice.status}: correct it with a credit note.", "error")
        return redirect(url_for("admin.invoice_detail", invoice_id=invoice.id), code=303)
    form = _editor_form(invoice)
    status = None
    if form.validate_on_submit():
        try:
            customer = _editor_customer(form)
            invoices.update_draft(invoice, customer=customer, **form.draft_fields())
            db.session.commit()
        except DomainError as exc:
            status = failure(exc, form)
        else:
            flash("Draft saved.", "success")
            return redirect(url_for("admin.invoice_detail", invoice_id=invoice.id), code=303)
    return _render_editor(form, invoice, status or form_status(form))


@bp.post("/invoices/totals")
def invoice_totals():
    """Answer the editor's live totals, computed by the domain exactly as saving will."""
    form = _editor_form()
    form.validate()
    currency = (form.currency.data or "").upper()
    field_errors = {
        name: errors
        for name, errors in form.errors.items()
        if name in ("lines", "discount_percent", "discount_fixed", "currency")
    }
    if field_errors:
        return jsonify(ok=False, error="Check the highlighted figures."), 200
    try:
        lines = form.domain_lines()
        totals = compute_totals(lines, form.discount_percent.data or Decimal(0), form.invoice_discount_fixed())
    except DomainError as exc:
        return jsonify(ok=False, error=exc.message), 200
    nets = iter(line.net for line in lines)
    return jsonify(
        ok=True,
        lines=["" if row.form.is_blank else admin_money(next(nets), currency) for row in form.lines],
        subtotal=admin_money(totals.subtotal, currency),
        discount=admin_money(totals.discount, currency),
        net=admin_money(totals.net, currency),
        taxes=[
            {
                "category": tax.category.value,
                "rate": admin_number(tax.rate),
                "base": admin_money(tax.base, currency),
                "amount": admin_money(tax.amount, currency),
            }
            for tax in totals.taxes
        ],
        total=admin_money(totals.total, currency),
    )


# -- One invoice ---------------------------------------------------------------------------------


def _detail(invoice, status: int = 200, *, portal_link=None, **forms):
    today = merchant().today()
    page_forms = {
        "payment_form": PaymentForm(formdata=None, paid_on=today),
        "credit_form": CreditNoteForm(formdata=None, issue_date=today),
        "reply_form": ReplyForm(formdata=None),
        "attachment_form": AttachmentForm(formdata=None),
        "refund_form": RefundForm(formdata=None),
    }
    page_forms.update(forms)
    if invoice.status != "draft" and request.method == "GET":
        comment_inbox.mark_thread_read(invoice)
        db.session.commit()
    return (
        render_template(
            "admin/invoices/detail.html",
            invoice=invoice,
            breakdown=invoices.invoice_breakdown(invoice, today),
            outstanding=invoices.outstanding(invoice),
            taxes=compute_totals(
                [line.to_domain() for line in invoice.lines], invoice.discount_percent, invoice.discount_fixed
            ).taxes,
            comments=comment_inbox.thread(invoice),
            attachments=attachments.list_attachments(invoice),
            enabled_providers=enabled_providers(invoice.merchant_id),
            chosen_providers=payment_choices.chosen_providers(invoice),
            available_methods=payment_choices.available_methods(invoice),
            chosen_methods=payment_choices.chosen_methods(invoice),
            method_labels=METHOD_LABELS,
            offers_bank_transfer=payment_choices.offers_bank_transfer(invoice),
            # The account a transfer goes to: as issued, or on a draft the merchant's as of now.
            transfer_iban=format_iban(invoice.seller_party.iban) if invoice.seller_party.iban else None,
            payment_reference=format_reference(invoice.payment_reference) if invoice.payment_reference else None,
            provider_labels={name: provider.label for name, provider in PROVIDERS.items()},
            checkout=live_checkouts([invoice.id]).get(invoice.id),
            money=money_in_view(invoice),
            sms_number=sms.mobile_number(invoice.customer) if sms.sms_account(invoice.merchant) else None,
            portal_link=portal_link,
            today=today,
            timeline=timeline.invoice_timeline(invoice) if invoice.status != "draft" else [],
            saved_methods=saved_methods.saved_methods(invoice.customer) if invoice.status == "open" else [],
            **page_forms,
        ),
        status,
    )


@bp.get("/invoices/<int:invoice_id>")
def invoice_detail(invoice_id: int):
    return _detail(load(invoices.get_invoice, invoice_id))


def _back(invoice) -> Response:
    return redirect(url_for("admin.invoice_detail", invoice_id=invoice.id), code=303)


@bp.post("/invoices/<int:invoice_id>/delete")
def invoice_delete(invoice_id: int):
    invoice = load(invoices.get_invoice, invoice_id)
    try:
        invoices.delete_draft(invoice)
        db.session.commit()
    except DomainError as exc:
        failure(exc)
        return _back(invoice)
    flash("Draft deleted. Any charges it held are open again.", "success")
    return redirect(url_for("admin.invoices"), code=303)


@bp.post("/invoices/<int:invoice_id>/finalize")
def invoice_finalize(invoice_id: int):
    invoice = load(invoices.get_invoice, invoice_id)
    try:
        # "1": finalize and send; "0": finalize without mailing, whatever the merchant's setting; absent: the setting.
        asked = {"1": True, "0": False}.get(request.form.get("send", ""))
        send = issuing.issue_invoice(invoice, send=asked, by=current_user._get_current_object())
        db.session.commit()
    except DomainError as exc:
        failure(exc)
        return _back(invoice)
    if send:
        flash(f"Invoice {invoice.number} finalized and sent to {invoice.customer.email}.", "success")
    else:
        flash(f"Invoice {invoice.number} finalized. It has not been sent.", "success")
    return _back(invoice)


@bp.post("/invoices/<int:invoice_id>/send")
def invoice_send(invoice_id: int):
    invoice = load(invoices.get_invoice, invoice_id)
    test = request.form.get("test") == "1"
    by_sms = request.form.get("channel") == "sms"
    try:
        if by_sms:
            queued = sms.send_invoice_sms(invoice, by=current_user._get_current_object())
        else:
            notifications.send_invoice(
                invoice, test_to=current_user if test else None, by=current_user._get_current_object()
            )
        db.session.commit()
    except DomainError as exc:
        failure(exc)
        return _back(invoice)
    if by_sms:
        flash(f"Invoice {invoice.number} is on its way by text message to {queued.message.to}.", "success")
    elif test:
        flash(f"A test copy is on its way to {current_user.email}.", "success")
    else:
        flash(f"Invoice {invoice.number} sent to {invoice.customer.email}.", "success")
    return _back(invoice)


@bp.post("/invoices/<int:invoice_id>/reminders")
def invoice_reminders(invoice_id: int):
    invoice = load(invoices.get_invoice, invoice_id)
    paused = request.form.get("paused") == "1"
    reminders.set_invoice_reminders_paused(invoice, paused)
    db.session.commit()
    if paused:
        flash(f"Reminders for invoice {invoice.number} are paused.", "success")
    else:
        flash(f"Reminders for invoice {invoice.number} are on again.", "success")
    return _back(invoice)


@bp.post("/invoices/<int:invoice_id>/resolve-dispute")
def invoice_resolve_dispute(invoice_id: int):
    invoice = load(invoices.get_invoice, invoice_id)
    try:
        disputes.resolve_dispute(invoice, current_user, request.form.get("resolution"))
        db.session.commit()
    except DomainError as exc:
        failure(exc)
        return _back(invoice)
    flash(
        f"Dispute on invoice {invoice.number} resolved: reminders and late charges run again from tomorrow.", "success"
    )
    return _back(invoice)


@bp.post("/invoices/<int:invoice_id>/link")
def invoice_link(invoice_id: int):
    invoice = load(invoices.get_invoice, invoice_id)
    if invoice.status == "draft":
        flash("A draft has no portal link: the customer cannot see it yet.", "error")
        return _back(invoice)
    return _detail(invoice, portal_link=links.make_portal_link(invoice.customer, invoice))


@bp.post("/invoices/<int:invoice_id>/void")
def invoice_void(invoice_id: int):
    invoice = load(invoices.get_invoice, invoice_id)
    try:
        invoices.void_invoice(invoice)
        db.session.commit()
    except DomainError as exc:
        failure(exc)
        return _back(invoice)
    flash(f"Invoice {invoice.number} is void. The customer sees it as cancelled.", "success")
    return _back(invoice)


@bp.post("/invoices/<int:invoice_id>/charge-saved-method")
def invoice_charge_saved_method(invoice_id: int):
    invoice = load(invoices.get_invoice, invoice_id)
    method = None
    method_id = parse_db_id(request.form.get("saved_method_id"))
    try:
        if method_id is not None:
            method = saved_methods.customer_saved_method(invoice.customer, method_id)
        attempt = saved_methods.charge_saved_method(invoice, initiated_by="staff", method=method)
    except DomainError as exc:
        failure(exc)
        return _back(invoice)
    amount = admin_money(attempt.amount, attempt.currency)
    if attempt.status == "paid":
        flash(f"{amount} charged to the saved payment method. The invoice is paid.", "success")
    elif attempt.status in ("pending", "open"):
        flash(f"{amount} is being collected from the saved payment method.", "success")
    elif attempt.status == "creating":
        flash("The payment provider could not be reached. The charge will be checked again shortly.", "error")
    else:
        flash("The saved payment method was declined. The customer was emailed a link to pay.", "error")
    return _back(invoice)


@bp.post("/invoices/<int:invoice_id>/payments")
def invoice_payment(invoice_id: int):
    invoice = load(invoices.get_invoice, invoice_id)
    form = PaymentForm()
    if not form.validate_on_submit():
        return _detail(invoice, 422, payment_form=form)
    try:
        invoices.record_payment(
            invoice,
            amount=minor_units(form.amount.data, invoice.currency),
            paid_on=form.paid_on.data,
            method=form.method.data,
            reference=form.reference.data or None,
            recorded_by_id=current_user.id,
            surplus_to_credit=form.surplus_to_credit.data,
        )
        db.session.commit()
    except DomainError as exc:
        return _detail(invoice, failure(exc, form), payment_form=form)
    flash("Payment recorded." + (" The invoice is paid." if invoice.status == "paid" else ""), "success")
    return _back(invoice)


@bp.post("/invoices/<int:invoice_id>/payments/<int:payment_id>/refund")
def invoice_payment_refund(invoice_id: int, payment_id: int):
    invoice = load(invoices.get_invoice, invoice_id)
    payment = load(refunds.get_payment, payment_id)
    if payment.invoice_id != invoice.id:
        abort(404)
    form = RefundForm()
    if not form.validate_on_submit():
        return _detail(invoice, 422, refund_form=form)
    try:
        amount = minor_units(form.amount.data, invoice.currency) if form.amount.data else None
        reversal = refunds.refund_payment(payment, amount, note=form.note.data or None, created_by_id=current_user.id)
        db.session.commit()
    except DomainError as exc:
        return _detail(invoice, failure(exc, form), refund_form=form)
    how = f"through {reversal.method.capitalize()}" if reversal.method in PROVIDERS else "as sent back by hand"
    flash(
        f"{admin_money(reversal.amount, reversal.currency)} refunded {how}."
        + (" The invoice is open again." if invoice.status == "open" else ""),
        "success",
    )
    return _back(invoice)


@bp.post("/invoices/<int:invoice_id>/credit-notes")
def invoice_credit_note(invoice_id: int):
    invoice = load(invoices.get_invoice, invoice_id)
    form = CreditNoteForm()
    if not form.validate_on_submit():
        return _detail(invoice, 422, credit_form=form)
    try:
        line = Line(
            description=form.description.data,
            quantity=Decimal(1),
            unit_amount=minor_units(form.amount.data, invoice.currency),
            tax_rate=form.tax_rate.data,
            tax_category=form.tax_category.data or None,
        )
        note = credit_notes.issue_credit_note(
            invoice,
            lines=[line],
            issue_date=form.issue_date.data,
            reason=form.reason.data or None,
            remainder_to_credit=form.remainder_to_credit.data,
            created_by_id=current_user.id,
        )
        db.session.commit()
    except DomainError as exc:
        if exc.field in ("unit_amount", "lines"):
            exc.field = "amount"
        return _detail(invoice, failure(exc, form), credit_form=form)
    flash(f"Credit note {note.number} issued for {admin_money(note.total, note.currency)}.", "success")
    return _back(invoice)


@bp.post("/invoices/<int:invoice_id>/comments")
def invoice_reply(invoice_id: int):
    invoice = load(invoices.get_invoice, invoice_id)
    form = ReplyForm()
    if not form.validate_on_submit():
        return _detail(invoice, 422, reply_form=form)
    try:
        comment_inbox.reply(invoice, current_user, form.body.data)
        db.session.commit()
    except DomainError as exc:
        return _detail(invoice, failure(exc, form), reply_form=form)
    flash(f"Reply posted and mailed to {invoice.customer.email}.", "success")
    return redirect(url_for("admin.invoice_detail", invoice_id=invoice.id, _anchor="comments"), code=303)


@bp.post("/invoices/<int:invoice_id>/attachments")
def invoice_attachment_add(invoice_id: int):
    invoice = load(invoices.get_invoice, invoice_id)
    form = AttachmentForm()
    if not form.validate_on_submit():
        return _detail(invoice, 422, attachment_form=form)
    upload = form.file.data
    try:
        attachment = attachments.add_attachment(
            invoice,
            filename=upload.filename,
            data=upload.read(attachments.MAX_ATTACHMENT_BYTES + 1),
            uploaded_by=current_user,
        )
        db.session.commit()
    except DomainError as exc:
        return _detail(invoice, failure(exc, form), attachment_form=form)
    flash(f"{attachment.download_name} attached. The customer can download it from the invoice.", "success")
    return redirect(url_for("admin.invoice_detail", invoice_id=invoice.id, _anchor="attachments"), code=303)


#: Uploads the admin takes, per endpoint: the most a file may hold, and the page to go back to.
UPLOAD_LIMITS = {
    "admin.invoice_attachment_add": (attachments.MAX_ATTACHMENT_BYTES, None),
    "admin.bank_import_statement": (MAX_STATEMENT_UPLOAD_BYTES, "admin.bank"),
    "admin.settings_logo": (branding.MAX_LOGO_BYTES, "admin.settings_branding"),
}


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):g} MB"


@bp.errorhandler(RequestEntityTooLarge)
def upload_too_large(exc: RequestEntityTooLarge):
    """Answer an upload over the request limit on the page it came from, saying the limit: nothing is lost."""
    db.session.rollback()
    limit, back = UPLOAD_LIMITS.get(request.endpoint or "", (current_app.config["MAX_CONTENT_LENGTH"], None))
    message = f"The file is too large: it may be at most {_megabytes(limit)}. Nothing was uploaded."
    invoice_id = (request.view_args or {}).get("invoice_id")
    if current_user.is_authenticated and request.endpoint == "admin.invoice_attachment_add":
        try:
            invoice = invoices.get_invoice(merchant(), invoice_id)
        except NotFound:
            abort(404)
        form = AttachmentForm(formdata=None)
        form.file.errors = [message]
        return _detail(invoice, 413, attachment_form=form)
    page = render_template(
        "admin/error.html",
        code=413,
        error=exc,
        staff=current_user,
        too_large=message,
        back=url_for(back) if back and current_user.is_authenticated else None,
    )
    return page, 413


@bp.get("/invoices/<int:invoice_id>/attachments/<int:attachment_id>")
def invoice_attachment(invoice_id: int, attachment_id: int):
    invoice = load(invoices.get_invoice, invoice_id)
    try:
        attachment = attachments.get_attachment(invoice, attachment_id)
    except DomainError:
        abort(404)
    response = Response(attachment.data, mimetype=attachment.content_type)
    # Always a download, never rendered in the admin's origin; an ASCII name for old clients, the real one beside it.
    response.headers["Content-Disposition"] = content_disposition("attachment", attachment.download_name)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.post("/invoices/<int:invoice_id>/attachments/<int:attachment_id>/delete")
def invoice_attachment_delete(invoice_id: int, attachment_id: int):
    invoice = load(invoices.get_invoice, invoice_id)
    try:
        attachments.remove_attachment(attachments.get_attachment(invoice, attachment_id))
        db.session.commit()
    except DomainError as exc:
        failure(exc)
    flash("Attachment removed.", "success")
    return redirect(url_for("admin.invoice_detail", invoice_id=invoice.id, _anchor="attachments"), code=303)


@bp.post("/invoices/<int:invoice_id>/payment-methods")
def invoice_payment_methods(invoice_id: int):
    invoice = load(invoices.get_invoice, invoice_id)
    try:
        methods = None
        if request.form.get("methods_shown") == "1":
            methods = request.form.getlist("method")
            # Every method ticked is the default: whatever the providers offer, now and later.
            if set(payment_choices.available_methods(invoice)) <= set(methods):
                methods = None
        payment_choices.set_payment_choice(
            invoice,
            request.form.getlist("provider"),
            bank_transfer=request.form.get("bank_transfer") == "1",
            methods=methods,
        )
        db.session.commit()
    except DomainError as exc:
        failure(exc)
        return _back(invoice)
    flash("Ways to pay saved for this invoice.", "success")
    return _back(invoice)


# -- Previews ------------------------------------------------------------------------------------


def _preview_language(invoice) -> str:
    """Return the language asked for (?lang=), else the one the customer reads the invoice in."""
    asked = request.args.get("lang")
    if asked is None:
        return invoice.document_language
    if asked not in current_app.config["LANGUAGES"]:
        abort(404)
    return asked


@bp.get("/invoices/<int:invoice_id>/preview")
def invoice_preview(invoice_id: int):
    invoice = load(invoices.get_invoice, invoice_id)
    language = _preview_language(invoice)
    return render_template(
        "admin/invoices/preview.html",
        invoice=invoice,
        language=language,
        languages={code: LANGUAGE_NAMES.get(code, code) for code in current_app.config["LANGUAGES"]},
        mail=preview_invoice_mail(invoice, language),
    )


@bp.get("/invoices/<int:invoice_id>/preview/page")
def invoice_preview_page(invoice_id: int):
    """The invoice as the customer reads it, framed by the preview page; like the e-mail preview, it runs nothing."""
    invoice = load(invoices.get_invoice, invoice_id)
    response = Response(preview_invoice_page(invoice, _preview_language(invoice)), mimetype="text/html")
    response.headers["Content-Security-Policy"] = EMAIL_PREVIEW_CSP
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response


@bp.get("/invoices/<int:invoice_id>/preview.pdf")
def invoice_preview_pdf(invoice_id: int):
    invoice = load(invoices.get_invoice, invoice_id)
    pdf = invoice_pdf(invoice)
    db.session.commit()  # a finalized invoice's PDF is stored for reuse
    name = invoice.number or f"draft-{invoice.id}"
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="invoice-{name}.pdf"'
    return response


@bp.get("/invoices/<int:invoice_id>/preview/email")
def invoice_preview_email(invoice_id: int):
    invoice = load(invoices.get_invoice, invoice_id)
    response = Response(preview_invoice_mail(invoice, _preview_language(invoice)).html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = EMAIL_PREVIEW_CSP
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response


# -- The comment inbox ---------------------------------------------------------------------------


#: The inbox's filters: its query value, and the label of the tab.
COMMENT_FILTERS = {"open": "Open", "answered": "Answered", "no_reply_needed": "No reply needed"}


@bp.get("/comments")
def comments_inbox():
    state = request.args.get("state") or None
    if state is not None and state not in COMMENT_FILTERS:
        abort(404)
    return render_template(
        "admin/comments.html",
        comments=comment_inbox.inbox(merchant(), state=state),
        state=state,
        filters=COMMENT_FILTERS,
    )


@bp.post("/comments/<int:comment_id>/state")
def comment_state(comment_id: int):
    """Mark a customer's comment "no reply needed", or open it again."""
    comment = load(comment_inbox.get_comment, comment_id)
    try:
        comment_inbox.set_comment_state(comment, request.form.get("state", ""), current_user._get_current_object())
        db.session.commit()
    except DomainError as exc:
        failure(exc)
    else:
        if comment.state == "no_reply_needed":
            flash("Marked “no reply needed”: the comment is no longer waiting for an answer.", "success")
        else:
            flash("The comment is open again: it waits for an answer.", "success")
    back = request.form.get("back")
    if back == "inbox":
        return redirect(url_for("admin.comments_inbox", state=request.form.get("filter") or None), code=303)
    return redirect(url_for("admin.invoice_detail", invoice_id=comment.invoice_id, _anchor="comments"), code=303)

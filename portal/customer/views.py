"""Portal pages: magic links, the overview, invoices, credit notes, comments and branding assets."""

from __future__ import annotations

import hashlib
import mimetypes
from datetime import datetime
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time, get_datetime_format
from babel.dates import format_datetime as babel_format_datetime
from flask import (
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import format_currency, get_locale, refresh
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_limiter.util import get_remote_address
from sqlalchemy import func, select
from werkzeug.security import safe_join

from portal.customer import bp
from portal.customer.access import (
    SESSION_BRAND_MERCHANT,
    current_contact,
    current_customer,
    customer_credit_note,
    customer_invoice,
    customer_rate_key,
    require_acting_contact,
    require_customer,
    start_customer_session,
)
from portal.customer.forms import CommentForm, DisputeForm, FreshLinkForm, LanguageForm, OverviewFilterForm
from portal.documents.context import credit_note_view
from portal.documents.html import category_name, format_country, format_rate
from portal.domain.errors import DomainError
from portal.domain.invoices import shown_status
from portal.domain.money import Money
from portal.extensions import db, limiter
from portal.i18n import LANGUAGE_NAMES, SESSION_LANGUAGE, SESSION_READER_LANGUAGE, show_in_document_language
from portal.input_checks import db_int
from portal.mail.notifications import send_fresh_link
from portal.models import Customer, Merchant
from portal.services.comments import add_customer_comment
from portal.services.contacts import find_contact_by_email, may_act, update_contact
from portal.services.disputes import open_dispute
from portal.services.einvoices import ubl_available
from portal.services.languages import set_customer_language
from portal.services.ledger import credit_balances
from portal.services.links import LinkExpired, LinkInvalid, LinkRevoked, read_portal_link
from portal.services.portal_pages import (
    STATUS_FILTERS,
    OverviewFilters,
    customer_overview,
    invoice_page,
    note_invoice_viewed,
)
from portal.services.sms import read_short_link
from portal.theming import DEFAULT_THEME, available_themes, brand_css, logo_data_uri, merchant_theme, theme_file

STATIC_DIR = Path(__file__).resolve().parent / "static"
SECTIONS = ("open", "paid", "cancelled", "credit_notes")
#: Which files a theme folder may serve; anything else in it (template overrides) stays private.
THEME_ASSET_SUFFIXES = frozenset({".css", ".png", ".svg", ".woff2", ".jpg", ".webp"})
#: The session key remembering whose link expired, so the fresh-link form never carries the token.
SESSION_EXPIRED_CUSTOMER = "expired_link_customer_id"
SESSION_EXPIRED_CONTACT = "expired_link_contact_id"
#: The session key carrying a refused comment (its text and errors) to the invoice page after the redirect.
SESSION_COMMENT_DRAFT = "comment_draft"
#: A refused comment longer than this is not kept whole (the session lives in a cookie).
MAX_DRAFT_KEPT = 2100

PAYMENT_METHOD_LABELS = {
    "bank_transfer": _l("Bank transfer"),
    "cash": _l("Cash"),
    "card": _l("Card"),
    "cheque": _l("Cheque"),
    "direct_debit": _l("Direct debit"),
    "mollie": _l("Online payment"),
    "stripe": _l("Online payment"),
    "credit_balance": _l("Credit balance"),
    "other": _l("Other"),
}


@bp.app_template_filter("shown_status")
def shown_status_filter(invoice) -> str:
    """Return the status a customer reads for a listed paid or void invoice (credited when no money was paid)."""
    return shown_status(invoice.status, overdue=False, credited=invoice.credited, paid=invoice.paid)


class PortalChrome:
    """What the page frame shows around any portal page: who, for which merchant, in which look."""

    @cached_property
    def customer(self) -> Customer | None:
        return current_customer()

    @cached_property
    def merchant(self) -> Merchant | None:
        if self.customer:
            return self.customer.merchant
        # No one signed in (a bad link, signed out): the brand of the merchant this browser knows.
        merchant_id = g.get("brand_merchant_id") or session.get(SESSION_BRAND_MERCHANT)
        return db.session.get(Merchant, merchant_id) if isinstance(merchant_id, int) else None

    @cached_property
    def theme_name(self) -> str:
        return merchant_theme(self.merchant) if self.merchant else DEFAULT_THEME

    @cached_property
    def logo_uri(self) -> str | None:
        return logo_data_uri(self.merchant) if self.merchant else None

    @cached_property
    def brand_version(self) -> str:
        css = brand_css(self.merchant) if self.merchant else ""
        return hashlib.sha256(css.encode()).hexdigest()[:12]

    @property
    def current_language(self) -> str:
        return str(get_locale() or "en")

    @property
    def languages(self) -> dict[str, str]:
        return {code: LANGUAGE_NAMES.get(code, code) for code in current_app.config["LANGUAGES"]}


@bp.before_app_request
def forget_previous_customer() -> None:
    # An app context can outlive one request (tests, CLI): never reuse another request's
    # customer, nor the locale Flask-Babel picked for them.
    g.pop("portal_customer", None)
    g.pop("portal_contact", None)
    g.pop("portal_pay_context", None)
    refresh()


@bp.app_context_processor
def inject_portal_chrome() -> dict:
    # One lazy object, so pages of other blueprints pay nothing unless they extend customer/base.html.
    return {"portal_chrome": PortalChrome()}


@bp.app_template_filter("money")
def money_filter(amount: int | Money, currency: str | None = None) -> str:
    """Format minor units (or a Money) as the locale writes money, e.g. 1 049,86 € in French."""
    money = amount if isinstance(amount, Money) else Money(amount, currency)
    return format_currency(money.to_decimal(), money.currency)


@bp.app_template_filter("country")
def country_filter(code: str | None) -> str:
    """Name a country in the page's language."""
    return format_country(code)


@bp.app_template_global()
def vat_category_name(code: str) -> str:
    """Name a VAT category (S, E, AE …) in the page's language."""
    return category_name(code)


@bp.app_template_filter("rate")
def rate_filter(percent: Decimal) -> str:
    """Format a rate given in percent (12 → 12 %) for the locale, as the PDFs do."""
    return format_rate(percent)


@bp.app_template_filter("moment_short")
def moment_short_filter(value: datetime, timezone: str) -> str:
    """Format a timestamp to the minute (no seconds), in the merchant's time zone, as the locale joins date and time."""
    locale = get_locale()
    local = value.astimezone(ZoneInfo(timezone))
    pattern = get_datetime_format("medium", locale=locale)
    return pattern.replace("{1}", format_date(local, "medium", locale=locale)).replace(
        "{0}", format_time(local, "short", locale=locale)
    )


@bp.app_template_filter("moment")
def moment_filter(value: datetime, timezone: str) -> str:
    """Format a timestamp in the merchant's time zone for the locale."""
    return babel_format_datetime(value, "medium", tzinfo=ZoneInfo(timezone), locale=get_locale())


@bp.app_template_global()
def reader_may_act() -> bool:
    """Tell whether the reader may pay and comment (a viewer not, when the merchant so decides)."""
    return may_act(current_contact())


@bp.app_template_global()
def payment_method_label(method: str) -> str:
    """Name a payment method in the customer's language."""
    return str(PAYMENT_METHOD_LABELS.get(method, PAYMENT_METHOD_LABELS["other"]))


@bp.app_template_global()
def overview_page_url(section: str, page: int) -> str:
    """Link to another page of one overview section, keeping the filters."""
    args = request.args.to_dict()
    args[f"{section}_page"] = str(page)
    return url_for("customer.overview", **args)


def _no_store(response: Response) -> Response:
    # Pages about someone's debts must not linger in shared caches or the back-forward cache.
    response.headers["Cache-Control"] = "no-store"
    return response


# -- Entry -------------------------------------------------------------------------------------


@bp.get("/l/<token>")
def open_link(token: str):
    """Start a session from a magic link and move on, so the token leaves the address bar."""
    return _enter(read_portal_link, token)


@bp.get("/s/<token>")
@limiter.limit("30/minute", key_func=get_remote_address)
def open_short_link(token: str):
    """The short link of a text message: opens what its magic link would, under the same rules."""
    return _enter(read_short_link, token)


def _enter(read, secret: str):
    try:
        target = read(secret)
    except LinkExpired as exc:
        _remember_link_owner(db.session.get(Customer, exc.customer_id) if exc.customer_id else None)
        session[SESSION_EXPIRED_CONTACT] = exc.contact_id
        return _no_store(Response(render_template("customer/link_expired.html", form=FreshLinkForm()), 410))
    except LinkRevoked as exc:
        _remember_link_owner(exc.customer)
        session.pop(SESSION_EXPIRED_CONTACT, None)  # a fresh link then goes to the customer's own address
        html = render_template("customer/link_invalid.html", form=FreshLinkForm(), known=True)
        return _no_store(Response(html, 404))
    except LinkInvalid:
        # Tampered or naming nobody: nothing in it can be trusted, so only this browser's own brand shows.
        session.pop(SESSION_EXPIRED_CUSTOMER, None)
        session.pop(SESSION_EXPIRED_CONTACT, None)
        html = render_template("customer/link_invalid.html", form=FreshLinkForm(), known=False)
        return _no_store(Response(html, 404))
    start_customer_session(target.customer, target.contact)
    if target.invoice is not None:
        return redirect(url_for("customer.invoice", number=target.invoice.number), 303)
    return redirect(url_for("customer.overview"), 303)


def _remember_link_owner(customer: Customer | None) -> None:
    """Keep who a genuine but unusable link was for: the fresh link goes to them, in their brand and language."""
    if customer is None:
        session.pop(SESSION_EXPIRED_CUSTOMER, None)
        return
    session[SESSION_EXPIRED_CUSTOMER] = customer.id
    session[SESSION_BRAND_MERCHANT] = customer.merchant_id
    g.brand_merchant_id = customer.merchant_id
    g.link_language = customer.language
    refresh()


@bp.app_template_global()
def fresh_link_form() -> FreshLinkForm:
    """Return the "email me a fresh link" form for pages without a usable session."""
    return FreshLinkForm(formdata=None)


@bp.app_template_global()
def fresh_link_needs_email() -> bool:
    """Tell whether the fresh-link form must ask for the address (no link named its owner)."""
    return not isinstance(session.get(SESSION_EXPIRED_CUSTOMER), int)


@bp.post("/l/fresh")
@limiter.limit("5/hour;2/minute", key_func=get_remote_address)
def request_fresh_link():
    """Email a fresh link to the expired link's owner; the answer is the same either way."""
    form = FreshLinkForm()
    if form.validate_on_submit():
        customer_id = session.pop(SESSION_EXPIRED_CUSTOMER, None)
        contact_id = session.pop(SESSION_EXPIRED_CONTACT, None)
        customer = db.session.get(Customer, customer_id) if isinstance(customer_id, int) else None
        merchant_id = session.get(SESSION_BRAND_MERCHANT)
        if customer is None and form.email.data and isinstance(merchant_id, int):
            # Only among the contacts and customers of the merchant this browser knows: never a search
            # across merchants. A contact's address gets a link of their own.
            contact = find_contact_by_email(merchant_id, form.email.data)
            if contact is not None:
                customer, contact_id = contact.customer, contact.id
            else:
                contact_id = None
                customer = db.session.scalar(
                    select(Customer)
                    .where(Customer.merchant_id == merchant_id, func.lower(Customer.email) == form.email.data.lower())
                    .order_by(Customer.id)
                    .limit(1)
                )
        if customer is not None:
            send_fresh_link(customer, contact_id if isinstance(contact_id, int) else None)
            db.session.commit()
    return _no_store(Response(render_template("customer/fresh_link_sent.html")))


@bp.post("/sign-out")
def sign_out():
    """Forget the customer in this browser (only their merchant's brand stays, for the pages that follow)."""
    merchant_id = session.get(SESSION_BRAND_MERCHANT)
    session.clear()
    g.pop("csrf_token", None)  # Flask-WTF's per-request copy of the token just cleared from the session
    if isinstance(merchant_id, int):
        session[SESSION_BRAND_MERCHANT] = merchant_id
    return _no_store(Response(render_template("customer/signed_out.html", customer=None)))


@bp.post("/language")
def change_language():
    """Switch the language; a signed-in customer keeps it for mails and documents too."""
    form = LanguageForm()
    if form.validate_on_submit():
        customer = current_customer()
        if customer is not None:
            contact = current_contact()
            if contact is not None and not contact.is_primary:
                update_contact(contact, language=form.language.data)
            else:
                set_customer_language(customer, form.language.data)
            db.session.commit()
            # The reader's choice also overrides the language documents were issued in, on their pages.
            session[SESSION_READER_LANGUAGE] = form.language.data
        else:
            session[SESSION_LANGUAGE] = form.language.data
    return redirect(_local_path(form.next.data), 303)


def _local_path(target: str | None) -> str:
    """Return target when it is a path on this site, else the overview (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return url_for("customer.overview")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return url_for("customer.overview")
    return target


# -- Pages -------------------------------------------------------------------------------------


@bp.get("/")
def overview():
    """List the customer's whole history in sections, filtered and paginated."""
    customer = require_customer()
    form = OverviewFilterForm(formdata=request.args)
    form.validate()
    filters = OverviewFilters(
        status=form.status.data if not form.status.errors and form.status.data in STATUS_FILTERS else "",
        issued_from=None if form.issued_from.errors else form.issued_from.data,
        issued_to=None if form.issued_to.errors else form.issued_to.data,
        number="" if form.number.errors else (form.number.data or ""),
    )
    pages = {section: request.args.get(f"{section}_page", 1, type=db_int) for section in SECTIONS}
    page = customer_overview(customer, filters, pages)
    response = _no_store(
        Response(
            render_template(
                "customer/overview.html",
                merchant=customer.merchant,
                customer=customer,
                overview=page,
                filters=filters,
                filter_form=form,
                credit_balances=credit_balances(customer),
            )
        )
    )
    db.session.commit()  # keeps today's amounts due (portal.models.dues) for the next visit
    return response


def _invoice_response(
    customer: Customer,
    invoice,
    comment_form: CommentForm,
    status: int = 200,
    dispute_form: DisputeForm | None = None,
) -> Response:
    show_in_document_language(invoice.document_language)
    page = invoice_page(invoice)
    html = render_template(
        "customer/invoice.html",
        merchant=customer.merchant,
        customer=customer,
        invoice=invoice,
        page=page,
        breakdown=page.breakdown,
        amount_due=page.amount_due,
        days_overdue=page.days_overdue,
        attachments=page.attachments,
        ubl_available=ubl_available(invoice),
        doc=page.document,
        comment_form=comment_form,
        dispute_form=dispute_form or DisputeForm(formdata=None),
    )
    return _no_store(Response(html, status))


@bp.get("/invoices/<number>")
def invoice(number: str):
    """Show one invoice: lines, taxes, what is due and why, credit notes, payments, comments."""
    customer = require_customer()
    invoice = customer_invoice(customer, number)
    note_invoice_viewed(invoice)
    form = CommentForm(formdata=None)
    draft = session.pop(SESSION_COMMENT_DRAFT, None)
    if isinstance(draft, dict) and draft.get("invoice") == invoice.number:
        form.body.data = draft.get("body") or ""
        form.body.errors = list(draft.get("errors") or [])
    response = _invoice_response(customer, invoice, form)
    # Committed once the page is rendered: a commit before would expire everything loaded and read it all again.
    db.session.commit()
    return response


@bp.post("/invoices/<number>/comments")
@limiter.limit("10/minute;100/day", key_func=customer_rate_key)
def add_comment(number: str):
    """Post the customer's comment under the invoice."""
    customer = require_customer()
    contact = require_acting_contact()
    invoice = customer_invoice(customer, number)
    form = CommentForm()
    if form.validate_on_submit():
        try:
            add_customer_comment(invoice, customer, form.body.data, contact)
        except DomainError as exc:
            form.body.errors = [exc.message]
        else:
            db.session.commit()
            flash(_("Your message was sent. You will find the reply here."), "success")
            return redirect(url_for("customer.invoice", number=invoice.number, _anchor="comments"), 303)
    if form.csrf_token.errors:
        abort(400)
    # Post-redirect-get: the invoice's own address shows the draft and the error, so a reload never
    # answers 405 and never posts twice. The draft is capped like the field (the cookie stays small).
    session[SESSION_COMMENT_DRAFT] = {
        "invoice": invoice.number,
        "body": (request.form.get("body") or "")[:MAX_DRAFT_KEPT],
        "errors": [str(error) for error in form.body.errors],
    }
    return redirect(url_for("customer.invoice", number=invoice.number, _anchor="comment-form"), 303)


@bp.post("/invoices/<number>/dispute")
@limiter.limit("10/minute;100/day", key_func=customer_rate_key)
def dispute_invoice(number: str):
    """Mark the invoice disputed with the customer's reason: reminders stop, no late charges accrue meanwhile."""
    customer = require_customer()
    invoice = customer_invoice(customer, number)
    form = DisputeForm()
    if form.validate_on_submit():
        try:
            open_dispute(invoice, customer, form.reason.data, current_contact())
        except DomainError:
            form.reason.errors = [_("This invoice cannot be disputed now.")]
        else:
            db.session.commit()
            flash(
                _(
                    "You disputed this invoice. %(merchant)s will look into it and answer here.",
                    merchant=customer.merchant.name,
                ),
                "success",
            )
            return redirect(url_for("customer.invoice", number=invoice.number, _anchor="dispute"), 303)
    return _invoice_response(customer, invoice, CommentForm(formdata=None), status=400, dispute_form=form)


@bp.get("/credit-notes/<number>")
def credit_note(number: str):
    """Show a credit note beside the invoice it corrects."""
    customer = require_customer()
    note = customer_credit_note(customer, number)
    show_in_document_language(note.document_language)
    html = render_template(
        "customer/credit_note.html",
        merchant=customer.merchant,
        customer=customer,
        note=note,
        invoice=note.invoice,
        doc=credit_note_view(note),
        ubl_available=ubl_available(note),
    )
    return _no_store(Response(html))


# -- Assets ------------------------------------------------------------------------------------


@bp.get("/brand.css")
def brand_stylesheet():
    """Serve the merchant's colours (the signed-in customer's, else this browser's last) as CSS custom properties."""
    merchant = PortalChrome().merchant
    css = brand_css(merchant) if merchant else ""
    response = Response(css, mimetype="text/css")
    # The URL carries a hash of the colours, so a change of brand gets a new URL.
    response.headers["Cache-Control"] = "private, max-age=86400"
    response.headers["Vary"] = "Cookie"
    return response


@bp.get("/theme/<name>/<path:filename>")
def theme_asset(name: str, filename: str):
    """Serve a stylesheet or image from a theme folder."""
    if name not in available_themes() or Path(filename).suffix.lower() not in THEME_ASSET_SUFFIXES:
        abort(404)
    path = theme_file(name, filename)
    if path is None:
        abort(404)
    return _small_file(path)


@bp.get("/assets/<path:filename>")
def asset(filename: str):
    """Serve the portal's own stylesheet and script."""
    joined = safe_join(str(STATIC_DIR), filename)
    if joined is None or not Path(joined).is_file():
        abort(404)
    return _small_file(Path(joined))


def _small_file(path: Path) -> Response:
    # Themes and the portal's assets are a few kilobytes: read them whole, let ETags save the transfer.
    mimetype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    response = Response(path.read_bytes(), mimetype=mimetype)
    response.cache_control.public = True
    response.cache_control.max_age = 3600
    response.add_etag()
    return response.make_conditional(request)

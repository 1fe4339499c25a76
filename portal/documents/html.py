"""The Jinja environment of the PDF and mail templates, with locale-aware formatting filters."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import flask_babel
from babel.numbers import format_percent
from flask import current_app
from flask_babel import lazy_gettext as _l
from jinja2 import ChoiceLoader, Environment, FileSystemLoader

from portal.domain.money import Money

_PORTAL_DIR = Path(__file__).resolve().parent.parent
TEMPLATE_FOLDERS = (_PORTAL_DIR / "documents" / "templates", _PORTAL_DIR / "mail" / "templates")
_EXTENSION_KEY = "portal.documents.jinja"

#: The VAT categories (EN 16931 codes) named for readers, on documents and pages alike.
CATEGORY_NAMES = {
    "S": _l("Standard rate"),
    "Z": _l("Zero rated"),
    "E": _l("Exempt"),
    "AE": _l("Reverse charge"),
    "K": _l("Intra-Community supply"),
    "G": _l("Export outside the EU"),
    "O": _l("Not subject to VAT"),
}


#: What a statement line is, by its kind; {reference} is the document's number.
STATEMENT_LINE_LABELS = {
    "invoice": _l("Invoice %(reference)s"),
    "credit_note": _l("Credit note %(reference)s"),
    "late_charges": _l("Late payment charges on invoice %(reference)s"),
    "payment": _l("Payment for invoice %(reference)s"),
    "refund": _l("Refund of a payment for invoice %(reference)s"),
    "late_charges_refunded": _l("Late payment charges refunded, invoice %(reference)s"),
    "void": _l("Invoice %(reference)s cancelled"),
}
#: Credit-balance entries, by their reason.
CREDIT_LINE_LABELS = {
    "overpayment": _l("Overpayment added to your credit balance"),
    "invoice_settled": _l("Payment added to your credit balance"),
    "invoice_void": _l("Payment added to your credit balance"),
    "unallocated": _l("Payment added to your credit balance"),
    "credit_note": _l("Credit note added to your credit balance"),
    "applied": _l("Credit balance used"),
    "refunded": _l("Credit balance refunded"),
    "charged_back": _l("Credit balance charged back"),
}


def statement_line_label(line) -> str:
    """Say what a statement line is, in the current locale."""
    if line.kind == "credit":
        label = str(CREDIT_LINE_LABELS.get(line.detail, CREDIT_LINE_LABELS["unallocated"]))
        return f"{label} ({line.reference})" if line.reference else label
    return str(STATEMENT_LINE_LABELS[line.kind]) % {"reference": line.reference or "—"}


def category_name(code: str) -> str:
    """Name a VAT category code in the current locale."""
    return str(CATEGORY_NAMES.get(code, code))


def format_money(value: Money) -> str:
    """Format an amount for the current locale, e.g. '1.049,86 €' in nl."""
    return flask_babel.format_currency(value.to_decimal(), value.currency)


def format_day(value: date | None) -> str:
    """Format a date for the current locale, e.g. '31 janv. 2026' in fr."""
    return "" if value is None else flask_babel.format_date(value, "medium")


def format_quantity(value: Decimal) -> str:
    """Format a quantity without trailing zeros, e.g. '2,5' in de."""
    return flask_babel.format_decimal(value, format="#,##0.###")


def format_country(code: str | None) -> str:
    """Name a country (ISO 3166 alpha-2) in the current locale, e.g. 'Belgique' for BE in fr."""
    if not code:
        return ""
    return flask_babel.get_locale().territories.get(code, code)


def format_rate(value: Decimal) -> str:
    """Format a rate given in percent as the locale writes it, e.g. '5,5 %' in fr, '21%' in nl."""
    # The locale's own pattern (with its no-break space before % in fr and de), keeping every
    # decimal the rate has: the pages and the PDFs both use this filter.
    return format_percent(Decimal(value).scaleb(-2), locale=flask_babel.get_locale(), decimal_quantization=False)


def environment() -> Environment:
    """Return this app's environment for the PDF and mail templates, built once."""
    env = current_app.extensions.get(_EXTENSION_KEY)
    if env is None:
        # An overlay shares Flask's autoescaping (on for .html) and Flask-Babel's gettext, but has
        # its own loader, so these templates need no blueprint and cannot shadow the portal's.
        env = current_app.jinja_env.overlay(
            loader=ChoiceLoader([FileSystemLoader(str(folder)) for folder in TEMPLATE_FOLDERS])
        )
        env.filters = dict(env.filters)  # the overlay would otherwise add to the portal's filters
        env.filters.update(
            money=format_money, day=format_day, quantity=format_quantity, rate=format_rate, country=format_country
        )
        env.globals = dict(env.globals, category_name=category_name, statement_line_label=statement_line_label)
        current_app.extensions[_EXTENSION_KEY] = env
    return env


def render(template_name: str, **context) -> str:
    """Render a PDF or mail template in the current locale from the given context only."""
    # No context processors: what a PDF shows (and so its fingerprint) depends on its arguments alone.
    return environment().get_template(template_name).render(context)

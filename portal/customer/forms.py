"""Forms of the customer portal; every posted one carries a CSRF token."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, HiddenField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from portal.i18n import LANGUAGE_NAMES
from portal.services.comments import MAX_COMMENT_LENGTH


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class CommentForm(FlaskForm):
    """A question or remark on an invoice, plain text."""

    body = TextAreaField(
        _l("Your message"),
        filters=[_strip],
        validators=[
            DataRequired(message=_l("Write a message first.")),
            Length(max=MAX_COMMENT_LENGTH, message=_l("A message is at most %(max)d characters.")),
        ],
    )


class DisputeForm(FlaskForm):
    """Dispute an invoice, saying why (the reason joins the invoice's comment thread)."""

    reason = TextAreaField(
        _l("What is wrong with this invoice?"),
        filters=[_strip],
        validators=[
            DataRequired(message=_l("Tell us what is wrong first.")),
            Length(max=MAX_COMMENT_LENGTH, message=_l("A message is at most %(max)d characters.")),
        ],
    )


class FreshLinkForm(FlaskForm):
    """Ask for a new portal link by email: to the address on file, or to the one typed when the link named nobody."""

    email = StringField(
        _l("Your email address"),
        filters=[_strip],
        validators=[Optional(), Length(max=254)],
        render_kw={"autocomplete": "email", "type": "email"},
    )


class LanguageForm(FlaskForm):
    """Switch the portal's language."""

    language = SelectField(choices=[SelectChoice(code, name) for code, name in LANGUAGE_NAMES.items()])
    next = HiddenField()


class OverviewFilterForm(FlaskForm):
    """Narrow the overview by status, issue date and number (a GET form: nothing to protect)."""

    class Meta:
        csrf = False

    status = SelectField(
        _l("Show"),
        choices=[
            SelectChoice("", _l("All documents")),
            SelectChoice("open", lazy_pgettext("filter", "Open")),
            SelectChoice("overdue", lazy_pgettext("filter", "Overdue")),
            SelectChoice("paid", lazy_pgettext("filter", "Paid")),
            SelectChoice("void", lazy_pgettext("filter", "Cancelled")),
            SelectChoice("credit_notes", _l("Credit notes")),
        ],
        default="",
        validators=[Optional()],
    )
    issued_from = DateField(_l("Issued from"), validators=[Optional()])
    issued_to = DateField(_l("Issued until"), validators=[Optional()])
    number = StringField(_l("Number"), filters=[_strip], validators=[Optional(), Length(max=32)])


class BillingDetailsForm(FlaskForm):
    """The billing details the customer keeps: printed on documents finalized from now on."""

    company = StringField(_l("Company name"), filters=[_strip], validators=[Optional(), Length(max=200)])
    line1 = StringField(_l("Street and number"), filters=[_strip], validators=[Optional(), Length(max=200)])
    line2 = StringField(_l("Address line 2"), filters=[_strip], validators=[Optional(), Length(max=200)])
    postal_code = StringField(_l("Postal code"), filters=[_strip], validators=[Optional(), Length(max=20)])
    city = StringField(_l("City"), filters=[_strip], validators=[Optional(), Length(max=100)])
    country = SelectField(_l("Country"), choices=[])
    vat_number = StringField(_l("VAT number"), filters=[_strip], validators=[Optional(), Length(max=20)])
    purchase_order = StringField(
        _l("Purchase-order reference for future invoices"), filters=[_strip], validators=[Optional(), Length(max=100)]
    )
    language = SelectField(_l("Language"), choices=[SelectChoice(code, name) for code, name in LANGUAGE_NAMES.items()])


class ContactForm(FlaskForm):
    """A colleague a billing contact adds: they get a link of their own."""

    name = StringField(_l("Name"), filters=[_strip], validators=[DataRequired(), Length(max=200)])
    email = StringField(_l("Email"), filters=[_strip], validators=[DataRequired(), Length(max=254)])
    language = SelectField(_l("Language"), choices=[SelectChoice(code, name) for code, name in LANGUAGE_NAMES.items()])
    role = SelectField(
        _l("Role"),
        choices=[
            SelectChoice("billing", _l("Billing: receives invoices and reminders, may pay")),
            SelectChoice("viewer", _l("Viewer: may only look")),
        ],
    )


class PreferencesForm(FlaskForm):
    """Which mails the reader receives; legally required mail arrives whatever they choose."""

    notify_invoices = BooleanField(_l("Invoices"))
    notify_reminders = BooleanField(_l("Payment reminders"))
    notify_payments = BooleanField(_l("Payment confirmations"))
    notify_statements = BooleanField(_l("Statements of account"))

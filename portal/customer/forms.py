"""Forms of the customer portal; every posted one carries a CSRF token."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, SelectChoice, SelectField, StringField, TextAreaField
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

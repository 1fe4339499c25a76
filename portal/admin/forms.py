"""The admin area's forms; each carries a CSRF token through Flask-WTF."""

from __future__ import annotations

from decimal import Decimal

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    EmailField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, InputRequired, Length, NumberRange, Optional

from portal.domain.errors import DomainError, InvalidAmount
from portal.domain.invoices import Line
from portal.domain.money import Money

LANGUAGE_CHOICES = [
    SelectChoice("en", "English"),
    SelectChoice("fr", "French"),
    SelectChoice("nl", "Dutch"),
    SelectChoice("de", "German"),
]
PAYMENT_METHOD_CHOICES = [
    SelectChoice("bank_transfer", "Bank transfer"),
    SelectChoice("cash", "Cash"),
    SelectChoice("card", "Card"),
    SelectChoice("cheque", "Cheque"),
    SelectChoice("direct_debit", "Direct debit"),
    SelectChoice("other", "Other"),
]


def minor_units(amount: Decimal | None, currency: str, field: str = "amount") -> int:
    """Convert a price typed in major units (12.50) to minor units, refusing more decimals than the currency has."""
    amount = amount or Decimal(0)
    money = Money.from_decimal(amount, currency)
    if money.to_decimal() != amount:
        raise InvalidAmount(f"{currency} amounts have at most {money.exponent} decimals", field)
    return money.minor


def major_units(minor: int, currency: str) -> Decimal:
    """Convert minor units to the major-unit figure a form shows."""
    return Money(minor, currency).to_decimal()


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])


class CustomerForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    email = EmailField("Email", validators=[DataRequired(), Email(check_deliverability=False), Length(max=254)])
    language = SelectField("Language", choices=LANGUAGE_CHOICES, default="en")


class ProductForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    unit_price = DecimalField("Unit price", places=None, validators=[InputRequired(), NumberRange(min=0)])
    currency = StringField("Currency", default="EUR", validators=[DataRequired(), Length(min=3, max=3)])
    tax_rate = DecimalField(
        "Tax rate (%)", places=None, default=Decimal("21"), validators=[InputRequired(), NumberRange(min=0, max=100)]
    )


#: The form's names for the domain's line fields, where they differ.
LINE_FIELDS = {"unit_amount": "unit_price"}


class LineForm(Form):
    """One invoice line; a sub-form, so it has no CSRF token of its own."""

    product_id = SelectField("Product", choices=[], validate_choice=False, default="")
    description = StringField("Description", validators=[Optional(), Length(max=500)])
    quantity = DecimalField("Qty", places=None, default=Decimal("1"), validators=[Optional(), NumberRange(min=0)])
    unit_price = DecimalField("Unit price", places=None, validators=[Optional(), NumberRange(min=0)])
    tax_rate = DecimalField(
        "Tax %", places=None, default=Decimal("0"), validators=[Optional(), NumberRange(min=0, max=100)]
    )
    discount_percent = DecimalField(
        "Disc. %", places=None, default=Decimal("0"), validators=[Optional(), NumberRange(min=0, max=100)]
    )

    @property
    def is_blank(self) -> bool:
        """Tell whether the row was left empty (the editor always offers a spare row)."""
        return not (self.description.data or "").strip() and self.unit_price.data is None


class InvoiceForm(FlaskForm):
    customer_id = SelectField("Customer", coerce=int, validators=[InputRequired()])
    currency = StringField("Currency", default="EUR", validators=[DataRequired(), Length(min=3, max=3)])
    issue_date = DateField("Issue date", validators=[InputRequired()])
    due_date = DateField("Due date", validators=[InputRequired()])
    lines = FieldList(FormField(LineForm), min_entries=1)
    discount_percent = DecimalField(
        "Invoice discount (%)", places=None, default=Decimal("0"), validators=[Optional(), NumberRange(min=0, max=100)]
    )
    notes = TextAreaField("Notes", validators=[Optional(), Length(max=5000)])
    terms = TextAreaField("Terms (leave empty for your default terms)", validators=[Optional(), Length(max=10000)])

    def domain_lines(self) -> list[Line]:
        """Return the filled-in rows as the domain's lines; a refused row is marked and named in the error."""
        currency = (self.currency.data or "").upper()
        lines = []
        for number, row in enumerate((row for row in self.lines if not row.form.is_blank), start=1):
            values = row.form
            try:
                lines.append(
                    Line(
                        description=(values.description.data or "").strip(),
                        quantity=values.quantity.data if values.quantity.data is not None else Decimal("1"),
                        unit_amount=minor_units(values.unit_price.data, currency, "unit_price"),
                        tax_rate=values.tax_rate.data or Decimal(0),
                        discount_percent=values.discount_percent.data or Decimal(0),
                    )
                )
            except DomainError as exc:
                field = getattr(values, LINE_FIELDS.get(exc.field, exc.field or ""), None)
                if field is not None:
                    field.errors = [exc.message]
                raise DomainError(f"Line {number}: {exc.message}") from None
        return lines

    def draft_fields(self) -> dict:
        """Return what the draft services take from the editor, besides the customer."""
        return {
            "currency": self.currency.data.upper(),
            "issue_date": self.issue_date.data,
            "due_date": self.due_date.data,
            "lines": self.domain_lines(),
            "discount_percent": self.discount_percent.data or Decimal(0),
            "notes": self.notes.data or None,
            "terms": self.terms.data or None,
        }


class PaymentForm(FlaskForm):
    amount = DecimalField("Amount", places=None, validators=[InputRequired(), NumberRange(min=0)])
    paid_on = DateField("Paid on", validators=[InputRequired()])
    method = SelectField("Method", choices=PAYMENT_METHOD_CHOICES, default="bank_transfer")
    reference = StringField("Reference", validators=[Optional(), Length(max=200)])


class CreditNoteForm(FlaskForm):
    description = StringField("Description", validators=[DataRequired(), Length(max=500)])
    amount = DecimalField("Amount (before tax)", places=None, validators=[InputRequired(), NumberRange(min=0)])
    tax_rate = DecimalField(
        "Tax rate (%)", places=None, default=Decimal("0"), validators=[InputRequired(), NumberRange(min=0, max=100)]
    )
    issue_date = DateField("Date", validators=[Optional()])
    reason = TextAreaField("Reason", validators=[Optional(), Length(max=2000)])


class ReplyForm(FlaskForm):
    body = TextAreaField("Reply", validators=[DataRequired(), Length(max=2000)])


class ChargeForm(FlaskForm):
    description = StringField("Description", validators=[DataRequired(), Length(max=500)])
    charged_on = DateField("Date", validators=[InputRequired()])
    quantity = DecimalField(
        "Quantity", places=None, default=Decimal("1"), validators=[InputRequired(), NumberRange(min=0)]
    )
    unit_price = DecimalField("Unit price", places=None, validators=[InputRequired(), NumberRange(min=0)])
    tax_rate = DecimalField(
        "Tax %", places=None, default=Decimal("21"), validators=[InputRequired(), NumberRange(min=0, max=100)]
    )


class RecurringLineForm(FlaskForm):
    description = StringField("Description", validators=[DataRequired(), Length(max=500)])
    quantity = DecimalField(
        "Quantity", places=None, default=Decimal("1"), validators=[InputRequired(), NumberRange(min=0)]
    )
    unit_price = DecimalField("Unit price", places=None, validators=[InputRequired(), NumberRange(min=0)])
    tax_rate = DecimalField(
        "Tax %", places=None, default=Decimal("21"), validators=[InputRequired(), NumberRange(min=0, max=100)]
    )


class BillingCycleForm(FlaskForm):
    active = BooleanField("Bill this customer every month")
    day_of_month = IntegerField("Billing day (1–28)", default=1, validators=[InputRequired(), NumberRange(1, 28)])
    payment_days = IntegerField("Payment terms (days)", default=30, validators=[InputRequired(), NumberRange(0, 365)])
    auto_send = BooleanField("Finalize and send automatically (otherwise a draft waits for review)")


class BrandingForm(FlaskForm):
    # The service checks the #rrggbb shape, with the message staff see.
    primary_color = StringField("Primary colour", validators=[DataRequired()])
    accent_color = StringField("Accent colour", validators=[DataRequired()])
    theme = SelectField("Theme", choices=[])
    terms = TextAreaField("Default terms of service", validators=[Optional(), Length(max=10000)])


class LogoForm(FlaskForm):
    logo = FileField("Logo (PNG, JPEG or WebP, at most 1 MB)", validators=[FileRequired("Choose a file to upload")])


class LateFeeForm(FlaskForm):
    annual_rate = DecimalField(
        "Yearly interest (%)",
        places=None,
        default=Decimal("0"),
        validators=[InputRequired(), NumberRange(min=0, max=100)],
    )
    fee_percent = DecimalField(
        "Late fee (% of the outstanding amount)",
        places=None,
        default=Decimal("0"),
        validators=[InputRequired(), NumberRange(min=0, max=100)],
    )
    fee_minimum = DecimalField(
        "Minimum fee", places=None, default=Decimal("0"), validators=[InputRequired(), NumberRange(min=0)]
    )
    grace_days = IntegerField("Grace days", default=0, validators=[InputRequired(), NumberRange(0, 365)])


class StaffForm(FlaskForm):
    name = StringField("Name", validators=[Optional(), Length(max=200)])
    email = EmailField("Email", validators=[DataRequired(), Email(check_deliverability=False), Length(max=254)])
    password = PasswordField("Initial password (at least 10 characters)", validators=[DataRequired(), Length(max=200)])


class PasswordForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[DataRequired()])
    new_password = PasswordField("New password (at least 10 characters)", validators=[DataRequired(), Length(max=200)])


class ApiKeyForm(FlaskForm):
    name = StringField("Name", default="default", validators=[DataRequired(), Length(max=100)])


class ReadyNotificationForm(FlaskForm):
    enabled = BooleanField("Email each invoice to its customer as soon as it is finalized")


class EmailTemplateForm(FlaskForm):
    """One language's invoice mail; the page posts a plain `language` field beside the prefixed ones."""

    subject = StringField("Subject", validators=[DataRequired(), Length(max=300)])
    body = TextAreaField("Body", validators=[DataRequired(), Length(max=10000)])


class ProviderForm(FlaskForm):
    """One provider's settings; the page posts a plain `provider` field beside the prefixed ones."""

    enabled = BooleanField("Offer this provider to customers")
    api_key = PasswordField("API key (leave empty to keep the stored one)", validators=[Optional(), Length(max=300)])
    webhook_secret = PasswordField(
        "Webhook signing secret (Stripe; leave empty to keep)", validators=[Optional(), Length(max=300)]
    )


class AttachmentForm(FlaskForm):
    file = FileField(
        "File (PDF, image or office document, at most 10 MB)", validators=[FileRequired("Choose a file to attach")]
    )

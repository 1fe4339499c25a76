"""The admin area's forms; each carries a CSRF token through Flask-WTF."""

from __future__ import annotations

from decimal import Decimal

import pycountry
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired, FileSize
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
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, InputRequired, Length, NumberRange, Optional

from portal.domain.errors import DomainError, InvalidAmount
from portal.domain.invoices import Line
from portal.domain.money import Money
from portal.domain.parties import Address, check_address

LANGUAGE_CHOICES = [
    SelectChoice("en", "English"),
    SelectChoice("fr", "French"),
    SelectChoice("nl", "Dutch"),
    SelectChoice("de", "German"),
]
#: "" lets the domain choose: S for a positive rate, Z at 0 % (as the API does when the category is left out).
TAX_CATEGORY_CHOICES = [
    SelectChoice("", "Auto (S, or Z at 0 %)"),
    SelectChoice("S", "S – standard rate"),
    SelectChoice("Z", "Z – zero rated"),
    SelectChoice("E", "E – exempt"),
    SelectChoice("AE", "AE – reverse charge"),
    SelectChoice("K", "K – intra-Community supply"),
    SelectChoice("G", "G – export outside the EU"),
    SelectChoice("O", "O – not subject to VAT"),
]
COUNTRY_CHOICES = [SelectChoice("", "—")] + sorted(
    (SelectChoice(country.alpha_2, country.name) for country in pycountry.countries), key=lambda choice: choice.label
)
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


class AtMost(Length):
    """At most max characters, said in the error; unlike Length, no maxlength attribute that cuts text silently."""

    def __init__(self, max: int) -> None:
        super().__init__(max=max, message=f"At most {max:,} characters.")
        self.field_flags = {}
        #: Shown beside the field, so the limit is known before the error.
        self.character_limit = max


class AddressForm(Form):
    """A postal address; a sub-form (FormField) so its errors land beside its fields (address.city)."""

    line1 = StringField("Street and number", validators=[Optional(), AtMost(200)])
    line2 = StringField("Address line 2", validators=[Optional(), AtMost(200)])
    postal_code = StringField("Postal code", validators=[Optional(), AtMost(20)])
    city = StringField("City", validators=[Optional(), AtMost(100)])
    country = SelectField("Country", choices=COUNTRY_CHOICES, default="")

    def address(self) -> Address | None:
        """Return the address checked by the domain (None when left empty)."""
        return check_address(
            line1=self.line1.data,
            line2=self.line2.data,
            postal_code=self.postal_code.data,
            city=self.city.data,
            country=self.country.data,
        )

    @classmethod
    def data_of(cls, address: Address | None) -> dict:
        """Return the sub-form's initial data for an address."""
        return address.to_json() if address else {}


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), AtMost(254)])
    password = PasswordField("Password", validators=[DataRequired(), AtMost(200)])


class CustomerFields(Form):
    """Who a customer is: shared by the customer form and the invoice editor's "new customer"."""

    name = StringField("Name", validators=[Optional(), AtMost(200)])
    email = EmailField("Email", validators=[Optional(), Email(check_deliverability=False), AtMost(254)])
    language = SelectField("Language", choices=LANGUAGE_CHOICES, default="en")
    company = StringField("Company (legal name, when a business)", validators=[Optional(), AtMost(200)])
    address = FormField(AddressForm)
    vat_number = StringField("VAT number (with country prefix, e.g. BE0477472701)", validators=[Optional(), AtMost(30)])
    company_number = StringField("Company number", validators=[Optional(), AtMost(60)])
    phone = StringField("Phone", validators=[Optional(), AtMost(40)])
    consumer = BooleanField("Consumer: a private person, not a business (the Belgian B2C preset applies)")
    reminders_paused = BooleanField("Pause payment reminders for all of this customer's invoices")

    def require_contact(self) -> bool:
        """Mark a missing name or email; return whether both are there."""
        ok = True
        for field, message in ((self.name, "Enter the customer's name."), (self.email, "Enter an email address.")):
            if not (field.data or "").strip():
                field.errors = [*field.errors, message]
                ok = False
        return ok and not self.errors

    def values(self) -> dict:
        """Return what the customer services take."""
        return {
            "name": self.name.data or "",
            "email": self.email.data or "",
            "language": self.language.data,
            "company": self.company.data,
            "address": self.address.form.address(),
            "vat_number": self.vat_number.data,
            "company_number": self.company_number.data,
            "phone": self.phone.data,
            "consumer": bool(self.consumer.data),
            "reminders_paused": bool(self.reminders_paused.data),
        }

    @staticmethod
    def data_of(customer) -> dict:
        """Return the fields' initial data for a customer."""
        return {
            "name": customer.name,
            "email": customer.email,
            "language": customer.language,
            "company": customer.company,
            "address": AddressForm.data_of(customer.address),
            "vat_number": customer.vat_number,
            "company_number": customer.company_number,
            "phone": customer.phone,
            "consumer": customer.consumer,
            "reminders_paused": customer.reminders_paused,
        }


class CustomerForm(CustomerFields, FlaskForm):
    """The customer form: the shared fields, with name and email required."""

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        return self.require_contact() and valid


class CompanyForm(FlaskForm):
    """The merchant's legal identity (Settings → Company)."""

    name = StringField(
        "Trading name (shown in the portal and as the sender of mails)", validators=[Optional(), AtMost(200)]
    )
    legal_name = StringField("Legal name", validators=[DataRequired(), AtMost(200)])
    address = FormField(AddressForm)
    vat_number = StringField("VAT number (with country prefix, e.g. BE0477472701)", validators=[Optional(), AtMost(30)])
    company_number = StringField(
        "Company number (e.g. enterprise number, SIREN, KvK)", validators=[Optional(), AtMost(60)]
    )
    email = EmailField("Email", validators=[DataRequired(), Email(check_deliverability=False), AtMost(254)])
    phone = StringField("Phone", validators=[Optional(), AtMost(40)])
    website = StringField("Website", validators=[Optional(), AtMost(200)])
    iban = StringField("IBAN", validators=[Optional(), AtMost(42)])
    bic = StringField("BIC", validators=[Optional(), AtMost(11)])


class ProductForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), AtMost(200)])
    unit_price = DecimalField("Unit price", places=None, validators=[InputRequired(), NumberRange(min=0)])
    currency = StringField("Currency", default="EUR", validators=[DataRequired(), Length(min=3, max=3)])
    tax_rate = DecimalField(
        "Tax rate (%)", places=None, default=Decimal("21"), validators=[InputRequired(), NumberRange(min=0, max=100)]
    )
    tax_category = SelectField("VAT category", choices=TAX_CATEGORY_CHOICES, default="")


#: The form's names for the domain's line fields, where they differ.
LINE_FIELDS = {"unit_amount": "unit_price"}


class LineForm(Form):
    """One invoice line; a sub-form, so it has no CSRF token of its own."""

    product_id = SelectField("Product", choices=[], validate_choice=False, default="")
    # No length validator: the domain says "at most 500 characters" (a maxlength would cut text silently).
    description = StringField("Description", validators=[Optional()])
    quantity = DecimalField("Qty", places=None, default=Decimal("1"), validators=[Optional(), NumberRange(min=0)])
    unit_price = DecimalField("Unit price", places=None, validators=[Optional(), NumberRange(min=0)])
    tax_rate = DecimalField(
        "Tax %", places=None, default=Decimal("0"), validators=[Optional(), NumberRange(min=0, max=100)]
    )
    tax_category = SelectField("VAT", choices=TAX_CATEGORY_CHOICES, default="")
    discount_percent = DecimalField(
        "Disc. %", places=None, default=Decimal("0"), validators=[Optional(), NumberRange(min=0, max=100)]
    )
    #: In major units, taken off after the percentage; the domain refuses more than the line comes to.
    discount_fixed = DecimalField("Disc. amount", places=None, validators=[Optional(), NumberRange(min=0)])

    @property
    def is_blank(self) -> bool:
        """Tell whether the row was left empty (the editor always offers a spare row)."""
        return not (self.description.data or "").strip() and self.unit_price.data is None

    def missing(self) -> tuple[str, str] | None:
        """Return (field, message) for the first value a filled-in row lacks, as the API requires them."""
        if self.unit_price.data is None:
            return "unit_price", "Enter a unit price (0 for a free item)"
        if self.quantity.data is None:
            return "quantity", "Enter a quantity"
        if self.tax_rate.data is None:
            return "tax_rate", "Enter a tax rate (0 when no VAT is charged)"
        return None


#: The editor's customer choice that creates the customer from the "New customer" fields.
NEW_CUSTOMER = 0


class InvoiceForm(FlaskForm):
    customer_id = SelectField("Customer", coerce=int, validators=[InputRequired()])
    new_customer = FormField(CustomerFields)
    supply_date = DateField("Supply date (leave empty: the issue date)", validators=[Optional()])
    currency = StringField("Currency", default="EUR", validators=[DataRequired(), Length(min=3, max=3)])
    issue_date = DateField("Issue date", validators=[InputRequired()])
    due_date = DateField("Due date", validators=[InputRequired()])
    lines = FieldList(FormField(LineForm), min_entries=1)
    discount_percent = DecimalField(
        "Invoice discount (%)", places=None, default=Decimal("0"), validators=[Optional(), NumberRange(min=0, max=100)]
    )
    discount_fixed = DecimalField(
        "Invoice discount (amount, after the %; spread over the tax rates)",
        places=None,
        validators=[Optional(), NumberRange(min=0)],
    )
    notes = TextAreaField("Notes", validators=[Optional(), AtMost(5000)])
    terms = TextAreaField("Terms (leave empty for your default terms)", validators=[Optional(), AtMost(10000)])
    #: Wording replacing the legal default for a category's "why no VAT" mention, on this invoice only.
    reason_E = StringField("Exempt (E)", validators=[Optional(), AtMost(300)])  # noqa: N815
    reason_AE = StringField("Reverse charge (AE)", validators=[Optional(), AtMost(300)])  # noqa: N815
    reason_K = StringField("Intra-Community supply (K)", validators=[Optional(), AtMost(300)])  # noqa: N815
    reason_G = StringField("Export outside the EU (G)", validators=[Optional(), AtMost(300)])  # noqa: N815
    reason_O = StringField("Not subject to VAT (O)", validators=[Optional(), AtMost(300)])  # noqa: N815

    REASON_CODES = ("E", "AE", "K", "G", "O")

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if self.customer_id.data == NEW_CUSTOMER:
            return self.new_customer.form.require_contact() and valid
        return valid

    def domain_lines(self) -> list[Line]:
        """Return the filled-in rows as the domain's lines; a refused row is marked and named in the error.

        A row with a description needs a price, quantity and rate, as the API requires them: no row is
        ever saved as an empty 0.00 line.
        """
        currency = (self.currency.data or "").upper()
        lines = []
        for number, row in enumerate((row for row in self.lines if not row.form.is_blank), start=1):
            values = row.form
            try:
                missing = values.missing()
                if missing is not None:
                    raise InvalidAmount(missing[1], missing[0])
                lines.append(
                    Line(
                        description=(values.description.data or "").strip(),
                        quantity=values.quantity.data,
                        unit_amount=minor_units(values.unit_price.data, currency, "unit_price"),
                        tax_rate=values.tax_rate.data,
                        discount_percent=values.discount_percent.data or Decimal(0),
                        discount_fixed=minor_units(values.discount_fixed.data, currency, "discount_fixed"),
                        tax_category=values.tax_category.data or None,
                    )
                )
            except DomainError as exc:
                field = getattr(values, LINE_FIELDS.get(exc.field, exc.field or ""), None)
                if field is not None:
                    field.errors = [exc.message]
                raise DomainError(f"Line {number}: {exc.message}") from None
        return lines

    def invoice_discount_fixed(self) -> int:
        """Return the invoice's fixed discount in minor units, marking the field when it is refused."""
        try:
            return minor_units(self.discount_fixed.data, (self.currency.data or "").upper(), "discount_fixed")
        except DomainError as exc:
            self.discount_fixed.errors = [exc.message]
            raise

    def draft_fields(self) -> dict:
        """Return what the draft services take from the editor, besides the customer."""
        return {
            "currency": self.currency.data.upper(),
            "issue_date": self.issue_date.data,
            "due_date": self.due_date.data,
            "lines": self.domain_lines(),
            "discount_percent": self.discount_percent.data or Decimal(0),
            "discount_fixed": self.invoice_discount_fixed(),
            "notes": self.notes.data or None,
            "terms": self.terms.data or None,
            "supply_date": self.supply_date.data,
            "exemption_reasons": {code: getattr(self, f"reason_{code}").data for code in self.REASON_CODES},
        }


class PaymentForm(FlaskForm):
    amount = DecimalField("Amount", places=None, validators=[InputRequired(), NumberRange(min=0)])
    paid_on = DateField("Paid on", validators=[InputRequired()])
    method = SelectField("Method", choices=PAYMENT_METHOD_CHOICES, default="bank_transfer")
    reference = StringField("Reference", validators=[Optional(), AtMost(200)])
    surplus_to_credit = BooleanField("More than the outstanding amount arrived: put the rest on the credit balance")


class RefundForm(FlaskForm):
    """Refund (part of) one payment."""

    amount = DecimalField("Amount", places=None, validators=[Optional(), NumberRange(min=0)])
    note = StringField("Note", validators=[Optional(), AtMost(200)])


class ApplyCreditForm(FlaskForm):
    """Pay one of the customer's open invoices from their credit balance."""

    invoice_id = SelectField("Invoice", coerce=int, validate_choice=False)
    amount = DecimalField("Amount", places=None, validators=[Optional(), NumberRange(min=0)])


class RefundCreditForm(FlaskForm):
    """Give credit back: through the provider it came with, or record that staff sent it back by hand."""

    source = SelectField("How", validate_choice=False)
    currency = SelectField("Currency", validate_choice=False)
    amount = DecimalField("Amount", places=None, validators=[InputRequired(), NumberRange(min=0)])
    note = StringField("Note", validators=[Optional(), AtMost(200)])


class CreditNoteForm(FlaskForm):
    description = StringField("Description", validators=[DataRequired()])
    amount = DecimalField("Amount (before tax)", places=None, validators=[InputRequired(), NumberRange(min=0)])
    tax_rate = DecimalField(
        "Tax rate (%)", places=None, default=Decimal("0"), validators=[InputRequired(), NumberRange(min=0, max=100)]
    )
    tax_category = SelectField("VAT category", choices=TAX_CATEGORY_CHOICES, default="")
    issue_date = DateField("Date", validators=[Optional()])
    reason = TextAreaField("Reason", validators=[Optional(), AtMost(2000)])
    remainder_to_credit = BooleanField("Credit to balance: money already paid beyond what the invoice still needs")


class ReplyForm(FlaskForm):
    body = TextAreaField("Reply", validators=[DataRequired(), AtMost(2000)])


class ChargeForm(FlaskForm):
    description = StringField("Description", validators=[DataRequired()])
    charged_on = DateField("Date", validators=[InputRequired()])
    quantity = DecimalField(
        "Quantity", places=None, default=Decimal("1"), validators=[InputRequired(), NumberRange(min=0)]
    )
    unit_price = DecimalField("Unit price", places=None, validators=[InputRequired(), NumberRange(min=0)])
    tax_rate = DecimalField(
        "Tax %", places=None, default=Decimal("21"), validators=[InputRequired(), NumberRange(min=0, max=100)]
    )
    tax_category = SelectField("VAT category", choices=TAX_CATEGORY_CHOICES, default="")


class RecurringLineForm(FlaskForm):
    description = StringField("Description", validators=[DataRequired()])
    quantity = DecimalField(
        "Quantity", places=None, default=Decimal("1"), validators=[InputRequired(), NumberRange(min=0)]
    )
    unit_price = DecimalField("Unit price", places=None, validators=[InputRequired(), NumberRange(min=0)])
    tax_rate = DecimalField(
        "Tax %", places=None, default=Decimal("21"), validators=[InputRequired(), NumberRange(min=0, max=100)]
    )
    tax_category = SelectField("VAT category", choices=TAX_CATEGORY_CHOICES, default="")


class BillingCycleForm(FlaskForm):
    active = BooleanField("Bill this customer every month")
    day_of_month = IntegerField("Billing day (1–28)", default=1, validators=[InputRequired(), NumberRange(1, 28)])
    payment_days = IntegerField("Payment terms (days)", default=30, validators=[InputRequired(), NumberRange(0, 365)])
    auto_send = BooleanField("Finalize and send automatically (otherwise a draft waits for review)")


class AdminContactForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), AtMost(200)])
    email = StringField("Email", validators=[DataRequired(), AtMost(254)])
    language = SelectField(
        "Language",
        choices=[
            SelectChoice("en", "English"),
            SelectChoice("fr", "French"),
            SelectChoice("nl", "Dutch"),
            SelectChoice("de", "German"),
        ],
    )
    role = SelectField(
        "Role",
        choices=[
            SelectChoice("billing", "Billing (receives invoices, may pay)"),
            SelectChoice("viewer", "Viewer (may only look)"),
        ],
    )


class StatementForm(FlaskForm):
    start = DateField("From", validators=[InputRequired()])
    end = DateField("To", validators=[InputRequired()])


class MonthlyStatementForm(FlaskForm):
    monthly_statement = BooleanField("Mail a statement of account for each past month")


class BrandingForm(FlaskForm):
    # The service checks the #rrggbb shape, with the message staff see.
    primary_color = StringField("Primary colour", validators=[DataRequired()])
    accent_color = StringField("Accent colour", validators=[DataRequired()])
    theme = SelectField("Theme", choices=[])
    terms = TextAreaField("Default terms of service", validators=[Optional(), AtMost(10000)])


class InvoiceDefaultsForm(FlaskForm):
    default_tax_rate = DecimalField(
        "Default tax rate (%)", places=None, validators=[Optional(), NumberRange(min=0, max=100)]
    )


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


#: The roles staff can be given, with what each may do (portal/admin/roles.py enforces it).
STAFF_ROLE_CHOICES = [
    SelectChoice("owner", "Owner: everything, including settings, API keys and staff"),
    SelectChoice("accountant", "Accountant: invoices, payments, customers, bank and exports; no settings"),
    SelectChoice("viewer", "Viewer: read only"),
]


class StaffForm(FlaskForm):
    name = StringField("Name", validators=[Optional(), AtMost(200)])
    email = EmailField("Email", validators=[DataRequired(), Email(check_deliverability=False), AtMost(254)])
    password = PasswordField("Initial password (at least 10 characters)", validators=[DataRequired(), AtMost(200)])
    role = SelectField("Role", choices=STAFF_ROLE_CHOICES, default="accountant")


class StaffRoleForm(FlaskForm):
    role = SelectField("Role", choices=STAFF_ROLE_CHOICES)


class PasswordForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[DataRequired()])
    new_password = PasswordField("New password (at least 10 characters)", validators=[DataRequired(), AtMost(200)])


class ApiKeyForm(FlaskForm):
    name = StringField("Name", default="default", validators=[DataRequired(), AtMost(100)])


class ReadyNotificationForm(FlaskForm):
    enabled = BooleanField("Email each invoice to its customer as soon as it is finalized")


class MailAttachmentsForm(FlaskForm):
    ubl = BooleanField("Attach the e-invoice (UBL XML, Peppol BIS Billing 3.0) to invoice emails as well")


class ReminderSettingsForm(FlaskForm):
    """Settings → Reminders: on or off, up to five steps, the Belgian B2C preset."""

    enabled = BooleanField("Send payment reminders")
    step_1 = IntegerField("Step 1", validators=[Optional(), NumberRange(-60, 365)])
    step_2 = IntegerField("Step 2", validators=[Optional(), NumberRange(-60, 365)])
    step_3 = IntegerField("Step 3", validators=[Optional(), NumberRange(-60, 365)])
    step_4 = IntegerField("Step 4", validators=[Optional(), NumberRange(-60, 365)])
    step_5 = IntegerField("Step 5", validators=[Optional(), NumberRange(-60, 365)])
    consumer_preset = BooleanField("Belgian B2C preset (Code of Economic Law, Book XIX) for consumer customers")
    legal_interest_rate = DecimalField(
        "Legal interest rate (%)",
        places=None,
        default=Decimal("0"),
        validators=[InputRequired(), NumberRange(min=0, max=100)],
    )

    STEP_FIELDS = ("step_1", "step_2", "step_3", "step_4", "step_5")

    def offsets(self) -> list[int]:
        """Return the steps filled in."""
        return [self[name].data for name in self.STEP_FIELDS if self[name].data is not None]


class SelfServiceForm(FlaskForm):
    approval = BooleanField("Billing details changed by a customer wait for staff approval")
    viewers_read_only = BooleanField("Contacts with the viewer role may not pay or comment")


class EmailTemplateForm(FlaskForm):
    """One language's invoice mail; the page posts a plain `language` field beside the prefixed ones."""

    subject = StringField("Subject", validators=[DataRequired(), AtMost(300)])
    body = TextAreaField("Body", validators=[DataRequired(), AtMost(10000)])


class ProviderForm(FlaskForm):
    """One provider's settings; the page posts a plain `provider` field beside the prefixed ones."""

    enabled = BooleanField("Offer this provider to customers")
    api_key = PasswordField("API key (leave empty to keep the stored one)", validators=[Optional(), AtMost(300)])
    webhook_secret = PasswordField(
        "Webhook signing secret (Stripe; leave empty to keep)", validators=[Optional(), AtMost(300)]
    )


class SmsForm(FlaskForm):
    """The merchant's Twilio account, for invoices and reminders by text message."""

    enabled = BooleanField("Send text messages")
    account_sid = StringField("Twilio Account SID", validators=[InputRequired(), AtMost(64)])
    auth_token = PasswordField("Auth token (leave empty to keep the stored one)", validators=[Optional(), AtMost(64)])
    sender = StringField(
        "Send from (a Twilio number such as +32 460 20 00 00, or a Messaging Service SID)",
        validators=[InputRequired(), AtMost(64)],
    )


class AttachmentForm(FlaskForm):
    file = FileField(
        "File (PDF, image or office document, at most 10 MB)", validators=[FileRequired("Choose a file to attach")]
    )


#: An uploaded statement is at most this large (a month of a busy account is a few megabytes).
MAX_STATEMENT_UPLOAD_BYTES = 10 * 1024 * 1024


class StatementImportForm(FlaskForm):
    file = FileField(
        "Bank statement (CAMT.053 or CAMT.054 XML, at most 10 MB)",
        validators=[
            FileRequired("Choose a statement to import"),
            FileSize(MAX_STATEMENT_UPLOAD_BYTES, message="A statement is at most 10 MB"),
        ],
    )


class BankMatchForm(FlaskForm):
    invoice_number = StringField("Invoice number", validators=[DataRequired("Enter an invoice number"), AtMost(32)])


class WebhookEndpointForm(FlaskForm):
    url = StringField("URL", validators=[DataRequired(), AtMost(2048)])
    description = StringField("Description", validators=[Optional(), AtMost(500)])
    #: The event types to post; none chosen means every type.
    events = SelectMultipleField("Events", choices=[], validate_choice=True)

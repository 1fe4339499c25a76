"""Request and response shapes of the JSON API; the OpenAPI document is built from them."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

import pycountry
from babel.numbers import list_currencies
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    WithJsonSchema,
)


def _decimal(value: Any) -> Decimal:
    # JSON is parsed with parse_float=Decimal, so no float ever reaches this point.
    if isinstance(value, bool) or not isinstance(value, (int, Decimal, str)):
        raise ValueError("must be a decimal number or a string holding one")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ValueError("must be a decimal number or a string holding one") from None
    if not number.is_finite():
        raise ValueError("must be a finite number")
    return number


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date(value: Any) -> date:
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        raise ValueError("must be a date as YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError("must be a real calendar date as YYYY-MM-DD") from None


DecimalValue = Annotated[
    Decimal,
    BeforeValidator(_decimal),
    WithJsonSchema(
        {"type": ["number", "string"], "description": "A decimal number; send a string to keep every digit."}
    ),
]
Percent = Annotated[DecimalValue, Field(ge=0, le=100)]


def _decimal_schema(pattern: str, minimum: int, maximum: int, description: str) -> WithJsonSchema:
    """State a decimal's real limits: an integer in range, or a string of the allowed digits."""
    return WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": minimum, "maximum": maximum},
                {"type": "string", "pattern": pattern},
            ],
            "description": description + " Send a string to keep every digit.",
        }
    )


def percent(places: int) -> Any:
    """Return the type of a percentage from 0 to 100 with at most `places` decimals."""
    return Annotated[
        Decimal,
        BeforeValidator(_decimal),
        Field(ge=0, le=100, decimal_places=places),
        _decimal_schema(
            rf"^(100(\.0{{1,{places}}})?|[1-9]?[0-9](\.[0-9]{{1,{places}}})?)$",
            0,
            100,
            f"A percentage from 0 to 100, at most {places} decimals.",
        ),
    ]


#: A line's quantity: more than 0, at most 1,000,000, at most 3 decimals.
Quantity = Annotated[
    Decimal,
    BeforeValidator(_decimal),
    Field(gt=0, le=1_000_000, decimal_places=3),
    _decimal_schema(
        r"^([1-9][0-9]{0,5}(\.[0-9]{1,3})?|0\.[0-9]{0,2}[1-9])$",
        1,
        1_000_000,
        "More than 0, at most 1,000,000, at most 3 decimals.",
    ),
]
IsoDate = Annotated[date, BeforeValidator(_iso_date), WithJsonSchema({"type": "string", "format": "date"})]
MinorAmount = Annotated[StrictInt, Field(ge=0, le=10**12, description="Integer amount in the currency's minor unit")]
FixedDiscount = Annotated[
    StrictInt,
    Field(
        ge=0,
        le=10**12,
        description=(
            "A fixed amount off, in the currency's minor unit, taken after discount_percent; at most what it"
            " applies to (else 422). On the invoice it is spread over the tax rates in proportion to their bases."
        ),
    ),
]
PositiveAmount = Annotated[StrictInt, Field(gt=0, le=10**12, description="Integer amount in the currency's minor unit")]
Currency = Annotated[
    StrictStr,
    Field(pattern=r"^[A-Z]{3}$"),
    WithJsonSchema({"type": "string", "enum": sorted(list_currencies()), "description": "ISO 4217 code"}),
]
Language = Literal["en", "fr", "nl", "de"]
#: Every ISO 3166 alpha-2 code (the document states them all; the check is the domain's).
COUNTRY_CODES = sorted(country.alpha_2 for country in pycountry.countries)
Id = Annotated[StrictInt, Field(gt=0, le=2**31 - 1)]
ShortText = Annotated[StrictStr, Field(max_length=2000)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- requests -----------------------------------------------------------------------------


TaxCategoryCode = Literal["S", "Z", "E", "AE", "K", "G", "O"]
ExemptCategoryCode = Literal["E", "AE", "K", "G", "O"]
OptionalText = Annotated[StrictStr, Field(max_length=200)] | None
VatNumber = Annotated[
    StrictStr, Field(max_length=30, description="With its country prefix, e.g. BE0477472701; check digits verified")
]
CompanyNumber = Annotated[
    StrictStr,
    Field(
        max_length=60,
        description="Company register number: BE enterprise number, FR SIREN/SIRET, NL KvK, DE Handelsregister",
    ),
]


class AddressIn(Strict):
    line1: Annotated[StrictStr, Field(min_length=1, max_length=200)]
    line2: Annotated[StrictStr, Field(max_length=200)] | None = None
    postal_code: Annotated[StrictStr, Field(min_length=1, max_length=20)]
    city: Annotated[StrictStr, Field(min_length=1, max_length=100)]
    country: Annotated[
        StrictStr,
        Field(min_length=2, max_length=2, description="ISO 3166 alpha-2, e.g. BE"),
        WithJsonSchema(
            {"type": "string", "enum": COUNTRY_CODES, "description": "ISO 3166 alpha-2 code of a country, e.g. BE"}
        ),
    ]


class CustomerIn(Strict):
    name: Annotated[StrictStr, Field(min_length=1, max_length=200)]
    email: EmailStr
    language: Language = "en"
    #: Legal name of the company billed, when the customer is a business.
    company: OptionalText = None
    address: AddressIn | None = None
    vat_number: VatNumber | None = None
    company_number: CompanyNumber | None = None
    phone: Annotated[StrictStr, Field(max_length=40)] | None = None
    #: A consumer (a private person) rather than a business: the merchant's Belgian B2C preset applies.
    consumer: StrictBool = False
    #: No payment reminders for this customer's invoices (a consumer's legally required first one still goes).
    reminders_paused: StrictBool = False


class CustomerPatch(Strict):
    """Only the fields sent change; null clears an optional one (name, email and language take no null)."""

    name: Annotated[StrictStr, Field(min_length=1, max_length=200)] = None
    email: EmailStr = None
    language: Language = None
    company: OptionalText = None
    address: AddressIn | None = None
    vat_number: VatNumber | None = None
    company_number: CompanyNumber | None = None
    phone: Annotated[StrictStr, Field(max_length=40)] | None = None
    consumer: StrictBool | None = None
    reminders_paused: StrictBool | None = None


class CompanyIn(Strict):
    """The merchant's legal identity, printed as the seller on every document issued from now on."""

    legal_name: Annotated[StrictStr, Field(min_length=1, max_length=200)]
    #: Trading name shown in the portal and as the mails' sender; unchanged when left out.
    name: Annotated[StrictStr, Field(min_length=1, max_length=200)] | None = None
    address: AddressIn
    vat_number: VatNumber | None = None
    company_number: CompanyNumber | None = None
    email: EmailStr
    phone: Annotated[StrictStr, Field(max_length=40)] | None = None
    website: OptionalText = None
    iban: Annotated[StrictStr, Field(max_length=42)] | None = None
    bic: Annotated[StrictStr, Field(max_length=11)] | None = None


class PortalLinkIn(Strict):
    invoice_id: Id | None = None


_ZERO_RATE = {"anyOf": [{"const": 0}, {"type": "string", "pattern": r"^0(\.0{1,2})?$"}]}
#: EN 16931: only category S charges VAT (a rate above 0); every other category's rate is 0.
CATEGORY_RATE_RULE = ConfigDict(
    extra="forbid",
    json_schema_extra={
        "allOf": [
            {
                "if": {"properties": {"tax_category": {"const": "S"}}, "required": ["tax_category"]},
                "then": {"properties": {"tax_rate": {"not": _ZERO_RATE}}},
            },
            {
                "if": {
                    "properties": {"tax_category": {"enum": ["Z", "E", "AE", "K", "G", "O"]}},
                    "required": ["tax_category"],
                },
                "then": {"properties": {"tax_rate": _ZERO_RATE}},
            },
        ]
    },
)


class LineIn(Strict):
    model_config = CATEGORY_RATE_RULE

    description: Annotated[StrictStr, Field(min_length=1, max_length=500)]
    quantity: Quantity
    unit_amount: MinorAmount
    #: Left out, the merchant's default tax rate (Settings); required when the merchant has none.
    tax_rate: Annotated[
        percent(2),
        Field(description="Percent; left out, the merchant's default tax rate (required when none is set)"),
    ] = None
    discount_percent: percent(2) = Decimal("0")
    #: A fixed amount off the line in minor units, taken after discount_percent; at most what the line comes to.
    discount_fixed: FixedDiscount = 0
    #: EN 16931 VAT category; left out, S for a positive rate and Z for 0 %. Only S has a rate above 0.
    tax_category: TaxCategoryCode | None = None


Lines = Annotated[list[LineIn], Field(min_length=1, max_length=500)]
#: Wording replacing the legal default for exempt or reverse-charged categories, e.g. {"AE": "Reverse charge, art. 196"}.
ExemptionReasons = dict[ExemptCategoryCode, Annotated[StrictStr, Field(max_length=300)]]


class InvoiceIn(Strict):
    customer_id: Id
    currency: Currency
    issue_date: IsoDate
    due_date: IsoDate
    discount_percent: percent(2) = Decimal("0")
    #: A fixed amount off the invoice in minor units, after discount_percent, spread over the tax rates
    #: in proportion to their bases; at most what the lines come to.
    discount_fixed: FixedDiscount = 0
    notes: ShortText | None = None
    terms: ShortText | None = None
    #: The day of supply; the issue date when left out.
    supply_date: IsoDate | None = None
    exemption_reasons: ExemptionReasons | None = None
    lines: Lines


class InvoicePatch(Strict):
    """Only the fields sent change; null clears notes, terms, supply_date or exemption_reasons, and no other."""

    customer_id: Id = None
    currency: Currency = None
    issue_date: IsoDate = None
    due_date: IsoDate = None
    discount_percent: percent(2) = None
    discount_fixed: FixedDiscount = None
    notes: ShortText | None = None
    terms: ShortText | None = None
    supply_date: IsoDate | None = None
    exemption_reasons: ExemptionReasons | None = None
    lines: Lines = None


class PaymentIn(Strict):
    amount: PositiveAmount
    paid_on: IsoDate
    method: Literal["bank_transfer", "cash", "card", "cheque", "direct_debit", "other"]
    reference: Annotated[StrictStr, Field(max_length=200)] | None = None
    #: True books what exceeds the outstanding amount on the customer's credit balance; false refuses it (422).
    surplus_to_credit: StrictBool = False


class CreditApplyIn(Strict):
    invoice_id: Id
    #: Minor units of the invoice's currency; left out, as much as the balance and the outstanding amount allow.
    amount: PositiveAmount | None = None


class RefundIn(Strict):
    #: Minor units; left out, all of the payment that is still kept.
    amount: PositiveAmount | None = None
    #: Why, kept with the refund and sent to the provider as its description.
    note: Annotated[StrictStr, Field(max_length=200)] | None = None


class CreditNoteIn(Strict):
    lines: Lines
    issue_date: IsoDate | None = None
    reason: ShortText | None = None


class InvoiceDefaultsIn(Strict):
    """What a new line takes when it leaves it out."""

    default_tax_rate: Annotated[
        percent(2) | None,
        Field(description="Percent for lines that name no tax_rate; null: every line must name its own"),
    ]


class LateFeePolicyIn(Strict):
    annual_rate: percent(4)
    fee_percent: percent(2)
    fee_minimum: Annotated[StrictInt, Field(ge=0, le=10**9)]
    grace_days: Annotated[StrictInt, Field(ge=0, le=3650)]


# --- responses ----------------------------------------------------------------------------


class ErrorBody(BaseModel):
    code: str
    message: str
    field: str | None


class ErrorOut(BaseModel):
    error: ErrorBody


class AddressOut(BaseModel):
    line1: str
    line2: str | None
    postal_code: str
    city: str
    country: str


class CreditBalanceOut(BaseModel):
    currency: str
    #: Minor units; negative only when a chargeback took more than the customer had.
    amount: int


class CustomerOut(BaseModel):
    id: int
    name: str
    email: str
    language: str
    company: str | None
    address: AddressOut | None
    vat_number: str | None
    company_number: str | None
    phone: str | None
    created_at: datetime
    #: The credit balance in the merchant's default currency, in minor units.
    credit_balance: int
    #: Every currency the customer holds credit in.
    credit_balances: list[CreditBalanceOut]
    #: When the customer was archived (left out of lists); null while active.
    archived_at: datetime | None
    consumer: bool
    reminders_paused: bool


class CreditEntryOut(BaseModel):
    id: int
    #: Signed minor units: positive added to the balance, negative taken from it.
    amount: int
    currency: str
    reason: Literal[
        "overpayment",
        "invoice_settled",
        "invoice_void",
        "unallocated",
        "credit_note",
        "applied",
        "refunded",
        "charged_back",
    ]
    invoice_id: int | None
    payment_id: int | None
    credit_note_id: int | None
    #: The money received it came with, or the refund that took it.
    receipt_id: int | None
    refund_id: int | None
    created_at: datetime


class CreditOut(BaseModel):
    customer_id: int
    credit_balance: int
    credit_balances: list[CreditBalanceOut]
    #: Newest first.
    entries: list[CreditEntryOut]


class RefundOut(BaseModel):
    """Money that went back: refunded (by the provider or by hand) or charged back."""

    id: int
    kind: Literal["refunded", "charged_back", "credited"]
    payment_id: int | None
    invoice_id: int | None
    amount: int
    #: Part taken off the payment's principal (the invoice's outstanding amount rose by it).
    principal_amount: int
    #: Part taken off the late fee and interest collected with the payment.
    late_amount: int
    #: Part taken out of the credit balance.
    credit_amount: int
    currency: str
    method: str
    #: The provider's refund id, when it went back through the provider.
    provider_refund_id: str | None
    refunded_on: date
    note: str | None
    #: The invoice's status after it (a paid invoice reopens).
    invoice_status: Literal["draft", "open", "paid", "void"] | None


class CustomerListOut(BaseModel):
    data: list[CustomerOut]
    has_more: bool


class SellerOut(BaseModel):
    """The seller as the document was issued (a draft shows the merchant as it is now)."""

    legal_name: str
    address: AddressOut | None
    vat_number: str | None
    company_number: str | None
    email: str | None
    phone: str | None
    website: str | None
    iban: str | None
    bic: str | None


class BuyerOut(BaseModel):
    """The buyer as the document was issued (a draft shows the customer as they are now)."""

    name: str
    company: str | None
    address: AddressOut | None
    vat_number: str | None
    company_number: str | None
    email: str | None
    phone: str | None


class CompanyOut(SellerOut):
    """The merchant's legal identity now, with the trading name shown in the portal."""

    name: str


class PortalLinkOut(BaseModel):
    url: str
    expires_at: datetime


class LineOut(BaseModel):
    position: int
    description: str
    quantity: Decimal
    unit_amount: int
    tax_rate: Decimal
    tax_category: TaxCategoryCode
    discount_percent: Decimal
    discount_fixed: Annotated[int, Field(description="The fixed amount off the line in minor units, after the %")]
    net_amount: int


class TaxOut(BaseModel):
    """The taxable base and the tax of one (VAT category, rate)."""

    tax_category: TaxCategoryCode
    rate: Decimal
    base: int
    amount: int


class PaymentOut(BaseModel):
    id: int
    invoice_id: int
    amount: int
    fee_amount: int
    interest_amount: int
    currency: str
    paid_on: date
    #: bank_transfer, cash, card, cheque, direct_debit, mollie, stripe, other, or credit_balance.
    method: str
    reference: str | None
    #: Refunded or charged back of it so far, in minor units.
    refunded: int
    #: Moved from it to the credit balance by a credit note, in minor units.
    moved_to_credit: int


class ChargeSavedMethodIn(Strict):
    #: Which of the customer's saved methods to charge; absent: the autopay method, else the newest saved one.
    saved_method_id: Annotated[StrictInt, Field(ge=1, le=2**31 - 1)] | None = None


class PaymentAttemptOut(BaseModel):
    id: int
    invoice_id: int
    #: creating (the provider did not answer yet), open, pending, paid, failed, canceled, expired, refused.
    status: str
    #: mollie or stripe.
    provider: str
    amount: int
    currency: str
    #: customer, staff, api or autopay.
    initiated_by: str
    saved_method_id: int | None
    provider_payment_id: str | None
    #: The payment booked on the invoice once paid (null when all of it went to the credit balance).
    payment_id: int | None
    created_at: datetime
    finished_at: datetime | None


class CreditNoteSummary(BaseModel):
    id: int
    number: str
    issue_date: date
    total: int


class InvoiceDefaultsOut(BaseModel):
    #: Percent for lines that name no tax_rate; null: every line must name its own.
    default_tax_rate: Decimal | None


class LateFeePolicyOut(BaseModel):
    annual_rate: Decimal
    fee_percent: Decimal
    fee_minimum: int
    grace_days: int


class CreditNoteOut(BaseModel):
    id: int
    number: str
    invoice_id: int
    invoice_number: str
    customer_id: int
    currency: str
    issue_date: date
    #: The issue date of the invoice it corrects.
    invoice_issue_date: date
    reason: str | None
    seller: SellerOut
    buyer: BuyerOut
    language: str
    exemption_reasons: dict[str, str]
    lines: list[LineOut]
    subtotal: int
    net_amount: int
    taxes: list[TaxOut]
    tax_amount: int
    total: int


BreakdownStep = dict[str, int | str]


class InvoiceOut(BaseModel):
    id: int
    number: str | None
    payment_reference: Annotated[
        str | None,
        Field(
            description="The structured reference to put on a bank transfer, assigned at finalize (null on a draft),"
            " compact: a Belgian structured communication's twelve digits (written +++123/4567/89012+++) for a"
            " Belgian merchant, else an ISO 11649 creditor reference (RF18539007547034)",
            examples=["202600000192", "RF742026000007"],
        ),
    ]
    status: Literal["draft", "open", "paid", "void"]
    customer_id: int
    currency: str
    issue_date: date
    supply_date: date
    due_date: date
    seller: SellerOut
    buyer: BuyerOut
    #: The language of the PDF and the mail (the customer's, frozen at finalize).
    language: str
    discount_percent: Decimal
    discount_fixed: Annotated[
        int, Field(description="The invoice's fixed discount in minor units, after the %; part of discount_amount")
    ]
    notes: str | None
    #: On a draft its own terms (null: the merchant's default applies); from finalize, the terms issued.
    terms: str | None
    #: Why no VAT is charged, per category code, as the document states it.
    exemption_reasons: dict[str, str]
    lines: list[LineOut]
    subtotal: int
    discount_amount: Annotated[
        int,
        Field(description="Everything the invoice-level discounts took off: the percentage's parts and the fixed one"),
    ]
    net_amount: int
    taxes: list[TaxOut]
    tax_amount: int
    total: int
    credited: int
    paid: int
    outstanding: int
    as_of: date
    days_late: int
    overdue: bool
    late_fee: int
    interest: int
    amount_due: int
    breakdown: list[BreakdownStep]
    late_fee_policy: LateFeePolicyOut | None
    credit_notes: list[CreditNoteSummary]
    payments: list[PaymentOut]
    finalized_at: datetime | None
    paid_on: date | None
    voided_at: datetime | None
    #: When the invoice was last sent to its customer (test copies aside); null when never. Every send:
    #: GET /invoices/{id}/sends.
    last_sent_at: datetime | None
    #: How many times it was sent to its customer (test copies aside).
    send_count: int
    created_at: datetime
    #: The customer disputed it and staff have not resolved it yet: no reminders, no late charges meanwhile.
    disputed: bool
    #: Staff paused its reminders.
    reminders_paused: bool
    #: When the invoice mail first went to the customer; null until it was sent.
    first_sent_at: datetime | None


class RemindersPausedIn(Strict):
    paused: StrictBool


class ResolveDisputeIn(Strict):
    #: What was decided, kept with the dispute.
    resolution: Annotated[StrictStr, Field(max_length=2000)] | None = None


class InvoiceListOut(BaseModel):
    data: list[InvoiceOut]
    has_more: bool


# --- payment providers ------------------------------------------------------------------------


PaymentMethod = Literal["card", "bancontact", "ideal", "sepa_debit", "paypal", "crypto"]


class ProviderSettingIn(Strict):
    enabled: bool = True
    #: The payment methods activated in this provider account (the checkout offers no other); null: not
    #: said, the provider's checkout shows whatever the account has on; omit to keep.
    methods: Annotated[list[PaymentMethod], Field(max_length=6)] | None = None
    #: Mollie API key (test_…/live_…) or Stripe secret key (sk_…/rk_…); omit to keep the stored one.
    api_key: Annotated[StrictStr, Field(min_length=8, max_length=255)] | None = None
    #: Stripe webhook signing secret (whsec_…); omit to keep the stored one.
    webhook_secret: Annotated[StrictStr, Field(min_length=8, max_length=255)] | None = None


class PaymentProvidersIn(Strict):
    mollie: ProviderSettingIn | None = None
    stripe: ProviderSettingIn | None = None


class ProviderSettingOut(BaseModel):
    enabled: bool
    #: Where the credentials come from: stored for this merchant, the environment's defaults, or none.
    source: Literal["merchant", "environment", "none"]
    #: The key's prefix and last four characters; the key itself is never returned.
    api_key_hint: str | None
    webhook_secret_set: bool
    #: The payment methods activated in the account, or null when not said.
    methods: list[PaymentMethod] | None = None


class PaymentProvidersOut(BaseModel):
    mollie: ProviderSettingOut
    stripe: ProviderSettingOut


# --- sending invoices by mail -------------------------------------------------------------------


class SendIn(Strict):
    #: True sends a "[TEST]" copy to the merchant's staff instead of the customer (by email only).
    test: StrictBool = False
    #: How the invoice goes to the customer: by email (PDF attached), by SMS (a short portal link to the
    #: customer's mobile number, through the merchant's Twilio account), or both.
    channels: Annotated[list[Literal["email", "sms"]], Field(min_length=1, max_length=2)] = ["email"]


class SendOut(BaseModel):
    """Accepted: a worker renders the PDF and sends each mail (and text message) in the background."""

    #: How many messages were accepted (one per channel to the customer, or one test copy per staff member);
    #: the email goes to every billing contact who takes invoice mail.
    queued: int
    test: bool
    #: Always "queued": nothing has been rendered or sent when the answer comes.
    status: Literal["queued"] = "queued"
    #: The channels used.
    channels: list[Literal["email", "sms"]] = ["email"]
    #: The addresses (and, for SMS, the E.164 number) the messages will go to.
    recipients: list[str]
    #: The background jobs doing the work, one per message (shown on the admin's Jobs page).
    job_ids: list[int]


# --- bank statements and their transactions ----------------------------------------------------


class BankStatementImportOut(BaseModel):
    """What importing a statement did with its credit entries (debits are not counted)."""

    entries: int
    #: Booked on the invoice their reference names.
    matched: int
    #: Waiting for staff, with likely invoices.
    suggested: int
    #: Waiting for staff, nothing to go on.
    unmatched: int
    #: Imported before: nothing booked again.
    duplicates: int


class BankStatementJobOut(BaseModel):
    """A large statement imported by a job: pending until done, then with the counts of BankStatementImportOut."""

    id: int
    #: pending (waiting for or in its job), done (counts set) or failed (error says why).
    status: str
    #: Credit entries in the statement.
    entries: int
    #: Set once done.
    matched: int | None
    suggested: int | None
    unmatched: int | None
    duplicates: int | None
    error: str | None
    created_at: datetime
    finished_at: datetime | None


class BankSuggestionOut(BaseModel):
    invoice_id: int
    invoice_number: str | None
    #: reference, invoice_number, amount, payer_iban, payer_name.
    reasons: list[str]


class BankTransactionOut(BaseModel):
    """A credit entry of an imported statement."""

    id: int
    status: Literal["matched", "suggested", "unmatched", "ignored"]
    booking_date: date
    amount: int
    currency: str
    payer_name: str | None
    payer_iban: str | None
    account_iban: str | None
    statement_id: str | None
    #: "ref:<bank reference>", or "sha256:<hash of the entry's fields>".
    entry_key: str
    structured_reference: str | None
    remittance: str
    invoice_id: int | None
    receipt_id: int | None
    suggestions: list[BankSuggestionOut]
    created_at: datetime


class BankTransactionListOut(BaseModel):
    data: list[BankTransactionOut]
    has_more: bool


class BankTransactionMatchIn(Strict):
    invoice_id: Id


# --- statements of account ------------------------------------------------------------------


class StatementIn(Strict):
    """The period of a statement of account (both days included); send mails it with its PDF."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    start: IsoDate = Field(alias="from")
    end: IsoDate = Field(alias="to")
    send: StrictBool = False


class StatementLineOut(BaseModel):
    date: date
    #: invoice, credit_note, late_charges, payment, refund, late_charges_refunded, void or credit.
    kind: str
    #: The invoice or credit-note number it is about.
    reference: str | None
    #: The payment method, or the credit entry's reason.
    detail: str | None
    #: Signed minor units: positive raises what the customer owes.
    amount: int
    #: The running balance after this line.
    balance: int


class StatementOpenItemOut(BaseModel):
    invoice_id: int
    number: str
    due_date: date
    #: Total − credited − paid, as the invoice's outstanding amount.
    outstanding: int
    #: Late fee and interest due today.
    late_charges: int
    amount_due: int


class StatementAccountOut(BaseModel):
    currency: str
    #: What the customer owed less their credit, before the first day.
    opening_balance: int
    closing_balance: int
    lines: list[StatementLineOut]
    open_items: list[StatementOpenItemOut]
    #: What the open items cost today.
    amount_due: int


class StatementOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    customer_id: int
    start: date = Field(alias="from")
    end: date = Field(alias="to")
    #: The day the open items are valued.
    as_of: date
    accounts: list[StatementAccountOut]
    #: How many mails were queued (0 unless send was true).
    sent: int


# --- contacts ---------------------------------------------------------------------------------


ContactRole = Literal["billing", "viewer"]


class ContactIn(Strict):
    name: Annotated[StrictStr, Field(min_length=1, max_length=200)]
    email: EmailStr
    language: Language = "en"
    #: billing receives invoices, reminders and statements and may pay; viewer may only look.
    role: ContactRole = "billing"
    notify_invoices: StrictBool = True
    notify_reminders: StrictBool = True
    notify_payments: StrictBool = True
    notify_statements: StrictBool = True


class ContactPatch(Strict):
    """Only the fields sent change."""

    name: Annotated[StrictStr, Field(min_length=1, max_length=200)] | None = None
    email: EmailStr | None = None
    language: Language | None = None
    role: ContactRole | None = None
    notify_invoices: StrictBool | None = None
    notify_reminders: StrictBool | None = None
    notify_payments: StrictBool | None = None
    notify_statements: StrictBool | None = None
    #: true revokes every link this contact was sent so far (the other contacts keep theirs).
    revoke_links: StrictBool | None = None


class ContactOut(BaseModel):
    id: int
    customer_id: int
    name: str
    email: str
    language: str
    role: str
    #: The customer's own address: links naming only the customer open as this contact.
    primary: bool
    notify_invoices: bool
    notify_reminders: bool
    notify_payments: bool
    notify_statements: bool
    created_at: datetime


class ContactListOut(BaseModel):
    data: list[ContactOut]

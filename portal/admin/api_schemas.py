"""Request and response shapes of the JSON API; the OpenAPI document is built from them."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

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
IsoDate = Annotated[date, BeforeValidator(_iso_date), WithJsonSchema({"type": "string", "format": "date"})]
MinorAmount = Annotated[StrictInt, Field(ge=0, le=10**12, description="Integer amount in the currency's minor unit")]
PositiveAmount = Annotated[StrictInt, Field(gt=0, le=10**12, description="Integer amount in the currency's minor unit")]
Currency = Annotated[StrictStr, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code")]
Language = Literal["en", "fr", "nl", "de"]
Id = Annotated[StrictInt, Field(gt=0, le=2**31 - 1)]
ShortText = Annotated[StrictStr, Field(max_length=2000)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- requests -----------------------------------------------------------------------------


class CustomerIn(Strict):
    name: Annotated[StrictStr, Field(min_length=1, max_length=200)]
    email: EmailStr
    language: Language = "en"


class PortalLinkIn(Strict):
    invoice_id: Id | None = None


class LineIn(Strict):
    description: Annotated[StrictStr, Field(min_length=1, max_length=500)]
    quantity: Annotated[DecimalValue, Field(gt=0, le=1_000_000, decimal_places=3)]
    unit_amount: MinorAmount
    tax_rate: Annotated[Percent, Field(decimal_places=2)]
    discount_percent: Annotated[Percent, Field(decimal_places=2)] = Decimal("0")


Lines = Annotated[list[LineIn], Field(min_length=1, max_length=500)]


class InvoiceIn(Strict):
    customer_id: Id
    currency: Currency
    issue_date: IsoDate
    due_date: IsoDate
    discount_percent: Annotated[Percent, Field(decimal_places=2)] = Decimal("0")
    notes: ShortText | None = None
    terms: ShortText | None = None
    lines: Lines


class InvoicePatch(Strict):
    customer_id: Id | None = None
    currency: Currency | None = None
    issue_date: IsoDate | None = None
    due_date: IsoDate | None = None
    discount_percent: Annotated[Percent, Field(decimal_places=2)] | None = None
    notes: ShortText | None = None
    terms: ShortText | None = None
    lines: Lines | None = None


class PaymentIn(Strict):
    amount: PositiveAmount
    paid_on: IsoDate
    method: Literal["bank_transfer", "cash", "card", "cheque", "direct_debit", "other"]
    reference: Annotated[StrictStr, Field(max_length=200)] | None = None


class CreditNoteIn(Strict):
    lines: Lines
    issue_date: IsoDate | None = None
    reason: ShortText | None = None


class LateFeePolicyIn(Strict):
    annual_rate: Annotated[Percent, Field(decimal_places=4)]
    fee_percent: Annotated[Percent, Field(decimal_places=2)]
    fee_minimum: Annotated[StrictInt, Field(ge=0, le=10**9)]
    grace_days: Annotated[StrictInt, Field(ge=0, le=3650)]


# --- responses ----------------------------------------------------------------------------


class ErrorBody(BaseModel):
    code: str
    message: str
    field: str | None


class ErrorOut(BaseModel):
    error: ErrorBody


class CustomerOut(BaseModel):
    id: int
    name: str
    email: str
    language: str
    created_at: datetime


class PortalLinkOut(BaseModel):
    url: str
    expires_at: datetime


class LineOut(BaseModel):
    position: int
    description: str
    quantity: Decimal
    unit_amount: int
    tax_rate: Decimal
    discount_percent: Decimal
    net_amount: int


class TaxOut(BaseModel):
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
    method: str
    reference: str | None


class CreditNoteSummary(BaseModel):
    id: int
    number: str
    issue_date: date
    total: int


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
    reason: str | None
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
    status: Literal["draft", "open", "paid", "void"]
    customer_id: int
    currency: str
    issue_date: date
    due_date: date
    discount_percent: Decimal
    notes: str | None
    terms: str | None
    lines: list[LineOut]
    subtotal: int
    discount_amount: int
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
    created_at: datetime


class InvoiceListOut(BaseModel):
    data: list[InvoiceOut]
    has_more: bool


# --- payment providers ------------------------------------------------------------------------


class ProviderSettingIn(Strict):
    enabled: bool = True
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


class PaymentProvidersOut(BaseModel):
    mollie: ProviderSettingOut
    stripe: ProviderSettingOut


# --- sending invoices by mail -------------------------------------------------------------------


class SendIn(Strict):
    #: True sends a "[TEST]" copy to the merchant's staff instead of the customer.
    test: StrictBool = False


class SendOut(BaseModel):
    queued: int
    test: bool

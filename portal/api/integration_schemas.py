"""Request and response shapes of the integrators' resources: events, webhook endpoints, products, charges, comments."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StrictBool, StrictInt, StrictStr, WithJsonSchema

from portal.api import schemas as s
from portal.api.schemas import PaymentMethod, Strict

#: Every event type the portal announces (GET /events, webhook endpoints' `events`).
EventType = Literal[
    "invoice.finalized",
    "invoice.sent",
    "invoice.viewed",
    "invoice.overdue",
    "invoice.paid",
    "invoice.reopened",
    "invoice.voided",
    "invoice.disputed",
    "invoice.dispute_resolved",
    "credit_note.created",
    "payment.succeeded",
    "payment.failed",
    "payment.refunded",
    "customer.credit_changed",
    "comment.created",
    "bank_transaction.unmatched",
]
EVENT_TYPES: tuple[str, ...] = EventType.__args__

# --- events -------------------------------------------------------------------------------------


class EventOut(BaseModel):
    """What happened, with the object as the API showed it then; webhook deliveries carry the same JSON."""

    id: int
    type: EventType
    #: Unix time (seconds) of the change.
    created: int
    #: The object as the API shows it (an invoice, a credit note, a payment, a comment, …).
    data: dict[str, Any]


class EventListOut(BaseModel):
    data: list[EventOut]
    has_more: bool


# --- webhook endpoints ----------------------------------------------------------------------------

_WEBHOOK_URL_DESCRIPTION = (
    "https only; it must not resolve to a loopback, private, link-local or otherwise reserved address (checked when "
    "saved and again on every delivery). A development deployment with PORTAL_WEBHOOKS_ALLOW_PRIVATE=true also "
    "takes http and loopback addresses."
)
WebhookUrl = Annotated[
    StrictStr,
    Field(min_length=8, max_length=2048, pattern=r"^https?://\S+$"),
    WithJsonSchema(
        {
            "type": "string",
            "minLength": 8,
            "maxLength": 2048,
            "pattern": r"^https://\S+$",
            "description": _WEBHOOK_URL_DESCRIPTION,
        }
    ),
]
EventList = Annotated[
    list[EventType | Literal["*"]],
    Field(min_length=1, max_length=len(EVENT_TYPES) + 1, description='The event types to receive; ["*"] for all'),
]
Description = Annotated[StrictStr, Field(max_length=500)]


class WebhookEndpointIn(Strict):
    url: WebhookUrl
    events: EventList
    description: Description | None = None
    enabled: StrictBool = True


class WebhookEndpointPatch(Strict):
    """Only the fields sent change; null clears the description, and no other."""

    url: WebhookUrl = None
    events: EventList = None
    description: Description | None = None
    enabled: StrictBool = None


class WebhookEndpointOut(BaseModel):
    id: int
    url: str
    description: str | None
    events: list[str]
    enabled: bool
    created_at: datetime
    updated_at: datetime


class WebhookEndpointCreatedOut(WebhookEndpointOut):
    """The new endpoint with its signing secret, shown this once."""

    #: Verify each delivery's Portal-Signature with it; it is never shown again.
    secret: str


class WebhookEndpointListOut(BaseModel):
    data: list[WebhookEndpointOut]
    has_more: bool


# --- objects events carry -------------------------------------------------------------------------


class CommentOut(BaseModel):
    id: int
    invoice_id: int
    #: Who wrote it: the customer (in the portal) or a staff member (a reply).
    author: Literal["customer", "staff"]
    #: The staff member's name for a reply.
    staff_name: str | None
    #: The customer's contact who wrote it (portal comments); None for a reply or a comment from before contacts.
    contact_id: int | None = None
    #: A customer's comment: open until staff reply (answered) or mark it no_reply_needed; None on a reply.
    state: Literal["open", "answered", "no_reply_needed"] | None = None
    body: str
    created_at: datetime


class PaymentAttemptOut(BaseModel):
    """An online payment attempt (payment.failed carries it)."""

    id: int
    invoice_id: int
    customer_id: int
    provider: str
    #: failed, canceled, expired or refused (the provider would not create it).
    status: str
    amount: int
    currency: str
    created_at: datetime
    finished_at: datetime | None


# --- products, charges, comments, ways to pay -----------------------------------------------------

ProductName = Annotated[StrictStr, Field(min_length=1, max_length=200)]
Quantity = s.Quantity
TaxRate = s.percent(2)


class ProductIn(Strict):
    model_config = s.CATEGORY_RATE_RULE

    name: ProductName
    unit_amount: s.MinorAmount
    currency: s.Currency
    tax_rate: TaxRate
    #: EN 16931 VAT category of the lines made from it; left out, S for a positive rate and Z for 0 %.
    tax_category: s.TaxCategoryCode | None = None


class ProductPatch(Strict):
    """Only the fields sent change (none takes null); lines already drafted from the product keep what they copied."""

    name: ProductName = None
    unit_amount: s.MinorAmount = None
    currency: s.Currency = None
    tax_rate: TaxRate = None
    tax_category: s.TaxCategoryCode = None


class ProductOut(BaseModel):
    id: int
    name: str
    unit_amount: int
    currency: str
    tax_rate: Decimal
    tax_category: s.TaxCategoryCode


class ProductListOut(BaseModel):
    data: list[ProductOut]
    has_more: bool


class ChargeIn(Strict):
    model_config = s.CATEGORY_RATE_RULE

    customer_id: s.Id
    description: Annotated[StrictStr, Field(min_length=1, max_length=500)]
    #: The day the work or goods were delivered.
    charged_on: s.IsoDate
    quantity: Quantity
    unit_amount: s.MinorAmount
    tax_rate: TaxRate
    tax_category: s.TaxCategoryCode | None = None
    #: The merchant's default currency when left out.
    currency: s.Currency | None = None


class ChargePatch(Strict):
    """Only the fields sent change (none takes null); a charge already on an invoice cannot change (409)."""

    description: Annotated[StrictStr, Field(min_length=1, max_length=500)] = None
    charged_on: s.IsoDate = None
    quantity: Quantity = None
    unit_amount: s.MinorAmount = None
    tax_rate: TaxRate = None
    tax_category: s.TaxCategoryCode = None
    currency: s.Currency = None


class ChargeOut(BaseModel):
    id: int
    customer_id: int
    description: str
    charged_on: date
    quantity: Decimal
    unit_amount: int
    currency: str
    tax_rate: Decimal
    tax_category: s.TaxCategoryCode
    #: open (waiting to be invoiced), drafted (on a draft invoice) or billed (on a finalized one).
    status: Literal["open", "drafted", "billed"]
    invoice_id: int | None
    created_at: datetime


class ChargeListOut(BaseModel):
    data: list[ChargeOut]
    has_more: bool


class DraftFromChargesIn(Strict):
    #: The charges to invoice; left out, every open charge of the customer in the merchant's default currency.
    charge_ids: Annotated[list[s.Id], Field(min_length=1, max_length=500)] | None = None
    #: The merchant's today when left out.
    issue_date: s.IsoDate | None = None
    #: Days from the issue date to the due date.
    payment_days: Annotated[StrictInt, Field(ge=0, le=365)] = 30


class CommentIn(Strict):
    #: Plain text; the customer is mailed the reply, signed with the merchant's name.
    body: Annotated[StrictStr, Field(min_length=1, max_length=2000)]


class CommentListOut(BaseModel):
    data: list[CommentOut]
    has_more: bool


Provider = Literal["mollie", "stripe"]


class PaymentMethodsIn(Strict):
    #: The providers this invoice offers (of those the merchant enabled); [] for bank transfer only;
    #: null for the default, every enabled provider.
    providers: Annotated[list[Provider], Field(max_length=2)] | None
    #: The payment methods its checkout offers (each must be taken by an enabled provider in the
    #: invoice's currency); null (the default) for every one the providers offer.
    methods: Annotated[list[PaymentMethod], Field(max_length=6)] | None = None
    #: Whether the customer is shown how to pay by bank transfer (IBAN, reference, QR code).
    bank_transfer: StrictBool = True


class PaymentMethodsOut(BaseModel):
    invoice_id: int
    #: What the invoice's pay button offers now.
    offered: list[Provider]
    #: The providers chosen for this invoice, or null when it offers every enabled one (the default).
    chosen: list[Provider] | None
    #: The providers the merchant has enabled.
    enabled: list[Provider]
    #: The payment methods chosen for this invoice, or null for every one its providers offer.
    methods: list[PaymentMethod] | None
    #: Per offered provider, the methods its checkout will show (null: whatever the account has on).
    checkout_methods: dict[str, list[PaymentMethod] | None]
    #: The methods staff may choose for this invoice (what the enabled providers take in its currency).
    available_methods: list[PaymentMethod]
    #: Whether the customer is shown how to pay by bank transfer.
    bank_transfer: bool


# --- attachments, recurring lines, the billing cycle, the send log ---------------------------------


class AttachmentOut(BaseModel):
    """A file attached to an invoice: the customer downloads it from the invoice's page and zip."""

    id: int
    invoice_id: int
    #: The name it is served under, with the extension of the type its bytes showed.
    filename: str
    #: The type found in the file's own bytes (never the uploader's Content-Type).
    content_type: str
    #: Bytes.
    size: int
    #: Who attached it: a staff member in the admin, or an API key.
    uploaded_by: Literal["staff", "api"]
    created_at: datetime


class AttachmentListOut(BaseModel):
    data: list[AttachmentOut]
    has_more: bool


RecurringDescription = Annotated[StrictStr, Field(min_length=1, max_length=500)]


class RecurringLineIn(Strict):
    """A line put on every monthly invoice of the customer, in the merchant's default currency."""

    model_config = s.CATEGORY_RATE_RULE

    description: RecurringDescription
    quantity: Quantity
    unit_amount: s.MinorAmount
    tax_rate: TaxRate
    tax_category: s.TaxCategoryCode | None = None


class RecurringLinePatch(Strict):
    """Only the fields sent change (none takes null); invoices already drafted keep the line they copied."""

    description: RecurringDescription = None
    quantity: Quantity = None
    unit_amount: s.MinorAmount = None
    tax_rate: TaxRate = None
    tax_category: s.TaxCategoryCode = None


class RecurringLineOut(BaseModel):
    id: int
    customer_id: int
    description: str
    quantity: Decimal
    unit_amount: int
    currency: str
    tax_rate: Decimal
    tax_category: s.TaxCategoryCode
    created_at: datetime


class RecurringLineListOut(BaseModel):
    data: list[RecurringLineOut]
    has_more: bool


class BillingCycleIn(Strict):
    """`flask portal bill-monthly` drafts (or finalizes and sends) the customer's invoice from its recurring lines
    and open charges on this day of every month."""

    active: StrictBool = True
    #: 1–28, so every month has it.
    day_of_month: Annotated[StrictInt, Field(ge=1, le=28)] = 1
    #: Days from the issue date to the due date.
    payment_days: Annotated[StrictInt, Field(ge=0, le=365)] = 30
    #: Finalize and mail the invoice at once instead of leaving a draft for review.
    auto_send: StrictBool = False


class BillingCycleOut(BaseModel):
    customer_id: int
    #: false also when the customer has no billing cycle yet.
    active: bool
    day_of_month: int
    payment_days: int
    auto_send: bool


class InvoiceSendOut(BaseModel):
    """One send of an invoice and how its delivery went."""

    id: int
    invoice_id: int
    channel: Literal["email", "sms"]
    #: The recipient's address, or mobile number in E.164 for an SMS.
    to: str
    #: A "[TEST]" copy to the merchant's staff rather than the invoice sent to its customer.
    test: bool
    #: Who asked: an API key, a staff member, or the system (the monthly billing run, or a send from before the log).
    sent_by: Literal["api_key", "staff", "system"]
    api_key_id: int | None
    staff_user_id: int | None
    #: The API key's name or the staff member's email when it was sent.
    sent_by_name: str | None
    #: requested: the PDF is being rendered; queued: the mail (or text message) waits for the SMTP server
    #: (or Twilio), retried; sent: accepted by it; failed: given up (see `error`).
    status: Literal["requested", "queued", "sent", "failed"]
    attempts: int
    error: str | None
    #: When the send was asked for.
    created_at: datetime
    #: When the SMTP server (or Twilio) accepted it.
    delivered_at: datetime | None


class InvoiceSendListOut(BaseModel):
    data: list[InvoiceSendOut]
    has_more: bool

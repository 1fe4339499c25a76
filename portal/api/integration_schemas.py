"""Request and response shapes of the integrators' resources: events, webhook endpoints, comments, attempts."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StrictBool, StrictStr

from portal.api.schemas import Strict

#: Every event type the portal announces (GET /events, webhook endpoints' `events`).
EventType = Literal[
    "invoice.finalized",
    "invoice.sent",
    "invoice.viewed",
    "invoice.overdue",
    "invoice.paid",
    "invoice.reopened",
    "invoice.voided",
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

WebhookUrl = Annotated[
    StrictStr,
    Field(
        min_length=8,
        max_length=2048,
        pattern=r"^https?://\S+$",
        description="https only; it must not resolve to a loopback, private, link-local or otherwise reserved "
        "address (checked when saved and again on every delivery)",
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
    """Only the fields sent change."""

    url: WebhookUrl | None = None
    events: EventList | None = None
    description: Description | None = None
    enabled: StrictBool | None = None


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

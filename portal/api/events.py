"""Events: what happened to a merchant's objects, written in the same transaction as the change (the outbox).

Services call record_event(merchant, type, object) after they change something; the event holds the
object as the API shows it, is listed at GET /api/v1/events for 30 days, and is queued for each of
the merchant's webhook endpoints that wants its type (portal.api.webhook_delivery).

An object's serializer is found by its class: the API's own (invoices, credit notes, payments,
customers) and those registered with @event_serializer(Model, "object_type").
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy import and_, delete, exists, select

from portal.api.integration_schemas import EVENT_TYPES
from portal.extensions import db
from portal.models import Comment, Invoice, Merchant
from portal.models.api import Event, WebhookDelivery
from portal.models.base import utcnow

#: Events are listed and kept this long, then purged.
RETENTION = timedelta(days=30)

#: model class → (object_type, serializer returning the API's shape).
_SERIALIZERS: dict[type, tuple[str, Callable[[Any], Any]]] = {}


def event_serializer(model: type, object_type: str) -> Callable:
    """Register the decorated function as the API shape of `model` objects in events."""

    def register(function: Callable[[Any], Any]) -> Callable[[Any], Any]:
        _SERIALIZERS[model] = (object_type, function)
        return function

    return register


def _builtin_serializers() -> None:
    """Register the API's own serializers (imported late: the operations import the services)."""
    from portal.api import operations
    from portal.models import CreditNote, Customer, Payment
    from portal.models.bank import BankTransaction
    from portal.models.ledger import PaymentReversal
    from portal.models.online_payment import PaymentAttempt
    from portal.services.bank_import import suggested_invoices

    _SERIALIZERS.setdefault(Invoice, ("invoice", lambda o: operations._invoice_out(o, o.merchant.today())))
    _SERIALIZERS.setdefault(CreditNote, ("credit_note", operations._credit_note_out))
    _SERIALIZERS.setdefault(Payment, ("payment", operations._payment_out))
    _SERIALIZERS.setdefault(Customer, ("customer", operations._customer_out))
    _SERIALIZERS.setdefault(Comment, ("comment", comment_out))
    _SERIALIZERS.setdefault(PaymentAttempt, ("payment_attempt", attempt_out))
    _SERIALIZERS.setdefault(PaymentReversal, ("refund", operations._refund_out))
    _SERIALIZERS.setdefault(
        BankTransaction,
        ("bank_transaction", lambda o: operations._bank_transaction_out(o, suggested_invoices([o]))),
    )


def comment_out(comment: Comment):
    """Return a comment as the API shows it."""
    from portal.api.integration_schemas import CommentOut

    return CommentOut(
        id=comment.id,
        invoice_id=comment.invoice_id,
        author=comment.author_kind,
        staff_name=comment.staff_user.name if comment.staff_user is not None else None,
        body=comment.body,
        created_at=comment.created_at,
    )


def attempt_out(attempt):
    """Return an online payment attempt as the API shows it."""
    from portal.api.integration_schemas import PaymentAttemptOut

    return PaymentAttemptOut(
        id=attempt.id,
        invoice_id=attempt.invoice_id,
        customer_id=attempt.customer_id,
        provider=attempt.provider,
        status=attempt.status,
        amount=attempt.amount,
        currency=attempt.currency,
        created_at=attempt.created_at,
        finished_at=attempt.finished_at,
    )


def serialize(obj: Any) -> tuple[str, int | None, dict[str, Any]]:
    """Return (object_type, id, the API's JSON of it) for an object an event is about."""
    if type(obj) not in _SERIALIZERS:
        _builtin_serializers()
    try:
        object_type, function = _SERIALIZERS[type(obj)]
    except KeyError:
        raise TypeError(f"No event serializer for {type(obj).__name__}: register one with @event_serializer") from None
    shown = function(obj)
    data = shown.model_dump(mode="json") if isinstance(shown, BaseModel) else dict(shown)
    return object_type, getattr(obj, "id", None), data


def record_event(merchant: Merchant, type: str, object: Any) -> Event:  # noqa: A002 - the public contract's names
    """Record that `type` happened to `object`, in the caller's transaction, and queue it for the webhook endpoints.

    `object` is a model instance with a serializer (Invoice, CreditNote, Payment, Customer, Comment,
    PaymentAttempt, PaymentReversal, BankTransaction, or one registered with @event_serializer). Flushes, never commits.
    """
    if type not in EVENT_TYPES:
        raise ValueError(f"Unknown event type {type!r}")
    db.session.flush()  # the object's id and defaults, as the API would show them
    object_type, object_id, data = serialize(object)
    event = Event(
        merchant_id=merchant.id,
        type=type,
        object_type=object_type,
        object_id=object_id,
        data=data,
        created_at=utcnow(),
    )
    db.session.add(event)
    db.session.flush()
    from portal.api.webhook_delivery import queue_deliveries

    queue_deliveries(event)
    return event


def record_overdue_invoices(merchant: Merchant, today: date | None = None) -> int:
    """Record invoice.overdue once for each of the merchant's open invoices that fell due; return how many.

    Looks back as far as events are kept, so a day the duty did not run is caught up, and an
    invoice announced before is never announced again.
    """
    today = today or merchant.today()
    announced = exists().where(
        and_(Event.object_type == "invoice", Event.object_id == Invoice.id, Event.type == "invoice.overdue")
    )
    invoices = db.session.scalars(
        select(Invoice)
        .where(
            Invoice.merchant_id == merchant.id,
            Invoice.status == "open",
            Invoice.due_date < today,
            Invoice.due_date >= today - RETENTION,
            ~announced,
        )
        .order_by(Invoice.due_date, Invoice.id)
    ).all()
    for invoice in invoices:
        record_event(merchant, "invoice.overdue", invoice)
    return len(invoices)


def purge_expired(now=None) -> int:
    """Delete events older than 30 days (their deliveries go with them); return how many."""
    cutoff = (now or utcnow()) - RETENTION
    expired = select(Event.id).where(Event.created_at < cutoff)
    db.session.execute(
        delete(WebhookDelivery)
        .where(WebhookDelivery.event_id.in_(expired))
        .execution_options(synchronize_session=False)
    )
    return db.session.execute(
        delete(Event).where(Event.created_at < cutoff).execution_options(synchronize_session=False)
    ).rowcount

"""Events: what happened to a merchant's objects, written in the same transaction as the change (the outbox).

Services call record_event(merchant, type, object) after they change something; the event holds the
object as the API shows it, is listed at GET /api/v1/events for 30 days, and is queued for each of
the merchant's webhook endpoints that wants its type (portal.api.webhook_delivery).

An object's serializer is found by its class: the API's own (invoices, credit notes, payments,
customers) and those registered with @event_serializer(Model, "object_type").
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy import and_, delete, exists, select

from portal.api.integration_schemas import EVENT_TYPES
from portal.extensions import db
from portal.models import Comment, Invoice, Merchant
from portal.models.api import Event, WebhookDelivery
from portal.models.base import assign_ids, utcnow

#: Events are listed and kept this long, then purged.
RETENTION = timedelta(days=30)

#: model class → (object_type, serializer returning the API's shape).
_SERIALIZERS: dict[type, tuple[str, Callable[[Any], Any]]] = {}
#: model class → a serializer of many objects at once (its queries shared), where the one-by-one one would query each.
_MANY_SERIALIZERS: dict[type, Callable[[list[Any]], list[Any]]] = {}
#: Events recorded inside collected_events(), per thread: written together when it ends.
_collecting = threading.local()


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
    _MANY_SERIALIZERS.setdefault(Customer, _customers_out)
    _MANY_SERIALIZERS.setdefault(Invoice, _invoices_out)
    _SERIALIZERS.setdefault(Comment, ("comment", comment_out))
    _SERIALIZERS.setdefault(PaymentAttempt, ("payment_attempt", attempt_out))
    _SERIALIZERS.setdefault(PaymentReversal, ("refund", operations._refund_out))
    _SERIALIZERS.setdefault(
        BankTransaction,
        ("bank_transaction", lambda o: operations._bank_transaction_out(o, suggested_invoices([o]))),
    )


def _invoices_out(invoices: list[Any]) -> list[Any]:
    """Return invoices as the API shows them, their send summaries read in one query (a bank statement's bookings)."""
    from portal.api import operations
    from portal.services.send_log import send_summaries

    sends = send_summaries(invoices)
    return [operations._invoice_out(invoice, invoice.merchant.today(), sends[invoice.id]) for invoice in invoices]


def _customers_out(customers: list[Any]) -> list[Any]:
    """Return customers as the API shows them, their credit balances read in one query."""
    from portal.api import operations
    from portal.services.ledger import customers_with_credit

    balances: dict[int, dict[str, int]] = {}
    by_merchant: dict[int, list[Any]] = {}
    for customer in customers:
        by_merchant.setdefault(customer.merchant_id, []).append(customer)
    for merchant_customers in by_merchant.values():
        balances.update(
            customers_with_credit(merchant_customers[0].merchant, sorted({c.id for c in merchant_customers}))
        )
    return [operations._customer_out(c, balances.get(c.id, {})) for c in customers]


def comment_out(comment: Comment):
    """Return a comment as the API shows it."""
    from portal.api.integration_schemas import CommentOut

    return CommentOut(
        id=comment.id,
        invoice_id=comment.invoice_id,
        author=comment.author_kind,
        staff_name=comment.staff_user.name if comment.staff_user is not None else None,
        contact_id=comment.contact_id,
        state=comment.state,
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
    [serialized] = _serialize_many([obj])
    return serialized


def _serialize_many(objects: list[Any]) -> list[tuple[str, int | None, dict[str, Any]]]:
    if any(type(obj) not in _SERIALIZERS for obj in objects):
        _builtin_serializers()
    shown: dict[int, Any] = {}
    by_type: dict[type, list[int]] = {}
    for position, obj in enumerate(objects):
        if type(obj) not in _SERIALIZERS:
            raise TypeError(f"No event serializer for {type(obj).__name__}: register one with @event_serializer")
        by_type.setdefault(type(obj), []).append(position)
    for model, positions in by_type.items():
        many = _MANY_SERIALIZERS.get(model) if len(positions) > 1 else None
        if many is not None:
            shown.update(zip(positions, many([objects[p] for p in positions]), strict=True))
        else:
            function = _SERIALIZERS[model][1]
            shown.update((p, function(objects[p])) for p in positions)
    result = []
    for position, obj in enumerate(objects):
        data = shown[position]
        data = data.model_dump(mode="json") if isinstance(data, BaseModel) else dict(data)
        result.append((_SERIALIZERS[type(obj)][0], getattr(obj, "id", None), data))
    return result


def record_event(merchant: Merchant, type: str, object: Any) -> Event | None:  # noqa: A002 - the public contract's names
    """Record that `type` happened to `object`, in the caller's transaction, and queue it for the webhook endpoints.

    `object` is a model instance with a serializer (Invoice, CreditNote, Payment, Customer, Comment,
    PaymentAttempt, PaymentReversal, BankTransaction, or one registered with @event_serializer). Flushes, never commits.
    Inside collected_events() it is written when that ends (and None is returned).
    """
    if type not in EVENT_TYPES:
        raise ValueError(f"Unknown event type {type!r}")
    pending = getattr(_collecting, "events", None)
    if pending is not None:
        pending.append((merchant.id, type, object))
        return None
    [event] = _write_events([(merchant.id, type, object)])
    return event


@contextmanager
def collected_events() -> Iterator[None]:
    """Write the events recorded inside the block together when it ends: one flush and one query of endpoints.

    For bulk work (a bank statement's bookings). Each event shows its object as it stands at the
    end of the block. Nested blocks are written by the outermost one; nothing is written on an error.
    """
    if getattr(_collecting, "events", None) is not None:
        yield
        return
    _collecting.events = []
    try:
        yield
        pending = _collecting.events
    finally:
        _collecting.events = None
    if pending:
        _write_events(pending)


def _write_events(pending: list[tuple[int, str, Any]]) -> list[Event]:
    from portal.api.webhook_delivery import queue_deliveries

    db.session.flush()  # the objects' ids and defaults, as the API would show them
    now = utcnow()
    events = [
        Event(
            merchant_id=merchant_id, type=type, object_type=object_type, object_id=object_id, data=data, created_at=now
        )
        for (merchant_id, type, _), (object_type, object_id, data) in zip(
            pending, _serialize_many([obj for _, _, obj in pending]), strict=True
        )
    ]
    assign_ids(db.session, events)
    db.session.add_all(events)
    db.session.flush()
    queue_deliveries(events)
    return events


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

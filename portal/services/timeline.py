"""An invoice's timeline, built from the records that already exist: the invoice, the outbox and the SMS sent, reminders,
comments, disputes, payment attempts, payments, reversals and credit notes (no second log to keep in step).

Events (the API's) are not used: they are kept for 30 days only, and a timeline is for the invoice's life.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from portal.extensions import db
from portal.models import Comment, Invoice
from portal.models.mail import OutboxMessage
from portal.models.online_payment import PaymentAttempt
from portal.models.reminder import ReminderSent

#: What the customer sees; the rest (drafting, delivery, their own visits) is for staff.
CUSTOMER_KINDS = frozenset(
    {
        "finalized",
        "sent",
        "reminded",
        "commented",
        "disputed",
        "dispute_resolved",
        "payment_started",
        "payment",
        "paid",
        "reopened",
        "refunded",
        "credit_note",
        "void",
    }
)


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    #: created, finalized, sent, delivered, bounced, viewed, reminded, commented, disputed, dispute_resolved,
    #: payment_started, payment, paid, reopened, refunded, credit_note, void.
    kind: str
    detail: dict[str, Any] = field(default_factory=dict)


def invoice_timeline(
    invoice: Invoice, *, for_customer: bool = False, comments: Sequence[Comment] | None = None
) -> list[TimelineEntry]:
    """Return what happened to the invoice, oldest first; for_customer leaves out what only staff need.

    Payments, their reversals and credit notes are read from the invoice (loaded with it); pass the
    invoice's comments when the caller has them already.
    """
    entries = [TimelineEntry(invoice.created_at, "created")]
    if invoice.finalized_at:
        entries.append(TimelineEntry(invoice.finalized_at, "finalized", {"number": invoice.number}))

    reminders = {
        row.outbox_message_id: row
        for row in db.session.scalars(select(ReminderSent).where(ReminderSent.invoice_id == invoice.id))
    }
    mails = db.session.scalars(
        select(OutboxMessage)
        .where(
            OutboxMessage.invoice_id == invoice.id,
            OutboxMessage.merchant_id == invoice.merchant_id,
            OutboxMessage.kind.in_(("invoice", "reminder")),
        )
        .order_by(OutboxMessage.id)
    ).all()
    for mail in mails:
        reminder = reminders.pop(mail.id, None)
        detail = {"channel": "email", "to": mail.to_address}
        if reminder is not None:
            entries.append(TimelineEntry(mail.created_at, "reminded", {**detail, "offset_days": reminder.offset_days}))
        else:
            entries.append(TimelineEntry(mail.created_at, "sent", detail))
        if mail.status == "sent" and mail.sent_at:
            entries.append(TimelineEntry(mail.sent_at, "delivered", {**detail, "via": mail.delivered_via}))
        elif mail.status == "failed":
            entries.append(TimelineEntry(mail.created_at, "bounced", {**detail, "error": mail.last_error}))
    from portal.models.sms import SmsMessage

    texts = db.session.scalars(
        select(SmsMessage)
        .where(
            SmsMessage.invoice_id == invoice.id,
            SmsMessage.merchant_id == invoice.merchant_id,
            SmsMessage.kind == "invoice",
        )
        .order_by(SmsMessage.id)
    ).all()
    for text in texts:
        detail = {"channel": "sms", "to": text.to}
        entries.append(TimelineEntry(text.created_at, "sent", detail))
        if text.status == "sent" and text.sent_at:
            entries.append(TimelineEntry(text.sent_at, "delivered", {**detail, "via": "twilio"}))
        elif text.status == "failed":
            entries.append(TimelineEntry(text.created_at, "bounced", {**detail, "error": text.last_error}))
    for reminder in reminders.values():  # its mail was purged or never queued
        entries.append(
            TimelineEntry(
                reminder.created_at,
                "reminded",
                {"channel": reminder.channel, "to": reminder.to_address, "offset_days": reminder.offset_days},
            )
        )

    if invoice.first_viewed_at:
        entries.append(TimelineEntry(invoice.first_viewed_at, "viewed"))
    if comments is None:
        comments = db.session.scalars(select(Comment).where(Comment.invoice_id == invoice.id)).all()
    for comment in comments:
        entries.append(TimelineEntry(comment.created_at, "commented", {"author": comment.author_kind}))
    for dispute in invoice.disputes:
        entries.append(TimelineEntry(dispute.opened_at, "disputed", {"on": dispute.opened_on}))
        if dispute.resolved_at:
            entries.append(TimelineEntry(dispute.resolved_at, "dispute_resolved", {"on": dispute.resolved_on}))
    for attempt in db.session.scalars(select(PaymentAttempt).where(PaymentAttempt.invoice_id == invoice.id)):
        entries.append(
            TimelineEntry(
                attempt.created_at,
                "payment_started",
                {
                    "provider": attempt.provider,
                    "amount": attempt.amount,
                    "currency": attempt.currency,
                    # customer (Pay), or a saved method charged by staff, the API or autopay.
                    "by": attempt.initiated_by,
                },
            )
        )
    for payment in invoice.payments:
        entries.append(
            TimelineEntry(
                payment.created_at,
                "payment",
                {
                    "amount": payment.gross,
                    "currency": payment.currency,
                    "method": payment.method,
                    "on": payment.paid_on,
                },
            )
        )
    # The balance over time: each time it reached zero the invoice was paid, each time a reversal
    # raised it again the invoice reopened (the status alone keeps only the latest of these).
    changes: list[tuple[datetime, int, int]] = [(p.created_at, 0, -p.amount) for p in invoice.payments]
    for reversal in (reversal for payment in invoice.payments for reversal in payment.reversals):
        entries.append(
            TimelineEntry(
                reversal.created_at,
                "refunded",
                {"kind": reversal.kind, "amount": reversal.amount, "currency": reversal.currency},
            )
        )
        changes.append((reversal.created_at, 1, reversal.principal_amount))
    for note in invoice.credit_notes:
        entries.append(
            TimelineEntry(
                note.created_at, "credit_note", {"number": note.number, "amount": note.total, "currency": note.currency}
            )
        )
        changes.append((note.created_at, 0, -note.total))
    balance = invoice.total
    for at, _order, change in sorted(changes, key=lambda c: (c[0], c[1])):
        before, balance = balance, balance + change
        if before > 0 >= balance:
            entries.append(TimelineEntry(at, "paid"))
        elif before <= 0 < balance:
            entries.append(TimelineEntry(at, "reopened"))
    if invoice.voided_at:
        entries.append(TimelineEntry(invoice.voided_at, "void"))

    order = {kind: position for position, kind in enumerate(("payment", "credit_note", "refunded", "paid", "reopened"))}
    entries.sort(key=lambda e: (e.at, order.get(e.kind, -1)))
    if for_customer:
        entries = [e for e in entries if e.kind in CUSTOMER_KINDS]
    return entries

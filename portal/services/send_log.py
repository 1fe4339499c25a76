"""The send log: every send of an invoice, and how its mail's delivery went (the outbox's status)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from portal.extensions import db
from portal.models import ApiKey, Invoice, StaffUser
from portal.models.mail import InvoiceSend
from portal.models.sms import SmsMessage


@dataclass(frozen=True)
class Delivery:
    """Where a send stands: requested (PDF being rendered), queued, sent or failed."""

    status: str
    attempts: int
    error: str | None
    delivered_at: datetime | None


def log_send(
    invoice: Invoice,
    *,
    channel: str,
    to: str,
    by: StaffUser | ApiKey | None,
    test: bool = False,
    sms_message: SmsMessage | None = None,
) -> InvoiceSend:
    """Write one send of the invoice in the caller's transaction, with who asked for it (`by`; None: the system)."""
    logged = InvoiceSend(
        merchant_id=invoice.merchant_id,
        invoice_id=invoice.id,
        channel=channel,
        to_address=to,
        test=test,
        sent_by="staff" if isinstance(by, StaffUser) else "api_key" if isinstance(by, ApiKey) else "system",
        staff_user_id=by.id if isinstance(by, StaffUser) else None,
        api_key_id=by.id if isinstance(by, ApiKey) else None,
        sent_by_name=by.email if isinstance(by, StaffUser) else by.name if isinstance(by, ApiKey) else None,
        sms_message_id=sms_message.id if sms_message is not None else None,
    )
    db.session.add(logged)
    db.session.flush()
    return logged


def delivery(send: InvoiceSend) -> Delivery:
    """Return how the send's delivery went: its mail's or text message's state once queued, else its job's."""
    text = send.sms_message
    if text is not None:
        return Delivery(text.status, text.attempts, text.last_error, text.sent_at)
    message = send.message
    if message is not None:
        return Delivery(message.status, message.attempts, message.last_error, message.sent_at)
    job = send.job
    if job is not None and job.status == "failed":
        return Delivery("failed", job.attempts, job.last_error, None)
    return Delivery("requested", job.attempts if job is not None else 0, None, None)


def send_summaries(invoices: Sequence[Invoice]) -> dict[int, tuple[datetime | None, int]]:
    """Return per invoice id when it was last sent to its customer (test copies aside) and how many times."""
    ids = [invoice.id for invoice in invoices if invoice.status != "draft"]  # a draft is never sent
    summaries: dict[int, tuple[datetime | None, int]] = {invoice.id: (None, 0) for invoice in invoices}
    if ids:
        rows = db.session.execute(
            select(InvoiceSend.invoice_id, func.max(InvoiceSend.created_at), func.count(InvoiceSend.id))
            .where(InvoiceSend.invoice_id.in_(ids), InvoiceSend.test.is_(False))
            .group_by(InvoiceSend.invoice_id)
        )
        summaries.update({invoice_id: (last, count) for invoice_id, last, count in rows})
    return summaries


def send_summary(invoice: Invoice) -> tuple[datetime | None, int]:
    """Return when the invoice was last sent to its customer (test copies aside) and how many times."""
    return send_summaries([invoice])[invoice.id]

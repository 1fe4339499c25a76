"""The send log: every send of an invoice, and how its mail's delivery went (the outbox's status)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Invoice
from portal.models.mail import InvoiceSend


@dataclass(frozen=True)
class Delivery:
    """Where a send stands: requested (PDF being rendered), queued, sent or failed."""

    status: str
    attempts: int
    error: str | None
    delivered_at: datetime | None


def delivery(send: InvoiceSend) -> Delivery:
    """Return how the send's delivery went: its mail's state once queued, else its job's."""
    message = send.message
    if message is not None:
        return Delivery(message.status, message.attempts, message.last_error, message.sent_at)
    job = send.job
    if job is not None and job.status == "failed":
        return Delivery("failed", job.attempts, job.last_error, None)
    return Delivery("requested", job.attempts if job is not None else 0, None, None)


def send_summary(invoice: Invoice) -> tuple[datetime | None, int]:
    """Return when the invoice was last sent to its customer (test copies aside) and how many times."""
    if invoice.status == "draft":
        return None, 0  # a draft is never sent
    last, count = db.session.execute(
        select(func.max(InvoiceSend.created_at), func.count(InvoiceSend.id)).where(
            InvoiceSend.invoice_id == invoice.id, InvoiceSend.test.is_(False)
        )
    ).one()
    return last, count

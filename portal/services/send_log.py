"""The send log: every send of an invoice, and how its mail's delivery went (the outbox's status)."""

from __future__ import annotations

from collections.abc import Sequence
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

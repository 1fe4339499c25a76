"""What staff see of the background jobs: their merchant's jobs by status, and "retry" on a dead letter."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select

from portal.extensions import db
from portal.jobs.queue import retry_job
from portal.models import Invoice, Merchant
from portal.models.job import JOB_STATUSES, Job
from portal.models.mail import OutboxMessage
from portal.services.errors import NotFound

#: What each kind of job does, as staff read it.
KIND_LABELS = {
    "invoice.send": "Render the invoice PDF and compose its mail",
    "mail.deliver": "Deliver a mail",
    "bank.import_statement": "Import a bank statement posted to the API",
    "ledger.booking_mails": "Compose the mails of payments booked from a bank statement",
}


@dataclass(frozen=True)
class JobRow:
    job: Job
    label: str
    #: The invoice it concerns, if any (for a link).
    invoice: Invoice | None
    #: The mail's recipient and subject, for a delivery.
    mail: OutboxMessage | None


def status_counts(merchant: Merchant) -> dict[str, int]:
    """Return how many of the merchant's jobs are in each status."""
    counts = dict(
        db.session.execute(
            select(Job.status, func.count()).where(Job.merchant_id == merchant.id).group_by(Job.status)
        ).all()
    )
    return {status: counts.get(status, 0) for status in JOB_STATUSES}


def list_jobs(merchant: Merchant, *, status: str | None = None, limit: int = 100) -> list[JobRow]:
    """Return the merchant's latest jobs (failed ones first when all are asked for), described."""
    statement = select(Job).where(Job.merchant_id == merchant.id)
    if status in JOB_STATUSES:
        statement = statement.where(Job.status == status)
    jobs = list(db.session.scalars(statement.order_by(Job.id.desc()).limit(limit)))
    return _describe(merchant, jobs)


def _describe(merchant: Merchant, jobs: Sequence[Job]) -> list[JobRow]:
    message_ids = [job.payload.get("message_id") for job in jobs if job.kind == "mail.deliver"]
    messages = {
        m.id: m
        for m in db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.merchant_id == merchant.id, OutboxMessage.id.in_(message_ids))
        )
    }
    invoice_ids = {job.payload.get("invoice_id") for job in jobs} | {m.invoice_id for m in messages.values()}
    invoices = {
        i.id: i
        for i in db.session.scalars(
            select(Invoice).where(Invoice.merchant_id == merchant.id, Invoice.id.in_(invoice_ids - {None}))
        )
    }
    rows = []
    for job in jobs:
        mail = messages.get(job.payload.get("message_id")) if job.kind == "mail.deliver" else None
        invoice_id = mail.invoice_id if mail is not None else job.payload.get("invoice_id")
        rows.append(
            JobRow(
                job=job,
                label=KIND_LABELS.get(job.kind, job.kind),
                invoice=invoices.get(invoice_id),
                mail=mail,
            )
        )
    return rows


def get_job(merchant: Merchant, job_id: int) -> Job:
    """Return the merchant's job, or NotFound for anyone else's."""
    job = db.session.scalar(select(Job).where(Job.id == job_id, Job.merchant_id == merchant.id))
    if job is None:
        raise NotFound("No such job")
    return job


def retry(job: Job) -> None:
    """Queue a failed job again now, with a fresh count of attempts."""
    retry_job(job)
    if job.kind == "mail.deliver":
        message = db.session.get(OutboxMessage, job.payload.get("message_id"))
        if message is not None and message.status == "failed":
            message.status = "queued"
    db.session.flush()

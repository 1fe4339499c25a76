"""The outbox: mail is queued in the caller's transaction and delivered by a job, with retries.

Delivery is at-least-once with the same Message-ID on every attempt: the Message-ID is fixed when
the mail is queued, and a message is marked sent in the same commit that finishes its job. A
duplicate can only happen when a worker dies between the SMTP server's acceptance and its own commit.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid, parseaddr
from typing import Any

from flask import current_app

from portal.extensions import db
from portal.jobs.queue import PermanentError, RunReport, enqueue, job_type, run_due
from portal.mail.transport import Transport, configured_transport
from portal.models.base import utcnow
from portal.models.job import Job
from portal.models.mail import OutboxAttachment, OutboxMessage

log = logging.getLogger(__name__)

DELIVER = "mail.deliver"
MAIL_QUEUE = "mail"
MAX_ATTEMPTS = 8
#: Longer than any SMTP timeout: a worker still holding a message after this is presumed dead.
LEASE = timedelta(minutes=10)
FIRST_RETRY = timedelta(seconds=30)
LONGEST_RETRY = timedelta(hours=2)

#: A transport given by the caller of deliver_due (tests, a relay of one's own); else PORTAL_SMTP_URL's.
_transport: ContextVar[Transport | None] = ContextVar("portal_mail_transport", default=None)


@dataclass(frozen=True)
class MailAttachment:
    filename: str
    content_type: str
    data: bytes
    #: Set for a part the HTML shows inline (cid:<content_id>), such as the logo.
    content_id: str | None = None


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0


def _one_line(value: str) -> str:
    # A line break in a header would let a name or subject inject headers.
    return " ".join(value.split())


def queue_mail(
    *,
    merchant_id: int,
    kind: str,
    to: str,
    subject: str,
    text: str,
    html: str | None = None,
    reply_to: str | None = None,
    from_name: str | None = None,
    invoice_id: int | None = None,
    attachments: Sequence[MailAttachment] = (),
) -> OutboxMessage:
    """Add a message and its delivery job inside the caller's transaction (flushed, not committed)."""
    domain = parseaddr(current_app.config["MAIL_FROM"])[1].rpartition("@")[2] or "localhost"
    message = OutboxMessage(
        merchant_id=merchant_id,
        kind=kind,
        invoice_id=invoice_id,
        to_address=_one_line(to),
        reply_to=_one_line(reply_to) if reply_to else None,
        from_name=_one_line(from_name)[:200] if from_name else None,
        subject=_one_line(subject)[:300],
        text_body=text,
        html_body=html,
        message_id=make_msgid(domain=domain),
        status="queued",
        attempts=0,
        attachments=[
            OutboxAttachment(
                merchant_id=merchant_id,
                filename=a.filename,
                content_type=a.content_type,
                content_id=a.content_id,
                size=len(a.data),
                data=a.data,
            )
            for a in attachments
        ],
    )
    db.session.add(message)
    db.session.flush()
    enqueue(DELIVER, {"message_id": message.id}, merchant_id=merchant_id, queue=MAIL_QUEUE)
    return message


def build_email(message: OutboxMessage, mail_from: str) -> EmailMessage:
    """Turn an outbox row into a MIME message: text, HTML with inline parts, then attachments."""
    email = EmailMessage()
    sender_name, sender_address = parseaddr(mail_from)
    email["From"] = formataddr((message.from_name or sender_name, sender_address))
    email["To"] = message.to_address
    if message.reply_to:
        email["Reply-To"] = message.reply_to
    email["Subject"] = message.subject
    email["Date"] = format_datetime(message.created_at)
    email["Message-ID"] = message.message_id
    email.set_content(message.text_body)
    if message.html_body:
        email.add_alternative(message.html_body, subtype="html")
        html_part = email.get_payload()[-1]
        for part in message.attachments:
            if part.content_id:
                maintype, _, subtype = part.content_type.partition("/")
                html_part.add_related(part.data, maintype, subtype, cid=f"<{part.content_id}>", filename=part.filename)
    for part in message.attachments:
        if not part.content_id:
            maintype, _, subtype = part.content_type.partition("/")
            email.add_attachment(part.data, maintype, subtype, filename=part.filename)
    return email


def _record_failure(payload: dict[str, Any], job: Job, error: str, final: bool) -> None:
    message = db.session.get(OutboxMessage, payload.get("message_id"))
    kind = message.kind if message is not None else "?"
    if message is not None:
        message.attempts = job.attempts
        message.last_error = error
        if final:
            message.status = "failed"
    if final:
        log.error("mail %s (%s) failed after %s attempts: %s", payload.get("message_id"), kind, job.attempts, error)
    else:
        log.warning(
            "mail %s (%s) not sent (attempt %s), will retry: %s", payload.get("message_id"), kind, job.attempts, error
        )


@job_type(
    DELIVER,
    queue=MAIL_QUEUE,
    priority=0,
    max_attempts=MAX_ATTEMPTS,
    lease=LEASE,
    first_retry=FIRST_RETRY,
    longest_retry=LONGEST_RETRY,
    on_failure=_record_failure,
)
def deliver_message(payload: dict[str, Any], job: Job) -> None:
    """Send one outbox message; it is marked sent in the commit that finishes the job."""
    message = db.session.get(OutboxMessage, payload.get("message_id"))
    if message is None or message.status == "sent":
        return  # deleted with its merchant, or sent by an earlier attempt that committed
    transport = _transport.get() or configured_transport()
    try:
        email = build_email(message, current_app.config["MAIL_FROM"])
    except (ValueError, TypeError) as exc:
        raise PermanentError(f"Cannot build the message: {exc}") from exc
    message_pk = message.id
    db.session.commit()  # no transaction stays open during the SMTP conversation
    transport.send(email)
    message = db.session.get(OutboxMessage, message_pk)
    message.status = "sent"
    message.attempts = job.attempts
    message.sent_at = utcnow()
    message.delivered_via = transport.name
    message.last_error = None
    log.info("mail %s (%s) sent via %s", message_pk, message.kind, transport.name)


def deliver_due(transport: Transport | None = None, *, limit: int = 100) -> DeliveryReport:
    """Run the due mail jobs now, through the given transport (else PORTAL_SMTP_URL's, or the console)."""
    reset = _transport.set(transport)
    try:
        report: RunReport = run_due([MAIL_QUEUE], limit=limit)
    finally:
        _transport.reset(reset)
    return DeliveryReport(sent=report.done, retrying=report.retrying, failed=report.failed)


def retry_delay(attempts: int) -> timedelta:
    """Return the wait after the given number of failed deliveries: 30 s, 1 min, 2 min, … up to 2 h."""
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), LONGEST_RETRY)

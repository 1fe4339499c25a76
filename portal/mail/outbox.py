"""The outbox: mail is queued in the caller's transaction and delivered by a worker, once, with retries."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid, parseaddr

from flask import current_app
from sqlalchemy import and_, or_, select, update

from portal.extensions import db
from portal.mail.transport import Transport
from portal.models.base import utcnow
from portal.models.mail import OutboxAttachment, OutboxMessage

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
#: Longer than any SMTP timeout: a worker still holding a message after this is presumed dead.
LEASE = timedelta(minutes=10)
FIRST_RETRY = timedelta(seconds=30)
LONGEST_RETRY = timedelta(hours=2)


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
    """Add a message to the outbox inside the caller's transaction (flushed, not committed)."""
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
        next_attempt_at=utcnow(),
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


def retry_delay(attempts: int) -> timedelta:
    """Return the wait after the given number of failed attempts: 30 s, 1 min, 2 min, … up to 2 h."""
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), LONGEST_RETRY)


def _claimable(now: datetime):
    return or_(
        and_(OutboxMessage.status == "queued", OutboxMessage.next_attempt_at <= now),
        # A worker that died mid-send left its lease behind: the message is due again.
        and_(OutboxMessage.status == "sending", OutboxMessage.lease_until < now),
    )


def _claim_next(now: datetime) -> tuple[int, str] | None:
    """Take the next due message for this worker, in a transaction of its own."""
    query = (
        select(OutboxMessage.id)
        .where(_claimable(now))
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(1)
    )
    if db.session.get_bind().dialect.name == "postgresql":
        # Concurrent workers skip the rows another one is claiming instead of queueing behind it.
        query = query.with_for_update(skip_locked=True)
    for _ in range(10):
        message_id = db.session.scalar(query)
        if message_id is None:
            db.session.commit()
            return None
        token = secrets.token_hex(16)
        # Compare-and-set: on SQLite (no row locks) two workers may pick the same id, and only one wins here.
        claimed = db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id, _claimable(now))
            .values(
                status="sending",
                claim_token=token,
                lease_until=now + LEASE,
                attempts=OutboxMessage.attempts + 1,
            )
            .execution_options(synchronize_session=False)
        ).rowcount
        db.session.commit()
        if claimed == 1:
            return message_id, token
    return None


def _give_up_on_lost_messages(now: datetime) -> None:
    # A message whose sending killed its worker every time must not be retried forever.
    db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.status == "sending",
            OutboxMessage.lease_until < now,
            OutboxMessage.attempts >= MAX_ATTEMPTS,
        )
        .values(status="failed", claim_token=None, lease_until=None, last_error="The worker was lost while sending")
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def _record(message_id: int, token: str, **values) -> None:
    # Only the worker holding the claim may record the outcome.
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.claim_token == token)
        .values(claim_token=None, lease_until=None, **values)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def deliver_due(transport: Transport, *, limit: int = 100) -> DeliveryReport:
    """Send the messages that are due, each claimed, sent and recorded in transactions of its own.

    The worker is the caller here, so it commits: a claim must be visible to other workers
    before the slow SMTP conversation starts, and each outcome must stick on its own.
    """
    report = DeliveryReport()
    mail_from = current_app.config["MAIL_FROM"]
    _give_up_on_lost_messages(utcnow())
    for _ in range(limit):
        claimed = _claim_next(utcnow())
        if claimed is None:
            break
        message_id, token = claimed
        message = db.session.get(OutboxMessage, message_id)
        attempts, kind = message.attempts, message.kind
        try:
            email = build_email(message, mail_from)
        except (ValueError, TypeError) as exc:
            db.session.commit()
            _record(message_id, token, status="failed", last_error=f"Cannot build the message: {exc}"[:2000])
            log.error("mail %s (%s) failed: cannot build the message: %s", message_id, kind, exc)
            report.failed += 1
            continue
        db.session.commit()  # no transaction stays open during the SMTP conversation
        try:
            transport.send(email)
        except Exception as exc:  # noqa: BLE001 - any transport error means "try again later"
            error = f"{type(exc).__name__}: {exc}"[:2000]
            if attempts >= MAX_ATTEMPTS:
                _record(message_id, token, status="failed", last_error=error)
                log.error("mail %s (%s) failed after %s attempts: %s", message_id, kind, attempts, error)
                report.failed += 1
            else:
                delay = retry_delay(attempts)
                _record(message_id, token, status="queued", last_error=error, next_attempt_at=utcnow() + delay)
                log.warning(
                    "mail %s (%s) not sent (attempt %s), retrying in %s: %s", message_id, kind, attempts, delay, error
                )
                report.retrying += 1
        else:
            _record(message_id, token, status="sent", sent_at=utcnow(), delivered_via=transport.name, last_error=None)
            log.info("mail %s (%s) sent via %s", message_id, kind, transport.name)
            report.sent += 1
    return report

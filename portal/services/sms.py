"""Invoices by text message: a merchant's Twilio account, short portal links, and the SMS job.

An SMS is written to `sms_messages` and its job enqueued in the transaction of the change that
causes it, as mail is; the job sends it through Twilio's official SDK and is retried with backoff
when Twilio is down or answers 5xx/429. A number Twilio refuses (4xx) fails at once, visibly.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import phonenumbers
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from portal.documents.html import format_day, format_money
from portal.domain.errors import DomainError
from portal.domain.money import Money
from portal.extensions import db
from portal.jobs.queue import PermanentError, enqueue, job_type
from portal.models import ApiKey, Customer, Invoice, Merchant, StaffUser
from portal.models.base import utcnow
from portal.models.job import Job
from portal.models.self_service import Contact
from portal.models.sms import ShortLink, SmsAccount, SmsMessage
from portal.payments.encryption import decrypt_secret, encrypt_secret, key_hint
from portal.services.errors import Conflict
from portal.services.links import LinkExpired, LinkInvalid, LinkTarget
from portal.services.send_log import log_send

SEND_SMS = "sms.send"
_ACCOUNT_SID = re.compile(r"AC[0-9a-fA-F]{32}")
_AUTH_TOKEN = re.compile(r"[0-9a-fA-F]{32}")
_SERVICE_SID = re.compile(r"MG[0-9a-fA-F]{32}")
#: 10 characters of base 62: about 59 bits, far beyond guessing through the rate limit.
_CODE_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_CODE_LENGTH = 10


# -- phone numbers ---------------------------------------------------------------------------------


def normalize_phone(value: str | None, region: str | None, field: str = "phone") -> str | None:
    """Return the number in E.164 (+32470123456), or None when empty; DomainError when it is no valid number.

    A number written without its country code is read as one of `region` (the customer's or the
    merchant's country).
    """
    text = (value or "").strip()
    if not text:
        return None
    try:
        number = phonenumbers.parse(text, (region or "").upper() or None)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise DomainError(
            "This is not a valid phone number: write it with its country code, e.g. +32 470 12 34 56", field
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def mobile_number(customer: Customer) -> str | None:
    """Return the customer's number in E.164 if a text message can reach it (not a fixed line), else None."""
    if not customer.phone:
        return None
    try:
        number = phonenumbers.parse(
            customer.phone, (customer.country or customer.merchant.country or "").upper() or None
        )
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    if phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.FIXED_LINE:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# -- the merchant's Twilio account ----------------------------------------------------------------


def sms_account(merchant: Merchant) -> SmsAccount | None:
    """Return the merchant's Twilio account when it is set up and enabled."""
    account = db.session.get(SmsAccount, merchant.id)
    return account if account is not None and account.enabled else None


def set_sms_account(
    merchant: Merchant, *, enabled: bool, account_sid: str, sender: str, auth_token: str | None = None
) -> SmsAccount:
    """Store or change the merchant's Twilio settings; the auth token is encrypted (None keeps the stored one)."""
    account_sid = (account_sid or "").strip()
    if not _ACCOUNT_SID.fullmatch(account_sid):
        raise DomainError("A Twilio Account SID is AC followed by 32 hexadecimal characters", "account_sid")
    sender = (sender or "").strip()
    if not _SERVICE_SID.fullmatch(sender):
        sender = normalize_phone(sender, merchant.country, "sender") or ""
        if not sender:
            raise DomainError("Give the Twilio number to send from, or a Messaging Service SID (MG…)", "sender")
    account = db.session.get(SmsAccount, merchant.id)
    if auth_token is not None and auth_token.strip():
        auth_token = auth_token.strip()
        if not _AUTH_TOKEN.fullmatch(auth_token):
            raise DomainError("A Twilio auth token is 32 hexadecimal characters", "auth_token")
    elif account is None:
        raise DomainError("Give the Twilio auth token", "auth_token")
    else:
        auth_token = None
    if account is None:
        account = SmsAccount(merchant_id=merchant.id)
        db.session.add(account)
    account.enabled = enabled
    account.account_sid = account_sid
    account.sender = sender
    if auth_token is not None:
        account.auth_token_encrypted = encrypt_secret(auth_token)
        account.token_hint = key_hint(auth_token)
    db.session.flush()
    return account


# -- short links ----------------------------------------------------------------------------------


def make_short_link(customer: Customer, invoice: Invoice | None = None, contact: Contact | None = None) -> str:
    """Return a short URL (PUBLIC_URL/s/<code>) that opens what a magic link for the contact would.

    contact: whom the text message goes to (the customer's primary contact unless told); the link
    opens as them, and stops when their links (or the customer's) are revoked.
    """
    from portal.services.contacts import primary_contact

    if contact is None:
        contact = primary_contact(customer)
    elif contact.customer_id != customer.id:
        raise DomainError("A short link opens as one of the customer's own contacts", "contact")
    code = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(_CODE_LENGTH))
    db.session.add(
        ShortLink(
            code=code,
            merchant_id=customer.merchant_id,
            customer_id=customer.id,
            invoice_id=invoice.id if invoice is not None else None,
            link_version=customer.link_version,
            contact_id=contact.id,
            contact_link_version=contact.link_version,
            expires_at=utcnow() + timedelta(days=int(current_app.config["LINK_MAX_AGE_DAYS"])),
        )
    )
    db.session.flush()
    return f"{current_app.config['PUBLIC_URL'].rstrip('/')}/s/{code}"


def read_short_link(code: str) -> LinkTarget:
    """Return what a short code opens, or raise LinkInvalid (unknown, revoked) / LinkExpired."""
    if not code or len(code) > 16:
        raise LinkInvalid()
    link = db.session.get(ShortLink, code)
    if link is None or link.code != code:  # SQLite and PostgreSQL compare case-sensitively; be explicit
        raise LinkInvalid()
    customer = db.session.get(Customer, link.customer_id)
    if customer is None or customer.link_version != link.link_version:
        raise LinkInvalid()
    contact = _short_link_contact(customer, link)
    if contact is None:
        raise LinkInvalid()
    if link.expires_at <= utcnow():
        raise LinkExpired(customer.id, contact.id)
    invoice = db.session.get(Invoice, link.invoice_id) if link.invoice_id is not None else None
    if invoice is not None and (invoice.customer_id != customer.id or invoice.status == "draft"):
        invoice = None
    return LinkTarget(customer=customer, invoice=invoice, contact=contact)


def _short_link_contact(customer: Customer, link: ShortLink) -> Contact | None:
    """Return the contact a short link opens as, or None when their links were revoked or they were removed."""
    from portal.services.contacts import primary_contact

    if link.contact_id is None:
        # Made before short links named their contact: they went to the customer's own number.
        return primary_contact(customer)
    contact = db.session.get(Contact, link.contact_id)
    if contact is None or contact.customer_id != customer.id or contact.removed_at is not None:
        return None
    return contact if contact.link_version == link.contact_link_version else None


# -- sending --------------------------------------------------------------------------------------


def sms_unavailable_reason(invoice: Invoice) -> str | None:
    """Say why the invoice cannot go by SMS (no Twilio account, no mobile number), or None when it can."""
    if sms_account(invoice.merchant) is None:
        return "Text messages are not set up: add a Twilio account in Settings → SMS"
    if mobile_number(invoice.customer) is None:
        return f"{invoice.customer.name} has no mobile number to send a text message to"
    return None


def invoice_sms_text(invoice: Invoice, link: str) -> str:
    """The text of the invoice SMS, in the invoice's language: who, which invoice, how much, when, the link."""
    from portal.services.invoices import invoice_breakdown

    merchant = invoice.merchant
    breakdown = invoice_breakdown(invoice, merchant.today())
    amount_due = breakdown.amount_due if breakdown is not None and invoice.status == "open" else 0
    with force_locale(invoice.document_language):
        text = _invoice_sms_text(invoice, merchant, amount_due, link)
    # No-break spaces are outside the GSM 03.38 alphabet: one would turn the message into UCS-2 (70 characters a part).
    return text.replace("\u00a0", " ").replace("\u202f", " ")


def _invoice_sms_text(invoice: Invoice, merchant: Merchant, amount_due: int, link: str) -> str:
    if amount_due > 0:
        return _(
            "%(merchant)s: invoice %(number)s, %(amount)s due by %(date)s. View and pay: %(link)s",
            merchant=merchant.name,
            number=invoice.number,
            amount=format_money(Money(amount_due, invoice.currency)),
            date=format_day(invoice.due_date),
            link=link,
        )
    return _(
        "%(merchant)s: invoice %(number)s. View it: %(link)s",
        merchant=merchant.name,
        number=invoice.number,
        link=link,
    )


@dataclass(frozen=True)
class QueuedSms:
    """A message written to the outbox table, and the job that will send it."""

    message: SmsMessage
    job: Job


def send_invoice_sms(invoice: Invoice, *, by: StaffUser | ApiKey | None = None) -> QueuedSms:
    """Queue the invoice by SMS to the customer's mobile number, with a short portal link (Conflict when it cannot go).

    The send is logged with who asked (`by`: a staff member, an API key, or the system).
    """
    if invoice.status in ("draft", "void"):
        raise Conflict(f"Invoice {invoice.number or '(draft)'} is {invoice.status}: it cannot be sent", "status")
    reason = sms_unavailable_reason(invoice)
    if reason is not None:
        raise Conflict(reason, "channels")
    queued = queue_sms(
        invoice.merchant,
        invoice.customer,
        kind="invoice",
        body=invoice_sms_text(invoice, make_short_link(invoice.customer, invoice)),
        invoice=invoice,
    )
    invoice.first_sent_at = invoice.first_sent_at or utcnow()  # "Send" becomes "Resend"
    logged = log_send(invoice, channel="sms", to=queued.message.to, by=by, sms_message=queued.message)
    logged.job_id = queued.job.id
    return queued


def queue_sms(
    merchant: Merchant, customer: Customer, *, kind: str, body: str, invoice: Invoice | None = None
) -> QueuedSms:
    """Write the message and its sending job in the caller's transaction."""
    to = mobile_number(customer)
    if to is None:
        raise Conflict(f"{customer.name} has no mobile number to send a text message to", "phone")
    message = SmsMessage(
        merchant_id=merchant.id,
        customer_id=customer.id,
        invoice_id=invoice.id if invoice is not None else None,
        kind=kind,
        to=to,
        body=body,
        status="queued",
        attempts=0,
    )
    db.session.add(message)
    db.session.flush()
    job = enqueue(SEND_SMS, {"sms_id": message.id}, merchant_id=merchant.id)
    return QueuedSms(message, job)


def _twilio_client(account: SmsAccount):
    from twilio.http.http_client import TwilioHttpClient
    from twilio.rest import Client

    timeout = float(current_app.config["TWILIO_TIMEOUT_SECONDS"])
    client = Client(
        account.account_sid, decrypt_secret(account.auth_token_encrypted), http_client=TwilioHttpClient(timeout=timeout)
    )
    client.api.base_url = current_app.config["TWILIO_API_BASE"].rstrip("/")
    return client


def _record_failure(payload: dict[str, Any], job: Job, error: str, final: bool) -> None:
    message = db.session.get(SmsMessage, payload.get("sms_id"))
    if message is None or message.status != "queued":
        return
    message.attempts += 1
    message.last_error = error[:2000]
    if final:
        message.status = "failed"


@job_type(SEND_SMS, max_attempts=8, on_failure=_record_failure)
def deliver_sms(payload: dict[str, Any], job: Job) -> None:
    """Send one queued SMS through Twilio; retried on outages, failed at once when Twilio refuses it."""
    from twilio.base.exceptions import TwilioRestException

    message = db.session.get(SmsMessage, payload.get("sms_id"))
    if message is None or message.merchant_id != job.merchant_id:
        raise PermanentError("The text message no longer exists")
    if message.status != "queued":
        return  # sent already (a retried job after a lost commit): never twice on purpose
    account = db.session.scalar(select(SmsAccount).where(SmsAccount.merchant_id == message.merchant_id))
    if account is None or not account.enabled:
        raise PermanentError("Text messages are no longer set up for this merchant")
    sender = {"messaging_service_sid": account.sender} if account.sender.startswith("MG") else {"from_": account.sender}
    try:
        sent = _twilio_client(account).messages.create(to=message.to, body=message.body, **sender)
    except TwilioRestException as exc:
        if 400 <= (exc.status or 0) < 500 and exc.status not in (408, 429):
            raise PermanentError(f"Twilio refused the message ({exc.status}, code {exc.code}): {exc.msg}") from exc
        raise
    message.attempts += 1
    message.status = "sent"
    message.provider_id = sent.sid
    message.sent_at = utcnow()
    message.last_error = None
    db.session.flush()

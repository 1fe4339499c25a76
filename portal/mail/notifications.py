"""The messages the portal sends; each is queued in the outbox (or, for an invoice, as a job) in the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import select

from portal.api.events import record_event
from portal.documents.archive import invoice_filename, receipt_filename, ubl_download
from portal.documents.html import format_day, format_money
from portal.documents.pdf import invoice_pdf, receipt_pdf
from portal.domain.money import Money
from portal.einvoice.document import NotExpressible
from portal.extensions import db
from portal.jobs.queue import PermanentError, enqueue, job_type
from portal.mail.compose import Button, Composed, compose, fill_html, fill_plain, fill_text
from portal.mail.defaults import INVOICE_MAIL, MailText
from portal.mail.outbox import MailAttachment, queue_mail
from portal.models import ApiKey, Comment, Customer, Invoice, Merchant, Payment, StaffUser
from portal.models.base import utcnow
from portal.models.job import Job
from portal.models.mail import InvoiceSend, OutboxMessage
from portal.services.email_templates import invoice_mail_in_force
from portal.services.errors import Conflict
from portal.services.invoices import invoice_breakdown
from portal.services.links import make_portal_link, public_url
from portal.services.send_log import log_send


def _staff_language() -> str:
    # Staff accounts have no language of their own yet: they read the deployment's default.
    return current_app.config.get("BABEL_DEFAULT_LOCALE", "en")


def _customer_footer(merchant: Merchant) -> str:
    return _(
        "You receive this email because %(merchant)s sends you invoices through its customer portal.",
        merchant=merchant.name,
    )


def staff_recipients(merchant: Merchant) -> list[str]:
    """Return the addresses of the merchant's active staff, or its support address when it has none."""
    emails = list(
        db.session.scalars(
            select(StaffUser.email)
            .where(StaffUser.merchant_id == merchant.id, StaffUser.active.is_(True))
            .order_by(StaffUser.id)
        )
    )
    if not emails and merchant.support_email:
        emails = [merchant.support_email]
    return emails


def _admin_invoice_url(invoice: Invoice) -> str:
    return public_url("admin.invoice_detail", invoice_id=invoice.id)


def invoice_template(invoice: Invoice) -> MailText:
    """Return the invoice's mail wording: as issued for a finalized invoice, the merchant's current one for a draft."""
    language = invoice.document_language
    if invoice.mail_template:
        return MailText(invoice.mail_template["subject"], invoice.mail_template["body"])
    if invoice.is_issued:
        # Finalized before the wording was kept with the invoice: the built-in one, never a later edit.
        return INVOICE_MAIL.get(language, INVOICE_MAIL["en"])
    return invoice_mail_in_force(invoice.merchant, language)


def compose_invoice_mail(
    invoice: Invoice,
    *,
    link: str,
    test_for: str | None = None,
    number: str | None = None,
    language: str | None = None,
) -> tuple[str, Composed]:
    """Compose the invoice mail in the invoice's language with its wording (the merchant's template); queue nothing.

    test_for names the customer in the banner of a test copy; number stands in for a draft's.
    language: a contact's own language when it differs from the invoice's (the merchant's wording
    in that language; the attached PDF stays the document as issued).
    """
    language = language or invoice.document_language
    merchant = invoice.merchant
    breakdown = invoice_breakdown(invoice, merchant.today())
    amount_due = breakdown.amount_due if breakdown is not None and invoice.status in ("draft", "open") else 0
    # The language, the customer's name and the wording are the invoice's, as issued.
    with force_locale(language):
        values = {
            "number": invoice.number or number or "",
            "amount_due": format_money(Money(amount_due, invoice.currency)),
            "due_date": format_day(invoice.due_date),
            "merchant": merchant.name,
            "customer": invoice.buyer_party.name,
            "link": link,
        }
        if language == invoice.document_language:
            template = invoice_template(invoice)
        else:
            template = invoice_mail_in_force(merchant, language)
        subject = fill_text(template.subject, values)
        banner = None
        if test_for is not None:
            subject = f"[TEST] {subject}"
            banner = _("Test copy: this is the email %(customer)s will receive.", customer=test_for)
        label = _("View this invoice")
        composed = compose(
            merchant,
            body_text=fill_plain(template.body, values, label),
            body_html=fill_html(template.body, values, Button(label, link)),
            banner=banner,
            preheader=subject,
            footer=_customer_footer(merchant),
            contact_email=invoice.seller_party.email,
        )
    return subject, composed


SEND_INVOICE = "invoice.send"


def send_invoice(
    invoice: Invoice, *, test_to: StaffUser | str | None = None, by: StaffUser | ApiKey | None = None
) -> Job:
    """Enqueue the invoice mail (PDF attached, magic link inside) to the customer, or a test copy to test_to.

    The worker renders the PDF (from the render cache when valid) and composes the mail, so the
    request returns at once. A test copy is the customer's mail as it will be sent, with "[TEST]"
    before the subject and a banner saying so; a draft can be test-sent (its PDF marked DRAFT, its link
    to the staff preview), never sent live. Sending again is a resend: the customer gets a fresh link.
    Each send is logged (InvoiceSend) with who asked (`by`: a staff member, an API key, or the system).
    """
    _check_sendable(invoice, test=test_to is not None)
    payload: dict[str, Any] = {"invoice_id": invoice.id, "test": test_to is not None}
    if test_to is not None:
        payload["to"] = test_to.email if isinstance(test_to, StaffUser) else test_to
        sends = [log_send(invoice, channel="email", to=payload["to"], test=True, by=by)]
        payload["send_id"] = sends[0].id
    else:
        # Every billing contact who takes invoice mail, each in their own language with their own link.
        from portal.services.contacts import recipients

        readers = recipients(invoice.customer, "invoice")
        payload["to"] = readers[0].email if readers else invoice.customer.email
        payload["contacts"] = [contact.id for contact in readers]
        # One entry of the send log per recipient, each linked to its mail once the worker queued it.
        sends = [log_send(invoice, channel="email", to=contact.email, test=False, by=by) for contact in readers]
        payload["send_ids"] = [logged.id for logged in sends]
    job = enqueue(SEND_INVOICE, payload, merchant_id=invoice.merchant_id)
    for logged in sends:
        logged.job_id = job.id
    if test_to is None:
        invoice.first_sent_at = invoice.first_sent_at or utcnow()
        record_event(invoice.merchant, "invoice.sent", invoice)
    return job


def _check_sendable(invoice: Invoice, *, test: bool = False) -> None:
    # A test copy of a draft is how staff check the mail before it goes live; the customer never gets a draft.
    if invoice.status == "draft" and not test:
        raise Conflict("A draft cannot be sent: finalize it first", "status")
    if invoice.status == "void":
        raise Conflict(f"Invoice {invoice.number} is void: it cannot be sent", "status")


@job_type(SEND_INVOICE)
def render_and_queue_invoice_mail(payload: dict[str, Any], job: Job) -> None:
    """Render the invoice's PDF and queue its mail: the worker's half of send_invoice."""
    invoice = db.session.get(Invoice, payload.get("invoice_id"))
    if invoice is None or invoice.merchant_id != job.merchant_id:
        raise PermanentError("The invoice no longer exists")
    try:
        _check_sendable(invoice, test=bool(payload.get("test")))
    except Conflict as exc:
        raise PermanentError(exc.message) from exc
    if "contacts" in payload:
        from portal.models.self_service import Contact

        send_ids = dict(zip(payload["contacts"], payload.get("send_ids", []), strict=False))
        for contact_id in payload["contacts"]:
            contact = db.session.get(Contact, contact_id)
            if contact is None or contact.customer_id != invoice.customer_id or contact.removed_at is not None:
                continue  # removed since the mail was asked for
            message = queue_invoice_mail(invoice, to=contact.email, contact=contact)
            _link_send(send_ids.get(contact_id), invoice, message)
        return
    message = queue_invoice_mail(invoice, to=payload["to"], test=bool(payload.get("test")))
    _link_send(payload.get("send_id"), invoice, message)


def _link_send(send_id: int | None, invoice: Invoice, message: OutboxMessage) -> None:
    """Point the send log's entry at the mail the worker queued, so its delivery can be read."""
    logged = db.session.get(InvoiceSend, send_id) if send_id else None
    if logged is not None and logged.invoice_id == invoice.id:
        logged.outbox_message_id = message.id


def queue_invoice_mail(invoice: Invoice, *, to: str, test: bool = False, contact=None) -> OutboxMessage:
    """Render the PDF, compose the mail and put it in the outbox now (the job's work).

    contact: the billing contact it goes to, mailed in their language with their own link.
    """
    merchant, customer = invoice.merchant, invoice.customer
    as_of = merchant.today()
    if invoice.status == "draft":
        # Only a test copy reaches here: the customer cannot open a draft, so its link is the staff preview.
        link = public_url("admin.invoice_preview", invoice_id=invoice.id)
        with force_locale(invoice.document_language):
            number = _("DRAFT")
    else:
        link, number = make_portal_link(customer, invoice, contact=contact).url, None
    subject, composed = compose_invoice_mail(
        invoice,
        link=link,
        number=number,
        test_for=customer.name if test else None,
        # The customer's own (primary) address reads the invoice as issued; a colleague in their language.
        language=contact.language if contact is not None and not contact.is_primary else None,
    )
    files = invoice_mail_files(invoice, as_of)
    return queue_mail(
        merchant_id=merchant.id,
        kind="invoice_test" if test else "invoice",
        to=to,
        subject=subject,
        text=composed.text,
        html=composed.html,
        reply_to=merchant.support_email,
        from_name=merchant.name,
        invoice_id=invoice.id,
        attachments=(*composed.inline, *files),
    )


def invoice_mail_files(invoice: Invoice, as_of: date) -> tuple[MailAttachment, ...]:
    """Return the files the invoice mail carries: its PDF (Factur-X), and its UBL when the merchant asks for it."""
    files = [MailAttachment(invoice_filename(invoice), "application/pdf", invoice_pdf(invoice, as_of))]
    if invoice.merchant.attach_ubl_to_mail and invoice.status != "draft":  # a draft is no e-invoice
        try:
            ubl = ubl_download(invoice)
        except NotExpressible:
            pass  # no e-invoice can state it: the PDF alone, as the download does
        else:
            files.append(MailAttachment(ubl.filename, ubl.content_type, ubl.data))
    return tuple(files)


def _queue_customer_mail(
    customer: Customer,
    *,
    kind: str,
    subject: str,
    paragraphs: Sequence[str] = (),
    button: Button | None = None,
    quote: str | None = None,
    body_text: str | None = None,
    body_html: Markup | None = None,
    invoice_id: int | None = None,
    contact_email: str | None = None,
    to: str | None = None,
    language: str | None = None,
    files: Sequence[MailAttachment] = (),
) -> OutboxMessage:
    """Compose a notice to a customer in their language, branded and signed by the merchant, and queue it.

    The texts are given already translated (the caller holds force_locale of the same language); the
    footer is added here in that language. It goes to `to` in `language` (one of the customer's
    contacts), by default to the customer's own address in theirs, with `files` attached. Replies
    reach the merchant's support address.
    """
    merchant = customer.merchant
    with force_locale(language or customer.language):
        composed = compose(
            merchant,
            paragraphs=paragraphs,
            button=button,
            quote=quote,
            body_text=body_text,
            body_html=body_html,
            preheader=subject,
            footer=_customer_footer(merchant),
            contact_email=contact_email,
        )
    return queue_mail(
        merchant_id=merchant.id,
        kind=kind,
        to=to or customer.email,
        subject=subject,
        text=composed.text,
        html=composed.html,
        reply_to=merchant.support_email,
        from_name=merchant.name,
        invoice_id=invoice_id,
        attachments=(*composed.inline, *files),
    )


def send_fresh_link(customer: Customer, contact_id: int | None = None) -> None:
    """Queue a mail with a new portal link to the address on file of the contact whose link expired."""
    from portal.models.self_service import Contact
    from portal.services.contacts import primary_contact

    merchant = customer.merchant
    contact = db.session.get(Contact, contact_id) if contact_id is not None else None
    if contact is None or contact.customer_id != customer.id or contact.removed_at is not None:
        contact = primary_contact(customer)
    link = make_portal_link(customer, contact=contact).url
    with force_locale(contact.language):
        _queue_customer_mail(
            customer,
            kind="fresh_link",
            to=contact.email,
            language=contact.language,
            subject=_("Your new link to your invoices from %(merchant)s", merchant=merchant.name),
            paragraphs=[
                _("Hello %(name)s,", name=contact.name),
                _(
                    "Here is a new link to your invoices from %(merchant)s. It stays valid for %(days)s days.",
                    merchant=merchant.name,
                    days=current_app.config["LINK_MAX_AGE_DAYS"],
                ),
                _("If you did not ask for it, you can ignore this email."),
            ],
            button=Button(_("Open your invoices"), link),
        )


def notify_staff_of_comment(comment: Comment) -> None:
    """Queue a notification of a customer's comment to every staff member of the merchant."""
    invoice = comment.invoice
    merchant, customer = invoice.merchant, invoice.customer
    # The contact who wrote it, so staff know whom they answer (the customer's own address before contacts).
    writer = comment.contact or customer
    with force_locale(_staff_language()):
        subject = _("%(customer)s asked about invoice %(number)s", customer=customer.name, number=invoice.number)
        composed = compose(
            merchant,
            paragraphs=[
                _(
                    "%(customer)s (%(email)s) wrote about invoice %(number)s:",
                    customer=writer.name,
                    email=writer.email,
                    number=invoice.number,
                )
            ],
            quote=comment.body,
            button=Button(_("Reply in the admin area"), _admin_invoice_url(invoice)),
            preheader=subject,
        )
    for address in staff_recipients(merchant):
        queue_mail(
            merchant_id=merchant.id,
            kind="comment",
            to=address,
            subject=subject,
            text=composed.text,
            html=composed.html,
            reply_to=writer.email,
            invoice_id=invoice.id,
            attachments=composed.inline,
        )


def notify_customer_of_reply(comment: Comment) -> None:
    """Queue a staff member's reply to the one who asked: the contact behind the thread's last question.

    That contact reads it in their own language, with their own link; a question from before contacts
    (or from a contact since removed) is answered to the customer's primary address, as before.
    """
    invoice = comment.invoice
    merchant, customer = invoice.merchant, invoice.customer
    asker = _asking_contact(invoice)
    language = asker.language if asker is not None else customer.language
    link = make_portal_link(customer, invoice, contact=asker).url
    with force_locale(language):
        _queue_customer_mail(
            customer,
            kind="reply",
            subject=_("%(merchant)s replied about invoice %(number)s", merchant=merchant.name, number=invoice.number),
            paragraphs=[
                _("Hello %(name)s,", name=asker.name if asker is not None else customer.name),
                _(
                    "%(merchant)s replied to your message about invoice %(number)s:",
                    merchant=merchant.name,
                    number=invoice.number,
                ),
            ],
            quote=comment.body,
            button=Button(_("View the conversation"), link),
            invoice_id=invoice.id,
            to=asker.email if asker is not None else None,
            language=language,
        )


def _asking_contact(invoice: Invoice):
    """Return the contact who wrote the invoice's latest customer comment, if known and still a contact."""
    asked = db.session.scalar(
        select(Comment)
        .where(Comment.invoice_id == invoice.id, Comment.author_kind == "customer")
        .order_by(Comment.created_at.desc(), Comment.id.desc())
        .limit(1)
    )
    contact = asked.contact if asked is not None else None
    if contact is None or contact.removed_at is not None or contact.customer_id != invoice.customer_id:
        return None
    return contact


def _amount_paid(payment: Payment) -> str:
    return format_money(Money(payment.amount + payment.fee_amount + payment.interest_amount, payment.currency))


def send_payment_confirmation(payment: Payment) -> None:
    """Queue the confirmation of an online payment to each billing contact who takes them, in their language."""
    from portal.services.contacts import recipients

    invoice = payment.invoice
    customer = invoice.customer
    receipts = _receipt_files(invoice)
    for contact in recipients(customer, "payment"):
        link = make_portal_link(customer, invoice, contact=contact).url
        with force_locale(contact.language):
            _queue_customer_mail(
                customer,
                kind="payment_confirmation",
                to=contact.email,
                language=contact.language,
                subject=_("Payment received for invoice %(number)s", number=invoice.number),
                paragraphs=[
                    _("Hello %(name)s,", name=contact.name),
                    _(
                        "We received your payment of %(amount)s for invoice %(number)s on %(date)s. Thank you!",
                        amount=_amount_paid(payment),
                        number=invoice.number,
                        date=format_day(payment.paid_on),
                    ),
                ],
                button=Button(_("View this invoice"), link),
                invoice_id=invoice.id,
                files=receipts,
            )


def _receipt_files(invoice: Invoice) -> tuple[MailAttachment, ...]:
    """Return the receipt PDF once the invoice is paid (what the confirmation of the last payment carries)."""
    if invoice.status != "paid" or not any(payment.gross > 0 for payment in invoice.payments):
        return ()
    return (MailAttachment(receipt_filename(invoice), "application/pdf", receipt_pdf(invoice)),)


def notify_staff_of_payment(payment: Payment) -> None:
    """Queue a notification of an online payment to every staff member of the merchant."""
    invoice = payment.invoice
    merchant, customer = invoice.merchant, invoice.customer
    with force_locale(_staff_language()):
        subject = _("Invoice %(number)s was paid online", number=invoice.number)
        composed = compose(
            merchant,
            paragraphs=[
                _(
                    "%(customer)s paid %(amount)s for invoice %(number)s on %(date)s.",
                    customer=customer.name,
                    amount=_amount_paid(payment),
                    number=invoice.number,
                    date=format_day(payment.paid_on),
                )
            ],
            button=Button(_("Open the admin area"), _admin_invoice_url(invoice)),
            preheader=subject,
        )
    for address in staff_recipients(merchant):
        queue_mail(
            merchant_id=merchant.id,
            kind="payment_notice",
            to=address,
            subject=subject,
            text=composed.text,
            html=composed.html,
            invoice_id=invoice.id,
            attachments=composed.inline,
        )


def _admin_customer_url(customer: Customer) -> str:
    return public_url("admin.customer_detail", customer_id=customer.id)


def _balance(customer: Customer, currency: str) -> int:
    from sqlalchemy import func

    from portal.models.ledger import CreditEntry

    return int(
        db.session.scalar(
            select(func.coalesce(func.sum(CreditEntry.amount), 0)).where(
                CreditEntry.customer_id == customer.id, CreditEntry.currency == currency
            )
        )
        or 0
    )


def _credit_reason_for_customer(entry) -> str:
    number = entry.invoice.number if entry.invoice is not None else ""
    amount = format_money(Money(entry.amount, entry.currency))
    if entry.reason == "overpayment":
        return _("We received %(amount)s more than invoice %(number)s needed.", amount=amount, number=number)
    if entry.reason == "invoice_settled":
        return _("Your payment for invoice %(number)s arrived after it had already been settled.", number=number)
    if entry.reason == "invoice_void":
        return _("Your payment for invoice %(number)s arrived after it was cancelled.", number=number)
    if entry.reason == "credit_note":
        return _("A credit note on invoice %(number)s gave back money you had already paid.", number=number)
    return _("We received a payment from you that no open invoice needed.")


def _credit_reason_for_staff(entry) -> str:
    labels = {
        "overpayment": _("more than the invoice needed"),
        "invoice_settled": _("the invoice was already settled"),
        "invoice_void": _("the invoice was void"),
        "credit_note": _("the remainder of a credit note"),
    }
    return labels.get(entry.reason, _("no open invoice needed it"))


def notify_credit_added(entry, balance: int | None = None) -> None:
    """Tell the customer and the merchant's staff that money went to the customer's credit balance."""
    customer = db.session.get(Customer, entry.customer_id)
    merchant = customer.merchant
    balance = _balance(customer, entry.currency) if balance is None else balance
    link = make_portal_link(customer).url
    with force_locale(customer.language):
        amount = format_money(Money(entry.amount, entry.currency))
        _queue_customer_mail(
            customer,
            kind="credit_added",
            subject=_(
                "%(amount)s added to your credit balance with %(merchant)s", amount=amount, merchant=merchant.name
            ),
            paragraphs=[
                _("Hello %(name)s,", name=customer.name),
                _credit_reason_for_customer(entry),
                _(
                    "%(amount)s was added to your credit balance, which is now %(balance)s. You can use it to "
                    "settle an open invoice in your portal, or ask us to refund it.",
                    amount=amount,
                    balance=format_money(Money(balance, entry.currency)),
                ),
            ],
            button=Button(_("Open your invoices"), link),
            invoice_id=entry.invoice_id,
        )
    with force_locale(_staff_language()):
        amount = format_money(Money(entry.amount, entry.currency))
        subject = _("%(amount)s added to the credit balance of %(customer)s", amount=amount, customer=customer.name)
        composed = compose(
            merchant,
            paragraphs=[
                _(
                    "%(amount)s was booked on the credit balance of %(customer)s (%(reason)s), which is now %(balance)s.",
                    amount=amount,
                    customer=customer.name,
                    reason=_credit_reason_for_staff(entry),
                    balance=format_money(Money(balance, entry.currency)),
                ),
                _("Apply it to an open invoice or refund it from the customer's page in the admin area."),
            ],
            button=Button(_("Open the customer"), _admin_customer_url(customer)),
            preheader=subject,
        )
    for address in staff_recipients(merchant):
        queue_mail(
            merchant_id=merchant.id,
            kind="credit_notice",
            to=address,
            subject=subject,
            text=composed.text,
            html=composed.html,
            invoice_id=entry.invoice_id,
            attachments=composed.inline,
        )


def notify_staff_of_reversal(reversal) -> None:
    """Tell the merchant's staff that money went back: a refund or a chargeback, and what it reopened."""
    from portal.services.invoices import outstanding

    customer = db.session.get(Customer, reversal.customer_id)
    merchant = customer.merchant
    invoice = reversal.payment.invoice if reversal.payment is not None else None
    with force_locale(_staff_language()):
        amount = format_money(Money(reversal.amount, reversal.currency))
        if reversal.kind == "charged_back":
            subject = _("Chargeback of %(amount)s from %(customer)s", amount=amount, customer=customer.name)
        else:
            subject = _("Refund of %(amount)s to %(customer)s", amount=amount, customer=customer.name)
        paragraphs = []
        if invoice is not None and reversal.principal_amount + reversal.late_amount:
            left = format_money(Money(outstanding(invoice), invoice.currency))
            if invoice.status == "open":
                paragraphs.append(
                    _(
                        "%(amount)s of a payment on invoice %(number)s went back. The invoice is open with %(outstanding)s outstanding.",
                        amount=format_money(Money(reversal.principal_amount + reversal.late_amount, reversal.currency)),
                        number=invoice.number,
                        outstanding=left,
                    )
                )
            else:
                paragraphs.append(
                    _(
                        "%(amount)s of a payment on invoice %(number)s went back.",
                        amount=format_money(Money(reversal.principal_amount + reversal.late_amount, reversal.currency)),
                        number=invoice.number,
                    )
                )
        if reversal.credit_amount:
            paragraphs.append(
                _(
                    "%(amount)s came out of the credit balance, which is now %(balance)s.",
                    amount=format_money(Money(reversal.credit_amount, reversal.currency)),
                    balance=format_money(Money(_balance(customer, reversal.currency), reversal.currency)),
                )
            )
        if invoice is not None:
            button = Button(_("Open the admin area"), _admin_invoice_url(invoice))
        else:
            button = Button(_("Open the customer"), _admin_customer_url(customer))
        composed = compose(merchant, paragraphs=paragraphs, button=button, preheader=subject)
    for address in staff_recipients(merchant):
        queue_mail(
            merchant_id=merchant.id,
            kind="refund_notice",
            to=address,
            subject=subject,
            text=composed.text,
            html=composed.html,
            invoice_id=invoice.id if invoice is not None else None,
            attachments=composed.inline,
        )


def compose_reminder_values(invoice: Invoice, as_of: date, link: str) -> dict[str, str]:
    """Return the reminder placeholders' values in the current locale, as of a day."""
    breakdown = invoice_breakdown(invoice, as_of)
    amount_due = breakdown.amount_due if breakdown is not None else 0
    late = (breakdown.fee + breakdown.interest) if breakdown is not None else 0
    return {
        "number": invoice.number or "",
        "amount_due": format_money(Money(amount_due, invoice.currency)),
        "due_date": format_day(invoice.due_date),
        "days_late": str(max(0, breakdown.days_late if breakdown is not None else 0)),
        "late_fee": format_money(Money(late, invoice.currency)),
        "merchant": invoice.merchant.name,
        "customer": invoice.buyer_party.name,
        "link": link,
    }


def _legal_notice(invoice: Invoice, as_of: date) -> str:
    """Return Book XIX's required wording of a consumer's first reminder (art. XIX.2 §2), translated."""
    from portal.domain.consumer_debts import waiting_period
    from portal.domain.late_fees import late_fee

    breakdown = invoice_breakdown(invoice, as_of)
    outstanding = breakdown.outstanding if breakdown is not None else 0
    policy = invoice.late_fee_policy
    fee = late_fee(policy, outstanding) if policy is not None else 0
    seller = invoice.seller_party
    return _(
        "This first reminder is free of charge. %(merchant)s (company number %(company_number)s) asks you to pay "
        "%(amount)s for invoice %(number)s, due on %(due_date)s, by %(deadline)s. If it is not paid by then, "
        "a fixed fee of %(fee)s and interest of %(rate)s a year on the amount still due may be charged from "
        "the following day.",
        merchant=seller.legal_name,
        company_number=seller.company_number or seller.vat_number or "—",
        amount=format_money(Money(outstanding, invoice.currency)),
        number=invoice.number,
        due_date=format_day(invoice.due_date),
        deadline=format_day(waiting_period(as_of).end),
        fee=format_money(Money(fee, invoice.currency)),
        rate=f"{(policy.annual_rate if policy else 0).normalize():f} %",
    )


def reminder_recipients(invoice: Invoice, *, legal_notice: bool = False) -> list:
    """Return the contacts a reminder of the invoice goes to: every billing contact who takes reminders.

    A legally required reminder (Book XIX's first one for a consumer) reaches them all, whatever
    their preferences.
    """
    from portal.services.contacts import recipients

    return recipients(invoice.customer, "legal_reminder" if legal_notice else "reminder")


def queue_reminder_mails(invoice: Invoice, step, as_of: date, *, legal_notice: bool = False) -> list[OutboxMessage]:
    """Queue a reminder step's mail to each of the invoice's reminder recipients, each in their language."""
    return [
        queue_reminder_mail(invoice, step, as_of, legal_notice=legal_notice, contact=contact)
        for contact in reminder_recipients(invoice, legal_notice=legal_notice)
    ]


def queue_reminder_mail(
    invoice: Invoice, step, as_of: date, *, legal_notice: bool = False, contact=None
) -> OutboxMessage:
    """Compose a reminder step's mail for one contact and queue it to them (the primary contact unless told).

    The primary contact reads it in the invoice's language, as issued; a colleague in their own
    language, with their own link. legal_notice adds what Book XIX requires of a consumer's first
    reminder; it cannot be left out.
    """
    from portal.services.contacts import primary_contact
    from portal.services.reminders import step_template

    customer = invoice.customer
    contact = contact or primary_contact(customer)
    link = make_portal_link(customer, invoice, contact=contact).url
    language = invoice.document_language if contact.is_primary else contact.language
    template, _own = step_template(step, language)
    with force_locale(language):
        values = compose_reminder_values(invoice, as_of, link)
        body = template.body
        if legal_notice:
            body = f"{body}\n\n{_legal_notice(invoice, as_of)}"
        label = _("View this invoice")
        subject = fill_text(template.subject, values)
        message = _queue_customer_mail(
            customer,
            kind="reminder",
            subject=subject,
            body_text=fill_plain(body, values, label),
            body_html=fill_html(body, values, Button(label, link)),
            invoice_id=invoice.id,
            contact_email=invoice.seller_party.email,
            to=contact.email,
            language=language,
        )
    return message


def queue_statement_mail(statement, *, to: str, language: str, name: str, link: str) -> OutboxMessage:
    """Queue a statement of account, its PDF attached, to one recipient in their language."""
    from portal.services.statements import statement_filename, statement_transfer

    customer = statement.customer
    merchant = customer.merchant
    with force_locale(language):
        subject = _(
            "Your statement of account from %(merchant)s, %(start)s – %(end)s",
            merchant=merchant.name,
            start=format_day(statement.start),
            end=format_day(statement.end),
        )
        due = [format_money(Money(amount, currency)) for currency, amount in statement.amount_due.items()]
        paragraphs = [
            _("Hello %(name)s,", name=name),
            _(
                "Attached is your statement of account from %(merchant)s for %(start)s – %(end)s.",
                merchant=merchant.name,
                start=format_day(statement.start),
                end=format_day(statement.end),
            ),
            _("Amount due today: %(amount)s.", amount=", ".join(due)) if due else _("Nothing is due today."),
        ]
        pdf = MailAttachment(
            statement_filename(statement), "application/pdf", _statement_pdf(statement, language, statement_transfer)
        )
        return _queue_customer_mail(
            customer,
            kind="statement",
            to=to,
            language=language,
            subject=subject,
            paragraphs=paragraphs,
            button=Button(_("Open your invoices"), link),
            files=(pdf,),
        )


def _statement_pdf(statement, language: str, transfer_of) -> bytes:
    from portal.documents.pdf import statement_pdf

    return statement_pdf(statement, transfer_of(statement), language=language)


def notify_staff_of_billing_change(change) -> None:
    """Tell every staff member a customer changed (or asks to change) their billing details."""
    customer = change.customer
    merchant = customer.merchant
    url = public_url("admin.customer_detail", customer_id=customer.id) + "#billing-details"
    with force_locale(_staff_language()):
        pending = change.status == "pending"
        subject = (
            f"{customer.name} asks to change their billing details"
            if pending
            else f"{customer.name} changed their billing details"
        )
        lines = [
            f"{name.replace('_', ' ')}: {_shown(value['old'])} → {_shown(value['new'])}"
            for name, value in change.changes.items()
        ]
        paragraphs = [
            subject
            + ("; the change waits for your approval." if pending else "; invoices finalized from now on use them."),
            *lines,
        ]
        composed = compose(merchant, paragraphs=paragraphs, button=Button("Open the customer", url), preheader=subject)
    for to in staff_recipients(merchant):
        queue_mail(
            merchant_id=merchant.id,
            kind="billing_change",
            to=to,
            subject=subject,
            text=composed.text,
            html=composed.html,
            attachments=composed.inline,
        )


def _shown(value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, dict):
        return ", ".join(str(part) for part in value.values() if part)
    return str(value)


def send_contact_welcome(contact, *, added_by: str | None = None) -> None:
    """Mail a new contact their own portal link, in their language."""
    customer = contact.customer
    merchant = customer.merchant
    link = make_portal_link(customer, contact=contact).url
    with force_locale(contact.language):
        subject = _(
            "Your link to the invoices of %(company)s from %(merchant)s",
            company=customer.company or customer.name,
            merchant=merchant.name,
        )
        paragraphs = [_("Hello %(name)s,", name=contact.name)]
        if added_by:
            paragraphs.append(
                _(
                    "%(person)s added you as a contact of %(company)s.",
                    person=added_by,
                    company=customer.company or customer.name,
                )
            )
        paragraphs.append(
            _(
                "With this personal link you see the invoices %(merchant)s sends to %(company)s. It stays valid for %(days)s days.",
                merchant=merchant.name,
                company=customer.company or customer.name,
                days=current_app.config["LINK_MAX_AGE_DAYS"],
            )
        )
        _queue_customer_mail(
            customer,
            kind="contact_link",
            to=contact.email,
            language=contact.language,
            subject=subject,
            paragraphs=paragraphs,
            button=Button(_("Open your invoices"), link),
        )


def notify_staff_of_new_contact(contact, added_by: str) -> None:
    """Tell staff a customer's billing contact added a colleague in the portal."""
    customer = contact.customer
    merchant = customer.merchant
    url = public_url("admin.customer_detail", customer_id=customer.id) + "#contacts"
    with force_locale(_staff_language()):
        subject = f"{added_by} added a contact to {customer.company or customer.name}"
        composed = compose(
            merchant,
            paragraphs=[subject + ":", f"{contact.name} <{contact.email}>, {contact.role}, {contact.language}"],
            button=Button("Open the customer", url),
            preheader=subject,
        )
    for to in staff_recipients(merchant):
        queue_mail(
            merchant_id=merchant.id,
            kind="contact_added",
            to=to,
            subject=subject,
            text=composed.text,
            html=composed.html,
            attachments=composed.inline,
        )


def notify_saved_method_charge_failed(attempt) -> None:
    """Tell the customer a charge of their saved card or mandate failed, with a link to pay another way."""
    invoice = attempt.invoice
    customer = invoice.customer
    link = make_portal_link(customer, invoice).url
    amount = format_money(Money(attempt.amount, attempt.currency))
    with force_locale(customer.language):
        _queue_customer_mail(
            customer,
            kind="saved_method_failed",
            subject=_("We could not charge your saved payment method for invoice %(number)s", number=invoice.number),
            paragraphs=[
                _("Hello %(name)s,", name=customer.name),
                _(
                    "We tried to charge %(amount)s for invoice %(number)s to your saved payment method, "
                    "but the payment did not go through.",
                    amount=amount,
                    number=invoice.number,
                ),
                _("Please pay the invoice online with the button below, or by bank transfer."),
            ],
            button=Button(_("Pay invoice %(number)s", number=invoice.number), link),
            invoice_id=invoice.id,
        )

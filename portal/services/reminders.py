"""Payment reminders: a merchant's schedule, its wording, and the daily run that sends each due step once."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from portal.domain import reminders as rules
from portal.domain.errors import DomainError
from portal.domain.invoices import InvoiceStatus
from portal.extensions import db
from portal.mail.defaults import REMINDER_PLACEHOLDERS, MailText, reminder_default
from portal.models import Customer, Invoice, Merchant
from portal.models.reminder import ReminderSent, ReminderStep
from portal.services.customers import check_language
from portal.services.invoices import invoice_breakdown

log = logging.getLogger(__name__)

#: Days after its day a step missed (no run, the workers down) is still sent.
CATCH_UP_DAYS = 7


def reminder_steps(merchant: Merchant) -> list[ReminderStep]:
    """Return the merchant's schedule, earliest step first."""
    return list(
        db.session.scalars(
            select(ReminderStep).where(ReminderStep.merchant_id == merchant.id).order_by(ReminderStep.offset_days)
        )
    )


def get_step(merchant: Merchant, step_id: int) -> ReminderStep:
    """Return one of the merchant's steps, or DomainError (as 404 by the views) for anyone else's."""
    from portal.services.errors import NotFound

    step = db.session.get(ReminderStep, step_id)
    if step is None or step.merchant_id != merchant.id:
        raise NotFound("No such reminder step")
    return step


def _check_preset(consumer_preset: bool, offsets: list[int]) -> None:
    if consumer_preset and not any(offset > 0 for offset in offsets):
        raise DomainError(
            "The Belgian B2C preset needs a step after the due date: the law requires that first reminder",
            "offsets",
        )


def set_reminder_settings(
    merchant: Merchant,
    *,
    enabled: bool,
    offsets: list[int],
    consumer_preset: bool,
    legal_interest_rate: Decimal,
) -> list[ReminderStep]:
    """Set the schedule (steps kept by their day keep their wording) and the Belgian B2C preset."""
    offsets = rules.check_schedule(offsets)
    _check_preset(consumer_preset, offsets)
    if not Decimal(0) <= legal_interest_rate <= Decimal(100):
        raise DomainError("The legal interest rate is between 0 and 100 %", "legal_interest_rate")
    current = {step.offset_days: step for step in reminder_steps(merchant)}
    for offset, step in current.items():
        if offset not in offsets:
            db.session.delete(step)
    db.session.flush()
    for offset in offsets:
        if offset not in current:
            db.session.add(ReminderStep(merchant_id=merchant.id, offset_days=offset, channels=["email"], templates={}))
    merchant.reminders_enabled = enabled
    merchant.consumer_preset = consumer_preset
    merchant.legal_interest_rate = legal_interest_rate
    db.session.flush()
    return reminder_steps(merchant)


def step_template(step: ReminderStep, language: str) -> tuple[MailText, bool]:
    """Return a step's wording in a language and whether it is the merchant's own."""
    own = (step.templates or {}).get(language)
    if own:
        return MailText(own["subject"], own["body"]), True
    return reminder_default(step.offset_days, language), False


def set_step_template(step: ReminderStep, language: str, *, subject: str, body: str) -> None:
    """Store the merchant's wording of a step in a language; placeholders are checked."""
    check_language(language)
    subject, body = rules.check_template(subject, body, REMINDER_PLACEHOLDERS)
    # A new dict, so the JSON column sees the change.
    step.templates = {**(step.templates or {}), language: {"subject": subject, "body": body}}
    db.session.flush()


def reset_step_template(step: ReminderStep, language: str) -> None:
    """Go back to the built-in wording of a step in a language."""
    step.templates = {key: value for key, value in (step.templates or {}).items() if key != language}
    db.session.flush()


def set_step_channels(step: ReminderStep, channels: list[str]) -> None:
    """Choose how a step goes out (email only for now)."""
    step.channels = rules.check_channels(channels)
    db.session.flush()


def set_invoice_reminders_paused(invoice: Invoice, paused: bool) -> Invoice:
    """Stop or restart the reminders of one invoice."""
    invoice.reminders_paused = paused
    db.session.flush()
    return invoice


def set_customer_reminders_paused(customer: Customer, paused: bool) -> Customer:
    """Stop or restart the reminders of all of a customer's invoices."""
    customer.reminders_paused = paused
    db.session.flush()
    return customer


@dataclass
class ReminderRun:
    sent: int = 0
    skipped: int = 0


def legally_required(invoice: Invoice, offset: int) -> bool:
    """Return whether this step is Book XIX's first reminder, which pausing cannot hold back."""
    return invoice.late_consumer and invoice.first_reminder_on is None and offset > 0


def reminder_step_due(invoice: Invoice, steps: list[ReminderStep], today: date, sent: list[int]) -> int | None:
    """Return the offset of the step the invoice gets today, or None (paid, void, disputed, nothing due, paused)."""
    if invoice.state is not InvoiceStatus.OPEN or invoice.open_dispute is not None:
        return None
    breakdown = invoice_breakdown(invoice, today)
    if breakdown is None or breakdown.amount_due <= 0:
        return None
    finalized_on = invoice.finalized_at.date() if invoice.finalized_at else None
    offset = rules.step_to_send(
        [step.offset_days for step in steps],
        due_date=invoice.due_date,
        today=today,
        sent=sent,
        finalized_on=finalized_on,
    )
    if offset is None:
        return None
    if (invoice.reminders_paused or invoice.customer.reminders_paused) and not legally_required(invoice, offset):
        return None
    return offset


def send_reminders(merchant: Merchant, today: date | None = None) -> ReminderRun:
    """Send each of the merchant's open invoices the reminder step due today, once; flush, never commit.

    The unique keys on (invoice, step) and (invoice, day) decide when two runs race: the loser's
    savepoint rolls back and its mail is never queued.
    """
    from portal.mail.notifications import queue_reminder_mails, reminder_recipients

    run = ReminderRun()
    if not merchant.reminders_enabled:
        return run
    today = today or merchant.today()
    steps = reminder_steps(merchant)
    if not steps:
        return run
    # An invoice whose last step is more than a week old gets nothing more: the run may catch up on
    # missed days, but turning reminders on never dredges up invoices long past their schedule.
    earliest_day = today - timedelta(days=max(step.offset_days for step in steps) + CATCH_UP_DAYS)
    invoices = db.session.scalars(
        select(Invoice)
        .where(
            Invoice.merchant_id == merchant.id,
            Invoice.status == InvoiceStatus.OPEN.value,
            Invoice.due_date >= earliest_day,
        )
        .options(selectinload(Invoice.payments), selectinload(Invoice.credit_notes), selectinload(Invoice.customer))
        .order_by(Invoice.due_date, Invoice.id)
    ).all()
    sent_rows = db.session.execute(
        select(ReminderSent.invoice_id, ReminderSent.offset_days, ReminderSent.sent_on).where(
            ReminderSent.merchant_id == merchant.id, ReminderSent.invoice_id.in_([i.id for i in invoices] or [0])
        )
    ).all()
    sent: dict[int, list[int]] = {}
    sent_today: set[int] = set()
    for invoice_id, offset, sent_on in sent_rows:
        sent.setdefault(invoice_id, []).append(offset)
        if sent_on == today:
            sent_today.add(invoice_id)
    by_offset = {step.offset_days: step for step in steps}
    for invoice in invoices:
        if invoice.id in sent_today:
            continue  # never two steps on one day
        offset = reminder_step_due(invoice, steps, today, sent.get(invoice.id, []))
        if offset is None:
            run.skipped += 1
            continue
        first = invoice.first_reminder_on is None and today > invoice.due_date
        legal_notice = first and invoice.late_consumer
        # Every billing contact who takes reminders (all of them for a legally required one).
        readers = reminder_recipients(invoice, legal_notice=legal_notice)
        if not readers:
            run.skipped += 1  # every contact turned reminders off
            continue
        try:
            with db.session.begin_nested():
                record = ReminderSent(
                    merchant_id=merchant.id,
                    invoice_id=invoice.id,
                    offset_days=offset,
                    sent_on=today,
                    channel="email",
                    to_address=", ".join(contact.email for contact in readers)[:254],
                )
                db.session.add(record)
                db.session.flush()  # the unique keys decide here, before any mail exists
        except IntegrityError:
            log.info("reminders: invoice %s step %+d already sent by another run", invoice.id, offset)
            continue
        if first:
            invoice.first_reminder_on = today
        messages = queue_reminder_mails(invoice, by_offset[offset], today, legal_notice=legal_notice)
        record.outbox_message_id = messages[0].id
        db.session.flush()
        run.sent += 1
    return run


def send_all_reminders(today_of: dict[int, date] | None = None) -> ReminderRun:
    """Run send_reminders for every merchant with reminders on, committing after each merchant."""
    total = ReminderRun()
    merchant_ids = db.session.scalars(
        select(Merchant.id).where(Merchant.reminders_enabled.is_(True)).order_by(Merchant.id)
    ).all()
    for merchant_id in merchant_ids:
        merchant = db.session.get(Merchant, merchant_id)
        run = send_reminders(merchant, (today_of or {}).get(merchant_id))
        db.session.commit()
        total.sent += run.sent
        total.skipped += run.skipped
    return total
